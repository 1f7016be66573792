// The ECD trainer, after Ludwig 0.8's ludwig/schema/trainer.py, optimizers.py and
// lr_scheduler.py.
//
// Differences from Ludwig: learning_rate "auto" (the learning-rate finder) is not supported;
// optimizers are sgd, adam, adamw, adagrad, rmsprop, adamax, nadam, adadelta and lamb (not the
// 8-bit and paged bitsandbytes variants, which need CUDA); Ludwig's batch-size tuning knobs
// (max_batch_size, increase_batch_size_*, gradient_accumulation_steps, effective_batch_size),
// profiling, bucketing and compile are not accepted. In the scheduler, warmup_evaluations is an
// integer (Ludwig validates a float but declares an int) and reduce_eval_split one of the three
// split names (Ludwig takes any string).
#include "core/config/schema.h"

namespace tristage::config {
namespace {

Param WeightDecay() {
  return Number("weight_decay", 0.0).AtLeast(0);
}
Param Eps(double default_value) {
  return Number("eps", default_value).AtLeast(0);
}

std::vector<Param> AdamParams() {
  return {Betas(), Eps(1e-8), WeightDecay(), Bool("amsgrad", false)};
}

Component Sgd() {
  return {"sgd",
          {Number("momentum", 0.0).AtLeast(0), WeightDecay(), Number("dampening", 0.0).AtLeast(0),
           Bool("nesterov", false)}};
}

Component Adagrad() {
  return {"adagrad",
          {Number("initial_accumulator_value", 0.0).AtLeast(0), Number("lr_decay", 0.0).AtLeast(0),
           WeightDecay(), Eps(1e-10)}};
}

Component RmsProp() {
  return {"rmsprop",
          {Number("momentum", 0.0).AtLeast(0), Number("alpha", 0.99).AtLeast(0), Eps(1e-8),
           Bool("centered", false), WeightDecay()}};
}

Component Adamax() {
  return {"adamax", {Betas(), Eps(1e-8), WeightDecay()}};
}

Component Nadam() {
  return {"nadam",
          {Betas(), Eps(1e-8), WeightDecay(), Number("momentum_decay", 4e-3).AtLeast(0)}};
}

Component Adadelta() {
  return {"adadelta", {Number("rho", 0.9).InRange(0, 1), Eps(1e-6), WeightDecay()}};
}

// Ludwig's lamb is bitsandbytes' LAMB; tristage runs torch_optimizer's Lamb, the same update on
// CPU. The 8-bit/paged knobs (amsgrad, adam_w_mode, percentile_clipping, block_wise, max_unorm)
// are accepted at their defaults and refused otherwise (resolve_trainer.cc).
Component Lamb() {
  return {"lamb",
          {Bool("bias_correction", true), Betas(), Eps(1e-8), WeightDecay(),
           Bool("amsgrad", false), Bool("adam_w_mode", true),
           Int("percentile_clipping", 100).InRange(0, 100), Bool("block_wise", false),
           Number("max_unorm", 1.0).InRange(0, 1)}};
}

}  // namespace

const std::vector<Param>& TrainerParams() {
  static const auto* const kParams = new std::vector<Param>{
      Int("epochs", 100).AtLeast(1),
      Int("train_steps", nullptr).AtLeast(1),
      Number("learning_rate", 0.001).InRange(0, 1).Above(0),
      BatchSize("batch_size", "auto", /*nullable=*/false),
      BatchSize("eval_batch_size", nullptr, /*nullable=*/true),
      Int("early_stop", 5).AtLeast(-1),  // -1 disables early stopping
      Choice("regularization_type", "l2", {"l1", "l2", "l1_l2"}).OrNull(),
      Number("regularization_lambda", 0.0).InRange(0, 1),
      Bool("should_shuffle", true),
      Int("steps_per_checkpoint", 0).AtLeast(0),   // 0: checkpoint once per epoch
      Int("checkpoints_per_epoch", 0).AtLeast(0),  // exclusive with steps_per_checkpoint
      Bool("evaluate_training_set", false),
      Choice("learning_rate_scaling", "linear", {"constant", "sqrt", "linear"}),
      Bool("use_mixed_precision", false)};
  return *kParams;
}

const ComponentFamily& OptimizerFamily() {
  static const auto* const kFamily = new ComponentFamily{
      "optimizer",
      "adam",
      {{"adam", AdamParams()},
       {"adamw", AdamParams()},
       Sgd(),
       Adagrad(),
       RmsProp(),
       Adamax(),
       Nadam(),
       Adadelta(),
       Lamb()}};
  return *kFamily;
}

const std::vector<Param>& GradientClippingParams() {
  static const auto* const kParams = new std::vector<Param>{
      Number("clipglobalnorm", 0.5).AtLeast(0).OrNull(), Number("clipnorm", nullptr).AtLeast(0),
      Number("clipvalue", nullptr).AtLeast(0)};
  return *kParams;
}

const std::vector<Param>& LearningRateSchedulerParams() {
  static const auto* const kParams = new std::vector<Param>{
      Choice("decay", nullptr, {"linear", "exponential", "cosine"}),
      Number("decay_rate", 0.96).InRange(0, 1),
      Int("decay_steps", 10000).AtLeast(1),
      Bool("staircase", false),
      Int("reduce_on_plateau", 0).AtLeast(0),
      Int("reduce_on_plateau_patience", 10).AtLeast(0),
      Number("reduce_on_plateau_rate", 0.1).InRange(0, 1),
      Int("warmup_evaluations", 0).AtLeast(0),
      Number("warmup_fraction", 0.0).InRange(0, 1),
      String("reduce_eval_metric", "loss"),
      Choice("reduce_eval_split", "training", {"training", "validation", "test"}),
      Int("t_0", nullptr).AtLeast(1),  // cosine: steps of the first restart period
      Int("t_mult", 1).AtLeast(1),
      Number("eta_min", 0.0).InRange(0, 1)};
  return *kParams;
}

}  // namespace tristage::config
