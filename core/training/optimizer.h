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

// trainer.optimizer.type: sgd, adam, adamw, adagrad, rmsprop (libtorch's), adamax, nadam,
// adadelta, lamb (extra_optimizers.h), with their parameters, at trainer.learning_rate.
// InvalidArgument naming trainer.optimizer.type for others.
absl::StatusOr<std::unique_ptr<torch::optim::Optimizer>> MakeOptimizer(
    const nlohmann::json& trainer, std::vector<torch::Tensor> parameters);

void SetLearningRate(torch::optim::Optimizer& optimizer, double learning_rate);

// trainer.learning_rate_scheduler as Ludwig 0.10's LRScheduler computes it, in closed form so a
// resumed run needs only the plateau state.
//
// Per step (0-based optimizer step s, T total steps, C steps per checkpoint/evaluation):
//   warm-up over W = max(warmup_fraction * T, warmup_evaluations * C) steps: rate * s / max(1, W);
//   then, with c = s - ceil(W) steps into the decay:
//     null: rate; linear: rate * max(0, (T - W - c) / max(1, T - W));
//     exponential: rate * decay_rate^(1 + c / decay_steps), the exponent rounded up if staircase;
//     cosine: torch's CosineAnnealingWarmRestarts, from rate to eta_min over t_0 steps (default:
//       C), each period t_mult times the last.
// Per evaluation (reduce_on_plateau > 0): torch's ReduceLROnPlateau on reduce_eval_metric of the
// validation field on reduce_eval_split (relative threshold 1e-4; a reduction after more than
// `reduce_on_plateau_patience` evaluations without improvement), at most reduce_on_plateau
// reductions, each multiplying every later rate by reduce_on_plateau_rate.
class LearningRateSchedule {
 public:
  // `higher_is_better`: the direction of reduce_eval_metric.
  LearningRateSchedule(const nlohmann::json& trainer, int64_t total_steps,
                       int64_t steps_per_checkpoint, bool higher_is_better);

  // The rate of optimizer step `step` (0-based).
  double At(int64_t step) const;

  // Called after each evaluation with reduce_eval_metric on reduce_eval_split (NaN: not measured,
  // ignored). Returns whether the rate was reduced.
  bool OnEvaluation(double metric);

  bool reduces_on_plateau() const { return max_reductions_ > 0; }
  int64_t reductions() const { return reductions_; }

  // State for checkpoints.
  nlohmann::json State() const;
  void Restore(const nlohmann::json& state);

 private:
  double Decay(int64_t steps_into_decay) const;

  double base_;
  int64_t total_steps_;
  double warmup_steps_;
  std::string decay_;
  double decay_rate_;
  double decay_steps_;
  bool staircase_;
  int64_t t_0_;
  int64_t t_mult_;
  double eta_min_;
  int64_t max_reductions_;
  int64_t patience_;
  double reduce_rate_;
  bool higher_is_better_;
  int64_t reductions_ = 0;
  int64_t bad_evaluations_ = 0;
  bool has_best_ = false;
  double best_ = 0;
};

}  // namespace tristage::training

#endif  // TRISTAGE_CORE_TRAINING_OPTIMIZER_H_
