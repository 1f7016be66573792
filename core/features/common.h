// Helpers shared by the feature type implementations. Internal to core/features.
#ifndef TRISTAGE_CORE_FEATURES_COMMON_H_
#define TRISTAGE_CORE_FEATURES_COMMON_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/export/output_types.h"
#include "core/features/feature.h"

namespace tristage::features {

// The dataset column the feature reads (`column`, defaulting to `name`).
std::string ColumnOf(const json& feature);

// The feature's resolved `preprocessing` object (empty when absent).
const json& PreprocessingOf(const json& feature);

// A cell-level error: "column 'x' row 12: <reason>".
absl::Status CellError(const json& feature, size_t row, const std::string& reason);

// The `most_common` vocabulary cap from preprocessing: `default_value` when absent, 0 (no limit,
// as SymbolCounter::Build reads it) when null.
int64_t MostCommonOf(const json& feature, int64_t default_value);

// Parses a cell as a double; InvalidArgument naming column, row and text when it is not a number.
absl::StatusOr<double> ParseNumberCell(const json& feature, const data::Column& column, size_t row);

// The values of a float tensor (any shape), flattened, as doubles/floats on the CPU.
std::vector<float> ToFloatVector(const torch::Tensor& tensor);

// Binary features' boolean spellings (true/false, yes/no, y/n, t/f, 1/0, 1.0/0.0, on/off, any
// case, surrounding whitespace ignored): 1 true, 0 false, -1 not a boolean spelling.
int StandardBool(const std::string& text);

// The preprocessed text of a cell for vocabulary features: lowercased when `lowercase` is set.
std::string NormalizedSymbol(const json& feature, const std::string& text);

// A TorchScript float literal ("0.5", "1.0", "1e-05").
std::string ScriptFloat(double value);

// Shared output-feature pieces for losses.
// Ludwig's robust_lambda: (1 - lambda) * loss + lambda * loss against the uniform distribution;
// confidence_penalty: minus the mean entropy of the predicted distribution, scaled.
bool HasLossRegularizers(const json& loss_config);
torch::Tensor ApplyLossRegularizers(const json& loss_config, const torch::Tensor& loss,
                                    const torch::Tensor& uniform_loss,
                                    const torch::Tensor& probabilities);

// Class weights from a loss config: null -> undefined tensor; a list (one per class, in idx2str
// order); or an object {class name: weight} with missing classes weighted 1.
absl::StatusOr<torch::Tensor> ClassWeights(const json& loss_config, const json& metadata,
                                           int64_t classes);

// ---- Export registry entries (core/export/output_types.h) shared by several types. ----

// The strings of metadata[key] (e.g. idx2str, bool2str), empty when absent: a manifest's
// class_names.
std::vector<std::string> MetadataStrings(const json& metadata, const std::string& key);

// The output entry of a classifier (binary, category): predictions are class names, with the
// probability of every class (row-major [rows, class_names]) and of the predicted class.
// `class_names` reads the manifest's from the metadata; `check` is the EvalData layout check.
exporting::OutputType ClassifierOutputType(
    const std::string& name, std::function<std::vector<std::string>(const json&)> class_names,
    std::function<absl::Status(const evaluation::EvalData&)> check);

}  // namespace tristage::features

#endif  // TRISTAGE_CORE_FEATURES_COMMON_H_
