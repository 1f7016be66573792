// InferenceModule: an exported model loaded for prediction (Ludwig's InferenceModule). It runs
// preprocessor -> predictor -> postprocessor on a table and gives the same prediction columns as
// Model::Predict (<feature>_predictions, _probabilities_<class>, _probability, ...), so
// `tristage predict --torchscript` writes the same files as `tristage predict`.
//
// Torch-free; the stage modules and their tensor-level forward calls are in stages.h.
// Thread safety: Predict and the stages' forward calls may run concurrently.
#ifndef TRISTAGE_CORE_EXPORT_INFERENCE_H_
#define TRISTAGE_CORE_EXPORT_INFERENCE_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "core/data/table.h"
#include "core/export/manifest.h"

namespace tristage::exporting {

struct InferenceStages;

class InferenceModule {
 public:
  // Loads an export directory (manifest.json and the stage files). `device` empty: the manifest's.
  static absl::StatusOr<std::unique_ptr<InferenceModule>> FromDirectory(
      const std::string& directory, const std::string& device = "");
  explicit InferenceModule(std::unique_ptr<InferenceStages> stages);
  ~InferenceModule();

  const Manifest& manifest() const;
  // model_hyperparameters.json of the export (its output features name the prediction files).
  const nlohmann::json& config() const;
  const InferenceStages& stages() const { return *stages_; }

  // Predictions for every row of `table`, which has each input feature's column (null cells are
  // missing values). As Model::Predict: the whole table is preprocessed at once (so bfill/ffill
  // fill the same), then predicted `batch_size` rows at a time (so BLAS sums the same way).
  absl::StatusOr<data::Table> Predict(const data::Table& table, int64_t batch_size = 128) const;

 private:
  std::unique_ptr<InferenceStages> stages_;
};

}  // namespace tristage::exporting

#endif  // TRISTAGE_CORE_EXPORT_INFERENCE_H_
