// Feature types: how each Ludwig feature type turns columns into tensors and back.
//
// One FeatureType per config type name (binary, number, category, set, bag, vector, date, text,
// sequence), registered from its own file. A type:
//   - fits training-set metadata from the training split's column (vocabulary, mean/std, ...),
//     stored as that feature's entry in training_set_metadata.json (Ludwig's key names);
//   - transforms a whole column to the tensor the encoder reads (inputs) or the loss compares
//     against (outputs), in fast C++;
//   - for outputs: the width of its logits, the TorchScript that turns logits into probabilities
//     and predictions inside the predictor, its loss, its metrics input, and the user-facing
//     prediction columns.
// Missing values are filled (or their rows dropped) before Fit and Transform see a column; see
// missing_values.h. Errors name the feature's column and, for cell errors, the row.
//
// Internal to core; includes torch. Thread safety: types are stateless and shared.
#ifndef TRISTAGE_CORE_FEATURES_FEATURE_H_
#define TRISTAGE_CORE_FEATURES_FEATURE_H_

#include <ATen/core/ivalue.h>
#include <torch/types.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "core/data/table.h"
#include "core/evaluation/metrics.h"
#include "core/util/strings.h"
#include "nlohmann/json.hpp"

namespace tristage::features {

using nlohmann::json;

// Model outputs for one feature, by what: "logits", "probabilities", "predictions".
using OutputTensors = std::map<std::string, torch::Tensor>;

// Named result columns, e.g. {"label_predictions", ...}, in Ludwig's predictions layout.
using NamedColumns = std::vector<std::pair<std::string, data::Column>>;

// TorchScript for one feature in an exported stage (see core/export). `source` defines methods on
// the stage module whose names start with the feature's prefix (e.g. "f3_"); `attributes` are the
// constants they read as self.<name> (vocabularies, labels, statistics). User-provided strings
// (names, symbols, fill values) travel only as attributes, never spliced into source text.
struct StageScript {
  std::string source;
  std::vector<std::pair<std::string, c10::IValue>> attributes;  // names start with the prefix
};

class FeatureType {
 public:
  virtual ~FeatureType() = default;

  virtual bool can_be_output() const { return false; }

  // Metadata from the training split's (filled) column. `feature` is the resolved config.
  virtual absl::StatusOr<json> Fit(const json& feature, const data::Column& column) const = 0;

  // The tensor for a whole (filled) column. InvalidArgument names the column and row of a bad cell.
  virtual absl::StatusOr<torch::Tensor> Transform(const json& feature, const json& metadata,
                                                  const data::Column& column) const = 0;

  // ---- Output features only (the defaults return Unimplemented). ----

  // Logits per row: 1 (binary, number), classes (category, set) or vector size.
  virtual absl::StatusOr<int64_t> OutputSize(const json& metadata) const;

  // The decoder's logits per row for this output's config: OutputSize unless the loss changes it
  // (category's corn loss: classes - 1 ordinal logits).
  virtual absl::StatusOr<int64_t> OutputSizeFor(const json& feature, const json& metadata) const {
    (void)feature;
    return OutputSize(metadata);
  }

  // TorchScript statements (4-space indented) that set the probabilities and predictions entries.
  // `logits` is an expression for the logits tensor; `key(what)` an lvalue expression for an
  // output entry.
  virtual absl::StatusOr<std::string> OutputHeadSource(
      const json& feature, const std::string& logits,
      const std::function<std::string(const std::string&)>& key) const;

  // The loss of this output (config section `loss`), a scalar tensor.
  virtual absl::StatusOr<torch::Tensor> Loss(const json& feature, const json& metadata,
                                             const torch::Tensor& logits,
                                             const torch::Tensor& targets) const;

  // Targets and outputs in the layout the metrics want, in the user's units (e.g. de-normalized).
  virtual absl::StatusOr<evaluation::EvalData> ToEvalData(const json& feature, const json& metadata,
                                                          const OutputTensors& outputs,
                                                          const torch::Tensor& targets) const;

  // Class names for statistics (binary, category); empty for the others.
  virtual std::vector<std::string> ClassNames(const json& metadata) const { return {}; }

  // User-facing columns: <name>_predictions, and as the type has them <name>_probabilities,
  // <name>_probability and <name>_probabilities_<class>.
  virtual absl::StatusOr<NamedColumns> Postprocess(const json& feature, const json& metadata,
                                                   const OutputTensors& outputs) const;

  // ---- Export: the preprocessor and postprocessor stages (core/export). ----

  // Input features: defines
  //   def <prefix>preprocess(self, column: Union[List[str], Tensor]) -> Tensor
  // giving, for a raw column, exactly the tensor Transform gives after FillMissing. The stage
  // provides self.<prefix>name/strategy/has_fill/fill and the helpers of StageLibrarySource()
  // (FillMissingCall(prefix) fills a List[str] column). Unimplemented by default.
  virtual absl::StatusOr<StageScript> PreprocessScript(const json& feature, const json& metadata,
                                                       const std::string& prefix) const;

  // Output features: defines
  //   def <prefix>postprocess(self, outputs: Dict[str, Tensor], result: Dict[str, Any]) -> None
  // reading the predictor's "<name>::..." tensors and setting result["<name>::predictions"]
  // (class names for binary and category, lists of names for set, de-normalized numbers for
  // number), "<name>::probabilities" and "<name>::probability" as the type has them.
  virtual absl::StatusOr<StageScript> PostprocessScript(const json& feature, const json& metadata,
                                                        const std::string& prefix) const;
};

// Registers `type` under `name`; called from static initializers. A duplicate name aborts.
bool RegisterFeatureType(const std::string& name, std::unique_ptr<FeatureType> type);

// nullptr when no type is registered under `name`.
const FeatureType* FindFeatureType(const std::string& name);

std::vector<std::string> RegisteredFeatureTypes();

using ::tristage::FormatNumber;  // core/util/strings.h

}  // namespace tristage::features

#endif  // TRISTAGE_CORE_FEATURES_FEATURE_H_
