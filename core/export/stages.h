// The three exported TorchScript stages of a trained model (Ludwig's to_torchscript), built,
// saved and loaded:
//   preprocessor   forward(Dict[str, Union[List[str], Tensor]]) -> Dict[str, Tensor]
//                  raw columns keyed by input feature name -> the predictor's input tensors;
//                  the training-time preprocessing (fill values, normalization, vocabularies,
//                  tokenizers, padding) written in TorchScript by each feature type;
//   predictor      forward(Dict[str, Tensor]) -> Dict[str, Tensor]: the trained ECD module
//                  itself ("<output>::logits/probabilities/predictions"), gradients off;
//   postprocessor  forward(Dict[str, Tensor]) -> Dict[str, Any]: class names, de-normalized
//                  numbers and probabilities per "<output>::<what>".
// Every stage file carries the export's model_id (attribute tristage_model_id), which loading
// checks against manifest.json.
//
// Internal to core (includes torch; not among core's public headers, so the daemon cannot include
// it); the torch-free entry points are Model::SaveTorchscript, InferenceModule (inference.h) and
// Servable (servable.h). Thread safety: the forward calls may run concurrently.
#ifndef TRISTAGE_CORE_EXPORT_STAGES_H_
#define TRISTAGE_CORE_EXPORT_STAGES_H_

#include <torch/script.h>

#include <string>

#include "absl/status/statusor.h"
#include "core/export/manifest.h"
#include "core/export/values.h"
#include "nlohmann/json.hpp"

namespace tristage::exporting {

using TensorDict = c10::Dict<std::string, torch::Tensor>;

struct InferenceStages {
  Manifest manifest;
  torch::Device device = torch::kCPU;  // the predictor's
  nlohmann::json config;               // model_hyperparameters.json
  nlohmann::json metadata;             // training_set_metadata.json
  torch::jit::Module preprocessor;     // unset when the manifest says model_only
  torch::jit::Module predictor;
  torch::jit::Module postprocessor;

  // InvalidArgument naming the feature when a raw column cannot be preprocessed.
  absl::StatusOr<TensorDict> PreprocessorForward(const c10::impl::GenericDict& raw) const;
  // Moves the inputs to the predictor's device and the outputs back to the CPU; no autograd.
  absl::StatusOr<TensorDict> PredictorForward(const TensorDict& inputs) const;
  absl::StatusOr<c10::impl::GenericDict> PostprocessorForward(const TensorDict& outputs) const;
};

// The preprocessor's input dict for torch-free columns: strings -> List[str]; numbers -> a float64
// tensor [rows] (width 1) or [rows, width].
c10::impl::GenericDict ToRawInputs(const InputColumns& columns);

// The postprocessor's result decoded for the manifest's outputs (class names from the manifest).
absl::StatusOr<OutputMap> DecodeOutputs(const Manifest& manifest,
                                        const c10::impl::GenericDict& result);

// Every tensor of `tensors` on `device` (the same dict when all already are). Host tensors bound
// for a GPU go through pinned memory, copied asynchronously on the current stream.
TensorDict ToDevice(const TensorDict& tensors, const torch::Device& device);

// Parses "cpu", "cuda" or "cuda:N". FailedPrecondition when CUDA is named and not available.
absl::StatusOr<torch::Device> ParseDevice(const std::string& device);

// The preprocessor and postprocessor stages alone, for a resolved config and its metadata;
// `model_id` is stored in each (attribute tristage_model_id).
absl::StatusOr<torch::jit::Module> BuildPreprocessor(const nlohmann::json& config,
                                                     const nlohmann::json& metadata,
                                                     const std::string& model_id);
absl::StatusOr<torch::jit::Module> BuildPostprocessor(const nlohmann::json& config,
                                                      const nlohmann::json& metadata,
                                                      const std::string& model_id);

// Builds the stages of a trained model: `trained` is its ECD module (copied, not modified).
absl::StatusOr<InferenceStages> BuildStages(const nlohmann::json& config,
                                            const nlohmann::json& metadata,
                                            const torch::jit::Module& trained,
                                            const std::string& device);

// Writes manifest.json and the stage files (the predictor alone when `model_only`) into
// `directory`, creating it.
absl::Status SaveStages(const InferenceStages& stages, const std::string& directory,
                        bool model_only);

// Loads an export directory. `device` empty means the manifest's. Clear errors for a missing,
// truncated or foreign stage file.
absl::StatusOr<InferenceStages> LoadStages(const std::string& directory,
                                           const std::string& device = "");

// The message of a TorchScript error: the text of a failed assert (the stages' own errors), else
// the first line of `what`.
std::string ScriptErrorMessage(const std::string& what);

}  // namespace tristage::exporting

#endif  // TRISTAGE_CORE_EXPORT_STAGES_H_
