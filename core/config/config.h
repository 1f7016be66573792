// Model configuration: Ludwig's YAML/JSON config in, one fully resolved tree out.
//
// The resolved config is an nlohmann::json object with every default filled in, in Ludwig's shape
// (model_type, input_features, output_features, combiner, trainer, preprocessing, defaults,
// hyperopt, backend and ludwig_version when given). It is what `tristage render_config` prints
// and what a trained model stores as model_hyperparameters.json; the rest of core reads only
// resolved configs.
//
// Errors are InvalidArgument with the key path first, then the reason, and the valid choices or the
// closest valid key where there are some, e.g.
//  input_features[2].encoder.type: unknown encoder 'cnn' for text (known: embed, parallel_cnn, rnn)
//  trainer.learnig_rate: unknown key (did you mean 'learning_rate'?)
//  trainer.epochs: expected an integer, got "ten"
//
// Thread safety: pure functions over values.
#ifndef TRISTAGE_CORE_CONFIG_CONFIG_H_
#define TRISTAGE_CORE_CONFIG_CONFIG_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "nlohmann/json.hpp"

namespace tristage::config {

// Parses YAML or JSON text (YAML 1.2 is a superset of JSON). YAML scalars become typed JSON values:
// integers, floats (incl. 1e-3, .inf), true/false, null/~; everything else is a string; quoted
// scalars stay strings. InvalidArgument with the line and column of a syntax error.
// YAML 1.1 words (yes/no/on/off) stay strings, so a misplaced `yes` is a type error in
// ResolveConfig instead of a silent boolean. Merge keys (`<<: *anchor`) are applied; duplicate
// keys and more than one document are errors. Empty text (or only comments) parses to null.
absl::StatusOr<nlohmann::json> ParseConfigText(absl::string_view text);

// Reads and parses a file (NotFound naming the path when missing).
absl::StatusOr<nlohmann::json> LoadConfigFile(const std::string& path);

// Validates a user config and fills every default (Ludwig 0.8's, ECD model type).
//
// Priority: a value on the feature itself > `defaults.<type>` > built-in. A component (encoder,
// decoder, loss) from `defaults.<type>` applies to a feature only when it names the component type
// the feature ends up with; without `type` it stands for the type's default component. As in
// Ludwig, defaults.<type>.preprocessing/encoder apply to input features and .decoder/.loss to
// output features. Component shorthands (`encoder: rnn`) are expanded. trainer.validation_field
// defaults to the first output feature (or, when only validation_metric is given, to the one
// output feature that has that metric) and validation_metric to that feature type's default.
// The resolved `defaults` lists the effective defaults of every type used by a feature or named
// in the user's `defaults`. hyperopt is copied as given. `backend` (Ludwig's) maps onto
// data-parallel training: local, or ray with trainer.num_workers (docs/distributed.md); its other
// keys are refused by name.
//
// Resolving a resolved config returns it unchanged.
absl::StatusOr<nlohmann::json> ResolveConfig(const nlohmann::json& user_config);

// OK when `config` is already resolved, i.e. ResolveConfig returns it unchanged (as a stored
// model_hyperparameters.json must be); otherwise ResolveConfig's error, or InvalidArgument naming
// the first key that resolving would add or change.
absl::Status ValidateResolved(const nlohmann::json& config);

// Prints a resolved (or any) config as block-style YAML or as JSON (indent 2). Keys come in a
// canonical order: the top-level sections as listed above, elsewhere `name`, `type`, `column`
// first and the rest alphabetically. Strings are quoted whenever a YAML reader (this one, or a
// YAML 1.1 one such as PyYAML) would read them as something else, so
// ParseConfigText(RenderConfigYaml(x)) == x.
std::string RenderConfigYaml(const nlohmann::json& config);
std::string RenderConfigJson(const nlohmann::json& config);

// A warning to show when the config's ludwig_version is newer than the Ludwig release whose schema
// and defaults tristage follows (0.8), or not a version; empty otherwise.
std::string LudwigVersionNotice(const nlohmann::json& config);

// The config language's vocabulary, for error messages, CLI help and tests. Feature types come
// in canonical order; encoder and decoder names sorted; unknown feature types give an empty list.
const std::vector<std::string>& InputFeatureTypes();   // binary, number, category, set, bag, ...
const std::vector<std::string>& OutputFeatureTypes();  // binary, number, category, set, vector
const std::vector<std::string>& EncodersFor(absl::string_view feature_type);
const std::vector<std::string>& DecodersFor(absl::string_view feature_type);
const std::vector<std::string>& CombinerTypes();  // sorted: comparator, concat, ...

}  // namespace tristage::config

#endif  // TRISTAGE_CORE_CONFIG_CONFIG_H_
