#include "core/export/inference.h"

#include <algorithm>
#include <map>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/export/stages.h"
#include "core/util/status_macros.h"

namespace tristage::exporting {

InferenceModule::InferenceModule(std::unique_ptr<InferenceStages> stages)
    : stages_(std::move(stages)) {}
InferenceModule::~InferenceModule() = default;

absl::StatusOr<std::unique_ptr<InferenceModule>> InferenceModule::FromDirectory(
    const std::string& directory, const std::string& device) {
  TRISTAGE_ASSIGN_OR_RETURN(InferenceStages stages, LoadStages(directory, device));
  return std::make_unique<InferenceModule>(std::make_unique<InferenceStages>(std::move(stages)));
}

const Manifest& InferenceModule::manifest() const {
  return stages_->manifest;
}

const nlohmann::json& InferenceModule::config() const {
  return stages_->config;
}

absl::StatusOr<data::Table> InferenceModule::Predict(const data::Table& table,
                                                     int64_t batch_size) const {
  if (batch_size <= 0) return absl::InvalidArgumentError("batch_size must be positive");
  InputColumns columns;
  for (const InputSpec& input : stages_->manifest.inputs) {
    auto column = table.Get(input.column);
    if (!column.ok()) {
      return absl::Status(column.status().code(), absl::StrCat("input data: feature '", input.name,
                                                               "': ", column.status().message()));
    }
    columns[input.name].strings = (*column)->values;
  }
  TRISTAGE_ASSIGN_OR_RETURN(TensorDict inputs, stages_->PreprocessorForward(ToRawInputs(columns)));
  const int64_t rows = table.num_rows();
  std::map<std::string, std::vector<torch::Tensor>> batches;
  for (int64_t begin = 0; begin < rows || (rows == 0 && begin == 0); begin += batch_size) {
    TensorDict batch;
    for (const auto& entry : inputs) {
      batch.insert(entry.key(), entry.value().slice(0, begin, std::min(rows, begin + batch_size)));
    }
    TRISTAGE_ASSIGN_OR_RETURN(TensorDict predicted, stages_->PredictorForward(batch));
    for (const auto& entry : predicted) batches[entry.key()].push_back(entry.value());
    if (rows == 0) break;
  }
  TensorDict outputs;
  for (auto& [key, parts] : batches) outputs.insert(key, torch::cat(parts, 0));
  TRISTAGE_ASSIGN_OR_RETURN(c10::impl::GenericDict result, stages_->PostprocessorForward(outputs));
  TRISTAGE_ASSIGN_OR_RETURN(OutputMap decoded, DecodeOutputs(stages_->manifest, result));
  return PredictionsTable(decoded);
}

}  // namespace tristage::exporting
