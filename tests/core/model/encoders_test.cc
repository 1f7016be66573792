// The text/sequence encoders stacked_cnn, stacked_parallel_cnn, cnnrnn, transformer, tf_idf and
// passthrough and the date encoder wave: each LEARNS (on a small synthesized dataset whose target
// depends on the input, test accuracy clearly above chance after a few epochs), and the builder
// refuses, naming the key, what only shows across keys or against the data (num_heads dividing
// hidden_size, filters and pools longer than max_sequence_length). tf_idf's numbers are checked by
// hand against Ludwig's formula.
#include <cmath>
#include <fstream>
#include <iostream>
#include <random>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "core/api/model.h"
#include "core/data/table.h"
#include "core/features/feature.h"
#include "core/model/registry.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/testing/scratch_dir.h"

namespace tristage::model {
namespace {

using nlohmann::json;

// ---- learning ----

enum class Rule {
  kContainsToken,  // y is true when the row contains the token "good" (tokens: 30 fillers)
  kLongRow,        // y is true when the row has more than 7 tokens
  kSummerMonth,    // date rows; y is true for months 4 to 8
};

// 600 rows of `x`, `y` as a CSV; about half the rows are positive.
std::string WriteDataset(Rule rule, const std::filesystem::path& dir) {
  std::mt19937 random(11);
  std::uniform_int_distribution<int> filler(0, 29);
  const std::string path = (dir / "data.csv").string();
  std::ofstream out(path);
  out << "x,y\n";
  for (int row = 0; row < 600; ++row) {
    const bool positive = row % 2 == 0;
    std::string x;
    if (rule == Rule::kSummerMonth) {
      const int month = positive ? 4 + static_cast<int>(random() % 5) : (9 + random() % 7) % 12 + 1;
      x = absl::StrCat(2000 + random() % 20, "-", month < 10 ? "0" : "", month, "-",
                       10 + random() % 18);
    } else {
      const int length = rule == Rule::kLongRow ? (positive ? 8 + random() % 5 : 2 + random() % 5)
                                                : 3 + static_cast<int>(random() % 8);
      const int good_at = rule == Rule::kContainsToken && positive ? random() % length : -1;
      for (int i = 0; i < length; ++i) {
        absl::StrAppend(&x, i ? " " : "", i == good_at ? "good" : absl::StrCat("w", filler(random)));
      }
    }
    out << x << "," << (positive ? "true" : "false") << "\n";
  }
  return path;
}

struct LearnCase {
  const char* name;
  const char* type;
  Rule rule;
  const char* encoder;
  double learning_rate = 0.005;
};

class EncoderLearnsTest : public ::testing::TestWithParam<LearnCase> {};

TEST_P(EncoderLearnsTest, TestAccuracyIsClearlyAboveChance) {
  tristage::testing::ScratchDir dir("tristage_encoder_learns");
  const std::string path = WriteDataset(GetParam().rule, dir.path());
  json config = json::parse(R"({
    "input_features": [],
    "output_features": [{"name": "y", "type": "binary"}],
    "trainer": {"epochs": 12, "batch_size": 32}})");
  config["trainer"]["learning_rate"] = GetParam().learning_rate;
  config["input_features"].push_back(
      {{"name", "x"}, {"type", GetParam().type}, {"encoder", json::parse(GetParam().encoder)}});
  auto model = Model::FromConfig(config);
  ASSERT_TRUE(model.ok()) << model.status();
  TrainOptions options;
  options.data.dataset = path;
  options.output_directory = (dir.path() / "results").string();
  options.skip_save_processed_input = true;
  options.skip_save_progress = true;
  auto results = (*model)->Experiment(options, ExperimentOptions{});
  ASSERT_TRUE(results.ok()) << results.status();
  const double accuracy = results->evaluation.test_statistics["y"]["accuracy"].get<double>();
  EXPECT_GE(accuracy, 0.8) << GetParam().name;
  std::cerr << GetParam().name << " test accuracy " << accuracy << "\n";
}

const LearnCase kLearnCases[] = {
    {"StackedCnn", "text", Rule::kContainsToken,
     R"({"type": "stacked_cnn", "embedding_size": 16, "num_filters": 16, "num_conv_layers": 2,
         "reduce_output": "max", "num_fc_layers": 1, "output_size": 16})"},
    {"StackedCnnDefaultLayers", "sequence", Rule::kContainsToken,
     R"({"type": "stacked_cnn", "embedding_size": 16, "num_filters": 16, "reduce_output": "max"})"},
    {"StackedParallelCnn", "text", Rule::kContainsToken,
     R"({"type": "stacked_parallel_cnn", "embedding_size": 16, "num_filters": 8,
         "reduce_output": "max", "num_fc_layers": 1, "output_size": 16})"},
    {"ParallelCnnPooledLayers", "text", Rule::kContainsToken,
     R"({"type": "parallel_cnn", "embedding_size": 16, "num_filters": 8, "reduce_output": "max",
         "conv_layers": [{"filter_size": 2, "pool_size": 2}, {"filter_size": 3, "pool_size": 2}],
         "num_fc_layers": 1, "output_size": 16})"},
    {"CnnRnnGru", "text", Rule::kContainsToken,
     R"({"type": "cnnrnn", "embedding_size": 16, "num_filters": 16, "state_size": 16,
         "cell_type": "gru", "bidirectional": true, "reduce_output": "max"})"},
    {"CnnRnnLstm", "sequence", Rule::kContainsToken,
     R"({"type": "cnnrnn", "embedding_size": 16, "num_filters": 16, "state_size": 16,
         "cell_type": "lstm", "reduce_output": "max"})"},
    {"Transformer", "text", Rule::kContainsToken,
     R"({"type": "transformer", "embedding_size": 16, "hidden_size": 16, "num_heads": 4,
         "transformer_output_size": 32, "reduce_output": "max", "dropout": 0.0})"},
    // Ludwig's idf, log(vocab_size / (1 + rows)), is small (negative for tokens in more rows than
    // the vocabulary has entries), and nothing before the decoder scales it: a larger step.
    {"TfIdf", "text", Rule::kContainsToken, R"({"type": "tf_idf"})", 0.05},
    {"PassthroughUnreduced", "sequence", Rule::kLongRow, R"({"type": "passthrough"})"},
    {"DateWave", "date", Rule::kSummerMonth, R"({"type": "wave", "output_size": 16})"},
};

std::string LearnCaseName(const ::testing::TestParamInfo<LearnCase>& param_info) {
  return param_info.param.name;
}

INSTANTIATE_TEST_SUITE_P(Encoders, EncoderLearnsTest, ::testing::ValuesIn(kLearnCases),
                         LearnCaseName);

// ---- the builder's checks ----

// A text feature of 10 tokens, padded to 5.
const json& TextMetadata() {
  static const json* const kMetadata = new json{
      {"vocab_size", 10},
      {"max_sequence_length", 5},
      {"idx2str", {"<PAD>", "<UNK>", "a", "b", "c", "d", "e", "f", "g", "h"}},
      {"document_frequency", {0, 0, 5, 4, 3, 2, 1, 1, 1, 1}}};
  return *kMetadata;
}

absl::StatusOr<Built> Build(const std::string& type, const std::string& encoder,
                            const json& metadata = TextMetadata()) {
  const json feature = {{"name", "x"}, {"type", type}, {"encoder", json::parse(encoder)}};
  auto factory = FindEncoder(type, feature["encoder"]["type"].get<std::string>());
  if (!factory.ok()) return factory.status();
  ScriptBuilder builder;
  return (*factory)({feature, metadata, builder});
}

std::string BuildError(const std::string& type, const std::string& encoder) {
  auto built = Build(type, encoder);
  EXPECT_FALSE(built.ok()) << encoder;
  return built.ok() ? "" : std::string(built.status().message());
}

TEST(EncoderBuilderTest, TransformerHeadsMustDivideHiddenSize) {
  EXPECT_EQ(BuildError("text", R"({"type": "transformer", "hidden_size": 16, "num_heads": 3})"),
            "encoder.num_heads: must divide hidden_size (16), got 3");
}

TEST(EncoderBuilderTest, FilterLongerThanTheSequenceIsRefusedNamingTheLayer) {
  EXPECT_TRUE(absl::StartsWith(
      BuildError("text", R"({"type": "stacked_cnn", "conv_layers": [{"filter_size": 2},
                            {"filter_size": 6, "padding": "valid"}]})"),
      "encoder.conv_layers[1]: a filter spanning 6 positions does not fit the sequence length 5"));
}

TEST(EncoderBuilderTest, PoolingTheSequenceToNothingIsRefusedNamingPoolSize) {
  EXPECT_TRUE(absl::StartsWith(
      BuildError("sequence", R"({"type": "cnnrnn", "conv_layers": [{"pool_size": 6,
                                "pool_padding": "valid"}]})"),
      "encoder.conv_layers[0].pool_size: pooling 6 positions does not fit the sequence length 5"));
}

TEST(EncoderBuilderTest, StridedSamePaddingIsRefused) {
  EXPECT_TRUE(absl::StartsWith(
      BuildError("text", R"({"type": "stacked_cnn", "num_conv_layers": 1, "strides": 2})"),
      "encoder.conv_layers[0].strides: padding 'same' needs strides 1"));
}

TEST(EncoderBuilderTest, LayerListAndCountTogetherAreRefused) {
  EXPECT_EQ(BuildError("text", R"({"type": "stacked_cnn", "num_conv_layers": 2,
                                   "conv_layers": [{"filter_size": 2}]})"),
            "encoder.conv_layers: give either conv_layers or num_conv_layers, not both");
  EXPECT_EQ(BuildError("text", R"({"type": "stacked_parallel_cnn", "num_stacked_layers": 2,
                                   "stacked_layers": [[{"filter_size": 2}]]})"),
            "encoder.stacked_layers: give either stacked_layers or num_stacked_layers, not both");
}

TEST(EncoderBuilderTest, ParallelLayersOfDifferentLengthsAreRefused) {
  EXPECT_TRUE(absl::StartsWith(
      BuildError("text", R"({"type": "stacked_parallel_cnn", "stacked_layers": [[
                   {"filter_size": 2, "padding": "valid"}, {"filter_size": 3,
                    "padding": "valid"}]]})"),
      "encoder.stacked_layers[0][1]: parallel layers must keep the same length (4 and 3)"));
}

TEST(EncoderBuilderTest, WeightsTooLargeToAllocateAreRefusedNamingTheSize) {
  EXPECT_EQ(BuildError("text", R"({"type": "stacked_cnn", "conv_layers": [{"num_filters": 16384},
                                   {"num_filters": 16384, "filter_size": 1024}]})"),
            "encoder.conv_layers[1].num_filters: a weight of 16384 x 16384 x 1024 values is too "
            "large (at most 67108864 per tensor)");
  EXPECT_EQ(BuildError("text", R"({"type": "transformer", "hidden_size": 16384, "num_heads": 1})"),
            "encoder.hidden_size: a weight of 16384 x 16384 values is too large (at most 67108864 "
            "per tensor)");
  EXPECT_EQ(BuildError("text", R"({"type": "cnnrnn", "num_filters": 4, "state_size": 16384})"),
            "encoder.state_size: a weight of 16384 x 16384 values is too large (at most 67108864 "
            "per tensor)");
  EXPECT_EQ(BuildError("text", R"({"type": "stacked_cnn", "num_filters": 16384,
                                   "num_conv_layers": 1, "reduce_output": "concat",
                                   "num_fc_layers": 1, "output_size": 1000})"),
            "encoder.output_size: a weight of 1000 x 81920 values is too large (at most 67108864 "
            "per tensor)");
}

TEST(EncoderBuilderTest, UnreducedSequencesGetNoFullyConnectedLayers) {
  // stacked_cnn's default fc_layers (512, 256) are dropped, as Ludwig drops them.
  auto built = Build("text", R"({"type": "stacked_cnn", "num_filters": 4, "num_conv_layers": 1,
                                 "reduce_output": null})");
  ASSERT_TRUE(built.ok()) << built.status();
  EXPECT_EQ(built->output_size, 5 * 4);
  EXPECT_EQ(built->sequence_length, 5);
  EXPECT_EQ(BuildError("text", R"({"type": "rnn", "state_size": 4, "reduce_output": null,
                                   "num_fc_layers": 1})"),
            "encoder.num_fc_layers: an unreduced sequence (reduce_output: null) gets no fully "
            "connected layers (as in Ludwig); set reduce_output, or leave fc_layers and "
            "num_fc_layers out");
}

TEST(EncoderBuilderTest, LayerListsAreBounded) {
  json layers = json::array();
  for (int i = 0; i < 65; ++i) layers.push_back({{"filter_size", 1}});
  for (const char* type : {"stacked_cnn", "cnnrnn", "parallel_cnn"}) {
    const json encoder = {{"type", type}, {"conv_layers", layers}};
    EXPECT_EQ(BuildError("text", encoder.dump()), "encoder.conv_layers: at most 64 layers, got 65")
        << type;
  }
  const json stacked = {{"type", "stacked_parallel_cnn"}, {"stacked_layers", {layers}}};
  EXPECT_EQ(BuildError("text", stacked.dump()),
            "encoder.stacked_layers[0]: at most 64 layers, got 65");
}

TEST(EncoderBuilderTest, PretrainedHuggingFaceEncodersAreRefused) {
  EXPECT_EQ(BuildError("text", R"({"type": "bert"})"),
            "encoder.type: 'bert' is a pretrained Hugging Face model and no pretrained weights "
            "can be downloaded here; use transformer, stacked_cnn, parallel_cnn, rnn, cnnrnn, "
            "embed or tf_idf, which train from the data");
}

TEST(EncoderBuilderTest, OutputSizesFollowTheReduction) {
  // Six default layers pool 5 -> 2 -> 1 -> 1; unreduced keeps [length x filters] flattened.
  auto unreduced = Build("text", R"({"type": "stacked_cnn", "num_filters": 4, "embedding_size": 3,
                                     "reduce_output": null, "num_fc_layers": 0})");
  ASSERT_TRUE(unreduced.ok()) << unreduced.status();
  EXPECT_EQ(unreduced->output_size, 4);
  auto passthrough = Build("sequence", R"({"type": "passthrough"})");
  ASSERT_TRUE(passthrough.ok()) << passthrough.status();
  EXPECT_EQ(passthrough->output_size, 5);
  auto tfidf = Build("text", R"({"type": "tf_idf"})");
  ASSERT_TRUE(tfidf.ok()) << tfidf.status();
  EXPECT_EQ(tfidf->output_size, 10);
}

// ---- tf_idf ----

TEST(TfIdfEncoderTest, TermFrequencyOverThePaddedLengthTimesLudwigsIdf) {
  auto built = Build("text", R"({"type": "tf_idf"})");
  ASSERT_TRUE(built.ok()) << built.status();
  built->module.eval();
  // Row: a a b <PAD> <PAD>; idf(a) = log(10 / 6), idf(b) = log(10 / 5), padding 0.
  const torch::Tensor x = torch::tensor({{2, 2, 3, 0, 0}}, torch::kLong);
  const torch::Tensor out = built->module.forward({x}).toTensor();
  ASSERT_EQ(out.sizes(), (std::vector<int64_t>{1, 10}));
  EXPECT_NEAR(out[0][2].item<float>(), 2.0 / 5 * std::log(10.0 / 6), 1e-6);
  EXPECT_NEAR(out[0][3].item<float>(), 1.0 / 5 * std::log(10.0 / 5), 1e-6);
  EXPECT_EQ(out[0][0].item<float>(), 0.0f);
  EXPECT_EQ(out[0][4].item<float>(), 0.0f);
}

TEST(TfIdfEncoderTest, TextMetadataRecordsDocumentFrequencies) {
  const features::FeatureType* text = features::FindFeatureType("text");
  ASSERT_NE(text, nullptr);
  data::Column column;
  column.Append("a b a", false);
  column.Append("a c", false);
  column.Append("", true);
  const json feature = json::parse(
      R"({"name": "x", "type": "text", "preprocessing": {"tokenizer": "space"}})");
  auto metadata = text->Fit(feature, column);
  ASSERT_TRUE(metadata.ok()) << metadata.status();
  // <PAD>, <UNK>, then by frequency: a (3), b, c; a is in 2 rows, b and c in 1.
  EXPECT_EQ((*metadata)["idx2str"], json::parse(R"(["<PAD>", "<UNK>", "a", "b", "c"])"));
  EXPECT_EQ((*metadata)["document_frequency"], json::parse("[0, 0, 2, 1, 1]"));
}

TEST(TfIdfEncoderTest, MetadataWithoutDocumentFrequenciesIsAnError) {
  json metadata = TextMetadata();
  metadata.erase("document_frequency");
  auto built = Build("text", R"({"type": "tf_idf"})", metadata);
  ASSERT_FALSE(built.ok());
  EXPECT_TRUE(absl::StrContains(built.status().message(), "no document_frequency"));
}

}  // namespace
}  // namespace tristage::model
