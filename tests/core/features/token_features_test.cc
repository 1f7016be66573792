// Tokenized feature types (set, bag, text, sequence), tokenizers, vocabularies and missing values.
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "core/features/feature.h"
#include "core/features/missing_values.h"
#include "core/features/tokenizers.h"
#include "core/features/vocabulary.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/core/features/features_test_util.h"

namespace tristage::features {
namespace {

using testing::Cells;
using testing::Col;
using testing::ColumnNames;
using ::testing::ElementsAre;
using testing::Floats;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using testing::Longs;
using testing::ResolvedInput;
using testing::ResolvedOutput;
using testing::Shape;

// ---- tokenizers ----

std::vector<std::string> Tokens(const std::string& tokenizer, const std::string& text) {
  absl::StatusOr<Tokenizer> tokenize = FindTokenizer(tokenizer);
  EXPECT_TRUE(tokenize.ok()) << tokenize.status();
  return tokenize.ok() ? (*tokenize)(text) : std::vector<std::string>();
}

TEST(TokenizersTest, SpaceSplitsOnRunsOfWhitespace) {
  EXPECT_THAT(Tokens("space", "  a  b\tc\nd,e  "), ElementsAre("a", "b", "c", "d,e"));
  EXPECT_THAT(Tokens("space", " \t "), IsEmpty());
}

TEST(TokenizersTest, SpacePunctSplitsWordsAndSinglePunctuationMarks) {
  EXPECT_THAT(Tokens("space_punct", "Hello, world!! It's snake_case42."),
              ElementsAre("Hello", ",", "world", "!", "!", "It", "'", "s", "snake_case42", "."));
}

TEST(TokenizersTest, SpacePunctKeepsUtf8WordsWhole) {
  EXPECT_THAT(Tokens("space_punct", "café-crème (naïve) 日本語"),
              ElementsAre("café", "-", "crème", "(", "naïve", ")", "日本語"));
}

TEST(TokenizersTest, CharactersAreWholeUtf8CharactersWithoutWhitespace) {
  EXPECT_THAT(Tokens("characters", "añ b€\t日本"), ElementsAre("a", "ñ", "b", "€", "日", "本"));
  EXPECT_THAT(Tokens("characters", "😀x"), ElementsAre("😀", "x"));
}

TEST(TokenizersTest, CommaSplitsAndTrims) {
  EXPECT_THAT(Tokens("comma", " a, b c ,,d "), ElementsAre("a", "b c", "d"));
}

TEST(TokenizersTest, UnderscoreSplitsAndTrims) {
  EXPECT_THAT(Tokens("underscore", "a_b__c _ d e_"), ElementsAre("a", "b", "c", "d e"));
}

TEST(TokenizersTest, UnknownNameIsAnErrorListingTheKnownOnes) {
  absl::StatusOr<Tokenizer> tokenize = FindTokenizer("bpe");
  ASSERT_FALSE(tokenize.ok());
  EXPECT_EQ(tokenize.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(tokenize.status().message(),
              HasSubstr("'bpe' (known: space, space_punct, characters, comma, underscore)"));
}

TEST(TokenizersTest, LowercaseAsciiLeavesNonAsciiBytes) {
  EXPECT_EQ(LowercaseAscii("ÀBC Ñ xY"), "Àbc Ñ xy");
}

// ---- vocabulary ----

TEST(SymbolCounterTest, BuildPutsSpecialsFirstThenByFrequencyThenFirstSeen) {
  SymbolCounter counter;
  for (const char* symbol : {"c", "a", "b", "a", "b", "d"}) counter.Add(symbol);
  const json vocabulary = counter.Build({"<PAD>", "<UNK>"}, 0);
  EXPECT_EQ(vocabulary["idx2str"], json::parse(R"(["<PAD>", "<UNK>", "a", "b", "c", "d"])"));
  EXPECT_EQ(vocabulary["str2idx"],
            json::parse(R"({"<PAD>": 0, "<UNK>": 1, "a": 2, "b": 3, "c": 4, "d": 5})"));
  EXPECT_EQ(vocabulary["str2freq"],
            json::parse(R"({"<PAD>": 0, "<UNK>": 0, "a": 2, "b": 2, "c": 1, "d": 1})"));
  EXPECT_EQ(vocabulary["vocab_size"], 6);
}

TEST(SymbolCounterTest, MostCommonCountsOnlyNonSpecialSymbols) {
  SymbolCounter counter;
  for (const char* symbol : {"<UNK>", "<UNK>", "<UNK>", "x", "x", "y"}) counter.Add(symbol);
  const json vocabulary = counter.Build({"<UNK>"}, 1);
  EXPECT_EQ(vocabulary["idx2str"], json::parse(R"(["<UNK>", "x"])"));
  EXPECT_EQ(vocabulary["str2freq"], json::parse(R"({"<UNK>": 3, "x": 2})"));
}

TEST(VocabularyIndexTest, LooksUpSymbolsAndUnknownsGetTheUnknownIndex) {
  absl::StatusOr<VocabularyIndex> index =
      VocabularyIndex::FromMetadata(json::parse(R"({"idx2str": ["<PAD>", "<UNK>", "a"]})"), 1);
  ASSERT_TRUE(index.ok()) << index.status();
  EXPECT_EQ(index->Lookup("a"), 2);
  EXPECT_EQ(index->Lookup("<PAD>"), 0);
  EXPECT_EQ(index->Lookup("zzz"), 1);
  EXPECT_THAT(index->symbols(), ElementsAre("<PAD>", "<UNK>", "a"));
}

TEST(VocabularyIndexTest, MetadataWithoutIdx2strIsAnError) {
  EXPECT_EQ(VocabularyIndex::FromMetadata(json::object(), 0).status().code(),
            absl::StatusCode::kInvalidArgument);
}

// ---- set and bag ----

class SetLikeTypeTest : public testing::FeatureTypeTest {
 protected:
  SetLikeTypeTest() : FeatureTypeTest("set") {}
  const FeatureType& bag() const { return *FindFeatureType("bag"); }
};

TEST_F(SetLikeTypeTest, FitBuildsItemVocabularyAndMaxSize) {
  const json metadata =
      Fit(ResolvedInput("{name: s, type: set}"), Col({"a b", "b  c b", nullptr, ""}));
  EXPECT_EQ(metadata["idx2str"], json::parse(R"(["<UNK>", "b", "a", "c"])"));
  EXPECT_EQ(metadata["str2freq"], json::parse(R"({"<UNK>": 0, "b": 3, "a": 1, "c": 1})"));
  EXPECT_EQ(metadata["vocab_size"], 4);
  EXPECT_EQ(metadata["max_set_size"], 3);
  EXPECT_EQ(type().OutputSize(metadata).value(), 4);
}

TEST_F(SetLikeTypeTest, SetIsMultiHotAndUnknownItemsGoToUnknown) {
  const json feature = ResolvedInput("{name: s, type: set}");
  const json metadata = Fit(feature, Col({"a b", "b c b"}));
  const torch::Tensor out = Transform(feature, metadata, Col({"b b x", "", "c a"}));
  EXPECT_EQ(out.dtype(), torch::kFloat);
  EXPECT_THAT(Shape(out), ElementsAre(3, 4));
  EXPECT_THAT(Floats(out), ElementsAre(1, 1, 0, 0,  //
                                       0, 0, 0, 0,  //
                                       0, 0, 1, 1));
}

TEST_F(SetLikeTypeTest, BagCountsItems) {
  const json feature = ResolvedInput("{name: s, type: bag}");
  const data::Column column = Col({"a b", "b c b"});
  absl::StatusOr<json> metadata = bag().Fit(feature, column);
  ASSERT_TRUE(metadata.ok()) << metadata.status();
  EXPECT_EQ((*metadata)["max_bag_size"], 3);
  EXPECT_FALSE(metadata->contains("max_set_size"));
  absl::StatusOr<torch::Tensor> out = bag().Transform(feature, *metadata, Col({"b b x y", "c"}));
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_THAT(Floats(*out), ElementsAre(2, 2, 0, 0,  //
                                        0, 0, 0, 1));
  EXPECT_FALSE(bag().can_be_output());
  EXPECT_TRUE(type().can_be_output());
}

TEST_F(SetLikeTypeTest, ConfiguredTokenizerAndLowercase) {
  const json feature =
      ResolvedInput("{name: s, type: set, preprocessing: {tokenizer: comma, lowercase: true}}");
  const json metadata = Fit(feature, Col({"Red, dark green,BLUE", "dark green"}));
  EXPECT_EQ(metadata["idx2str"], json::parse(R"(["<UNK>", "dark green", "red", "blue"])"));
  EXPECT_THAT(Floats(Transform(feature, metadata, Col({"blue,RED", "green"}))),
              ElementsAre(0, 0, 1, 1,  //
                          1, 0, 0, 0));
}

TEST_F(SetLikeTypeTest, MostCommonCapsTheItems) {
  const json feature = ResolvedInput("{name: s, type: set, preprocessing: {most_common: 1}}");
  const json metadata = Fit(feature, Col({"a b", "b"}));
  EXPECT_EQ(metadata["idx2str"], json::parse(R"(["<UNK>", "b"])"));
  EXPECT_THAT(Floats(Transform(feature, metadata, Col({"a"}))), ElementsAre(1, 0));
}

TEST_F(SetLikeTypeTest, NullMostCommonMeansNoLimit) {
  const json feature = ResolvedInput("{name: s, type: set, preprocessing: {most_common: null}}");
  absl::StatusOr<json> metadata;
  ASSERT_NO_THROW(metadata = type().Fit(feature, Col({"a b c"})));
  ASSERT_TRUE(metadata.ok()) << metadata.status();
  EXPECT_EQ((*metadata)["vocab_size"], 4);
}

TEST_F(SetLikeTypeTest, UnknownTokenizerIsAnError) {
  json feature = ResolvedInput("{name: s, type: set}");
  feature["preprocessing"]["tokenizer"] = "bpe";
  EXPECT_THAT(FitError(feature, Col({"a"})).message(), HasSubstr("unknown tokenizer 'bpe'"));
}

TEST_F(SetLikeTypeTest, PostprocessListsChosenItemsAndTheirProbabilities) {
  const json feature = ResolvedOutput("{name: s, type: set}");
  const json metadata = Fit(feature, Col({"a b", "a"}));  // <UNK>, a, b
  const OutputTensors outputs = {
      {"probabilities", torch::tensor({0.25f, 0.75f, 0.5f, 0.125f, 0.25f, 0.375f}).view({2, 3})},
      {"predictions", torch::tensor({false, true, true, false, false, false}).view({2, 3})}};
  const NamedColumns columns = Postprocess(feature, metadata, outputs);
  EXPECT_THAT(ColumnNames(columns), ElementsAre("s_predictions", "s_probabilities"));
  EXPECT_THAT(Cells(columns, "s_predictions"), ElementsAre("a b", ""));
  EXPECT_THAT(Cells(columns, "s_probabilities"), ElementsAre("0.75 0.5", ""));
}

TEST_F(SetLikeTypeTest, EvalDataIsRowMajorMultiHot) {
  const json feature = ResolvedOutput("{name: s, type: set}");
  const json metadata = Fit(feature, Col({"a b", "a"}));
  const torch::Tensor targets = Transform(feature, metadata, Col({"a", "b a"}));
  const OutputTensors outputs = {
      {"probabilities", torch::tensor({0.25f, 0.75f, 0.5f, 0.125f, 0.25f, 0.375f}).view({2, 3})},
      {"predictions", torch::tensor({false, true, true, false, false, false}).view({2, 3})}};
  absl::StatusOr<evaluation::EvalData> data =
      type().ToEvalData(feature, metadata, outputs, targets);
  ASSERT_TRUE(data.ok()) << data.status();
  EXPECT_EQ(data->type, "set");
  EXPECT_EQ(data->rows, 2);
  EXPECT_EQ(data->width, 3);
  EXPECT_THAT(data->targets, ElementsAre(0, 1, 0, 0, 1, 1));
  EXPECT_THAT(data->predictions, ElementsAre(0, 1, 1, 0, 0, 0));
  EXPECT_TRUE(evaluation::CheckEvalData(*data).ok());
}

TEST_F(SetLikeTypeTest, LossIsSigmoidCrossEntropyWeightedPerClass) {
  const json metadata = {{"idx2str", {"<UNK>", "a"}}, {"str2idx", {{"<UNK>", 0}, {"a", 1}}}};
  const torch::Tensor logits = torch::zeros({1, 2});
  const torch::Tensor targets = torch::tensor({0.0f, 1.0f}).view({1, 2});
  absl::StatusOr<torch::Tensor> plain =
      type().Loss(ResolvedOutput("{name: s, type: set}"), metadata, logits, targets);
  ASSERT_TRUE(plain.ok()) << plain.status();
  EXPECT_FLOAT_EQ(plain->item<float>(), std::log(2.0f));
  absl::StatusOr<torch::Tensor> weighted =
      type().Loss(ResolvedOutput("{name: s, type: set, loss: {class_weights: {a: 3}}}"), metadata,
                  logits, targets);
  ASSERT_TRUE(weighted.ok()) << weighted.status();
  EXPECT_FLOAT_EQ(weighted->item<float>(), 2 * std::log(2.0f));  // (1 ln2 + 3 ln2) / 2.
}

// ---- text and sequence ----

class TextTypeTest : public testing::FeatureTypeTest {
 protected:
  TextTypeTest() : FeatureTypeTest("text") {}
};

TEST_F(TextTypeTest, TextDefaultsToSpacePunctLowercasedWithPadAndUnknownFirst) {
  const json feature = ResolvedInput("{name: t, type: text}");
  const json metadata = Fit(feature, Col({"Hello world", "hello, HELLO!", nullptr}));
  EXPECT_EQ(metadata["idx2str"], json::parse(R"(["<PAD>", "<UNK>", "hello", "world", ",", "!"])"));
  EXPECT_EQ(metadata["str2idx"]["<PAD>"], 0);
  EXPECT_EQ(metadata["str2idx"]["<UNK>"], 1);
  EXPECT_EQ(metadata["vocab_size"], 6);
  EXPECT_EQ(metadata["max_sequence_length"], 4);  // hello , hello !
}

TEST_F(TextTypeTest, TransformPadsRightWithZerosAndUnknownsAreOne) {
  const json feature = ResolvedInput("{name: t, type: text}");
  const json metadata = Fit(feature, Col({"Hello world", "hello, HELLO!"}));
  const torch::Tensor out = Transform(feature, metadata, Col({"hello", "World, bye", ""}));
  EXPECT_EQ(out.dtype(), torch::kLong);
  EXPECT_THAT(Shape(out), ElementsAre(3, 4));
  EXPECT_THAT(Longs(out), ElementsAre(2, 0, 0, 0,  //
                                      3, 4, 1, 0,  //
                                      0, 0, 0, 0));
}

TEST_F(TextTypeTest, LeftPaddingPutsTokensAtTheEnd) {
  const json feature = ResolvedInput("{name: t, type: text, preprocessing: {padding: left}}");
  const json metadata = Fit(feature, Col({"Hello world", "hello, HELLO!"}));
  EXPECT_THAT(Longs(Transform(feature, metadata, Col({"hello", "World, bye"}))),
              ElementsAre(0, 0, 0, 2,  //
                          0, 3, 4, 1));
}

TEST_F(TextTypeTest, MaxSequenceLengthIsTheLongestRowCappedByTheConfig) {
  const data::Column column = Col({"a b c", "a b c d e"});
  EXPECT_EQ(Fit(ResolvedInput("{name: t, type: text}"), column)["max_sequence_length"], 5);
  EXPECT_EQ(Fit(ResolvedInput("{name: t, type: text, preprocessing: {max_sequence_length: 3}}"),
                column)["max_sequence_length"],
            3);
  EXPECT_EQ(Fit(ResolvedInput("{name: t, type: text}"), Col({"", nullptr}))["max_sequence_length"],
            1);
}

TEST_F(TextTypeTest, LongRowsAreTruncatedKeepingTheirFirstTokens) {
  for (const char* padding : {"right", "left"}) {
    const json feature = ResolvedInput(
        std::string("{name: t, type: text, preprocessing: {max_sequence_length: 2, padding: ") +
        padding + "}}");
    const data::Column column = Col({"a b c", "c"});
    const json metadata = Fit(feature, column);  // <PAD>, <UNK>, c, a, b
    ASSERT_EQ(metadata["max_sequence_length"], 2);
    const std::vector<int64_t> expected = padding == std::string("right")
                                              ? std::vector<int64_t>{3, 4, 2, 0}
                                              : std::vector<int64_t>{3, 4, 0, 2};
    EXPECT_EQ(Longs(Transform(feature, metadata, column)), expected) << padding;
  }
}

TEST_F(TextTypeTest, MostCommonCapsTheVocabulary) {
  const json feature = ResolvedInput("{name: t, type: text, preprocessing: {most_common: 1}}");
  const json metadata = Fit(feature, Col({"a b b"}));
  EXPECT_EQ(metadata["idx2str"], json::parse(R"(["<PAD>", "<UNK>", "b"])"));
  EXPECT_THAT(Longs(Transform(feature, metadata, Col({"a b b"}))), ElementsAre(1, 2, 2));
}

TEST_F(TextTypeTest, CustomPaddingAndUnknownSymbols) {
  const json feature = ResolvedInput(
      "{name: t, type: text, preprocessing: {padding_symbol: '[PAD]', unknown_symbol: '[UNK]'}}");
  const json metadata = Fit(feature, Col({"x"}));
  EXPECT_EQ(metadata["idx2str"], json::parse(R"(["[PAD]", "[UNK]", "x"])"));
}

TEST_F(TextTypeTest, CharactersTokenizerSplitsUtf8Characters) {
  const json feature =
      ResolvedInput("{name: t, type: text, preprocessing: {tokenizer: characters}}");
  const json metadata = Fit(feature, Col({"héé", "hé"}));
  EXPECT_EQ(metadata["idx2str"], json::parse(R"(["<PAD>", "<UNK>", "é", "h"])"));
  EXPECT_THAT(Longs(Transform(feature, metadata, Col({"éh€"}))), ElementsAre(2, 3, 1));
}

TEST_F(TextTypeTest, SequenceDefaultsToSpaceAndKeepsCase) {
  const FeatureType& sequence = *FindFeatureType("sequence");
  const json feature = ResolvedInput("{name: q, type: sequence}");
  ASSERT_EQ(feature["preprocessing"]["tokenizer"], "space");
  const data::Column column = Col({"A b,c", "A"});
  absl::StatusOr<json> metadata = sequence.Fit(feature, column);
  ASSERT_TRUE(metadata.ok()) << metadata.status();
  EXPECT_EQ((*metadata)["idx2str"], json::parse(R"(["<PAD>", "<UNK>", "A", "b,c"])"));
  absl::StatusOr<torch::Tensor> out = sequence.Transform(feature, *metadata, Col({"a A"}));
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_THAT(Longs(*out), ElementsAre(1, 2));
}

TEST_F(TextTypeTest, UnderscoreAndCommaTokenizers) {
  for (const char* tokenizer : {"underscore", "comma"}) {
    const json feature = ResolvedInput(
        std::string("{name: q, type: sequence, preprocessing: {tokenizer: ") + tokenizer + "}}");
    const std::string text = tokenizer == std::string("comma") ? "x, y ,x" : "x_ y _x";
    const json metadata = Fit(feature, Col({text.c_str()}));
    EXPECT_EQ(metadata["idx2str"], json::parse(R"(["<PAD>", "<UNK>", "x", "y"])")) << tokenizer;
  }
}

// ---- missing values ----

// Runs ComputeFillValue on `training` and FillMissing on `column`, failing on an error.
data::Column Filled(const json& feature, const data::Column& training, data::Column column) {
  absl::StatusOr<std::optional<std::string>> fill = ComputeFillValue(feature, training);
  EXPECT_TRUE(fill.ok()) << fill.status();
  if (!fill.ok()) return column;
  const absl::Status status = FillMissing(feature, *fill, column);
  EXPECT_TRUE(status.ok()) << status;
  return column;
}

std::optional<std::string> FillValue(const json& feature, const data::Column& training) {
  absl::StatusOr<std::optional<std::string>> fill = ComputeFillValue(feature, training);
  EXPECT_TRUE(fill.ok()) << fill.status();
  return fill.ok() ? *fill : std::nullopt;
}

absl::Status FillValueError(const json& feature, const data::Column& training) {
  absl::StatusOr<std::optional<std::string>> fill = ComputeFillValue(feature, training);
  EXPECT_FALSE(fill.ok());
  return fill.status();
}

json WithStrategy(const std::string& type, const std::string& strategy) {
  return ResolvedInput("{name: x, type: " + type +
                       ", preprocessing: {missing_value_strategy: " + strategy + "}}");
}

TEST(MissingValuesTest, StrategyDefaultsFollowTheResolvedConfig) {
  EXPECT_EQ(MissingValueStrategy(json{{"name", "x"}}), "fill_with_const");
  EXPECT_EQ(MissingValueStrategy(ResolvedInput("{name: x, type: number}")), "fill_with_const");
  EXPECT_EQ(MissingValueStrategy(ResolvedInput("{name: x, type: binary}")), "fill_with_false");
  EXPECT_EQ(MissingValueStrategy(ResolvedOutput("{name: x, type: category}")), "drop_row");
}

TEST(MissingValuesTest, FillWithConstUsesStringFillValue) {
  const json feature = ResolvedInput("{name: x, type: category, preprocessing: {fill_value: zz}}");
  const data::Column column = Col({"a", nullptr, "b", nullptr});
  const data::Column filled = Filled(feature, column, column);
  EXPECT_THAT(filled.values, ElementsAre("a", "zz", "b", "zz"));
  EXPECT_THAT(filled.is_null, ElementsAre(0, 0, 0, 0));
  EXPECT_EQ(FillValue(ResolvedInput("{name: x, type: category}"), column), "<UNK>");
}

TEST(MissingValuesTest, FillWithConstWritesNumbersAsNumberText) {
  const data::Column column = Col({"1", nullptr});
  EXPECT_EQ(FillValue(ResolvedInput("{name: x, type: number}"), column), "0");
  EXPECT_EQ(
      FillValue(ResolvedInput("{name: x, type: number, preprocessing: {fill_value: 1.5}}"), column),
      "1.5");
  EXPECT_EQ(
      FillValue(ResolvedInput("{name: x, type: number, preprocessing: {fill_value: -3}}"), column),
      "-3");
  EXPECT_EQ(FillValue(ResolvedInput("{name: x, type: binary, preprocessing: "
                                    "{missing_value_strategy: fill_with_const, fill_value: true}}"),
                      column),
            "true");
}

TEST(MissingValuesTest, FillWithConstOnlyFillsNullCells) {
  const json feature = ResolvedInput("{name: x, type: text, preprocessing: {fill_value: gap}}");
  const data::Column column = Col({"", nullptr});
  EXPECT_THAT(Filled(feature, column, column).values, ElementsAre("", "gap"));
}

TEST(MissingValuesTest, FillWithMeanUsesTheTrainingMean) {
  const json feature = WithStrategy("number", "fill_with_mean");
  EXPECT_EQ(FillValue(feature, Col({"1", nullptr, "4"})), "2.5");
  // The training split's mean fills another split.
  EXPECT_THAT(Filled(feature, Col({"1", "2"}), Col({nullptr, "7"})).values,
              ElementsAre("1.5", "7"));
}

TEST(MissingValuesTest, FillWithMeanOfNonNumberIsAnErrorNamingColumnAndRow) {
  const absl::Status status =
      FillValueError(WithStrategy("number", "fill_with_mean"), Col({"1", "abc"}));
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("column 'x'"));
  EXPECT_THAT(status.message(), HasSubstr("row 1 has 'abc'"));
}

TEST(MissingValuesTest, FillWithMeanOrModeOfOnlyMissingValuesIsAnError) {
  for (const char* strategy : {"fill_with_mean", "fill_with_mode"}) {
    const absl::Status status =
        FillValueError(WithStrategy("number", strategy), Col({nullptr, nullptr}));
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << strategy;
    EXPECT_THAT(status.message(), HasSubstr("column 'x': every training value is missing"));
  }
}

TEST(MissingValuesTest, FillWithModeUsesTheMostFrequentValue) {
  EXPECT_EQ(FillValue(WithStrategy("category", "fill_with_mode"),
                      Col({"a", nullptr, "b", "b", nullptr, nullptr})),
            "b");
}

TEST(MissingValuesTest, FillWithModeBreaksTiesByFirstAppearance) {
  // As the category vocabulary does: the mode is the vocabulary's first non-special symbol.
  const json feature = WithStrategy("category", "fill_with_mode");
  EXPECT_EQ(FillValue(feature, Col({"b", "a", "a", "b", nullptr})), "b");
  EXPECT_EQ(FillValue(feature, Col({"a", "b", "b", "a"})), "a");
}

TEST(MissingValuesTest, FillWithFalseUsesTheColumnsFalseSpelling) {
  const json feature = ResolvedInput("{name: x, type: binary}");
  EXPECT_EQ(FillValue(feature, Col({"yes", nullptr, "no"})), "no");
  EXPECT_EQ(FillValue(feature, Col({"yes", nullptr})), "false");
}

TEST(MissingValuesTest, FillWithFalseUsesTheFalseLabelOfNonStandardLabels) {
  const json feature = ResolvedInput("{name: x, type: binary}");
  EXPECT_EQ(FillValue(feature, Col({"dog", nullptr, "cat"})), "cat");
  const json fallback =
      ResolvedInput("{name: x, type: binary, preprocessing: {fallback_true_label: cat}}");
  EXPECT_EQ(FillValue(fallback, Col({"dog", nullptr, "cat"})), "dog");
}

TEST(MissingValuesTest, FilledBinaryColumnWithNonStandardLabelsFitsAndTransforms) {
  const json feature = ResolvedInput("{name: x, type: binary}");
  const data::Column column = Col({"dog", nullptr, "cat", "dog"});
  const data::Column filled = Filled(feature, column, column);
  const FeatureType& binary = *FindFeatureType("binary");
  absl::StatusOr<json> metadata = binary.Fit(feature, filled);
  ASSERT_TRUE(metadata.ok()) << metadata.status();
  EXPECT_EQ((*metadata)["bool2str"], json::parse(R"(["cat", "dog"])"));
  absl::StatusOr<torch::Tensor> out = binary.Transform(feature, *metadata, filled);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_THAT(Floats(*out), ElementsAre(1, 0, 0, 1));
}

TEST(MissingValuesTest, BfillTakesTheNextValueAndAtTheEndThePrevious) {
  const json feature = WithStrategy("category", "bfill");
  const data::Column column = Col({nullptr, "a", nullptr, nullptr, "b", nullptr});
  EXPECT_EQ(FillValue(feature, column), std::nullopt);
  const data::Column filled = Filled(feature, column, column);
  EXPECT_THAT(filled.values, ElementsAre("a", "a", "b", "b", "b", "b"));
  EXPECT_THAT(filled.is_null, ElementsAre(0, 0, 0, 0, 0, 0));
}

TEST(MissingValuesTest, FfillTakesThePreviousValueAndAtTheStartTheNext) {
  const json feature = WithStrategy("category", "ffill");
  const data::Column column = Col({nullptr, "a", nullptr, nullptr, "b", nullptr});
  EXPECT_THAT(Filled(feature, column, column).values, ElementsAre("a", "a", "a", "a", "b", "b"));
}

TEST(MissingValuesTest, BfillAndFfillWithNoValueAreAnError) {
  for (const char* strategy : {"bfill", "ffill"}) {
    const json feature = WithStrategy("category", strategy);
    data::Column column = Col({nullptr, nullptr});
    const absl::Status status = FillMissing(feature, std::nullopt, column);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << strategy;
    EXPECT_THAT(status.message(),
                HasSubstr(std::string("column 'x': ") + strategy + " found no value"));
  }
}

TEST(MissingValuesTest, DropRowLeavesTheColumnUnchanged) {
  const json feature = WithStrategy("number", "drop_row");
  const data::Column column = Col({"1", nullptr, "3"});
  EXPECT_EQ(FillValue(feature, column), std::nullopt);
  const data::Column filled = Filled(feature, column, column);
  EXPECT_EQ(filled.values, column.values);
  EXPECT_EQ(filled.is_null, column.is_null);
}

TEST(MissingValuesTest, UnknownStrategyIsAnErrorListingTheKnownOnes) {
  const json feature = {{"name", "x"}, {"preprocessing", {{"missing_value_strategy", "guess"}}}};
  const absl::Status status = FillValueError(feature, Col({"1"}));
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("column 'x': unknown missing_value_strategy 'guess'"));
  EXPECT_THAT(status.message(), HasSubstr("fill_with_mode"));
}

}  // namespace
}  // namespace tristage::features
