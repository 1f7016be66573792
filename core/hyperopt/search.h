// Hyperopt search algorithms: which parameters the next trial gets.
//
// `hyperopt.search_alg.type`, as Ludwig names them:
//   random, variant_generator  Ray's BasicVariantGenerator: every grid_search combination (the
//                              cartesian product, first parameter varying slowest), num_samples
//                              times, with every other parameter sampled at random for each
//                              trial. A space made only of grid_search parameters runs each
//                              combination exactly once whatever num_samples says (repeating a
//                              deterministic trial would only waste time). Keys: random_state.
//   tpe, hyperopt              Tree-structured Parzen Estimator (Bergstra et al. 2011, the
//                              algorithm of the hyperopt library Ludwig's `hyperopt` search uses):
//                              the first n_initial_points trials are random; after that, the
//                              finished trials are cut at the gamma quantile of their scores
//                              into good (the best ceil(gamma * n), at least one) and bad, each
//                              parameter gets a Parzen density per group (Gaussian mixtures in
//                              the space's own scale, log for log spaces, with hyperopt's
//                              adaptive widths and prior component; smoothed frequencies for
//                              choice; in groups of more than 25 trials older trials weigh
//                              less, as hyperopt's linear forgetting), and for each parameter on
//                              its own n_ei_candidates are drawn from the good density and the
//                              one maximising good/bad is taken.
//                              Keys: random_state, n_initial_points (10), gamma (0.25),
//                              n_ei_candidates (24). grid_search is an error here (naming the
//                              parameter).
// Unknown types and keys are InvalidArgument naming `hyperopt.search_alg.<key>` and the choices.
//
// Scores are minimized: the executor passes -metric for goal: maximize. A failed trial is observed
// without a score; TPE treats it as worse than every scored trial.
//
// Determinism: Suggest(i) depends only on the seed, i and the observations made before the call,
// so a resumed run that replays its finished trials makes the same suggestions.
//
// Thread safety: not thread-safe; the hyperopt executor calls it from one thread.
#ifndef TRISTAGE_CORE_HYPEROPT_SEARCH_H_
#define TRISTAGE_CORE_HYPEROPT_SEARCH_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "absl/status/statusor.h"
#include "core/hyperopt/space.h"
#include "nlohmann/json.hpp"

namespace tristage::hyperopt {

class SearchAlgorithm {
 public:
  virtual ~SearchAlgorithm() = default;
  // The number of trials this search runs: num_samples, or for random/variant_generator with
  // grid_search parameters, grid combinations x num_samples (x 1 for an all-grid space).
  virtual int64_t TotalTrials() const = 0;
  // Parameters of trial `trial_index` (0-based, < TotalTrials()), as an object mapping each
  // parameter's path to its value. Trials may be suggested before earlier ones are observed.
  virtual nlohmann::json Suggest(int64_t trial_index) = 0;
  // A finished trial: its parameters (as suggested) and its score (to minimize), or nullopt when it
  // failed.
  virtual void Observe(int64_t trial_index, const nlohmann::json& parameters,
                       std::optional<double> score) = 0;
};

// `search_alg` is the config's hyperopt.search_alg (null or missing: variant_generator).
// `num_samples` >= 1. `seed` is used unless search_alg has random_state.
absl::StatusOr<std::unique_ptr<SearchAlgorithm>> MakeSearchAlgorithm(
    const nlohmann::json& search_alg, std::vector<ParameterSpace> space, int64_t num_samples,
    uint64_t seed);

}  // namespace tristage::hyperopt

#endif  // TRISTAGE_CORE_HYPEROPT_SEARCH_H_
