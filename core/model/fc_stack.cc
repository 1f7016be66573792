#include "core/model/fc_stack.h"

#include "absl/strings/str_cat.h"
#include "core/util/status_macros.h"

namespace tristage::model {
namespace {

using nlohmann::json;

// The value of `key` in `params` when present and not null.
const json* Get(const json& params, const std::string& key) {
  auto it = params.find(key);
  return it == params.end() || it->is_null() ? nullptr : &*it;
}

FcLayerSpec ApplyOverrides(FcLayerSpec spec, const json& params, const std::string& prefix) {
  if (const json* v = Get(params, prefix + "output_size")) spec.output_size = v->get<int64_t>();
  if (const json* v = Get(params, prefix + "activation")) spec.activation = v->get<std::string>();
  if (const json* v = Get(params, prefix + "dropout")) spec.dropout = v->get<double>();
  if (params.contains(prefix + "norm")) {
    const json* v = Get(params, prefix + "norm");
    spec.norm = v == nullptr ? "" : v->get<std::string>();
  }
  if (const json* v = Get(params, prefix + "use_bias")) spec.use_bias = v->get<bool>();
  if (const json* v = Get(params, prefix + "weights_initializer")) {
    spec.weights_initializer = v->get<std::string>();
  }
  if (const json* v = Get(params, prefix + "bias_initializer")) {
    spec.bias_initializer = v->get<std::string>();
  }
  return spec;
}

}  // namespace

absl::StatusOr<std::vector<FcLayerSpec>> FcLayersFromParams(const json& params,
                                                            const std::string& prefix,
                                                            const std::string& num_layers_key) {
  std::vector<FcLayerSpec> layers;
  try {
    const FcLayerSpec shared = ApplyOverrides(FcLayerSpec{}, params, prefix);
    if (const json* list = Get(params, "fc_layers"); list != nullptr && list->is_array()) {
      for (const json& entry : *list) layers.push_back(ApplyOverrides(shared, entry, ""));
      return layers;
    }
    int64_t count = 0;
    if (const json* v = Get(params, num_layers_key); v != nullptr && !num_layers_key.empty()) {
      count = v->get<int64_t>();
    } else if (const json* n = Get(params, "num_fc_layers")) {
      count = n->get<int64_t>();
    }
    layers.assign(static_cast<size_t>(std::max<int64_t>(count, 0)), shared);
  } catch (const json::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("fully connected layer parameters: ", e.what()));
  }
  return layers;
}

absl::StatusOr<std::string> ActivationExpression(const std::string& activation,
                                                 const std::string& x) {
  if (activation == "relu") return absl::StrCat("torch.relu(", x, ")");
  if (activation == "tanh") return absl::StrCat("torch.tanh(", x, ")");
  if (activation == "sigmoid") return absl::StrCat("torch.sigmoid(", x, ")");
  if (activation == "elu") return absl::StrCat("torch.elu(", x, ")");
  if (activation == "leakyRelu" || activation == "leaky_relu") {
    return absl::StrCat("torch.leaky_relu(", x, ", 0.01)");
  }
  if (activation == "gelu") return absl::StrCat("torch.gelu(", x, ")");
  if (activation == "softplus") return absl::StrCat("torch.softplus(", x, ", 1, 20)");
  if (activation == "linear" || activation.empty() || activation == "null") return x;
  return absl::InvalidArgumentError(
      absl::StrCat("unknown activation '", activation,
                   "' (known: relu, tanh, sigmoid, elu, leakyRelu, gelu, softplus, linear)"));
}

absl::StatusOr<FcCode> AddFcStack(torch::jit::Module& module,
                                  const std::vector<FcLayerSpec>& layers, int64_t input_size,
                                  const std::string& var, const std::string& tag, bool residual) {
  FcCode code;
  int64_t size = input_size;
  for (size_t i = 0; i < layers.size(); ++i) {
    const FcLayerSpec& layer = layers[i];
    if (layer.output_size <= 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("fully connected layer ", i, ": output_size must be positive"));
    }
    const std::string p = absl::StrCat(tag, "_", i);
    torch::Tensor weight = torch::empty({layer.output_size, size});
    TRISTAGE_RETURN_IF_ERROR(Initialize(weight, layer.weights_initializer));
    AddParameter(module, p + "_w", weight);
    std::string bias = "None";
    if (layer.use_bias) {
      torch::Tensor b = torch::empty({layer.output_size});
      TRISTAGE_RETURN_IF_ERROR(Initialize(b, layer.bias_initializer));
      AddParameter(module, p + "_b", b);
      bias = absl::StrCat("self.", p, "_b");
    }
    const bool add_input = residual && size == layer.output_size;
    if (add_input) absl::StrAppend(&code.statements, "    ", p, "_in = ", var, "\n");
    absl::StrAppend(&code.statements, "    ", var, " = torch.linear(", var, ", self.", p, "_w, ",
                    bias, ")\n");
    if (layer.norm == "batch") {
      AddParameter(module, p + "_g", torch::ones({layer.output_size}));
      AddParameter(module, p + "_beta", torch::zeros({layer.output_size}));
      AddBuffer(module, p + "_mean", torch::zeros({layer.output_size}));
      AddBuffer(module, p + "_var", torch::ones({layer.output_size}));
      absl::StrAppend(&code.statements, "    ", var, " = torch.batch_norm(", var, ", self.", p,
                      "_g, self.", p, "_beta, self.", p, "_mean, self.", p,
                      "_var, self.training, 0.1, 1e-05, False)\n");
    } else if (layer.norm == "layer") {
      AddParameter(module, p + "_g", torch::ones({layer.output_size}));
      AddParameter(module, p + "_beta", torch::zeros({layer.output_size}));
      absl::StrAppend(&code.statements, "    ", var, " = torch.layer_norm(", var, ", [",
                      layer.output_size, "], self.", p, "_g, self.", p, "_beta, 1e-05, False)\n");
    } else if (!layer.norm.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("unknown norm '", layer.norm, "' (known: batch, layer, null)"));
    }
    TRISTAGE_ASSIGN_OR_RETURN(std::string activated, ActivationExpression(layer.activation, var));
    if (activated != var) absl::StrAppend(&code.statements, "    ", var, " = ", activated, "\n");
    if (layer.dropout > 0) {
      absl::StrAppend(&code.statements, "    ", var, " = torch.dropout(", var, ", ",
                      FloatLiteral(layer.dropout), ", self.training)\n");
    }
    if (add_input) absl::StrAppend(&code.statements, "    ", var, " = ", var, " + ", p, "_in\n");
    size = layer.output_size;
  }
  code.output_size = size;
  return code;
}

}  // namespace tristage::model
