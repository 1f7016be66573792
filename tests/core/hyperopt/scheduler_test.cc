// Trial schedulers: fifo, ASHA's rungs and cutoffs (as Ray's AsyncHyperBandScheduler), config
// errors, and the acceptance simulation of ASHA against fifo on synthetic learning curves.
#include "core/hyperopt/scheduler.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <deque>
#include <iostream>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "gtest/gtest.h"

namespace tristage::hyperopt {
namespace {

using Json = nlohmann::json;
using Decision = TrialScheduler::Decision;

std::unique_ptr<TrialScheduler> Make(const Json& config) {
  absl::StatusOr<std::unique_ptr<TrialScheduler>> scheduler = MakeScheduler(config);
  EXPECT_TRUE(scheduler.ok()) << scheduler.status();
  return scheduler.ok() ? *std::move(scheduler) : nullptr;
}

std::string MakeError(const Json& config) {
  absl::StatusOr<std::unique_ptr<TrialScheduler>> scheduler = MakeScheduler(config);
  EXPECT_FALSE(scheduler.ok()) << "made " << config.dump();
  if (scheduler.ok()) return "";
  EXPECT_EQ(scheduler.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(scheduler.status().message());
}

Json Asha(double grace_period, double reduction_factor, double max_t) {
  return {{"type", "async_hyperband"},
          {"grace_period", grace_period},
          {"reduction_factor", reduction_factor},
          {"max_t", max_t}};
}

TEST(FifoSchedulerTest, AlwaysContinues) {
  for (const Json& config : {Json(), Json{{"type", "fifo"}}}) {
    auto scheduler = Make(config);
    ASSERT_NE(scheduler, nullptr);
    for (int64_t trial = 0; trial < 5; ++trial) {
      for (int64_t epoch = 1; epoch <= 1000; ++epoch) {
        ASSERT_EQ(scheduler->OnEpoch(trial, epoch, epoch * 60.0, 100.0 * trial - epoch),
                  Decision::kContinue);
      }
      scheduler->OnTrialEnd(trial);
    }
  }
}

// The epochs below max_t where ASHA decides: one probe per epoch e. Trial 0 is recorded at every
// rung with score 0; trial 1 scores better (-1) at every epoch but e, where it scores worse (1).
// It stops at e exactly when e is a rung (or max_t).
std::vector<int64_t> RungEpochs(double grace_period, double reduction_factor, int64_t max_t) {
  std::vector<int64_t> rungs;
  for (int64_t probe = 1; probe < max_t; ++probe) {
    auto scheduler = Make(Asha(grace_period, reduction_factor, static_cast<double>(max_t)));
    if (scheduler == nullptr) return {};
    for (int64_t epoch = 1; epoch < max_t; ++epoch) {
      EXPECT_EQ(scheduler->OnEpoch(0, epoch, epoch, 0.0), Decision::kContinue);
    }
    scheduler->OnTrialEnd(0);
    for (int64_t epoch = 1; epoch <= probe; ++epoch) {
      const Decision decision = scheduler->OnEpoch(1, epoch, epoch, epoch == probe ? 1.0 : -1.0);
      if (epoch < probe) {
        EXPECT_EQ(decision, Decision::kContinue);
      } else if (decision == Decision::kStop) {
        rungs.push_back(probe);
      }
    }
  }
  return rungs;
}

TEST(AshaSchedulerTest, RungsSitAtGracePeriodTimesPowersOfReductionFactorBelowMaxT) {
  EXPECT_EQ(RungEpochs(1, 3, 27), (std::vector<int64_t>{1, 3, 9}));
  EXPECT_EQ(RungEpochs(1, 3, 28), (std::vector<int64_t>{1, 3, 9, 27}));
  EXPECT_EQ(RungEpochs(1, 4, 100), (std::vector<int64_t>{1, 4, 16, 64}));
  EXPECT_EQ(RungEpochs(2, 3, 30), (std::vector<int64_t>{2, 6, 18}));
  EXPECT_EQ(RungEpochs(5, 2, 41), (std::vector<int64_t>{5, 10, 20, 40}));
  EXPECT_EQ(RungEpochs(10, 3, 10), (std::vector<int64_t>{}));  // grace_period == max_t
}

// Trials 0, 1, 2 reach rung 1 (grace 1, rf 3) with scores 1, 2, 3; returns the decision for trial
// 3 reaching it with `score`.
Decision FourthTrialAtFirstRung(double score) {
  auto scheduler = Make(Asha(1, 3, 27));
  if (scheduler == nullptr) return Decision::kContinue;
  // The first trial at a rung has nothing to compare with; the second (2) is not in the best third
  // of {1}; the third (3) not in the best third of {1, 2}.
  EXPECT_EQ(scheduler->OnEpoch(0, 1, 1, 1.0), Decision::kContinue);
  EXPECT_EQ(scheduler->OnEpoch(1, 1, 1, 2.0), Decision::kStop);
  EXPECT_EQ(scheduler->OnEpoch(2, 1, 1, 3.0), Decision::kStop);
  return scheduler->OnEpoch(3, 1, 1, score);
}

TEST(AshaSchedulerTest, StopsATrialBelowTheCutoffAndContinuesOneAboveIt) {
  // Ray's cutoff is the 2/3 percentile of the rewards {-1, -2, -3} = -1.667 (numpy's linear
  // interpolation), so scores up to 1.667 continue.
  EXPECT_EQ(FourthTrialAtFirstRung(1.6), Decision::kContinue);
  EXPECT_EQ(FourthTrialAtFirstRung(1.7), Decision::kStop);
  EXPECT_EQ(FourthTrialAtFirstRung(0.5), Decision::kContinue);
  EXPECT_EQ(FourthTrialAtFirstRung(2.5), Decision::kStop);
}

TEST(AshaSchedulerTest, DecidesOnlyAtRungsAndStopsAtMaxT) {
  auto scheduler = Make(Asha(1, 3, 27));
  ASSERT_NE(scheduler, nullptr);
  for (int64_t epoch = 1; epoch < 27; ++epoch) {
    ASSERT_EQ(scheduler->OnEpoch(0, epoch, epoch, 0.0), Decision::kContinue) << epoch;
  }
  EXPECT_EQ(scheduler->OnEpoch(0, 27, 27, 0.0), Decision::kStop);
  // A worse trial passes rung 1 with a good first score, then is judged again only at rung 3.
  EXPECT_EQ(scheduler->OnEpoch(1, 1, 1, -1.0), Decision::kContinue);
  EXPECT_EQ(scheduler->OnEpoch(1, 2, 2, 5.0), Decision::kContinue);
  EXPECT_EQ(scheduler->OnEpoch(1, 3, 3, 5.0), Decision::kStop);
}

TEST(AshaSchedulerTest, TimeTotalSecondsUsesSecondsNotEpochs) {
  auto scheduler = Make({{"type", "asha"},
                         {"time_attr", "time_total_s"},
                         {"grace_period", 10},
                         {"reduction_factor", 3},
                         {"max_t", 60}});
  ASSERT_NE(scheduler, nullptr);
  EXPECT_EQ(scheduler->OnEpoch(0, 1, 4.0, 0.0), Decision::kContinue);
  EXPECT_EQ(scheduler->OnEpoch(0, 2, 12.0, 0.0), Decision::kContinue);  // recorded at rung 10
  // Epoch 100 is no rung and no max_t in seconds; 9 seconds are below the first rung.
  EXPECT_EQ(scheduler->OnEpoch(1, 100, 9.0, 5.0), Decision::kContinue);
  EXPECT_EQ(scheduler->OnEpoch(1, 101, 11.0, 5.0), Decision::kStop);    // worse at rung 10
  EXPECT_EQ(scheduler->OnEpoch(0, 3, 59.5, 0.0), Decision::kContinue);  // recorded at rung 30
  EXPECT_EQ(scheduler->OnEpoch(0, 4, 60.0, 0.0), Decision::kStop);      // max_t
}

TEST(AshaSchedulerTest, DefaultsAreRaysGracePeriodOneReductionFactorFourMaxT100) {
  auto scheduler = Make(Json{{"type", "asha"}});
  ASSERT_NE(scheduler, nullptr);
  for (int64_t epoch = 1; epoch < 100; ++epoch) {
    ASSERT_EQ(scheduler->OnEpoch(0, epoch, epoch, 0.0), Decision::kContinue) << epoch;
  }
  EXPECT_EQ(scheduler->OnEpoch(0, 100, 100, 0.0), Decision::kStop);
  EXPECT_EQ(RungEpochs(1, 4, 100), (std::vector<int64_t>{1, 4, 16, 64}));
}

TEST(AshaSchedulerTest, FailedScoresDoNotStopOrSkewTheCutoff) {
  auto scheduler = Make(Asha(1, 3, 27));
  ASSERT_NE(scheduler, nullptr);
  // A NaN score compares false, as in Ray: the trial continues and is ignored by the cutoff.
  EXPECT_EQ(scheduler->OnEpoch(0, 1, 1, std::nan("")), Decision::kContinue);
  EXPECT_EQ(scheduler->OnEpoch(1, 1, 1, 1.0), Decision::kContinue);
  EXPECT_EQ(scheduler->OnEpoch(2, 1, 1, 2.0), Decision::kStop);
}

struct ErrorCase {
  std::string name;  // test name
  Json config;
  std::string message;
};

class MakeSchedulerErrorTest : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(MakeSchedulerErrorTest, ReportsPathReasonAndHint) {
  EXPECT_EQ(MakeError(GetParam().config), GetParam().message);
}

const ErrorCase kErrors[] = {
    {"NotAnObject", "asha", "hyperopt.scheduler: expected an object, got \"asha\""},
    {"UnknownType",
     {{"type", "hyperband"}},
     "hyperopt.scheduler.type: unknown scheduler 'hyperband' (known: asha, async_hyperband, fifo)"},
    {"ReductionFactorOne",
     {{"type", "asha"}, {"reduction_factor", 1}},
     "hyperopt.scheduler.reduction_factor: must be > 1, got 1"},
    {"ReductionFactorNotANumber",
     {{"type", "asha"}, {"reduction_factor", "3"}},
     "hyperopt.scheduler.reduction_factor: expected a number, got \"3\""},
    {"GracePeriodZero",
     {{"type", "asha"}, {"grace_period", 0}},
     "hyperopt.scheduler.grace_period: must be >= 1, got 0"},
    {"GracePeriodAboveMaxT",
     {{"type", "asha"}, {"grace_period", 200}},
     "hyperopt.scheduler.grace_period: must be <= max_t (100), got 200"},
    {"MaxTNotPositive",
     {{"type", "asha"}, {"max_t", 0}},
     "hyperopt.scheduler.max_t: must be > 0, got 0"},
    {"MaxTBoolean",
     {{"type", "asha"}, {"max_t", true}},
     "hyperopt.scheduler.max_t: expected a number, got true"},
    {"Brackets",
     {{"type", "async_hyperband"}, {"brackets", 3}},
     "hyperopt.scheduler.brackets: only 1 bracket is supported, got 3"},
    {"Metric",
     {{"type", "asha"}, {"metric", "loss"}},
     "hyperopt.scheduler.metric: is set by hyperopt.metric, not by the scheduler"},
    {"Mode",
     {{"type", "fifo"}, {"mode", "min"}},
     "hyperopt.scheduler.mode: is set by hyperopt.goal, not by the scheduler"},
    {"TimeAttr",
     {{"type", "asha"}, {"time_attr", "epoch"}},
     "hyperopt.scheduler.time_attr: unknown time attribute 'epoch' (known: time_total_s, "
     "training_iteration)"},
    {"UnknownKeyCloseToAKnownOne",
     {{"type", "asha"}, {"grace", 2}},
     "hyperopt.scheduler.grace: unknown key (did you mean 'grace_period'?)"},
    {"FifoHasNoKeys",
     {{"type", "fifo"}, {"max_t", 10}},
     "hyperopt.scheduler.max_t: unknown key (known: type)"},
};

INSTANTIATE_TEST_SUITE_P(Errors, MakeSchedulerErrorTest, ::testing::ValuesIn(kErrors),
                         [](const auto& test) { return test.param.name; });

// --- acceptance: ASHA against fifo on synthetic learning curves -------------------------------

// Trial i's validation score at epoch e (minimized): q_i + a_i * exp(-e / tau) + noise. Its final
// quality q_i is what a search wants to find; a_i makes slow starters of some good trials.
struct Curve {
  double quality;
  double amplitude;
  double seconds_per_epoch;
  uint64_t noise_seed;
};

constexpr int kTrials = 32;
constexpr int64_t kMaxEpochs = 27;
constexpr double kTau = 6;
constexpr double kNoise = 0.02;  // sd of the per-epoch noise
// Equal within noise: 3 noise sds (the qualities of 32 trials in [0, 1] lie ~0.03 apart).
constexpr double kTolerance = 3 * kNoise;

std::vector<Curve> Curves(uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> unit(0, 1);
  std::vector<Curve> curves;
  for (int i = 0; i < kTrials; ++i) {
    Curve curve;
    curve.quality = unit(rng);
    curve.amplitude = 0.5 + unit(rng);
    curve.seconds_per_epoch = 0.5 + 1.5 * unit(rng);
    curve.noise_seed = rng();
    curves.push_back(curve);
  }
  return curves;
}

double Score(const Curve& curve, int64_t epoch) {
  std::mt19937_64 rng(curve.noise_seed + static_cast<uint64_t>(epoch));
  std::normal_distribution<double> noise(0, kNoise);
  return curve.quality + curve.amplitude * std::exp(-static_cast<double>(epoch) / kTau) +
         noise(rng);
}

struct Outcome {
  int64_t epochs = 0;                                     // run by all trials together
  double best = std::numeric_limits<double>::infinity();  // best score any trial reached
};

// Runs every trial through `scheduler`, `slots` at a time: the running trial whose next epoch
// ends first reports next (with equal epoch times, concurrent trials reach every rung in the order
// they started, and ASHA would decide exactly as for sequential ones; unequal times let a later
// trial overtake). Each trial reports its best score so far, as the executor does.
Outcome Simulate(TrialScheduler& scheduler, const std::vector<Curve>& curves, size_t slots) {
  struct Running {
    int trial;
    int64_t epoch;
    double seconds;
    double best;
  };
  Outcome outcome;
  std::deque<int> waiting;
  for (int i = 0; i < static_cast<int>(curves.size()); ++i) waiting.push_back(i);
  std::vector<Running> running;
  while (!waiting.empty() || !running.empty()) {
    while (running.size() < slots && !waiting.empty()) {
      running.push_back({waiting.front(), 0, 0, std::numeric_limits<double>::infinity()});
      waiting.pop_front();
    }
    auto next = std::min_element(running.begin(), running.end(), [&](const auto& a, const auto& b) {
      return a.seconds + curves[a.trial].seconds_per_epoch <
             b.seconds + curves[b.trial].seconds_per_epoch;
    });
    const Curve& curve = curves[next->trial];
    next->epoch++;
    next->seconds += curve.seconds_per_epoch;
    next->best = std::min(next->best, Score(curve, next->epoch));
    outcome.epochs++;
    const Decision decision =
        scheduler.OnEpoch(next->trial, next->epoch, next->seconds, next->best);
    if (decision == Decision::kStop || next->epoch == kMaxEpochs) {  // the trainer's epochs
      scheduler.OnTrialEnd(next->trial);
      outcome.best = std::min(outcome.best, next->best);
      running.erase(next);
    }
  }
  return outcome;
}

TEST(AshaAcceptanceTest, SpendsAtMostHalfTheEpochsOfFifoForAnEquallyGoodBest) {
  for (const double grace_period : {1.0, 3.0}) {
    for (const size_t slots : {1, 2}) {
      int64_t fifo_total = 0;
      int64_t asha_total = 0;
      for (uint64_t seed = 1; seed <= 8; ++seed) {
        const std::vector<Curve> curves = Curves(seed);
        auto fifo = Make(Json{{"type", "fifo"}});
        auto asha = Make(Asha(grace_period, 3, kMaxEpochs));
        ASSERT_TRUE(fifo != nullptr && asha != nullptr);
        const Outcome fifo_outcome = Simulate(*fifo, curves, slots);
        const Outcome asha_outcome = Simulate(*asha, curves, slots);
        std::cout << "grace_period " << grace_period << ", " << slots << " concurrent, seed "
                  << seed << ": fifo " << fifo_outcome.epochs << " epochs, best "
                  << fifo_outcome.best << "; asha " << asha_outcome.epochs << " epochs, best "
                  << asha_outcome.best << "\n";
        EXPECT_LE(2 * asha_outcome.epochs, fifo_outcome.epochs)
            << "grace_period " << grace_period << ", slots " << slots << ", seed " << seed;
        EXPECT_NEAR(asha_outcome.best, fifo_outcome.best, kTolerance)
            << "grace_period " << grace_period << ", slots " << slots << ", seed " << seed;
        fifo_total += fifo_outcome.epochs;
        asha_total += asha_outcome.epochs;
      }
      std::cout << "grace_period " << grace_period << ", " << slots << " concurrent: asha ran "
                << asha_total << " of fifo's " << fifo_total << " epochs\n";
    }
  }
}

}  // namespace
}  // namespace tristage::hyperopt
