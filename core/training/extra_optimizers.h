// Optimizers Ludwig offers that libtorch 1.13's C++ API lacks: Adamax, NAdam and Adadelta (the
// update rules of torch.optim's single-tensor implementations; NAdam with torch 2.0's correction
// of mu_product_next, which 1.13 squares by mistake) and LAMB (torch_optimizer's Lamb: an Adam
// step with decoupled weight decay, scaled per tensor by the trust ratio
// min(||w||, 10) / ||step||).
//
// Each is a torch::optim::Optimizer with param groups (the learning rate is set per group, as for
// the built-in ones) and per-parameter state, saved and loaded by torch::save / torch::load like
// torch::optim::Adam, so checkpoints resume exactly.
// Thread safety: none (as torch::optim). Internal to core; includes torch.
#ifndef TRISTAGE_CORE_TRAINING_EXTRA_OPTIMIZERS_H_
#define TRISTAGE_CORE_TRAINING_EXTRA_OPTIMIZERS_H_

#include <torch/optim.h>
#include <torch/serialize.h>

#include <vector>

namespace tristage::training {

// The hyperparameters of all four; each optimizer reads the ones it uses.
struct ExtraOptimizerOptions
    : public torch::optim::OptimizerCloneableOptions<ExtraOptimizerOptions> {
  explicit ExtraOptimizerOptions(double lr = 1e-3) : lr_(lr) {}
  TORCH_ARG(double, lr) = 1e-3;
  TORCH_ARG(double, beta1) = 0.9;
  TORCH_ARG(double, beta2) = 0.999;
  TORCH_ARG(double, eps) = 1e-8;
  TORCH_ARG(double, weight_decay) = 0;
  TORCH_ARG(double, rho) = 0.9;              // adadelta
  TORCH_ARG(double, momentum_decay) = 4e-3;  // nadam
  TORCH_ARG(bool, bias_correction) = true;   // lamb
  TORCH_ARG(double, clamp_value) = 10;       // lamb: the cap on ||w|| in the trust ratio

 public:
  void serialize(torch::serialize::InputArchive& archive) override;
  void serialize(torch::serialize::OutputArchive& archive) const override;
  double get_lr() const override { return lr(); }
  void set_lr(const double lr) override { this->lr(lr); }
};

// Per parameter: the step count and two buffers, named by what each optimizer keeps in them
// (adamax: exp_avg, exp_inf; nadam and lamb: exp_avg, exp_avg_sq; adadelta: square_avg,
// acc_delta), plus NAdam's running product of momentum coefficients.
struct ExtraOptimizerState
    : public torch::optim::OptimizerCloneableParamState<ExtraOptimizerState> {
  TORCH_ARG(int64_t, step) = 0;
  TORCH_ARG(double, mu_product) = 1.0;
  TORCH_ARG(torch::Tensor, first);
  TORCH_ARG(torch::Tensor, second);

 public:
  void serialize(torch::serialize::InputArchive& archive) override;
  void serialize(torch::serialize::OutputArchive& archive) const override;
};

// The shared plumbing; subclasses implement Update for one parameter.
class ExtraOptimizer : public torch::optim::Optimizer {
 public:
  ExtraOptimizer(std::vector<torch::Tensor> params, const ExtraOptimizerOptions& options);

  torch::Tensor step(LossClosure closure = nullptr) override;
  void save(torch::serialize::OutputArchive& archive) const override;
  void load(torch::serialize::InputArchive& archive) override;

 protected:
  // `state` was just created (buffers zero) when state.step() == 0.
  virtual void Update(const ExtraOptimizerOptions& options, torch::Tensor& param,
                      const torch::Tensor& grad, ExtraOptimizerState& state) = 0;
};

class Adamax : public ExtraOptimizer {
 public:
  using ExtraOptimizer::ExtraOptimizer;

 protected:
  void Update(const ExtraOptimizerOptions& options, torch::Tensor& param, const torch::Tensor& grad,
              ExtraOptimizerState& state) override;
};

class NAdam : public ExtraOptimizer {
 public:
  using ExtraOptimizer::ExtraOptimizer;

 protected:
  void Update(const ExtraOptimizerOptions& options, torch::Tensor& param, const torch::Tensor& grad,
              ExtraOptimizerState& state) override;
};

class Adadelta : public ExtraOptimizer {
 public:
  using ExtraOptimizer::ExtraOptimizer;

 protected:
  void Update(const ExtraOptimizerOptions& options, torch::Tensor& param, const torch::Tensor& grad,
              ExtraOptimizerState& state) override;
};

class Lamb : public ExtraOptimizer {
 public:
  using ExtraOptimizer::ExtraOptimizer;

 protected:
  void Update(const ExtraOptimizerOptions& options, torch::Tensor& param, const torch::Tensor& grad,
              ExtraOptimizerState& state) override;
};

}  // namespace tristage::training

#endif  // TRISTAGE_CORE_TRAINING_EXTRA_OPTIMIZERS_H_
