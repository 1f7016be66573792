// Runs a model over a processed split in batches, without gradients, and scores it: per output
// feature its loss and metrics, and the combined loss, in Ludwig's statistics layout
//   {"<feature>": {"loss": x, "<metric>": y, ...}, "combined": {"loss": z}}.
// Internal to core; includes torch.
#ifndef TRISTAGE_CORE_TRAINING_EVALUATOR_H_
#define TRISTAGE_CORE_TRAINING_EVALUATOR_H_

#include <torch/script.h>

#include <map>
#include <string>

#include "absl/status/statusor.h"
#include "core/features/feature.h"
#include "core/preprocessing/preprocessing.h"
#include "nlohmann/json.hpp"

namespace tristage::distributed {
class ProcessGroup;
}

namespace tristage::training {

// Model outputs by feature name, then by what ("logits", "probabilities", "predictions").
using Outputs = std::map<std::string, features::OutputTensors>;

// Calls `forward` (all outputs) over the split's inputs in batches of `batch_size`, in eval mode
// (the module's training flag is restored afterwards). With a process group (a collective: every
// rank calls it), each rank runs its contiguous share of the rows and every rank gets all the
// outputs, in row order.
absl::StatusOr<Outputs> RunModel(torch::jit::Module& model, const nlohmann::json& config,
                                 const preprocessing::ProcessedSplit& split, int64_t batch_size,
                                 distributed::ProcessGroup* group = nullptr);

// The loss of one output feature (its `loss.weight` not applied) and the weighted total.
absl::StatusOr<torch::Tensor> FeatureLoss(const nlohmann::json& feature,
                                          const nlohmann::json& metadata,
                                          const torch::Tensor& logits,
                                          const torch::Tensor& targets);

struct Evaluation {
  nlohmann::json metrics;     // the layout above
  nlohmann::json statistics;  // metrics plus confusion matrices etc. (test_statistics.json)
  Outputs outputs;
};

// Scores `split` (which must have targets). With `full_statistics`, binary and category features
// also get confusion_matrix, overall_stats and per_class_stats. With a process group the rows are
// shared out as in RunModel and every rank computes the same metrics from all the outputs.
absl::StatusOr<Evaluation> Evaluate(torch::jit::Module& model, const nlohmann::json& config,
                                    const nlohmann::json& metadata,
                                    const preprocessing::ProcessedSplit& split, int64_t batch_size,
                                    bool full_statistics,
                                    distributed::ProcessGroup* group = nullptr);

}  // namespace tristage::training

#endif  // TRISTAGE_CORE_TRAINING_EVALUATOR_H_
