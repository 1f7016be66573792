// The tabnet combiner, as Ludwig's TabNetCombiner (ludwig/modules/tabnet_modules.py, after Arik and
// Pfister 2019): the concatenated encodings are batch-normalized, then num_steps decision steps
// each pick features with an attentive transformer (ghost batch norm, prior scales relaxed by
// relaxation_factor, sparsemax or entmax15) and transform the masked features with a feature
// transformer (GLU blocks, the first num_shared_blocks linear layers shared by all steps); the
// ReLU'd decision outputs are summed and projected, then dropout. The mask entropy times
// `sparsity` is the combiner's own training loss (forward_with_loss).
#include <cmath>

#include "absl/strings/str_cat.h"
#include "core/model/combiners/blocks.h"
#include "core/model/params.h"
#include "core/model/registry.h"
#include "core/util/status_macros.h"

namespace tristage::model {
namespace {

using nlohmann::json;

struct TabNetSpec {
  int64_t input = 0, size = 32, output = 128, steps = 3, total_blocks = 4, shared_blocks = 2;
  double relaxation = 1.5, bn_epsilon = 1e-3, bn_momentum = 0.05, sparsity = 1e-4, dropout = 0.05;
  int64_t virtual_bs = 0;  // 0: plain batch norm
  std::string entmax = "sparsemax";
};

absl::StatusOr<TabNetSpec> SpecFrom(const CombinerArgs& args) {
  const json& c = args.combiner;
  TabNetSpec s;
  for (int64_t size : args.input_sizes) s.input += size;
  TRISTAGE_ASSIGN_OR_RETURN(s.size, GetInt(c, "size", 32));
  TRISTAGE_ASSIGN_OR_RETURN(s.output, GetInt(c, "output_size", 128));
  TRISTAGE_ASSIGN_OR_RETURN(s.steps, GetInt(c, "num_steps", 3));
  TRISTAGE_ASSIGN_OR_RETURN(s.total_blocks, GetInt(c, "num_total_blocks", 4));
  TRISTAGE_ASSIGN_OR_RETURN(s.shared_blocks, GetInt(c, "num_shared_blocks", 2));
  TRISTAGE_ASSIGN_OR_RETURN(s.relaxation, GetDouble(c, "relaxation_factor", 1.5));
  TRISTAGE_ASSIGN_OR_RETURN(s.bn_epsilon, GetDouble(c, "bn_epsilon", 1e-3));
  TRISTAGE_ASSIGN_OR_RETURN(s.bn_momentum, GetDouble(c, "bn_momentum", 0.05));
  TRISTAGE_ASSIGN_OR_RETURN(s.sparsity, GetDouble(c, "sparsity", 1e-4));
  TRISTAGE_ASSIGN_OR_RETURN(s.dropout, GetDouble(c, "dropout", 0.05));
  TRISTAGE_ASSIGN_OR_RETURN(s.virtual_bs, GetInt(c, "bn_virtual_bs", 0));
  TRISTAGE_ASSIGN_OR_RETURN(s.entmax, GetString(c, "entmax_mode", "sparsemax"));
  // Ludwig reads entmax_alpha only in the bisection modes (constant, adaptive), refused by the
  // config; a stored config that sets it is refused here too rather than ignored.
  TRISTAGE_ASSIGN_OR_RETURN(double alpha, GetDouble(c, "entmax_alpha", 1.5));
  if (alpha != 1.5) {
    return absl::InvalidArgumentError(
        "entmax_alpha acts only with entmax_mode constant or adaptive");
  }
  if (s.entmax != "sparsemax" && s.entmax != "entmax15") {
    return absl::InvalidArgumentError(
        absl::StrCat("entmax_mode '", s.entmax, "' is not supported (sparsemax, entmax15)"));
  }
  if (s.shared_blocks > s.total_blocks || s.total_blocks < 1 || s.steps < 1) {
    return absl::InvalidArgumentError("num_shared_blocks must be at most num_total_blocks");
  }
  return s;
}

// Batch norm parameters and running statistics <tag>_{g,b,m,v} of width `size`; returns the call
// of the ghost batch norm method on `x`.
std::string AddNorm(torch::jit::Module& module, const std::string& tag, int64_t size,
                    const std::string& x, bool ghost = true) {
  AddParameter(module, tag + "_g", torch::ones({size}));
  AddParameter(module, tag + "_b", torch::zeros({size}));
  AddBuffer(module, tag + "_m", torch::zeros({size}));
  AddBuffer(module, tag + "_v", torch::ones({size}));
  return absl::StrCat(ghost ? "self.gbn(" : "self.bn(", x, ", self.", tag, "_g, self.", tag,
                      "_b, self.", tag, "_m, self.", tag, "_v)");
}

// Methods shared by every block: ghost batch norm (Ludwig's GhostBatchNormalization: in training,
// chunks of bn_virtual_bs rows normalized apart, a chunk of one row left as it is, a batch of one
// row normalized with the running statistics), the input's plain batch norm (the same for a batch
// of one row), and the sparse attention map.
std::string Helpers(const TabNetSpec& s) {
  const std::string mom = FloatLiteral(s.bn_momentum);
  const std::string eps = FloatLiteral(s.bn_epsilon);
  std::string src = absl::StrCat(
      "def bn(self, x: Tensor, g: Tensor, b: Tensor, m: Tensor, v: Tensor) -> Tensor:\n"
      "    train = self.training and x.size(0) != 1\n"
      "    return torch.batch_norm(x, g, b, m, v, train, ",
      mom, ", ", eps,
      ", False)\n\n"
      "def gbn(self, x: Tensor, g: Tensor, b: Tensor, m: Tensor, v: Tensor) -> Tensor:\n"
      "    n = x.size(0)\n"
      "    if self.training and n == 1:\n",
      s.virtual_bs > 0 ? absl::StrCat("        return torch.batch_norm(x, g, b, m, v, False, ", mom,
                                      ", ", eps, ", False)\n")
                       : std::string("        return x\n"));
  if (s.virtual_bs > 0) {
    absl::StrAppend(&src,
                    "    if self.training:\n"
                    "        outs: List[Tensor] = []\n"
                    "        for part in torch.chunk(x, (n + ",
                    s.virtual_bs - 1, ") // ", s.virtual_bs,
                    ", 0):\n"
                    "            if part.size(0) > 1:\n"
                    "                outs.append(torch.batch_norm(part, g, b, m, v, True, ",
                    mom, ", ", eps,
                    ", False))\n"
                    "            else:\n"
                    "                outs.append(part)\n"
                    "        return torch.cat(outs, 0)\n");
  }
  absl::StrAppend(&src, "    return torch.batch_norm(x, g, b, m, v, self.training, ", mom, ", ",
                  eps, ", False)\n\n");
  // Sparse maps in closed form over the sorted values (autograd through it gives their Jacobians).
  absl::StrAppend(&src,
                  "def attend(self, z: Tensor) -> Tensor:\n"
                  "    rho = torch.arange(1, z.size(1) + 1).to(z.device).to(z.dtype)\n");
  if (s.entmax == "sparsemax") {
    absl::StrAppend(&src,
                    "    srt, _ = torch.sort(z, 1, True)\n"
                    "    cs = torch.cumsum(srt, 1) - 1.0\n"
                    "    k = torch.sum((rho * srt > cs).long(), 1, keepdim=True)\n"
                    "    tau = torch.gather(cs, 1, k - 1) / k.to(z.dtype)\n"
                    "    return torch.clamp(z - tau, 0.0)\n");
  } else {
    absl::StrAppend(
        &src,
        "    z = z / 2.0\n"
        "    z = z - torch.amax(z, [1], True)\n"
        "    srt, _ = torch.sort(z, 1, True)\n"
        "    mean = torch.cumsum(srt, 1) / rho\n"
        "    mean_sq = torch.cumsum(srt * srt, 1) / rho\n"
        "    delta = (1.0 - rho * (mean_sq - mean * mean)) / rho\n"
        "    tau = mean - torch.sqrt(torch.clamp(delta, 0.0))\n"
        "    k = torch.sum((tau <= srt).long(), 1, keepdim=True)\n"
        "    mk = torch.gather(mean, 1, k - 1)\n"
        "    dk = (1.0 - k.to(z.dtype) * (torch.gather(mean_sq, 1, k - 1) - mk * mk)) / "
        "k.to(z.dtype)\n"
        "    tau_k = mk - torch.sqrt(torch.clamp(dk, 0.0))\n"
        "    p = torch.clamp(z - tau_k, 0.0)\n"
        "    return p * p\n");
  }
  return src + "\n";
}

absl::StatusOr<Built> TabNet(const CombinerArgs& args) {
  TRISTAGE_ASSIGN_OR_RETURN(TabNetSpec s, SpecFrom(args));
  Built built{args.builder.NewModule("TabNetCombiner"), s.output, s.sparsity > 0};
  torch::jit::Module& m = built.module;
  const int64_t width = s.size + s.output;  // a feature transformer's output
  std::string body = absl::StrCat("    f = torch.cat(xs, 1)\n    f = ",
                                  AddNorm(m, "in_bn", s.input, "f", /*ghost=*/false), "\n");
  // The shared linear layers of the feature transformers' first blocks (no bias, torch init).
  for (int64_t n = 0; n < s.shared_blocks; ++n) {
    AddTorchLinear(m, absl::StrCat("sh_", n), n == 0 ? s.input : width, 2 * width, false, "");
  }
  const auto feature_transformer = [&](int64_t t, const std::string& in) {
    std::string code;
    for (int64_t n = 0; n < s.total_blocks; ++n) {
      const std::string tag = absl::StrCat("ft", t, "_", n);
      const std::string weight = n < s.shared_blocks ? absl::StrCat("self.sh_", n, "_w")
                                                     : absl::StrCat("self.", tag, "_w");
      if (n >= s.shared_blocks) {
        AddTorchLinear(m, tag, n == 0 ? s.input : width, 2 * width, false, "");
      }
      const std::string block =
          absl::StrCat("torch.glu(",
                       AddNorm(m, tag, 2 * width,
                               absl::StrCat("torch.linear(", n == 0 ? in : "x", ", ", weight, ")")),
                       ", -1)");
      absl::StrAppend(&code, n == 0 ? absl::StrCat("    x = ", block, "\n")
                                    : absl::StrCat("    x = (", block, " + x) * ",
                                                   FloatLiteral(std::sqrt(0.5)), "\n"));
    }
    return code;
  };
  absl::StrAppend(&body, feature_transformer(0, "f"),
                  "    prior = torch.ones_like(f)\n"
                  "    acc = torch.zeros([f.size(0), ",
                  s.output,
                  "])\n"
                  "    entropy = torch.zeros([])\n");
  for (int64_t t = 1; t <= s.steps; ++t) {
    const std::string at = absl::StrCat("at", t);
    AddTorchLinear(m, at, s.size, s.input, false, "");
    absl::StrAppend(&body, "    mask = self.attend(",
                    AddNorm(m, at, s.input,
                            absl::StrCat("torch.linear(x[:, ", s.output, ":], self.", at, "_w)")),
                    " * prior)\n", "    prior = prior * (", FloatLiteral(s.relaxation),
                    " - mask)\n");
    if (s.sparsity > 0) {
      absl::StrAppend(&body,
                      "    entropy = entropy + torch.mean(torch.sum(-mask * torch.log(mask + "
                      "1e-05), 1)) / ",
                      s.steps, ".0\n");
    }
    absl::StrAppend(&body, feature_transformer(t, "mask * f"),
                    "    acc = acc + torch.relu(x[:, :", s.output, "])\n");
  }
  absl::StrAppend(&body, "    out = torch.dropout(",
                  AddTorchLinear(m, "final", s.output, s.output, true, "acc"), ", ",
                  FloatLiteral(s.dropout), ", self.training)\n");
  std::string source = Helpers(s) +
                       "def forward_with_loss(self, xs: List[Tensor]) -> Tuple[Tensor, Tensor]:\n" +
                       body + "    return out, entropy * " + FloatLiteral(s.sparsity) + "\n\n" +
                       "def forward(self, xs: List[Tensor]) -> Tensor:\n"
                       "    out, loss = self.forward_with_loss(xs)\n"
                       "    return out\n";
  TRISTAGE_RETURN_IF_ERROR(Define(m, source, "tabnet combiner"));
  return built;
}

const bool kRegistered = RegisterCombiner("tabnet", TabNet);

}  // namespace
}  // namespace tristage::model
