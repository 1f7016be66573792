#include "core/preprocessing/preprocessing.h"

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
