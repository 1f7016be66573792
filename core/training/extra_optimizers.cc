#include "core/training/extra_optimizers.h"

#include <torch/optim/serialize.h>

#include <cmath>
#include <string>

namespace tristage::training {

void ExtraOptimizerOptions::serialize(torch::serialize::OutputArchive& archive) const {
  _TORCH_OPTIM_SERIALIZE_TORCH_ARG(lr);
  _TORCH_OPTIM_SERIALIZE_TORCH_ARG(beta1);
  _TORCH_OPTIM_SERIALIZE_TORCH_ARG(beta2);
  _TORCH_OPTIM_SERIALIZE_TORCH_ARG(eps);
  _TORCH_OPTIM_SERIALIZE_TORCH_ARG(weight_decay);
  _TORCH_OPTIM_SERIALIZE_TORCH_ARG(rho);
  _TORCH_OPTIM_SERIALIZE_TORCH_ARG(momentum_decay);
  _TORCH_OPTIM_SERIALIZE_TORCH_ARG(bias_correction);
  _TORCH_OPTIM_SERIALIZE_TORCH_ARG(clamp_value);
}

void ExtraOptimizerOptions::serialize(torch::serialize::InputArchive& archive) {
  _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(double, lr);
  _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(double, beta1);
  _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(double, beta2);
  _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(double, eps);
  _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(double, weight_decay);
  _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(double, rho);
  _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(double, momentum_decay);
  _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(bool, bias_correction);
  _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(double, clamp_value);
}

void ExtraOptimizerState::serialize(torch::serialize::OutputArchive& archive) const {
  _TORCH_OPTIM_SERIALIZE_TORCH_ARG(step);
  _TORCH_OPTIM_SERIALIZE_TORCH_ARG(mu_product);
  _TORCH_OPTIM_SERIALIZE_TORCH_ARG(first);
  _TORCH_OPTIM_SERIALIZE_TORCH_ARG(second);
}

void ExtraOptimizerState::serialize(torch::serialize::InputArchive& archive) {
  _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(int64_t, step);
  _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(double, mu_product);
  _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(torch::Tensor, first);
  _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(torch::Tensor, second);
}

ExtraOptimizer::ExtraOptimizer(std::vector<torch::Tensor> params,
                               const ExtraOptimizerOptions& options)
    : Optimizer({torch::optim::OptimizerParamGroup(std::move(params))},
                std::make_unique<ExtraOptimizerOptions>(options)) {}

torch::Tensor ExtraOptimizer::step(LossClosure closure) {
  torch::NoGradGuard no_grad;
  torch::Tensor loss;
  if (closure != nullptr) {
    at::AutoGradMode enable_grad(true);
    loss = closure();
  }
  for (auto& group : param_groups_) {
    const auto& options = static_cast<const ExtraOptimizerOptions&>(group.options());
    for (auto& param : group.params()) {
      if (!param.grad().defined()) continue;
      const std::string key = c10::guts::to_string(param.unsafeGetTensorImpl());
      auto it = state_.find(key);
      if (it == state_.end()) {
        auto fresh = std::make_unique<ExtraOptimizerState>();
        fresh->first(torch::zeros_like(param, torch::MemoryFormat::Preserve));
        fresh->second(torch::zeros_like(param, torch::MemoryFormat::Preserve));
        it = state_.emplace(key, std::move(fresh)).first;
      }
      Update(options, param, param.grad(), static_cast<ExtraOptimizerState&>(*it->second));
    }
  }
  return loss;
}

void ExtraOptimizer::save(torch::serialize::OutputArchive& archive) const {
  torch::optim::serialize<ExtraOptimizerState, ExtraOptimizerOptions>(archive, *this);
}

void ExtraOptimizer::load(torch::serialize::InputArchive& archive) {
  torch::optim::serialize<ExtraOptimizerState, ExtraOptimizerOptions>(archive, *this);
}

void Adamax::Update(const ExtraOptimizerOptions& o, torch::Tensor& param,
                    const torch::Tensor& given, ExtraOptimizerState& state) {
  state.step(state.step() + 1);
  const torch::Tensor grad = o.weight_decay() != 0 ? given.add(param, o.weight_decay()) : given;
  torch::Tensor& exp_avg = state.first();
  torch::Tensor& exp_inf = state.second();
  exp_avg.mul_(o.beta1()).add_(grad, 1 - o.beta1());
  exp_inf.copy_(torch::maximum(exp_inf.mul(o.beta2()), grad.abs().add(o.eps())));
  const double bias_correction = 1 - std::pow(o.beta1(), static_cast<double>(state.step()));
  param.addcdiv_(exp_avg, exp_inf, -o.lr() / bias_correction);
}

void NAdam::Update(const ExtraOptimizerOptions& o, torch::Tensor& param, const torch::Tensor& given,
                   ExtraOptimizerState& state) {
  state.step(state.step() + 1);
  const double step = static_cast<double>(state.step());
  const torch::Tensor grad = o.weight_decay() != 0 ? given.add(param, o.weight_decay()) : given;
  const double bias_correction2 = 1 - std::pow(o.beta2(), step);
  const double mu = o.beta1() * (1 - 0.5 * std::pow(0.96, step * o.momentum_decay()));
  const double mu_next = o.beta1() * (1 - 0.5 * std::pow(0.96, (step + 1) * o.momentum_decay()));
  state.mu_product(state.mu_product() * mu);
  const double mu_product_next = state.mu_product() * mu_next;
  torch::Tensor& exp_avg = state.first();
  torch::Tensor& exp_avg_sq = state.second();
  exp_avg.mul_(o.beta1()).add_(grad, 1 - o.beta1());
  exp_avg_sq.mul_(o.beta2()).addcmul_(grad, grad, 1 - o.beta2());
  const torch::Tensor denom = exp_avg_sq.div(bias_correction2).sqrt().add_(o.eps());
  param.addcdiv_(grad, denom, -o.lr() * (1 - mu) / (1 - state.mu_product()));
  param.addcdiv_(exp_avg, denom, -o.lr() * mu_next / (1 - mu_product_next));
}

void Adadelta::Update(const ExtraOptimizerOptions& o, torch::Tensor& param,
                      const torch::Tensor& given, ExtraOptimizerState& state) {
  state.step(state.step() + 1);
  const torch::Tensor grad = o.weight_decay() != 0 ? given.add(param, o.weight_decay()) : given;
  torch::Tensor& square_avg = state.first();
  torch::Tensor& acc_delta = state.second();
  square_avg.mul_(o.rho()).addcmul_(grad, grad, 1 - o.rho());
  const torch::Tensor std = square_avg.add(o.eps()).sqrt_();
  const torch::Tensor delta = acc_delta.add(o.eps()).sqrt_().div_(std).mul_(grad);
  acc_delta.mul_(o.rho()).addcmul_(delta, delta, 1 - o.rho());
  param.add_(delta, -o.lr());
}

void Lamb::Update(const ExtraOptimizerOptions& o, torch::Tensor& param, const torch::Tensor& grad,
                  ExtraOptimizerState& state) {
  state.step(state.step() + 1);
  const double step = static_cast<double>(state.step());
  torch::Tensor& exp_avg = state.first();
  torch::Tensor& exp_avg_sq = state.second();
  exp_avg.mul_(o.beta1()).add_(grad, 1 - o.beta1());
  exp_avg_sq.mul_(o.beta2()).addcmul_(grad, grad, 1 - o.beta2());
  double step_size = o.lr();
  if (o.bias_correction()) {
    step_size *= std::sqrt(1 - std::pow(o.beta2(), step)) / (1 - std::pow(o.beta1(), step));
  }
  const double weight_norm = std::min(param.norm().item<double>(), o.clamp_value());
  torch::Tensor adam_step = exp_avg / exp_avg_sq.sqrt().add(o.eps());
  if (o.weight_decay() != 0) adam_step.add_(param, o.weight_decay());
  const double adam_norm = adam_step.norm().item<double>();
  const double trust_ratio = (weight_norm == 0 || adam_norm == 0) ? 1.0 : weight_norm / adam_norm;
  param.add_(adam_step, -step_size * trust_ratio);
}

}  // namespace tristage::training
