// OutputHeadSource: the TorchScript each output type generates compiles into a module, turns
// logits into the probabilities and predictions Postprocess expects, and honours `threshold`.
#include <torch/script.h>

#include <cmath>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_split.h"
#include "core/features/feature.h"
#include "core/model/script.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/core/features/features_test_util.h"

namespace tristage::features {
namespace {

using testing::Cells;
using testing::Col;
using ::testing::ElementsAre;
using ::testing::FloatEq;
using ::testing::FloatNear;
using testing::Floats;
using testing::Longs;
using ::testing::Pointwise;
using testing::ResolvedOutput;
using testing::Shape;

float Sigmoid(float x) {
  return 1.0f / (1.0f + std::exp(-x));
}

// The cells of a space-separated column of numbers, read back.
std::vector<float> Numbers(const std::string& cell) {
  std::vector<float> values;
  for (absl::string_view piece : absl::StrSplit(cell, ' ', absl::SkipEmpty())) {
    values.push_back(std::stof(std::string(piece)));
  }
  return values;
}

class OutputHeadSourceTest : public ::testing::Test {
 protected:
  // Compiles `feature`'s head into forward(logits) -> Dict[str, Tensor], as the ECD model does
  // (entries keyed "y::<what>"), runs it on `logits` and returns the entries without the prefix.
  absl::StatusOr<OutputTensors> RunHead(const json& feature, const torch::Tensor& logits) {
    const FeatureType* type = FindFeatureType(feature.at("type").get<std::string>());
    if (type == nullptr) return absl::NotFoundError("no such type");
    absl::StatusOr<std::string> head =
        type->OutputHeadSource(feature, "out[\"y::logits\"]",
                               [](const std::string& what) { return "out[\"y::" + what + "\"]"; });
    if (!head.ok()) return head.status();
    const std::string source =
        "def forward(self, logits: Tensor) -> Dict[str, Tensor]:\n"
        "    out: Dict[str, Tensor] = {}\n"
        "    out[\"y::logits\"] = logits\n" +
        *head + "    return out\n";
    torch::jit::Module module = builder_.NewModule("OutputHeadTest");
    const absl::Status defined = model::Define(module, source, "output head");
    if (!defined.ok()) return defined;
    const c10::IValue result = module.forward({logits});
    OutputTensors outputs;
    for (const auto& entry : result.toGenericDict()) {
      outputs[entry.key().toStringRef().substr(3)] = entry.value().toTensor();
    }
    return outputs;
  }

  // RunHead, failing the test on an error.
  OutputTensors Run(const json& feature, const torch::Tensor& logits) {
    absl::StatusOr<OutputTensors> outputs = RunHead(feature, logits);
    EXPECT_TRUE(outputs.ok()) << outputs.status();
    return outputs.ok() ? *outputs : OutputTensors();
  }

  model::ScriptBuilder builder_;
};

TEST_F(OutputHeadSourceTest, BinaryPredictsTrueAtOrAboveTheDefaultThreshold) {
  const OutputTensors out =
      Run(ResolvedOutput("{name: y, type: binary}"), torch::tensor({-1.0f, 0.0f, 1.0f}));
  ASSERT_EQ(out.count("probabilities"), 1u);
  ASSERT_EQ(out.count("predictions"), 1u);
  EXPECT_THAT(Floats(out.at("probabilities")),
              ElementsAre(FloatEq(Sigmoid(-1)), 0.5f, FloatEq(Sigmoid(1))));
  EXPECT_EQ(out.at("predictions").dtype(), torch::kBool);
  EXPECT_THAT(Floats(out.at("predictions")), ElementsAre(0, 1, 1));
}

TEST_F(OutputHeadSourceTest, BinaryThresholdFeedsPostprocess) {
  const json feature = ResolvedOutput("{name: y, type: binary, threshold: 0.7}");
  const OutputTensors out = Run(feature, torch::tensor({0.0f, 1.0f, 2.0f}));  // .5 .73 .88
  EXPECT_THAT(Floats(out.at("predictions")), ElementsAre(0, 1, 1));

  const FeatureType& binary = *FindFeatureType("binary");
  absl::StatusOr<json> metadata = binary.Fit(feature, Col({"no", "yes"}));
  ASSERT_TRUE(metadata.ok()) << metadata.status();
  absl::StatusOr<NamedColumns> columns = binary.Postprocess(feature, *metadata, out);
  ASSERT_TRUE(columns.ok()) << columns.status();
  EXPECT_THAT(Cells(*columns, "y_predictions"), ElementsAre("no", "yes", "yes"));
  EXPECT_EQ(Cells(*columns, "y_probabilities_yes")[0], "0.5");
  EXPECT_FLOAT_EQ(std::stof(Cells(*columns, "y_probability")[1]), Sigmoid(1));
}

TEST_F(OutputHeadSourceTest, CategoryIsSoftmaxAndArgmax) {
  const json feature = ResolvedOutput("{name: y, type: category}");
  const OutputTensors out =
      Run(feature, torch::tensor({1.0f, 3.0f, 2.0f, 0.0f, 0.0f, 5.0f}).view({2, 3}));
  const float total = std::exp(1.0f) + std::exp(3.0f) + std::exp(2.0f);
  const float other = 2 + std::exp(5.0f);
  EXPECT_THAT(Shape(out.at("probabilities")), ElementsAre(2, 3));
  EXPECT_THAT(Floats(out.at("probabilities")),
              Pointwise(FloatNear(1e-6),
                        {std::exp(1.0f) / total, std::exp(3.0f) / total, std::exp(2.0f) / total,
                         1 / other, 1 / other, std::exp(5.0f) / other}));
  EXPECT_THAT(Longs(out.at("predictions")), ElementsAre(1, 2));

  const FeatureType& category = *FindFeatureType("category");
  absl::StatusOr<json> metadata = category.Fit(feature, Col({"a", "b", "a"}));
  ASSERT_TRUE(metadata.ok()) << metadata.status();
  absl::StatusOr<NamedColumns> columns = category.Postprocess(feature, *metadata, out);
  ASSERT_TRUE(columns.ok()) << columns.status();
  EXPECT_THAT(Cells(*columns, "y_predictions"), ElementsAre("a", "b"));
}

TEST_F(OutputHeadSourceTest, SetThresholdChoosesItemsInPostprocess) {
  const FeatureType& set = *FindFeatureType("set");
  const torch::Tensor logits = torch::tensor({-3.0f, 2.0f, 0.0f, 1.0f, -1.0f, 4.0f}).view({2, 3});
  const std::vector<std::pair<std::string, std::vector<std::string>>> cases = {
      {"0.5", {"a b", "<UNK> b"}}, {"0.8", {"a", "b"}}, {"0.99", {"", ""}}};
  for (const auto& [threshold, expected] : cases) {
    const json feature = ResolvedOutput("{name: y, type: set, threshold: " + threshold + "}");
    const OutputTensors out = Run(feature, logits);
    EXPECT_THAT(
        Floats(out.at("probabilities")),
        Pointwise(FloatEq(), {Sigmoid(-3), Sigmoid(2), 0.5f, Sigmoid(1), Sigmoid(-1), Sigmoid(4)}));
    absl::StatusOr<json> metadata = set.Fit(feature, Col({"a b", "a"}));  // <UNK>, a, b
    ASSERT_TRUE(metadata.ok()) << metadata.status();
    absl::StatusOr<NamedColumns> columns = set.Postprocess(feature, *metadata, out);
    ASSERT_TRUE(columns.ok()) << columns.status();
    EXPECT_EQ(Cells(*columns, "y_predictions"), expected) << threshold;
    if (threshold == "0.8") {
      EXPECT_THAT(Numbers(Cells(*columns, "y_probabilities")[0]), ElementsAre(FloatEq(Sigmoid(2))));
      EXPECT_THAT(Numbers(Cells(*columns, "y_probabilities")[1]), ElementsAre(FloatEq(Sigmoid(4))));
    }
  }
}

TEST_F(OutputHeadSourceTest, NumberAndVectorPredictTheLogits) {
  const OutputTensors number =
      Run(ResolvedOutput("{name: y, type: number}"), torch::tensor({1.5f, -2.0f}));
  EXPECT_THAT(Floats(number.at("predictions")), ElementsAre(1.5f, -2.0f));
  const OutputTensors vector = Run(ResolvedOutput("{name: y, type: vector}"),
                                   torch::tensor({1.0f, 2.0f, 3.0f, 4.0f}).view({2, 2}));
  EXPECT_THAT(Shape(vector.at("predictions")), ElementsAre(2, 2));
  EXPECT_THAT(Floats(vector.at("predictions")), ElementsAre(1, 2, 3, 4));
}

TEST_F(OutputHeadSourceTest, InputOnlyTypesHaveNoHead) {
  const FeatureType* text = FindFeatureType("text");
  ASSERT_NE(text, nullptr);
  absl::StatusOr<std::string> head = text->OutputHeadSource(
      json::object(), "logits", [](const std::string& what) { return what; });
  EXPECT_EQ(head.status().code(), absl::StatusCode::kUnimplemented);
}

}  // namespace
}  // namespace tristage::features
