#include "core/model/encoders/conv_stack.h"

#include "absl/strings/str_cat.h"
#include "core/model/encoders/sequence_common.h"
#include "core/model/fc_stack.h"
#include "core/model/params.h"
#include "core/util/status_macros.h"

namespace tristage::model {
namespace {

using nlohmann::json;

// The layer's value when it gives the key (non-null), else the default's.
const json& Pick(const json& defaults, const json& layer, const char* key) {
  auto it = layer.find(key);
  if (it != layer.end() && !it->is_null()) return *it;
  static const json kNull;
  auto d = defaults.find(key);
  return d == defaults.end() ? kNull : *d;
}

absl::StatusOr<int64_t> PickInt(const json& defaults, const json& layer, const char* key,
                                int64_t fallback) {
  json holder = json::object();
  holder[key] = Pick(defaults, layer, key);
  return GetInt(holder, key, fallback);
}

absl::StatusOr<std::string> PickString(const json& defaults, const json& layer, const char* key,
                                       const std::string& fallback) {
  json holder = json::object();
  holder[key] = Pick(defaults, layer, key);
  return GetString(holder, key, fallback);
}

// Output length of a window of `span` over `length` with `pad` added in all and `stride`.
int64_t WindowLength(int64_t length, int64_t pad, int64_t span, int64_t stride) {
  const int64_t padded = length + pad - span;
  return padded < 0 ? 0 : padded / stride + 1;
}

struct LayerCode {
  std::string conv;  // statements computing the layer's output into its own variable
  std::string mask;  // statements updating m
  int64_t length = 0;
};

absl::StatusOr<LayerCode> AddLayer(torch::jit::Module& module, const ConvLayerSpec& spec,
                                   const std::string& p, const std::string& out,
                                   const std::string& path, int64_t channels, int64_t length) {
  LayerCode code;
  const int64_t span = spec.dilation_rate * (spec.filter_size - 1) + 1;
  if (spec.padding == "same" && spec.strides != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ".strides: padding 'same' needs strides 1 (torch has no strided 'same' "
                     "convolution, so neither does Ludwig), got ", spec.strides));
  }
  TRISTAGE_RETURN_IF_ERROR(CheckWeightCount(absl::StrCat(path, ".num_filters"),
                                            {spec.num_filters, channels, spec.filter_size}));
  torch::Tensor weight = torch::empty({spec.num_filters, channels, spec.filter_size});
  TRISTAGE_RETURN_IF_ERROR(Initialize(weight, spec.weights_initializer));
  AddParameter(module, p + "_w", weight);
  std::string bias = "None";
  if (spec.use_bias) {
    torch::Tensor b = torch::empty({spec.num_filters});
    TRISTAGE_RETURN_IF_ERROR(Initialize(b, spec.bias_initializer));
    AddParameter(module, p + "_b", b);
    bias = absl::StrCat("self.", p, "_b");
  }
  std::string input = "c";
  int64_t conv_length = length;
  if (spec.padding == "same") {
    // torch's padding='same': the extra position of an even span goes to the right.
    const int64_t left = (span - 1) / 2;
    input = absl::StrCat("torch.constant_pad_nd(c, [", left, ", ", span - 1 - left, "], 0.0)");
  } else {
    conv_length = WindowLength(length, 0, span, spec.strides);
    absl::StrAppend(&code.mask, "    m = torch.max_pool1d(m, [", span, "], [", spec.strides,
                    "], [0], [1], False)\n");
  }
  if (conv_length <= 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        path, ": a filter spanning ", span, " positions does not fit the sequence length ",
        length, " (preprocessing.max_sequence_length, or the longest training row, after the "
        "layers before); use padding 'same' or smaller filter_size / dilation_rate"));
  }
  absl::StrAppend(&code.conv, "    ", out, " = torch.conv1d(", input, ", self.", p, "_w, ", bias,
                  ", [", spec.strides, "], [0], [", spec.dilation_rate, "])\n");
  if (spec.norm == "batch") {
    AddParameter(module, p + "_g", torch::ones({spec.num_filters}));
    AddParameter(module, p + "_beta", torch::zeros({spec.num_filters}));
    AddBuffer(module, p + "_mean", torch::zeros({spec.num_filters}));
    AddBuffer(module, p + "_var", torch::ones({spec.num_filters}));
    absl::StrAppend(&code.conv, "    ", out, " = torch.batch_norm(", out, ", self.", p, "_g, self.",
                    p, "_beta, self.", p, "_mean, self.", p,
                    "_var, self.training, 0.1, 1e-05, False)\n");
  } else if (spec.norm == "layer") {
    // Ludwig normalizes each layer's output over [channels, length].
    AddParameter(module, p + "_g", torch::ones({spec.num_filters, conv_length}));
    AddParameter(module, p + "_beta", torch::zeros({spec.num_filters, conv_length}));
    absl::StrAppend(&code.conv, "    ", out, " = torch.layer_norm(", out, ", [", spec.num_filters,
                    ", ", conv_length, "], self.", p, "_g, self.", p, "_beta, 1e-05, False)\n");
  } else if (!spec.norm.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ".norm: '", spec.norm, "' is not supported (batch, layer, null)"));
  }
  TRISTAGE_ASSIGN_OR_RETURN(std::string activated, ActivationExpression(spec.activation, out));
  if (activated != out) absl::StrAppend(&code.conv, "    ", out, " = ", activated, "\n");
  if (spec.dropout > 0) {
    absl::StrAppend(&code.conv, "    ", out, " = torch.dropout(", out, ", ",
                    FloatLiteral(spec.dropout), ", self.training)\n");
  }
  code.length = conv_length;
  if (spec.pool_size > 0) {
    const int64_t k = spec.pool_size;
    const int64_t stride = spec.pool_strides > 0 ? spec.pool_strides : k;
    const int64_t pad = spec.pool_padding == "same" ? (k - 1) / 2 : 0;
    code.length = WindowLength(conv_length, 2 * pad, k, stride);
    if (code.length <= 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          path, ".pool_size: pooling ", k, " positions does not fit the sequence length ",
          conv_length, " left by the layers before (preprocessing.max_sequence_length, or the "
          "longest training row); reduce pool_size or the number of pooling layers"));
    }
    const std::string window = absl::StrCat("[", k, "], [", stride, "], [", pad, "]");
    if (spec.pool_function == "max") {
      absl::StrAppend(&code.conv, "    ", out, " = torch.max_pool1d(", out, ", ", window,
                      ", [1], False)\n");
    } else {
      absl::StrAppend(&code.conv, "    ", out, " = torch.avg_pool1d(", out, ", ", window,
                      ", False, True)\n");
    }
    absl::StrAppend(&code.mask, "    m = torch.max_pool1d(m, ", window, ", [1], False)\n");
  }
  return code;
}

}  // namespace

absl::Status CheckLayerCount(const std::string& key, size_t count) {
  constexpr size_t kMaxLayers = 64;
  if (count <= kMaxLayers) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat(key, ": at most ", kMaxLayers, " layers, got ", count));
}

absl::StatusOr<ConvLayerSpec> ConvLayerFrom(const json& defaults, const json& layer,
                                            bool default_pool, const std::string& path) {
  if (auto it = layer.find("norm_params"); it != layer.end() && !it->is_null()) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ".norm_params: is not supported yet (leave it null)"));
  }
  ConvLayerSpec spec;
  TRISTAGE_ASSIGN_OR_RETURN(spec.filter_size, PickInt(defaults, layer, "filter_size", 3));
  TRISTAGE_ASSIGN_OR_RETURN(spec.num_filters, PickInt(defaults, layer, "num_filters", 256));
  TRISTAGE_ASSIGN_OR_RETURN(spec.strides, PickInt(defaults, layer, "strides", 1));
  TRISTAGE_ASSIGN_OR_RETURN(spec.padding, PickString(defaults, layer, "padding", "same"));
  TRISTAGE_ASSIGN_OR_RETURN(spec.dilation_rate, PickInt(defaults, layer, "dilation_rate", 1));
  json holder = {{"use_bias", Pick(defaults, layer, "use_bias")}};
  TRISTAGE_ASSIGN_OR_RETURN(spec.use_bias, GetBool(holder, "use_bias", true));
  TRISTAGE_ASSIGN_OR_RETURN(spec.weights_initializer,
                            PickString(defaults, layer, "weights_initializer", "xavier_uniform"));
  TRISTAGE_ASSIGN_OR_RETURN(spec.bias_initializer,
                            PickString(defaults, layer, "bias_initializer", "zeros"));
  TRISTAGE_ASSIGN_OR_RETURN(spec.norm, PickString(defaults, layer, "norm", ""));
  TRISTAGE_ASSIGN_OR_RETURN(spec.activation, PickString(defaults, layer, "activation", "relu"));
  holder = {{"dropout", Pick(defaults, layer, "dropout")}};
  TRISTAGE_ASSIGN_OR_RETURN(spec.dropout, GetDouble(holder, "dropout", 0.0));
  TRISTAGE_ASSIGN_OR_RETURN(spec.pool_function,
                            PickString(defaults, layer, "pool_function", "max"));
  if (spec.pool_function == "average" || spec.pool_function == "avg") spec.pool_function = "mean";
  // pool_size and pool_strides: a null the layer gives means none, as in Ludwig.
  if (layer.contains("pool_size")) {
    TRISTAGE_ASSIGN_OR_RETURN(spec.pool_size, GetInt(layer, "pool_size", 0));
  } else if (default_pool) {
    TRISTAGE_ASSIGN_OR_RETURN(spec.pool_size, GetInt(defaults, "pool_size", 0));
  }
  TRISTAGE_ASSIGN_OR_RETURN(spec.pool_strides, PickInt(defaults, layer, "pool_strides", 0));
  TRISTAGE_ASSIGN_OR_RETURN(spec.pool_padding,
                            PickString(defaults, layer, "pool_padding", "same"));
  if (spec.filter_size <= 0 || spec.num_filters <= 0 || spec.strides <= 0 ||
      spec.dilation_rate <= 0 || spec.pool_size < 0 || spec.pool_strides < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": filter_size, num_filters, strides, dilation_rate, pool_size and "
                           "pool_strides must be positive"));
  }
  return spec;
}

absl::Status AddConvLayers(torch::jit::Module& module, const std::vector<ConvLayerSpec>& parallel,
                           const std::string& tag, const std::string& path, int64_t* channels,
                           int64_t* length, std::string* source) {
  std::string outputs;
  std::string mask;
  int64_t out_channels = 0;
  int64_t out_length = -1;
  for (size_t j = 0; j < parallel.size(); ++j) {
    const std::string p = parallel.size() == 1 ? tag : absl::StrCat(tag, "_", j);
    const std::string layer_path = parallel.size() == 1 ? path : absl::StrCat(path, "[", j, "]");
    const std::string out = absl::StrCat("c_", p);
    TRISTAGE_ASSIGN_OR_RETURN(LayerCode code, AddLayer(module, parallel[j], p, out, layer_path,
                                                       *channels, *length));
    if (out_length >= 0 && code.length != out_length) {
      return absl::InvalidArgumentError(absl::StrCat(
          layer_path, ": parallel layers must keep the same length (", out_length, " and ",
          code.length, "); give them the same padding, strides and pooling"));
    }
    if (j == 0) mask = code.mask;
    out_length = code.length;
    out_channels += parallel[j].num_filters;
    absl::StrAppend(source, code.conv);
    absl::StrAppend(&outputs, outputs.empty() ? "" : ", ", out);
  }
  if (parallel.size() == 1) {
    absl::StrAppend(source, "    c = ", outputs, "\n");
  } else {
    absl::StrAppend(source, "    c = torch.cat([", outputs, "], 1)\n");
  }
  absl::StrAppend(source, mask);
  *channels = out_channels;
  *length = out_length;
  return absl::OkStatus();
}

}  // namespace tristage::model
