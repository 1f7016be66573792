// Pieces shared by the combiners beyond concat, as TorchScript source plus registered parameters:
// torch.nn.Linear as Ludwig's projectors use it, Ludwig's TransformerStack and its SequenceReducer.
// Each Add* registers parameters on `module` under `tag` and returns statements (4-space indented)
// that update a Tensor variable in place. Internal to core/model/combiners; includes torch.
#ifndef TRISTAGE_CORE_MODEL_COMBINERS_BLOCKS_H_
#define TRISTAGE_CORE_MODEL_COMBINERS_BLOCKS_H_

#include <string>

#include "absl/status/statusor.h"
#include "core/model/script.h"

namespace tristage::model {

// torch.nn.Linear(in, out, bias) with torch's default initialization (weight and bias uniform in
// +-1/sqrt(in)), registered as <tag>_w and <tag>_b. Returns the expression applying it to `x`.
std::string AddTorchLinear(torch::jit::Module& module, const std::string& tag, int64_t in,
                           int64_t out, bool bias, const std::string& x);

struct TransformerSpec {
  int64_t hidden_size = 256;  // also the input width
  int64_t num_heads = 8;      // divides hidden_size
  int64_t ff_size = 256;      // Ludwig's transformer_output_size
  int64_t num_layers = 1;
  double dropout = 0.1;
};

// Ludwig's TransformerStack on `var` [batch, length, hidden]: per layer, multi-head self-attention,
// dropout, residual + layer norm (eps 1e-6), then linear-relu-linear, dropout, residual + norm.
std::string AddTransformerStack(torch::jit::Module& module, const TransformerSpec& spec,
                                const std::string& var, const std::string& tag);

// Ludwig's SequenceReducer (no mask) from `var` [batch, length, width] to [batch, width'], with
// *width updated (concat: length * width); sum, mean/avg, max, concat, last, attention, and
// tristage's sqrtn. InvalidArgument naming the mode for others.
absl::StatusOr<std::string> AddSequenceReduction(torch::jit::Module& module, const std::string& how,
                                                 int64_t length, int64_t* width,
                                                 const std::string& var, const std::string& tag);

}  // namespace tristage::model

#endif  // TRISTAGE_CORE_MODEL_COMBINERS_BLOCKS_H_
