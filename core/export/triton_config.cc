#include "core/export/triton_config.h"

#include <map>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace tristage::exporting {
namespace {

std::string Dims(const std::vector<int64_t>& dims) {
  return dims.empty() ? "[ ]" : absl::StrCat("[ ", absl::StrJoin(dims, ", "), " ]");
}

void AppendTensors(const char* field, const std::vector<TritonTensor>& tensors, std::string& out) {
  absl::StrAppend(&out, field, " [\n");
  for (size_t i = 0; i < tensors.size(); ++i) {
    const TritonTensor& tensor = tensors[i];
    absl::StrAppend(&out, "  {\n    name: \"", absl::CEscape(tensor.name),
                    "\"\n    data_type: ", tensor.data_type, "\n    dims: ", Dims(tensor.dims),
                    "\n");
    if (tensor.reshape.has_value()) {
      absl::StrAppend(&out, "    reshape: { shape: ", Dims(*tensor.reshape), " }\n");
    }
    absl::StrAppend(&out, i + 1 < tensors.size() ? "  },\n" : "  }\n");
  }
  absl::StrAppend(&out, "]\n");
}

}  // namespace

std::string ToPbtxt(const TritonModelConfig& config) {
  std::string out;
  for (const std::string& comment : config.comments) absl::StrAppend(&out, "# ", comment, "\n");
  absl::StrAppend(&out, "name: \"", absl::CEscape(config.name), "\"\n", "platform: \"",
                  absl::CEscape(config.platform), "\"\n", "max_batch_size: ", config.max_batch_size,
                  "\n");
  AppendTensors("input", config.inputs, out);
  AppendTensors("output", config.outputs, out);
  if (config.max_batch_size > 0 && config.max_queue_delay_microseconds > 0) {
    absl::StrAppend(&out, "dynamic_batching {\n  max_queue_delay_microseconds: ",
                    config.max_queue_delay_microseconds, "\n}\n");
  } else if (config.max_batch_size > 0) {
    absl::StrAppend(&out, "dynamic_batching { }\n");
  }
  absl::StrAppend(&out, "instance_group [\n  {\n    kind: ", config.instance_kind,
                  "\n    count: ", config.instance_count, "\n  }\n]\n");
  return out;
}

absl::StatusOr<std::string> TritonDataType(const std::string& dtype) {
  // The types Triton's PyTorch backend maps to torch (libtorch_utils.cc
  // ModelConfigDataTypeToTorchType); TYPE_BF16 is not among them.
  static const auto* types = new std::map<std::string, std::string>{
      {"bool", "TYPE_BOOL"},    {"uint8", "TYPE_UINT8"},  {"int8", "TYPE_INT8"},
      {"int16", "TYPE_INT16"},  {"int32", "TYPE_INT32"},  {"int64", "TYPE_INT64"},
      {"float16", "TYPE_FP16"}, {"float32", "TYPE_FP32"}, {"float64", "TYPE_FP64"}};
  auto it = types->find(dtype);
  if (it == types->end()) {
    return absl::InvalidArgumentError(
        absl::StrCat("dtype '", dtype, "' has no Triton PyTorch backend data type"));
  }
  return it->second;
}

TritonTensor TritonTensorFor(const std::string& name, const std::string& data_type,
                             const std::vector<int64_t>& model_shape, bool batching) {
  TritonTensor tensor;
  tensor.name = name;
  tensor.data_type = data_type;
  if (!batching) {
    tensor.dims = model_shape;
  } else if (model_shape.size() > 1) {
    tensor.dims.assign(model_shape.begin() + 1, model_shape.end());
  } else {
    tensor.dims = {1};
    tensor.reshape = std::vector<int64_t>{};
  }
  return tensor;
}

}  // namespace tristage::exporting
