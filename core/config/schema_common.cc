// Parameters and value checks shared by several schema tables, with Ludwig 0.8's option lists:
// activations and initializers from ludwig/utils/torch_utils.py, reductions from
// ludwig/modules/reduction_modules.py, norms from ludwig/schema/combiners/concat.py.
#include <algorithm>
#include <cmath>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "core/config/schema.h"
#include "core/util/status_macros.h"

namespace tristage::config {
namespace {

const std::vector<std::string>& Initializers() {
  static const auto* const kNames =
      new std::vector<std::string>{"uniform",        "normal",
                                   "constant",       "ones",
                                   "zeros",          "eye",
                                   "dirac",          "xavier_uniform",
                                   "xavier_normal",  "kaiming_uniform",
                                   "kaiming_normal", "orthogonal",
                                   "sparse",         "identity"};
  return *kNames;
}

bool Contains(const std::vector<std::string>& names, absl::string_view name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

// Keys a layer dict in fc_layers may set; missing keys take the enclosing component's value.
const std::vector<Param>& FcLayerParams() {
  static const auto* const kParams =
      new std::vector<Param>{Int("output_size", nullptr).AtLeast(1),
                             Activation("activation", nullptr),
                             Dropout(),
                             Norm(),
                             NormParams(),
                             UseBias().WithDefault(nullptr),
                             Initializer("weights_initializer", nullptr),
                             Initializer("bias_initializer", nullptr)};
  return *kParams;
}

// Keys a layer dict in conv_layers or stacked_layers may set (Ludwig's Conv1DLayer), bounded as
// the encoder-level keys are (schema_encoders.cc).
const std::vector<Param>& ConvLayerParams() {
  static const auto* const kParams =
      new std::vector<Param>{Int("filter_size", nullptr).InRange(1, 1024),
                             Int("num_filters", nullptr).InRange(1, 16384),
                             Choice("pool_function", nullptr, {"max", "average", "avg", "mean"}),
                             Int("pool_size", nullptr).InRange(1, 1024),
                             Int("pool_strides", nullptr).InRange(1, 1024),
                             Choice("pool_padding", nullptr, {"valid", "same"}),
                             Int("strides", nullptr).InRange(1, 1024),
                             Choice("padding", nullptr, {"valid", "same"}),
                             Int("dilation_rate", nullptr).InRange(1, 1024),
                             Activation("activation", nullptr),
                             Dropout(),
                             Norm(),
                             NormParams(),
                             UseBias().WithDefault(nullptr),
                             Initializer("weights_initializer", nullptr),
                             Initializer("bias_initializer", nullptr)};
  return *kParams;
}

// A list of layer objects; each object keeps only the keys the user gave, checked against
// `layer_params`.
absl::StatusOr<Json> CheckLayerList(const std::vector<Param>& layer_params, const Json& value,
                                    const std::string& path) {
  if (!value.is_array()) return TypeError(path, "a list of objects or null", value);
  Json layers = Json::array();
  for (size_t i = 0; i < value.size(); ++i) {
    Json layer = Json::object();
    TRISTAGE_RETURN_IF_ERROR(OverlayParams(layer_params, value[i], Index(path, i), &layer));
    layers.push_back(std::move(layer));
  }
  return layers;
}

absl::StatusOr<Json> CheckFcLayers(const Json& value, const std::string& path) {
  return CheckLayerList(FcLayerParams(), value, path);
}

absl::StatusOr<Json> CheckConvLayers(const Json& value, const std::string& path) {
  return CheckLayerList(ConvLayerParams(), value, path);
}

// stacked_parallel_cnn's stacked_layers: a list of lists of conv layer objects.
absl::StatusOr<Json> CheckStackedConvLayers(const Json& value, const std::string& path) {
  if (!value.is_array()) return TypeError(path, "a list of lists of objects or null", value);
  Json stack = Json::array();
  for (size_t i = 0; i < value.size(); ++i) {
    const std::string entry_path = Index(path, i);
    if (!value[i].is_array() || value[i].empty()) {
      return TypeError(entry_path, "a non-empty list of layer objects", value[i]);
    }
    TRISTAGE_ASSIGN_OR_RETURN(Json layers, CheckLayerList(ConvLayerParams(), value[i], entry_path));
    stack.push_back(std::move(layers));
  }
  return stack;
}

// A name from the initializer registry, or {type: <name>, ...its arguments} as Ludwig allows.
absl::StatusOr<Json> CheckInitializer(const Json& value, const std::string& path) {
  const Json* name = &value;
  std::string name_path = path;
  if (value.is_object()) {
    if (!value.contains("type")) return ConfigError(path, "missing required key 'type'");
    name = &value["type"];
    name_path = Child(path, "type");
  }
  if (name->is_string() && Contains(Initializers(), name->get_ref<const std::string&>())) {
    return value;
  }
  if (!name->is_string() && name == &value) {
    return TypeError(path, "an initializer name or an object with a 'type'", value);
  }
  return ConfigError(name_path, absl::StrCat("unknown initializer ", Describe(*name),
                                             " (known: ", JoinNames(Initializers()), ")"));
}

// A list of numbers, each checked against `element` (whose name is only used for messages).
absl::StatusOr<Json> CheckNumberList(const Param& element, const Json& value,
                                     const std::string& path) {
  if (!value.is_array()) return TypeError(path, "a list of numbers", value);
  Json numbers = Json::array();
  for (size_t i = 0; i < value.size(); ++i) {
    TRISTAGE_ASSIGN_OR_RETURN(Json number, CheckParam(element, value[i], Index(path, i)));
    numbers.push_back(std::move(number));
  }
  return numbers;
}

absl::StatusOr<Json> CheckClassWeights(const Json& value, const std::string& path) {
  const Param weight = Number("weight", 1.0).AtLeast(0);
  if (value.is_array()) return CheckNumberList(weight, value, path);
  if (!value.is_object()) {
    return TypeError(path, "a list of weights, an object of class: weight, or null", value);
  }
  Json weights = Json::object();
  for (const auto& [label, number] : value.items()) {
    TRISTAGE_ASSIGN_OR_RETURN(weights[label], CheckParam(weight, number, Child(path, label)));
  }
  return weights;
}

// A c x c matrix of similarities between classes.
absl::StatusOr<Json> CheckClassSimilarities(const Json& value, const std::string& path) {
  if (!value.is_array()) return TypeError(path, "a list of lists of numbers or null", value);
  const Param similarity = Number("similarity", 0.0);
  Json rows = Json::array();
  for (size_t i = 0; i < value.size(); ++i) {
    TRISTAGE_ASSIGN_OR_RETURN(Json row, CheckNumberList(similarity, value[i], Index(path, i)));
    if (row.size() != value.size()) {
      return ConfigError(path, absl::StrCat("must be a square matrix, but row ", i, " has ",
                                            row.size(), " values for ", value.size(), " rows"));
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

absl::StatusOr<Json> CheckBetas(const Json& value, const std::string& path) {
  if (!value.is_array() || value.size() != 2) {
    return TypeError(path, "a list of 2 numbers", value);
  }
  return CheckNumberList(Number("beta", 0.9).InRange(0, 1, /*upper_open=*/true), value, path);
}

absl::StatusOr<Json> CheckClip(const Json& value, const std::string& path) {
  if (!value.is_array() || value.size() != 2) {
    return TypeError(path, "a list of 2 numbers [min, max] or null", value);
  }
  TRISTAGE_ASSIGN_OR_RETURN(Json bounds, CheckNumberList(Number("bound", 0.0), value, path));
  if (bounds[0].get<double>() > bounds[1].get<double>()) {
    return ConfigError(path, absl::StrCat("min must be <= max, got ", Describe(value)));
  }
  return bounds;
}

// [train, validation, test]: non-negative and summing to 1, within the tolerance data/split.h uses.
absl::StatusOr<Json> CheckProbabilities(const Json& value, const std::string& path) {
  if (!value.is_array() || value.size() != 3) {
    return TypeError(path, "a list of 3 numbers [train, validation, test]", value);
  }
  TRISTAGE_ASSIGN_OR_RETURN(Json probabilities,
                            CheckNumberList(Number("probability", 0.0).AtLeast(0), value, path));
  double sum = 0;
  for (const Json& probability : probabilities) sum += probability.get<double>();
  if (std::fabs(sum - 1.0) > 1e-6) {
    return ConfigError(path,
                       absl::StrCat("must sum to 1, got ", Describe(value), " (sum ", sum, ")"));
  }
  return probabilities;
}

absl::StatusOr<Json> CheckBatchSize(const Json& value, const std::string& path, bool nullable) {
  if (value.is_string() && value.get_ref<const std::string&>() == "auto") return value;
  if (value.is_number()) {
    auto checked = CheckParam(Int("batch_size", 1).AtLeast(1), value, path);
    if (checked.ok()) return checked;
  }
  return TypeError(
      path, nullable ? "a positive integer, \"auto\" or null" : "a positive integer or \"auto\"",
      value);
}

absl::StatusOr<Json> CheckBatchSizeNotNull(const Json& value, const std::string& path) {
  return CheckBatchSize(value, path, /*nullable=*/false);
}

absl::StatusOr<Json> CheckBatchSizeOrNull(const Json& value, const std::string& path) {
  return CheckBatchSize(value, path, /*nullable=*/true);
}

// Ludwig's strings_utils bool strings; any letter case.
bool IsBooleanString(absl::string_view text) {
  static const auto* const kStrings = new std::vector<std::string>{
      "yes", "y", "true", "t", "1", "1.0", "no", "n", "false", "f", "0", "0.0", "-1", "-1.0"};
  return Contains(*kStrings, absl::AsciiStrToLower(text));
}

absl::StatusOr<Json> CheckBinaryFillValue(const Json& value, const std::string& path) {
  if (value.is_boolean()) return value;
  if (value.is_number()) return CheckParam(Number("fill_value", 0.0).InRange(0, 1), value, path);
  if (value.is_string() && IsBooleanString(value.get_ref<const std::string&>())) return value;
  return TypeError(
      path, "a boolean, a number in [0, 1], a boolean string (true, yes, 1, ...) or null", value);
}

// Whitespace-separated numbers, the textual vector format of Ludwig's vector features.
absl::StatusOr<Json> CheckVectorFillValue(const Json& value, const std::string& path) {
  if (!value.is_string()) return TypeError(path, "a string of space-separated numbers", value);
  for (absl::string_view token : absl::StrSplit(value.get_ref<const std::string&>(),
                                                absl::ByAnyChar(" \t\n"), absl::SkipEmpty())) {
    double unused = 0;
    if (!absl::SimpleAtod(token, &unused)) {
      return TypeError(path, "a string of space-separated numbers", value);
    }
  }
  return value;
}

absl::StatusOr<Json> CheckNameList(const Json& value, const std::string& path) {
  if (!value.is_array()) return TypeError(path, "a list of feature names", value);
  for (size_t i = 0; i < value.size(); ++i) {
    if (!value[i].is_string()) return TypeError(Index(path, i), "a feature name", value[i]);
  }
  return value;
}

}  // namespace

const Component* ComponentFamily::Find(absl::string_view type) const {
  for (const Component& member : members) {
    if (member.type == type) return &member;
  }
  return nullptr;
}

std::vector<std::string> ComponentFamily::Types() const {
  std::vector<std::string> types;
  for (const Component& member : members) types.push_back(member.type);
  std::sort(types.begin(), types.end());
  return types;
}

Param Dropout(std::string name) {
  // Ludwig allows 1.0, which drops everything; [0, 1) rejects that mistake.
  return Number(std::move(name), 0.0).InRange(0, 1, /*upper_open=*/true);
}

Param Activation(std::string name, Json default_value) {
  // null is the identity, as in Ludwig's activation registry.
  return Choice(std::move(name), std::move(default_value),
                {"elu", "leakyRelu", "logSigmoid", "relu", "sigmoid", "tanh", "softmax"})
      .OrNull();
}

Param Initializer(std::string name, Json default_value) {
  return Custom(std::move(name), std::move(default_value), CheckInitializer);
}

Param Norm(std::string name) {
  return Choice(std::move(name), nullptr, {"batch", "layer"});
}

Param NormParams(std::string name) {
  return Object(std::move(name));
}

Param UseBias(std::string name) {
  return Bool(std::move(name), true);
}

Param Reduction(std::string name, Json default_value) {
  return Choice(std::move(name), std::move(default_value),
                {"sum", "mean", "avg", "sqrtn", "max", "concat", "last", "attention"})
      .OrNull();
}

Param FcLayers(std::string name) {
  return Custom(std::move(name), nullptr, CheckFcLayers);
}

Param ConvLayers(std::string name) {
  return Custom(std::move(name), nullptr, CheckConvLayers);
}

Param StackedConvLayers(std::string name) {
  return Custom(std::move(name), nullptr, CheckStackedConvLayers);
}

Param Tokenizer(std::string default_value) {
  return Choice("tokenizer", std::move(default_value),
                {"space", "space_punct", "characters", "comma", "underscore"});
}

Param MissingValueStrategy(std::string default_value, std::vector<std::string> choices) {
  return Choice("missing_value_strategy", std::move(default_value), std::move(choices));
}

Param ClassWeights() {
  return Custom("class_weights", nullptr, CheckClassWeights);
}

Param ClassSimilarities() {
  return Custom("class_similarities", nullptr, CheckClassSimilarities);
}

Param Betas() {
  return Custom("betas", Json::array({0.9, 0.999}), CheckBetas);
}

Param Clip() {
  return Custom("clip", nullptr, CheckClip);
}

Param Probabilities() {
  return Custom("probabilities", Json::array({0.7, 0.1, 0.2}), CheckProbabilities);
}

Param BatchSize(std::string name, Json default_value, bool nullable) {
  return Custom(std::move(name), std::move(default_value),
                nullable ? CheckBatchSizeOrNull : CheckBatchSizeNotNull);
}

Param BinaryFillValue() {
  return Custom("fill_value", nullptr, CheckBinaryFillValue);
}

Param VectorFillValue() {
  return Custom("fill_value", "", CheckVectorFillValue);
}

Param NameList(std::string name) {
  return Custom(std::move(name), Json::array(), CheckNameList);
}

std::vector<Param> OverrideDefaults(std::vector<Param> params, const Json& defaults) {
  for (Param& param : params) {
    if (defaults.contains(param.name)) param.default_value = defaults[param.name];
  }
  return params;
}

}  // namespace tristage::config
