#include "core/export/servable.h"

#include "absl/strings/str_cat.h"
#include "core/export/stages.h"
#include "core/util/status_macros.h"

namespace tristage::exporting {
namespace {

// The tensors between two steps, on the device of the step that made them.
class TensorBatch final : public ServableBatch {
 public:
  TensorDict tensors;
};

// The three TorchScript stages in this process, each on its own device.
class LocalServable final : public Servable {
 public:
  LocalServable(InferenceStages stages, torch::Device preprocessor, torch::Device postprocessor)
      : stages_(std::move(stages)),
        preprocessor_device_(preprocessor),
        postprocessor_device_(postprocessor) {}

  const Manifest& manifest() const override { return stages_.manifest; }

  absl::StatusOr<std::unique_ptr<ServableBatch>> Preprocess(
      const InputColumns& columns) const override {
    TRISTAGE_ASSIGN_OR_RETURN(TensorDict tensors,
                              stages_.PreprocessorForward(ToRawInputs(columns)));
    auto batch = std::make_unique<TensorBatch>();
    try {
      batch->tensors = ToDevice(tensors, preprocessor_device_);
    } catch (const std::exception& e) {
      return absl::InternalError(absl::StrCat("moving the preprocessed batch to ",
                                              preprocessor_device_.str(), ": ", e.what()));
    }
    return batch;
  }

  absl::Status Predict(ServableBatch& batch) const override {
    TensorBatch& tensors = static_cast<TensorBatch&>(batch);
    absl::StatusOr<TensorDict> outputs = stages_.PredictorForward(tensors.tensors);
    if (!outputs.ok()) return absl::InternalError(outputs.status().message());
    tensors.tensors = std::move(*outputs);
    return absl::OkStatus();
  }

  absl::StatusOr<OutputMap> Postprocess(ServableBatch& batch) const override {
    TensorBatch& tensors = static_cast<TensorBatch&>(batch);
    TensorDict on_device;
    try {
      on_device = ToDevice(tensors.tensors, postprocessor_device_);
    } catch (const std::exception& e) {
      return absl::InternalError(absl::StrCat("moving the predicted batch to ",
                                              postprocessor_device_.str(), ": ", e.what()));
    }
    tensors.tensors = TensorDict();
    TRISTAGE_ASSIGN_OR_RETURN(c10::impl::GenericDict result,
                              stages_.PostprocessorForward(on_device));
    return DecodeOutputs(stages_.manifest, result);
  }

 private:
  const InferenceStages stages_;
  const torch::Device preprocessor_device_;
  const torch::Device postprocessor_device_;
};

}  // namespace

absl::Status Servable::WarmUp() const {
  InputColumns empty_row;
  for (const InputSpec& input : manifest().inputs) empty_row[input.name].strings = {""};
  for (int run = 0; run < 2; ++run) {
    TRISTAGE_ASSIGN_OR_RETURN(std::unique_ptr<ServableBatch> batch, Preprocess(empty_row));
    TRISTAGE_RETURN_IF_ERROR(Predict(*batch));
    TRISTAGE_RETURN_IF_ERROR(Postprocess(*batch).status());
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<Servable>> LoadServable(const std::string& directory,
                                                       const ServableDevices& devices) {
  auto located = [&directory](const absl::Status& status) {
    return absl::Status(status.code(), absl::StrCat(directory, ": ", status.message()));
  };
  auto preprocessor = ParseDevice(devices.preprocessor);
  if (!preprocessor.ok()) return located(preprocessor.status());
  auto postprocessor = ParseDevice(devices.postprocessor);
  if (!postprocessor.ok()) return located(postprocessor.status());
  absl::StatusOr<InferenceStages> stages = LoadStages(directory, devices.predictor);
  if (!stages.ok()) return stages.status();
  if (stages->manifest.model_only) {
    return absl::FailedPreconditionError(absl::StrCat(
        directory, ": a --model_only export has no preprocessor or postprocessor to serve"));
  }
  return std::make_unique<LocalServable>(std::move(*stages), *preprocessor, *postprocessor);
}

}  // namespace tristage::exporting
