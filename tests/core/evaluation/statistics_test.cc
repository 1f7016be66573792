#include <cmath>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "core/evaluation/metrics.h"
#include "gtest/gtest.h"

namespace tristage::evaluation {
namespace {

using Keys = std::set<std::string>;

Keys KeysOf(const nlohmann::json& object) {
  Keys keys;
  for (const auto& item : object.items()) keys.insert(item.key());
  return keys;
}

EvalData Category(int64_t width, std::vector<float> targets, std::vector<float> predictions) {
  EvalData data;
  data.type = "category";
  data.width = width;
  data.rows = static_cast<int64_t>(targets.size());
  data.targets = std::move(targets);
  data.predictions = std::move(predictions);
  data.probabilities.assign(data.rows * width, 1.0f / static_cast<float>(width));
  return data;
}

// Ten rows of three classes. By true class (rows) and predicted class (columns):
//   a: 3 1 0      support 4, predicted 5
//   b: 0 1 2      support 3, predicted 2
//   c: 2 0 1      support 3, predicted 3
// a: TP 3 FP 2 FN 1 TN 4; b: TP 1 FP 1 FN 2 TN 6; c: TP 1 FP 2 FN 2 TN 5.
EvalData ThreeClasses() {
  return Category(3, {0, 0, 0, 0, 1, 1, 1, 2, 2, 2}, {0, 0, 0, 1, 1, 2, 2, 0, 2, 0});
}

const std::vector<std::string> kAbc = {"a", "b", "c"};

nlohmann::json Statistics(const EvalData& data, const std::vector<std::string>& names) {
  absl::StatusOr<nlohmann::json> statistics = ComputeStatistics(data, names);
  EXPECT_TRUE(statistics.ok()) << statistics.status();
  return statistics.ok() ? *statistics : nlohmann::json::object();
}

TEST(StatisticsTest, ConfusionMatrixRowsAreTargetsAndColumnsPredictions) {
  const nlohmann::json statistics = Statistics(ThreeClasses(), kAbc);
  const std::vector<std::vector<int64_t>> expected = {{3, 1, 0}, {0, 1, 2}, {2, 0, 1}};
  EXPECT_EQ(statistics.at("confusion_matrix").get<std::vector<std::vector<int64_t>>>(), expected);
  EXPECT_TRUE(statistics.at("confusion_matrix")[0][0].is_number_integer());
}

TEST(StatisticsTest, HasLudwigTopLevelAndOverallKeys) {
  const nlohmann::json statistics = Statistics(ThreeClasses(), kAbc);
  EXPECT_EQ(KeysOf(statistics), (Keys{"confusion_matrix", "overall_stats", "per_class_stats"}));
  EXPECT_EQ(KeysOf(statistics.at("overall_stats")),
            (Keys{"token_accuracy", "avg_precision_macro", "avg_recall_macro", "avg_f1_score_macro",
                  "avg_precision_micro", "avg_recall_micro", "avg_f1_score_micro",
                  "avg_precision_weighted", "avg_recall_weighted", "avg_f1_score_weighted",
                  "kappa_score"}));
}

TEST(StatisticsTest, PerClassStatsAreKeyedByClassNameWithLudwigKeys) {
  const nlohmann::json per_class = Statistics(ThreeClasses(), kAbc).at("per_class_stats");
  EXPECT_EQ(KeysOf(per_class), (Keys{"a", "b", "c"}));
  const Keys ludwig_keys = {"true_positives",
                            "true_negatives",
                            "false_positives",
                            "false_negatives",
                            "true_positive_rate",
                            "true_negative_rate",
                            "positive_predictive_value",
                            "negative_predictive_value",
                            "false_negative_rate",
                            "false_positive_rate",
                            "false_discovery_rate",
                            "false_omission_rate",
                            "accuracy",
                            "precision",
                            "recall",
                            "f1_score",
                            "sensitivity",
                            "specificity",
                            "hit_rate",
                            "miss_rate",
                            "fall_out",
                            "matthews_correlation_coefficient",
                            "informedness",
                            "markedness"};
  for (const std::string& name : kAbc) EXPECT_EQ(KeysOf(per_class.at(name)), ludwig_keys) << name;
}

TEST(StatisticsTest, PerClassStatsMatchHandCounts) {
  const nlohmann::json per_class = Statistics(ThreeClasses(), kAbc).at("per_class_stats");
  const nlohmann::json& a = per_class.at("a");
  EXPECT_EQ(a.at("true_positives"), 3);
  EXPECT_EQ(a.at("false_positives"), 2);
  EXPECT_EQ(a.at("false_negatives"), 1);
  EXPECT_EQ(a.at("true_negatives"), 4);
  EXPECT_TRUE(a.at("true_positives").is_number_integer());
  EXPECT_DOUBLE_EQ(a.at("precision").get<double>(), 3.0 / 5.0);
  EXPECT_DOUBLE_EQ(a.at("recall").get<double>(), 3.0 / 4.0);
  EXPECT_DOUBLE_EQ(a.at("f1_score").get<double>(), 2.0 / 3.0);
  EXPECT_DOUBLE_EQ(a.at("accuracy").get<double>(), 7.0 / 10.0);
  EXPECT_DOUBLE_EQ(a.at("specificity").get<double>(), 4.0 / 6.0);
  EXPECT_DOUBLE_EQ(a.at("negative_predictive_value").get<double>(), 4.0 / 5.0);
  EXPECT_DOUBLE_EQ(a.at("false_positive_rate").get<double>(), 2.0 / 6.0);
  EXPECT_DOUBLE_EQ(a.at("fall_out").get<double>(), 2.0 / 6.0);
  EXPECT_DOUBLE_EQ(a.at("false_discovery_rate").get<double>(), 2.0 / 5.0);
  EXPECT_DOUBLE_EQ(a.at("false_omission_rate").get<double>(), 1.0 / 5.0);
  EXPECT_DOUBLE_EQ(a.at("miss_rate").get<double>(), 1.0 / 4.0);
  // (3 * 4 - 2 * 1) / sqrt(5 * 4 * 6 * 5) = 10 / sqrt(600).
  EXPECT_NEAR(a.at("matthews_correlation_coefficient").get<double>(), 0.408248290463863, 1e-12);
  EXPECT_NEAR(a.at("informedness").get<double>(), 3.0 / 4.0 + 4.0 / 6.0 - 1.0, 1e-15);
  EXPECT_NEAR(a.at("markedness").get<double>(), 3.0 / 5.0 + 4.0 / 5.0 - 1.0, 1e-15);

  const nlohmann::json& b = per_class.at("b");
  EXPECT_EQ(b.at("true_negatives"), 6);
  EXPECT_DOUBLE_EQ(b.at("precision").get<double>(), 1.0 / 2.0);
  EXPECT_DOUBLE_EQ(b.at("sensitivity").get<double>(), 1.0 / 3.0);
  EXPECT_DOUBLE_EQ(b.at("hit_rate").get<double>(), 1.0 / 3.0);
  EXPECT_DOUBLE_EQ(b.at("f1_score").get<double>(), 2.0 / 5.0);
  EXPECT_DOUBLE_EQ(b.at("true_negative_rate").get<double>(), 6.0 / 7.0);
  // (1 * 6 - 1 * 2) / sqrt(2 * 3 * 7 * 8) = 4 / sqrt(336).
  EXPECT_NEAR(b.at("matthews_correlation_coefficient").get<double>(), 0.2182178902359924, 1e-12);

  const nlohmann::json& c = per_class.at("c");
  EXPECT_DOUBLE_EQ(c.at("positive_predictive_value").get<double>(), 1.0 / 3.0);
  EXPECT_DOUBLE_EQ(c.at("accuracy").get<double>(), 6.0 / 10.0);
  // (1 * 5 - 2 * 2) / sqrt(3 * 3 * 7 * 7) = 1 / 21.
  EXPECT_NEAR(c.at("matthews_correlation_coefficient").get<double>(), 1.0 / 21.0, 1e-15);
}

TEST(StatisticsTest, OverallStatsMatchHandValues) {
  const nlohmann::json overall = Statistics(ThreeClasses(), kAbc).at("overall_stats");
  EXPECT_DOUBLE_EQ(overall.at("token_accuracy").get<double>(), 5.0 / 10.0);
  // Per class precision 3/5, 1/2, 1/3; recall 3/4, 1/3, 1/3; F1 2/3, 2/5, 1/3; support 4, 3, 3.
  EXPECT_DOUBLE_EQ(overall.at("avg_precision_macro").get<double>(), 43.0 / 90.0);
  EXPECT_DOUBLE_EQ(overall.at("avg_recall_macro").get<double>(), 17.0 / 36.0);
  EXPECT_DOUBLE_EQ(overall.at("avg_f1_score_macro").get<double>(), 7.0 / 15.0);
  EXPECT_DOUBLE_EQ(overall.at("avg_precision_micro").get<double>(), 0.5);
  EXPECT_DOUBLE_EQ(overall.at("avg_recall_micro").get<double>(), 0.5);
  EXPECT_DOUBLE_EQ(overall.at("avg_f1_score_micro").get<double>(), 0.5);
  // (3/5 * 4 + 1/2 * 3 + 1/3 * 3) / 10: support-weighted, unlike Ludwig's micro value (0.5).
  EXPECT_DOUBLE_EQ(overall.at("avg_precision_weighted").get<double>(), 0.49);
  EXPECT_DOUBLE_EQ(overall.at("avg_recall_weighted").get<double>(), 0.5);
  EXPECT_DOUBLE_EQ(overall.at("avg_f1_score_weighted").get<double>(), 73.0 / 150.0);
  // p_o = 0.5; p_e = (4 * 5 + 3 * 2 + 3 * 3) / 100 = 0.35; (0.5 - 0.35) / 0.65.
  EXPECT_DOUBLE_EQ(overall.at("kappa_score").get<double>(), 3.0 / 13.0);
}

TEST(StatisticsTest, AbsentClassIsLeftOutOfMacroAveragesAndScoresBySafeDivision) {
  // ThreeClasses with a fourth class "d" that no row has or predicts.
  EvalData data = ThreeClasses();
  data.width = 4;
  data.probabilities.assign(data.rows * 4, 0.25f);
  const nlohmann::json statistics = Statistics(data, {"a", "b", "c", "d"});
  const nlohmann::json& overall = statistics.at("overall_stats");
  EXPECT_DOUBLE_EQ(overall.at("avg_precision_macro").get<double>(), 43.0 / 90.0);
  EXPECT_DOUBLE_EQ(overall.at("avg_recall_macro").get<double>(), 17.0 / 36.0);
  EXPECT_DOUBLE_EQ(overall.at("kappa_score").get<double>(), 3.0 / 13.0);

  const nlohmann::json& d = statistics.at("per_class_stats").at("d");
  EXPECT_EQ(d.at("true_negatives"), 10);
  EXPECT_EQ(d.at("precision").get<double>(), 0.0);
  EXPECT_EQ(d.at("recall").get<double>(), 0.0);
  EXPECT_EQ(d.at("f1_score").get<double>(), 0.0);
  EXPECT_EQ(d.at("matthews_correlation_coefficient").get<double>(), 0.0);
  EXPECT_EQ(d.at("specificity").get<double>(), 1.0);
  EXPECT_EQ(d.at("accuracy").get<double>(), 1.0);
  // Ludwig's complementary rates: 1 - 0.
  EXPECT_EQ(d.at("false_negative_rate").get<double>(), 1.0);
  EXPECT_EQ(d.at("false_discovery_rate").get<double>(), 1.0);
  EXPECT_EQ(d.at("informedness").get<double>(), 0.0);
  EXPECT_EQ(statistics.at("confusion_matrix").size(), 4u);
}

// targets 1 1 1 0 0 0, predictions 1 0 0 1 0 0.
TEST(StatisticsTest, BinaryHasTwoClassesFalseFirstNamedByTheCaller) {
  EvalData data;
  data.type = "binary";
  data.rows = 6;
  data.targets = {1, 1, 1, 0, 0, 0};
  data.predictions = {1, 0, 0, 1, 0, 0};
  data.probabilities = {0.9f, 0.4f, 0.3f, 0.6f, 0.2f, 0.1f};
  const nlohmann::json statistics = Statistics(data, {"no", "yes"});
  const std::vector<std::vector<int64_t>> expected = {{2, 1}, {2, 1}};
  EXPECT_EQ(statistics.at("confusion_matrix").get<std::vector<std::vector<int64_t>>>(), expected);
  const nlohmann::json& yes = statistics.at("per_class_stats").at("yes");
  EXPECT_DOUBLE_EQ(yes.at("precision").get<double>(), 1.0 / 2.0);
  EXPECT_DOUBLE_EQ(yes.at("recall").get<double>(), 1.0 / 3.0);
  const nlohmann::json& no = statistics.at("per_class_stats").at("no");
  EXPECT_DOUBLE_EQ(no.at("precision").get<double>(), 2.0 / 4.0);
  EXPECT_DOUBLE_EQ(no.at("recall").get<double>(), 2.0 / 3.0);
  EXPECT_DOUBLE_EQ(statistics.at("overall_stats").at("token_accuracy").get<double>(), 0.5);
}

TEST(StatisticsTest, KappaIsNaNWhenEveryTargetAndPredictionIsOneClass) {
  const nlohmann::json overall =
      Statistics(Category(2, {1, 1, 1}, {1, 1, 1}), {"x", "y"}).at("overall_stats");
  EXPECT_TRUE(std::isnan(overall.at("kappa_score").get<double>()));
  EXPECT_DOUBLE_EQ(overall.at("token_accuracy").get<double>(), 1.0);
  EXPECT_DOUBLE_EQ(overall.at("avg_f1_score_macro").get<double>(), 1.0);
}

TEST(StatisticsTest, NoRowsGivesZeroCountsAndZeroRatios) {
  const nlohmann::json statistics = Statistics(Category(2, {}, {}), {"x", "y"});
  const std::vector<std::vector<int64_t>> expected = {{0, 0}, {0, 0}};
  EXPECT_EQ(statistics.at("confusion_matrix").get<std::vector<std::vector<int64_t>>>(), expected);
  EXPECT_EQ(statistics.at("overall_stats").at("token_accuracy").get<double>(), 0.0);
  EXPECT_EQ(statistics.at("overall_stats").at("avg_precision_macro").get<double>(), 0.0);
  EXPECT_TRUE(std::isnan(statistics.at("overall_stats").at("kappa_score").get<double>()));
}

TEST(StatisticsTest, ClassNamesMustNameEachClassOnce) {
  absl::StatusOr<nlohmann::json> statistics = ComputeStatistics(ThreeClasses(), {"a", "b"});
  EXPECT_EQ(statistics.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(statistics.status().message(), "3 class names"))
      << statistics.status();

  statistics = ComputeStatistics(ThreeClasses(), {"a", "b", "a"});
  EXPECT_EQ(statistics.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(statistics.status().message(), "'a'")) << statistics.status();
}

TEST(StatisticsTest, BinaryNeedsTwoClassNamesWhateverItsWidth) {
  EvalData data;
  data.type = "binary";
  data.rows = 1;
  data.targets = {1};
  data.predictions = {1};
  data.probabilities = {0.8f};
  EXPECT_EQ(ComputeStatistics(data, {"True"}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(ComputeStatistics(data, {"False", "True"}).ok());
}

TEST(StatisticsTest, OtherOutputTypesAreInvalid) {
  EvalData data;
  data.type = "number";
  data.rows = 1;
  data.targets = {1};
  data.predictions = {1};
  absl::StatusOr<nlohmann::json> statistics = ComputeStatistics(data, {"x"});
  EXPECT_EQ(statistics.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(statistics.status().message(), "binary and category"))
      << statistics.status();
}

TEST(StatisticsTest, InvalidDataIsReportedFirst) {
  EvalData data = ThreeClasses();
  data.targets[4] = 7;
  absl::StatusOr<nlohmann::json> statistics = ComputeStatistics(data, kAbc);
  EXPECT_EQ(statistics.status(), CheckEvalData(data));
  EXPECT_EQ(statistics.status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace tristage::evaluation
