// The `hyperopt:` section of a Ludwig config, resolved: Ludwig's defaults filled in and every
// value checked against the model config it tunes; and the per-trial model configs.
//
//   goal            minimize (default) | maximize
//   metric          loss (default), or a metric of output_feature's type
//   split           validation (default) | training | test: the split whose metric scores a trial
//   output_feature  combined (default: the summed loss; metric must be loss) or an output feature
//   parameters      dotted config paths to spaces (space.h). The first segment is a feature name
//                   (input or output; `title.encoder.embedding_size`) or a top-level section
//                   (`trainer.learning_rate`, `combiner.num_fc_layers`,
//                   `defaults.text.encoder.type`, `preprocessing.split.probabilities`).
//   search_alg      {type: variant_generator (default) | random | tpe | hyperopt, ...} (search.h)
//   executor        {type: ray (the only one; accepted for Ludwig configs, trials run as local
//                   child processes), num_samples (10, or 1 when a parameter is grid_search),
//                   max_concurrent_trials (auto: cores / cpu_resources_per_trial, at least 1),
//                   time_budget_s (3600), cpu_resources_per_trial (1),
//                   gpu_resources_per_trial (0)}
//   scheduler       {type: fifo (default) | async_hyperband | asha, ...} (scheduler.h)
//
// Each trial's model config is the user's config with the trial's values written at their paths
// (an object value is merged into an object at its path, anything else replaces it), and with
// trainer.validation_field / validation_metric set to output_feature / metric, as Ludwig does,
// so that the trainer's best epoch (early stopping, the kept weights) is hyperopt's best epoch.
//
// Errors are InvalidArgument naming `hyperopt.<key>` (or `hyperopt.parameters.<path>`) and the
// reason. A parameter whose path is not a config key at all (a typo) is an error up front, with
// the resolver's message; a value that is invalid only in combination with others fails its trial.
//
// Thread safety: pure functions over values.
#ifndef TRISTAGE_CORE_HYPEROPT_HYPEROPT_CONFIG_H_
#define TRISTAGE_CORE_HYPEROPT_HYPEROPT_CONFIG_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/hyperopt/space.h"
#include "nlohmann/json.hpp"

namespace tristage::hyperopt {

struct HyperoptSettings {
  nlohmann::json resolved;  // the section with every default filled in
  bool maximize = false;
  std::string metric;
  std::string split;
  std::string output_feature;
  std::vector<ParameterSpace> parameters;
  int64_t num_samples = 10;
  int64_t max_concurrent_trials = 1;
  double time_budget_s = 3600;
  int64_t cpu_resources_per_trial = 1;
  int64_t gpu_resources_per_trial = 0;
};

// `user_config` is the config as the user wrote it (its hyperopt section included). InvalidArgument
// when the section is missing, or as described above. `cores` is the machine's (for auto).
absl::StatusOr<HyperoptSettings> ResolveHyperopt(const nlohmann::json& user_config, int64_t cores);

// The user config of one trial: `parameters` ({path: value}) written in, the hyperopt section
// removed, the trainer's validation field and metric set. Not resolved: InvalidArgument naming the
// path when it cannot be written (e.g. through a non-object).
absl::StatusOr<nlohmann::json> TrialConfig(const nlohmann::json& user_config,
                                           const HyperoptSettings& settings,
                                           const nlohmann::json& parameters);

}  // namespace tristage::hyperopt

#endif  // TRISTAGE_CORE_HYPEROPT_HYPEROPT_CONFIG_H_
