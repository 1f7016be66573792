// Jobs on a daemon: `train|experiment|evaluate --server ADDR` run as tristage.v1.Admin jobs with
// the same flags and the same output files (downloaded into -od), and `tristage jobs
// list|get|watch|cancel`.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <ostream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "client/cli/engine_flags.h"
#include "client/cli/verbs.h"
#include "client/lib/client.h"
#include "core/api/distributed.h"
#include "core/config/config.h"

namespace tristage::cli {
namespace {

namespace fs = std::filesystem;

absl::StatusOr<std::unique_ptr<client::TristageClient>> Connect(const ParsedFlags& flags) {
  client::TristageClient::Options options;
  if (auto file = flags.Get("auth_token_file")) {
    std::ifstream in(*file);
    if (!in) return absl::NotFoundError(absl::StrCat("--auth_token_file: cannot read ", *file));
    std::string token;
    std::getline(in, token);
    options.auth_token = std::string(absl::StripAsciiWhitespace(token));
  }
  return client::TristageClient::Create(flags.GetOr("server", ""), options);
}

std::string FormatMillis(int64_t millis) {
  if (millis == 0) return "-";
  return absl::FormatTime("%Y-%m-%d %H:%M:%S", absl::FromUnixMillis(millis), absl::UTCTimeZone());
}

void PrintJob(const tristage::v1::Job& job, std::ostream& out) {
  out << "id: " << job.id() << "\nkind: " << tristage::v1::JobKind_Name(job.kind())
      << "\nstate: " << tristage::v1::JobState_Name(job.state()) << "\n";
  if (!job.reason().empty()) out << "reason: " << job.reason() << "\n";
  out << "created: " << FormatMillis(job.created_unix_ms())
      << "\nstarted: " << FormatMillis(job.started_unix_ms())
      << "\nfinished: " << FormatMillis(job.finished_unix_ms()) << "\n";
  if (job.epoch() > 0) out << "epoch: " << job.epoch() << " step: " << job.step() << "\n";
  for (const auto& [name, value] : job.metrics()) out << "  " << name << ": " << value << "\n";
  if (job.world_size() > 1) out << "world_size: " << job.world_size() << "\n";
  if (!job.publish_model().empty()) {
    out << "publish: " << job.publish_model();
    if (job.published_version() > 0) out << " (version " << job.published_version() << ")";
    out << "\n";
  }
  for (const std::string& artifact : job.artifacts()) out << "artifact: " << artifact << "\n";
}

// Prints the job's events as the local CLI prints its log (log lines on stderr) until it ends.
absl::StatusOr<tristage::v1::Job> Follow(client::TristageClient& client, const std::string& id,
                                         std::ostream& log) {
  return client.WatchJob(id, [&log, &id](const tristage::v1::JobEvent& event) {
    if (event.has_log_line()) {
      log << event.log_line() << "\n" << std::flush;
    } else if (event.event_case() == tristage::v1::JobEvent::kStateReason) {
      log << "job " << id << ": " << tristage::v1::JobState_Name(event.state());
      if (!event.state_reason().empty()) log << " (" << event.state_reason() << ")";
      log << "\n" << std::flush;
    }
  });
}

// Where the job's output files go: the same relative paths under -od, with the run directory
// renamed <name>_1, _2, ... when it already exists here (as local runs do).
absl::Status DownloadOutputs(client::TristageClient& client, const tristage::v1::Job& job,
                             const std::string& output_directory, std::ostream& out) {
  std::map<std::string, std::string> renamed;  // top-level directory -> local name
  for (const std::string& artifact : job.artifacts()) {
    const fs::path relative(artifact);
    // The model directory also comes as one archive; its files are listed one by one too.
    if (relative.filename() == "model.tar") continue;
    const std::string top = relative.begin()->string();
    auto it = renamed.find(top);
    if (it == renamed.end()) {
      std::string local = top;
      for (int n = 1; fs::exists(fs::path(output_directory) / local); ++n) {
        local = absl::StrCat(top, "_", n);
      }
      it = renamed.emplace(top, local).first;
      out << "results saved to " << (fs::path(output_directory) / local).string() << "\n";
    }
    fs::path target = fs::path(output_directory) / it->second;
    for (auto part = std::next(relative.begin()); part != relative.end(); ++part) target /= *part;
    if (absl::Status s = client.DownloadArtifact(job.id(), artifact, target.string()); !s.ok()) {
      return s;
    }
  }
  return absl::OkStatus();
}

// The job's SubmitJobRequest.world_size: --nproc_per_node N, else the workers the config's
// `backend` asks for (as a local run would start), else 0. The daemon checks it against its CPU
// budget. InvalidArgument naming the flag when --nproc_per_node is not a worker count.
absl::StatusOr<int> RemoteWorldSize(const VerbContext& context, const std::string& verb) {
  const ParsedFlags& flags = context.flags;
  if (flags.Has("nproc_per_node")) return flags.GetInt("nproc_per_node", 0, 1, 1024);
  if (verb != "train" && verb != "experiment") return 0;
  if (flags.Has("k_fold")) return 0;  // folds train in one process (as locally, with a warning)
  if (!flags.Has("config") && !flags.Has("config_str")) return 0;
  absl::StatusOr<nlohmann::json> user = UserConfig(flags);
  if (!user.ok()) return 0;  // the job reports a bad config with its usual message
  absl::StatusOr<nlohmann::json> resolved = config::ResolveConfig(*user);
  if (!resolved.ok()) return 0;
  const BackendPlan plan = PlanBackend(*resolved);
  if (plan.num_workers <= 1) return 0;
  context.err << "tristage " << verb << ": " << plan.notice << "; the job asks the daemon for "
              << plan.num_workers << " workers (world_size)\n";
  return plan.num_workers;
}

}  // namespace

int RunRemoteJob(const VerbContext& context, const std::string& verb) {
  const ParsedFlags& flags = context.flags;
  for (const char* local_only : {"training_set", "validation_set", "test_set",
                                 "training_set_metadata", "model_resume_path", "model_load_path"}) {
    if (flags.Has(local_only)) {
      return Usage(context, verb,
                   absl::StrCat("--", local_only, " is not available with --server"));
    }
  }
  // A job's workers all run on the daemon's machine, which picks their rendezvous.
  for (const char* launcher_only :
       {"nnodes", "node_rank", "master_addr", "master_port", "dist_timeout"}) {
    if (flags.Has(launcher_only)) {
      return Usage(context, verb,
                   absl::StrCat("--", launcher_only,
                                " is not available with --server: a job's workers run on the "
                                "daemon's machine (ask for them with --nproc_per_node N)"));
    }
  }
  const absl::StatusOr<int> world_size = RemoteWorldSize(context, verb);
  if (!world_size.ok()) return Usage(context, verb, std::string(world_size.status().message()));
  tristage::v1::SubmitJobRequest request;
  request.set_kind(verb == "train"        ? tristage::v1::TRAIN
                   : verb == "experiment" ? tristage::v1::EXPERIMENT
                   : verb == "hyperopt"   ? tristage::v1::HYPEROPT
                                          : tristage::v1::EVALUATE);
  if (auto path = flags.Get("config")) {
    std::ifstream in(*path);
    if (!in)
      return Fail(context, verb, absl::NotFoundError(absl::StrCat("no config file ", *path)));
    std::stringstream text;
    text << in.rdbuf();
    request.set_config(text.str());
  } else if (auto text = flags.Get("config_str")) {
    request.set_config(*text);
  }
  if (auto model = flags.Get("model_path")) request.set_model(*model);
  request.set_publish_model(flags.GetOr("publish", ""));
  request.set_world_size(*world_size);
  for (const char* option : {"experiment_name", "model_name", "random_seed", "data_format",
                             "batch_size", "split", "k_fold", "eval_split"}) {
    if (auto value = flags.Get(option)) (*request.mutable_options())[option] = *value;
  }
  for (const char* skip :
       {"skip_save_training_description", "skip_save_training_statistics", "skip_save_model",
        "skip_save_progress", "skip_save_log", "skip_save_processed_input",
        "skip_save_unprocessed_output", "skip_save_predictions", "skip_save_eval_stats",
        "skip_collect_predictions", "skip_collect_overall_stats",
        "skip_save_hyperopt_statistics"}) {
    if (flags.GetBool(skip)) (*request.mutable_options())[skip] = "true";
  }
  auto client = Connect(flags);
  if (!client.ok()) return Fail(context, verb, client.status());
  // A dataset that is a file here is uploaded; anything else names a file under the daemon's
  // --data-root.
  const std::string dataset = flags.GetOr("dataset", "");
  std::error_code ec;
  if (!dataset.empty() && fs::is_regular_file(dataset, ec)) {
    auto uploaded = (*client)->UploadDataset(dataset);
    if (!uploaded.ok()) return Fail(context, verb, uploaded.status());
    request.set_dataset(uploaded->dataset());
  } else {
    request.set_dataset(dataset);
  }
  auto id = (*client)->SubmitJob(request);
  if (!id.ok()) return Fail(context, verb, id.status());
  context.err << "job " << *id << " submitted to " << flags.GetOr("server", "") << "\n";
  auto job = Follow(**client, *id, context.err);
  if (!job.ok()) return Fail(context, verb, job.status());
  if (job->state() != tristage::v1::SUCCEEDED) {
    context.err << "tristage " << verb << ": job " << *id << " "
                << tristage::v1::JobState_Name(job->state()) << (job->reason().empty() ? "" : ": ")
                << job->reason() << "\n";
    return kExitFailure;
  }
  absl::Status downloaded =
      DownloadOutputs(**client, *job, flags.GetOr("output_directory", "results"), context.out);
  if (!downloaded.ok()) return Fail(context, verb, downloaded);
  if (job->published_version() > 0) {
    context.out << "published as model '" << job->publish_model() << "' version "
                << job->published_version() << "\n";
  }
  return kExitOk;
}

int RunJobs(const VerbContext& context) {
  const std::vector<std::string>& args = context.flags.positional();
  const std::string action = args.empty() ? "" : args.front();
  const bool needs_id = action == "get" || action == "watch" || action == "cancel";
  if (action != "list" && !needs_id) {
    return Usage(context, "jobs", "give an action: list, get ID, watch ID or cancel ID");
  }
  if (needs_id != (args.size() == 2) || (!needs_id && args.size() != 1)) {
    return Usage(context, "jobs",
                 needs_id ? absl::StrCat("'", action, "' takes one job id")
                          : std::string("'list' takes no arguments (filter with --state)"));
  }
  auto client = Connect(context.flags);
  if (!client.ok()) return Fail(context, "jobs", client.status());
  if (action == "list") {
    tristage::v1::JobState state = tristage::v1::JOB_STATE_UNSPECIFIED;
    if (auto name = context.flags.Get("state")) {
      tristage::v1::JobState_Parse(*name, &state);
    }
    auto jobs = (*client)->ListJobs(state);
    if (!jobs.ok()) return Fail(context, "jobs", jobs.status());
    context.out << absl::StrFormat("%-10s %-14s %-10s %-7s %-20s %s\n", "ID", "KIND", "STATE",
                                   "WORKERS", "CREATED", "REASON");
    for (const tristage::v1::Job& job : *jobs) {
      context.out << absl::StrFormat(
          "%-10s %-14s %-10s %-7d %-20s %s\n", job.id(), tristage::v1::JobKind_Name(job.kind()),
          tristage::v1::JobState_Name(job.state()), std::max(1, job.world_size()),
          FormatMillis(job.created_unix_ms()), job.reason());
    }
    return kExitOk;
  }
  const std::string& id = args[1];
  absl::StatusOr<tristage::v1::Job> job = action == "get"      ? (*client)->GetJob(id)
                                          : action == "cancel" ? (*client)->CancelJob(id)
                                                               : Follow(**client, id, context.err);
  if (!job.ok()) return Fail(context, "jobs", job.status());
  PrintJob(*job, context.out);
  return action == "watch" && job->state() != tristage::v1::SUCCEEDED ? kExitFailure : kExitOk;
}

}  // namespace tristage::cli
