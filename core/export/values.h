// Torch-free values that cross the exported stages' boundary: raw input columns going into the
// preprocessor and decoded postprocessor outputs coming back, so that the daemon's RPC layer and
// the CLI never include torch. stages.h converts them to and from TorchScript values.
//
// Thread safety: plain values.
#ifndef TRISTAGE_CORE_EXPORT_VALUES_H_
#define TRISTAGE_CORE_EXPORT_VALUES_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/data/table.h"
#include "core/export/manifest.h"

namespace tristage::exporting {

// One input column: strings (any feature type), or numbers (number, binary, vector; `width`
// values per row for vector, row-major).
struct InputColumn {
  bool is_strings = true;
  std::vector<std::string> strings;
  std::vector<double> numbers;
  int64_t width = 1;

  int64_t rows() const {
    return is_strings ? static_cast<int64_t>(strings.size())
                      : static_cast<int64_t>(numbers.size()) / (width > 0 ? width : 1);
  }
};

// Input feature name -> column.
using InputColumns = std::map<std::string, InputColumn>;

// Checks `columns` against the manifest: every input present, no unknown names, one row count,
// numbers only where the feature takes tensors (and whole rows of a vector's size), strings valid
// UTF-8; for a predictor-only (model_only) export, numbers in rows of the predictor input's size.
// InvalidArgument naming the feature (and row); returns the row count.
absl::StatusOr<int64_t> ValidateInputs(const Manifest& manifest, const InputColumns& columns);

// Appends `more` to `into` (same feature set; columns of different kinds become strings, numbers
// written so that they parse back to the same double).
void AppendRows(InputColumns& into, const InputColumns& more);

// One tensor crossing a process boundary, as KServe v2 carries it: a datatype ("FP32", "INT64",
// "BOOL", ...), a shape with the rows first, and the elements row-major, little-endian.
struct RawTensor {
  std::string name;
  std::string datatype;
  std::vector<int64_t> shape;
  std::string data;

  int64_t rows() const { return shape.empty() ? 0 : shape.front(); }
  // Rows [begin, end).
  RawTensor Slice(int64_t begin, int64_t end) const;
};
using RawTensors = std::vector<RawTensor>;

// One output feature's decoded postprocessor values, one entry per row in the fields its type uses.
struct OutputValues {
  std::string type;
  std::vector<std::string> labels;                     // binary, category
  std::vector<float> numbers;                          // number
  std::vector<std::vector<float>> vectors;             // vector
  std::vector<std::vector<std::string>> items;         // set
  std::vector<std::string> class_names;                // binary, category (probabilities' columns)
  std::vector<float> probabilities;                    // [rows, class_names] row-major
  std::vector<std::vector<float>> item_probabilities;  // set
  std::vector<float> probability;                      // binary, category
  // Type "tensor" (a predictor-only export served as a tensor model): the predictor's outputs of
  // this feature, named by what they are ("logits", "probabilities", ...).
  RawTensors tensors;

  int64_t rows() const;
  // Rows [begin, end).
  OutputValues Slice(int64_t begin, int64_t end) const;
};

// Output feature name -> values, in the manifest's output order.
using OutputMap = std::vector<std::pair<std::string, OutputValues>>;

// Rows [begin, end) of every output.
OutputMap SliceOutputs(const OutputMap& outputs, int64_t begin, int64_t end);
// Concatenates outputs of consecutive row ranges (same features, same order).
OutputMap ConcatOutputs(const std::vector<OutputMap>& parts);

// The columns `tristage predict` writes (<f>_predictions, _probabilities_<class>, _probability,
// _probabilities, as each output type's entry in output_types.h says), numbers in the shortest
// form that reads back as the same float32.
absl::StatusOr<data::Table> PredictionsTable(const OutputMap& outputs);

}  // namespace tristage::exporting

#endif  // TRISTAGE_CORE_EXPORT_VALUES_H_
