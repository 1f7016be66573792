// Hyperopt trial schedulers: whether a running trial goes on after an epoch.
//
// `hyperopt.scheduler.type`, as Ludwig (through Ray Tune) names them:
//   fifo                      every trial runs until its trainer stops it (epochs, early_stop).
//   async_hyperband, asha     Asynchronous Successive Halving (Li et al. 2018; Ray's
//                             AsyncHyperBandScheduler with one bracket). Rungs sit at
//                             grace_period * reduction_factor^k epochs below max_t. A trial
//                             reaching a rung is recorded there; it stops unless its score is
//                             within the best 1/reduction_factor of the scores recorded at that
//                             rung so far (the cutoff is the (1 - 1/rf) quantile, interpolated as
//                             numpy's percentile). Every trial stops at max_t epochs.
//                             Keys: time_attr (training_iteration: epochs, the default; or
//                             time_total_s: the trial's seconds so far), max_t (100),
//                             grace_period (1), reduction_factor (4), brackets (1 only).
// Ray's metric and mode keys are errors naming the key: hyperopt.metric and hyperopt.goal set them.
// Unknown types and keys are InvalidArgument naming `hyperopt.scheduler.<key>`.
//
// Scores are minimized: the executor passes -metric for goal: maximize, and passes the trial's
// best score so far (the trainer keeps its best epoch's weights, so that is what the trial is
// worth at this point). A NaN score never stops a trial and is left out of the cutoffs, as in Ray.
//
// Thread safety: not thread-safe; the hyperopt executor serializes calls.
#ifndef TRISTAGE_CORE_HYPEROPT_SCHEDULER_H_
#define TRISTAGE_CORE_HYPEROPT_SCHEDULER_H_

#include <cstdint>
#include <memory>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

namespace tristage::hyperopt {

class TrialScheduler {
 public:
  enum class Decision { kContinue, kStop };
  virtual ~TrialScheduler() = default;
  // Trial `trial` finished epoch `epoch` (1-based), `seconds` after it started, with `score`.
  // Called once per epoch, in order.
  virtual Decision OnEpoch(int64_t trial, int64_t epoch, double seconds, double score) = 0;
  // The trial ended (finished, stopped or failed); it reports no more epochs.
  virtual void OnTrialEnd(int64_t trial) = 0;
};

// `scheduler` is the config's hyperopt.scheduler (null or missing: fifo).
absl::StatusOr<std::unique_ptr<TrialScheduler>> MakeScheduler(const nlohmann::json& scheduler);

}  // namespace tristage::hyperopt

#endif  // TRISTAGE_CORE_HYPEROPT_SCHEDULER_H_
