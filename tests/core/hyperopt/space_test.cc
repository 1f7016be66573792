// ParseParameters and Sample: every space kind, its bounds and JSON types, and every validation
// error with its exact message.
#include "core/hyperopt/space.h"

#include <cmath>
#include <limits>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "gtest/gtest.h"

namespace tristage::hyperopt {
namespace {

using Json = nlohmann::json;

constexpr int kDraws = 4000;

std::vector<ParameterSpace> Parse(const Json& parameters) {
  absl::StatusOr<std::vector<ParameterSpace>> spaces = ParseParameters(parameters);
  EXPECT_TRUE(spaces.ok()) << spaces.status();
  return spaces.ok() ? *spaces : std::vector<ParameterSpace>();
}

ParameterSpace ParseOne(const Json& spec) {
  std::vector<ParameterSpace> spaces = Parse(Json{{"p", spec}});
  EXPECT_EQ(spaces.size(), 1u);
  return spaces.empty() ? ParameterSpace() : spaces[0];
}

std::string ParseError(const Json& parameters) {
  absl::StatusOr<std::vector<ParameterSpace>> spaces = ParseParameters(parameters);
  EXPECT_FALSE(spaces.ok()) << "parsed " << parameters.dump();
  if (spaces.ok()) return "";
  EXPECT_EQ(spaces.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(spaces.status().message());
}

std::vector<Json> Draw(const ParameterSpace& space, uint64_t seed = 7) {
  std::mt19937_64 rng(seed);
  std::vector<Json> draws;
  for (int i = 0; i < kDraws; ++i) draws.push_back(Sample(space, rng));
  return draws;
}

// True when `value` is k * q for an integer k (up to rounding of the product).
bool IsMultiple(double value, double q) {
  const double k = std::round(value / q);
  return std::fabs(k * q - value) <= 1e-9 * std::max(1.0, std::fabs(value));
}

TEST(ParseParametersTest, KeepsKeyOrderAndReadsEveryField) {
  const std::vector<ParameterSpace> spaces = Parse(Json::parse(R"({
    "trainer.learning_rate": {"space": "loguniform", "lower": 0.0001, "upper": 0.1},
    "combiner.num_fc_layers": {"space": "randint", "lower": 1, "upper": 4},
    "title.encoder.type": {"space": "choice", "categories": ["embed", "parallel_cnn"]},
    "trainer.batch_size": {"space": "grid_search", "values": [64, 128]},
    "a.noise": {"space": "qrandn", "mean": 1, "sd": 0.5, "q": 0.1}
  })"));
  ASSERT_EQ(spaces.size(), 5u);
  // nlohmann::json objects are sorted by key.
  EXPECT_EQ(spaces[0].path, "a.noise");
  EXPECT_EQ(spaces[0].kind, SpaceKind::kQRandn);
  EXPECT_DOUBLE_EQ(spaces[0].mean, 1);
  EXPECT_DOUBLE_EQ(spaces[0].sd, 0.5);
  EXPECT_DOUBLE_EQ(spaces[0].q, 0.1);
  EXPECT_EQ(spaces[1].path, "combiner.num_fc_layers");
  EXPECT_EQ(spaces[1].kind, SpaceKind::kRandInt);
  EXPECT_DOUBLE_EQ(spaces[1].lower, 1);
  EXPECT_DOUBLE_EQ(spaces[1].upper, 4);
  EXPECT_EQ(spaces[2].path, "title.encoder.type");
  EXPECT_EQ(spaces[2].kind, SpaceKind::kChoice);
  EXPECT_EQ(spaces[2].values, (std::vector<Json>{"embed", "parallel_cnn"}));
  EXPECT_EQ(spaces[3].path, "trainer.batch_size");
  EXPECT_EQ(spaces[3].kind, SpaceKind::kGridSearch);
  EXPECT_EQ(spaces[3].values, (std::vector<Json>{64, 128}));
  EXPECT_EQ(spaces[4].path, "trainer.learning_rate");
  EXPECT_EQ(spaces[4].kind, SpaceKind::kLogUniform);
  EXPECT_DOUBLE_EQ(spaces[4].lower, 0.0001);
  EXPECT_DOUBLE_EQ(spaces[4].upper, 0.1);
}

TEST(ParseParametersTest, SpaceNamesListEveryKindInEnumOrder) {
  EXPECT_EQ(SpaceNames(),
            (std::vector<std::string>{"choice", "grid_search", "uniform", "quniform", "loguniform",
                                      "qloguniform", "randint", "qrandint", "randn", "qrandn"}));
}

TEST(SampleTest, ChoiceAndGridSearchDrawEveryValueUniformly) {
  for (const char* kind : {"choice", "grid_search"}) {
    const std::string key = std::string(kind) == "choice" ? "categories" : "values";
    const ParameterSpace space =
        ParseOne(Json{{"space", kind}, {key, Json::array({"a", 2, Json{{"x", 1}}, nullptr})}});
    std::map<std::string, int> counts;
    for (const Json& value : Draw(space)) counts[value.dump()]++;
    ASSERT_EQ(counts.size(), 4u) << kind;
    for (const auto& [value, count] : counts) {
      EXPECT_NEAR(count, kDraws / 4, kDraws / 16) << kind << " " << value;
    }
    EXPECT_EQ(counts.count("{\"x\":1}"), 1u);  // any JSON value, as given
  }
}

TEST(SampleTest, UniformGivesFloatsInHalfOpenRange) {
  const ParameterSpace space = ParseOne({{"space", "uniform"}, {"lower", -2}, {"upper", 3}});
  double low = 10;
  double high = -10;
  for (const Json& value : Draw(space)) {
    ASSERT_TRUE(value.is_number_float()) << value;
    const double x = value.get<double>();
    ASSERT_GE(x, -2);
    ASSERT_LT(x, 3);
    low = std::min(low, x);
    high = std::max(high, x);
  }
  EXPECT_LT(low, -1.9);  // spans the range
  EXPECT_GT(high, 2.9);
}

TEST(SampleTest, QUniformRoundsToMultiplesOfQWithinBounds) {
  const ParameterSpace space =
      ParseOne({{"space", "quniform"}, {"lower", 0}, {"upper", 1}, {"q", 0.25}});
  std::set<double> seen;
  for (const Json& value : Draw(space)) {
    ASSERT_TRUE(value.is_number_float()) << value;
    const double x = value.get<double>();
    ASSERT_TRUE(IsMultiple(x, 0.25)) << x;
    ASSERT_GE(x, 0);
    ASSERT_LE(x, 1);
    seen.insert(x);
  }
  EXPECT_EQ(seen, (std::set<double>{0, 0.25, 0.5, 0.75, 1}));

  // Bounds that are not multiples of q: rounding never leaves them.
  const ParameterSpace inner =
      ParseOne({{"space", "quniform"}, {"lower", 0.1}, {"upper", 0.9}, {"q", 0.25}});
  seen.clear();
  for (const Json& value : Draw(inner)) seen.insert(value.get<double>());
  EXPECT_EQ(seen, (std::set<double>{0.25, 0.5, 0.75}));

  // A q of 1.0 still gives floats.
  const ParameterSpace unit =
      ParseOne({{"space", "quniform"}, {"lower", 1}, {"upper", 5}, {"q", 1.0}});
  for (const Json& value : Draw(unit)) {
    ASSERT_TRUE(value.is_number_float()) << value;
    ASSERT_TRUE(IsMultiple(value.get<double>(), 1)) << value;
  }
}

TEST(SampleTest, LogUniformSpansEveryDecadeEvenly) {
  const ParameterSpace space =
      ParseOne({{"space", "loguniform"}, {"lower", 1e-5}, {"upper", 1e-1}, {"base", 10}});
  std::map<int, int> decades;
  for (const Json& value : Draw(space)) {
    ASSERT_TRUE(value.is_number_float()) << value;
    const double x = value.get<double>();
    ASSERT_GE(x, 1e-5);
    ASSERT_LT(x, 1e-1);
    decades[static_cast<int>(std::floor(std::log10(x)))]++;
  }
  // A uniform draw would put 90% of its values in the top decade; log-uniform puts a quarter in
  // each of the four.
  ASSERT_EQ(decades.size(), 4u);
  for (int decade = -5; decade <= -2; ++decade) {
    EXPECT_NEAR(decades[decade], kDraws / 4, kDraws / 16) << "decade 1e" << decade;
  }
}

TEST(SampleTest, QLogUniformRoundsToMultiplesOfQWithinBounds) {
  const ParameterSpace space =
      ParseOne({{"space", "qloguniform"}, {"lower", 1}, {"upper", 1000}, {"q", 5}});
  int below_ten = 0;
  for (const Json& value : Draw(space)) {
    ASSERT_TRUE(value.is_number_float()) << value;
    const double x = value.get<double>();
    ASSERT_TRUE(IsMultiple(x, 5)) << x;
    ASSERT_GE(x, 5);  // the smallest multiple of 5 in [1, 1000]
    ASSERT_LE(x, 1000);
    if (x < 10) ++below_ten;
  }
  // log-uniform: [1, 7.5) (which rounds to 5) holds log(7.5)/log(1000) = 29% of the draws.
  EXPECT_NEAR(below_ten, 0.29 * kDraws, kDraws / 20);
}

TEST(SampleTest, RandIntGivesIntegersWithExclusiveUpper) {
  const ParameterSpace space = ParseOne({{"space", "randint"}, {"lower", 1}, {"upper", 4}});
  std::map<int64_t, int> counts;
  for (const Json& value : Draw(space)) {
    ASSERT_TRUE(value.is_number_integer()) << value;
    counts[value.get<int64_t>()]++;
  }
  EXPECT_EQ(counts.size(), 3u);
  for (int64_t v = 1; v <= 3; ++v) EXPECT_NEAR(counts[v], kDraws / 3, kDraws / 12) << v;
}

TEST(SampleTest, QRandIntGivesMultiplesOfQWithInclusiveUpper) {
  const ParameterSpace space =
      ParseOne({{"space", "qrandint"}, {"lower", 8}, {"upper", 64}, {"q", 8}});
  std::map<int64_t, int> counts;
  for (const Json& value : Draw(space)) {
    ASSERT_TRUE(value.is_number_integer()) << value;
    counts[value.get<int64_t>()]++;
  }
  ASSERT_EQ(counts.size(), 8u);
  for (int64_t v = 8; v <= 64; v += 8) EXPECT_NEAR(counts[v], kDraws / 8, kDraws / 24) << v;

  // q defaults to 1; bounds given as integral floats are integers.
  const ParameterSpace plain = ParseOne({{"space", "qrandint"}, {"lower", 2.0}, {"upper", 3}});
  EXPECT_DOUBLE_EQ(plain.q, 1);
  std::set<int64_t> seen;
  for (const Json& value : Draw(plain)) seen.insert(value.get<int64_t>());
  EXPECT_EQ(seen, (std::set<int64_t>{2, 3}));
}

TEST(SampleTest, RandnHasTheGivenMeanAndSd) {
  const ParameterSpace space = ParseOne({{"space", "randn"}, {"mean", 5}, {"sd", 2}});
  double sum = 0;
  double squares = 0;
  for (const Json& value : Draw(space)) {
    ASSERT_TRUE(value.is_number_float()) << value;
    sum += value.get<double>();
    squares += value.get<double>() * value.get<double>();
  }
  const double mean = sum / kDraws;
  EXPECT_NEAR(mean, 5, 0.15);
  EXPECT_NEAR(std::sqrt(squares / kDraws - mean * mean), 2, 0.1);

  const ParameterSpace standard = ParseOne({{"space", "randn"}});
  EXPECT_DOUBLE_EQ(standard.mean, 0);
  EXPECT_DOUBLE_EQ(standard.sd, 1);
}

TEST(SampleTest, QRandnRoundsToMultiplesOfQ) {
  const ParameterSpace space = ParseOne({{"space", "qrandn"}, {"sd", 3}, {"q", 0.5}});
  std::set<double> seen;
  for (const Json& value : Draw(space)) {
    ASSERT_TRUE(value.is_number_float()) << value;
    ASSERT_TRUE(IsMultiple(value.get<double>(), 0.5)) << value;
    seen.insert(value.get<double>());
  }
  EXPECT_GT(seen.size(), 10u);
}

TEST(SampleTest, SameGeneratorStateGivesSameDraws) {
  const ParameterSpace space = ParseOne({{"space", "uniform"}, {"lower", 0}, {"upper", 1}});
  EXPECT_EQ(Draw(space, 3), Draw(space, 3));
  EXPECT_NE(Draw(space, 3), Draw(space, 4));
}

struct ErrorCase {
  std::string name;  // test name
  Json parameters;
  std::string message;
};

class ParseParametersErrorTest : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(ParseParametersErrorTest, ReportsPathReasonAndHint) {
  EXPECT_EQ(ParseError(GetParam().parameters), GetParam().message);
}

Json One(const std::string& path, const Json& spec) {
  return Json{{path, spec}};
}

const ErrorCase kErrors[] = {
    {"NotAnObject", Json::array({1}),
     "hyperopt.parameters: expected an object mapping config paths to spaces, got [1]"},
    {"EmptyObject", Json::object(),
     "hyperopt.parameters: is empty (expected at least one parameter to search)"},
    {"SpecNotAnObject", One("trainer.learning_rate", 0.1),
     "hyperopt.parameters.trainer.learning_rate: expected an object with a 'space' key, got 0.1"},
    {"MissingSpace", One("x", {{"lower", 1}}),
     "hyperopt.parameters.x: missing required key 'space'"},
    {"SpaceNotAString", One("x", {{"space", 3}}),
     "hyperopt.parameters.x.space: expected a string, got 3"},
    {"UnknownSpace",
     One("trainer.learning_rate", {{"space", "log_uniform"}, {"lower", 1e-4}, {"upper", 0.1}}),
     "hyperopt.parameters.trainer.learning_rate.space: unknown space 'log_uniform' (known: "
     "choice, grid_search, uniform, quniform, loguniform, qloguniform, randint, qrandint, randn, "
     "qrandn)"},
    {"UniformLowerNotBelowUpper", One("x", {{"space", "uniform"}, {"lower", 5}, {"upper", 1}}),
     "hyperopt.parameters.x.upper: uniform needs lower < upper, got lower 5 and upper 1"},
    {"RandIntEqualBounds", One("n", {{"space", "randint"}, {"lower", 3}, {"upper", 3}}),
     "hyperopt.parameters.n.upper: randint needs lower < upper, got lower 3 and upper 3"},
    {"QRandIntLowerAboveUpper", One("n", {{"space", "qrandint"}, {"lower", 4}, {"upper", 3}}),
     "hyperopt.parameters.n.upper: qrandint needs lower <= upper, got lower 4 and upper 3"},
    {"LogUniformLowerNotPositive",
     One("trainer.learning_rate", {{"space", "loguniform"}, {"lower", 0}, {"upper", 0.1}}),
     "hyperopt.parameters.trainer.learning_rate.lower: loguniform needs lower > 0, got 0"},
    {"QLogUniformLowerNegative",
     One("lr", {{"space", "qloguniform"}, {"lower", -1}, {"upper", 1}, {"q", 0.1}}),
     "hyperopt.parameters.lr.lower: qloguniform needs lower > 0, got -1"},
    {"MissingCategories", One("c", {{"space", "choice"}}),
     "hyperopt.parameters.c: missing required key 'categories'"},
    {"EmptyCategories", One("c", {{"space", "choice"}, {"categories", Json::array()}}),
     "hyperopt.parameters.c.categories: must list at least one category"},
    {"CategoriesNotAList", One("c", {{"space", "choice"}, {"categories", "a"}}),
     "hyperopt.parameters.c.categories: expected a list, got \"a\""},
    {"EmptyGridValues", One("g", {{"space", "grid_search"}, {"values", Json::array()}}),
     "hyperopt.parameters.g.values: must list at least one value"},
    {"MissingUpper", One("x", {{"space", "uniform"}, {"lower", 0}}),
     "hyperopt.parameters.x: missing required key 'upper'"},
    {"UnknownKeyCloseToAKnownOne", One("x", {{"space", "uniform"}, {"lower", 0}, {"uper", 1}}),
     "hyperopt.parameters.x.uper: unknown key (did you mean 'upper'?)"},
    {"UnknownKeyListsTheSpaceKeys",
     One("x", {{"space", "uniform"}, {"lower", 0}, {"upper", 1}, {"values", {1}}}),
     "hyperopt.parameters.x.values: unknown key (known: lower, space, upper)"},
    {"BooleanIsNotANumber", One("x", {{"space", "uniform"}, {"lower", true}, {"upper", 1}}),
     "hyperopt.parameters.x.lower: expected a number, got true"},
    {"StringIsNotANumber", One("x", {{"space", "uniform"}, {"lower", 0}, {"upper", "1"}}),
     "hyperopt.parameters.x.upper: expected a number, got \"1\""},
    {"NanIsNotANumber", One("x", {{"space", "uniform"}, {"lower", std::nan("")}, {"upper", 1}}),
     "hyperopt.parameters.x.lower: expected a finite number, got .nan"},
    {"RandIntNeedsIntegers", One("n", {{"space", "randint"}, {"lower", 1.5}, {"upper", 4}}),
     "hyperopt.parameters.n.lower: expected an integer, got 1.5"},
    {"QRandIntNeedsIntegerQ",
     One("n", {{"space", "qrandint"}, {"lower", 1}, {"upper", 4}, {"q", 0.5}}),
     "hyperopt.parameters.n.q: expected an integer, got 0.5"},
    {"QRandIntQBelowOne", One("n", {{"space", "qrandint"}, {"lower", 1}, {"upper", 4}, {"q", 0}}),
     "hyperopt.parameters.n.q: qrandint needs q >= 1, got 0"},
    {"QUniformMissingQ", One("x", {{"space", "quniform"}, {"lower", 0}, {"upper", 1}}),
     "hyperopt.parameters.x: missing required key 'q'"},
    {"QUniformQNotPositive",
     One("x", {{"space", "quniform"}, {"lower", 0}, {"upper", 1}, {"q", -0.5}}),
     "hyperopt.parameters.x.q: quniform needs q > 0, got -0.5"},
    {"QUniformNoMultipleInRange",
     One("x", {{"space", "quniform"}, {"lower", 0.1}, {"upper", 0.2}, {"q", 0.5}}),
     "hyperopt.parameters.x.q: no multiple of q 0.5 lies within [0.1, 0.2]"},
    {"LogBaseOne", One("lr", {{"space", "loguniform"}, {"lower", 1}, {"upper", 2}, {"base", 1}}),
     "hyperopt.parameters.lr.base: must be a number > 0 other than 1, got 1"},
    {"RandnSdNotPositive", One("z", {{"space", "randn"}, {"sd", 0}}),
     "hyperopt.parameters.z.sd: randn needs sd > 0, got 0"},
    {"QRandnMissingQ", One("z", {{"space", "qrandn"}}),
     "hyperopt.parameters.z: missing required key 'q'"},
    {"SecondParameterIsChecked",
     Json({{"a", {{"space", "choice"}, {"categories", {1}}}},
           {"b", {{"space", "randn"}, {"sigma", 2}}}}),
     "hyperopt.parameters.b.sigma: unknown key (known: mean, sd, space)"},
};

INSTANTIATE_TEST_SUITE_P(Errors, ParseParametersErrorTest, ::testing::ValuesIn(kErrors),
                         [](const auto& test) { return test.param.name; });

}  // namespace
}  // namespace tristage::hyperopt
