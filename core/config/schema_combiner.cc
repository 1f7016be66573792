// Combiners, after Ludwig 0.10's ludwig/schema/combiners/*.py: the same keys and defaults. Sizes
// Ludwig leaves unbounded are bounded here (hidden and output sizes up to 4096, up to 32 layers or
// steps) so that a typo fails as a config error instead of exhausting memory; checks that involve
// two keys or the input features are in CheckCombiner.
#include <algorithm>

#include "absl/strings/str_cat.h"
#include "core/config/schema.h"

namespace tristage::config {
namespace {

constexpr int kMaxSize = 4096;
constexpr int kMaxLayers = 32;

Param Size(std::string name, Json default_value) {
  return Int(std::move(name), std::move(default_value)).InRange(1, kMaxSize);
}

Param Layers(std::string name, Json default_value, double lower) {
  return Int(std::move(name), std::move(default_value)).InRange(lower, kMaxLayers);
}

// Ludwig's ReductionOptions for combiners (its SequenceReducer; no sqrtn there).
Param CombinerReduction(Json default_value) {
  return Choice("reduce_output", std::move(default_value),
                {"sum", "mean", "avg", "max", "concat", "last", "attention", "none", "None"})
      .OrNull();
}

// Null, "add", or a positive number of units taken from hidden_size for the name embedding.
absl::StatusOr<Json> CheckEmbedName(const Json& value, const std::string& path) {
  if (value.is_null() || value == "add") return value;
  if (value.is_number_integer() && value.get<int64_t>() >= 1) return value;
  if (value.is_number_float() && value.get<double>() >= 1 &&
      value.get<double>() == static_cast<double>(static_cast<int64_t>(value.get<double>()))) {
    return Json(static_cast<int64_t>(value.get<double>()));
  }
  return TypeError(path, "null, \"add\" or a positive integer", value);
}

// Fully connected stack keys shared by concat, comparator and project_aggregate.
std::vector<Param> FcParams(Json num_fc_layers, double min_fc_layers, Json output_size) {
  return {Dropout(),
          Activation(),
          UseBias(),
          Initializer("bias_initializer", "zeros"),
          Initializer("weights_initializer", "xavier_uniform"),
          Norm(),
          NormParams(),
          Layers("num_fc_layers", std::move(num_fc_layers), min_fc_layers),
          Size("output_size", std::move(output_size)),
          FcLayers()};
}

// Concatenates the encoder outputs, then an optional fully connected stack. fc_layers entries
// keep only the keys the user gave; missing keys take the combiner-level value.
Component Concat() {
  return {"concat",
          {Dropout(), Activation(), Bool("flatten_inputs", false), Bool("residual", false),
           UseBias(), Initializer("bias_initializer", "zeros"),
           Initializer("weights_initializer", "xavier_uniform"), Norm(), NormParams(),
           Layers("num_fc_layers", 0, 0), Size("output_size", 256), FcLayers()}};
}

// ludwig/schema/combiners/tabnet.py.
Component TabNet() {
  return {"tabnet",
          {Size("size", 32), Dropout().WithDefault(0.05), Size("output_size", 128),
           Layers("num_steps", 3, 1), Layers("num_total_blocks", 4, 1),
           Layers("num_shared_blocks", 2, 0), Number("relaxation_factor", 1.5).AtLeast(0),
           Number("bn_epsilon", 1e-3).Above(0), Number("bn_momentum", 0.05).InRange(0, 1),
           Int("bn_virtual_bs", 1024).AtLeast(1).OrNull(), Number("sparsity", 1e-4).AtLeast(0),
           Choice("entmax_mode", "sparsemax", {"sparsemax", "entmax15", "constant", "adaptive"}),
           Number("entmax_alpha", 1.5).InRange(1, 2)}};
}

// ludwig/schema/combiners/common_transformer_options.py, plus each one's reduce_output.
std::vector<Param> TransformerParams(Json reduce_output) {
  return {Dropout().WithDefault(0.1),
          Size("transformer_output_size", 256),
          Size("hidden_size", 256),
          Layers("num_layers", 1, 1),
          Int("num_heads", 8).InRange(1, kMaxSize),
          UseBias(),
          Initializer("bias_initializer", "zeros"),
          Initializer("weights_initializer", "xavier_uniform"),
          Layers("num_fc_layers", 0, 0),
          Size("output_size", 256),
          Norm(),
          NormParams(),
          FcLayers(),
          Dropout("fc_dropout"),
          Activation("fc_activation"),
          Bool("fc_residual", false),
          CombinerReduction(std::move(reduce_output))};
}

Component Transformer() { return {"transformer", TransformerParams("mean")}; }

Component TabTransformer() {
  std::vector<Param> params = TransformerParams("concat");
  params.push_back(Custom("embed_input_feature_name", nullptr, CheckEmbedName));
  return {"tabtransformer", params};
}

// ludwig/schema/combiners/comparator.py: entity_1 and entity_2 are required.
Component Comparator() {
  std::vector<Param> params = FcParams(1, 1, 256);
  params.push_back(NameList("entity_1").WithDefault(nullptr).Required());
  params.push_back(NameList("entity_2").WithDefault(nullptr).Required());
  return {"comparator", params};
}

// ludwig/schema/combiners/project_aggregate.py.
Component ProjectAggregate() {
  std::vector<Param> params = FcParams(2, 0, 128);
  params.push_back(Size("projection_size", 128));
  params.push_back(Bool("residual", true));
  for (Param& param : params) {
    if (param.name == "norm") param = param.WithDefault("layer");
  }
  return {"project_aggregate", params};
}

// ludwig/schema/combiners/sequence_concat.py and sequence.py. sequence is refused by CheckCombiner
// (it runs an encoder over the concatenation), but its keys are known so that the refusal, not an
// unknown-key error, is what a Ludwig user sees.
Component SequenceConcat() {
  return {"sequence_concat",
          {String("main_sequence_feature", nullptr), CombinerReduction(nullptr)}};
}

Component Sequence() {
  return {"sequence",
          {String("main_sequence_feature", nullptr), Object("encoder"),
           CombinerReduction(nullptr)}};
}

std::string Path(const std::string& key) { return Child("combiner", key); }

absl::Status CheckComparatorEntities(const Json& combiner, const Json& input_features) {
  std::vector<std::string> names;
  for (const Json& feature : input_features) names.push_back(feature.value("name", ""));
  std::vector<std::string> seen;
  for (const char* entity : {"entity_1", "entity_2"}) {
    const Json& list = combiner.at(entity);
    if (list.empty()) {
      return ConfigError(Path(entity),
                         "must name at least one input feature (the comparator compares two "
                         "non-empty entities)");
    }
    for (size_t i = 0; i < list.size(); ++i) {
      const std::string name = list[i];
      if (std::find(names.begin(), names.end(), name) == names.end()) {
        return ConfigError(Index(Path(entity), i),
                           absl::StrCat("'", name, "' is not an input feature (known: ",
                                        JoinNames(names), ")"));
      }
      if (std::find(seen.begin(), seen.end(), name) != seen.end()) {
        return ConfigError(Index(Path(entity), i),
                           absl::StrCat("'", name,
                                        "' is already in an entity (each input feature belongs "
                                        "to exactly one of entity_1 and entity_2)"));
      }
      seen.push_back(name);
    }
  }
  for (const std::string& name : names) {
    if (std::find(seen.begin(), seen.end(), name) == seen.end()) {
      return ConfigError(Path("entity_1"),
                         absl::StrCat("input feature '", name,
                                      "' is in neither entity_1 nor entity_2 (the comparator "
                                      "needs every input feature in exactly one)"));
    }
  }
  if (combiner.at("fc_layers").is_array() && combiner.at("fc_layers").empty()) {
    return ConfigError(Path("fc_layers"), "the comparator needs at least one layer");
  }
  return absl::OkStatus();
}

absl::Status CheckTransformer(const Json& combiner, const std::string& type) {
  const int64_t hidden = combiner.at("hidden_size");
  const int64_t heads = combiner.at("num_heads");
  if (hidden % heads != 0) {
    return ConfigError(Path("num_heads"), absl::StrCat("must divide hidden_size (", hidden,
                                                       "), got ", heads));
  }
  const Json& reduce = combiner.at("reduce_output");
  if (reduce.is_null() || reduce == "none" || reduce == "None") {
    return ConfigError(Path("reduce_output"),
                       absl::StrCat("null keeps the ", type,
                                    " combiner's [batch, features, hidden] output for sequence "
                                    "decoders, which tristage does not have; choose one of sum, "
                                    "mean, avg, max, concat, last, attention"));
  }
  const Json& embed = combiner.value("embed_input_feature_name", Json());
  if (embed.is_number_integer() && embed.get<int64_t>() >= hidden) {
    return ConfigError(Path("embed_input_feature_name"),
                       absl::StrCat("must be smaller than hidden_size (", hidden, "), got ",
                                    embed.get<int64_t>()));
  }
  return absl::OkStatus();
}

absl::Status CheckTabNet(const Json& combiner) {
  if (combiner.at("num_shared_blocks").get<int64_t>() >
      combiner.at("num_total_blocks").get<int64_t>()) {
    return ConfigError(Path("num_shared_blocks"),
                       absl::StrCat("must be at most num_total_blocks (",
                                    combiner.at("num_total_blocks").get<int64_t>(), "), got ",
                                    combiner.at("num_shared_blocks").get<int64_t>()));
  }
  const std::string mode = combiner.at("entmax_mode");
  if (mode == "constant" || mode == "adaptive") {
    return ConfigError(Path("entmax_mode"),
                       absl::StrCat("'", mode,
                                    "' (entmax by bisection) is not supported yet; use sparsemax "
                                    "or entmax15"));
  }
  // Ludwig reads entmax_alpha only for the bisection modes refused above.
  if (combiner.at("entmax_alpha").get<double>() != 1.5) {
    return ConfigError(Path("entmax_alpha"),
                       "acts only with entmax_mode constant or adaptive, which are not supported "
                       "yet (leave it at 1.5)");
  }
  return absl::OkStatus();
}

// An input whose encoder keeps its sequence (Ludwig: reduce_output null).
bool KeepsSequence(const Json& feature) {
  const std::string type = feature.value("type", "");
  if (type != "text" && type != "sequence") return false;
  auto encoder = feature.find("encoder");
  if (encoder == feature.end() || !encoder->is_object()) return false;
  auto reduce = encoder->find("reduce_output");
  return reduce != encoder->end() && reduce->is_null();
}

absl::Status CheckSequenceConcat(const Json& combiner, const Json& input_features) {
  const Json& main = combiner.at("main_sequence_feature");
  for (const Json& feature : input_features) {
    if (main.is_null() ? KeepsSequence(feature) : feature.value("name", "") == main) {
      if (KeepsSequence(feature)) return absl::OkStatus();
      return ConfigError(Path("main_sequence_feature"),
                         absl::StrCat("'", main.get<std::string>(),
                                      "' must be a text or sequence input whose encoder has "
                                      "reduce_output: null"));
    }
  }
  if (!main.is_null()) {
    return ConfigError(Path("main_sequence_feature"),
                       absl::StrCat("'", main.get<std::string>(), "' is not an input feature"));
  }
  return ConfigError(Path("type"),
                     "sequence_concat needs a text or sequence input whose encoder has "
                     "reduce_output: null (its sequence sets the length; other inputs are "
                     "repeated along it)");
}

}  // namespace

const ComponentFamily& CombinerFamily() {
  static const auto* const kFamily = new ComponentFamily{
      "combiner",
      "concat",
      {Concat(), TabNet(), Transformer(), TabTransformer(), Comparator(), ProjectAggregate(),
       SequenceConcat(), Sequence()}};
  return *kFamily;
}

absl::Status CheckCombiner(const Json& combiner, const Json& input_features) {
  const std::string type = combiner.value("type", "concat");
  if (combiner.contains("norm_params") && !combiner["norm_params"].is_null()) {
    return ConfigError(Path("norm_params"),
                       "is not supported yet (the norms use torch's defaults; leave it null)");
  }
  if (type == "sequence") {
    return ConfigError(
        Path("type"),
        "'sequence' is not supported yet: it runs a sequence encoder over the concatenated "
        "unreduced encoder outputs, which tristage's encoders cannot take; use sequence_concat");
  }
  if (type == "sequence_concat") return CheckSequenceConcat(combiner, input_features);
  if (type == "comparator") return CheckComparatorEntities(combiner, input_features);
  if (type == "transformer" || type == "tabtransformer") return CheckTransformer(combiner, type);
  if (type == "tabnet") return CheckTabNet(combiner);
  return absl::OkStatus();
}

}  // namespace tristage::config
