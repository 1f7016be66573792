// A Triton Inference Server model configuration (config.pbtxt) for a pytorch_libtorch model, as
// `tristage export_triton` writes it: the subset of Triton's ModelConfig
// (triton-inference-server/common protobuf/model_config.proto) that a predictor needs, rendered
// as protobuf text.
//
// Torch-free and public. Thread safety: plain values and pure functions.
#ifndef TRISTAGE_CORE_EXPORT_TRITON_CONFIG_H_
#define TRISTAGE_CORE_EXPORT_TRITON_CONFIG_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace tristage::exporting {

// One ModelInput or ModelOutput.
struct TritonTensor {
  std::string name;
  std::string data_type;  // Triton's DataType name: "TYPE_FP32", "TYPE_INT64", "TYPE_BOOL", ...
  // What a client sends or receives: without the batch dimension when the model batches
  // (max_batch_size > 0), else the whole shape (-1 for the rows). Never empty (Triton refuses it).
  std::vector<int64_t> dims;
  // The shape the model itself sees, when it differs from dims: with batching, a tensor that is
  // [batch] alone is dims [1] with reshape [] (Triton's way to say "one element per row").
  std::optional<std::vector<int64_t>> reshape;
};

struct TritonModelConfig {
  std::string name;  // must equal the model's directory name
  std::string platform = "pytorch_libtorch";
  int32_t max_batch_size = 0;  // 0: Triton does not batch (and dynamic_batching is left out)
  std::vector<TritonTensor> inputs;
  std::vector<TritonTensor> outputs;  // in the order the model returns them (a tuple)
  // dynamic_batching is written when max_batch_size > 0; a delay of 0 is Triton's default (no
  // wait).
  uint64_t max_queue_delay_microseconds = 0;
  std::string instance_kind = "KIND_CPU";  // or "KIND_GPU"
  int32_t instance_count = 1;
  // Written as '#' comment lines at the top (provenance); each must be one line.
  std::vector<std::string> comments;
};

// config.pbtxt text: protobuf text format of inference.ModelConfig; names are C-escaped.
std::string ToPbtxt(const TritonModelConfig& config);

// Triton's DataType name for a tensor dtype as the manifest and c10 spell it ("float32" ->
// "TYPE_FP32", "int64" -> "TYPE_INT64", "bool" -> "TYPE_BOOL", ...). InvalidArgument for a dtype
// the PyTorch backend cannot carry (bfloat16, complex, ...).
absl::StatusOr<std::string> TritonDataType(const std::string& dtype);

// The tensor's entry for a model-side shape whose first dimension is the batch (-1). With
// `batching` (max_batch_size > 0) dims are the rest, or [1] with reshape [] when nothing is left;
// without, dims are the whole shape.
TritonTensor TritonTensorFor(const std::string& name, const std::string& data_type,
                             const std::vector<int64_t>& model_shape, bool batching);

}  // namespace tristage::exporting

#endif  // TRISTAGE_CORE_EXPORT_TRITON_CONFIG_H_
