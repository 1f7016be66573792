// Encoders for text and sequence inputs: embed, parallel_cnn and rnn.
// Input: int64 [batch, length] token ids, 0 = padding (the vocabulary's first symbol).
// Every encoder embeds the tokens, transforms them, then reduces over the sequence with
// `reduce_output` (sum, mean/avg, sqrtn, max, last, concat) ignoring padding, and applies its
// optional fully connected stack.
#include "absl/strings/str_cat.h"
#include "core/model/embedding.h"
#include "core/model/fc_stack.h"
#include "core/model/params.h"
#include "core/model/registry.h"
#include "core/util/status_macros.h"

namespace tristage::model {
namespace {

using nlohmann::json;

// Source that embeds `x` into h [batch, length, dim] and computes mask [batch, length, 1].
absl::StatusOr<std::string> EmbedTokens(const EncoderArgs& args, torch::jit::Module& module,
                                        int64_t* dim) {
  const json& params = Section(args.feature, "encoder");
  TRISTAGE_ASSIGN_OR_RETURN(std::string representation,
                            GetString(params, "representation", "dense"));
  if (representation != "dense") {
    return absl::InvalidArgumentError(
        absl::StrCat("encoder.representation: '", representation,
                     "' is not supported for text and sequence encoders yet (supported: dense)"));
  }
  TRISTAGE_ASSIGN_OR_RETURN(*dim, AddVocabularyEmbedding(module, args, 256, "weights_initializer"));
  TRISTAGE_ASSIGN_OR_RETURN(std::string dropout, DropoutStatement(params, "h"));
  std::string source =
      "    x = x.long()\n"
      "    mask = torch.ne(x, 0).float().unsqueeze(-1)\n"
      "    h = torch.embedding(self.embeddings, x, 0, False, False)\n" +
      dropout;
  return source;
}

// Source reducing h [batch, length, width] to [batch, width'] given mask; sets *width to width'.
absl::StatusOr<std::string> Reduce(const std::string& how, int64_t length, int64_t* width) {
  if (how == "sum") return std::string("    h = torch.sum(h * mask, 1)\n");
  if (how == "mean" || how == "avg") {
    return std::string("    h = torch.sum(h * mask, 1) / torch.clamp(torch.sum(mask, 1), 1.0)\n");
  }
  // The sum over the square root of the length, as TF-IDF rows normalized to unit length scale
  // (TensorFlow's "sqrtn" combiner): between mean (evidence independent of length) and sum.
  if (how == "sqrtn") {
    return std::string(
        "    h = torch.sum(h * mask, 1) / torch.sqrt(torch.clamp(torch.sum(mask, 1), 1.0))\n");
  }
  if (how == "max") {
    // Padding positions get a large negative value; an all-padding row reduces to 0.
    return std::string(
        "    h = torch.amax(h + (mask - 1.0) * 1e9, [1]) * torch.clamp(torch.sum(mask, 1), 0.0, "
        "1.0)\n");
  }
  if (how == "last") {
    return std::string(
        "    last = torch.clamp(torch.sum(mask, 1).squeeze(-1).long() - 1, 0)\n"
        "    h = h[torch.arange(h.size(0)), last]\n");
  }
  if (how == "concat") {
    *width *= length;
    return std::string("    h = torch.flatten(h * mask, 1)\n");
  }
  return absl::InvalidArgumentError(
      absl::StrCat("encoder.reduce_output: '", how,
                   "' is not supported (supported: sum, mean, avg, sqrtn, max, last, "
                   "concat)"));
}

// Finishes an encoder: reduction, fully connected stack, compile.
absl::StatusOr<Built> Finish(const EncoderArgs& args, Built built, std::string source,
                             int64_t width, const std::string& default_reduce,
                             int64_t default_fc_layers, const char* what,
                             const json* fc_overrides = nullptr) {
  const json& params = Section(args.feature, "encoder");
  TRISTAGE_ASSIGN_OR_RETURN(std::string reduce, GetString(params, "reduce_output", default_reduce));
  TRISTAGE_ASSIGN_OR_RETURN(int64_t length, GetInt(args.metadata, "max_sequence_length", 0));
  TRISTAGE_ASSIGN_OR_RETURN(std::string reduce_source, Reduce(reduce, length, &width));
  json fc_params = params;
  if (fc_overrides != nullptr) fc_params.update(*fc_overrides);
  if (!fc_params.contains("num_fc_layers") || fc_params["num_fc_layers"].is_null()) {
    fc_params["num_fc_layers"] = default_fc_layers;
  }
  TRISTAGE_ASSIGN_OR_RETURN(std::vector<FcLayerSpec> layers, FcLayersFromParams(fc_params, "", ""));
  TRISTAGE_ASSIGN_OR_RETURN(FcCode fc, AddFcStack(built.module, layers, width, "h", "fc"));
  built.output_size = fc.output_size;
  source = absl::StrCat("def forward(self, x: Tensor) -> Tensor:\n", source, reduce_source,
                        fc.statements, "    return h\n");
  TRISTAGE_RETURN_IF_ERROR(Define(built.module, source, what));
  return built;
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
  TRISTAGE_ASSIGN_OR_RETURN(std::string cell, GetString(params, "cell_type", "rnn"));
  TRISTAGE_ASSIGN_OR_RETURN(int64_t layers, GetInt(params, "num_layers", 1));
  TRISTAGE_ASSIGN_OR_RETURN(int64_t state, GetInt(params, "state_size", 256));
  TRISTAGE_ASSIGN_OR_RETURN(bool bidirectional, GetBool(params, "bidirectional", false));
  TRISTAGE_ASSIGN_OR_RETURN(double recurrent_dropout, GetDouble(params, "recurrent_dropout", 0.0));
  TRISTAGE_ASSIGN_OR_RETURN(bool use_bias, GetBool(params, "use_bias", true));
  TRISTAGE_ASSIGN_OR_RETURN(bool forget_bias, GetBool(params, "unit_forget_bias", true));
  TRISTAGE_ASSIGN_OR_RETURN(std::string recurrent_init,
                            GetString(params, "recurrent_initializer", "orthogonal"));
  TRISTAGE_ASSIGN_OR_RETURN(std::string weights_init,
                            GetString(params, "weights_initializer", "xavier_uniform"));
  TRISTAGE_ASSIGN_OR_RETURN(std::string activation, GetString(params, "activation", "tanh"));
  int64_t gates = 1;
  std::string op = activation == "relu" ? "rnn_relu" : "rnn_tanh";
  if (cell == "rnn" && activation != "tanh" && activation != "relu") {
    return absl::InvalidArgumentError(absl::StrCat(
        "encoder.activation: '", activation, "' is not supported for cell_type rnn (tanh, relu)"));
  }
  if (cell == "lstm") {
    gates = 4;
    op = "lstm";
  } else if (cell == "gru") {
    gates = 3;
    op = "gru";
  } else if (cell != "rnn") {
    return absl::InvalidArgumentError(absl::StrCat(
        "encoder.cell_type: '", cell, "' is not supported (supported: rnn, lstm, gru)"));
  }
  if (layers <= 0 || state <= 0) {
    return absl::InvalidArgumentError("encoder: num_layers and state_size must be positive");
  }
  const int64_t directions = bidirectional ? 2 : 1;
  std::string param_list;
  for (int64_t layer = 0; layer < layers; ++layer) {
    const int64_t input = layer == 0 ? dim : state * directions;
    for (int64_t d = 0; d < directions; ++d) {
      const std::string p = absl::StrCat("l", layer, d == 1 ? "_reverse" : "");
      torch::Tensor w_ih = torch::empty({gates * state, input});
      torch::Tensor w_hh = torch::empty({gates * state, state});
      TRISTAGE_RETURN_IF_ERROR(Initialize(w_ih, weights_init));
      TRISTAGE_RETURN_IF_ERROR(Initialize(w_hh, recurrent_init));
      AddParameter(built.module, "w_ih_" + p, w_ih);
      AddParameter(built.module, "w_hh_" + p, w_hh);
      absl::StrAppend(&param_list, param_list.empty() ? "" : ", ", "self.w_ih_", p, ", self.w_hh_",
                      p);
      if (!use_bias) continue;
      torch::Tensor b_hh = torch::zeros({gates * state});
      // Ludwig's unit_forget_bias: the LSTM forget gate starts at 1.
      if (cell == "lstm" && forget_bias) b_hh.slice(0, state, 2 * state).fill_(1.0);
      AddParameter(built.module, "b_ih_" + p, torch::zeros({gates * state}));
      AddParameter(built.module, "b_hh_" + p, b_hh);
      absl::StrAppend(&param_list, ", self.b_ih_", p, ", self.b_hh_", p);
    }
  }
  const std::string args_tail =
      absl::StrCat("[", param_list, "], ", use_bias ? "True" : "False", ", ", layers, ", ",
                   FloatLiteral(recurrent_dropout), ", self.training, ",
                   bidirectional ? "True" : "False", ", True)");
  absl::StrAppend(&source, "    h0 = h.new_zeros([", layers * directions, ", h.size(0), ", state,
                  "])\n");
  if (cell == "lstm") {
    absl::StrAppend(&source, "    h = torch.lstm(h, [h0, h0], ", args_tail, "[0]\n");
  } else {
    absl::StrAppend(&source, "    h = torch.", op, "(h, h0, ", args_tail, "[0]\n");
  }
  // The layers after the recurrence use fc_activation / fc_dropout; activation is the cell's.
  json fc_overrides = {{"activation", params.value("fc_activation", json("relu"))},
                       {"dropout", params.value("fc_dropout", json(0.0))}};
  return Finish(args, std::move(built), std::move(source), state * directions, "last", 0,
                "rnn encoder", &fc_overrides);
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
