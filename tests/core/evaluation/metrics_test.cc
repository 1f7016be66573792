#include "core/evaluation/metrics.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "gtest/gtest.h"

namespace tristage::evaluation {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

using Names = std::vector<std::string>;

// EXPECT_TRUE(Contains(message, "part")) reports both strings when it fails.
::testing::AssertionResult Contains(absl::string_view text, absl::string_view part) {
  if (absl::StrContains(text, part)) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "'" << text << "' does not contain '" << part << "'";
}

EvalData Binary(std::vector<float> targets, std::vector<float> predictions,
                std::vector<float> probabilities) {
  EvalData data;
  data.type = "binary";
  data.rows = static_cast<int64_t>(targets.size());
  data.targets = std::move(targets);
  data.predictions = std::move(predictions);
  data.probabilities = std::move(probabilities);
  return data;
}

// Binary data whose probabilities are not under test: the predictions, as probabilities.
EvalData Binary(std::vector<float> targets, std::vector<float> predictions) {
  std::vector<float> probabilities = predictions;
  return Binary(std::move(targets), std::move(predictions), std::move(probabilities));
}

EvalData Category(int64_t width, std::vector<float> targets, std::vector<float> predictions,
                  std::vector<float> probabilities, int top_k = 3) {
  EvalData data;
  data.type = "category";
  data.rows = static_cast<int64_t>(targets.size());
  data.width = width;
  data.targets = std::move(targets);
  data.predictions = std::move(predictions);
  data.probabilities = std::move(probabilities);
  data.top_k = top_k;
  return data;
}

EvalData Number(std::vector<float> targets, std::vector<float> predictions) {
  EvalData data;
  data.type = "number";
  data.rows = static_cast<int64_t>(targets.size());
  data.targets = std::move(targets);
  data.predictions = std::move(predictions);
  return data;
}

// Rows of `width` values, flattened row-major.
EvalData Wide(const std::string& type, int64_t width, std::vector<float> targets,
              std::vector<float> predictions) {
  EvalData data;
  data.type = type;
  data.width = width;
  data.rows = static_cast<int64_t>(targets.size()) / width;
  data.targets = std::move(targets);
  data.predictions = std::move(predictions);
  if (type == "set") data.probabilities = data.predictions;
  return data;
}

// One metric of ComputeMetrics(data); NaN (and a test failure) when it cannot be computed.
double Metric(const EvalData& data, const std::string& name) {
  absl::StatusOr<nlohmann::json> metrics = ComputeMetrics(data);
  EXPECT_TRUE(metrics.ok()) << metrics.status();
  if (!metrics.ok()) return kNaN;
  EXPECT_TRUE(metrics->contains(name)) << metrics->dump();
  if (!metrics->contains(name)) return kNaN;
  return metrics->at(name).get<double>();
}

// ---- Registry -------------------------------------------------------------------------------

TEST(MetricRegistryTest, MetricNamesForListsLudwigNamesInStableOrder) {
  EXPECT_EQ(MetricNamesFor("binary"),
            (Names{"accuracy", "precision", "recall", "specificity", "roc_auc"}));
  EXPECT_EQ(MetricNamesFor("category"), (Names{"accuracy", "hits_at_k"}));
  EXPECT_EQ(MetricNamesFor("number"),
            (Names{"mean_squared_error", "mean_absolute_error", "root_mean_squared_error", "r2",
                   "mean_absolute_percentage_error"}));
  EXPECT_EQ(MetricNamesFor("set"), (Names{"jaccard"}));
  EXPECT_EQ(MetricNamesFor("vector"), (Names{"mean_squared_error", "mean_absolute_error", "r2"}));
}

TEST(MetricRegistryTest, MetricNamesForUnknownTypeIsEmpty) {
  EXPECT_TRUE(MetricNamesFor("text").empty());
  EXPECT_TRUE(MetricNamesFor("").empty());
}

TEST(MetricRegistryTest, HigherIsBetterForScores) {
  for (const char* name : {"accuracy", "precision", "recall", "specificity", "roc_auc", "hits_at_k",
                           "r2", "jaccard"}) {
    absl::StatusOr<bool> higher = HigherIsBetter(name);
    ASSERT_TRUE(higher.ok()) << name << ": " << higher.status();
    EXPECT_TRUE(*higher) << name;
  }
}

TEST(MetricRegistryTest, LowerIsBetterForLossAndErrors) {
  for (const char* name : {"loss", "mean_squared_error", "mean_absolute_error",
                           "root_mean_squared_error", "mean_absolute_percentage_error"}) {
    absl::StatusOr<bool> higher = HigherIsBetter(name);
    ASSERT_TRUE(higher.ok()) << name << ": " << higher.status();
    EXPECT_FALSE(*higher) << name;
  }
}

TEST(MetricRegistryTest, HigherIsBetterUnknownNameIsNotFound) {
  absl::StatusOr<bool> higher = HigherIsBetter("acuracy");
  EXPECT_EQ(higher.status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(Contains(higher.status().message(), "acuracy"));
}

TEST(MetricRegistryTest, LossIsNotAComputedMetric) {
  for (const char* type : {"binary", "category", "number", "set", "vector"}) {
    for (const std::string& name : MetricNamesFor(type)) EXPECT_NE(name, "loss") << type;
  }
}

// The test binary has threads (from libraries core links), so death tests re-execute the binary
// rather than fork it as it is.
class MetricRegistryDeathTest : public ::testing::Test {
 protected:
  void SetUp() override { GTEST_FLAG_SET(death_test_style, "threadsafe"); }
};

TEST_F(MetricRegistryDeathTest, DuplicateNameAndTypeAborts) {
  EXPECT_DEATH(RegisterMetric({"accuracy", {"binary"}, true, [](const EvalData&) { return 0.0; }}),
               "accuracy.*duplicate");
}

TEST_F(MetricRegistryDeathTest, UnknownOutputTypeAborts) {
  EXPECT_DEATH(RegisterMetric({"bleu", {"txt"}, true, [](const EvalData&) { return 0.0; }}),
               "unknown output type 'txt'");
}

TEST_F(MetricRegistryDeathTest, DisagreeingDirectionForOneNameAborts) {
  EXPECT_DEATH(RegisterMetric({"r2", {"set"}, false, [](const EvalData&) { return 0.0; }}),
               "higher_is_better");
}

// ---- binary -----------------------------------------------------------------------------------

// targets 1 1 1 0 0 0, predictions 1 0 0 1 0 0: TP 1, FN 2, FP 1, TN 2.
TEST(BinaryMetricsTest, CountPredictionsAgainstTargets) {
  const EvalData data = Binary({1, 1, 1, 0, 0, 0}, {1, 0, 0, 1, 0, 0});
  EXPECT_DOUBLE_EQ(Metric(data, "accuracy"), 3.0 / 6.0);
  EXPECT_DOUBLE_EQ(Metric(data, "precision"), 1.0 / 2.0);
  EXPECT_DOUBLE_EQ(Metric(data, "recall"), 1.0 / 3.0);
  EXPECT_DOUBLE_EQ(Metric(data, "specificity"), 2.0 / 3.0);
}

TEST(BinaryMetricsTest, PrecisionIsZeroWithoutPredictedPositives) {
  EXPECT_EQ(Metric(Binary({1, 0, 1}, {0, 0, 0}), "precision"), 0.0);
}

TEST(BinaryMetricsTest, RecallIsZeroWithoutPositiveTargets) {
  EXPECT_EQ(Metric(Binary({0, 0, 0}, {1, 0, 0}), "recall"), 0.0);
}

TEST(BinaryMetricsTest, SpecificityIsZeroWithoutNegativeTargets) {
  EXPECT_EQ(Metric(Binary({1, 1}, {1, 0}), "specificity"), 0.0);
}

TEST(BinaryMetricsTest, ThresholdMetricsUseThePredictionsNotTheProbabilities) {
  // The probabilities would all be positives at 0.5; the predictions are all negatives.
  const EvalData data = Binary({1, 0}, {0, 0}, {0.9f, 0.8f});
  EXPECT_EQ(Metric(data, "precision"), 0.0);
  EXPECT_DOUBLE_EQ(Metric(data, "accuracy"), 0.5);
}

// Positives score 0.9, 0.5, 0.3; negatives 0.5, 0.2, 0.1. Of the 9 (positive, negative) pairs the
// positive wins 7 and ties 1 (0.5 vs 0.5), so the area is (7 + 0.5) / 9.
TEST(BinaryMetricsTest, RocAucAveragesTiedScores) {
  const EvalData data =
      Binary({1, 1, 1, 0, 0, 0}, {1, 0, 0, 1, 0, 0}, {0.9f, 0.5f, 0.3f, 0.5f, 0.2f, 0.1f});
  EXPECT_DOUBLE_EQ(Metric(data, "roc_auc"), 7.5 / 9.0);
}

TEST(BinaryMetricsTest, RocAucDoesNotDependOnRowOrder) {
  const EvalData data =
      Binary({0, 1, 0, 1, 0, 1}, {0, 0, 0, 0, 0, 0}, {0.1f, 0.3f, 0.5f, 0.9f, 0.2f, 0.5f});
  EXPECT_DOUBLE_EQ(Metric(data, "roc_auc"), 7.5 / 9.0);
}

TEST(BinaryMetricsTest, RocAucIsOneForPerfectRankingAndZeroForReversed) {
  EXPECT_DOUBLE_EQ(Metric(Binary({1, 0, 1, 0}, {0, 0, 0, 0}, {0.8f, 0.1f, 0.6f, 0.4f}), "roc_auc"),
                   1.0);
  EXPECT_DOUBLE_EQ(Metric(Binary({0, 1, 0, 1}, {0, 0, 0, 0}, {0.8f, 0.1f, 0.6f, 0.4f}), "roc_auc"),
                   0.0);
}

TEST(BinaryMetricsTest, RocAucIsHalfWhenEveryScoreTies) {
  EXPECT_DOUBLE_EQ(
      Metric(Binary({1, 0, 0, 1, 0}, {0, 0, 0, 0, 0}, {0.3f, 0.3f, 0.3f, 0.3f, 0.3f}), "roc_auc"),
      0.5);
}

TEST(BinaryMetricsTest, RocAucIsNaNWithOnlyOneClass) {
  EXPECT_TRUE(std::isnan(Metric(Binary({1, 1, 1}, {1, 0, 1}, {0.9f, 0.2f, 0.7f}), "roc_auc")));
  EXPECT_TRUE(std::isnan(Metric(Binary({0, 0}, {0, 1}, {0.1f, 0.6f}), "roc_auc")));
}

TEST(BinaryMetricsTest, RatiosAreZeroWithoutRows) {
  const EvalData data = Binary({}, {});
  EXPECT_EQ(Metric(data, "accuracy"), 0.0);
  EXPECT_EQ(Metric(data, "precision"), 0.0);
  EXPECT_TRUE(std::isnan(Metric(data, "roc_auc")));
}

// ---- category ---------------------------------------------------------------------------------

TEST(CategoryMetricsTest, AccuracyIsTheFractionOfExactPredictions) {
  const EvalData data =
      Category(3, {0, 1, 2, 1}, {0, 2, 2, 1}, {1, 0, 0, 0, 0, 1, 0, 0, 1, 0, 1, 0});
  EXPECT_DOUBLE_EQ(Metric(data, "accuracy"), 3.0 / 4.0);
}

// Target ranks by row (classes ranked before the target): 0, 1, 1 (tie with class 0, which is
// lower), 1 (class 2 ties but is higher), 2 (class 1 above, class 0 ties lower).
EvalData HitsExample(int top_k) {
  return Category(3, {0, 1, 2, 1, 2}, {0, 2, 0, 0, 1},
                  {0.6f, 0.3f, 0.1f,     //
                   0.2f, 0.3f, 0.5f,     //
                   0.4f, 0.2f, 0.4f,     //
                   0.5f, 0.25f, 0.25f,   //
                   0.25f, 0.5f, 0.25f},  //
                  top_k);
}

TEST(CategoryMetricsTest, HitsAtKCountsTargetsAmongTheTopKProbabilities) {
  EXPECT_DOUBLE_EQ(Metric(HitsExample(1), "hits_at_k"), 1.0 / 5.0);
  EXPECT_DOUBLE_EQ(Metric(HitsExample(2), "hits_at_k"), 4.0 / 5.0);
}

TEST(CategoryMetricsTest, HitsAtKBreaksTiesByLowerClassIndex) {
  const std::vector<float> tied = {0.4f, 0.4f, 0.2f};
  EXPECT_DOUBLE_EQ(Metric(Category(3, {0}, {0}, tied, 1), "hits_at_k"), 1.0);
  EXPECT_DOUBLE_EQ(Metric(Category(3, {1}, {0}, tied, 1), "hits_at_k"), 0.0);
  EXPECT_DOUBLE_EQ(Metric(Category(3, {1}, {0}, tied, 2), "hits_at_k"), 1.0);
}

TEST(CategoryMetricsTest, HitsAtKIsOneWhenKReachesTheNumberOfClasses) {
  EXPECT_DOUBLE_EQ(Metric(HitsExample(3), "hits_at_k"), 1.0);
  EXPECT_DOUBLE_EQ(Metric(HitsExample(10), "hits_at_k"), 1.0);
}

TEST(CategoryMetricsTest, HitsAtKUsesProbabilitiesNotPredictions) {
  // Every prediction is wrong, but each target has the highest probability.
  const EvalData data = Category(2, {0, 1}, {1, 0}, {0.7f, 0.3f, 0.1f, 0.9f}, 1);
  EXPECT_DOUBLE_EQ(Metric(data, "accuracy"), 0.0);
  EXPECT_DOUBLE_EQ(Metric(data, "hits_at_k"), 1.0);
}

// ---- number -----------------------------------------------------------------------------------

// Errors p - t: 0.5, 0, -1, 2. Squares sum to 5.25; the targets' mean is 1.25 and their squared
// deviations sum to 0.0625 + 0.5625 + 7.5625 + 10.5625 = 18.75.
TEST(NumberMetricsTest, MatchHandComputedValues) {
  const EvalData data = Number({1, 2, 4, -2}, {1.5f, 2, 3, 0});
  EXPECT_DOUBLE_EQ(Metric(data, "mean_squared_error"), 1.3125);
  EXPECT_DOUBLE_EQ(Metric(data, "mean_absolute_error"), 0.875);
  EXPECT_NEAR(Metric(data, "root_mean_squared_error"), 1.1456439237389600, 1e-15);
  EXPECT_DOUBLE_EQ(Metric(data, "r2"), 0.72);
  // (0.5/1 + 0/2 + 1/4 + 2/2) / 4, a fraction rather than a percentage.
  EXPECT_DOUBLE_EQ(Metric(data, "mean_absolute_percentage_error"), 0.4375);
}

TEST(NumberMetricsTest, MapeDividesZeroTargetsByEpsilon) {
  // |1 - 0| / 1.17e-6 for the first row, |3 - 2| / 2 for the second.
  const double expected = (1.0 / 1.17e-6 + 0.5) / 2.0;
  EXPECT_NEAR(Metric(Number({0, 2}, {1, 3}), "mean_absolute_percentage_error"), expected,
              expected * 1e-12);
}

TEST(NumberMetricsTest, R2IsNegativeWhenWorseThanTheMean) {
  // Targets 1, 3 (mean 2, SS_tot 2); predictions 3, 1 (SS_res 8).
  EXPECT_DOUBLE_EQ(Metric(Number({1, 3}, {3, 1}), "r2"), 1.0 - 8.0 / 2.0);
}

TEST(NumberMetricsTest, R2IsOneForPerfectPredictionsEvenOfConstantTargets) {
  EXPECT_DOUBLE_EQ(Metric(Number({1, 2, 3}, {1, 2, 3}), "r2"), 1.0);
  EXPECT_DOUBLE_EQ(Metric(Number({3, 3, 3}, {3, 3, 3}), "r2"), 1.0);
}

TEST(NumberMetricsTest, R2IsZeroForMissedConstantTargets) {
  EXPECT_DOUBLE_EQ(Metric(Number({3, 3, 3}, {3, 3, 4}), "r2"), 0.0);
}

TEST(NumberMetricsTest, R2IsNaNWithFewerThanTwoRows) {
  EXPECT_TRUE(std::isnan(Metric(Number({2}, {1}), "r2")));
  EXPECT_TRUE(std::isnan(Metric(Number({}, {}), "r2")));
}

TEST(NumberMetricsTest, ErrorsAreNaNWithoutRows) {
  const EvalData data = Number({}, {});
  EXPECT_TRUE(std::isnan(Metric(data, "mean_squared_error")));
  EXPECT_TRUE(std::isnan(Metric(data, "mean_absolute_error")));
  EXPECT_TRUE(std::isnan(Metric(data, "root_mean_squared_error")));
  EXPECT_TRUE(std::isnan(Metric(data, "mean_absolute_percentage_error")));
}

// ---- vector -----------------------------------------------------------------------------------

// Rows [1, 2] and [3, 6] predicted as [1, 3] and [5, 6]: errors 0, 1, 2, 0.
TEST(VectorMetricsTest, ErrorsAverageEveryValue) {
  const EvalData data = Wide("vector", 2, {1, 2, 3, 6}, {1, 3, 5, 6});
  EXPECT_DOUBLE_EQ(Metric(data, "mean_squared_error"), 5.0 / 4.0);
  EXPECT_DOUBLE_EQ(Metric(data, "mean_absolute_error"), 3.0 / 4.0);
}

TEST(VectorMetricsTest, R2AveragesThePerColumnScores) {
  // Column 0: targets 1, 3 (SS_tot 2), SS_res 4 -> -1. Column 1: targets 2, 6 (SS_tot 8), SS_res 1
  // -> 0.875. The flattened values would give 1 - 5/14 instead.
  const EvalData data = Wide("vector", 2, {1, 2, 3, 6}, {1, 3, 5, 6});
  EXPECT_DOUBLE_EQ(Metric(data, "r2"), (-1.0 + 0.875) / 2.0);
}

// ---- set --------------------------------------------------------------------------------------

TEST(SetMetricsTest, JaccardAveragesRowsAndCountsTwoEmptySetsAsOne) {
  // Row 0: {0, 1} vs {0, 2}, 1/3. Row 1: both empty, 1. Row 2: {1, 2} vs {1, 2}, 1.
  const EvalData data = Wide("set", 3, {1, 1, 0, 0, 0, 0, 0, 1, 1}, {1, 0, 1, 0, 0, 0, 0, 1, 1});
  EXPECT_DOUBLE_EQ(Metric(data, "jaccard"), (1.0 / 3.0 + 1.0 + 1.0) / 3.0);
}

TEST(SetMetricsTest, JaccardIsZeroForDisjointSets) {
  EXPECT_DOUBLE_EQ(Metric(Wide("set", 2, {1, 0}, {0, 1}), "jaccard"), 0.0);
}

// ---- ComputeMetrics ---------------------------------------------------------------------------

TEST(ComputeMetricsTest, ReturnsEveryMetricOfTheType) {
  absl::StatusOr<nlohmann::json> metrics = ComputeMetrics(Number({1, 2}, {1, 2}));
  ASSERT_TRUE(metrics.ok()) << metrics.status();
  std::vector<std::string> keys;
  for (const auto& [key, value] : metrics->items()) {
    keys.push_back(key);
    EXPECT_TRUE(value.is_number_float()) << key;
  }
  Names expected = MetricNamesFor("number");
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(keys, expected);  // json objects iterate in key order
}

TEST(ComputeMetricsTest, KeepsNaNAsADoubleWhichDumpsAsNull) {
  absl::StatusOr<nlohmann::json> metrics = ComputeMetrics(Binary({1, 1}, {1, 1}, {0.7f, 0.9f}));
  ASSERT_TRUE(metrics.ok()) << metrics.status();
  ASSERT_TRUE(metrics->at("roc_auc").is_number_float());
  EXPECT_TRUE(std::isnan(metrics->at("roc_auc").get<double>()));
  EXPECT_TRUE(Contains(metrics->dump(), "\"roc_auc\":null"));
}

TEST(ComputeMetricsTest, ReturnsCheckEvalDataErrors) {
  EvalData data = Number({1, 2}, {1});
  absl::StatusOr<nlohmann::json> metrics = ComputeMetrics(data);
  EXPECT_EQ(metrics.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(metrics.status(), CheckEvalData(data));
}

// ---- CheckEvalData ----------------------------------------------------------------------------

TEST(CheckEvalDataTest, AcceptsEveryLayout) {
  EXPECT_TRUE(CheckEvalData(Binary({1, 0}, {0, 0}, {0.2f, 0.1f})).ok());
  EXPECT_TRUE(CheckEvalData(HitsExample(2)).ok());
  EXPECT_TRUE(CheckEvalData(Number({1.5f}, {-2})).ok());
  EXPECT_TRUE(CheckEvalData(Wide("set", 2, {1, 0, 0, 0}, {1, 1, 0, 0})).ok());
  EXPECT_TRUE(CheckEvalData(Wide("vector", 3, {1, 2, 3}, {3, 2, 1})).ok());
  EXPECT_TRUE(CheckEvalData(Number({}, {})).ok());
}

TEST(CheckEvalDataTest, UnknownTypeListsTheKnownTypes) {
  EvalData data = Number({1}, {1});
  data.type = "numbr";
  const absl::Status status = CheckEvalData(data);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(Contains(status.message(), "'numbr'"));
  EXPECT_TRUE(Contains(status.message(), "binary, category, number, set, vector"));
}

TEST(CheckEvalDataTest, WrongTargetsLengthNamesArrayExpectedAndActual) {
  EvalData data = Number({1, 2, 3}, {1, 2, 3});
  data.rows = 4;
  const absl::Status status = CheckEvalData(data);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(Contains(status.message(), "targets"));
  EXPECT_TRUE(Contains(status.message(), "expected 4"));
  EXPECT_TRUE(Contains(status.message(), "got 3"));
}

TEST(CheckEvalDataTest, WrongPredictionsLengthNamesPredictions) {
  const absl::Status status = CheckEvalData(Wide("vector", 2, {1, 2, 3, 4}, {1, 2, 3}));
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(Contains(status.message(), "vector predictions: expected 4"));
  EXPECT_TRUE(Contains(status.message(), "got 3"));
}

TEST(CheckEvalDataTest, CategoryProbabilitiesNeedRowsTimesWidth) {
  EvalData data = HitsExample(1);
  data.probabilities.pop_back();
  const absl::Status status = CheckEvalData(data);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(Contains(status.message(), "probabilities: expected 15"));
  EXPECT_TRUE(Contains(status.message(), "got 14"));
}

TEST(CheckEvalDataTest, BinaryNeedsOneProbabilityPerRow) {
  const absl::Status status = CheckEvalData(Binary({1, 0}, {1, 0}, {}));
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(Contains(status.message(), "binary probabilities: expected 2"));
}

TEST(CheckEvalDataTest, NumberAndVectorTakeNoProbabilities) {
  EvalData data = Number({1}, {1});
  data.probabilities = {0.5f};
  EXPECT_TRUE(Contains(CheckEvalData(data).message(), "number probabilities: expected 0"));
  data = Wide("vector", 1, {1}, {1});
  data.probabilities = {0.5f};
  EXPECT_TRUE(Contains(CheckEvalData(data).message(), "vector probabilities: expected 0"));
}

TEST(CheckEvalDataTest, CategoryIndexOutOfRangeNamesTheRow) {
  EvalData data = HitsExample(1);
  data.targets[3] = 3;
  absl::Status status = CheckEvalData(data);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(Contains(status.message(), "targets row 3"));
  EXPECT_TRUE(Contains(status.message(), "[0, 3)"));

  data = HitsExample(1);
  data.predictions[2] = -1;
  status = CheckEvalData(data);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(Contains(status.message(), "predictions row 2"));
}

TEST(CheckEvalDataTest, CategoryIndexMustBeIntegral) {
  EvalData data = HitsExample(1);
  data.targets[1] = 1.5f;
  const absl::Status status = CheckEvalData(data);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(Contains(status.message(), "targets row 1"));
}

TEST(CheckEvalDataTest, BinaryAndSetValuesMustBeZeroOrOne) {
  absl::Status status = CheckEvalData(Binary({1, 2}, {1, 0}));
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(Contains(status.message(), "binary targets row 1"));
  // Value 5 of a width-2 set is in row 2.
  status = CheckEvalData(Wide("set", 2, {1, 0, 0, 0, 1, 0}, {1, 0, 0, 0, 1, 0.5f}));
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(Contains(status.message(), "set predictions row 2"));
}

TEST(CheckEvalDataTest, RejectsNegativeRowsZeroWidthAndTopKBelowOne) {
  EvalData data = Number({}, {});
  data.rows = -1;
  EXPECT_EQ(CheckEvalData(data).code(), absl::StatusCode::kInvalidArgument);
  data = Wide("vector", 1, {}, {});
  data.width = 0;
  EXPECT_TRUE(Contains(CheckEvalData(data).message(), "width"));
  data = HitsExample(0);
  EXPECT_TRUE(Contains(CheckEvalData(data).message(), "top_k"));
}

}  // namespace
}  // namespace tristage::evaluation
