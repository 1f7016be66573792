#include "core/training/optimizer.h"

#include <cmath>

#include "absl/strings/str_cat.h"

namespace tristage::training {
namespace {

using nlohmann::json;

double Number(const json& section, const char* key, double fallback) {
  auto it = section.find(key);
  return it == section.end() || !it->is_number() ? fallback : it->get<double>();
}

bool Flag(const json& section, const char* key, bool fallback) {
  auto it = section.find(key);
  return it == section.end() || !it->is_boolean() ? fallback : it->get<bool>();
}

std::tuple<double, double> Betas(const json& optimizer) {
  auto it = optimizer.find("betas");
  if (it != optimizer.end() && it->is_array() && it->size() == 2) {
    return {(*it)[0].get<double>(), (*it)[1].get<double>()};
  }
  return {0.9, 0.999};
}

}  // namespace

absl::StatusOr<std::unique_ptr<torch::optim::Optimizer>> MakeOptimizer(
    const json& trainer, std::vector<torch::Tensor> parameters) {
  const json optimizer = trainer.value("optimizer", json::object());
  const std::string type = optimizer.value("type", std::string("adam"));
  const double lr = Number(trainer, "learning_rate", 0.001);
  const double decay = Number(optimizer, "weight_decay", 0.0);
  if (type == "sgd") {
    return std::make_unique<torch::optim::SGD>(parameters,
                                               torch::optim::SGDOptions(lr)
                                                   .momentum(Number(optimizer, "momentum", 0.0))
                                                   .dampening(Number(optimizer, "dampening", 0.0))
                                                   .weight_decay(decay)
                                                   .nesterov(Flag(optimizer, "nesterov", false)));
  }
  if (type == "adam" || type == "adamw") {
    const auto [b1, b2] = Betas(optimizer);
    if (type == "adam") {
      return std::make_unique<torch::optim::Adam>(parameters,
                                                  torch::optim::AdamOptions(lr)
                                                      .betas({b1, b2})
                                                      .eps(Number(optimizer, "eps", 1e-8))
                                                      .weight_decay(decay)
                                                      .amsgrad(Flag(optimizer, "amsgrad", false)));
    }
    return std::make_unique<torch::optim::AdamW>(parameters,
                                                 torch::optim::AdamWOptions(lr)
                                                     .betas({b1, b2})
                                                     .eps(Number(optimizer, "eps", 1e-8))
                                                     .weight_decay(decay)
                                                     .amsgrad(Flag(optimizer, "amsgrad", false)));
  }
  if (type == "adagrad") {
    return std::make_unique<torch::optim::Adagrad>(
        parameters,
        torch::optim::AdagradOptions(lr)
            .lr_decay(Number(optimizer, "lr_decay", 0.0))
            .weight_decay(decay)
            .initial_accumulator_value(Number(optimizer, "initial_accumulator_value", 0.0))
            .eps(Number(optimizer, "eps", 1e-10)));
  }
  if (type == "rmsprop") {
    return std::make_unique<torch::optim::RMSprop>(
        parameters, torch::optim::RMSpropOptions(lr)
                        .alpha(Number(optimizer, "alpha", 0.99))
                        .eps(Number(optimizer, "eps", 1e-8))
                        .weight_decay(decay)
                        .momentum(Number(optimizer, "momentum", 0.0))
                        .centered(Flag(optimizer, "centered", false)));
  }
  return absl::InvalidArgumentError(absl::StrCat("trainer.optimizer.type: unknown optimizer '",
                                                 type,
                                                 "' (known: sgd, adam, adamw, adagrad, rmsprop)"));
}

void SetLearningRate(torch::optim::Optimizer& optimizer, double learning_rate) {
  for (auto& group : optimizer.param_groups()) group.options().set_lr(learning_rate);
}

LearningRateSchedule::LearningRateSchedule(const json& trainer, int64_t total_steps)
    : base_(Number(trainer, "learning_rate", 0.001)),
      total_steps_(std::max<int64_t>(1, total_steps)) {
  const json scheduler = trainer.value("learning_rate_scheduler", json::object());
  warmup_steps_ = static_cast<int64_t>(
      std::llround(Number(scheduler, "warmup_fraction", 0.0) * static_cast<double>(total_steps_)));
  auto decay = scheduler.find("decay");
  decay_ = decay != scheduler.end() && decay->is_string() ? decay->get<std::string>() : "";
  decay_rate_ = Number(scheduler, "decay_rate", 0.96);
  decay_steps_ =
      std::max<int64_t>(1, static_cast<int64_t>(Number(scheduler, "decay_steps", 10000)));
  staircase_ = Flag(scheduler, "staircase", false);
  eta_min_ = Number(scheduler, "eta_min", 0.0);
  max_reductions_ = static_cast<int64_t>(Number(scheduler, "reduce_on_plateau", 0));
  patience_ = std::max<int64_t>(
      1, static_cast<int64_t>(Number(scheduler, "reduce_on_plateau_patience", 10)));
  reduce_rate_ = Number(scheduler, "reduce_on_plateau_rate", 0.1);
}

double LearningRateSchedule::At(int64_t step) const {
  double lr = base_;
  if (warmup_steps_ > 0 && step < warmup_steps_) {
    lr = base_ * static_cast<double>(step + 1) / static_cast<double>(warmup_steps_);
  } else {
    const double after = static_cast<double>(step - warmup_steps_);
    const double span = static_cast<double>(std::max<int64_t>(1, total_steps_ - warmup_steps_));
    if (decay_ == "linear") {
      lr = base_ * std::max(0.0, 1.0 - after / span);
    } else if (decay_ == "exponential") {
      double exponent = after / static_cast<double>(decay_steps_);
      if (staircase_) exponent = std::floor(exponent);
      lr = base_ * std::pow(decay_rate_, exponent);
    } else if (decay_ == "cosine") {
      lr = eta_min_ + (base_ - eta_min_) * 0.5 * (1 + std::cos(M_PI * std::min(1.0, after / span)));
    }
  }
  return lr * std::pow(reduce_rate_, static_cast<double>(reductions_));
}

bool LearningRateSchedule::OnEvaluation(double metric, bool higher_is_better) {
  if (max_reductions_ <= 0 || std::isnan(metric)) return false;
  const bool improved = !has_best_ || (higher_is_better ? metric > best_ : metric < best_);
  if (improved) {
    has_best_ = true;
    best_ = metric;
    stale_evaluations_ = 0;
    return false;
  }
  if (++stale_evaluations_ < patience_ || reductions_ >= max_reductions_) return false;
  ++reductions_;
  stale_evaluations_ = 0;
  return true;
}

json LearningRateSchedule::State() const {
  return {{"reductions", reductions_},
          {"stale_evaluations", stale_evaluations_},
          {"has_best", has_best_},
          {"best", best_}};
}

void LearningRateSchedule::Restore(const json& state) {
  reductions_ = state.value("reductions", int64_t{0});
  stale_evaluations_ = state.value("stale_evaluations", int64_t{0});
  has_best_ = state.value("has_best", false);
  best_ = state.value("best", 0.0);
}

}  // namespace tristage::training
