// Encoders for text and sequence inputs: embed, parallel_cnn and rnn.
// Input: int64 [batch, length] token ids, 0 = padding (the vocabulary's first symbol).
// Every encoder embeds the tokens, transforms them, then reduces over the sequence with
// `reduce_output` ignoring padding, and applies its optional fully connected stack
// (sequence_common.h).
#include "absl/strings/str_cat.h"
#include "core/model/embedding.h"
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

// Ludwig's default parallel convolutions: filter sizes 2, 3, 4 and 5.
absl::StatusOr<std::vector<int64_t>> FilterSizes(const json& params) {
  auto it = params.find("conv_layers");
  std::vector<int64_t> sizes;
  if (it != params.end() && it->is_array()) {
    TRISTAGE_ASSIGN_OR_RETURN(int64_t fallback, GetInt(params, "filter_size", 3));
    for (const json& layer : *it) {
      TRISTAGE_ASSIGN_OR_RETURN(int64_t size, GetInt(layer, "filter_size", fallback));
      sizes.push_back(size);
    }
    return sizes;
  }
  TRISTAGE_ASSIGN_OR_RETURN(int64_t count, GetInt(params, "num_conv_layers", 0));
  if (count <= 0) return std::vector<int64_t>{2, 3, 4, 5};
  TRISTAGE_ASSIGN_OR_RETURN(int64_t size, GetInt(params, "filter_size", 3));
  return std::vector<int64_t>(static_cast<size_t>(count), size);
}

absl::StatusOr<Built> ParallelCnn(const EncoderArgs& args) {
  const json& params = Section(args.feature, "encoder");
  Built built{args.builder.NewModule("ParallelCnnEncoder"), 0};
  int64_t dim = 0;
  TRISTAGE_ASSIGN_OR_RETURN(std::string source, EmbedTokens(args, built.module, &dim));
  TRISTAGE_ASSIGN_OR_RETURN(std::vector<int64_t> sizes, FilterSizes(params));
  TRISTAGE_ASSIGN_OR_RETURN(int64_t filters, GetInt(params, "num_filters", 256));
  TRISTAGE_ASSIGN_OR_RETURN(std::string activation, GetString(params, "activation", "relu"));
  absl::StrAppend(&source, "    c = h.transpose(1, 2)\n    convs: List[Tensor] = []\n");
  for (size_t i = 0; i < sizes.size(); ++i) {
    const int64_t k = sizes[i];
    if (k <= 0) return absl::InvalidArgumentError("encoder.conv_layers: filter_size must be > 0");
    torch::Tensor weight = torch::empty({filters, dim, k});
    TRISTAGE_RETURN_IF_ERROR(Initialize(weight, "xavier_uniform"));
    AddParameter(built.module, absl::StrCat("conv", i, "_w"), weight);
    AddParameter(built.module, absl::StrCat("conv", i, "_b"), torch::zeros({filters}));
    // Padding both sides keeps the output as long as the input, so the padding mask still aligns.
    const int64_t left = (k - 1) / 2;
    TRISTAGE_ASSIGN_OR_RETURN(
        std::string activated,
        ActivationExpression(
            activation,
            absl::StrCat("torch.conv1d(torch.constant_pad_nd(c, [", left, ", ", k - 1 - left,
                         "], 0.0), self.conv", i, "_w, self.conv", i, "_b)")));
    absl::StrAppend(&source, "    convs.append(", activated, ")\n");
  }
  absl::StrAppend(&source, "    h = torch.cat(convs, 1).transpose(1, 2)\n");
  const int64_t width = filters * static_cast<int64_t>(sizes.size());
  return Finish(args, std::move(built), std::move(source), width, "sum", 1, "parallel_cnn encoder");
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
