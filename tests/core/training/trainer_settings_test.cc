// Each trainer setting acts at run time: the learning-rate sequence each schedule produces (read
// back per step from the progress callback), gradient clipping, l1/l2, train_steps, per-output
// loss weights, evaluate_training_set, should_shuffle, every optimizer (the four tristage writes
// checked against torch.optim's update rules), checkpoints_per_epoch, and that training learns.
#include <torch/torch.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "core/config/config.h"
#include "core/model/ecd.h"
#include "core/preprocessing/preprocessing.h"
#include "core/training/evaluator.h"
#include "core/training/extra_optimizers.h"
#include "core/training/optimizer.h"
#include "core/training/trainer.h"
#include "gtest/gtest.h"

namespace tristage::training {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

// Rows of x1, x2 in [-1, 1]; y (number) = 2 x1 - x2 + 3; c (category) the third of x1 + x2 it
// falls in (separable); split column: the first `train` rows train, the next `validation`
// validate, the rest test.
data::Table MakeTable(int64_t rows, int64_t train, int64_t validation, uint64_t seed = 3) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> uniform(-1, 1);
  data::Column x1, x2, y, c, split;
  for (int64_t i = 0; i < rows; ++i) {
    const double a = uniform(rng), b = uniform(rng);
    x1.Append(std::to_string(a), false);
    x2.Append(std::to_string(b), false);
    y.Append(std::to_string(2 * a - b + 3), false);
    const double s = a + b;
    c.Append(s < -0.5 ? "low" : (s < 0.5 ? "mid" : "high"), false);
    split.Append(i < train ? "0" : (i < train + validation ? "1" : "2"), false);
  }
  data::Table table;
  EXPECT_TRUE(table.AddColumn("x1", x1).ok());
  EXPECT_TRUE(table.AddColumn("x2", x2).ok());
  EXPECT_TRUE(table.AddColumn("y", y).ok());
  EXPECT_TRUE(table.AddColumn("c", c).ok());
  EXPECT_TRUE(table.AddColumn("split", split).ok());
  return table;
}

// A config over MakeTable's columns: `trainer` and `outputs` as given.
json Config(const json& trainer,
            const json& outputs = json::parse(R"([{"name": "y", "type": "number"}])")) {
  json config = json::parse(R"({
    "input_features": [{"name": "x1", "type": "number"}, {"name": "x2", "type": "number"}],
    "combiner": {"type": "concat", "num_fc_layers": 1, "output_size": 8, "dropout": 0.0},
    "preprocessing": {"split": {"type": "fixed", "column": "split"}}})");
  config["output_features"] = outputs;
  config["trainer"] = trainer;
  return config;
}

struct Run {
  absl::StatusOr<TrainResult> result = absl::UnknownError("not run");
  std::vector<double> rates;  // per optimizer step, the rate it used
  std::vector<double> batch_losses;
  std::vector<ProgressEvent> evaluations;                      // kEvaluation and kEpochEnd events
  std::vector<std::pair<std::string, torch::Tensor>> initial;  // parameters before training
  torch::jit::Module module;
  json config;
  preprocessing::TrainingData data;
};

// Resolves `user_config`, preprocesses `table` and trains; `options` may set a checkpoint
// directory or should_stop; the module is built after seeding with `init_seed`.
std::unique_ptr<Run> Train(const json& user_config, const data::Table& table,
                           TrainerOptions options = {}, uint64_t init_seed = 11,
                           bool expect_ok = true) {
  auto run = std::make_unique<Run>();
  auto config = config::ResolveConfig(user_config);
  EXPECT_TRUE(config.ok()) << config.status();
  if (!config.ok()) return run;
  run->config = *config;
  auto splits = preprocessing::SplitDataset(run->config, table, 7);
  EXPECT_TRUE(splits.ok()) << splits.status();
  auto data = preprocessing::BuildTrainingData(run->config, *splits);
  EXPECT_TRUE(data.ok()) << data.status();
  run->data = std::move(*data);
  torch::manual_seed(init_seed);
  auto module = model::BuildEcd(run->config, run->data.metadata);
  EXPECT_TRUE(module.ok()) << module.status();
  run->module = std::move(*module);
  for (const auto& p : run->module.named_parameters()) {
    run->initial.emplace_back(p.name, p.value.detach().clone());
  }
  Run* r = run.get();
  options.on_progress = [r](const ProgressEvent& event) {
    if (event.kind == ProgressEvent::Kind::kBatch) {
      r->rates.push_back(event.learning_rate);
      // event.loss is the epoch's running mean; recover this batch's from consecutive means
      r->batch_losses.push_back(event.loss);
    } else {
      r->evaluations.push_back(event);
    }
  };
  run->result = training::Train(run->module, run->config, run->data, options);
  if (expect_ok) EXPECT_TRUE(run->result.ok()) << run->result.status();
  return run;
}

torch::Tensor Param(torch::jit::Module& module, const std::string& name) {
  for (const auto& p : module.named_parameters()) {
    if (p.name == name) return p.value.detach();
  }
  ADD_FAILURE() << "no parameter " << name;
  return torch::Tensor();
}

void ExpectRates(const std::vector<double>& actual, const std::vector<double>& expected) {
  ASSERT_EQ(actual.size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_NEAR(actual[i], expected[i], 1e-12 + 1e-9 * std::abs(expected[i])) << "step " << i;
  }
}

// 64 training rows in batches of 8: 8 steps per epoch.
constexpr int64_t kTrainRows = 64;

data::Table TrainOnly() {
  return MakeTable(kTrainRows, kTrainRows, 0);
}

json Trainer(const json& scheduler, int64_t epochs = 3) {
  return {{"epochs", epochs},
          {"batch_size", 8},
          {"early_stop", -1},
          {"learning_rate", 0.1},
          {"optimizer", {{"type", "sgd"}}},
          {"learning_rate_scheduler", scheduler}};
}

TEST(LearningRateScheduleTest, ConstantWithoutDecay) {
  auto run = Train(Config(Trainer(json::object())), TrainOnly());
  ExpectRates(run->rates, std::vector<double>(24, 0.1));
}

TEST(LearningRateScheduleTest, WarmupFractionRisesLinearlyFromZero) {
  // 24 steps, warmup_fraction 0.25: W = 6 steps at 0.1 * s / 6, then constant.
  auto run = Train(Config(Trainer({{"warmup_fraction", 0.25}})), TrainOnly());
  std::vector<double> expected;
  for (int s = 0; s < 24; ++s) expected.push_back(s < 6 ? 0.1 * s / 6 : 0.1);
  ExpectRates(run->rates, expected);
}

TEST(LearningRateScheduleTest, LinearDecayAfterWarmup) {
  // W = 6; then c = s - 6 and rate 0.1 * (24 - 6 - c) / (24 - 6).
  auto run = Train(Config(Trainer({{"warmup_fraction", 0.25}, {"decay", "linear"}})), TrainOnly());
  std::vector<double> expected;
  for (int s = 0; s < 24; ++s)
    expected.push_back(s < 6 ? 0.1 * s / 6 : 0.1 * (18.0 - (s - 6)) / 18);
  ExpectRates(run->rates, expected);
}

TEST(LearningRateScheduleTest, ExponentialDecayAndStaircase) {
  auto smooth =
      Train(Config(Trainer({{"decay", "exponential"}, {"decay_rate", 0.5}, {"decay_steps", 4}})),
            TrainOnly());
  auto stairs = Train(Config(Trainer({{"decay", "exponential"},
                                      {"decay_rate", 0.5},
                                      {"decay_steps", 4},
                                      {"staircase", true}})),
                      TrainOnly());
  std::vector<double> expected_smooth, expected_stairs;
  for (int s = 0; s < 24; ++s) {
    expected_smooth.push_back(0.1 * std::pow(0.5, 1 + s / 4.0));
    expected_stairs.push_back(0.1 * std::pow(0.5, std::ceil(1 + s / 4.0)));
  }
  ExpectRates(smooth->rates, expected_smooth);
  ExpectRates(stairs->rates, expected_stairs);
}

// CosineAnnealingWarmRestarts: periods of t_0, t_0 * t_mult, ... steps from the rate to eta_min.
std::vector<double> Cosine(int steps, int t_0, int t_mult, double eta_min, int warmup = 0) {
  std::vector<double> rates;
  int period = t_0, into = 0;
  for (int s = 0; s < steps; ++s) {
    if (s < warmup) {
      rates.push_back(0.1 * s / warmup);
      continue;
    }
    rates.push_back(eta_min + (0.1 - eta_min) * 0.5 * (1 + std::cos(M_PI * into / period)));
    if (++into == period) {
      into = 0;
      period *= t_mult;
    }
  }
  return rates;
}

TEST(LearningRateScheduleTest, CosineWarmRestartsFollowT0TMultAndEtaMin) {
  auto run =
      Train(Config(Trainer({{"decay", "cosine"}, {"t_0", 3}, {"t_mult", 2}, {"eta_min", 0.01}})),
            TrainOnly());
  ExpectRates(run->rates, Cosine(24, 3, 2, 0.01));
}

TEST(LearningRateScheduleTest, CosinePeriodDefaultsToStepsPerCheckpoint) {
  // No t_0: Ludwig uses the steps between evaluations; 2 checkpoints per 8-step epoch: 4.
  json trainer = Trainer({{"decay", "cosine"}});
  trainer["checkpoints_per_epoch"] = 2;
  auto run = Train(Config(trainer), TrainOnly());
  ExpectRates(run->rates, Cosine(24, 4, 1, 0.0));
}

TEST(LearningRateScheduleTest, WarmupEvaluationsCountStepsPerCheckpoint) {
  // 4 steps per checkpoint (2 per epoch) x 3 evaluations: 12 warm-up steps, then cosine.
  json trainer = Trainer({{"decay", "cosine"}, {"warmup_evaluations", 3}, {"t_0", 5}});
  trainer["checkpoints_per_epoch"] = 2;
  auto run = Train(Config(trainer), TrainOnly());
  ExpectRates(run->rates, Cosine(24, 5, 1, 0.0, /*warmup=*/12));
}

// A learning rate too small to move the loss: every evaluation after the first is a plateau.
json PlateauTrainer(const std::string& split) {
  json trainer = Trainer({{"reduce_on_plateau", 2},
                          {"reduce_on_plateau_patience", 1},
                          {"reduce_on_plateau_rate", 0.5},
                          {"reduce_eval_split", split}},
                         /*epochs=*/6);
  trainer["learning_rate"] = 1e-9;
  return trainer;
}

TEST(LearningRateScheduleTest, ReduceOnPlateauWatchesTheConfiguredSplit) {
  // Evaluations at epoch ends: 1 sets the best, 2 is bad (1 <= patience), 3 reduces; 4 bad,
  // 5 reduces; then capped at 2 reductions.
  auto run = Train(Config(PlateauTrainer("training")), TrainOnly());
  std::vector<double> expected;
  for (int epoch = 0; epoch < 6; ++epoch) {
    const double rate = 1e-9 * (epoch < 3 ? 1 : (epoch < 5 ? 0.5 : 0.25));
    for (int s = 0; s < 8; ++s) expected.push_back(rate);
  }
  ExpectRates(run->rates, expected);
  // The test split is empty here, so a scheduler watching it never sees a metric: no reduction.
  auto test_split = Train(Config(PlateauTrainer("test")), TrainOnly());
  ExpectRates(test_split->rates, std::vector<double>(48, 1e-9));
}

TEST(LearningRateScheduleTest, ReduceEvalMetricMustBeAMetricOfTheValidationField) {
  json trainer = PlateauTrainer("training");
  trainer["learning_rate_scheduler"]["reduce_eval_metric"] = "accuracy";
  auto config = config::ResolveConfig(Config(trainer));
  ASSERT_FALSE(config.ok());
  EXPECT_NE(config.status().message().find("trainer.learning_rate_scheduler.reduce_eval_metric"),
            std::string::npos)
      << config.status();
}

json SgdSteps(int64_t steps) {
  return {{"train_steps", steps},
          {"batch_size", 64},
          {"early_stop", -1},
          {"learning_rate", 1.0},
          {"optimizer", {{"type", "sgd"}}}};
}

double UpdateNorm(Run& run) {
  double squares = 0;
  for (const auto& [name, before] : run.initial) {
    squares += (Param(run.module, name) - before).pow(2).sum().item<double>();
  }
  return std::sqrt(squares);
}

TEST(TrainerSettingsTest, GlobalNormClippingBoundsTheGradient) {
  // One SGD step at rate 1 moves the weights by exactly the (clipped) gradient.
  json clipped = SgdSteps(1);
  clipped["gradient_clipping"] = {{"clipglobalnorm", 0.01}};
  json unclipped = SgdSteps(1);
  unclipped["gradient_clipping"] = nullptr;
  auto with = Train(Config(clipped), TrainOnly());
  auto without = Train(Config(unclipped), TrainOnly());
  EXPECT_GT(UpdateNorm(*without), 0.05);
  EXPECT_NEAR(UpdateNorm(*with), 0.01, 1e-6);
}

TEST(TrainerSettingsTest, ClipValueBoundsEachGradientEntry) {
  json clipped = SgdSteps(1);
  clipped["gradient_clipping"] = {{"clipglobalnorm", nullptr}, {"clipvalue", 0.001}};
  auto run = Train(Config(clipped), TrainOnly());
  double largest = 0;
  for (const auto& [name, before] : run->initial) {
    largest = std::max(largest, (Param(run->module, name) - before).abs().max().item<double>());
  }
  EXPECT_NEAR(largest, 0.001, 1e-8);
}

TEST(TrainerSettingsTest, ClipNormBoundsEachParametersGradient) {
  json clipped = SgdSteps(1);
  clipped["gradient_clipping"] = {{"clipglobalnorm", nullptr}, {"clipnorm", 0.002}};
  auto run = Train(Config(clipped), TrainOnly());
  double largest = 0;
  for (const auto& [name, before] : run->initial) {
    const double norm = (Param(run->module, name) - before).norm().item<double>();
    EXPECT_LE(norm, 0.002 + 1e-8) << name;
    largest = std::max(largest, norm);
  }
  EXPECT_NEAR(largest, 0.002, 1e-8);
}

double WeightMagnitude(Run& run, int power) {
  double total = 0;
  for (const auto& p : run.module.named_parameters()) {
    if (p.value.dim() >= 2) total += p.value.abs().pow(power).sum().item<double>();
  }
  return total;
}

TEST(TrainerSettingsTest, L1AndL2RegularizationShrinkWeights) {
  json base = SgdSteps(20);
  base["learning_rate"] = 0.05;
  base["batch_size"] = 8;
  base["gradient_clipping"] = nullptr;  // the default's global norm 0.5 would slow the shrinking
  auto plain = Train(Config(base), TrainOnly());
  for (const char* type : {"l1", "l2", "l1_l2"}) {
    json regularized = base;
    regularized["regularization_type"] = type;
    regularized["regularization_lambda"] = 0.1;
    auto run = Train(Config(regularized), TrainOnly());
    const int power = std::string(type) == "l1" ? 1 : 2;  // l1_l2: its l2 part
    double initial = 0;
    for (const auto& [name, before] : run->initial) {
      if (before.dim() >= 2) initial += before.abs().pow(power).sum().item<double>();
    }
    EXPECT_LT(WeightMagnitude(*run, power), 0.9 * WeightMagnitude(*plain, power))
        << type << " initial " << initial;
  }
}

TEST(TrainerSettingsTest, TrainStepsBoundsTheRun) {
  json trainer = Trainer(json::object(), /*epochs=*/100);
  trainer["train_steps"] = 11;
  auto run = Train(Config(trainer), TrainOnly());
  ASSERT_TRUE(run->result.ok());
  EXPECT_EQ(run->result->steps, 11);
  EXPECT_EQ(run->rates.size(), 11u);
  EXPECT_EQ(run->result->epochs, 2);
}

TEST(TrainerSettingsTest, ZeroLossWeightLeavesThatOutputsDecoderUntrained) {
  const json outputs = json::parse(R"([{"name": "y", "type": "number"},
      {"name": "c", "type": "category", "loss": {"weight": 0}}])");
  auto run = Train(Config(SgdSteps(5), outputs), TrainOnly());
  bool seen_c = false, y_moved = false;
  for (const auto& [name, before] : run->initial) {
    const bool moved = !torch::equal(Param(run->module, name), before);
    if (name.rfind("decoder_1", 0) == 0) {
      seen_c = true;
      EXPECT_FALSE(moved) << name;
    }
    if (name.rfind("decoder_0", 0) == 0 && moved) y_moved = true;
  }
  EXPECT_TRUE(seen_c);
  EXPECT_TRUE(y_moved);
  // And the weight scales that output's share of the combined loss.
  const json weighted = json::parse(R"([{"name": "y", "type": "number", "loss": {"weight": 3}}])");
  auto once = Train(Config(SgdSteps(1)), TrainOnly());
  auto thrice = Train(Config(SgdSteps(1), weighted), TrainOnly());
  EXPECT_NEAR(thrice->batch_losses[0], 3 * once->batch_losses[0], 1e-4 * once->batch_losses[0]);
}

TEST(TrainerSettingsTest, EvaluateTrainingSetRecordsTrainingMetrics) {
  const data::Table table = MakeTable(96, 64, 16);
  json trainer = Trainer(json::object(), 2);
  auto off = Train(Config(trainer), table);
  trainer["evaluate_training_set"] = true;
  auto on = Train(Config(trainer), table);
  ASSERT_TRUE(off->result.ok() && on->result.ok());
  EXPECT_TRUE(off->result->training_statistics["training"].empty());
  EXPECT_EQ(on->result->training_statistics["training"]["y"]["loss"].size(), 2u);
  EXPECT_EQ(on->result->training_statistics["validation"]["y"]["loss"].size(), 2u);
}

TEST(TrainerSettingsTest, ShouldShuffleFalseKeepsTheRowOrder) {
  // Same initial weights, different seeds: without shuffling the seed has nothing left to change.
  json trainer = Trainer(json::object(), 2);
  auto weights = [&](bool shuffle, uint64_t seed) {
    trainer["should_shuffle"] = shuffle;
    TrainerOptions options;
    options.random_seed = seed;
    auto run = Train(Config(trainer), TrainOnly(), options);
    return Param(run->module, run->initial.front().first).clone();
  };
  EXPECT_TRUE(torch::equal(weights(false, 1), weights(false, 2)));
  EXPECT_FALSE(torch::equal(weights(true, 1), weights(true, 2)));
}

TEST(TrainerSettingsTest, EveryOptimizerTrainsDifferently) {
  std::vector<torch::Tensor> results;
  const std::vector<std::string> types = {"sgd",    "adam",  "adamw",    "adagrad", "rmsprop",
                                          "adamax", "nadam", "adadelta", "lamb"};
  for (const std::string& type : types) {
    json trainer = SgdSteps(3);
    trainer["learning_rate"] = 0.01;
    trainer["batch_size"] = 16;
    // weight decay set so that adam (L2 in the gradient) and adamw (decoupled) differ
    trainer["optimizer"] = {{"type", type}, {"weight_decay", 0.01}};
    auto run = Train(Config(trainer), TrainOnly());
    const std::string first = run->initial.front().first;
    torch::Tensor after = Param(run->module, first).clone();
    EXPECT_FALSE(torch::equal(after, run->initial.front().second)) << type << " did not move";
    for (size_t i = 0; i < results.size(); ++i) {
      EXPECT_FALSE(torch::allclose(after, results[i])) << type << " == " << types[i];
    }
    results.push_back(after);
  }
}

TEST(TrainerSettingsTest, UnknownOptimizerAndLambKnobsAreRefusedByName) {
  json trainer = SgdSteps(1);
  trainer["optimizer"] = {{"type", "lamb"}, {"block_wise", true}};
  auto config = config::ResolveConfig(Config(trainer));
  ASSERT_FALSE(config.ok());
  EXPECT_NE(config.status().message().find("trainer.optimizer.block_wise"), std::string::npos);
  trainer["optimizer"] = {{"type", "lamb"}, {"bias_correction", false}};
  EXPECT_TRUE(config::ResolveConfig(Config(trainer)).ok());
}

// The loss of the torch.optim reference script (tests/core/training/optimizer_reference.py).
torch::Tensor ReferenceLoss(const torch::Tensor& p) {
  const torch::Tensor coeffs = torch::tensor({0.5, -1.0, 2.0, 0.25, -3.0}, torch::kDouble);
  return (p * coeffs - 1.0).pow(2).sum();
}

std::vector<double> FiveSteps(
    const std::function<std::unique_ptr<torch::optim::Optimizer>(std::vector<torch::Tensor>)>& make,
    int steps = 5, const std::string& reload_after = "") {
  torch::Tensor p = torch::tensor({0.3, -0.7, 1.1, 0.0, 2.5}, torch::kDouble).requires_grad_(true);
  auto optimizer = make({p});
  for (int i = 0; i < steps; ++i) {
    optimizer->zero_grad();
    ReferenceLoss(p).backward();
    optimizer->step();
    if (!reload_after.empty() && i == 1) {  // a checkpoint round trip mid-way
      std::ostringstream out;
      torch::save(*optimizer, out);
      optimizer = make({p});
      std::istringstream in(out.str());
      torch::load(*optimizer, in);
    }
  }
  std::vector<double> values(p.data_ptr<double>(), p.data_ptr<double>() + 5);
  return values;
}

void ExpectValues(const std::vector<double>& actual, const std::vector<double>& expected) {
  ASSERT_EQ(actual.size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) EXPECT_NEAR(actual[i], expected[i], 1e-12) << i;
}

ExtraOptimizerOptions ReferenceOptions(double lr) {
  ExtraOptimizerOptions options(lr);
  options.beta1(0.8).beta2(0.99).eps(1e-8).weight_decay(0.1);
  return options;
}

// Expected values: /usr/bin/python3 (torch 1.13.1) running
// tests/core/training/optimizer_reference.py.
TEST(ExtraOptimizerTest, AdamaxMatchesTorch) {
  auto make = [](std::vector<torch::Tensor> p) {
    return std::make_unique<Adamax>(p, ReferenceOptions(0.01));
  };
  const std::vector<double> expected = {0.35030687604070926, -0.7486270637806379,
                                        1.0499860982126383, 0.050186802238137825,
                                        2.4498539035735005};
  ExpectValues(FiveSteps(make), expected);
  ExpectValues(FiveSteps(make, 5, "reload"), expected);
}

TEST(ExtraOptimizerTest, NAdamMatchesTorchWithTheMuProductCorrection) {
  auto make = [](std::vector<torch::Tensor> p) {
    return std::make_unique<NAdam>(p, ReferenceOptions(0.01).momentum_decay(4e-3));
  };
  const std::vector<double> expected = {0.345126621303712, -0.74406882881026, 1.05516383909947,
                                        0.04521418584505026, 2.4547558837995673};
  ExpectValues(FiveSteps(make), expected);
  ExpectValues(FiveSteps(make, 5, "reload"), expected);
}

TEST(ExtraOptimizerTest, AdadeltaMatchesTorch) {
  auto make = [](std::vector<torch::Tensor> p) {
    return std::make_unique<Adadelta>(p, ReferenceOptions(0.5).rho(0.8).eps(1e-6));
  };
  const std::vector<double> expected = {0.3060518977432293, -0.7060256304872354, 1.093955513355872,
                                        0.006054135056726941, 2.4939450168208075};
  ExpectValues(FiveSteps(make), expected);
  ExpectValues(FiveSteps(make, 5, "reload"), expected);
}

TEST(ExtraOptimizerTest, LambMatchesTorchOptimizersLamb) {
  auto make = [](bool debias) {
    return [debias](std::vector<torch::Tensor> p) {
      return std::make_unique<Lamb>(p, ReferenceOptions(0.01).bias_correction(debias));
    };
  };
  const std::vector<double> debiased = {0.3233713488055105, -0.7229465142115461, 1.0753520860974788,
                                        0.023656063485438923, 2.474026326895781};
  ExpectValues(FiveSteps(make(true)), debiased);
  ExpectValues(FiveSteps(make(true), 5, "reload"), debiased);
  ExpectValues(FiveSteps(make(false)), {0.3609530356392119, -0.7595836595328089, 1.0359178484674363,
                                        0.061706562329667314, 2.4324157913996753});
}

TEST(TrainerSettingsTest, CheckpointsPerEpochEvaluatesAndCheckpointsThatManyTimes) {
  const data::Table table = MakeTable(96, 64, 16);
  json trainer = Trainer(json::object(), 3);
  trainer["checkpoints_per_epoch"] = 4;  // every 2 of the 8 steps
  auto run = Train(Config(trainer), table);
  ASSERT_TRUE(run->result.ok());
  EXPECT_EQ(run->result->training_statistics["validation"]["y"]["loss"].size(), 12u);
  ASSERT_EQ(run->evaluations.size(), 12u);
  for (size_t i = 0; i < run->evaluations.size(); ++i) {
    EXPECT_EQ(run->evaluations[i].step, static_cast<int64_t>(2 * (i + 1)));
    EXPECT_EQ(run->evaluations[i].kind,
              i % 4 == 3 ? ProgressEvent::Kind::kEpochEnd : ProgressEvent::Kind::kEvaluation);
  }
  // Without it: one round per epoch.
  trainer.erase("checkpoints_per_epoch");
  auto plain = Train(Config(trainer), table);
  EXPECT_EQ(plain->result->training_statistics["validation"]["y"]["loss"].size(), 3u);

  // A checkpoint is written at each round: interrupted after step 11, the latest is step 10's.
  const fs::path dir =
      fs::temp_directory_path() / ("tristage_trainer_settings_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  trainer["checkpoints_per_epoch"] = 4;
  TrainerOptions options;
  options.checkpoint_dir = dir.string();
  int batches = 0;
  options.should_stop = [&batches] { return ++batches > 11; };
  auto config = config::ResolveConfig(Config(trainer));
  ASSERT_TRUE(config.ok());
  torch::manual_seed(11);
  auto module = model::BuildEcd(*config, run->data.metadata);
  ASSERT_TRUE(module.ok());
  auto stopped = training::Train(*module, *config, run->data, options);
  EXPECT_EQ(stopped.status().code(), absl::StatusCode::kCancelled);
  std::ifstream in(dir / "latest.json");
  const json latest = json::parse(in);
  EXPECT_EQ(latest["steps"], 10);
  EXPECT_EQ(latest["position_in_epoch"], 2);
  EXPECT_EQ(latest["training_statistics"]["validation"]["y"]["loss"].size(), 5u);
  fs::remove_all(dir);
}

TEST(TrainerSettingsTest, MixedPrecisionIsAcceptedAndChangesNothingOnCpu) {
  json trainer = Trainer(json::object(), 1);
  auto plain = Train(Config(trainer), TrainOnly());
  trainer["use_mixed_precision"] = true;
  auto mixed = Train(Config(trainer), TrainOnly());
  for (const auto& [name, before] : plain->initial) {
    EXPECT_TRUE(torch::equal(Param(plain->module, name), Param(mixed->module, name))) << name;
  }
}

TEST(TrainerSettingsTest, TrainingLearnsASeparableCategory) {
  const data::Table table = MakeTable(600, 400, 100);
  const json outputs = json::parse(R"([{"name": "c", "type": "category"}])");
  json trainer = {{"epochs", 15}, {"batch_size", 16}, {"learning_rate", 0.01}, {"early_stop", -1}};
  auto run = Train(Config(trainer, outputs), table);
  ASSERT_TRUE(run->result.ok());
  const json& validation = run->result->training_statistics["validation"]["c"]["loss"];
  ASSERT_EQ(validation.size(), 15u);
  EXPECT_LT(validation.back().get<double>(), 0.5 * validation.front().get<double>());
  auto evaluation =
      Evaluate(run->module, run->config, run->data.metadata, run->data.test, 64, false, nullptr);
  ASSERT_TRUE(evaluation.ok()) << evaluation.status();
  // Three classes: chance is about 1/3.
  EXPECT_GT(evaluation->metrics["c"]["accuracy"].get<double>(), 0.85) << evaluation->metrics;
}

// Number losses, against their formulas (Ludwig's MAPELoss is torchmetrics' MAPE; RMSPE divides a
// zero target by 1e-4).
TEST(OutputLossTest, MapeAndRmspe) {
  const torch::Tensor predictions = torch::tensor({1.5f, 2.0f, 0.5f});
  const torch::Tensor targets = torch::tensor({1.0f, 4.0f, 0.0f});
  auto loss = [&](const char* type) {
    const json feature = {{"name", "y"}, {"type", "number"}, {"loss", {{"type", type}}}};
    auto value = FeatureLoss(feature, json::object(), predictions, targets);
    EXPECT_TRUE(value.ok()) << value.status();
    return value.ok() ? value->item<double>() : std::nan("");
  };
  EXPECT_NEAR(loss("mean_absolute_percentage_error"), (0.5 + 0.5 + 0.5 / 1.17e-6) / 3, 1);
  EXPECT_NEAR(loss("root_mean_squared_percentage_error"),
              std::sqrt((0.25 + 0.25 + std::pow(0.5 / 1e-4, 2)) / 3), 1e-2);
  const torch::Tensor nonzero = torch::tensor({1.0f, 4.0f, 2.0f});
  const json mape = {
      {"name", "y"}, {"type", "number"}, {"loss", {{"type", "mean_absolute_percentage_error"}}}};
  EXPECT_NEAR(FeatureLoss(mape, json::object(), predictions, nonzero)->item<double>(),
              (0.5 + 0.5 + 0.75) / 3, 1e-6);
}

TEST(OutputLossTest, ClassSimilaritiesSoftenTheTargets) {
  const torch::Tensor logits = torch::tensor({{2.0f, 0.5f, -1.0f}, {0.0f, 1.0f, 0.0f}});
  const torch::Tensor targets = torch::tensor({0, 2}, torch::kLong);
  const json similarities = {{1.0, 0.5, 0.0}, {0.5, 1.0, 0.5}, {0.0, 0.5, 1.0}};
  json feature = {{"name", "c"},
                  {"type", "category"},
                  {"loss",
                   {{"type", "softmax_cross_entropy"},
                    {"class_similarities", similarities},
                    {"class_similarities_temperature", 0.5}}}};
  auto soft = FeatureLoss(feature, json::object(), logits, targets);
  ASSERT_TRUE(soft.ok()) << soft.status();
  // Expected: rows of softmax(similarities / 0.5) as targets, cross-entropy averaged.
  const torch::Tensor matrix =
      torch::tensor({1.0f, 0.5f, 0.0f, 0.5f, 1.0f, 0.5f, 0.0f, 0.5f, 1.0f}).view({3, 3});
  const torch::Tensor soft_targets = torch::softmax(matrix / 0.5, -1).index_select(0, targets);
  const double expected =
      (-(soft_targets * torch::log_softmax(logits, -1)).sum(-1)).mean().item<double>();
  EXPECT_NEAR(soft->item<double>(), expected, 1e-6);
  // Temperature 0: the matrix is not used (Ludwig), plain cross-entropy.
  feature["loss"]["class_similarities_temperature"] = 0;
  auto hard = FeatureLoss(feature, json::object(), logits, targets);
  EXPECT_NEAR(hard->item<double>(),
              torch::nll_loss(torch::log_softmax(logits, -1), targets).item<double>(), 1e-6);
  EXPECT_GT(std::abs(hard->item<double>() - expected), 1e-3);
  // A temperature without a matrix, or a matrix of the wrong size, is refused by name.
  feature["loss"]["class_similarities_temperature"] = 1;
  feature["loss"]["class_similarities"] = nullptr;
  auto missing = FeatureLoss(feature, json::object(), logits, targets);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("class_similarities"), std::string::npos);
  feature["loss"]["class_similarities"] = {{1.0, 0.0}, {0.0, 1.0}};
  EXPECT_FALSE(FeatureLoss(feature, json::object(), logits, targets).ok());
}

// Values of Ludwig 0.10's corn_loss (ludwig/modules/loss_implementations/corn.py run with
// /usr/bin/python3's torch) on these logits.
TEST(OutputLossTest, CornMatchesLudwigsCornLoss) {
  const torch::Tensor logits = torch::tensor({{0.5f, -1.0f, 2.0f},
                                              {1.5f, 0.3f, -0.7f},
                                              {-2.0f, 0.1f, 0.4f},
                                              {0.0f, 1.0f, -1.0f},
                                              {2.5f, 2.0f, 1.0f}});
  const json feature = {{"name", "c"}, {"type", "category"}, {"loss", {{"type", "corn"}}}};
  auto loss =
      FeatureLoss(feature, json::object(), logits, torch::tensor({0, 1, 2, 3, 3}, torch::kLong));
  ASSERT_TRUE(loss.ok()) << loss.status();
  EXPECT_NEAR(loss->item<double>(), 0.7127446532249451, 1e-6);
  auto other = FeatureLoss(feature, json::object(), logits * 2,
                           torch::tensor({3, 0, 1, 2, 2}, torch::kLong));
  EXPECT_NEAR(other->item<double>(), 1.1185009479522705, 1e-6);
}

TEST(OutputLossTest, CornPredictsFromCumulativeProbabilities) {
  const data::Table table = MakeTable(200, 160, 20);
  const json outputs =
      json::parse(R"([{"name": "c", "type": "category", "loss": {"type": "corn"}}])");
  json trainer = {{"epochs", 3}, {"batch_size", 16}, {"early_stop", -1}};
  auto run = Train(Config(trainer, outputs), table);
  ASSERT_TRUE(run->result.ok());
  const int64_t classes = run->data.metadata["c"]["vocab_size"].get<int64_t>();
  auto outputs_of = RunModel(run->module, run->config, run->data.test, 64);
  ASSERT_TRUE(outputs_of.ok()) << outputs_of.status();
  const auto& c = outputs_of->at("c");
  const torch::Tensor logits = c.at("logits");
  ASSERT_EQ(logits.size(1), classes - 1);
  const torch::Tensor cumulative = torch::cumprod(torch::sigmoid(logits), 1);
  EXPECT_TRUE(torch::equal(c.at("predictions"), (cumulative > 0.5).sum(1).to(torch::kLong)));
  const torch::Tensor probabilities = c.at("probabilities");
  ASSERT_EQ(probabilities.size(1), classes);
  EXPECT_TRUE(torch::allclose(probabilities.sum(1), torch::ones({logits.size(0)}), 1e-5, 1e-6));
  // P(y > k) is the mass of the classes above k.
  for (int64_t k = 0; k + 1 < classes; ++k) {
    EXPECT_TRUE(
        torch::allclose(probabilities.slice(1, k + 1).sum(1), cumulative.select(1, k), 1e-5, 1e-6))
        << k;
  }
}

TEST(TrainerSettingsTest, ResumingWithEachNewOptimizerReachesTheUninterruptedResult) {
  for (const char* type : {"adamax", "nadam", "adadelta", "lamb"}) {
    json trainer = Trainer(json::object(), 2);
    trainer["learning_rate"] = 0.01;
    trainer["steps_per_checkpoint"] = 3;
    trainer["optimizer"] = {{"type", type}};
    auto reference = Train(Config(trainer), TrainOnly());
    const fs::path dir = fs::temp_directory_path() /
                         ("tristage_trainer_resume_" + std::to_string(::getpid()) + "_" + type);
    fs::remove_all(dir);
    TrainerOptions options;
    options.checkpoint_dir = dir.string();
    int batches = 0;
    options.should_stop = [&batches] { return ++batches > 7; };  // the latest checkpoint: step 6
    auto interrupted = Train(Config(trainer), TrainOnly(), options, 11, /*expect_ok=*/false);
    EXPECT_EQ(interrupted->result.status().code(), absl::StatusCode::kCancelled) << type;
    TrainerOptions resume;
    resume.checkpoint_dir = dir.string();
    resume.resume = true;
    auto resumed = Train(Config(trainer), TrainOnly(), resume, /*init_seed=*/99);
    for (const auto& [name, ignored] : reference->initial) {
      EXPECT_TRUE(torch::equal(Param(reference->module, name), Param(resumed->module, name)))
          << type << " " << name;
    }
    fs::remove_all(dir);
  }
}

TEST(TrainerSettingsTest, StepsPerCheckpointEvaluatesEveryThatManyStepsAndAtEpochEnds) {
  // Ludwig's rounds every 3 optimizer steps (3, 6, 9, 12, 15), and tristage's at each epoch's
  // end (8, 16).
  json trainer = Trainer(json::object(), 2);
  trainer["steps_per_checkpoint"] = 3;
  auto run = Train(Config(trainer), MakeTable(96, 64, 16));
  std::vector<int64_t> steps;
  for (const ProgressEvent& event : run->evaluations) steps.push_back(event.step);
  EXPECT_EQ(steps, (std::vector<int64_t>{3, 6, 8, 9, 12, 15, 16}));
  EXPECT_EQ(run->result->training_statistics["validation"]["y"]["loss"].size(), 7u);
}

TEST(LearningRateScheduleTest, ReduceOnPlateauFollowsTheMetricsDirection) {
  // A rate that keeps improving the fit: loss falls and r2 rises, so neither direction-aware
  // watcher sees a plateau; a watcher that took r2 as lower-is-better would reduce at once.
  for (const char* metric : {"loss", "r2"}) {
    json trainer = Trainer({{"reduce_on_plateau", 3},
                            {"reduce_on_plateau_patience", 0},
                            {"reduce_on_plateau_rate", 0.5},
                            {"reduce_eval_metric", metric}},
                           /*epochs=*/4);
    trainer["learning_rate"] = 0.01;
    auto run = Train(Config(trainer), TrainOnly());
    ExpectRates(run->rates, std::vector<double>(32, 0.01));
  }
}

}  // namespace
}  // namespace tristage::training
