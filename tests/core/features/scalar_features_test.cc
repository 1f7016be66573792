// Feature types with one value per cell: number, binary, category, vector, date; the registry,
// number formatting and the output features' losses, eval data and prediction columns.
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "core/config/config.h"
#include "core/features/common.h"
#include "core/features/feature.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/core/features/features_test_util.h"

namespace tristage::features {
namespace {

using testing::Cells;
using testing::Col;
using testing::ColumnNames;
using ::testing::ElementsAre;
using ::testing::FloatEq;
using ::testing::FloatNear;
using testing::Floats;
using ::testing::HasSubstr;
using testing::Longs;
using ::testing::Pointwise;
using testing::ResolvedInput;
using testing::ResolvedOutput;
using testing::Shape;

// ---- Registry and formatting ----

TEST(FeatureRegistryTest, RegistersAllNineLudwigTypes) {
  EXPECT_THAT(RegisteredFeatureTypes(), ElementsAre("bag", "binary", "category", "date", "number",
                                                    "sequence", "set", "text", "vector"));
}

TEST(FeatureRegistryTest, CanBeOutputExactlyForTheConfigsOutputTypes) {
  std::vector<std::string> outputs;
  for (const std::string& name : RegisteredFeatureTypes()) {
    if (FindFeatureType(name)->can_be_output()) outputs.push_back(name);
  }
  EXPECT_THAT(outputs, ElementsAre("binary", "category", "number", "set", "vector"));
  std::vector<std::string> config_outputs = config::OutputFeatureTypes();
  std::sort(config_outputs.begin(), config_outputs.end());
  EXPECT_EQ(outputs, config_outputs);
}

TEST(FeatureRegistryTest, UnknownNameIsNull) {
  EXPECT_EQ(FindFeatureType("image"), nullptr);
}

TEST(FeatureRegistryTest, InputOnlyTypesHaveNoOutputMethods) {
  // bag is left out: it shares set's implementation, whose output methods it inherits (the config
  // never makes a bag an output).
  for (const char* name : {"date", "text", "sequence"}) {
    const FeatureType* type = FindFeatureType(name);
    ASSERT_NE(type, nullptr) << name;
    EXPECT_EQ(type->OutputSize(json::object()).status().code(), absl::StatusCode::kUnimplemented)
        << name;
    EXPECT_EQ(type->Postprocess(json::object(), json::object(), {}).status().code(),
              absl::StatusCode::kUnimplemented)
        << name;
  }
}

TEST(FormatNumberTest, WritesShortestTextThatReadsBackExactly) {
  EXPECT_EQ(FormatNumber(0.1f), "0.1");
  EXPECT_EQ(FormatNumber(0.1), "0.1");
  EXPECT_EQ(FormatNumber(2.5), "2.5");
  EXPECT_EQ(FormatNumber(-3.0), "-3");
  EXPECT_EQ(FormatNumber(1.0 / 3.0), "0.3333333333333333");
  EXPECT_EQ(FormatNumber(1.0f / 3.0f), "0.33333334");
  EXPECT_EQ(FormatNumber(1e-5), "1e-05");
}

TEST(ScriptFloatTest, AlwaysWritesAFloatLiteral) {
  EXPECT_EQ(ScriptFloat(1.0), "1.0");
  EXPECT_EQ(ScriptFloat(0.5), "0.5");
  EXPECT_EQ(ScriptFloat(1e-5), "1e-05");
}

// ---- number ----

class NumberTypeTest : public testing::FeatureTypeTest {
 protected:
  NumberTypeTest() : FeatureTypeTest("number") {}
};

TEST_F(NumberTypeTest, FitComputesMeanSampleStdMinMaxAndQuartiles) {
  const json metadata = Fit(ResolvedInput("{name: x, type: number}"), Col({"4", "1", "3", "2"}));
  EXPECT_DOUBLE_EQ(metadata["mean"].get<double>(), 2.5);
  EXPECT_DOUBLE_EQ(metadata["std"].get<double>(), std::sqrt(5.0 / 3.0));  // n - 1 denominator.
  EXPECT_DOUBLE_EQ(metadata["min"].get<double>(), 1);
  EXPECT_DOUBLE_EQ(metadata["max"].get<double>(), 4);
  // pandas' linear interpolation between the closest ranks.
  EXPECT_DOUBLE_EQ(metadata["q1"].get<double>(), 1.75);
  EXPECT_DOUBLE_EQ(metadata["q2"].get<double>(), 2.5);
  EXPECT_DOUBLE_EQ(metadata["q3"].get<double>(), 3.25);
}

TEST_F(NumberTypeTest, FitSkipsNullCellsAndAcceptsSurroundingWhitespace) {
  const json metadata =
      Fit(ResolvedInput("{name: x, type: number}"), Col({" 2 ", nullptr, "4", "-3e0"}));
  EXPECT_DOUBLE_EQ(metadata["mean"].get<double>(), 1);
  EXPECT_DOUBLE_EQ(metadata["min"].get<double>(), -3);
}

TEST_F(NumberTypeTest, FitOfOnlyNullsIsAnErrorNamingTheColumn) {
  const absl::Status status = FitError(ResolvedInput("{name: x, type: number}"), Col({nullptr}));
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("column 'x'"));
}

TEST_F(NumberTypeTest, ZscoreSubtractsMeanAndDividesByStd) {
  const json feature = ResolvedInput("{name: x, type: number}");  // zscore is the default.
  ASSERT_EQ(feature["preprocessing"]["normalization"], "zscore");
  EXPECT_THAT(Floats(Transform(feature, {{"mean", 2.0}, {"std", 4.0}}, Col({"10", "0", "2"}))),
              ElementsAre(2.0f, -0.5f, 0.0f));
}

TEST_F(NumberTypeTest, ZscoreOfFittedColumnHasZeroMeanAndUnitSampleStd) {
  const torch::Tensor out =
      FitTransform(ResolvedInput("{name: x, type: number}"), Col({"1", "2", "3", "4"}));
  const float a = static_cast<float>(1.5 / std::sqrt(5.0 / 3.0));
  const float b = static_cast<float>(0.5 / std::sqrt(5.0 / 3.0));
  EXPECT_THAT(Floats(out), ElementsAre(FloatEq(-a), FloatEq(-b), FloatEq(b), FloatEq(a)));
  EXPECT_EQ(out.dtype(), torch::kFloat);
}

TEST_F(NumberTypeTest, MinmaxMapsMinToZeroAndMaxToOne) {
  const json feature =
      ResolvedInput("{name: x, type: number, preprocessing: {normalization: minmax}}");
  EXPECT_THAT(Floats(Transform(feature, {{"min", 2.0}, {"max", 6.0}}, Col({"2", "4", "6", "8"}))),
              ElementsAre(0.0f, 0.5f, 1.0f, 1.5f));
}

TEST_F(NumberTypeTest, IqCentersOnMedianAndDividesByInterquartileRange) {
  const json feature = ResolvedInput("{name: x, type: number, preprocessing: {normalization: iq}}");
  EXPECT_THAT(
      Floats(Transform(feature, {{"q1", 1.0}, {"q2", 3.0}, {"q3", 5.0}}, Col({"7", "2", "3"}))),
      ElementsAre(1.0f, -0.25f, 0.0f));
}

TEST_F(NumberTypeTest, Log1pAppliesLog1p) {
  const json feature =
      ResolvedInput("{name: x, type: number, preprocessing: {normalization: log1p}}");
  EXPECT_THAT(Floats(Transform(feature, json::object(), Col({"0", "1", "-0.5", "9"}))),
              ElementsAre(0.0f, FloatEq(std::log(2.0f)), FloatEq(std::log(0.5f)),
                          FloatEq(std::log(10.0f))));
}

TEST_F(NumberTypeTest, Log1pOfMinusOneOrLessIsAnErrorNamingColumnAndRow) {
  const json feature =
      ResolvedInput("{name: x, type: number, preprocessing: {normalization: log1p}}");
  for (const char* cell : {"-1", "-2.5"}) {
    const absl::Status status = TransformError(feature, json::object(), Col({"1", cell}));
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(status.message(), HasSubstr("column 'x' row 1: log1p"));
  }
}

TEST_F(NumberTypeTest, NullNormalizationKeepsValues) {
  const json feature =
      ResolvedInput("{name: x, type: number, preprocessing: {normalization: null}}");
  EXPECT_THAT(Floats(Transform(feature, {{"mean", 5.0}, {"std", 2.0}}, Col({"1.5", "-7"}))),
              ElementsAre(1.5f, -7.0f));
}

TEST_F(NumberTypeTest, ConstantColumnNormalizesToFiniteZeros) {
  for (const char* how : {"zscore", "minmax", "iq"}) {
    const json feature = ResolvedInput(std::string("{name: x, type: number, preprocessing: ") +
                                       "{normalization: " + how + "}}");
    const data::Column column = Col({"5", "5", "5"});
    const json metadata = Fit(feature, column);
    EXPECT_DOUBLE_EQ(metadata["std"].get<double>(), 0);
    EXPECT_THAT(Floats(Transform(feature, metadata, column)), ElementsAre(0.0f, 0.0f, 0.0f)) << how;
  }
}

TEST_F(NumberTypeTest, NonNumberCellIsAnErrorNamingColumnRowAndText) {
  const json feature = ResolvedInput("{name: price, type: number, column: Price}");
  const absl::Status fit = FitError(feature, Col({"1", "2", "abc"}));
  EXPECT_EQ(fit.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(fit.message(), HasSubstr("column 'Price' row 2: 'abc' is not a number"));
  const absl::Status transform =
      TransformError(feature, {{"mean", 0.0}, {"std", 1.0}}, Col({"1x", "2"}));
  EXPECT_EQ(transform.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(transform.message(), HasSubstr("column 'Price' row 0: '1x' is not a number"));
}

TEST_F(NumberTypeTest, UnfilledNullAtTransformIsAnErrorNamingTheRow) {
  const absl::Status status = TransformError(ResolvedInput("{name: x, type: number}"),
                                             {{"mean", 0.0}, {"std", 1.0}}, Col({"1", nullptr}));
  EXPECT_THAT(status.message(), HasSubstr("column 'x' row 1"));
}

TEST_F(NumberTypeTest, OutliersBeyondThresholdStdsAreReplacedByTheMean) {
  const json feature = ResolvedInput(
      "{name: x, type: number, preprocessing: {normalization: null, outlier_strategy: "
      "fill_with_mean, outlier_threshold: 3}}");
  EXPECT_THAT(Floats(Transform(feature, {{"mean", 1.0}, {"std", 1.0}},
                               Col({"5", "3.9", "-2.5", "-1.5", "1"}))),
              ElementsAre(1.0f, 3.9f, 1.0f, -1.5f, 1.0f));
}

TEST_F(NumberTypeTest, OutliersAreKeptWithoutAnOutlierStrategy) {
  const json feature =
      ResolvedInput("{name: x, type: number, preprocessing: {normalization: null}}");
  ASSERT_TRUE(feature["preprocessing"]["outlier_strategy"].is_null());
  EXPECT_THAT(Floats(Transform(feature, {{"mean", 1.0}, {"std", 1.0}}, Col({"100"}))),
              ElementsAre(100.0f));
}

TEST_F(NumberTypeTest, UnknownNormalizationIsAnError) {
  json feature = ResolvedInput("{name: x, type: number}");
  feature["preprocessing"]["normalization"] = "softmax";
  const absl::Status status = TransformError(feature, json::object(), Col({"1"}));
  EXPECT_THAT(status.message(), HasSubstr("unknown 'softmax'"));
}

TEST_F(NumberTypeTest, PostprocessAndEvalDataDenormalizeToOriginalUnits) {
  json feature = ResolvedOutput("{name: y, type: number}");
  feature["preprocessing"]["normalization"] = "zscore";
  const json metadata = {{"mean", 10.0}, {"std", 2.0}};
  const torch::Tensor targets = Transform(feature, metadata, Col({"8", "12"}));
  EXPECT_THAT(Floats(targets), ElementsAre(-1.0f, 1.0f));

  const OutputTensors outputs = {{"predictions", torch::tensor({0.5f, -1.25f})}};
  const NamedColumns columns = Postprocess(feature, metadata, outputs);
  EXPECT_THAT(ColumnNames(columns), ElementsAre("y_predictions"));
  EXPECT_THAT(Cells(columns, "y_predictions"), ElementsAre("11", "7.5"));

  absl::StatusOr<evaluation::EvalData> data =
      type().ToEvalData(feature, metadata, outputs, targets);
  ASSERT_TRUE(data.ok()) << data.status();
  EXPECT_EQ(data->type, "number");
  EXPECT_EQ(data->rows, 2);
  EXPECT_THAT(data->targets, ElementsAre(8.0f, 12.0f));
  EXPECT_THAT(data->predictions, ElementsAre(11.0f, 7.5f));
  EXPECT_TRUE(data->probabilities.empty());
}

TEST_F(NumberTypeTest, DenormalizeInvertsEveryNormalization) {
  const json metadata = {{"mean", 3.0}, {"std", 2.0}, {"min", -1.0}, {"max", 7.0},
                         {"q1", 1.0},   {"q2", 2.0},  {"q3", 5.0}};
  const data::Column column = Col({"-1", "0.5", "3", "7"});
  for (const char* how : {"zscore", "minmax", "iq", "log1p", "null"}) {
    json feature = ResolvedOutput("{name: y, type: number}");
    feature["preprocessing"]["normalization"] = how == std::string("null") ? json() : json(how);
    const data::Column cells = how == std::string("log1p") ? Col({"0", "0.5", "3", "7"}) : column;
    const torch::Tensor targets = Transform(feature, metadata, cells);
    absl::StatusOr<evaluation::EvalData> data =
        type().ToEvalData(feature, metadata, {{"predictions", targets}}, targets);
    ASSERT_TRUE(data.ok()) << data.status();
    std::vector<float> expected;
    for (const std::string& cell : cells.values) expected.push_back(std::stof(cell));
    EXPECT_THAT(data->targets, Pointwise(FloatNear(1e-5), expected)) << how;
    EXPECT_THAT(data->predictions, Pointwise(FloatNear(1e-5), expected)) << how;
  }
}

TEST_F(NumberTypeTest, LossTypes) {
  const torch::Tensor logits = torch::tensor({1.0f, 2.0f});
  const torch::Tensor targets = torch::tensor({0.0f, 4.0f});
  const std::vector<std::pair<std::string, float>> cases = {
      {"mean_squared_error", 2.5f},
      {"mean_absolute_error", 1.5f},
      {"root_mean_squared_error", std::sqrt(2.5f)},
      {"huber", 1.0f}};  // delta 1: 0.5 * 1^2 and 1 * (2 - 0.5).
  for (const auto& [loss, expected] : cases) {
    const json feature = ResolvedOutput("{name: y, type: number, loss: {type: " + loss + "}}");
    absl::StatusOr<torch::Tensor> value = type().Loss(feature, json::object(), logits, targets);
    ASSERT_TRUE(value.ok()) << value.status();
    EXPECT_FLOAT_EQ(value->item<float>(), expected) << loss;
  }
  json feature = ResolvedOutput("{name: y, type: number}");
  feature["loss"]["type"] = "hinge";
  EXPECT_THAT(type().Loss(feature, json::object(), logits, targets).status().message(),
              HasSubstr("unknown 'hinge'"));
}

TEST_F(NumberTypeTest, OutputSizeIsOne) {
  EXPECT_EQ(type().OutputSize(json::object()).value(), 1);
}

// ---- binary ----

class BinaryTypeTest : public testing::FeatureTypeTest {
 protected:
  BinaryTypeTest() : FeatureTypeTest("binary") {}
};

TEST_F(BinaryTypeTest, StandardSpellingsMapAsTheySayInAnyCase) {
  const json feature = ResolvedInput("{name: b, type: binary}");
  const json metadata = Fit(feature, Col({"True", "no", "YES", "0", "f", "On", "1.0"}));
  EXPECT_EQ(metadata["str2bool"],
            json::parse(R"({"True": true, "no": false, "YES": true, "0": false, "f": false,
                            "On": true, "1.0": true})"));
  const torch::Tensor out =
      Transform(feature, metadata, Col({"TRUE", "no", "1", "off", "Y", "t", "N", "0.0", "false"}));
  EXPECT_EQ(out.dtype(), torch::kFloat);
  EXPECT_THAT(Floats(out), ElementsAre(1, 0, 1, 0, 1, 1, 0, 0, 0));
}

TEST_F(BinaryTypeTest, StandardLabelsKeepTheColumnsSpellings) {
  const json metadata = Fit(ResolvedInput("{name: b, type: binary}"), Col({"yes", "no", "yes"}));
  EXPECT_EQ(metadata["bool2str"], json::parse(R"(["no", "yes"])"));
  EXPECT_EQ(metadata["fallback_true_label"], "yes");
}

TEST_F(BinaryTypeTest, TwoArbitraryLabelsMakeTheGreaterOneTrue) {
  const json feature = ResolvedInput("{name: animal, type: binary}");
  const json metadata = Fit(feature, Col({"dog", "cat", "dog"}));
  EXPECT_EQ(metadata["str2bool"], json::parse(R"({"cat": false, "dog": true})"));
  EXPECT_EQ(metadata["bool2str"], json::parse(R"(["cat", "dog"])"));
  EXPECT_THAT(Floats(Transform(feature, metadata, Col({"cat", "dog"}))), ElementsAre(0, 1));
}

TEST_F(BinaryTypeTest, FallbackTrueLabelChoosesTheTrueOne) {
  const json feature =
      ResolvedInput("{name: animal, type: binary, preprocessing: {fallback_true_label: cat}}");
  const json metadata = Fit(feature, Col({"dog", "cat", "dog"}));
  EXPECT_EQ(metadata["str2bool"], json::parse(R"({"cat": true, "dog": false})"));
  EXPECT_EQ(metadata["bool2str"], json::parse(R"(["dog", "cat"])"));
  EXPECT_THAT(Floats(Transform(feature, metadata, Col({"cat", "dog"}))), ElementsAre(1, 0));
  EXPECT_THAT(type().ClassNames(metadata), ElementsAre("dog", "cat"));
}

TEST_F(BinaryTypeTest, MoreThanTwoDistinctValuesIsAnErrorListingThem) {
  const json feature = ResolvedInput("{name: b, type: binary}");
  const absl::Status status = FitError(feature, Col({"a", "b", "a", "c"}));
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("column 'b'"));
  EXPECT_THAT(status.message(), HasSubstr("(e.g. a, b, c)"));
}

TEST_F(BinaryTypeTest, MoreThanTwoDistinctValuesErrorListsAtMostFive) {
  const absl::Status status =
      FitError(ResolvedInput("{name: b, type: binary}"), Col({"a", "b", "c", "d", "e", "f", "g"}));
  EXPECT_THAT(status.message(), HasSubstr("(e.g. a, b, c, d, e)"));
}

TEST_F(BinaryTypeTest, UnseenLabelAtTransformIsAnErrorNamingIt) {
  const json feature = ResolvedInput("{name: animal, type: binary}");
  const json metadata = Fit(feature, Col({"cat", "dog"}));
  const absl::Status status = TransformError(feature, metadata, Col({"dog", "bird"}));
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(),
              HasSubstr("column 'animal' row 1: 'bird' is neither of the labels 'cat' and 'dog'"));
}

TEST_F(BinaryTypeTest, PostprocessWritesLabelsAndBothClassProbabilities) {
  const json feature = ResolvedOutput("{name: animal, type: binary}");
  const json metadata = Fit(feature, Col({"cat", "dog"}));
  const OutputTensors outputs = {{"probabilities", torch::tensor({0.75f, 0.25f, 0.5f})},
                                 {"predictions", torch::tensor({true, false, true})}};
  const NamedColumns columns = Postprocess(feature, metadata, outputs);
  EXPECT_THAT(ColumnNames(columns), ElementsAre("animal_predictions", "animal_probabilities_cat",
                                                "animal_probabilities_dog", "animal_probability"));
  EXPECT_THAT(Cells(columns, "animal_predictions"), ElementsAre("dog", "cat", "dog"));
  EXPECT_THAT(Cells(columns, "animal_probabilities_cat"), ElementsAre("0.25", "0.75", "0.5"));
  EXPECT_THAT(Cells(columns, "animal_probabilities_dog"), ElementsAre("0.75", "0.25", "0.5"));
  EXPECT_THAT(Cells(columns, "animal_probability"), ElementsAre("0.75", "0.75", "0.5"));
}

TEST_F(BinaryTypeTest, EvalDataHasTargetsPredictionsAndTrueProbabilities) {
  const json feature = ResolvedOutput("{name: b, type: binary}");
  const OutputTensors outputs = {{"probabilities", torch::tensor({0.75f, 0.25f})},
                                 {"predictions", torch::tensor({true, false})}};
  absl::StatusOr<evaluation::EvalData> data =
      type().ToEvalData(feature, json::object(), outputs, torch::tensor({1.0f, 1.0f}));
  ASSERT_TRUE(data.ok()) << data.status();
  EXPECT_EQ(data->type, "binary");
  EXPECT_EQ(data->rows, 2);
  EXPECT_THAT(data->targets, ElementsAre(1, 1));
  EXPECT_THAT(data->predictions, ElementsAre(1, 0));
  EXPECT_THAT(data->probabilities, ElementsAre(0.75f, 0.25f));
}

TEST_F(BinaryTypeTest, LossIsBinaryCrossEntropyWithPositiveClassWeight) {
  const torch::Tensor logits = torch::zeros({2});
  const torch::Tensor targets = torch::tensor({1.0f, 0.0f});
  absl::StatusOr<torch::Tensor> plain =
      type().Loss(ResolvedOutput("{name: b, type: binary}"), json::object(), logits, targets);
  ASSERT_TRUE(plain.ok()) << plain.status();
  EXPECT_FLOAT_EQ(plain->item<float>(), std::log(2.0f));
  absl::StatusOr<torch::Tensor> weighted =
      type().Loss(ResolvedOutput("{name: b, type: binary, loss: {positive_class_weight: 3}}"),
                  json::object(), logits, targets);
  ASSERT_TRUE(weighted.ok()) << weighted.status();
  EXPECT_FLOAT_EQ(weighted->item<float>(), 2 * std::log(2.0f));  // (3 ln2 + ln2) / 2.
}

// ---- category ----

class CategoryTypeTest : public testing::FeatureTypeTest {
 protected:
  CategoryTypeTest() : FeatureTypeTest("category") {}

  // A fitted {<UNK>, a, b} vocabulary.
  json ThreeClasses(const json& feature) { return Fit(feature, Col({"a", "b", "a"})); }
};

TEST_F(CategoryTypeTest, VocabularyIsUnknownThenByFrequency) {
  const json metadata =
      Fit(ResolvedInput("{name: c, type: category}"), Col({"b", "a", "b", "c", nullptr, "a", "b"}));
  EXPECT_EQ(metadata["idx2str"], json::parse(R"(["<UNK>", "b", "a", "c"])"));
  EXPECT_EQ(metadata["str2idx"], json::parse(R"({"<UNK>": 0, "b": 1, "a": 2, "c": 3})"));
  EXPECT_EQ(metadata["str2freq"], json::parse(R"({"<UNK>": 0, "b": 3, "a": 2, "c": 1})"));
  EXPECT_EQ(metadata["vocab_size"], 4);
  EXPECT_EQ(type().OutputSize(metadata).value(), 4);
}

TEST_F(CategoryTypeTest, FrequencyTiesKeepFirstAppearance) {
  const json metadata =
      Fit(ResolvedInput("{name: c, type: category}"), Col({"z", "x", "y", "y", "x", "z"}));
  EXPECT_EQ(metadata["idx2str"], json::parse(R"(["<UNK>", "z", "x", "y"])"));
}

TEST_F(CategoryTypeTest, MostCommonCapsTheVocabularyAndOthersMapToUnknown) {
  const json feature = ResolvedInput("{name: c, type: category, preprocessing: {most_common: 2}}");
  const json metadata = Fit(feature, Col({"b", "a", "b", "c", "a", "b"}));
  EXPECT_EQ(metadata["idx2str"], json::parse(R"(["<UNK>", "b", "a"])"));
  EXPECT_EQ(metadata["vocab_size"], 3);
  EXPECT_THAT(Longs(Transform(feature, metadata, Col({"a", "b", "c"}))), ElementsAre(2, 1, 0));
}

TEST_F(CategoryTypeTest, NullMostCommonMeansNoLimit) {
  const json feature =
      ResolvedInput("{name: c, type: category, preprocessing: {most_common: null}}");
  ASSERT_TRUE(feature["preprocessing"]["most_common"].is_null());
  absl::StatusOr<json> metadata;
  ASSERT_NO_THROW(metadata = type().Fit(feature, Col({"a", "b", "c"})));
  ASSERT_TRUE(metadata.ok()) << metadata.status();
  EXPECT_EQ((*metadata)["vocab_size"], 4);
}

TEST_F(CategoryTypeTest, LowercaseFoldsCaseAtFitAndTransform) {
  const json feature = ResolvedInput("{name: c, type: category, preprocessing: {lowercase: true}}");
  const json metadata = Fit(feature, Col({"A", "a", "B"}));
  EXPECT_EQ(metadata["idx2str"], json::parse(R"(["<UNK>", "a", "b"])"));
  EXPECT_THAT(Longs(Transform(feature, metadata, Col({"A", "b", "C"}))), ElementsAre(1, 2, 0));
}

TEST_F(CategoryTypeTest, CaseIsKeptWithoutLowercase) {
  const json feature = ResolvedInput("{name: c, type: category}");
  const json metadata = Fit(feature, Col({"A", "a"}));
  EXPECT_EQ(metadata["idx2str"], json::parse(R"(["<UNK>", "A", "a"])"));
}

TEST_F(CategoryTypeTest, TransformGivesIndicesAndUnseenValuesZero) {
  const json feature = ResolvedInput("{name: c, type: category}");
  const json metadata = ThreeClasses(feature);
  const torch::Tensor out = Transform(feature, metadata, Col({"b", "a", "never seen", "<UNK>"}));
  EXPECT_EQ(out.dtype(), torch::kLong);
  EXPECT_THAT(Longs(out), ElementsAre(2, 1, 0, 0));
}

TEST_F(CategoryTypeTest, TransformWithoutVocabularyIsAnError) {
  const absl::Status status =
      TransformError(ResolvedInput("{name: c, type: category}"), json::object(), Col({"a"}));
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
}

// Row 0: uniform logits, target 1: loss ln 3. Row 1: logits (0, 0, ln 2), target 2: loss ln 2.
class CategoryLossTest : public CategoryTypeTest {
 protected:
  float Loss(const std::string& loss_yaml) {
    const json feature = ResolvedOutput("{name: c, type: category, loss: " + loss_yaml + "}");
    const torch::Tensor logits =
        torch::tensor({0.0f, 0.0f, 0.0f, 0.0f, 0.0f, std::log(2.0f)}).view({2, 3});
    absl::StatusOr<torch::Tensor> value = type().Loss(feature, ThreeClasses(feature), logits,
                                                      torch::tensor(std::vector<int64_t>{1, 2}));
    EXPECT_TRUE(value.ok()) << value.status();
    return value.ok() ? value->item<float>() : NAN;
  }
  absl::Status LossError(const std::string& loss_yaml) {
    const json feature = ResolvedOutput("{name: c, type: category, loss: " + loss_yaml + "}");
    return type()
        .Loss(feature, ThreeClasses(feature), torch::zeros({1, 3}),
              torch::tensor(std::vector<int64_t>{1}))
        .status();
  }
};

TEST_F(CategoryLossTest, UnweightedIsMeanCrossEntropy) {
  EXPECT_FLOAT_EQ(Loss("{}"), (std::log(3.0f) + std::log(2.0f)) / 2);
}

TEST_F(CategoryLossTest, ClassWeightsAsListWeightTheTargetsClass) {
  EXPECT_FLOAT_EQ(Loss("{class_weights: [1, 2, 3]}"),
                  (2 * std::log(3.0f) + 3 * std::log(2.0f)) / 5);
}

TEST_F(CategoryLossTest, ClassWeightsAsObjectNameClassesAndDefaultToOne) {
  EXPECT_FLOAT_EQ(Loss("{class_weights: {a: 2, b: 3}}"),
                  (2 * std::log(3.0f) + 3 * std::log(2.0f)) / 5);
  EXPECT_FLOAT_EQ(Loss("{class_weights: {b: 3}}"), (std::log(3.0f) + 3 * std::log(2.0f)) / 4);
}

TEST_F(CategoryLossTest, ClassWeightsOfWrongLengthIsAnError) {
  const absl::Status status = LossError("{class_weights: [1, 2]}");
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("expected 3 weights (one per class), got 2"));
}

TEST_F(CategoryLossTest, ClassWeightsNamingAnUnknownClassIsAnError) {
  const absl::Status status = LossError("{class_weights: {zebra: 2}}");
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("'zebra' is not a class"));
}

TEST_F(CategoryLossTest, RobustLambdaMixesInTheUniformTargetLoss) {
  // Uniform-target cross entropy: row 0 ln 3; row 1 -mean(log(1/4, 1/4, 1/2)).
  const float uniform = (std::log(3.0f) + (2 * std::log(4.0f) + std::log(2.0f)) / 3) / 2;
  const float plain = (std::log(3.0f) + std::log(2.0f)) / 2;
  EXPECT_FLOAT_EQ(Loss("{robust_lambda: 0.25}"), 0.75f * plain + 0.25f * uniform);
}

TEST_F(CategoryLossTest, ConfidencePenaltySubtractsTheScaledMeanEntropy) {
  // Entropies: row 0 ln 3 (uniform); row 1 of (1/4, 1/4, 1/2): 1.5 ln 2.
  const float entropy = (std::log(3.0f) + 1.5f * std::log(2.0f)) / 2;
  const float plain = (std::log(3.0f) + std::log(2.0f)) / 2;
  EXPECT_FLOAT_EQ(Loss("{confidence_penalty: 0.5}"), plain - 0.5f * entropy);
}

TEST_F(CategoryTypeTest, PostprocessWritesPredictionAndEveryClassProbability) {
  const json feature = ResolvedOutput("{name: c, type: category}");
  const json metadata = ThreeClasses(feature);
  const OutputTensors outputs = {
      {"probabilities", torch::tensor({0.25f, 0.5f, 0.25f, 0.125f, 0.125f, 0.75f}).view({2, 3})},
      {"predictions", torch::tensor(std::vector<int64_t>{1, 2})}};
  const NamedColumns columns = Postprocess(feature, metadata, outputs);
  EXPECT_THAT(ColumnNames(columns),
              ElementsAre("c_predictions", "c_probabilities_<UNK>", "c_probabilities_a",
                          "c_probabilities_b", "c_probability"));
  EXPECT_THAT(Cells(columns, "c_predictions"), ElementsAre("a", "b"));
  EXPECT_THAT(Cells(columns, "c_probabilities_<UNK>"), ElementsAre("0.25", "0.125"));
  EXPECT_THAT(Cells(columns, "c_probabilities_a"), ElementsAre("0.5", "0.125"));
  EXPECT_THAT(Cells(columns, "c_probabilities_b"), ElementsAre("0.25", "0.75"));
  EXPECT_THAT(Cells(columns, "c_probability"), ElementsAre("0.5", "0.75"));
  EXPECT_THAT(type().ClassNames(metadata), ElementsAre("<UNK>", "a", "b"));
}

TEST_F(CategoryTypeTest, EvalDataIsRowMajorWithTopK) {
  const json feature = ResolvedOutput("{name: c, type: category, top_k: 2}");
  const json metadata = ThreeClasses(feature);
  const OutputTensors outputs = {
      {"probabilities", torch::tensor({0.25f, 0.5f, 0.25f, 0.125f, 0.125f, 0.75f}).view({2, 3})},
      {"predictions", torch::tensor(std::vector<int64_t>{1, 2})}};
  absl::StatusOr<evaluation::EvalData> data =
      type().ToEvalData(feature, metadata, outputs, torch::tensor(std::vector<int64_t>{2, 2}));
  ASSERT_TRUE(data.ok()) << data.status();
  EXPECT_EQ(data->type, "category");
  EXPECT_EQ(data->rows, 2);
  EXPECT_EQ(data->width, 3);
  EXPECT_EQ(data->top_k, 2);
  EXPECT_THAT(data->targets, ElementsAre(2, 2));
  EXPECT_THAT(data->predictions, ElementsAre(1, 2));
  EXPECT_THAT(data->probabilities, ElementsAre(0.25f, 0.5f, 0.25f, 0.125f, 0.125f, 0.75f));
  EXPECT_TRUE(evaluation::CheckEvalData(*data).ok());
}

// ---- vector ----

class VectorTypeTest : public testing::FeatureTypeTest {
 protected:
  VectorTypeTest() : FeatureTypeTest("vector") {}
};

TEST_F(VectorTypeTest, SizeComesFromTheFirstNonEmptyRow) {
  const json metadata =
      Fit(ResolvedInput("{name: v, type: vector}"), Col({nullptr, "", "1 2 3", "4 5"}));
  EXPECT_EQ(metadata["vector_size"], 3);
}

TEST_F(VectorTypeTest, RowsWithoutNumbersDoNotSizeTheVector) {
  // A vector of size 0 would give the output a zero-width projector and Postprocess no rows.
  const json metadata = Fit(ResolvedInput("{name: v, type: vector}"), Col({" ", ",", "\t", "1 2"}));
  EXPECT_EQ(metadata["vector_size"], 2);
}

TEST_F(VectorTypeTest, ConfiguredVectorSizeWins) {
  const json feature = ResolvedInput("{name: v, type: vector, preprocessing: {vector_size: 2}}");
  const json metadata = Fit(feature, Col({"1 2 3"}));
  EXPECT_EQ(metadata["vector_size"], 2);
  const absl::Status status = TransformError(feature, metadata, Col({"1 2", "1 2 3"}));
  EXPECT_THAT(status.message(), HasSubstr("column 'v' row 1: vector has 3 values, expected 2"));
}

TEST_F(VectorTypeTest, NoVectorToSizeFromIsAnError) {
  const absl::Status status =
      FitError(ResolvedInput("{name: v, type: vector}"), Col({"", nullptr}));
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("column 'v'"));
}

TEST_F(VectorTypeTest, TransformParsesRowsAndEmptyCellsAreZeros) {
  const json feature = ResolvedInput("{name: v, type: vector}");
  const data::Column column = Col({"1 2.5 -3", "", "4,5\t6"});
  const torch::Tensor out = FitTransform(feature, column);
  EXPECT_EQ(out.dtype(), torch::kFloat);
  EXPECT_THAT(Shape(out), ElementsAre(3, 3));
  EXPECT_THAT(Floats(out), ElementsAre(1, 2.5, -3, 0, 0, 0, 4, 5, 6));
}

TEST_F(VectorTypeTest, MismatchedLengthIsAnErrorNamingTheRow) {
  const json feature = ResolvedInput("{name: v, type: vector}");
  const absl::Status status =
      TransformError(feature, {{"vector_size", 3}}, Col({"1 2 3", "1 2 3", "1 2"}));
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("column 'v' row 2: vector has 2 values, expected 3"));
}

TEST_F(VectorTypeTest, NonNumberItemIsAnErrorNamingTheRow) {
  const absl::Status status = TransformError(ResolvedInput("{name: v, type: vector}"),
                                             {{"vector_size", 3}}, Col({"1 x 3"}));
  EXPECT_THAT(status.message(), HasSubstr("column 'v' row 0: 'x' in a vector is not a number"));
}

TEST_F(VectorTypeTest, PostprocessWritesSpaceSeparatedRows) {
  const json feature = ResolvedOutput("{name: v, type: vector}");
  const json metadata = {{"vector_size", 2}};
  EXPECT_EQ(type().OutputSize(metadata).value(), 2);
  const NamedColumns columns = Postprocess(
      feature, metadata, {{"predictions", torch::tensor({0.5f, 1.5f, 2.0f, -1.0f}).view({2, 2})}});
  EXPECT_THAT(ColumnNames(columns), ElementsAre("v_predictions"));
  EXPECT_THAT(Cells(columns, "v_predictions"), ElementsAre("0.5 1.5", "2 -1"));
}

TEST_F(VectorTypeTest, LossIsMeanSquaredOrAbsoluteError) {
  const torch::Tensor logits = torch::tensor({1.0f, 2.0f, 3.0f, 4.0f}).view({2, 2});
  const torch::Tensor targets = torch::tensor({1.0f, 0.0f, 3.0f, 5.0f}).view({2, 2});
  absl::StatusOr<torch::Tensor> mse =
      type().Loss(ResolvedOutput("{name: v, type: vector}"), json::object(), logits, targets);
  ASSERT_TRUE(mse.ok()) << mse.status();
  EXPECT_FLOAT_EQ(mse->item<float>(), 5.0f / 4);
  absl::StatusOr<torch::Tensor> mae =
      type().Loss(ResolvedOutput("{name: v, type: vector, loss: {type: mean_absolute_error}}"),
                  json::object(), logits, targets);
  ASSERT_TRUE(mae.ok()) << mae.status();
  EXPECT_FLOAT_EQ(mae->item<float>(), 3.0f / 4);
}

// ---- date ----

class DateTypeTest : public testing::FeatureTypeTest {
 protected:
  DateTypeTest() : FeatureTypeTest("date") {}

  // The detected format of a one-cell column.
  std::string DetectedFormat(const char* cell) {
    const json metadata = Fit(ResolvedInput("{name: d, type: date}"), Col({nullptr, "", cell}));
    return metadata.value("datetime_format", std::string());
  }
  // The components of one cell parsed with the format detected from it.
  std::vector<int64_t> Components(const char* cell) {
    return Longs(FitTransform(ResolvedInput("{name: d, type: date}"), Col({cell})));
  }
};

TEST_F(DateTypeTest, DetectsCommonFormats) {
  EXPECT_EQ(DetectedFormat("2024-02-29"), "%Y-%m-%d");
  EXPECT_EQ(DetectedFormat("2024-02-29 13:45:30"), "%Y-%m-%d %H:%M:%S");
  EXPECT_EQ(DetectedFormat("2024-02-29T13:45:30"), "%Y-%m-%dT%H:%M:%S");
  EXPECT_EQ(DetectedFormat("2024-02-29 13:45"), "%Y-%m-%d %H:%M");
  EXPECT_EQ(DetectedFormat("2024/02/29"), "%Y/%m/%d");
  EXPECT_EQ(DetectedFormat("02/29/2024"), "%m/%d/%Y");
  EXPECT_EQ(DetectedFormat("2/9/2024"), "%m/%d/%Y");
  EXPECT_EQ(DetectedFormat("02/29/2024 13:45:30"), "%m/%d/%Y %H:%M:%S");
  EXPECT_EQ(DetectedFormat("29.02.2024"), "%d.%m.%Y");
  EXPECT_EQ(DetectedFormat("29 Feb 2024"), "%d %b %Y");
  EXPECT_EQ(DetectedFormat("20240229"), "%Y%m%d");
}

TEST_F(DateTypeTest, ComponentsOfALeapDay) {
  // 2024-02-29 is a Thursday (Monday 0) and day 60 of the year.
  const std::vector<int64_t> leap_day = {2024, 2, 29, 3, 60, 0, 0, 0, 0};
  EXPECT_EQ(Components("2024-02-29"), leap_day);
  EXPECT_EQ(Components("02/29/2024"), leap_day);
  EXPECT_EQ(Components("29.02.2024"), leap_day);
  EXPECT_EQ(Components("29 Feb 2024"), leap_day);
  EXPECT_EQ(Components("29 february 2024"), leap_day);
  EXPECT_EQ(Components("20240229"), leap_day);
}

TEST_F(DateTypeTest, ComponentsIncludeTimeAndSecondOfDay) {
  EXPECT_THAT(Components("2024-02-29 13:45:30"),
              ElementsAre(2024, 2, 29, 3, 60, 13, 45, 30, 13 * 3600 + 45 * 60 + 30));
  // Fractional seconds and a zone suffix are ignored.
  EXPECT_THAT(Components("2024-03-01T23:59:59.250Z"),
              ElementsAre(2024, 3, 1, 4, 61, 23, 59, 59, 86399));
}

TEST_F(DateTypeTest, WeekdayAndYeardayOfKnownDates) {
  EXPECT_THAT(Components("1970-01-01"), ElementsAre(1970, 1, 1, 3, 1, 0, 0, 0, 0));  // Thursday.
  EXPECT_THAT(Components("1969-12-31"), ElementsAre(1969, 12, 31, 2, 365, 0, 0, 0, 0));  // Wed.
  EXPECT_THAT(Components("2000-01-01"), ElementsAre(2000, 1, 1, 5, 1, 0, 0, 0, 0));  // Saturday.
  EXPECT_THAT(Components("2023-12-31"), ElementsAre(2023, 12, 31, 6, 365, 0, 0, 0, 0));  // Sunday.
  EXPECT_THAT(Components("2024-12-31"), ElementsAre(2024, 12, 31, 1, 366, 0, 0, 0, 0));  // Tue.
  EXPECT_THAT(Components("2024-01-01"), ElementsAre(2024, 1, 1, 0, 1, 0, 0, 0, 0));      // Monday.
}

TEST_F(DateTypeTest, ExplicitDatetimeFormatIsUsed) {
  const json feature =
      ResolvedInput("{name: d, type: date, preprocessing: {datetime_format: '%d/%m/%y %H%%'}}");
  const data::Column column = Col({"01/03/24 07%", "31/12/99 00%"});
  const json metadata = Fit(feature, column);
  EXPECT_EQ(metadata["datetime_format"], "%d/%m/%y %H%%");
  EXPECT_THAT(Longs(Transform(feature, metadata, column)),
              ElementsAre(2024, 3, 1, 4, 61, 7, 0, 0, 7 * 3600,  //
                          1999, 12, 31, 4, 365, 0, 0, 0, 0));
}

TEST_F(DateTypeTest, TwoDigitYearsFollowPosixPivot) {
  // strptime's %y: 69-99 are 1969-1999, 00-68 are 2000-2068.
  const json feature =
      ResolvedInput("{name: d, type: date, preprocessing: {datetime_format: '%y-%m-%d'}}");
  const data::Column column = Col({"68-01-01", "69-01-01", "00-01-01", "99-01-01"});
  const torch::Tensor out = Transform(feature, Fit(feature, column), column);
  EXPECT_THAT(Longs(out.index({torch::indexing::Slice(), 0})), ElementsAre(2068, 1969, 2000, 1999));
}

TEST_F(DateTypeTest, DayBeyondTheEndOfItsMonthIsAnError) {
  const json feature = ResolvedInput("{name: d, type: date}");
  const json metadata = Fit(feature, Col({"2024-02-29"}));
  for (const char* bad : {"2023-02-29", "2024-02-30", "2024-04-31", "2024-00-10", "2024-01-00"}) {
    const absl::Status status = TransformError(feature, metadata, Col({"2024-01-31", bad}));
    EXPECT_THAT(status.message(), HasSubstr(std::string("column 'd' row 1: '") + bad + "'"));
  }
  EXPECT_THAT(Longs(Transform(feature, metadata, Col({"2000-02-29", "2024-12-31"}))),
              ElementsAre(2000, 2, 29, 1, 60, 0, 0, 0, 0, 2024, 12, 31, 1, 366, 0, 0, 0, 0));
}

TEST_F(DateTypeTest, EmptyCellIsAllZeros) {
  const json feature = ResolvedInput("{name: d, type: date}");
  const torch::Tensor out = FitTransform(feature, Col({"2024-02-29", ""}));
  EXPECT_EQ(out.dtype(), torch::kLong);
  EXPECT_THAT(Shape(out), ElementsAre(2, 9));
  EXPECT_THAT(Longs(out.index({1})), ElementsAre(0, 0, 0, 0, 0, 0, 0, 0, 0));
}

TEST_F(DateTypeTest, CellNotMatchingTheFormatIsAnErrorNamingColumnAndRow) {
  const json feature = ResolvedInput("{name: d, type: date}");
  const json metadata = Fit(feature, Col({"2024-02-29"}));
  for (const char* bad : {"yesterday", "2024-13-01", "29.02.2024", "2024-02-29x"}) {
    const absl::Status status = TransformError(feature, metadata, Col({"2024-02-29", bad}));
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_THAT(status.message(), HasSubstr(std::string("column 'd' row 1: '") + bad +
                                            "' does not match the date format '%Y-%m-%d'"));
  }
}

TEST_F(DateTypeTest, UndetectableFormatIsAnErrorNamingTheRow) {
  const absl::Status status = FitError(ResolvedInput("{name: d, type: date}"), Col({"", "soon"}));
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(),
              HasSubstr("column 'd' row 1: cannot tell the date format of 'soon'"));
}

}  // namespace
}  // namespace tristage::features
