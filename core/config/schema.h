// Internal to core/config: the config language as data. Each component kind keeps its table in
// one file (schema_features.cc, schema_encoders.cc, schema_decoders.cc, schema_combiner.cc,
// schema_trainer.cc, schema_preprocessing.cc); parameters shared between tables are built by the
// factories in schema_common.cc. Defaults follow Ludwig 0.8 (see each file for the exceptions).
//
// Adding an encoder is one entry in the encoder table of schema_encoders.cc (plus a test).
#ifndef TRISTAGE_CORE_CONFIG_SCHEMA_H_
#define TRISTAGE_CORE_CONFIG_SCHEMA_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "core/config/params.h"

namespace tristage::config {

// One member of a component family, selected by the `type` key: e.g. the `rnn` encoder.
struct Component {
  std::string type;
  std::vector<Param> params;  // every key except `type`
};

// Components that share a place in the config and are chosen by `type`: the encoders of one
// feature type, its decoders, its losses; optimizers; combiners; split types.
struct ComponentFamily {
  std::string noun;          // "encoder", "decoder", "loss", "optimizer", "combiner", "split type"
  std::string default_type;  // used when neither the user nor the defaults section names one
  std::vector<Component> members;

  const Component* Find(absl::string_view type) const;
  std::vector<std::string> Types() const;  // sorted
};

struct FeatureTypeSchema {
  std::string name;
  std::vector<Param> preprocessing;         // input features and defaults.<type>.preprocessing
  std::vector<Param> output_preprocessing;  // output features; empty for input-only types
  std::vector<Param> output_params;         // type-specific output keys (threshold, top_k)
  std::vector<std::string> metrics;         // valid trainer.validation_metric values
  std::string default_metric;               // trainer.validation_metric when not given

  bool can_be_output() const { return !output_preprocessing.empty(); }
};

// schema_features.cc
const std::vector<FeatureTypeSchema>& FeatureTypeSchemas();  // canonical order
const FeatureTypeSchema* FindFeatureType(absl::string_view name);
const std::vector<Param>& CommonOutputParams();  // reduce_input, dependencies, reduce_dependencies

// schema_encoders.cc; nullptr for types that cannot be inputs.
const ComponentFamily* EncoderFamily(absl::string_view feature_type);

// schema_decoders.cc; nullptr for types that cannot be outputs.
const ComponentFamily* DecoderFamily(absl::string_view feature_type);
const ComponentFamily* LossFamily(absl::string_view feature_type);

// schema_combiner.cc
const ComponentFamily& CombinerFamily();
// Checks of a resolved combiner section that involve several keys or the resolved input features
// (comparator entities, num_heads dividing hidden_size, refused values); errors name the key.
absl::Status CheckCombiner(const Json& combiner, const Json& input_features);

// schema_trainer.cc. TrainerParams holds the flat keys; optimizer, gradient_clipping,
// learning_rate_scheduler, validation_field and validation_metric are resolved separately.
const std::vector<Param>& TrainerParams();
const ComponentFamily& OptimizerFamily();
const std::vector<Param>& GradientClippingParams();
const std::vector<Param>& LearningRateSchedulerParams();

// schema_preprocessing.cc: the top-level `preprocessing` section (split resolved separately).
const std::vector<Param>& GlobalPreprocessingParams();
const ComponentFamily& SplitFamily();

// schema_common.cc: parameters and value checks shared by several tables.
Param Dropout(std::string name = "dropout");
Param Activation(std::string name = "activation", Json default_value = "relu");
Param Initializer(std::string name, Json default_value);
Param Norm(std::string name = "norm");
Param NormParams(std::string name = "norm_params");
Param UseBias(std::string name = "use_bias");
Param Reduction(std::string name, Json default_value);
Param FcLayers(std::string name = "fc_layers");
Param ConvLayers(std::string name = "conv_layers");
Param StackedConvLayers(std::string name = "stacked_layers");
Param Tokenizer(std::string default_value);
Param MissingValueStrategy(std::string default_value, std::vector<std::string> choices);
Param ClassWeights();
Param ClassSimilarities();
Param Betas();
Param Clip();
Param Probabilities();
Param BatchSize(std::string name, Json default_value, bool nullable);
Param BinaryFillValue();
Param VectorFillValue();
Param NameList(std::string name);  // list of strings, default []

// Copies of `params` with the defaults of the named params replaced, for tables that differ from
// another only in defaults (output preprocessing).
std::vector<Param> OverrideDefaults(std::vector<Param> params, const Json& defaults);

}  // namespace tristage::config

#endif  // TRISTAGE_CORE_CONFIG_SCHEMA_H_
