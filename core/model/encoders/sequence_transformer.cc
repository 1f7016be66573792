// The transformer encoder for text and sequence inputs, after Ludwig's StackedTransformer: token
// plus learned position embeddings, a projection to hidden_size when the embedding width differs,
// num_layers post-norm blocks (multi-head self-attention, then a relu feed-forward of
// transformer_output_size, each with dropout, a residual and a layer norm with eps 1e-6), the
// reduction and the fully connected stack.
//
// Departure from Ludwig: attention ignores padding positions as keys (Ludwig computes the mask and
// never applies it, so a row's encoding changes with the padding the batch happens to need).
#include <cmath>

#include "absl/strings/str_cat.h"
#include "core/model/embedding.h"
#include "core/model/encoders/sequence_common.h"
#include "core/model/params.h"
#include "core/util/status_macros.h"

namespace tristage::model {
namespace {

using nlohmann::json;

// A [out, in] weight by `init` and a zero bias, as <name>_w and <name>_b; `key` is the size
// parameter named when the weight is too large.
absl::Status AddLinear(torch::jit::Module& module, const std::string& name, int64_t in,
                       int64_t out, const std::string& init, const char* key = "hidden_size") {
  TRISTAGE_RETURN_IF_ERROR(CheckWeightCount(absl::StrCat("encoder.", key), {out, in}));
  torch::Tensor w = torch::empty({out, in});
  TRISTAGE_RETURN_IF_ERROR(Initialize(w, init));
  AddParameter(module, name + "_w", w);
  AddParameter(module, name + "_b", torch::zeros({out}));
  return absl::OkStatus();
}

std::string Linear(const std::string& x, const std::string& name) {
  return absl::StrCat("torch.linear(", x, ", self.", name, "_w, self.", name, "_b)");
}

absl::StatusOr<Built> Transformer(const EncoderArgs& args) {
  const json& params = Section(args.feature, "encoder");
  TRISTAGE_ASSIGN_OR_RETURN(int64_t layers, GetInt(params, "num_layers", 1));
  TRISTAGE_ASSIGN_OR_RETURN(int64_t hidden, GetInt(params, "hidden_size", 256));
  TRISTAGE_ASSIGN_OR_RETURN(int64_t heads, GetInt(params, "num_heads", 8));
  TRISTAGE_ASSIGN_OR_RETURN(int64_t ff, GetInt(params, "transformer_output_size", 256));
  TRISTAGE_ASSIGN_OR_RETURN(double dropout, GetDouble(params, "dropout", 0.1));
  TRISTAGE_ASSIGN_OR_RETURN(std::string init,
                            GetString(params, "weights_initializer", "xavier_uniform"));
  if (layers <= 0 || hidden <= 0 || heads <= 0 || ff <= 0) {
    return absl::InvalidArgumentError(
        "encoder: num_layers, hidden_size, num_heads and transformer_output_size must be "
        "positive");
  }
  if (hidden % heads != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("encoder.num_heads: must divide hidden_size (", hidden, "), got ", heads));
  }
  TRISTAGE_ASSIGN_OR_RETURN(int64_t length, SequenceLength(args));
  Built built{args.builder.NewModule("TransformerEncoder"), 0};
  int64_t dim = 0;
  TRISTAGE_ASSIGN_OR_RETURN(std::string source, EmbedTokens(args, built.module, &dim));
  // Position embeddings as torch's nn.Embedding starts them: N(0, 1).
  TRISTAGE_RETURN_IF_ERROR(AddEmbedding(built.module, "positions", length, dim, "normal", true));
  // EmbedTokens applied dropout to the tokens; Ludwig adds positions after that dropout.
  absl::StrAppend(&source, "    h = h + self.positions[:h.size(1)].unsqueeze(0)\n");
  if (dim != hidden) {
    TRISTAGE_RETURN_IF_ERROR(AddLinear(built.module, "project", dim, hidden, init));
    absl::StrAppend(&source, "    h = ", Linear("h", "project"), "\n");
  }
  const int64_t head_size = hidden / heads;
  absl::StrAppend(&source, "    b = h.size(0)\n    n = h.size(1)\n",
                  "    key_bias = ((mask.squeeze(-1) - 1.0) * 1e9).unsqueeze(1).unsqueeze(1)\n");
  const std::string drop = FloatLiteral(dropout);
  for (int64_t i = 0; i < layers; ++i) {
    const std::string p = absl::StrCat("t", i);
    for (const char* part : {"_q", "_k", "_v", "_o"}) {
      TRISTAGE_RETURN_IF_ERROR(AddLinear(built.module, p + part, hidden, hidden, init));
    }
    TRISTAGE_RETURN_IF_ERROR(AddLinear(built.module, p + "_ff1", hidden, ff, init,
                                       "transformer_output_size"));
    TRISTAGE_RETURN_IF_ERROR(AddLinear(built.module, p + "_ff2", ff, hidden, init,
                                       "transformer_output_size"));
    for (const char* norm : {"_ln1", "_ln2"}) {
      AddParameter(built.module, p + norm + "_g", torch::ones({hidden}));
      AddParameter(built.module, p + norm + "_b", torch::zeros({hidden}));
    }
    const std::string split = absl::StrCat(".view([b, n, ", heads, ", ", head_size,
                                           "]).transpose(1, 2)\n");
    absl::StrAppend(
        &source, "    q = ", Linear("h", p + "_q"), split, "    k = ", Linear("h", p + "_k"), split,
        "    v = ", Linear("h", p + "_v"), split,
        "    s = torch.matmul(q, k.transpose(2, 3)) / ", FloatLiteral(std::sqrt(head_size)),
        " + key_bias\n",
        "    a = torch.matmul(torch.softmax(s, -1), v).transpose(1, 2).reshape([b, n, ", hidden,
        "])\n", "    a = torch.dropout(", Linear("a", p + "_o"), ", ", drop, ", self.training)\n",
        "    h = torch.layer_norm(h + a, [", hidden, "], self.", p, "_ln1_g, self.", p,
        "_ln1_b, 1e-06, False)\n", "    f = ", Linear(absl::StrCat("torch.relu(", Linear("h", p + "_ff1"), ")"), p + "_ff2"),
        "\n", "    f = torch.dropout(f, ", drop, ", self.training)\n",
        "    h = torch.layer_norm(h + f, [", hidden, "], self.", p, "_ln2_g, self.", p,
        "_ln2_b, 1e-06, False)\n");
  }
  json fc = {{"activation", params.value("fc_activation", json("relu"))},
             {"dropout", params.value("fc_dropout", json(0.0))}};
  return FinishSequenceEncoder(args, std::move(built), std::move(source), hidden, length,
                               {"last", 0, fc}, "transformer encoder");
}

const bool kRegistered = [] {
  for (const char* type : {"text", "sequence"}) RegisterEncoder(type, "transformer", Transformer);
  return true;
}();

}  // namespace
}  // namespace tristage::model
