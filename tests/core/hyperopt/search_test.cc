// Search algorithms: the variant generator's grid and random trials, TPE's behaviour, and the
// acceptance test that TPE finds a known optimum in fewer trials than random search.
#include "core/hyperopt/search.h"

#include <algorithm>
#include <cmath>
#include <iostream>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gtest/gtest.h"

namespace tristage::hyperopt {
namespace {

using Json = nlohmann::json;

std::vector<ParameterSpace> Space(const std::string& parameters) {
  absl::StatusOr<std::vector<ParameterSpace>> space = ParseParameters(Json::parse(parameters));
  EXPECT_TRUE(space.ok()) << space.status();
  return space.ok() ? *space : std::vector<ParameterSpace>();
}

std::unique_ptr<SearchAlgorithm> Make(const Json& search_alg, const std::string& parameters,
                                      int64_t num_samples, uint64_t seed = 42) {
  absl::StatusOr<std::unique_ptr<SearchAlgorithm>> search =
      MakeSearchAlgorithm(search_alg, Space(parameters), num_samples, seed);
  EXPECT_TRUE(search.ok()) << search.status();
  return search.ok() ? *std::move(search) : nullptr;
}

std::string MakeError(const Json& search_alg, const std::string& parameters,
                      int64_t num_samples = 10) {
  absl::StatusOr<std::unique_ptr<SearchAlgorithm>> search =
      MakeSearchAlgorithm(search_alg, Space(parameters), num_samples, 1);
  EXPECT_FALSE(search.ok()) << "made " << search_alg.dump();
  if (search.ok()) return "";
  EXPECT_EQ(search.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(search.status().message());
}

std::vector<Json> SuggestAll(SearchAlgorithm& search, int64_t count) {
  std::vector<Json> suggestions;
  for (int64_t i = 0; i < count; ++i) suggestions.push_back(search.Suggest(i));
  return suggestions;
}

constexpr char kGrid[] = R"({
  "a": {"space": "grid_search", "values": [1, 2]},
  "b": {"space": "grid_search", "values": ["x", "y", "z"]}
})";

constexpr char kContinuous[] = R"({
  "x": {"space": "uniform", "lower": -5, "upper": 5},
  "lr": {"space": "loguniform", "lower": 1e-5, "upper": 0.1}
})";

// --- random / variant_generator -------------------------------------------------------------

TEST(VariantGeneratorTest, GridCombinationsComeInOrderFirstParameterSlowest) {
  auto search = Make(Json{{"type", "variant_generator"}}, kGrid, 1);
  ASSERT_NE(search, nullptr);
  ASSERT_EQ(search->TotalTrials(), 6);
  const std::vector<Json> expected = {{{"a", 1}, {"b", "x"}}, {{"a", 1}, {"b", "y"}},
                                      {{"a", 1}, {"b", "z"}}, {{"a", 2}, {"b", "x"}},
                                      {{"a", 2}, {"b", "y"}}, {{"a", 2}, {"b", "z"}}};
  EXPECT_EQ(SuggestAll(*search, 6), expected);
}

TEST(VariantGeneratorTest, AllGridSpaceRunsEachCombinationOnceWhateverNumSamples) {
  for (int64_t num_samples : {1, 2, 5}) {
    auto search = Make(Json{{"type", "random"}}, kGrid, num_samples);
    ASSERT_NE(search, nullptr);
    EXPECT_EQ(search->TotalTrials(), 6) << num_samples;
    const std::vector<Json> suggestions = SuggestAll(*search, search->TotalTrials());
    const std::set<Json> distinct(suggestions.begin(), suggestions.end());
    EXPECT_EQ(distinct.size(), suggestions.size()) << num_samples;
  }
}

TEST(VariantGeneratorTest, MixedGridAndRandomRunsEveryCombinationNumSamplesTimes) {
  auto search = Make(nullptr, R"({
    "batch_size": {"space": "grid_search", "values": [64, 128, 256]},
    "lr": {"space": "loguniform", "lower": 1e-5, "upper": 0.1}
  })",
                     4);
  ASSERT_NE(search, nullptr);
  ASSERT_EQ(search->TotalTrials(), 12);
  std::set<double> learning_rates;
  int counts[3] = {0, 0, 0};
  const std::vector<Json> suggestions = SuggestAll(*search, 12);
  for (size_t i = 0; i < suggestions.size(); ++i) {
    // Each pass runs the whole grid, as Ray's generator repeats its grid num_samples times.
    EXPECT_EQ(suggestions[i]["batch_size"], (Json::array({64, 128, 256})[i % 3])) << i;
    counts[i % 3]++;
    const double lr = suggestions[i]["lr"].get<double>();
    EXPECT_GE(lr, 1e-5);
    EXPECT_LT(lr, 0.1);
    learning_rates.insert(lr);
  }
  EXPECT_EQ(learning_rates.size(), 12u);  // drawn anew for every trial
}

TEST(VariantGeneratorTest, WithoutGridRunsNumSamplesRandomTrials) {
  auto search = Make(Json{{"type", "random"}}, kContinuous, 7);
  ASSERT_NE(search, nullptr);
  EXPECT_EQ(search->TotalTrials(), 7);
  for (const Json& suggestion : SuggestAll(*search, 7)) {
    EXPECT_GE(suggestion["x"].get<double>(), -5);
    EXPECT_LT(suggestion["x"].get<double>(), 5);
  }
}

TEST(VariantGeneratorTest, SameSeedSameSuggestionsAndDifferentSeedsDiffer) {
  auto first = Make(Json{{"type", "random"}}, kContinuous, 20, 7);
  auto again = Make(Json{{"type", "random"}}, kContinuous, 20, 7);
  auto other = Make(Json{{"type", "random"}}, kContinuous, 20, 8);
  auto seeded = Make(Json{{"type", "random"}, {"random_state", 8}}, kContinuous, 20, 7);
  const std::vector<Json> suggestions = SuggestAll(*first, 20);
  EXPECT_EQ(SuggestAll(*again, 20), suggestions);
  EXPECT_NE(SuggestAll(*other, 20), suggestions);
  // random_state wins over the run's seed.
  EXPECT_EQ(SuggestAll(*seeded, 20), SuggestAll(*other, 20));
}

TEST(VariantGeneratorTest, SuggestionDependsOnTheTrialNotOnCallOrder) {
  auto forward = Make(Json{{"type", "random"}}, kContinuous, 10);
  auto backward = Make(Json{{"type", "random"}}, kContinuous, 10);
  std::vector<Json> reversed(10);
  for (int64_t i = 9; i >= 0; --i) reversed[i] = backward->Suggest(i);
  EXPECT_EQ(SuggestAll(*forward, 10), reversed);
}

// --- tpe / hyperopt ----------------------------------------------------------------------------

// A bowl with its minimum 0 at x = 1.3, lr = 1e-3.
double Bowl(const Json& parameters) {
  const double x = parameters["x"].get<double>() - 1.3;
  const double lr = std::log10(parameters["lr"].get<double>()) + 3;
  return x * x + lr * lr;
}

// Runs `trials` sequential trials of `search` on `objective`; returns the suggestions.
template <typename Objective>
std::vector<Json> RunTrials(SearchAlgorithm& search, int64_t trials, Objective objective) {
  std::vector<Json> suggestions;
  for (int64_t i = 0; i < trials; ++i) {
    suggestions.push_back(search.Suggest(i));
    search.Observe(i, suggestions.back(), objective(suggestions.back()));
  }
  return suggestions;
}

TEST(TpeTest, GridSearchIsAnErrorNamingTheParameter) {
  EXPECT_EQ(MakeError(Json{{"type", "tpe"}}, R"({
    "trainer.batch_size": {"space": "grid_search", "values": [64, 128]},
    "trainer.learning_rate": {"space": "loguniform", "lower": 1e-4, "upper": 0.1}
  })"),
            "hyperopt.parameters.trainer.batch_size.space: grid_search needs search_alg random or "
            "variant_generator (tpe samples every parameter; use choice)");
}

TEST(TpeTest, SameSeedAndObservationsGiveSameSuggestions) {
  auto first = Make(Json{{"type", "tpe"}}, kContinuous, 40, 5);
  auto again = Make(Json{{"type", "hyperopt"}}, kContinuous, 40, 5);
  auto other = Make(Json{{"type", "tpe"}}, kContinuous, 40, 6);
  const std::vector<Json> suggestions = RunTrials(*first, 40, Bowl);
  EXPECT_EQ(RunTrials(*again, 40, Bowl), suggestions);
  EXPECT_NE(RunTrials(*other, 40, Bowl), suggestions);
}

TEST(TpeTest, ObservationOrderDoesNotMatter) {
  auto forward = Make(Json{{"type", "tpe"}}, kContinuous, 30);
  auto backward = Make(Json{{"type", "tpe"}}, kContinuous, 30);
  std::vector<Json> suggestions;
  for (int64_t i = 0; i < 25; ++i) suggestions.push_back(forward->Suggest(i));
  for (int64_t i = 0; i < 25; ++i) forward->Observe(i, suggestions[i], Bowl(suggestions[i]));
  for (int64_t i = 24; i >= 0; --i) backward->Observe(i, suggestions[i], Bowl(suggestions[i]));
  for (int64_t i = 25; i < 30; ++i) EXPECT_EQ(forward->Suggest(i), backward->Suggest(i)) << i;
}

TEST(TpeTest, FirstInitialPointsAreRandomThenObservationsSteer) {
  const Json config = {{"type", "tpe"}, {"n_initial_points", 8}};
  auto minimizing = Make(config, kContinuous, 30);
  auto maximizing = Make(config, kContinuous, 30);
  int differing = 0;
  for (int64_t i = 0; i < 30; ++i) {
    const Json a = minimizing->Suggest(i);
    const Json b = maximizing->Suggest(i);
    if (i < 8) {
      EXPECT_EQ(a, b) << "trial " << i << " should not depend on observations";
    } else if (a != b) {
      ++differing;
    }
    minimizing->Observe(i, a, Bowl(a));
    maximizing->Observe(i, b, -Bowl(b));
  }
  EXPECT_EQ(differing, 22);
}

TEST(TpeTest, ConcentratesNearTheOptimum) {
  auto search = Make(Json{{"type", "tpe"}}, kContinuous, 80);
  const std::vector<Json> suggestions = RunTrials(*search, 80, Bowl);
  // Random search puts 2% of its trials within 0.5 of the optimum (in x and log10 lr);
  // TPE's later trials mostly are.
  int close = 0;
  for (size_t i = 40; i < suggestions.size(); ++i) close += Bowl(suggestions[i]) < 0.25 ? 1 : 0;
  EXPECT_GE(close, 20) << "of 40";
}

TEST(TpeTest, FailedTrialsCountAsWorseThanEveryScoredTrial) {
  // Half of the x range fails; scored trials all have the same score, so only the failures say
  // where not to go.
  auto search = Make(Json{{"type", "tpe"}}, kContinuous, 80);
  const std::vector<Json> suggestions = RunTrials(*search, 80, [](const Json& p) {
    return p["x"].get<double>() > 0 ? std::nullopt : std::optional<double>(1.0);
  });
  int failing = 0;
  for (size_t i = 40; i < suggestions.size(); ++i) {
    failing += suggestions[i]["x"].get<double>() > 0 ? 1 : 0;
  }
  EXPECT_LE(failing, 8) << "of 40 (random search: about 20)";
}

TEST(TpeTest, EveryTrialFailingFallsBackToRandomSuggestions) {
  auto search = Make(Json{{"type", "tpe"}, {"n_initial_points", 2}}, kContinuous, 20);
  for (const Json& suggestion :
       RunTrials(*search, 20, [](const Json&) { return std::optional<double>(); })) {
    EXPECT_GE(suggestion["x"].get<double>(), -5);
    EXPECT_LT(suggestion["x"].get<double>(), 5);
  }
}

TEST(TpeTest, SuggestsBeforeEarlierTrialsAreObserved) {
  // Trials run concurrently: trial 12 is suggested with only trials 0..5 finished.
  auto search = Make(Json{{"type", "tpe"}, {"n_initial_points", 4}}, kContinuous, 20);
  std::vector<Json> suggestions = SuggestAll(*search, 12);
  for (int64_t i = 0; i < 6; ++i) search->Observe(i, suggestions[i], Bowl(suggestions[i]));
  const Json next = search->Suggest(12);
  EXPECT_GE(next["x"].get<double>(), -5);
  EXPECT_LE(next["x"].get<double>(), 5);
}

TEST(TpeTest, EverySpaceKindKeepsItsBoundsAndType) {
  auto search = Make(Json{{"type", "tpe"}, {"n_initial_points", 5}}, R"({
    "c": {"space": "choice", "categories": ["a", "b", "c"]},
    "u": {"space": "uniform", "lower": 0, "upper": 1},
    "qu": {"space": "quniform", "lower": 0.1, "upper": 0.9, "q": 0.25},
    "lu": {"space": "loguniform", "lower": 0.001, "upper": 1},
    "qlu": {"space": "qloguniform", "lower": 1, "upper": 1000, "q": 5},
    "ri": {"space": "randint", "lower": 1, "upper": 4},
    "qri": {"space": "qrandint", "lower": 8, "upper": 64, "q": 8},
    "rn": {"space": "randn", "mean": 2, "sd": 0.5},
    "qrn": {"space": "qrandn", "q": 0.5}
  })",
                     60);
  // Prefers "b" and the low end of every numeric range (the middle for the normal ones), each
  // term scaled to about [0, 1].
  const std::vector<Json> suggestions = RunTrials(*search, 60, [](const Json& p) {
    return (p["c"] == "b" ? 0.0 : 1.0) + p["u"].get<double>() + p["qu"].get<double>() +
           std::log10(p["lu"].get<double>()) / 3 + std::log10(p["qlu"].get<double>()) / 3 +
           (p["ri"].get<double>() - 1) / 2 + p["qri"].get<double>() / 64 +
           std::fabs(p["rn"].get<double>() - 2) + std::fabs(p["qrn"].get<double>());
  });
  for (const Json& p : suggestions) {
    EXPECT_TRUE(p["c"] == "a" || p["c"] == "b" || p["c"] == "c") << p;
    EXPECT_TRUE(p["u"].is_number_float() && p["u"] >= 0.0 && p["u"] <= 1.0) << p;
    EXPECT_TRUE(p["qu"].is_number_float() && p["qu"] >= 0.25 && p["qu"] <= 0.75) << p;
    EXPECT_TRUE(p["lu"].is_number_float() && p["lu"] >= 0.001 && p["lu"] <= 1.0) << p;
    EXPECT_TRUE(p["qlu"].is_number_float() && p["qlu"] >= 5.0 && p["qlu"] <= 1000.0) << p;
    EXPECT_EQ(std::fmod(p["qlu"].get<double>(), 5.0), 0) << p;
    EXPECT_TRUE(p["ri"].is_number_integer() && p["ri"] >= 1 && p["ri"] <= 3) << p;
    EXPECT_TRUE(p["qri"].is_number_integer() && p["qri"] >= 8 && p["qri"] <= 64) << p;
    EXPECT_EQ(p["qri"].get<int64_t>() % 8, 0) << p;
    EXPECT_TRUE(p["rn"].is_number_float()) << p;
    EXPECT_TRUE(p["qrn"].is_number_float()) << p;
    EXPECT_EQ(std::fmod(p["qrn"].get<double>(), 0.5), 0) << p;
  }
  // The model steers towards the small values (random: 1/3 each).
  int low_randint = 0;
  int category_b = 0;
  for (size_t i = 30; i < suggestions.size(); ++i) {
    low_randint += suggestions[i]["ri"] == 1 ? 1 : 0;
    category_b += suggestions[i]["c"] == "b" ? 1 : 0;
  }
  EXPECT_GE(low_randint, 18) << "of 30";
  EXPECT_GE(category_b, 18) << "of 30";
}

// --- configuration errors ----------------------------------------------------------------------

struct ErrorCase {
  std::string name;  // test name
  Json search_alg;
  std::string message;
};

class SearchAlgorithmErrorTest : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(SearchAlgorithmErrorTest, ReportsPathReasonAndHint) {
  EXPECT_EQ(MakeError(GetParam().search_alg, kContinuous), GetParam().message);
}

const ErrorCase kErrors[] = {
    {"NotAnObject", "tpe", "hyperopt.search_alg: expected an object, got \"tpe\""},
    {"UnknownType",
     {{"type", "bayesian"}},
     "hyperopt.search_alg.type: unknown search algorithm 'bayesian' (known: hyperopt, random, tpe, "
     "variant_generator)"},
    {"TypeNotAString", {{"type", 1}}, "hyperopt.search_alg.type: expected a string, got 1"},
    {"TpeUnknownKeyCloseToAKnownOne",
     {{"type", "tpe"}, {"n_initial_point", 5}},
     "hyperopt.search_alg.n_initial_point: unknown key (did you mean 'n_initial_points'?)"},
    {"RandomUnknownKey",
     {{"type", "random"}, {"gamma", 0.5}},
     "hyperopt.search_alg.gamma: unknown key (known: random_state, type)"},
    {"GammaOutOfRange",
     {{"type", "tpe"}, {"gamma", 1}},
     "hyperopt.search_alg.gamma: must be in (0, 1), got 1"},
    {"GammaNotANumber",
     {{"type", "tpe"}, {"gamma", true}},
     "hyperopt.search_alg.gamma: expected a number, got true"},
    {"InitialPointsZero",
     {{"type", "tpe"}, {"n_initial_points", 0}},
     "hyperopt.search_alg.n_initial_points: must be >= 1, got 0"},
    {"CandidatesNotAnInteger",
     {{"type", "hyperopt"}, {"n_ei_candidates", 2.5}},
     "hyperopt.search_alg.n_ei_candidates: expected an integer, got 2.5"},
    {"NegativeRandomState",
     {{"type", "variant_generator"}, {"random_state", -1}},
     "hyperopt.search_alg.random_state: must be >= 0, got -1"},
};

INSTANTIATE_TEST_SUITE_P(Errors, SearchAlgorithmErrorTest, ::testing::ValuesIn(kErrors),
                         [](const auto& test) { return test.param.name; });

TEST(MakeSearchAlgorithmTest, NumSamplesBelowOneIsAnError) {
  EXPECT_EQ(MakeError(nullptr, kContinuous, 0), "hyperopt.num_samples: must be >= 1, got 0");
}

TEST(MakeSearchAlgorithmTest, AcceptsIntegralFloatsForIntegerKeys) {
  EXPECT_NE(
      Make(Json{{"type", "tpe"}, {"n_initial_points", 5.0}, {"random_state", 3}}, kContinuous, 10),
      nullptr);
}

// --- acceptance: TPE beats random search ------------------------------------------------------

// A separable bowl over four parameters of different kinds, minimum 0 at x = 1.3, y = -2.1,
// lr = 1e-3, c = "c".
constexpr char kAcceptanceSpace[] = R"({
  "x": {"space": "uniform", "lower": -5, "upper": 5},
  "y": {"space": "uniform", "lower": -5, "upper": 5},
  "lr": {"space": "loguniform", "lower": 1e-5, "upper": 0.1},
  "c": {"space": "choice", "categories": ["a", "b", "c", "d"]}
})";

double Acceptance(const Json& p) {
  const double x = p["x"].get<double>() - 1.3;
  const double y = p["y"].get<double>() + 2.1;
  const double lr = std::log10(p["lr"].get<double>()) + 3;
  return x * x + y * y + lr * lr + (p["c"] == "c" ? 0 : 1);
}

// Within kEpsilon of the optimum needs, with the right category, a point in the ball of radius
// sqrt(1.25) around it (or of radius 0.5 with a wrong one): 0.46% of the space, so random search
// needs ~150 trials in the median (a geometric distribution: its tail reaches the cap).
constexpr double kEpsilon = 1.25;
constexpr int64_t kCap = 400;
constexpr int kSeeds = 15;

// Trials (1-based) until the best score so far is within kEpsilon of 0; kCap if never.
int64_t TrialsToReach(const std::string& type, uint64_t seed) {
  auto search = Make(Json{{"type", type}}, kAcceptanceSpace, kCap, seed);
  if (search == nullptr) return kCap;
  for (int64_t i = 0; i < kCap; ++i) {
    const Json parameters = search->Suggest(i);
    const double score = Acceptance(parameters);
    search->Observe(i, parameters, score);
    if (score <= kEpsilon) return i + 1;
  }
  return kCap;
}

int64_t Median(std::vector<int64_t> values) {
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

TEST(TpeAcceptanceTest, ReachesTheOptimumInFewerTrialsThanRandomSearch) {
  std::vector<int64_t> tpe;
  std::vector<int64_t> random;
  for (uint64_t seed = 1; seed <= kSeeds; ++seed) {
    tpe.push_back(TrialsToReach("tpe", seed));
    random.push_back(TrialsToReach("random", seed));
  }
  const int64_t tpe_median = Median(tpe);
  const int64_t random_median = Median(random);
  std::cout << "trials to reach " << kEpsilon << " of the optimum (cap " << kCap << ", " << kSeeds
            << " seeds): tpe median " << tpe_median << " [" << absl::StrJoin(tpe, " ")
            << "], random median " << random_median << " [" << absl::StrJoin(random, " ") << "]\n";
  RecordProperty("tpe_median", static_cast<int>(tpe_median));
  RecordProperty("random_median", static_cast<int>(random_median));
  // Clearly, not by a whisker.
  EXPECT_LE(2 * tpe_median, random_median);
}

}  // namespace
}  // namespace tristage::hyperopt
