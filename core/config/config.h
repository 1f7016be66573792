// Model configuration: Ludwig's YAML/JSON config in, one fully resolved tree out.
//
// The resolved config is an nlohmann::json object with every default filled in, in Ludwig's shape
// (model_type, input_features, output_features, combiner, trainer, preprocessing, defaults,
// hyperopt when given). It is what `tristage render_config` prints and what a trained model stores
// as model_hyperparameters.json; the rest of core reads only resolved configs.
//
// Errors are InvalidArgument with the key path first, then the reason, and the valid choices or the
// closest valid key where there are some, e.g.
//   input_features[2].encoder.type: unknown encoder 'cnn' for text (known: embed, parallel_cnn,
//   rnn) trainer.learnig_rate: unknown key (did you mean 'learning_rate'?) trainer.epochs: expected
//   an integer, got "ten"
//
// Thread safety: pure functions over values.
#ifndef TRISTAGE_CORE_CONFIG_CONFIG_H_
#define TRISTAGE_CORE_CONFIG_CONFIG_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "nlohmann/json.hpp"

namespace tristage::config {

// Parses YAML or JSON text (YAML 1.2 is a superset of JSON). YAML scalars become typed JSON values:
// integers, floats (incl. 1e-3, .inf), true/false, null/~; everything else is a string; quoted
// scalars stay strings. InvalidArgument with the line and column of a syntax error.
absl::StatusOr<nlohmann::json> ParseConfigText(absl::string_view text);

// Reads and parses a file (NotFound naming the path when missing).
absl::StatusOr<nlohmann::json> LoadConfigFile(const std::string& path);

// Validates a user config and fills every default. The result satisfies ValidateResolved.
absl::StatusOr<nlohmann::json> ResolveConfig(const nlohmann::json& user_config);

// Prints a resolved (or any) config as YAML (keys in the resolved order) or JSON (indent 2).
std::string RenderConfigYaml(const nlohmann::json& config);
std::string RenderConfigJson(const nlohmann::json& config);

// The config language's vocabulary, for error messages, CLI help and tests.
const std::vector<std::string>& InputFeatureTypes();   // binary, number, category, set, bag, ...
const std::vector<std::string>& OutputFeatureTypes();  // binary, number, category, set, vector
const std::vector<std::string>& EncodersFor(absl::string_view feature_type);
const std::vector<std::string>& DecodersFor(absl::string_view feature_type);

}  // namespace tristage::config

#endif  // TRISTAGE_CORE_CONFIG_CONFIG_H_
