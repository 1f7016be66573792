// The manifest of an exported model (manifest.json beside the stage files): which files hold the
// stages, which model they came from, each input the preprocessor accepts and each output the
// postprocessor gives. The server reads it to describe a model (KServe ModelMetadata) without
// loading TorchScript; loaders use model_id to refuse a stage file from another export.
//
// Torch-free. Thread safety: plain values.
#ifndef TRISTAGE_CORE_EXPORT_MANIFEST_H_
#define TRISTAGE_CORE_EXPORT_MANIFEST_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

namespace tristage::exporting {

inline constexpr char kManifestFile[] = "manifest.json";
inline constexpr char kPreprocessorFile[] = "inference_preprocessor.pt";
inline constexpr char kPostprocessorFile[] = "inference_postprocessor.pt";
// inference_predictor_<device>.pt; Ludwig writes inference_predictor-<device>.pt, which loading
// also accepts.
std::string PredictorFile(const std::string& device_type);

struct InputSpec {
  std::string name;    // the key in the preprocessor's input dict
  std::string column;  // the dataset column it comes from
  std::string type;    // the feature type
  // What the preprocessor accepts for it: "List[str]" always; "Tensor" for number, binary, vector.
  std::vector<std::string> accepts;
  // The tensor the preprocessor gives the predictor: dtype ("float32", "int64") and shape (-1 for
  // the batch dimension).
  std::string dtype;
  std::vector<int64_t> shape;
};

struct OutputSpec {
  std::string name;
  std::string type;
  // Postprocessor keys "<name>::<what>" -> their kind: "List[str]", "List[List[str]]",
  // "List[List[float]]", "Tensor".
  std::vector<std::pair<std::string, std::string>> keys;
  std::vector<std::string> class_names;  // binary ([false, true]), category and set
};

struct Manifest {
  int format_version = 1;
  std::string tristage_version;
  std::string model_id;     // the same in every stage file of one export
  std::string device;       // the predictor's device type: cpu or cuda
  bool model_only = false;  // only the predictor was written
  std::vector<InputSpec> inputs;
  std::vector<OutputSpec> outputs;
};

// Describes the model of a resolved `config` with its training-set `metadata`.
absl::StatusOr<Manifest> DescribeModel(const nlohmann::json& config,
                                       const nlohmann::json& metadata);

nlohmann::json ToJson(const Manifest& manifest);
// InvalidArgument naming the field when `value` is not a manifest this version reads.
absl::StatusOr<Manifest> ManifestFromJson(const nlohmann::json& value);

}  // namespace tristage::exporting

#endif  // TRISTAGE_CORE_EXPORT_MANIFEST_H_
