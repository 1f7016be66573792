// Ludwig's 1-d convolution layers (Conv1DLayer: convolution -> norm -> activation -> dropout ->
// pooling), stacked (Conv1DStack) or side by side (ParallelConv1D), as TorchScript source for the
// stacked_cnn, stacked_parallel_cnn and cnnrnn encoders.
// Internal to core/model; includes torch.
#ifndef TRISTAGE_CORE_MODEL_ENCODERS_CONV_STACK_H_
#define TRISTAGE_CORE_MODEL_ENCODERS_CONV_STACK_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/model/script.h"
#include "nlohmann/json.hpp"

namespace tristage::model {

struct ConvLayerSpec {
  int64_t filter_size = 3;
  int64_t num_filters = 256;
  int64_t strides = 1;
  std::string padding = "same";  // same or valid
  int64_t dilation_rate = 1;
  bool use_bias = true;
  std::string weights_initializer = "xavier_uniform";
  std::string bias_initializer = "zeros";
  std::string norm;  // "", batch or layer
  std::string activation = "relu";
  double dropout = 0.0;
  std::string pool_function = "max";  // max, or average/avg/mean
  int64_t pool_size = 0;              // 0: no pooling
  int64_t pool_strides = 0;           // 0: pool_size
  std::string pool_padding = "same";
};

// A layer from the encoder-level `defaults` (the encoder's params, with its own names for the
// activation and dropout already mapped) overridden by the keys `layer` gives. When `layer` does
// not give pool_size, it is the default's only if `default_pool` (Ludwig's stacked parallel layers
// pool only after the last stack). Errors name the key under `path`.
absl::StatusOr<ConvLayerSpec> ConvLayerFrom(const nlohmann::json& defaults,
                                            const nlohmann::json& layer, bool default_pool,
                                            const std::string& path);

// InvalidArgument naming `key` when a layer list has more than 64 entries (the bound the schema
// puts on num_conv_layers, num_stacked_layers and num_layers), before any weight is allocated.
absl::Status CheckLayerCount(const std::string& key, size_t count);

// Appends source applying one layer (or several side by side, concatenated over channels) to
// `c` [batch, channels, length], updating `m` [batch, 1, length] (1 where any real token reaches
// the position) the same way. Updates *channels and *length; InvalidArgument naming `path` when the
// layers shorten the sequence to nothing (max_sequence_length too short for the filters and
// pools) or when side-by-side layers disagree on the length.
absl::Status AddConvLayers(torch::jit::Module& module, const std::vector<ConvLayerSpec>& parallel,
                           const std::string& tag, const std::string& path, int64_t* channels,
                           int64_t* length, std::string* source);

}  // namespace tristage::model

#endif  // TRISTAGE_CORE_MODEL_ENCODERS_CONV_STACK_H_
