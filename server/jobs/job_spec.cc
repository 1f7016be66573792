#include "server/jobs/job_spec.h"

#include <algorithm>
#include <system_error>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/util/names.h"
#include "core/util/status_macros.h"

namespace tristage::server::jobs {
namespace {

namespace fs = std::filesystem;

// What each kind runs and accepts. The option lists are the CLI verb's own flags among the
// allowlist (experiment_name, model_name, random_seed, data_format, batch_size, split, k_fold,
// skip_save_*), so a job never fails on a flag its verb does not know.
struct KindInfo {
  JobKind kind;
  const char* name;
  const char* verb;
  bool trains;         // needs a config; produces a model
  bool data_parallel;  // its verb takes --nproc_per_node: world_size may be above 1
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
        {JobKind::kTrain, "train", "train", true, true, train},
        {JobKind::kEvaluate, "evaluate", "evaluate", false, false, Concat(scoring, eval)},
        {JobKind::kExperiment, "experiment", "experiment", true, true,
         Concat(Concat(train, eval), {"k_fold"})},
        {JobKind::kHyperopt, "hyperopt", "hyperopt", true, false,
         Concat(Concat(train, eval), {"skip_save_hyperopt_statistics"})},
        {JobKind::kBatchPredict, "batch_predict", "predict", false, false,
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

// The most workers a job may ask for (the CLI's --nproc_per_node takes the same).
constexpr int kMaxWorldSize = 1024;

// world_size: N workers share the job's `threads_per_job`, so each needs at least one of them.
absl::Status CheckWorldSize(const JobSpec& spec, const KindInfo& info, int threads_per_job) {
  const int n = spec.world_size;
  if (n < 0 || n > kMaxWorldSize) {
    return absl::InvalidArgumentError(
        absl::StrCat("world_size: ", n, " is not from 0 to ", kMaxWorldSize,
                     " (0 or 1: one process; N: N data-parallel worker processes)"));
  }
  if (n <= 1) return absl::OkStatus();
  if (!info.data_parallel) {
    return absl::InvalidArgumentError(
        absl::StrCat("world_size: ", n, " is for train and experiment jobs only; ", info.name,
                     " jobs run in one process (world_size 0 or 1)"));
  }
  if (spec.options.count("k_fold") != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("world_size: ", n,
                     " cannot be combined with options.k_fold: cross validation trains its folds "
                     "one after another in one process; drop k_fold or world_size"));
  }
  if (n > threads_per_job) {
    return absl::InvalidArgumentError(absl::StrCat(
        "world_size: ", n, " exceeds this daemon's job CPU budget (--job-threads ", threads_per_job,
        "): each worker needs at least one of the job's threads; ask for at most ", threads_per_job,
        " workers, or start the daemon with --job-threads ", n, " or more"));
  }
  return absl::OkStatus();
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

const char* JobVerb(JobKind kind) {
  return Info(kind).verb;
}

bool KindTrains(JobKind kind) {
  return Info(kind).trains;
}

absl::Status ValidateJobSpec(const JobSpec& spec, const SubmitLimits& limits) {
  const KindInfo& info = Info(spec.kind);
  // First: how many processes the job may run does not depend on its files.
  TRISTAGE_RETURN_IF_ERROR(CheckWorldSize(spec, info, limits.threads_per_job));
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
    if (!limits.have_repository) {
      return absl::FailedPreconditionError(
          "publish_model: this daemon has no model repository to publish into");
    }
    TRISTAGE_RETURN_IF_ERROR(CheckName("publish_model", spec.publish_model));
  }
  return absl::OkStatus();
}

std::vector<std::string> JobArgv(const JobSpec& spec, const std::string& cli_binary,
                                 const fs::path& job_dir) {
  const KindInfo& info = Info(spec.kind);
  std::vector<std::string> argv = {cli_binary, info.verb};
  if (info.trains) argv.insert(argv.end(), {"-c", (job_dir / "config.yaml").string()});
  argv.insert(argv.end(), {"--dataset", spec.dataset});
  if (!info.trains) argv.insert(argv.end(), {"-m", spec.model_path});
  argv.insert(argv.end(), {"-od", (job_dir / "output").string()});
  if (info.data_parallel) {
    argv.insert(argv.end(), {"--nproc_per_node", std::to_string(std::max(1, spec.world_size))});
  }
  for (const auto& [name, value] : spec.options) {
    if (absl::StartsWith(name, "skip_save_")) {
      if (value == "true") argv.push_back("--" + name);
    } else {
      argv.insert(argv.end(), {"--" + name, value});
    }
  }
  return argv;
}

}  // namespace tristage::server::jobs
