// Hyperparameter optimization, as Ludwig's `hyperopt` (ludwig.hyperopt.run.hyperopt) and
// `ludwig hyperopt`.
//
// The config's hyperopt section (core/hyperopt/hyperopt_config.h) names the parameters to search,
// the search algorithm, the scheduler and the executor's limits. Each trial trains one model, in
// its own child process running the tristage CLI (core/hyperopt/process_runner.h), with the
// trial's parameters written into the config; max_concurrent_trials run at once.
//
// Files, in <output_directory>/<experiment_name> (Ludwig's defaults: results/hyperopt):
//   hyperopt_statistics.json   {hyperopt_config, hyperopt_results, failed_trials}; each result:
//                              parameters, metric_score (the best epoch's), training_stats,
//                              eval_stats (the split's metrics at the best epoch), trial_id,
//                              trial_dir, best_epoch, epochs, status; best first.
//   trial_<n>/                 the trial's run: trial_hyperparameters.json, trial_spec.json,
//                              trial_result.json, trial.log, description.json,
//                              training_statistics.json, model/ (the best epoch's weights).
//   hyperopt_run.json          what identifies the run for resuming: the config, the data
//                              options and the seed.
// Resume (Ludwig's `resume`): kAuto continues a run found in the directory when its config, data
// and seed are the same, and otherwise starts a new one in <experiment_name>_<N>; kAlways
// continues it or fails (FailedPrecondition saying what differs); kNever always starts anew (in
// <experiment_name>_<N> when the directory is taken). Finished trials are kept; interrupted ones
// run again with the same parameters.
//
// Thread safety: runs on the calling thread (plus one thread per running trial, joined before it
// returns); concurrent calls need distinct output directories.
#ifndef TRISTAGE_CORE_API_HYPEROPT_H_
#define TRISTAGE_CORE_API_HYPEROPT_H_

#include <cstdint>
#include <functional>
#include <iosfwd>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/api/model.h"
#include "nlohmann/json.hpp"

namespace tristage {

struct HyperoptOptions {
  // data, output_directory, random_seed, skip_save_* (applied to every trial), log and
  // should_stop apply; experiment_name defaults to Ludwig's "hyperopt" here.
  TrainOptions train = [] {
    TrainOptions options;
    options.experiment_name = "hyperopt";
    return options;
  }();
  bool skip_save_hyperopt_statistics = false;
  enum class Resume { kAuto, kAlways, kNever };
  Resume resume = Resume::kAuto;
  // The tristage CLI that runs trials (required; the CLI passes itself).
  std::string trial_executable;
};

struct HyperoptResults {
  nlohmann::json statistics;         // the content of hyperopt_statistics.json
  std::string directory;             // <output_directory>/<experiment_name>[_N]
  std::string best_trial_directory;  // empty when every trial failed
  std::string best_model_path;       // <best trial>/model, empty when every trial failed
  int64_t trials_run = 0;            // by this call (resumed trials not counted)
  int64_t epochs_run = 0;            // by this call
};

// Runs the search. InvalidArgument for config errors (naming the hyperopt key) and data options
// (as Model::Train names them); FailedPrecondition when trial_executable is missing or a resume is
// impossible; Cancelled when should_stop said so (finished trials are kept for a resume). Failing
// trials do not fail the run; a run in which every trial failed returns OK with no best trial.
absl::StatusOr<HyperoptResults> Hyperopt(const nlohmann::json& user_config,
                                         const HyperoptOptions& options);

// The child side of one trial (`tristage hyperopt_trial`): reads the trial_spec.json the parent
// wrote, trains with it into its run directory, writes each epoch's progress event to `events`
// and waits for the parent's decision on `decisions`, then writes the result event (with the
// training statistics and best epoch). Errors are the training's (the caller reports them).
absl::Status RunHyperoptTrial(const std::string& trial_spec_path, std::istream& decisions,
                              job_protocol::EventWriter& events,
                              const std::function<void(const std::string&)>& log);

}  // namespace tristage

#endif  // TRISTAGE_CORE_API_HYPEROPT_H_
