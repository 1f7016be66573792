// What each feature type means where a model meets the outside: one registry entry per output
// type and one per input type, registered from that type's own file (core/features/<type>.cc),
// read by the generic code that used to hold an if-chain per type:
//   manifest.json     DescribeModel: an output's postprocessor keys and class names, an input's
//                     accepted values and tensor (manifest.cc);
//   decoding          DecodeOutputs: the postprocessor's result -> OutputValues (stages.cc);
//   prediction files  PredictionsTable: the <feature>_... columns (values.cc);
//   KServe v2         OutputsToInferResponse: the output tensors (server/rpc/kserve_service.cc);
//   tristage.v1       OutputsToProto: the OutputFeature fields (server/rpc/inference_service.cc);
//   metrics           CheckEvalData: the EvalData layout of the type (core/evaluation).
// Adding an output type is therefore one entry in its feature file, not an edit of each reader.
//
// Torch-free and public: the daemon reads the table columns, tensors and fields. The two members
// that name core internals (`decode` takes the TorchScript result, `check_eval_data` an EvalData)
// are declared here on incomplete types and only core calls them.
//
// Thread safety: the registries are filled by static initialisers (and tests, before use) and
// read-only after.
#ifndef TRISTAGE_CORE_EXPORT_OUTPUT_TYPES_H_
#define TRISTAGE_CORE_EXPORT_OUTPUT_TYPES_H_

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/data/table.h"
#include "core/export/manifest.h"
#include "core/export/values.h"
#include "nlohmann/json.hpp"

namespace tristage::evaluation {
struct EvalData;  // core/evaluation/metrics.h
}  // namespace tristage::evaluation

namespace tristage::exporting {

class ScriptResult;  // the postprocessor's result dict; core/export/script_result.h (torch)

// The OutputValues fields a type fills, which are also the tristage.v1 OutputFeature fields of
// the same names that OutputsToProto copies.
enum OutputField : uint32_t {
  kLabels = 1u << 0,
  kNumbers = 1u << 1,
  kVectors = 1u << 2,
  kItems = 1u << 3,
  kClassNames = 1u << 4,
  kProbabilities = 1u << 5,
  kItemProbabilities = 1u << 6,
  kProbability = 1u << 7,
};

// One KServe v2 output tensor, named "<feature>::<what>", its data in raw_output_contents.
struct OutputTensor {
  std::string what;            // "predictions", "probabilities", ...
  std::string datatype;        // "BYTES" or "FP32"
  std::vector<int64_t> shape;  // rows first
  std::string raw;             // BYTES: per element a 4-byte little-endian length, the bytes
};

// One prediction-file column, named "<feature><suffix>".
using SuffixColumns = std::vector<std::pair<std::string, data::Column>>;

struct OutputType {
  std::string name;  // the config type name
  // manifest.json: the postprocessor's keys "<feature>::<what>" -> kind ("List[str]",
  // "List[List[str]]", "List[List[float]]", "Tensor"), in the order the manifest lists them.
  std::vector<std::pair<std::string, std::string>> keys;
  // manifest.json class_names from the feature's training-set metadata; unset: none.
  std::function<std::vector<std::string>(const nlohmann::json& metadata)> class_names;
  // The OutputField bits the decoded values fill.
  uint32_t fields = 0;
  // The postprocessor's "<spec.name>::..." entries -> `values` (whose type is set already; the
  // manifest's spec.class_names are there to copy). May throw c10::Error, which DecodeOutputs
  // turns into a status.
  std::function<absl::Status(const ScriptResult& result, const OutputSpec& spec,
                             OutputValues& values)>
      decode;
  // The prediction-file columns, "_predictions" first, in Ludwig's predictions layout.
  std::function<SuffixColumns(const OutputValues& values)> columns;
  // The KServe output tensors (those a request may ask for), in this order.
  std::function<std::vector<OutputTensor>(const OutputValues& values)> tensors;
  // The layout of the type's EvalData (evaluation/metrics.h CheckEvalData) after the type and
  // the row count have been checked; unset: the type has no metrics.
  std::function<absl::Status(const evaluation::EvalData& data)> check_eval_data;
};

struct InputType {
  std::string name;
  // The preprocessor also accepts a numeric tensor ("Tensor") besides List[str].
  bool accepts_tensor = false;
  // The tensor the preprocessor gives the predictor: dtype, and shape from the feature's
  // training-set metadata (-1 for the batch dimension).
  std::string dtype;
  std::function<std::vector<int64_t>(const nlohmann::json& metadata)> shape;
};

// Register from static initialisers through TypeRegistration. A duplicate name, an empty name or
// a missing function (decode, columns, tensors; shape) aborts with a message: a programming error
// found at load time.
bool RegisterOutputType(OutputType type);
bool RegisterInputType(InputType type);

// nullptr when no type is registered under `name`.
const OutputType* FindOutputType(absl::string_view name);
const InputType* FindInputType(absl::string_view name);

// Sorted.
std::vector<std::string> RegisteredOutputTypes();
std::vector<std::string> RegisteredInputTypes();

// Registers a type at load time. Use with TRISTAGE_EARLY_INIT: metrics check, when they register,
// that their output types exist, so output types register before any other static initialiser of
// core (GCC and Clang run those with an init_priority first, across a library's files).
struct TypeRegistration {
  explicit TypeRegistration(OutputType type) { RegisterOutputType(std::move(type)); }
  explicit TypeRegistration(InputType type) { RegisterInputType(std::move(type)); }
};
#define TRISTAGE_EARLY_INIT [[gnu::init_priority(1000)]]

// Helpers for entries.
// A KServe BYTES element appended to `raw`: 4-byte little-endian length, then the bytes.
void AppendRawBytes(const std::string& value, std::string& raw);
// float32 values as raw little-endian bytes.
std::string RawFloats(const std::vector<float>& values);
// One cell per value, in the shortest form that reads back as the same float32.
data::Column NumberColumn(const std::vector<float>& values);
// Values joined by spaces, each in that shortest form.
std::string JoinNumbers(const std::vector<float>& values);

}  // namespace tristage::exporting

#endif  // TRISTAGE_CORE_EXPORT_OUTPUT_TYPES_H_
