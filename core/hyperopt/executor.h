// The hyperopt executor: runs a search's trials, up to max_concurrent_trials at a time, lets the
// scheduler stop them between epochs, and keeps every trial's result on disk so an interrupted run
// resumes.
//
// Threads: the caller's thread owns the loop (suggests parameters, starts trials, waits); each
// running trial has one thread, owned by the executor and joined before Run returns, that calls
// TrialRunner::Run. The search algorithm, the scheduler and the results are shared under one mutex;
// the number of trial threads is bounded by max_concurrent_trials.
//
// Files in `directory`:
//   trial_<n>/trial_hyperparameters.json  the trial's parameters, written before it starts
//   trial_<n>/trial_result.json           written when it ends: status (completed, stopped by the
//                                         scheduler or the time budget, failed), parameters,
//                                         metric_score, best_epoch, epochs, seconds,
//                                         training_stats, eval_stats, or error
//   hyperopt_statistics.json              {hyperopt_config, hyperopt_results (sorted best first),
//                                         failed_trials}, rewritten as each trial ends
// Resume: trials with a trial_result.json are kept (replayed into the search algorithm, in trial
// order, so it suggests what it would have); a trial directory without one is cleared and the
// trial runs again with its recorded parameters.
//
// A trial's metric_score is `metric` on `split` at its best epoch (the trainer's best: its
// validation field and metric are hyperopt's, see hyperopt_config.h). A trial that fails (the
// child's error, a NaN score from divergence) is recorded with its error, and the run goes on.
#ifndef TRISTAGE_CORE_HYPEROPT_EXECUTOR_H_
#define TRISTAGE_CORE_HYPEROPT_EXECUTOR_H_

#include <cstdint>
#include <functional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/hyperopt/hyperopt_config.h"
#include "core/hyperopt/scheduler.h"
#include "core/hyperopt/search.h"
#include "nlohmann/json.hpp"

namespace tristage::hyperopt {

struct TrialSpec {
  int64_t index = 0;
  nlohmann::json parameters;  // {path: value}
  std::string directory;      // trial_<n>/, created, holding trial_hyperparameters.json
};

struct EpochReport {
  int64_t epoch = 0;       // from 1
  double seconds = 0;      // since the trial started
  nlohmann::json metrics;  // {"training"|"validation"|"test": {feature: {metric: value}}}
};

struct TrialOutcome {
  absl::Status status;  // not OK: the trial failed, with the reason
  // Ludwig's training statistics: {split: {feature: {metric: [value per epoch]}}}.
  nlohmann::json training_statistics;
  int64_t best_epoch = 0;  // from 1, the epoch whose weights the trial kept
};

// Runs one trial to its end on the calling thread. `report` is called after each epoch; when it
// returns false the trial ends after that epoch, keeping its best epoch (as early stopping).
class TrialRunner {
 public:
  virtual ~TrialRunner() = default;
  virtual TrialOutcome Run(const TrialSpec& spec,
                           const std::function<bool(const EpochReport&)>& report) = 0;
};

struct ExecutorOptions {
  std::string directory;  // created
  // Polled by the loop and at each epoch report: true stops starting trials and ends running ones
  // after their current epoch (recorded as stopped), then Run returns Cancelled.
  std::function<bool()> should_stop;
  std::function<void(const std::string&)> log;  // one line per trial start and end
};

struct ExecutorResults {
  nlohmann::json statistics;         // the content of hyperopt_statistics.json
  int64_t trials_run = 0;            // in this call (not counting resumed ones)
  int64_t epochs_run = 0;            // in this call
  std::string best_trial_directory;  // empty when no trial succeeded
};

// `statistics_path` empty: hyperopt_statistics.json is not written.
absl::StatusOr<ExecutorResults> RunTrials(const HyperoptSettings& settings, SearchAlgorithm& search,
                                          TrialScheduler& scheduler, TrialRunner& runner,
                                          const ExecutorOptions& options,
                                          const std::string& statistics_path);

}  // namespace tristage::hyperopt

#endif  // TRISTAGE_CORE_HYPEROPT_EXECUTOR_H_
