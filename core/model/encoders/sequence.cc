// Encoders for text and sequence inputs: embed, parallel_cnn and rnn.
// Input: int64 [batch, length] token ids, 0 = padding (the vocabulary's first symbol).
// Every encoder embeds the tokens, transforms them, then reduces over the sequence with
// `reduce_output` ignoring padding, and applies its optional fully connected stack
// (sequence_common.h).
#include "absl/strings/str_cat.h"
#include "core/model/embedding.h"
#include "core/model/encoders/conv_stack.h"
#include "core/model/encoders/sequence_common.h"
#include "core/model/fc_stack.h"
#include "core/model/params.h"
#include "core/model/registry.h"
#include "core/util/status_macros.h"

namespace tristage::model {
namespace {

using nlohmann::json;

// Finishes an encoder on the feature's full sequence length.
absl::StatusOr<Built> Finish(const EncoderArgs& args, Built built, std::string source,
                             int64_t width, const std::string& default_reduce,
                             int64_t default_fc_layers, const char* what,
                             json fc_overrides = json::object()) {
  TRISTAGE_ASSIGN_OR_RETURN(int64_t length, SequenceLength(args));
  FinishOptions options{default_reduce, default_fc_layers, std::move(fc_overrides)};
  return FinishSequenceEncoder(args, std::move(built), std::move(source), width, length, options,
                               what);
}

absl::StatusOr<Built> Embed(const EncoderArgs& args) {
  Built built{args.builder.NewModule("SequenceEmbedEncoder"), 0};
  int64_t dim = 0;
  TRISTAGE_ASSIGN_OR_RETURN(std::string source, EmbedTokens(args, built.module, &dim));
  return Finish(args, std::move(built), std::move(source), dim, "sum", 0, "sequence embed encoder");
}

// Ludwig's ParallelConv1D layers: conv_layers, or num_conv_layers copies of the encoder-level
// defaults, or four layers of filter sizes 2, 3, 4 and 5.
absl::StatusOr<std::vector<json>> ParallelLayers(const json& params) {
  auto it = params.find("conv_layers");
  if (it != params.end() && it->is_array() && !it->empty()) {
    return std::vector<json>(it->begin(), it->end());
  }
  TRISTAGE_ASSIGN_OR_RETURN(int64_t count, GetInt(params, "num_conv_layers", 0));
  if (count > 0) return std::vector<json>(static_cast<size_t>(count), json::object());
  std::vector<json> layers;
  for (int size : {2, 3, 4, 5}) layers.push_back({{"filter_size", size}});
  return layers;
}

// Each parallel layer is Ludwig's Conv1DLayer (conv_stack.h): the encoder's num_filters,
// filter_size, activation, dropout, norm, initializers and pooling, overridden per layer.
absl::StatusOr<Built> ParallelCnn(const EncoderArgs& args) {
  const json& params = Section(args.feature, "encoder");
  Built built{args.builder.NewModule("ParallelCnnEncoder"), 0};
  int64_t channels = 0;
  TRISTAGE_ASSIGN_OR_RETURN(std::string source, EmbedTokens(args, built.module, &channels));
  TRISTAGE_ASSIGN_OR_RETURN(int64_t length, SequenceLength(args));
  TRISTAGE_ASSIGN_OR_RETURN(std::vector<json> layers, ParallelLayers(params));
  TRISTAGE_RETURN_IF_ERROR(CheckLayerCount("encoder.conv_layers", layers.size()));
  json defaults = params;
  defaults["pool_padding"] = "valid";  // ParallelConv1D's default
  std::vector<ConvLayerSpec> specs;
  for (size_t j = 0; j < layers.size(); ++j) {
    TRISTAGE_ASSIGN_OR_RETURN(
        ConvLayerSpec spec,
        ConvLayerFrom(defaults, layers[j], true, absl::StrCat("encoder.conv_layers[", j, "]")));
    specs.push_back(spec);
  }
  absl::StrAppend(&source, "    c = h.transpose(1, 2)\n    m = mask.transpose(1, 2)\n");
  TRISTAGE_RETURN_IF_ERROR(
      AddConvLayers(built.module, specs, "conv", "encoder.conv_layers", &channels, &length,
                    &source));
  absl::StrAppend(&source, "    h = c.transpose(1, 2)\n    mask = m.transpose(1, 2)\n");
  FinishOptions options{"sum", 1, json::object()};
  return FinishSequenceEncoder(args, std::move(built), std::move(source), channels, length,
                               options, "parallel_cnn encoder");
}

absl::StatusOr<Built> Rnn(const EncoderArgs& args) {
  const json& params = Section(args.feature, "encoder");
  Built built{args.builder.NewModule("RnnEncoder"), 0};
  int64_t dim = 0;
  TRISTAGE_ASSIGN_OR_RETURN(std::string source, EmbedTokens(args, built.module, &dim));
  TRISTAGE_ASSIGN_OR_RETURN(RecurrentSpec spec, RecurrentSpecFromParams(params, "num_layers"));
  TRISTAGE_ASSIGN_OR_RETURN(int64_t width, AddRecurrentStack(built.module, spec, dim, &source));
  // The layers after the recurrence use fc_activation / fc_dropout; activation is the cell's.
  json fc_overrides = {{"activation", params.value("fc_activation", json("relu"))},
                       {"dropout", params.value("fc_dropout", json(0.0))}};
  return Finish(args, std::move(built), std::move(source), width, "last", 0, "rnn encoder",
                std::move(fc_overrides));
}

const bool kRegistered = [] {
  for (const char* type : {"text", "sequence"}) {
    RegisterEncoder(type, "embed", Embed);
    RegisterEncoder(type, "parallel_cnn", ParallelCnn);
    RegisterEncoder(type, "rnn", Rnn);
  }
  return true;
}();

}  // namespace
}  // namespace tristage::model
