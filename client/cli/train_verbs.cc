// The verbs that train or score a model and may run as the daemon's jobs: train, experiment
// (also k-fold), evaluate, hyperopt and its internal hyperopt_trial. Each is a thin shell over
// core's public API; with --job_events_fd each reports its result (or error) as a job event.
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <fstream>
#include <ostream>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "client/cli/engine_flags.h"
#include "client/cli/verbs.h"
#include "core/api/hyperopt.h"
#include "core/api/kfold.h"
#include "core/api/model.h"
#include "core/config/config.h"
#include "core/data/io.h"
#include "core/util/log.h"

namespace tristage::cli {

using nlohmann::json;
namespace fs = std::filesystem;

namespace {

// Rank 0 (or the only process) says what in the config deserves a warning.
void WarnAboutConfig(const VerbContext& context, const char* verb, const json& config) {
  const std::string notice = config::LudwigVersionNotice(config);
  const char* rank = std::getenv("RANK");
  const bool leader = rank == nullptr || *rank == '\0' || std::string(rank) == "0";
  if (!notice.empty() && leader && MinLogLevel() <= LogLevel::kWarning) {
    context.err << "tristage " << verb << ": warning: " << notice << "\n";
  }
}

}  // namespace

int RunTrain(const VerbContext& context) {
  if (context.flags.Has("server")) return RunRemoteJob(context, "train");
  if (std::optional<int> launched = LaunchDistributed(context, "train")) return *launched;
  auto options = ReadTrainOptions(context);
  if (!options.ok()) return Usage(context, "train", std::string(options.status().message()));
  auto model = ModelForTraining(context.flags);
  if (!model.ok()) return Fail(context, "train", model.status());
  WarnAboutConfig(context, "train", (*model)->config());
  auto results = (*model)->Train(*options);
  if (!results.ok()) return FailWorker(context, "train", options->world, results.status());
  if (options->world.rank != 0) return kExitOk;  // rank 0 reports for the run
  if (options->skip_save_model) {
    context.out << "results saved to " << results->run_directory << " (no model: --skip_save_model)\n";
  } else {
    context.out << "model saved to " << results->model_directory << "\n";
  }
  return Succeed(options->skip_save_model ? "" : results->model_directory,
                 results->run_directory);
}

namespace {

// experiment --k_fold K: Ludwig's k-fold cross validation over --dataset. Flag mistakes (bad K,
// no --dataset) exit 2 like other usage errors; a failing fold exits 1.
int RunKfold(const VerbContext& context, const TrainOptions& train,
             const ExperimentOptions& experiment) {
  KfoldOptions options;
  const std::string folds = context.flags.GetOr("k_fold", "");
  if (!absl::SimpleAtoi(folds, &options.num_folds)) {
    return Usage(context, "experiment",
                 absl::StrCat("--k_fold: '", folds, "' is not an integer number of folds"));
  }
  options.train = train;
  options.experiment = experiment;
  options.skip_save_k_fold_split_indices = context.flags.GetBool("skip_save_k_fold_split_indices");
  auto user = UserConfig(context.flags);
  if (!user.ok()) return Usage(context, "experiment", std::string(user.status().message()));
  auto results = KfoldCrossValidate(*user, options);
  if (!results.ok()) return FailOrUsage(context, "experiment", results.status());
  context.out << options.num_folds << "-fold cross validation statistics saved to "
              << results->statistics_path << "\n";
  if (!results->split_indices_path.empty()) {
    context.out << "fold split indices saved to " << results->split_indices_path << "\n";
  }
  for (size_t i = 0; i < results->fold_run_directories.size(); ++i) {
    context.out << "fold " << i + 1 << " results saved to " << results->fold_run_directories[i]
                << "\n";
  }
  // One model per fold: no model_dir.
  return Succeed("", train.output_directory);
}

}  // namespace

int RunExperiment(const VerbContext& context) {
  if (context.flags.Has("server")) return RunRemoteJob(context, "experiment");
  if (std::optional<int> launched = LaunchDistributed(context, "experiment")) return *launched;
  auto options = ReadTrainOptions(context);
  if (!options.ok()) return Usage(context, "experiment", std::string(options.status().message()));
  ExperimentOptions experiment;
  experiment.eval_split = context.flags.GetOr("eval_split", "test");
  experiment.skip_save_predictions = context.flags.GetBool("skip_save_predictions");
  experiment.skip_save_eval_stats = context.flags.GetBool("skip_save_eval_stats");
  experiment.skip_collect_predictions = context.flags.GetBool("skip_collect_predictions");
  experiment.skip_collect_overall_stats = context.flags.GetBool("skip_collect_overall_stats");
  if (context.flags.Has("k_fold")) return RunKfold(context, *options, experiment);
  auto model = ModelForTraining(context.flags);
  if (!model.ok()) return Fail(context, "experiment", model.status());
  WarnAboutConfig(context, "experiment", (*model)->config());
  auto results = (*model)->Experiment(*options, experiment);
  if (!results.ok()) return FailWorker(context, "experiment", options->world, results.status());
  if (options->world.rank != 0) return kExitOk;  // rank 0 reports for the run
  context.out << "results saved to " << results->train.run_directory << "\n";
  return Succeed(options->skip_save_model ? "" : results->train.model_directory,
                 results->train.run_directory);
}

int RunEvaluate(const VerbContext& context) {
  if (context.flags.Has("server")) return RunRemoteJob(context, "evaluate");
  auto model = LoadModelFlag(context.flags);
  if (!model.ok()) return Fail(context, "evaluate", model.status());
  auto table = DatasetSplitFlag(context.flags, **model);
  if (!table.ok()) return Fail(context, "evaluate", table.status());
  EvaluateOptions options;
  options.collect_predictions = !context.flags.GetBool("skip_collect_predictions");
  options.collect_overall_stats = !context.flags.GetBool("skip_collect_overall_stats");
  auto results = (*model)->Evaluate(*table, options);
  if (!results.ok()) return Fail(context, "evaluate", results.status());
  const std::string dir = context.flags.GetOr("output_directory", "results");
  if (absl::Status s = MakeDirectory(dir); !s.ok()) return Fail(context, "evaluate", s);
  if (!context.flags.GetBool("skip_save_eval_stats")) {
    absl::Status s =
        WriteJsonFile((fs::path(dir) / "test_statistics.json").string(), results->test_statistics);
    if (!s.ok()) return Fail(context, "evaluate", s);
  }
  if (options.collect_predictions && !context.flags.GetBool("skip_save_predictions")) {
    absl::Status s = WritePredictions((*model)->config(), results->predictions, dir);
    if (!s.ok()) return Fail(context, "evaluate", s);
  }
  context.out << results->test_statistics.dump(2) << "\n";
  return Succeed("", dir);
}

int RunHyperopt(const VerbContext& context) {
  if (context.flags.Has("server")) {
    if (context.flags.Has("resume")) {
      return Usage(context, "hyperopt", "--resume is not available with --server");
    }
    return RunRemoteJob(context, "hyperopt");
  }
  auto train = ReadTrainOptions(context);
  if (!train.ok()) return Usage(context, "hyperopt", std::string(train.status().message()));
  HyperoptOptions options;
  options.train = *std::move(train);
  if (!context.flags.Has("experiment_name")) options.train.experiment_name = "hyperopt";
  options.train.progress_bar = false;  // trials log whole lines, interleaved
  options.skip_save_hyperopt_statistics = context.flags.GetBool("skip_save_hyperopt_statistics");
  const std::string resume = context.flags.GetOr("resume", "auto");
  options.resume = resume == "true"    ? HyperoptOptions::Resume::kAlways
                   : resume == "false" ? HyperoptOptions::Resume::kNever
                                       : HyperoptOptions::Resume::kAuto;
  std::error_code ec;
  options.trial_executable = fs::read_symlink("/proc/self/exe", ec).string();
  auto user = UserConfig(context.flags);
  if (!user.ok()) return Usage(context, "hyperopt", std::string(user.status().message()));
  if (auto resolved = config::ResolveConfig(*user); resolved.ok()) {
    WarnAboutConfig(context, "hyperopt", *resolved);
    if (PlanBackend(*resolved).num_workers > 1 && MinLogLevel() <= LogLevel::kWarning) {
      // Ludwig on Ray spreads trials over the cluster; here each trial is one process, and
      // max_concurrent_trials runs several at once.
      context.err << "tristage hyperopt: warning: backend.trainer.num_workers applies to train "
                     "and experiment; each hyperopt trial trains in one process "
                     "(hyperopt.executor.max_concurrent_trials runs trials side by side)\n";
    }
  }
  auto results = Hyperopt(*user, options);
  if (!results.ok()) return FailOrUsage(context, "hyperopt", results.status());
  const json& ranked = results->statistics["hyperopt_results"];
  const json& failed = results->statistics["failed_trials"];
  context.out << ranked.size() + failed.size() << " trial(s): " << ranked.size() << " scored, "
              << failed.size() << " failed; results in " << results->directory << "\n";
  if (!options.skip_save_hyperopt_statistics) {
    context.out << "hyperopt statistics saved to "
                << (fs::path(results->directory) / "hyperopt_statistics.json").string() << "\n";
  }
  if (ranked.empty()) {
    context.out << "no trial succeeded: see failed_trials and each trial's trial.log\n";
    if (JobEvents() != nullptr) {
      JobEvents()
          ->Write(job_protocol::MakeError(absl::FailedPreconditionError(absl::StrCat(
              "no trial succeeded: see failed_trials in ", results->directory,
              "/hyperopt_statistics.json and each trial's trial.log"))))
          .IgnoreError();
    }
    return kExitFailure;
  }
  const json& best = ranked[0];
  context.out << "best trial: " << best["trial_dir"].get<std::string>() << " with "
              << results->statistics["hyperopt_config"]["metric"].get<std::string>() << " "
              << best["metric_score"].dump() << ", parameters " << best["parameters"].dump()
              << "\n";
  if (!results->best_model_path.empty()) {
    context.out << "best model: " << results->best_model_path << "\n";
  }
  return Succeed(results->best_model_path, results->directory);
}

int RunHyperoptTrial(const VerbContext& context) {
  auto spec = context.flags.Get("trial_spec");
  if (!spec) return Usage(context, "hyperopt_trial", "--trial_spec is required");
  if (JobEvents() == nullptr) {
    return Usage(context, "hyperopt_trial",
                 "--job_events_fd is required: the trial reports to its parent there");
  }
  std::ostream& err = context.err;
  // The result event is the trial's own (it carries the training statistics).
  const absl::Status status = tristage::RunHyperoptTrial(
      *spec, std::cin, *JobEvents(), [&err](const std::string& line) { err << line << std::flush; });
  if (!status.ok()) return Fail(context, "hyperopt_trial", status);
  return kExitOk;
}

}  // namespace tristage::cli
