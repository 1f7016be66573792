#include "core/preprocessing/preprocessing.h"

#include <map>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace tristage::preprocessing {
namespace {

data::Table LabelTable(const std::vector<std::string>& labels) {
  data::Table table;
  data::Column x, y;
  for (size_t i = 0; i < labels.size(); ++i) {
    x.Append(std::to_string(i), false);
    y.Append(labels[i], false);
  }
  EXPECT_TRUE(table.AddColumn("x", x).ok());
  EXPECT_TRUE(table.AddColumn("y", y).ok());
  return table;
}

// The outside probe: a label with one class trained without a word, and roc_auc came out NaN.
TEST(PreprocessingTest, AnOutputWithASingleClassInTheTrainingSplitIsWarnedAbout) {
  for (const char* type : {"binary", "category"}) {
    const nlohmann::json config = nlohmann::json::parse(
        std::string(R"({"input_features": [{"name": "x", "type": "number"}],
                        "output_features": [{"name": "y", "type": ")") +
        type + R"("}]})");
    DatasetSplits one_class;
    one_class.training = LabelTable({"yes", "yes", "yes", "yes"});
    ::testing::internal::CaptureStderr();
    ASSERT_TRUE(BuildTrainingData(config, one_class).ok());
    const std::string warned = ::testing::internal::GetCapturedStderr();
    EXPECT_TRUE(absl::StrContains(warned, "output feature 'y' has a single class ('yes')"))
        << type << ": " << warned;
    EXPECT_TRUE(absl::StrContains(warned, "roc_auc")) << warned;

    DatasetSplits two_classes;
    two_classes.training = LabelTable({"yes", "no", "yes", "no"});
    ::testing::internal::CaptureStderr();
    ASSERT_TRUE(BuildTrainingData(config, two_classes).ok());
    EXPECT_FALSE(absl::StrContains(::testing::internal::GetCapturedStderr(), "single class"));
  }
}

}  // namespace
}  // namespace tristage::preprocessing

namespace tristage::preprocessing {
namespace {

nlohmann::json BinaryConfig(const std::string& preprocessing) {
  nlohmann::json config = nlohmann::json::parse(R"({
      "input_features": [{"name": "x", "type": "number"}],
      "output_features": [{"name": "y", "type": "binary"}]})");
  config["preprocessing"] = nlohmann::json::parse(preprocessing);
  return config;
}

std::map<std::string, int> Counts(const data::Table& table) {
  std::map<std::string, int> counts;
  for (const std::string& value : (**table.Get("y")).values) ++counts[value];
  return counts;
}

// 90 "no" and 10 "yes".
data::Table Imbalanced() {
  std::vector<std::string> labels(100, "no");
  for (int i = 0; i < 100; i += 10) labels[static_cast<size_t>(i)] = "yes";
  return LabelTable(labels);
}

TEST(SamplingTest, SampleRatioAndSampleSizeKeepASeededSubsetInOrder) {
  const data::Table table = Imbalanced();
  auto half = SampleRows(BinaryConfig(R"({"sample_ratio": 0.5})"), table, 7);
  ASSERT_TRUE(half.ok()) << half.status();
  EXPECT_EQ(half->num_rows(), 50);
  auto again = SampleRows(BinaryConfig(R"({"sample_ratio": 0.5})"), table, 7);
  EXPECT_EQ((**again->Get("x")).values, (**half->Get("x")).values);  // the seed decides
  auto other = SampleRows(BinaryConfig(R"({"sample_ratio": 0.5})"), table, 8);
  EXPECT_NE((**other->Get("x")).values, (**half->Get("x")).values);
  const std::vector<std::string>& xs = (**half->Get("x")).values;
  for (size_t i = 1; i < xs.size(); ++i) EXPECT_LT(std::stoi(xs[i - 1]), std::stoi(xs[i]));
  auto sized = SampleRows(BinaryConfig(R"({"sample_size": 30})"), table, 7);
  ASSERT_TRUE(sized.ok());
  EXPECT_EQ(sized->num_rows(), 30);
  auto too_many = SampleRows(BinaryConfig(R"({"sample_size": 500})"), table, 7);
  EXPECT_EQ(too_many->num_rows(), 100);
  auto none = SampleRows(BinaryConfig(R"({"sample_ratio": 0.001})"), table, 7);
  EXPECT_EQ(none.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(none.status().message(), "preprocessing.sample_ratio 0.001"));
  // Splitting samples first: 70% of a half.
  auto splits = SplitDataset(BinaryConfig(R"({"sample_ratio": 0.5})"), table, 7);
  ASSERT_TRUE(splits.ok()) << splits.status();
  EXPECT_EQ(splits->training.num_rows() + splits->validation->num_rows() +
                splits->test->num_rows(),
            50);
}

TEST(SamplingTest, OversamplingAndUndersamplingBalanceTheTrainingClassesAsLudwigDoes) {
  const data::Table table = Imbalanced();
  auto over = BalanceClasses(BinaryConfig(R"({"oversample_minority": 0.5})"), table, 3);
  ASSERT_TRUE(over.ok()) << over.status();
  EXPECT_EQ(Counts(*over), (std::map<std::string, int>{{"no", 90}, {"yes", 45}}));
  auto under = BalanceClasses(BinaryConfig(R"({"undersample_majority": 0.5})"), table, 3);
  ASSERT_TRUE(under.ok()) << under.status();
  EXPECT_EQ(Counts(*under), (std::map<std::string, int>{{"no", 20}, {"yes", 10}}));
  auto impossible = BalanceClasses(BinaryConfig(R"({"undersample_majority": 0.05})"), table, 3);
  EXPECT_EQ(impossible.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(impossible.status().message(),
                                "would need 200 majority rows but the training split has 90"))
      << impossible.status();
  auto untouched = BalanceClasses(BinaryConfig("{}"), table, 3);
  EXPECT_EQ(untouched->num_rows(), 100);
  // SplitDataset balances the training split only.
  auto splits = SplitDataset(BinaryConfig(R"({"oversample_minority": 1.0})"), table, 3);
  ASSERT_TRUE(splits.ok()) << splits.status();
  const auto counts = Counts(splits->training);
  EXPECT_EQ(counts.at("yes"), counts.at("no"));
  EXPECT_LT(Counts(*splits->test)["yes"], Counts(*splits->test)["no"]);
}

}  // namespace
}  // namespace tristage::preprocessing
