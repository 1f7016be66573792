// `train|experiment --nproc_per_node N`: the launcher side (start the workers, as torchrun does)
// and the worker side (read the world from the environment). docs/distributed.md.
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "client/cli/engine_flags.h"
#include "client/cli/verbs.h"
#include "core/config/config.h"
#include "core/platform/launcher.h"

namespace tristage::cli {
namespace {

// The flags the launcher consumes; the workers get every other argument unchanged.
const char* const kLauncherFlags[] = {"nproc_per_node", "nnodes", "node_rank", "master_addr",
                                      "master_port"};

// `args` without the launcher's flags (both `--flag value` and `--flag=value`) and without
// --job_events_fd (its value goes to `*events_fd`), which only rank 0 gets back.
std::vector<std::string> WorkerArgs(const std::vector<std::string>& args, std::string* events_fd) {
  const std::string events_flag = absl::StrCat("--", job_protocol::kEventsFdFlag);
  std::vector<std::string> kept;
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == events_flag && i + 1 < args.size()) *events_fd = args[i + 1];
    if (absl::StartsWith(args[i], events_flag + "=")) *events_fd = args[i].substr(events_flag.size() + 1);
    bool drop = false;
    for (const std::string& name :
         {std::string(kLauncherFlags[0]), std::string(kLauncherFlags[1]),
          std::string(kLauncherFlags[2]), std::string(kLauncherFlags[3]),
          std::string(kLauncherFlags[4]), std::string(job_protocol::kEventsFdFlag)}) {
      if (args[i] == "--" + name) {
        drop = true;
        ++i;  // and its value
        break;
      }
      if (absl::StartsWith(args[i], "--" + name + "=")) {
        drop = true;
        break;
      }
    }
    if (!drop) kept.push_back(args[i]);
  }
  return kept;
}

absl::StatusOr<std::string> SelfExecutable() {
  std::error_code ec;
  const std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) return absl::InternalError(absl::StrCat("finding this executable: ", ec.message()));
  return self.string();
}

// Threads per worker: the backend's resources_per_worker.CPU, else the process's budget
// (OMP_NUM_THREADS, as the daemon sets it for a job, or the machine's cores) shared out.
// A budget given from outside (the daemon's job threads) caps the backend's request.
int ThreadsPerWorker(const BackendPlan& plan, int nproc) {
  int budget = static_cast<int>(std::thread::hardware_concurrency());
  bool given = false;
  if (const char* omp = std::getenv("OMP_NUM_THREADS"); omp != nullptr) {
    int value = 0;
    if (absl::SimpleAtoi(omp, &value) && value > 0) {
      budget = value;
      given = true;
    }
  }
  const int share = std::max(1, budget / std::max(1, nproc));
  if (plan.threads_per_worker > 0) {
    return given ? std::min(plan.threads_per_worker, share) : plan.threads_per_worker;
  }
  return share;
}

}  // namespace

absl::StatusOr<WorldInfo> WorkerWorld(const ParsedFlags& flags) {
  absl::StatusOr<WorldInfo> world = WorldFromEnvironment();
  if (!world.ok()) return world.status();
  absl::StatusOr<int> timeout = flags.GetInt("dist_timeout", 300, 1, 86400);
  if (!timeout.ok()) return timeout.status();
  world->timeout_seconds = *timeout;
  return world;
}

int FailWorker(const VerbContext& context, const std::string& verb, const WorldInfo& world,
               const absl::Status& status) {
  const int code = Fail(context, verb, status);
  if (world.distributed() && (status.code() == absl::StatusCode::kUnavailable ||
                              status.code() == absl::StatusCode::kAborted)) {
    return platform::kExitPeerLost;
  }
  return code;
}

std::optional<int> LaunchDistributed(const VerbContext& context, const std::string& verb) {
  const ParsedFlags& flags = context.flags;
  const bool asked = flags.Has("nproc_per_node") || flags.Has("nnodes");
  const char* world_size = std::getenv("WORLD_SIZE");
  int world = 1;
  if (world_size != nullptr && *world_size != '\0' &&
      (!absl::SimpleAtoi(world_size, &world) || world != 1)) {
    // A worker already: the launcher (torchrun's, PyTorchJob's or ours) gave it its place.
    if (asked) {
      return Usage(context, verb,
                   "--nproc_per_node/--nnodes: WORLD_SIZE is already set in the environment, so "
                   "this process is one worker of a run; drop the flags or unset WORLD_SIZE");
    }
    return std::nullopt;
  }
  BackendPlan plan;
  if (flags.Has("config") || flags.Has("config_str")) {
    absl::StatusOr<nlohmann::json> user = UserConfig(flags);
    if (user.ok()) {
      absl::StatusOr<nlohmann::json> resolved = config::ResolveConfig(*user);
      if (resolved.ok()) plan = PlanBackend(*resolved);
      // A bad config is reported by the training path, with its usual message.
    }
  }
  // More workers than 4 per core only thrash (the engine trains on CPU), and each holds a libtorch
  // process and the whole data set: a mistyped count must not fork a thousand of them.
  const int cores = std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  const int most = std::max(8, 4 * cores);
  absl::StatusOr<int> nproc = flags.GetInt("nproc_per_node", plan.num_workers, 1, most);
  if (!nproc.ok()) {
    return Usage(context, verb,
                 absl::StrCat(nproc.status().message(), " (at most 4 workers per core, ", cores,
                              " cores here; the config's backend.trainer.num_workers counts "
                              "too)"));
  }
  absl::StatusOr<int> nnodes = flags.GetInt("nnodes", 1, 1, 65536);
  absl::StatusOr<int> node_rank = flags.GetInt("node_rank", 0, 0, 65535);
  absl::StatusOr<int> port = flags.GetInt("master_port", 0, 1, 65535);
  absl::StatusOr<int> timeout = flags.GetInt("dist_timeout", 300, 1, 86400);  // the workers'
  for (const absl::Status& status : {nproc.status(), nnodes.status(), node_rank.status(),
                                     port.status(), timeout.status()}) {
    if (!status.ok()) return Usage(context, verb, std::string(status.message()));
  }
  const bool flagged = flags.Has("nproc_per_node") || flags.Has("nnodes");
  if (flagged && !plan.notice.empty() && plan.num_workers != *nproc) {
    context.err << "tristage " << verb << ": --nproc_per_node " << *nproc
                << " overrides the config's backend.trainer.num_workers " << plan.num_workers
                << "\n";
  }
  if (*nproc * *nnodes == 1) return std::nullopt;  // train in this process
  if (*node_rank >= *nnodes) {
    return Usage(context, verb,
                 absl::StrCat("--node_rank ", *node_rank, ": must be below --nnodes ", *nnodes));
  }
  if (*nnodes > 1 && !flags.Has("master_port")) {
    return Usage(context, verb, "--master_port: required with --nnodes above 1 (every machine "
                                "must name the same rank 0 port)");
  }
  if (flags.Has("k_fold")) {
    if (!flagged) {  // the config's backend asked: the folds train in this process, as said
      context.err << "tristage " << verb
                  << ": warning: backend.trainer.num_workers does not apply to --k_fold: the "
                     "folds train one after another in this process\n";
      return std::nullopt;
    }
    return Usage(context, verb, "--k_fold: cross validation trains its folds one after another "
                                "in one process; drop --nproc_per_node");
  }
  if (!flagged && !plan.notice.empty()) {
    context.err << "tristage " << verb << ": " << plan.notice << "\n";
  }
  absl::StatusOr<std::string> self = SelfExecutable();
  if (!self.ok()) return Fail(context, verb, self.status());
  platform::WorkerLaunch launch;
  launch.argv = {*self, verb};
  std::string events_fd;
  const std::vector<std::string> args =
      WorkerArgs(context.args != nullptr ? *context.args : std::vector<std::string>(), &events_fd);
  launch.argv.insert(launch.argv.end(), args.begin(), args.end());
  if (JobEvents() != nullptr && absl::SimpleAtoi(events_fd, &launch.leader_fd)) {
    // Rank 0 reports progress and the result on the same channel; the launcher reports failures.
    launch.leader_args = {absl::StrCat("--", job_protocol::kEventsFdFlag), events_fd};
  }
  launch.nproc_per_node = *nproc;
  launch.nnodes = *nnodes;
  launch.node_rank = *node_rank;
  launch.master_addr = flags.GetOr("master_addr", "127.0.0.1");
  if (launch.master_addr.empty() || launch.master_addr.size() > 253 ||
      launch.master_addr.find('\0') != std::string::npos) {
    return Usage(context, verb, "--master_addr: expected a host name or address");
  }
  launch.master_port = *port;
  launch.threads_per_worker = ThreadsPerWorker(plan, *nproc);
  // One machine: the workers meet in a private directory instead of on a TCP port that c10d's
  // TCPStore would open on every interface; removed when they are done.
  std::string rendezvous_dir;
  if (*nnodes == 1) {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "tristage-rendezvous-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) {
      return Fail(context, verb, absl::InternalError(absl::StrCat(
                                     "creating a rendezvous directory: ", std::strerror(errno))));
    }
    rendezvous_dir = pattern;
    launch.rendezvous_file = rendezvous_dir + "/store";
  }
  context.err << "tristage " << verb << ": starting " << *nproc << " worker(s) of "
              << *nproc * *nnodes << " (" << launch.threads_per_worker
              << " threads each); rank 0 writes the results\n"
              << std::flush;
  absl::StatusOr<platform::LaunchOutcome> outcome = platform::LaunchWorkers(launch);
  if (!rendezvous_dir.empty()) {
    std::error_code ignored;
    std::filesystem::remove_all(rendezvous_dir, ignored);
  }
  if (!outcome.ok()) return Fail(context, verb, outcome.status());
  if (!outcome->ok) {
    return Fail(context, verb,
                absl::AbortedError(absl::StrCat("distributed training failed: ", outcome->message)));
  }
  return kExitOk;
}

}  // namespace tristage::cli
