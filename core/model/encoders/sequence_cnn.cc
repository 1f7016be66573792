// Convolutional encoders for text and sequence inputs, after Ludwig's StackedCNN,
// StackedParallelCNN and StackedCNNRNN: embed the tokens, apply stacked 1-d convolution layers
// (conv_stack.h; cnnrnn then a recurrent stack), reduce over the (possibly pooled) sequence and
// apply the fully connected stack. Layer lists and their defaults are Ludwig's.
#include "absl/strings/str_cat.h"
#include "core/model/encoders/conv_stack.h"
#include "core/model/encoders/sequence_common.h"
#include "core/model/params.h"
#include "core/util/status_macros.h"

namespace tristage::model {
namespace {

using nlohmann::json;

bool Given(const json& params, const char* key) {
  auto it = params.find(key);
  return it != params.end() && !it->is_null();
}

// Ludwig's layer lists: `list_key` (a list of layer objects) or `count_key` copies of the
// encoder-level defaults, never both; neither means `default_layers`.
absl::StatusOr<json> LayerList(const json& params, const char* list_key, const char* count_key,
                               const json& default_layers) {
  if (Given(params, list_key) && Given(params, count_key)) {
    return absl::InvalidArgumentError(absl::StrCat("encoder.", list_key, ": give either ", list_key,
                                                   " or ", count_key, ", not both"));
  }
  if (Given(params, list_key)) return params.at(list_key);
  if (!Given(params, count_key)) return default_layers;
  TRISTAGE_ASSIGN_OR_RETURN(int64_t count, GetInt(params, count_key, 1));
  // Each copy sets pool_size explicitly, so every stacked layer pools (Ludwig's Conv1DStack).
  json layer = {{"pool_size", params.value("pool_size", json())}};
  return json(std::vector<json>(static_cast<size_t>(count), layer));
}

// Ludwig's default fc_layers for the CNN encoders when neither fc_layers nor num_fc_layers is set.
absl::StatusOr<json> CnnFcOverrides(const json& params) {
  if (Given(params, "fc_layers") && Given(params, "num_fc_layers")) {
    return absl::InvalidArgumentError(
        "encoder.fc_layers: give either fc_layers or num_fc_layers, not both");
  }
  if (Given(params, "fc_layers") || Given(params, "num_fc_layers")) return json::object();
  return json{{"fc_layers", json::array({{{"output_size", 512}}, {{"output_size", 256}}})}};
}

// Embeds and runs the stack of conv layers (each entry of `stack` a list of side-by-side layers)
// given as layer objects over `defaults`. Leaves h [batch, length, channels] and mask.
absl::StatusOr<std::string> EmbedAndConvolve(const EncoderArgs& args, torch::jit::Module& module,
                                             const json& defaults,
                                             const std::vector<std::vector<json>>& stack,
                                             const char* list_key, bool parallel_layers,
                                             int64_t* channels, int64_t* length) {
  TRISTAGE_RETURN_IF_ERROR(CheckLayerCount(absl::StrCat("encoder.", list_key), stack.size()));
  for (size_t i = 0; i < stack.size(); ++i) {
    TRISTAGE_RETURN_IF_ERROR(
        CheckLayerCount(absl::StrCat("encoder.", list_key, "[", i, "]"), stack[i].size()));
  }
  TRISTAGE_ASSIGN_OR_RETURN(std::string source, EmbedTokens(args, module, channels));
  TRISTAGE_ASSIGN_OR_RETURN(*length, SequenceLength(args));
  absl::StrAppend(&source, "    c = h.transpose(1, 2)\n    m = mask.transpose(1, 2)\n");
  for (size_t i = 0; i < stack.size(); ++i) {
    const std::string path = absl::StrCat("encoder.", list_key, "[", i, "]");
    std::vector<ConvLayerSpec> specs;
    for (size_t j = 0; j < stack[i].size(); ++j) {
      const bool default_pool = !parallel_layers || i + 1 == stack.size();
      TRISTAGE_ASSIGN_OR_RETURN(
          ConvLayerSpec spec,
          ConvLayerFrom(defaults, stack[i][j], default_pool,
                        parallel_layers ? absl::StrCat(path, "[", j, "]") : path));
      specs.push_back(spec);
    }
    TRISTAGE_RETURN_IF_ERROR(
        AddConvLayers(module, specs, absl::StrCat("conv", i), path, channels, length, &source));
  }
  absl::StrAppend(&source, "    h = c.transpose(1, 2)\n    mask = m.transpose(1, 2)\n");
  return source;
}

std::vector<std::vector<json>> OnePerStep(const json& layers) {
  std::vector<std::vector<json>> stack;
  for (const json& layer : layers) stack.push_back({layer});
  return stack;
}

absl::StatusOr<Built> StackedCnn(const EncoderArgs& args) {
  const json& params = Section(args.feature, "encoder");
  static const json kDefaultLayers = json::parse(
      R"([{"filter_size": 7, "pool_size": 3}, {"filter_size": 7, "pool_size": 3},
          {"filter_size": 3, "pool_size": null}, {"filter_size": 3, "pool_size": null},
          {"filter_size": 3, "pool_size": null}, {"filter_size": 3, "pool_size": 3}])");
  TRISTAGE_ASSIGN_OR_RETURN(json layers,
                            LayerList(params, "conv_layers", "num_conv_layers", kDefaultLayers));
  Built built{args.builder.NewModule("StackedCnnEncoder"), 0};
  int64_t channels = 0;
  int64_t length = 0;
  TRISTAGE_ASSIGN_OR_RETURN(std::string source,
                            EmbedAndConvolve(args, built.module, params, OnePerStep(layers),
                                             "conv_layers", false, &channels, &length));
  TRISTAGE_ASSIGN_OR_RETURN(json fc, CnnFcOverrides(params));
  return FinishSequenceEncoder(args, std::move(built), std::move(source), channels, length,
                               {"sum", 0, fc}, "stacked_cnn encoder");
}

absl::StatusOr<Built> StackedParallelCnn(const EncoderArgs& args) {
  const json& params = Section(args.feature, "encoder");
  std::vector<std::vector<json>> stack;
  if (Given(params, "stacked_layers") && Given(params, "num_stacked_layers")) {
    return absl::InvalidArgumentError(
        "encoder.stacked_layers: give either stacked_layers or num_stacked_layers, not both");
  }
  const json four = json::parse(
      R"([{"filter_size": 2}, {"filter_size": 3}, {"filter_size": 4}, {"filter_size": 5}])");
  if (Given(params, "stacked_layers")) {
    for (const json& parallel : params.at("stacked_layers")) {
      stack.emplace_back(parallel.begin(), parallel.end());
    }
  } else {
    // Ludwig builds three stacked layers of four parallel filters (2, 3, 4, 5) when the list is
    // not given; num_stacked_layers sets how many (Ludwig 0.8 ignores it there: a bug).
    TRISTAGE_ASSIGN_OR_RETURN(int64_t count, GetInt(params, "num_stacked_layers", 3));
    if (params.value("num_stacked_layers", json()).is_null()) count = 3;
    for (int64_t i = 0; i < count; ++i) stack.emplace_back(four.begin(), four.end());
  }
  for (size_t i = 0; i < stack.size(); ++i) {
    if (stack[i].empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("encoder.stacked_layers[", i, "]: needs at least one layer"));
    }
  }
  Built built{args.builder.NewModule("StackedParallelCnnEncoder"), 0};
  int64_t channels = 0;
  int64_t length = 0;
  TRISTAGE_ASSIGN_OR_RETURN(std::string source,
                            EmbedAndConvolve(args, built.module, params, stack, "stacked_layers",
                                             true, &channels, &length));
  TRISTAGE_ASSIGN_OR_RETURN(json fc, CnnFcOverrides(params));
  return FinishSequenceEncoder(args, std::move(built), std::move(source), channels, length,
                               {"sum", 0, fc}, "stacked_parallel_cnn encoder");
}

absl::StatusOr<Built> CnnRnn(const EncoderArgs& args) {
  const json& params = Section(args.feature, "encoder");
  static const json kDefaultLayers = json::parse(R"([{"pool_size": 3}, {"pool_size": null}])");
  TRISTAGE_ASSIGN_OR_RETURN(json layers,
                            LayerList(params, "conv_layers", "num_conv_layers", kDefaultLayers));
  // The convolutions use conv_activation and conv_dropout; activation is the recurrent cell's.
  json conv_defaults = params;
  conv_defaults["activation"] = params.value("conv_activation", json("relu"));
  conv_defaults["dropout"] = params.value("conv_dropout", json(0.0));
  if (!Given(params, "filter_size")) conv_defaults["filter_size"] = 5;
  Built built{args.builder.NewModule("CnnRnnEncoder"), 0};
  int64_t channels = 0;
  int64_t length = 0;
  TRISTAGE_ASSIGN_OR_RETURN(std::string source,
                            EmbedAndConvolve(args, built.module, conv_defaults, OnePerStep(layers),
                                             "conv_layers", false, &channels, &length));
  TRISTAGE_ASSIGN_OR_RETURN(RecurrentSpec spec, RecurrentSpecFromParams(params, "num_rec_layers"));
  TRISTAGE_ASSIGN_OR_RETURN(int64_t width,
                            AddRecurrentStack(built.module, spec, channels, &source));
  json fc = {{"activation", params.value("fc_activation", json("relu"))},
             {"dropout", params.value("fc_dropout", json(0.0))}};
  return FinishSequenceEncoder(args, std::move(built), std::move(source), width, length,
                               {"last", 0, fc}, "cnnrnn encoder");
}

const bool kRegistered = [] {
  for (const char* type : {"text", "sequence"}) {
    RegisterEncoder(type, "stacked_cnn", StackedCnn);
    RegisterEncoder(type, "stacked_parallel_cnn", StackedParallelCnn);
    RegisterEncoder(type, "cnnrnn", CnnRnn);
  }
  return true;
}();

}  // namespace
}  // namespace tristage::model
