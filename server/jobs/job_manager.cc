#include "server/jobs/job_manager.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <system_error>
#include <thread>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "core/platform/child_process.h"
#include "core/util/files.h"
#include "core/util/log.h"
#include "core/util/names.h"
#include "core/util/status_macros.h"
#include "nlohmann/json.hpp"

namespace tristage::server::jobs {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using platform::ChildProcess;
using platform::ChildSpec;
using platform::DescribeWaitStatus;

constexpr char kDaemonStopped[] = "the daemon stopped while the job was running";
constexpr char kCancelledByRequest[] = "cancelled by request";
constexpr absl::Duration kCancelGrace = absl::Seconds(1);
constexpr absl::Duration kReapAfterKill = absl::Seconds(10);
constexpr size_t kTailLines = 20;

// What each kind runs and accepts. The option lists are the CLI verb's own flags among the
// allowlist (experiment_name, model_name, random_seed, data_format, batch_size, split, k_fold,
// skip_save_*), so a job never fails on a flag its verb does not know.
struct KindInfo {
  JobKind kind;
  const char* name;
  const char* verb;
  bool trains;  // needs a config; produces a model
  std::vector<std::string> options;
};

std::vector<std::string> Concat(std::vector<std::string> a, const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

const std::vector<KindInfo>& Kinds() {
  static const auto* kinds = [] {
    const std::vector<std::string> train = {"experiment_name",
                                            "model_name",
                                            "random_seed",
                                            "data_format",
                                            "skip_save_training_description",
                                            "skip_save_training_statistics",
                                            "skip_save_model",
                                            "skip_save_progress",
                                            "skip_save_log",
                                            "skip_save_processed_input"};
    const std::vector<std::string> eval = {"skip_save_unprocessed_output", "skip_save_predictions",
                                           "skip_save_eval_stats"};
    const std::vector<std::string> scoring = {"data_format", "split", "batch_size"};
    return new std::vector<KindInfo>{
        {JobKind::kTrain, "train", "train", true, train},
        {JobKind::kEvaluate, "evaluate", "evaluate", false, Concat(scoring, eval)},
        {JobKind::kExperiment, "experiment", "experiment", true,
         Concat(Concat(train, eval), {"k_fold"})},
        {JobKind::kHyperopt, "hyperopt", "hyperopt", true,
         Concat(Concat(train, eval), {"skip_save_hyperopt_statistics"})},
        {JobKind::kBatchPredict, "batch_predict", "predict", false,
         Concat(scoring, {"skip_save_unprocessed_output", "skip_save_predictions"})},
    };
  }();
  return *kinds;
}

const KindInfo& Info(JobKind kind) {
  for (const KindInfo& info : Kinds()) {
    if (info.kind == kind) return info;
  }
  return Kinds().front();
}

constexpr JobState kAllStates[] = {JobState::kQueued, JobState::kRunning, JobState::kSucceeded,
                                   JobState::kFailed, JobState::kCancelled};

std::string TimeText(absl::Time t) {
  if (t == absl::InfinitePast()) return "";
  return absl::FormatTime(absl::RFC3339_full, t, absl::UTCTimeZone());
}

absl::StatusOr<absl::Time> ParseTime(const std::string& text) {
  if (text.empty()) return absl::InfinitePast();
  absl::Time t;
  std::string error;
  if (!absl::ParseTime(absl::RFC3339_full, text, &t, &error)) {
    return absl::InvalidArgumentError(absl::StrCat("time '", text, "': ", error));
  }
  return t;
}

json ToJson(const JobRecord& r) {
  return {{"id", r.id},
          {"kind", JobKindName(r.spec.kind)},
          {"state", JobStateName(r.state)},
          {"reason", r.reason},
          {"created", TimeText(r.created)},
          {"started", TimeText(r.started)},
          {"finished", TimeText(r.finished)},
          {"spec",
           {{"config", r.spec.config},
            {"dataset", r.spec.dataset},
            {"model_path", r.spec.model_path},
            {"options", r.spec.options},
            {"publish_model", r.spec.publish_model}}},
          {"output_dir", r.output_dir},
          {"log_path", r.log_path},
          {"model_dir", r.model_dir},
          {"published_version", r.published_version},
          {"epoch", r.epoch},
          {"step", r.step},
          {"metrics", r.metrics}};
}

absl::StatusOr<JobRecord> FromJson(const json& j) {
  JobRecord r;
  try {
    r.id = j.at("id").get<std::string>();
    TRISTAGE_ASSIGN_OR_RETURN(r.spec.kind, ParseJobKind(j.at("kind").get<std::string>()));
    TRISTAGE_ASSIGN_OR_RETURN(r.state, ParseJobState(j.at("state").get<std::string>()));
    r.reason = j.value("reason", "");
    TRISTAGE_ASSIGN_OR_RETURN(r.created, ParseTime(j.value("created", "")));
    TRISTAGE_ASSIGN_OR_RETURN(r.started, ParseTime(j.value("started", "")));
    TRISTAGE_ASSIGN_OR_RETURN(r.finished, ParseTime(j.value("finished", "")));
    const json& spec = j.at("spec");
    r.spec.config = spec.value("config", "");
    r.spec.dataset = spec.value("dataset", "");
    r.spec.model_path = spec.value("model_path", "");
    r.spec.options = spec.value("options", std::map<std::string, std::string>());
    r.spec.publish_model = spec.value("publish_model", "");
    r.output_dir = j.value("output_dir", "");
    r.log_path = j.value("log_path", "");
    r.model_dir = j.value("model_dir", "");
    r.published_version = j.value("published_version", int64_t{0});
    r.epoch = j.value("epoch", int64_t{0});
    r.step = j.value("step", int64_t{0});
    r.metrics = j.value("metrics", std::map<std::string, double>());
  } catch (const json::exception& e) {
    return absl::InvalidArgumentError(e.what());
  }
  return r;
}

std::string FormatId(int64_t number) {
  return absl::StrFormat("j%06d", number);
}

// The number in "j000042"; 0 when `id` is not a job id.
int64_t IdNumber(absl::string_view id) {
  int64_t number = 0;
  if (!absl::ConsumePrefix(&id, "j") || !absl::SimpleAtoi(id, &number) || number < 1) return 0;
  return number;
}

// One per-epoch line of the CLI without a TTY (core/api/model.cc ProgressPrinter):
//   epoch 2/30 (step 76) | validation: loss 0.4123 churned roc_auc 0.8650 | test: ... (best)
// (a "training" part too when the trainer evaluates the training set).
bool ParseEpochLine(absl::string_view line, int64_t* epoch, int64_t* step,
                    std::map<std::string, double>* metrics) {
  if (!absl::ConsumePrefix(&line, "epoch ")) return false;
  absl::ConsumeSuffix(&line, " (best)");
  std::vector<absl::string_view> parts = absl::StrSplit(line, " | ");
  std::vector<absl::string_view> head = absl::StrSplit(parts[0], ' ');
  if (head.size() != 3) return false;
  absl::string_view step_text = head[2];
  if (!absl::SimpleAtoi(absl::string_view(head[0]).substr(0, head[0].find('/')), epoch) ||
      head[1] != "(step" || !absl::ConsumeSuffix(&step_text, ")") ||
      !absl::SimpleAtoi(step_text, step)) {
    return false;
  }
  metrics->clear();
  for (size_t i = 1; i < parts.size(); ++i) {
    std::pair<absl::string_view, absl::string_view> split_scores = absl::StrSplit(parts[i], ": ");
    const std::string split(split_scores.first);
    std::vector<absl::string_view> words = absl::StrSplit(split_scores.second, ' ');
    double value = 0;
    if (words.size() >= 2 && words[0] == "loss" && absl::SimpleAtod(words[1], &value)) {
      (*metrics)[split + "_loss"] = value;
    }
    if (words.size() >= 5 && absl::SimpleAtod(words[4], &value)) {
      (*metrics)[absl::StrCat(split, "_", words[2], "_", words[3])] = value;
    }
  }
  return true;
}

// Why a child that did not succeed failed: its wait status and the CLI's error line ("tristage
// <verb>: <message>", verbatim) or, without one, its last lines.
std::string FailureReason(const std::string& verb, int status,
                          const std::deque<std::string>& tail) {
  std::string reason = absl::StrCat("tristage ", verb, " ", DescribeWaitStatus(status));
  if (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) {
    absl::StrAppend(&reason, "; the system may have run out of memory");
  }
  const std::string prefix = absl::StrCat("tristage ", verb, ": ");
  for (auto it = tail.rbegin(); it != tail.rend(); ++it) {
    if (absl::StartsWith(*it, prefix)) return absl::StrCat(reason, ": ", *it);
  }
  // A signal says nothing about the output: show where the child was. An exit without the CLI's
  // error line (a crash, an exec failure) shows its last lines.
  const size_t wanted = WIFSIGNALED(status) ? 1 : 3;
  std::vector<std::string> last;
  for (auto it = tail.rbegin(); it != tail.rend() && last.size() < wanted; ++it) {
    if (!it->empty()) last.insert(last.begin(), *it);
  }
  if (last.empty()) return reason;
  return absl::StrCat(reason, WIFSIGNALED(status) ? "; its last output: " : ": ",
                      absl::StrJoin(last, " / "));
}

// The numeric and enumerated options, checked before they reach the CLI.
absl::Status CheckOptionValue(const std::string& name, const std::string& value) {
  struct Range {
    const char* name;
    int64_t low;
    int64_t high;
  };
  for (const Range& range : {Range{"random_seed", 0, 2147483647}, Range{"batch_size", 1, 1 << 20},
                             Range{"k_fold", 2, 1000}}) {
    if (name != range.name) continue;
    int64_t number = 0;
    if (!absl::SimpleAtoi(value, &number) || number < range.low || number > range.high) {
      return absl::InvalidArgumentError(absl::StrCat("options.", name, ": '", value,
                                                     "' is not a whole number from ", range.low,
                                                     " to ", range.high));
    }
  }
  if (name == "split" && value != "training" && value != "validation" && value != "test" &&
      value != "full") {
    return absl::InvalidArgumentError(absl::StrCat(
        "options.split: '", value, "' is not one of training, validation, test, full"));
  }
  return absl::OkStatus();
}

bool IsInside(const fs::path& path, const fs::path& base) {
  auto [base_end, path_it] = std::mismatch(base.begin(), base.end(), path.begin(), path.end());
  return base_end == base.end();
}

// The highest numeric version directory under `dir`, 0 when none.
int64_t HighestVersion(const fs::path& dir) {
  int64_t highest = 0;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    int64_t version = 0;
    if (entry.is_directory() && absl::SimpleAtoi(entry.path().filename().string(), &version)) {
      highest = std::max(highest, version);
    }
  }
  return highest;
}

}  // namespace

const char* JobKindName(JobKind kind) {
  return Info(kind).name;
}

absl::StatusOr<JobKind> ParseJobKind(std::string_view name) {
  std::vector<std::string> names;
  for (const KindInfo& info : Kinds()) {
    if (name == info.name) return info.kind;
    names.push_back(info.name);
  }
  return absl::InvalidArgumentError(absl::StrCat("job kind '", std::string(name),
                                                 "' is not one of ", absl::StrJoin(names, ", ")));
}

const char* JobStateName(JobState state) {
  switch (state) {
    case JobState::kQueued: return "QUEUED";
    case JobState::kRunning: return "RUNNING";
    case JobState::kSucceeded: return "SUCCEEDED";
    case JobState::kFailed: return "FAILED";
    case JobState::kCancelled: return "CANCELLED";
  }
  return "UNKNOWN";
}

absl::StatusOr<JobState> ParseJobState(std::string_view name) {
  for (JobState state : kAllStates) {
    if (name == JobStateName(state)) return state;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("job state '", std::string(name),
                   "' is not one of QUEUED, RUNNING, SUCCEEDED, FAILED, CANCELLED"));
}

bool IsFinal(JobState state) {
  return state == JobState::kSucceeded || state == JobState::kFailed ||
         state == JobState::kCancelled;
}

// One job: its record and event history, plus what the runner and Cancel share about its child;
// all guarded by Impl::mu, except `dir`, `record.id` and `record.spec`, constant after Submit
// (or Restore), which the runner reads without it.
struct Job {
  JobRecord record;
  fs::path dir;
  std::deque<JobEvent> events;
  int64_t last_sequence = 0;
  bool child_running = false;     // record.pid is a live (unreaped) child
  bool cancel_requested = false;  // Cancel: the outcome is CANCELLED
  bool shutdown_killed = false;   // Shutdown: the outcome is FAILED, kDaemonStopped
};

// Holds an exclusive flock on <state_dir>/lock for the manager's life: two daemons on one state
// directory would hand out the same job ids and run a queued job twice. The file holds the
// holder's pid, for the error the second one prints. The kernel drops the lock when the process
// dies, however it dies, so a stale file never blocks a restart.
absl::StatusOr<int> LockStateDir(const fs::path& state_dir) {
  const fs::path path = state_dir / "lock";
  const int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    return absl::InternalError(
        absl::StrCat("state_dir: cannot open '", path.string(), "': ", strerror(errno)));
  }
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int error = errno;
    char text[32] = {};
    const ssize_t n = pread(fd, text, sizeof(text) - 1, 0);
    close(fd);
    int64_t holder = 0;
    const bool known = n > 0 && absl::SimpleAtoi(absl::StripAsciiWhitespace(text), &holder);
    if (error == EWOULDBLOCK) {
      return absl::FailedPreconditionError(absl::StrCat(
          "state_dir '", state_dir.string(), "' is in use by another tristage-server",
          known ? absl::StrCat(" (pid ", holder, ")") : std::string(),
          "; each daemon needs its own --state-dir"));
    }
    return absl::InternalError(
        absl::StrCat("state_dir: cannot lock '", path.string(), "': ", strerror(error)));
  }
  const std::string pid = absl::StrCat(getpid(), "\n");
  if (ftruncate(fd, 0) != 0 || pwrite(fd, pid.data(), pid.size(), 0) < 0) {
    TRISTAGE_LOG(Warning) << "state_dir: cannot write the pid to '" << path.string() << "'";
  }
  return fd;
}

struct JobManager::Impl {
  explicit Impl(JobManagerOptions o)
      : options(std::move(o)), jobs_dir(fs::path(options.state_dir) / "jobs") {}
  ~Impl() {
    if (lock_fd >= 0) close(lock_fd);
  }

  int lock_fd = -1;  // LockStateDir's, set by Create before anything reads the directory

  // Constant after construction.
  const JobManagerOptions options;
  const fs::path jobs_dir;

  mutable absl::Mutex mu;
  // Keyed by the id's number: oldest first. Jobs are never removed, so Job* stay valid.
  std::map<int64_t, std::unique_ptr<Job>> jobs ABSL_GUARDED_BY(mu);
  std::deque<Job*> queue ABSL_GUARDED_BY(mu);  // QUEUED jobs in order, at most max_queued_jobs
  int64_t next_id ABSL_GUARDED_BY(mu) = 1;
  bool shutting_down ABSL_GUARDED_BY(mu) = false;

  // Serialises choosing a repository version number and renaming the export into place.
  absl::Mutex publish_mu;

  // Started by Create, joined by Shutdown (once: shutdown_mu).
  absl::Mutex shutdown_mu;
  std::vector<std::thread> runners ABSL_GUARDED_BY(shutdown_mu);

  Job* Find(const std::string& id) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    auto it = jobs.find(IdNumber(id));
    return it == jobs.end() ? nullptr : it->second.get();
  }

  void AddEvent(Job& job, JobEvent event) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    event.sequence = ++job.last_sequence;
    event.time = absl::Now();
    if (event.type != JobEvent::Type::kState) event.state = job.record.state;
    job.events.push_back(std::move(event));
    if (job.events.size() <= static_cast<size_t>(options.max_events_per_job)) return;
    auto oldest_log = std::find_if(job.events.begin(), job.events.end(), [](const JobEvent& e) {
      return e.type == JobEvent::Type::kLog;
    });
    job.events.erase(oldest_log != job.events.end() ? oldest_log : job.events.begin());
  }

  absl::Status Save(const Job& job) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    return WriteFileAtomically((job.dir / "job.json").string(), ToJson(job.record).dump(2) + "\n");
  }

  void SaveOrLog(const Job& job) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    if (absl::Status s = Save(job); !s.ok()) {
      TRISTAGE_LOG(Error) << "job " << job.record.id << ": " << s.message();
    }
  }

  // Saved before announced (the header's promise).
  void SetState(Job& job, JobState state, std::string reason) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    job.record.state = state;
    job.record.reason = std::move(reason);
    if (state == JobState::kRunning) job.record.started = absl::Now();
    if (IsFinal(state)) job.record.finished = absl::Now();
    SaveOrLog(job);
    JobEvent event;
    event.type = JobEvent::Type::kState;
    event.state = state;
    event.text = job.record.reason;
    AddEvent(job, std::move(event));
    TRISTAGE_LOG(Info) << "job " << job.record.id << " (" << JobKindName(job.record.spec.kind)
                       << ") " << JobStateName(state) << (job.record.reason.empty() ? "" : ": ")
                       << job.record.reason;
  }

  absl::Status Restore() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);
  absl::Status Validate(const JobSpec& spec) const;
  void RunnerLoop();
  void RunJob(Job& job);
  // Runs `argv` as the job's child, feeding its lines to the log (and `on_line`); returns the
  // wait status, or Cancelled when the job was cancelled or shut down before the child started.
  absl::StatusOr<int> RunChild(Job& job, std::vector<std::string> argv, std::ofstream& log,
                               std::deque<std::string>& tail,
                               const std::function<void(absl::string_view)>& on_line);
  absl::StatusOr<int64_t> Publish(Job& job, const std::string& model_dir, std::ofstream& log);
  void Shutdown();
};

absl::Status JobManager::Impl::Restore() {
  std::error_code ec;
  fs::create_directories(jobs_dir, ec);
  if (ec) {
    return absl::InternalError(
        absl::StrCat("state_dir: cannot create '", jobs_dir.string(), "': ", ec.message()));
  }
  for (const auto& entry : fs::directory_iterator(jobs_dir, ec)) {
    const fs::path file = entry.path() / "job.json";
    const int64_t number = IdNumber(entry.path().filename().string());
    if (number == 0 || !fs::exists(file)) continue;  // not a job, or one that never got saved
    std::ifstream in(file);
    const json parsed = json::parse(in, nullptr, /*allow_exceptions=*/false);
    if (parsed.is_discarded()) {
      return absl::DataLossError(absl::StrCat("'", file.string(), "' is not valid JSON"));
    }
    auto record = FromJson(parsed);
    if (!record.ok()) {
      return absl::DataLossError(
          absl::StrCat("'", file.string(), "': ", record.status().message()));
    }
    auto job = std::make_unique<Job>();
    job->record = *std::move(record);
    job->dir = entry.path();
    next_id = std::max(next_id, number + 1);
    jobs[number] = std::move(job);
  }
  if (ec) {
    return absl::InternalError(
        absl::StrCat("state_dir: cannot list '", jobs_dir.string(), "': ", ec.message()));
  }
  for (auto& [number, job] : jobs) {
    if (job->record.state == JobState::kRunning) {
      SetState(*job, JobState::kFailed, kDaemonStopped);
      continue;
    }
    // Watchers of a restored job start from its current state.
    JobEvent event;
    event.type = JobEvent::Type::kState;
    event.state = job->record.state;
    event.text = job->record.reason;
    AddEvent(*job, std::move(event));
    if (job->record.state == JobState::kQueued) queue.push_back(job.get());
  }
  return absl::OkStatus();
}

absl::Status JobManager::Impl::Validate(const JobSpec& spec) const {
  const KindInfo& info = Info(spec.kind);
  if (info.trains && spec.config.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("config: required for ", info.name, " jobs"));
  }
  if (spec.dataset.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("dataset: required for ", info.name, " jobs"));
  }
  for (const auto& [field, path] :
       {std::pair<const char*, const std::string&>{"dataset", spec.dataset},
        {"model_path", spec.model_path}}) {
    if (path.empty()) continue;
    if (!fs::path(path).is_absolute()) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, ": '", path, "' is not an absolute path"));
    }
    std::error_code ec;
    const fs::file_status status = fs::status(path, ec);
    if (ec || !fs::exists(status)) {
      return absl::NotFoundError(absl::StrCat(field, ": '", path, "' does not exist"));
    }
    // A dataset is one file; a model is a directory. Refused here, not by the child minutes later.
    const bool is_dataset = std::string_view(field) == "dataset";
    if (is_dataset && !fs::is_regular_file(status)) {
      return absl::InvalidArgumentError(absl::StrCat(field, ": '", path, "' is not a file"));
    }
    if (!is_dataset && !fs::is_directory(status)) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, ": '", path, "' is not a model directory"));
    }
  }
  if (!info.trains && spec.model_path.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("model_path: required for ", info.name, " jobs"));
  }
  for (const auto& [name, value] : spec.options) {
    if (std::find(info.options.begin(), info.options.end(), name) == info.options.end()) {
      return absl::InvalidArgumentError(
          absl::StrCat("options: '", name, "' is not allowed for ", info.name,
                       " jobs (allowed: ", absl::StrJoin(info.options, ", "), ")"));
    }
    if (absl::StartsWith(name, "skip_save_") && value != "true" && value != "false") {
      return absl::InvalidArgumentError(
          absl::StrCat("options: ", name, " must be 'true' or 'false', not '", value, "'"));
    }
    // Every value becomes a process argument, and some a path: names only (core/util/names.h),
    // which also refuses a leading '-' (a value that would read as a flag).
    TRISTAGE_RETURN_IF_ERROR(CheckName(absl::StrCat("options.", name), value));
    TRISTAGE_RETURN_IF_ERROR(CheckOptionValue(name, value));
  }
  if (!spec.publish_model.empty()) {
    if (!info.trains) {
      return absl::InvalidArgumentError(absl::StrCat(
          "publish_model: only train, experiment and hyperopt jobs publish, not ", info.name));
    }
    if (spec.options.count("k_fold") != 0) {
      return absl::InvalidArgumentError(
          "publish_model: a k-fold experiment trains one model per fold, so there is no single "
          "model to publish; train or experiment without k_fold to publish");
    }
    if (options.model_repository.empty()) {
      return absl::FailedPreconditionError(
          "publish_model: this daemon has no model repository to publish into");
    }
    TRISTAGE_RETURN_IF_ERROR(CheckName("publish_model", spec.publish_model));
  }
  return absl::OkStatus();
}

void JobManager::Impl::RunnerLoop() {
  while (true) {
    Job* job = nullptr;
    {
      absl::MutexLock lock(&mu);
      auto ready = [this]() { return shutting_down || !queue.empty(); };
      mu.Await(absl::Condition(&ready));
      if (shutting_down) return;  // QUEUED jobs stay queued on disk for the next start
      job = queue.front();
      queue.pop_front();
      SetState(*job, JobState::kRunning, "");
    }
    RunJob(*job);
  }
}

absl::StatusOr<int> JobManager::Impl::RunChild(
    Job& job, std::vector<std::string> argv, std::ofstream& log, std::deque<std::string>& tail,
    const std::function<void(absl::string_view)>& on_line) {
  ChildSpec spec;
  spec.argv = std::move(argv);
  const std::string threads = std::to_string(options.threads_per_job);
  for (const char* name : {"OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"}) {
    spec.env.push_back(absl::StrCat(name, "=", threads));
  }
  {
    absl::MutexLock lock(&mu);
    if (job.cancel_requested || job.shutdown_killed) return absl::CancelledError();
  }
  TRISTAGE_LOG(Info) << "job " << job.record.id << ": " << absl::StrJoin(spec.argv, " ");
  TRISTAGE_ASSIGN_OR_RETURN(std::unique_ptr<ChildProcess> child, ChildProcess::Start(spec));
  {
    absl::MutexLock lock(&mu);
    job.record.pid = child->pid();
    job.child_running = true;
    // A Cancel or Shutdown that came while the child was starting found no pid to signal.
    if (job.cancel_requested) kill(-child->pid(), SIGTERM);
    if (job.shutdown_killed) kill(-child->pid(), SIGKILL);
  }
  child->ReadLines([&](absl::string_view line) {
    log << line << '\n' << std::flush;
    tail.emplace_back(line);
    if (tail.size() > kTailLines) tail.pop_front();
    {
      absl::MutexLock lock(&mu);
      JobEvent event;
      event.type = JobEvent::Type::kLog;
      event.text = std::string(line);
      AddEvent(job, std::move(event));
    }
    if (on_line) on_line(line);
  });
  child->WaitExited();
  {
    // The zombie keeps the pid reserved until Reap, so no signal can reach a reused pid.
    absl::MutexLock lock(&mu);
    job.child_running = false;
    job.record.pid = 0;
  }
  return child->Reap();
}

absl::StatusOr<int64_t> JobManager::Impl::Publish(Job& job, const std::string& model_dir,
                                                  std::ofstream& log) {
  const std::string& model = job.record.spec.publish_model;
  if (model_dir.empty()) {
    return absl::FailedPreconditionError(
        "publishing: the job saved no model (was skip_save_model set?)");
  }
  const fs::path model_root = fs::path(options.model_repository) / model;
  const fs::path tmp = model_root / absl::StrCat(".", job.record.id, ".tmp");
  std::error_code ec;
  fs::create_directories(model_root, ec);
  if (ec) {
    return absl::InternalError(
        absl::StrCat("publishing: cannot create '", model_root.string(), "': ", ec.message()));
  }
  fs::remove_all(tmp, ec);
  std::deque<std::string> tail;
  TRISTAGE_ASSIGN_OR_RETURN(int status, RunChild(job,
                                                 {options.cli_binary, "export_torchscript", "-m",
                                                  model_dir, "-op", tmp.string()},
                                                 log, tail, nullptr));
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    fs::remove_all(tmp, ec);
    return absl::InternalError(
        absl::StrCat("publishing: ", FailureReason("export_torchscript", status, tail)));
  }
  int64_t version = 0;
  {
    absl::MutexLock lock(&publish_mu);
    version = HighestVersion(model_root) + 1;
    const fs::path target = model_root / std::to_string(version);
    fs::rename(tmp, target, ec);
    if (ec) {
      fs::remove_all(tmp, ec);
      return absl::InternalError(absl::StrCat("publishing: cannot rename '", tmp.string(), "' to '",
                                              target.string(), "': ", ec.message()));
    }
  }
  {
    absl::MutexLock lock(&mu);
    job.record.published_version = version;
    SaveOrLog(job);
  }
  log << "published " << model_dir << " as " << model << " version " << version << "\n"
      << std::flush;
  if (options.load_model) {
    absl::Status loaded = options.load_model(model);
    if (!loaded.ok()) {
      return absl::Status(loaded.code(),
                          absl::StrCat("publishing: loading model '", model, "' version ", version,
                                       " into serving: ", loaded.message()));
    }
  }
  return version;
}

void JobManager::Impl::RunJob(Job& job) {
  JobSpec spec;
  {
    absl::MutexLock lock(&mu);
    spec = job.record.spec;
  }
  const KindInfo& info = Info(spec.kind);
  const fs::path output = job.dir / "output";
  std::vector<std::string> argv = {options.cli_binary, info.verb};
  if (info.trains) argv.insert(argv.end(), {"-c", (job.dir / "config.yaml").string()});
  argv.insert(argv.end(), {"--dataset", spec.dataset});
  if (!info.trains) argv.insert(argv.end(), {"-m", spec.model_path});
  argv.insert(argv.end(), {"-od", output.string()});
  for (const auto& [name, value] : spec.options) {
    if (absl::StartsWith(name, "skip_save_")) {
      if (value == "true") argv.push_back("--" + name);
    } else {
      argv.insert(argv.end(), {"--" + name, value});
    }
  }

  std::ofstream log(job.dir / "log.txt", std::ios::app);
  std::deque<std::string> tail;
  // From the CLI's "model saved to", "results saved to" or (hyperopt) "best model: " line.
  std::string reported_dir;
  auto status = RunChild(job, argv, log, tail, [&](absl::string_view line) {
    absl::string_view rest = line;
    if (absl::ConsumePrefix(&rest, "model saved to ")) reported_dir = std::string(rest);
    if (absl::ConsumePrefix(&rest, "best model: ")) reported_dir = std::string(rest);
    if (absl::ConsumePrefix(&rest, "results saved to ")) {
      reported_dir = (fs::path(std::string(rest)) / "model").string();
    }
    int64_t epoch = 0, step = 0;
    std::map<std::string, double> metrics;
    if (!ParseEpochLine(line, &epoch, &step, &metrics)) return;
    absl::MutexLock lock(&mu);
    job.record.epoch = epoch;
    job.record.step = step;
    job.record.metrics = metrics;
    SaveOrLog(job);
    JobEvent event;
    event.type = JobEvent::Type::kProgress;
    event.epoch = epoch;
    event.step = step;
    event.metrics = std::move(metrics);
    AddEvent(job, std::move(event));
  });

  std::string model_dir;
  absl::Status outcome = status.status();
  if (status.ok()) {
    if (!WIFEXITED(*status) || WEXITSTATUS(*status) != 0) {
      outcome = absl::InternalError(FailureReason(info.verb, *status, tail));
    } else if (info.trains) {
      auto get = [&](const char* name, const char* fallback) {
        auto it = spec.options.find(name);
        return it == spec.options.end() ? std::string(fallback) : it->second;
      };
      const fs::path expected =
          output /
          absl::StrCat(get("experiment_name", "experiment"), "_", get("model_name", "run")) /
          "model";
      for (const fs::path& candidate : {fs::path(reported_dir), expected}) {
        if (!candidate.empty() && fs::exists(candidate / "model_hyperparameters.json")) {
          model_dir = fs::absolute(candidate).string();
          break;
        }
      }
      absl::MutexLock lock(&mu);
      job.record.model_dir = model_dir;
    }
  }
  if (outcome.ok() && !spec.publish_model.empty()) outcome = Publish(job, model_dir, log).status();

  absl::MutexLock lock(&mu);
  if (job.cancel_requested) {
    SetState(job, JobState::kCancelled, kCancelledByRequest);
  } else if (job.shutdown_killed) {
    SetState(job, JobState::kFailed, kDaemonStopped);
  } else if (!outcome.ok()) {
    SetState(job, JobState::kFailed, std::string(outcome.message()));
  } else {
    SetState(job, JobState::kSucceeded, "");
  }
}

void JobManager::Impl::Shutdown() {
  absl::MutexLock shutdown_lock(&shutdown_mu);
  {
    absl::MutexLock lock(&mu);
    shutting_down = true;
    for (auto& [number, job] : jobs) {
      if (job->record.state != JobState::kRunning) continue;
      job->shutdown_killed = true;
      if (job->child_running) kill(static_cast<pid_t>(-job->record.pid), SIGKILL);
    }
  }
  for (std::thread& runner : runners) runner.join();
  runners.clear();
}

JobManager::JobManager(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

JobManager::~JobManager() {
  Shutdown();
}

absl::StatusOr<std::unique_ptr<JobManager>> JobManager::Create(JobManagerOptions options) {
  if (options.state_dir.empty()) return absl::InvalidArgumentError("state_dir: required");
  if (options.cli_binary.empty()) return absl::InvalidArgumentError("cli_binary: required");
  if (access(options.cli_binary.c_str(), X_OK) != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("cli_binary: '", options.cli_binary, "' is not an executable file"));
  }
  for (const auto& [name, value] :
       {std::pair<const char*, int>{"max_concurrent_jobs", options.max_concurrent_jobs},
        {"max_queued_jobs", options.max_queued_jobs},
        {"threads_per_job", options.threads_per_job},
        {"max_events_per_job", options.max_events_per_job}}) {
    if (value < 1) {
      return absl::InvalidArgumentError(absl::StrCat(name, ": must be at least 1, not ", value));
    }
  }
  std::error_code ec;
  fs::create_directories(options.state_dir, ec);
  if (ec) {
    return absl::InternalError(
        absl::StrCat("state_dir: cannot create '", options.state_dir, "': ", ec.message()));
  }
  TRISTAGE_ASSIGN_OR_RETURN(const int lock_fd, LockStateDir(options.state_dir));
  auto impl = std::make_unique<Impl>(std::move(options));
  impl->lock_fd = lock_fd;
  {
    absl::MutexLock lock(&impl->mu);
    TRISTAGE_RETURN_IF_ERROR(impl->Restore());
  }
  Impl* raw = impl.get();
  {
    absl::MutexLock lock(&raw->shutdown_mu);
    for (int i = 0; i < raw->options.max_concurrent_jobs; ++i) {
      raw->runners.emplace_back([raw] { raw->RunnerLoop(); });
    }
  }
  return std::unique_ptr<JobManager>(new JobManager(std::move(impl)));
}

absl::StatusOr<std::string> JobManager::Submit(JobSpec spec) {
  TRISTAGE_RETURN_IF_ERROR(impl_->Validate(spec));
  absl::MutexLock lock(&impl_->mu);
  if (impl_->shutting_down) return absl::UnavailableError("the job manager is shutting down");
  if (impl_->queue.size() >= static_cast<size_t>(impl_->options.max_queued_jobs)) {
    return absl::ResourceExhaustedError(absl::StrCat(
        impl_->queue.size(), " jobs are already queued (max_queued_jobs); try again later"));
  }
  const int64_t number = impl_->next_id++;
  auto job = std::make_unique<Job>();
  job->dir = impl_->jobs_dir / FormatId(number);
  job->record.id = FormatId(number);
  job->record.spec = std::move(spec);
  job->record.created = absl::Now();
  job->record.output_dir = (job->dir / "output").string();
  job->record.log_path = (job->dir / "log.txt").string();
  std::error_code ec;
  fs::create_directories(job->dir, ec);
  if (ec) {
    return absl::InternalError(
        absl::StrCat("cannot create '", job->dir.string(), "': ", ec.message()));
  }
  if (!job->record.spec.config.empty()) {
    TRISTAGE_RETURN_IF_ERROR(
        WriteFileAtomically((job->dir / "config.yaml").string(), job->record.spec.config));
  }
  TRISTAGE_RETURN_IF_ERROR(impl_->Save(*job));
  Job* raw = job.get();
  impl_->jobs[number] = std::move(job);
  JobEvent event;
  event.type = JobEvent::Type::kState;
  event.state = JobState::kQueued;
  impl_->AddEvent(*raw, std::move(event));
  impl_->queue.push_back(raw);
  TRISTAGE_LOG(Info) << "job " << raw->record.id << " (" << JobKindName(raw->record.spec.kind)
                     << ") QUEUED";
  return raw->record.id;
}

absl::StatusOr<JobRecord> JobManager::Get(const std::string& id) const {
  absl::MutexLock lock(&impl_->mu);
  const Job* job = impl_->Find(id);
  if (job == nullptr) return absl::NotFoundError(absl::StrCat("no job '", id, "'"));
  return job->record;
}

std::vector<JobRecord> JobManager::List(std::optional<JobState> state) const {
  absl::MutexLock lock(&impl_->mu);
  std::vector<JobRecord> records;
  for (const auto& [number, job] : impl_->jobs) {
    if (!state.has_value() || job->record.state == *state) records.push_back(job->record);
  }
  return records;
}

absl::Status JobManager::Cancel(const std::string& id) {
  absl::MutexLock lock(&impl_->mu);
  Job* job = impl_->Find(id);
  if (job == nullptr) return absl::NotFoundError(absl::StrCat("no job '", id, "'"));
  if (IsFinal(job->record.state)) {
    return absl::FailedPreconditionError(
        absl::StrCat("job ", id, " already ended (", JobStateName(job->record.state), ")"));
  }
  if (job->cancel_requested) {
    return absl::FailedPreconditionError(absl::StrCat("job ", id, " is already being cancelled"));
  }
  if (job->record.state == JobState::kQueued) {
    auto& queue = impl_->queue;
    queue.erase(std::remove(queue.begin(), queue.end(), job), queue.end());
    impl_->SetState(*job, JobState::kCancelled, kCancelledByRequest);
    return absl::OkStatus();
  }
  job->cancel_requested = true;
  if (job->child_running) kill(static_cast<pid_t>(-job->record.pid), SIGTERM);
  auto ended = [job]() { return IsFinal(job->record.state); };
  if (impl_->mu.AwaitWithDeadline(absl::Condition(&ended), absl::Now() + kCancelGrace)) {
    return absl::OkStatus();
  }
  if (job->child_running) {
    TRISTAGE_LOG(Warning) << "job " << id << ": the child ignored SIGTERM for "
                          << absl::FormatDuration(kCancelGrace) << "; SIGKILL";
    kill(static_cast<pid_t>(-job->record.pid), SIGKILL);
  }
  if (!impl_->mu.AwaitWithDeadline(absl::Condition(&ended), absl::Now() + kReapAfterKill)) {
    return absl::DeadlineExceededError(
        absl::StrCat("job ", id, " was signalled but has not ended yet"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<JobEvent>> JobManager::WaitEvents(const std::string& id, int64_t after,
                                                             absl::Time deadline,
                                                             bool* ended) const {
  absl::MutexLock lock(&impl_->mu);
  const Job* job = impl_->Find(id);
  if (job == nullptr) return absl::NotFoundError(absl::StrCat("no job '", id, "'"));
  auto ready = [job, after]() { return job->last_sequence > after || IsFinal(job->record.state); };
  impl_->mu.AwaitWithDeadline(absl::Condition(&ready), deadline);
  std::vector<JobEvent> events;
  for (const JobEvent& event : job->events) {
    if (event.sequence > after) events.push_back(event);
  }
  if (ended != nullptr) *ended = IsFinal(job->record.state);
  return events;
}

absl::StatusOr<std::string> JobManager::ArtifactPath(const std::string& id,
                                                     const std::string& relative) const {
  std::string output_dir;
  {
    absl::MutexLock lock(&impl_->mu);
    const Job* job = impl_->Find(id);
    if (job == nullptr) return absl::NotFoundError(absl::StrCat("no job '", id, "'"));
    output_dir = job->record.output_dir;
  }
  if (fs::path(relative).is_absolute()) {
    return absl::PermissionDeniedError(
        absl::StrCat("artifact '", relative, "': must be relative to the job's output directory"));
  }
  std::error_code ec;
  const fs::path base = fs::weakly_canonical(output_dir, ec);
  if (ec || !fs::exists(base)) {
    return absl::NotFoundError(absl::StrCat("job ", id, " has no output directory yet"));
  }
  const fs::path path = fs::weakly_canonical(base / relative, ec);
  if (ec) {
    return absl::NotFoundError(absl::StrCat("artifact '", relative, "': ", ec.message()));
  }
  if (!IsInside(path, base)) {
    return absl::PermissionDeniedError(
        absl::StrCat("artifact '", relative, "' is outside job ", id, "'s output directory"));
  }
  if (!fs::exists(path)) {
    return absl::NotFoundError(
        absl::StrCat("artifact '", relative, "' does not exist in job ", id, "'s output"));
  }
  return path.string();
}

void JobManager::Shutdown() {
  impl_->Shutdown();
}

}  // namespace tristage::server::jobs
