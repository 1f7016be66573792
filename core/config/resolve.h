// Internal to core/config: the steps of ResolveConfig, one section each.
//
// Priority of values everywhere: what the user wrote at the place itself > the `defaults`
// section for the feature's type > built-in defaults. A component (encoder, decoder, loss) from
// `defaults.<type>` applies to a feature only when it names the same component type the feature
// ends up with; a defaults component without `type` stands for the type's default component, as
// Ludwig validates it. As in Ludwig, defaults.<type>.preprocessing and .encoder apply to input
// features only, .decoder and .loss to output features only.
#ifndef TRISTAGE_CORE_CONFIG_RESOLVE_H_
#define TRISTAGE_CORE_CONFIG_RESOLVE_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/config/params.h"
#include "core/config/schema.h"

namespace tristage::config {

// Where a component's user values come from: the value at `path` (absent when `value` is null).
struct ComponentSource {
  const Json* value = nullptr;
  std::string path;
};

// Resolves one component of `family` (the encoder of a feature, an optimizer, ...): picks the
// type (own > defaults > family default), fills that component's built-in defaults, then overlays
// the defaults section (when it names the same type) and the user's own values. `owner` names the
// feature type in messages ("unknown encoder 'cnn' for text"); empty for families without one.
// `allow_shorthand` accepts a bare type name ("encoder: rnn").
absl::StatusOr<Json> ResolveComponent(const ComponentFamily& family, absl::string_view owner,
                                      const ComponentSource& defaults, const ComponentSource& own,
                                      bool allow_shorthand);

// {type: name} for a bare name when allowed, the object itself, or {} for null.
absl::StatusOr<Json> NormalizeComponent(const ComponentFamily& family, const Json& value,
                                        const std::string& path, bool allow_shorthand);

// Validates the user's `defaults` section and returns it with component shorthands expanded,
// keeping only what the user wrote.
absl::StatusOr<Json> NormalizeUserDefaults(const Json* defaults);

// The resolved `defaults` section: for each of `types`, the effective preprocessing (input),
// encoder, and (output types) decoder and loss.
absl::StatusOr<Json> ResolveDefaultsSection(const Json& user_defaults,
                                            const std::vector<std::string>& types);

// Resolves `input_features` or `output_features` of `config`.
absl::StatusOr<Json> ResolveInputFeatures(const Json& config, const Json& user_defaults);
absl::StatusOr<Json> ResolveOutputFeatures(const Json& config, const Json& user_defaults);

// Errors on a feature name used twice across inputs and outputs, and on output dependencies that
// name no other output feature or form a cycle.
absl::Status CheckFeatureNames(const Json& inputs, const Json& outputs);
absl::Status CheckDependencies(const Json& outputs);

// Resolves `trainer`, including validation_field/validation_metric against the resolved outputs.
absl::StatusOr<Json> ResolveTrainer(const Json* trainer, const Json& outputs);

// Resolves the top-level `preprocessing` section.
absl::StatusOr<Json> ResolveGlobalPreprocessing(const Json* preprocessing);

// Resolves Ludwig's top-level `backend` section (resolve_backend.cc): null when absent, else
// {type: local} or {type: ray, trainer: {num_workers, strategy, use_gpu[, resources_per_worker]}}.
absl::StatusOr<Json> ResolveBackend(const Json* backend);

// The value at `key` of `object`, or nullptr when absent.
const Json* Find(const Json& object, absl::string_view key);

}  // namespace tristage::config

#endif  // TRISTAGE_CORE_CONFIG_RESOLVE_H_
