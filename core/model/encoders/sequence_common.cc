#include "core/model/encoders/sequence_common.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/model/embedding.h"
#include "core/model/fc_stack.h"
#include "core/model/params.h"
#include "core/util/status_macros.h"

namespace tristage::model {

using nlohmann::json;

absl::Status CheckWeightCount(const std::string& key, const std::vector<int64_t>& dims) {
  constexpr int64_t kMaxWeights = int64_t{1} << 26;
  int64_t count = 1;
  for (int64_t d : dims) {
    if (d <= 0) return absl::InvalidArgumentError(absl::StrCat(key, ": sizes must be positive"));
    if (count > kMaxWeights / d) {
      return absl::InvalidArgumentError(
          absl::StrCat(key, ": a weight of ", absl::StrJoin(dims, " x "),
                       " values is too large (at most ", kMaxWeights, " per tensor)"));
    }
    count *= d;
  }
  return absl::OkStatus();
}

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
  TRISTAGE_ASSIGN_OR_RETURN(int64_t vocab, VocabSize(args.metadata));
  TRISTAGE_ASSIGN_OR_RETURN(int64_t requested, GetInt(params, "embedding_size", 256));
  // The table is at most vocab wide (AddVocabularyEmbedding caps it).
  TRISTAGE_RETURN_IF_ERROR(
      CheckWeightCount("encoder.embedding_size", {vocab, std::min(requested, vocab)}));
  TRISTAGE_ASSIGN_OR_RETURN(*dim, AddVocabularyEmbedding(module, args, 256, "weights_initializer"));
  TRISTAGE_ASSIGN_OR_RETURN(std::string dropout, DropoutStatement(params, "h"));
  return "    x = x.long()\n"
         "    mask = torch.ne(x, 0).float().unsqueeze(-1)\n"
         "    h = torch.embedding(self.embeddings, x, 0, False, False)\n" +
         dropout;
}

absl::StatusOr<int64_t> SequenceLength(const EncoderArgs& args) {
  TRISTAGE_ASSIGN_OR_RETURN(int64_t length, GetInt(args.metadata, "max_sequence_length", 0));
  if (length <= 0) return absl::InvalidArgumentError("feature metadata has no max_sequence_length");
  return length;
}

absl::StatusOr<std::string> ReduceSequence(const std::string& how, int64_t length, int64_t* width) {
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
  if (how == "concat" || how == "none") {
    *width *= length;
    return std::string("    h = torch.flatten(h * mask, 1)\n");
  }
  return absl::InvalidArgumentError(
      absl::StrCat("encoder.reduce_output: '", how,
                   "' is not supported (supported: sum, mean, avg, sqrtn, max, last, "
                   "concat, null)"));
}

absl::StatusOr<std::string> ReduceOutputOf(const json& params, const std::string& default_reduce) {
  auto it = params.find("reduce_output");
  if (it != params.end() && it->is_null()) return std::string("none");
  return GetString(params, "reduce_output", default_reduce);
}

absl::StatusOr<Built> FinishSequenceEncoder(const EncoderArgs& args, Built built,
                                            std::string source, int64_t width, int64_t length,
                                            const FinishOptions& options, const char* what) {
  const json& params = Section(args.feature, "encoder");
  TRISTAGE_ASSIGN_OR_RETURN(std::string reduce, ReduceOutputOf(params, options.default_reduce));
  TRISTAGE_ASSIGN_OR_RETURN(std::string reduce_source, ReduceSequence(reduce, length, &width));
  json fc_params = params;
  fc_params.update(options.fc_overrides);
  if (!fc_params.contains("num_fc_layers") || fc_params["num_fc_layers"].is_null()) {
    fc_params["num_fc_layers"] = options.default_fc_layers;
  }
  TRISTAGE_ASSIGN_OR_RETURN(std::vector<FcLayerSpec> layers, FcLayersFromParams(fc_params, "", ""));
  if (reduce == "none" && !layers.empty()) {
    // Ludwig builds no fully connected stack for an unreduced sequence; a default stack (e.g.
    // stacked_cnn's 512, 256) is dropped as there, one the user asked for is refused.
    const bool asked = (params.contains("fc_layers") && params["fc_layers"].is_array() &&
                        !params["fc_layers"].empty()) ||
                       (params.contains("num_fc_layers") && params["num_fc_layers"].is_number() &&
                        params["num_fc_layers"].get<int64_t>() > 0);
    if (asked) {
      return absl::InvalidArgumentError(
          "encoder.num_fc_layers: an unreduced sequence (reduce_output: null) gets no fully "
          "connected layers (as in Ludwig); set reduce_output, or leave fc_layers and "
          "num_fc_layers out");
    }
    layers.clear();
  }
  int64_t input = width;
  for (const FcLayerSpec& layer : layers) {
    TRISTAGE_RETURN_IF_ERROR(CheckWeightCount("encoder.output_size", {layer.output_size, input}));
    input = layer.output_size;
  }
  TRISTAGE_ASSIGN_OR_RETURN(FcCode fc, AddFcStack(built.module, layers, width, "h", "fc"));
  built.output_size = fc.output_size;
  // Unreduced and without fc layers, the output is a flattened sequence the sequence_concat
  // combiner unflattens (registry.h, Built::sequence_length).
  if (reduce == "none" && layers.empty()) built.sequence_length = length;
  source = absl::StrCat("def forward(self, x: Tensor) -> Tensor:\n", source, reduce_source,
                        fc.statements, "    return h\n");
  TRISTAGE_RETURN_IF_ERROR(Define(built.module, source, what));
  return built;
}

absl::StatusOr<RecurrentSpec> RecurrentSpecFromParams(const json& params,
                                                      const std::string& layers_key) {
  RecurrentSpec spec;
  TRISTAGE_ASSIGN_OR_RETURN(spec.cell_type, GetString(params, "cell_type", "rnn"));
  TRISTAGE_ASSIGN_OR_RETURN(spec.num_layers, GetInt(params, layers_key, 1));
  TRISTAGE_ASSIGN_OR_RETURN(spec.state_size, GetInt(params, "state_size", 256));
  TRISTAGE_ASSIGN_OR_RETURN(spec.bidirectional, GetBool(params, "bidirectional", false));
  TRISTAGE_ASSIGN_OR_RETURN(spec.recurrent_dropout, GetDouble(params, "recurrent_dropout", 0.0));
  TRISTAGE_ASSIGN_OR_RETURN(spec.use_bias, GetBool(params, "use_bias", true));
  TRISTAGE_ASSIGN_OR_RETURN(spec.unit_forget_bias, GetBool(params, "unit_forget_bias", true));
  TRISTAGE_ASSIGN_OR_RETURN(spec.recurrent_initializer,
                            GetString(params, "recurrent_initializer", "orthogonal"));
  TRISTAGE_ASSIGN_OR_RETURN(spec.weights_initializer,
                            GetString(params, "weights_initializer", "xavier_uniform"));
  TRISTAGE_ASSIGN_OR_RETURN(spec.activation, GetString(params, "activation", "tanh"));
  if (spec.num_layers <= 0 || spec.state_size <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("encoder: ", layers_key, " and state_size must be positive"));
  }
  return spec;
}

absl::StatusOr<int64_t> AddRecurrentStack(torch::jit::Module& module, const RecurrentSpec& spec,
                                          int64_t input_size, std::string* source) {
  int64_t gates = 1;
  std::string op = spec.activation == "relu" ? "rnn_relu" : "rnn_tanh";
  if (spec.cell_type == "rnn" && spec.activation != "tanh" && spec.activation != "relu") {
    return absl::InvalidArgumentError(absl::StrCat("encoder.activation: '", spec.activation,
                                                   "' is not supported for cell_type rnn (tanh, "
                                                   "relu)"));
  }
  if (spec.cell_type == "lstm") {
    gates = 4;
    op = "lstm";
  } else if (spec.cell_type == "gru") {
    gates = 3;
    op = "gru";
  } else if (spec.cell_type != "rnn") {
    return absl::InvalidArgumentError(absl::StrCat(
        "encoder.cell_type: '", spec.cell_type, "' is not supported (supported: rnn, lstm, gru)"));
  }
  const int64_t state = spec.state_size;
  const int64_t directions = spec.bidirectional ? 2 : 1;
  std::string param_list;
  for (int64_t layer = 0; layer < spec.num_layers; ++layer) {
    const int64_t input = layer == 0 ? input_size : state * directions;
    TRISTAGE_RETURN_IF_ERROR(CheckWeightCount("encoder.state_size", {gates * state, input}));
    TRISTAGE_RETURN_IF_ERROR(CheckWeightCount("encoder.state_size", {gates * state, state}));
    for (int64_t d = 0; d < directions; ++d) {
      const std::string p = absl::StrCat("l", layer, d == 1 ? "_reverse" : "");
      torch::Tensor w_ih = torch::empty({gates * state, input});
      torch::Tensor w_hh = torch::empty({gates * state, state});
      TRISTAGE_RETURN_IF_ERROR(Initialize(w_ih, spec.weights_initializer));
      TRISTAGE_RETURN_IF_ERROR(Initialize(w_hh, spec.recurrent_initializer));
      AddParameter(module, "w_ih_" + p, w_ih);
      AddParameter(module, "w_hh_" + p, w_hh);
      absl::StrAppend(&param_list, param_list.empty() ? "" : ", ", "self.w_ih_", p, ", self.w_hh_",
                      p);
      if (!spec.use_bias) continue;
      torch::Tensor b_hh = torch::zeros({gates * state});
      // Ludwig's unit_forget_bias: the LSTM forget gate starts at 1.
      if (spec.cell_type == "lstm" && spec.unit_forget_bias) {
        b_hh.slice(0, state, 2 * state).fill_(1.0);
      }
      AddParameter(module, "b_ih_" + p, torch::zeros({gates * state}));
      AddParameter(module, "b_hh_" + p, b_hh);
      absl::StrAppend(&param_list, ", self.b_ih_", p, ", self.b_hh_", p);
    }
  }
  const std::string args_tail =
      absl::StrCat("[", param_list, "], ", spec.use_bias ? "True" : "False", ", ",
                   spec.num_layers, ", ", FloatLiteral(spec.recurrent_dropout), ", self.training, ",
                   spec.bidirectional ? "True" : "False", ", True)");
  absl::StrAppend(source, "    h0 = h.new_zeros([", spec.num_layers * directions, ", h.size(0), ",
                  state, "])\n");
  if (spec.cell_type == "lstm") {
    absl::StrAppend(source, "    h = torch.lstm(h, [h0, h0], ", args_tail, "[0]\n");
  } else {
    absl::StrAppend(source, "    h = torch.", op, "(h, h0, ", args_tail, "[0]\n");
  }
  return state * directions;
}

}  // namespace tristage::model
