// The Encoder-Combiner-Decoder model as one TorchScript module.
//
// BuildEcd assembles, from a resolved config and the training-set metadata, a module with:
//   train_forward(inputs: Dict[str, Tensor]) -> Dict[str, Tensor]
//       {"<output>::logits"} only: what the loss needs, so training pays for nothing else; and
//       with a combiner that has a loss of its own (tabnet's sparsity), also
//       {"combiner::aux_loss"}: a scalar to add to the training loss (kAuxLossKey);
//   forward(inputs: Dict[str, Tensor]) -> Dict[str, Tensor]
//       {"<output>::logits", "<output>::probabilities" (binary, category, set),
//        "<output>::predictions"} for every output feature.
// Inputs are keyed by input feature name, in the tensor layouts core/features produce. The module
// is the exported predictor stage as it is: what is trained is what is served.
// Internal to core; includes torch.
#ifndef TRISTAGE_CORE_MODEL_ECD_H_
#define TRISTAGE_CORE_MODEL_ECD_H_

#include <string>

#include "absl/status/statusor.h"
#include "core/model/script.h"
#include "nlohmann/json.hpp"

namespace tristage::model {

// `metadata` maps feature name -> that feature's training-set metadata. Errors name the feature.
// Parameters are initialized from torch's global generator: seed it first for reproducibility.
absl::StatusOr<torch::jit::Module> BuildEcd(const nlohmann::json& config,
                                            const nlohmann::json& metadata);

// Key of the combiner's own training loss in train_forward's result, when it has one.
inline constexpr char kAuxLossKey[] = "combiner::aux_loss";

// Key of an output tensor: "<feature>::<what>".
std::string OutputKey(const std::string& feature, const std::string& what);

}  // namespace tristage::model

#endif  // TRISTAGE_CORE_MODEL_ECD_H_
