// Optimizers and learning-rate schedules from the resolved `trainer` section.
// Internal to core; includes torch.
#ifndef TRISTAGE_CORE_TRAINING_OPTIMIZER_H_
#define TRISTAGE_CORE_TRAINING_OPTIMIZER_H_

#include <torch/optim.h>

#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

namespace tristage::training {

// trainer.optimizer.type: sgd, adam, adamw, adagrad, rmsprop, with their parameters, at
// trainer.learning_rate. InvalidArgument naming trainer.optimizer.type for others.
absl::StatusOr<std::unique_ptr<torch::optim::Optimizer>> MakeOptimizer(
    const nlohmann::json& trainer, std::vector<torch::Tensor> parameters);

void SetLearningRate(torch::optim::Optimizer& optimizer, double learning_rate);

// trainer.learning_rate_scheduler: warmup_fraction (linear warm-up over that fraction of all
// steps), then decay (null, linear to 0, exponential decay_rate^(step/decay_steps) optionally
// staircase, cosine to eta_min), times reduce_on_plateau_rate for each plateau reduction.
class LearningRateSchedule {
 public:
  LearningRateSchedule(const nlohmann::json& trainer, int64_t total_steps);

  double At(int64_t step) const;

  // Called after each evaluation with the watched metric; after `patience` evaluations without
  // improvement, the rate is reduced (at most `reduce_on_plateau` times). Returns whether it was.
  bool OnEvaluation(double metric, bool higher_is_better);

  // State for checkpoints.
  nlohmann::json State() const;
  void Restore(const nlohmann::json& state);

 private:
  double base_;
  int64_t total_steps_;
  int64_t warmup_steps_;
  std::string decay_;
  double decay_rate_;
  int64_t decay_steps_;
  bool staircase_;
  double eta_min_;
  int64_t max_reductions_;
  int64_t patience_;
  double reduce_rate_;
  int64_t reductions_ = 0;
  int64_t stale_evaluations_ = 0;
  bool has_best_ = false;
  double best_ = 0;
};

}  // namespace tristage::training

#endif  // TRISTAGE_CORE_TRAINING_OPTIMIZER_H_
