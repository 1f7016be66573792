// Trials as child processes: each trial runs `<trial_executable> hyperopt_trial --trial_spec
// <trial_dir>/trial_spec.json`, the tristage CLI training one model with the same engine, so a
// trial that crashes, leaks or diverges takes nothing else down and runs in parallel with others.
//
// The two sides speak the job protocol (core/util/job_protocol.h, docs/jobs.md), the one the
// daemon's jobs use, on the child's descriptor 3 (`--job_events_fd 3`):
//   child -> parent: a "progress" event after each epoch (epoch, metrics, ...); the child then
//     blocks on a line of its stdin:
//   parent -> child: "continue\n" or "stop\n" (stop: end after this epoch, keeping the best one)
//   child -> parent: a "result" event at the end (training_statistics, best_epoch, model_dir), or
//     an "error" event when the trial failed.
//   The child's human output (stdout and stderr) goes to <trial_dir>/trial.log and is never read
//   for meaning; its last lines are shown in the trial's error when it exits without a result and
//   without an error event. A malformed event line fails the trial with what was wrong with it.
// The child has cpu_resources_per_trial threads (OMP/OpenBLAS/MKL variables), the parent's
// niceness, its own process group, and dies with the trial's thread (PR_SET_PDEATHSIG): when the
// hyperopt process ends, however it ends, its trials end too.
//
// Thread safety: Run may be called from several threads at once (one per trial).
#ifndef TRISTAGE_CORE_HYPEROPT_PROCESS_RUNNER_H_
#define TRISTAGE_CORE_HYPEROPT_PROCESS_RUNNER_H_

#include <cstdint>
#include <functional>
#include <string>

#include "core/hyperopt/executor.h"
#include "nlohmann/json.hpp"

namespace tristage::hyperopt {

inline constexpr char kContinueLine[] = "continue";
inline constexpr char kStopLine[] = "stop";

struct ProcessRunnerOptions {
  std::string trial_executable;  // the tristage CLI
  nlohmann::json user_config;    // with its hyperopt section
  // Written into each trial_spec.json for the child: {"data": {dataset, training_set,
  // validation_set, test_set, data_format}, "random_seed", "skip_save_model", ...}.
  nlohmann::json trial_options;
  int64_t threads_per_trial = 1;
};

class ProcessTrialRunner : public TrialRunner {
 public:
  ProcessTrialRunner(const HyperoptSettings& settings, ProcessRunnerOptions options)
      : settings_(settings), options_(std::move(options)) {}
  TrialOutcome Run(const TrialSpec& spec,
                   const std::function<bool(const EpochReport&)>& report) override;

 private:
  const HyperoptSettings& settings_;
  const ProcessRunnerOptions options_;
};

}  // namespace tristage::hyperopt

#endif  // TRISTAGE_CORE_HYPEROPT_PROCESS_RUNNER_H_
