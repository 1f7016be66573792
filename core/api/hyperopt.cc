#include "core/api/hyperopt.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <istream>
#include <ostream>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/hyperopt/executor.h"
#include "core/hyperopt/hyperopt_config.h"
#include "core/hyperopt/process_runner.h"
#include "core/hyperopt/scheduler.h"
#include "core/hyperopt/search.h"
#include "core/util/files.h"
#include "core/util/status_macros.h"

namespace tristage {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

constexpr char kRunFile[] = "hyperopt_run.json";

json DataJson(const DatasetOptions& data) {
  auto absolute = [](const std::string& path) {
    if (path.empty()) return path;
    std::error_code ec;
    const fs::path full = fs::absolute(path, ec);
    return ec ? path : full.lexically_normal().string();
  };
  return {{"dataset", absolute(data.dataset)},
          {"training_set", absolute(data.training_set)},
          {"validation_set", absolute(data.validation_set)},
          {"test_set", absolute(data.test_set)},
          {"data_format", data.data_format}};
}

DatasetOptions DataFromJson(const json& data) {
  DatasetOptions options;
  options.dataset = data.value("dataset", std::string());
  options.training_set = data.value("training_set", std::string());
  options.validation_set = data.value("validation_set", std::string());
  options.test_set = data.value("test_set", std::string());
  options.data_format = data.value("data_format", std::string("auto"));
  return options;
}

// Where this run goes, per options.resume; `resuming` says whether it continues a previous one.
absl::StatusOr<fs::path> ChooseDirectory(const HyperoptOptions& options, const json& identity,
                                         bool& resuming) {
  const fs::path base = fs::path(options.train.output_directory) / options.train.experiment_name;
  resuming = false;
  if (options.resume == HyperoptOptions::Resume::kNever) return FreshPath(base.string());
  const bool taken = fs::exists(base);
  absl::StatusOr<json> previous = ReadJsonFile((base / kRunFile).string());
  if (previous.ok() && *previous == identity) {
    resuming = true;
    return base;
  }
  if (options.resume == HyperoptOptions::Resume::kAlways) {
    if (!taken || !previous.ok()) {
      return absl::FailedPreconditionError(
          absl::StrCat("--resume: no hyperopt run to resume in ", base.string()));
    }
    std::string what = "the config";
    if ((*previous).value("data", json()) != identity["data"]) what = "the data options";
    if ((*previous).value("random_seed", json()) != identity["random_seed"]) what = "the seed";
    return absl::FailedPreconditionError(
        absl::StrCat("--resume: the hyperopt run in ", base.string(), " used different ", what,
                     "; start a new one with another --experiment_name"));
  }
  return taken ? fs::path(FreshPath(base.string())) : base;
}

}  // namespace

absl::StatusOr<HyperoptResults> Hyperopt(const json& user_config, const HyperoptOptions& options) {
  if (options.trial_executable.empty() || access(options.trial_executable.c_str(), X_OK) != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("hyperopt: the trial executable '", options.trial_executable,
                     "' (the tristage CLI) is not an executable file"));
  }
  const TrainOptions& train = options.train;
  if (!train.model_resume_path.empty()) {
    return absl::InvalidArgumentError(
        "--model_resume_path: not used by hyperopt (an interrupted hyperopt resumes by itself)");
  }
  if (train.data.dataset.empty() && train.data.training_set.empty()) {
    return absl::InvalidArgumentError(
        "no data: give --dataset, or --training_set (with optional --validation_set and "
        "--test_set)");
  }
  const int64_t cores = std::max(1u, std::thread::hardware_concurrency());
  TRISTAGE_ASSIGN_OR_RETURN(hyperopt::HyperoptSettings settings,
                            hyperopt::ResolveHyperopt(user_config, cores));
  TRISTAGE_ASSIGN_OR_RETURN(
      std::unique_ptr<hyperopt::SearchAlgorithm> search,
      hyperopt::MakeSearchAlgorithm(settings.resolved["search_alg"], settings.parameters,
                                    settings.num_samples, train.random_seed));
  TRISTAGE_ASSIGN_OR_RETURN(std::unique_ptr<hyperopt::TrialScheduler> scheduler,
                            hyperopt::MakeScheduler(settings.resolved["scheduler"]));
  const json data = DataJson(train.data);
  const json identity = {
      {"config", user_config}, {"data", data}, {"random_seed", train.random_seed}};
  bool resuming = false;
  TRISTAGE_ASSIGN_OR_RETURN(fs::path directory, ChooseDirectory(options, identity, resuming));
  std::error_code ec;
  fs::create_directories(directory, ec);
  if (ec) {
    return absl::InternalError(
        absl::StrCat("cannot create ", directory.string(), ": ", ec.message()));
  }
  if (!resuming)
    TRISTAGE_RETURN_IF_ERROR(
        WriteFileAtomically((directory / kRunFile).string(), identity.dump(2) + "\n"));
  auto log = [&train](const std::string& line) {
    if (train.log) train.log(line);
  };
  log(absl::StrCat("hyperopt: ", search->TotalTrials(), " trial(s), ",
                   settings.max_concurrent_trials, " at a time, ",
                   settings.resolved["search_alg"]["type"].get<std::string>(), " search, ",
                   settings.resolved["scheduler"]["type"].get<std::string>(), " scheduler, in ",
                   directory.string(), "\n"));

  // Preprocess once, so trials that keep the preprocessing read the cache instead of each
  // preprocessing the data again; trials never write the cache (they would race each other).
  if (!train.skip_save_processed_input) {
    TRISTAGE_ASSIGN_OR_RETURN(json base,
                              hyperopt::TrialConfig(user_config, settings, json::object()));
    absl::StatusOr<std::unique_ptr<Model>> model = Model::FromConfig(base);
    if (model.ok()) {
      TrainOptions preprocess = train;
      preprocess.log = nullptr;
      absl::StatusOr<std::string> cached = (*model)->Preprocess(preprocess);
      if (!cached.ok()) return cached.status();
    }
  }

  hyperopt::ProcessRunnerOptions runner_options;
  runner_options.trial_executable = options.trial_executable;
  runner_options.user_config = user_config;
  runner_options.threads_per_trial = settings.cpu_resources_per_trial;
  runner_options.trial_options = {
      {"data", data},
      {"random_seed", train.random_seed},
      {"skip_save_training_description", train.skip_save_training_description},
      {"skip_save_training_statistics", train.skip_save_training_statistics},
      {"skip_save_model", train.skip_save_model},
      {"skip_save_progress", train.skip_save_progress}};
  hyperopt::ProcessTrialRunner runner(settings, std::move(runner_options));
  hyperopt::ExecutorOptions executor_options;
  executor_options.directory = directory.string();
  executor_options.should_stop = train.should_stop;
  executor_options.log = train.log;
  const std::string statistics_path = options.skip_save_hyperopt_statistics
                                          ? std::string()
                                          : (directory / "hyperopt_statistics.json").string();
  TRISTAGE_ASSIGN_OR_RETURN(hyperopt::ExecutorResults executed,
                            hyperopt::RunTrials(settings, *search, *scheduler, runner,
                                                executor_options, statistics_path));
  HyperoptResults results;
  results.statistics = std::move(executed.statistics);
  results.directory = directory.string();
  results.best_trial_directory = executed.best_trial_directory;
  if (!results.best_trial_directory.empty() && !train.skip_save_model) {
    results.best_model_path = (fs::path(results.best_trial_directory) / "model").string();
  }
  results.trials_run = executed.trials_run;
  results.epochs_run = executed.epochs_run;
  return results;
}

absl::Status RunHyperoptTrial(const std::string& trial_spec_path, std::istream& decisions,
                              job_protocol::EventWriter& events,
                              const std::function<void(const std::string&)>& log) {
  TRISTAGE_ASSIGN_OR_RETURN(json spec, ReadJsonFile(trial_spec_path));
  if (!spec.is_object() || !spec.contains("config") || !spec.contains("run_directory")) {
    return absl::InvalidArgumentError(
        absl::StrCat(trial_spec_path, ": not a trial spec (needs config and run_directory)"));
  }
  TRISTAGE_ASSIGN_OR_RETURN(std::unique_ptr<Model> model, Model::FromConfig(spec["config"]));
  TrainOptions options;
  options.data = DataFromJson(spec.value("data", json::object()));
  options.run_directory = spec["run_directory"].get<std::string>();
  options.random_seed = spec.value("random_seed", uint64_t{42});
  options.skip_save_training_description = spec.value("skip_save_training_description", false);
  options.skip_save_training_statistics = spec.value("skip_save_training_statistics", false);
  options.skip_save_model = spec.value("skip_save_model", false);
  options.skip_save_progress = spec.value("skip_save_progress", false);
  options.skip_save_processed_input = true;
  options.log = log;
  options.job_events = &events;
  options.on_epoch_end = [&](int64_t, const json&) {
    // The progress event went out just before (TrainOptions::job_events); one answer per event.
    std::string decision;
    // No answer (the parent is gone): stop, keeping what was trained.
    if (!std::getline(decisions, decision)) return false;
    return decision == hyperopt::kContinueLine;
  };
  TRISTAGE_ASSIGN_OR_RETURN(TrainResults trained, model->Train(options));
  job_protocol::Result result;
  if (!options.skip_save_model) result.model_dir = trained.model_directory;
  result.output_dir = trained.run_directory;
  result.training_statistics = trained.training_statistics;
  result.best_epoch = trained.progress.value("best_eval_metric_epoch", int64_t{0});
  TRISTAGE_RETURN_IF_ERROR(events.Write(job_protocol::MakeResult(std::move(result))));
  return absl::OkStatus();
}

}  // namespace tristage
