// Fully connected stacks, as Ludwig's FCStack: each layer is linear -> norm -> activation ->
// dropout, configured either by an explicit `fc_layers` list or by `num_fc_layers` copies of the
// shared defaults. Used by the dense encoders, the concat combiner and the decoders.
// Internal to core/model; includes torch.
#ifndef TRISTAGE_CORE_MODEL_FC_STACK_H_
#define TRISTAGE_CORE_MODEL_FC_STACK_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/model/script.h"
#include "nlohmann/json.hpp"

namespace tristage::model {

struct FcLayerSpec {
  int64_t output_size = 256;
  std::string activation = "relu";  // relu, tanh, sigmoid, elu, leakyRelu, gelu, softplus, linear
  double dropout = 0.0;
  std::string norm;  // "", "batch" or "layer"
  bool use_bias = true;
  std::string weights_initializer = "xavier_uniform";
  std::string bias_initializer = "zeros";
};

// Reads layer specs from resolved params. `prefix` is "" (encoders, combiner: output_size,
// activation, ...) or "fc_" (decoders: fc_output_size, fc_activation, ...). `fc_layers`, when a
// list, gives one spec per entry (entries override the shared defaults); otherwise
// `num_fc_layers` (or `num_layers_key` when given and present) copies of the defaults.
absl::StatusOr<std::vector<FcLayerSpec>> FcLayersFromParams(const nlohmann::json& params,
                                                            const std::string& prefix,
                                                            const std::string& num_layers_key);

struct FcCode {
  std::string statements;  // TorchScript lines (4-space indented) that update `var` in place.
  int64_t output_size = 0;
};

// Registers the layers' parameters on `module` as <tag>_w<i>, <tag>_b<i>, ... and returns the code
// applying them to the Tensor variable `var` of size `input_size`. With `residual`, a layer whose
// input and output sizes match adds its input to its output (Ludwig's combiner residual).
absl::StatusOr<FcCode> AddFcStack(torch::jit::Module& module,
                                  const std::vector<FcLayerSpec>& layers, int64_t input_size,
                                  const std::string& var, const std::string& tag,
                                  bool residual = false);

// TorchScript expression applying a Ludwig activation name to `x`; InvalidArgument if unknown.
absl::StatusOr<std::string> ActivationExpression(const std::string& activation,
                                                 const std::string& x);

}  // namespace tristage::model

#endif  // TRISTAGE_CORE_MODEL_FC_STACK_H_
