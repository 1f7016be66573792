#include "core/model/combiners/blocks.h"

#include <cmath>

#include "absl/strings/str_cat.h"

namespace tristage::model {

std::string AddTorchLinear(torch::jit::Module& module, const std::string& tag, int64_t in,
                           int64_t out, bool bias, const std::string& x) {
  const double bound = 1.0 / std::sqrt(static_cast<double>(std::max<int64_t>(in, 1)));
  AddParameter(module, tag + "_w", torch::empty({out, in}).uniform_(-bound, bound));
  std::string b = "None";
  if (bias) {
    AddParameter(module, tag + "_b", torch::empty({out}).uniform_(-bound, bound));
    b = absl::StrCat("self.", tag, "_b");
  }
  return absl::StrCat("torch.linear(", x, ", self.", tag, "_w, ", b, ")");
}

namespace {

// Layer norm parameters as torch.nn.LayerNorm starts them; returns the expression on `x`.
std::string AddLayerNorm(torch::jit::Module& module, const std::string& tag, int64_t size,
                         const char* eps, const std::string& x) {
  AddParameter(module, tag + "_g", torch::ones({size}));
  AddParameter(module, tag + "_b", torch::zeros({size}));
  return absl::StrCat("torch.layer_norm(", x, ", [", size, "], self.", tag, "_g, self.", tag,
                      "_b, ", eps, ", False)");
}

}  // namespace

std::string AddTransformerStack(torch::jit::Module& module, const TransformerSpec& spec,
                                const std::string& var, const std::string& tag) {
  const int64_t h = spec.hidden_size;
  const int64_t heads = spec.num_heads;
  const int64_t d = h / heads;
  const std::string drop = FloatLiteral(spec.dropout);
  // Ludwig divides the scores by sqrt(dim_key) computed in float32.
  const std::string scale = FloatLiteral(std::sqrt(static_cast<float>(d)));
  std::string s = absl::StrCat("    ", tag, "_n = ", var, ".size(0)\n");
  for (int64_t i = 0; i < spec.num_layers; ++i) {
    const std::string p = absl::StrCat(tag, "_", i);
    const auto heads_of = [&](const std::string& which) {
      return absl::StrCat("    ", p, "_", which, " = torch.permute(torch.reshape(",
                          AddTorchLinear(module, p + "_" + which, h, h, true, var), ", [", tag,
                          "_n, -1, ", heads, ", ", d, "]), [0, 2, 1, 3])\n");
    };
    absl::StrAppend(&s, heads_of("q"), heads_of("k"), heads_of("v"));
    absl::StrAppend(&s, "    ", p, "_att = torch.softmax(torch.matmul(", p, "_q, torch.permute(", p,
                    "_k, [0, 1, 3, 2])) / ", scale, ", -1)\n");
    absl::StrAppend(&s, "    ", p, "_o = torch.reshape(torch.permute(torch.matmul(", p, "_att, ", p,
                    "_v), [0, 2, 1, 3]), [", tag, "_n, -1, ", h, "])\n");
    absl::StrAppend(&s, "    ", p, "_o = torch.dropout(",
                    AddTorchLinear(module, p + "_c", h, h, true, p + "_o"), ", ", drop,
                    ", self.training)\n");
    absl::StrAppend(&s, "    ", p,
                    "_ln1 = ", AddLayerNorm(module, p + "_ln1", h, "1e-06", var + " + " + p + "_o"),
                    "\n");
    const std::string ff1 = AddTorchLinear(module, p + "_ff1", h, spec.ff_size, true, p + "_ln1");
    absl::StrAppend(&s, "    ", p, "_f = torch.relu(", ff1, ")\n");
    absl::StrAppend(&s, "    ", p, "_f = torch.dropout(",
                    AddTorchLinear(module, p + "_ff2", spec.ff_size, h, true, p + "_f"), ", ", drop,
                    ", self.training)\n");
    absl::StrAppend(&s, "    ", var, " = ",
                    AddLayerNorm(module, p + "_ln2", h, "1e-06", p + "_ln1 + " + p + "_f"), "\n");
  }
  return s;
}

absl::StatusOr<std::string> AddSequenceReduction(torch::jit::Module& module, const std::string& how,
                                                 int64_t length, int64_t* width,
                                                 const std::string& var, const std::string& tag) {
  const std::string v = var;
  if (how == "sum") return absl::StrCat("    ", v, " = torch.sum(", v, ", 1)\n");
  if (how == "mean" || how == "avg") return absl::StrCat("    ", v, " = torch.mean(", v, ", 1)\n");
  // tristage's sqrtn (also offered by reduce_input): the sum over the square root of the number of
  // steps that are not all zeros.
  if (how == "sqrtn") {
    return absl::StrCat("    ", v, " = torch.sum(", v, ", 1) / torch.sqrt(torch.clamp(torch.sum(",
                        "torch.sign(torch.amax(torch.abs(", v, "), [2])), 1, True), 1.0))\n");
  }
  if (how == "max") return absl::StrCat("    ", v, " = torch.amax(", v, ", [1])\n");
  if (how == "concat") {
    const int64_t w = *width;
    *width = w * length;
    return absl::StrCat("    ", v, " = torch.reshape(", v, ", [-1, ", w * length, "])\n");
  }
  if (how == "last") {
    // Ludwig's ReduceLast: the last position whose vector is not all zeros.
    return absl::StrCat("    ", tag, "_len = torch.sum(torch.sign(torch.amax(torch.abs(", v,
                        "), [2])), 1).long()\n", "    ", v, " = ", v, "[torch.arange(", v,
                        ".size(0)), torch.clamp(", tag, "_len - 1, 0)]\n");
  }
  if (how == "attention") {
    // Ludwig's FeedForwardAttentionReducer: hidden 256, tanh, softmax over the sequence.
    const std::string score = AddTorchLinear(
        module, tag + "_a2", 256, 1, false,
        absl::StrCat("torch.tanh(", AddTorchLinear(module, tag + "_a1", *width, 256, true, v),
                     ")"));
    return absl::StrCat("    ", v, " = torch.sum(torch.softmax(", score, ", 1) * ", v, ", 1)\n");
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "reduce_output: '", how,
      "' is not supported (supported: sum, mean, avg, sqrtn, max, concat, last, attention)"));
}

}  // namespace tristage::model
