// Encoders: each text/sequence/date encoder (and its important options) trains briefly and its
// exported stages predict like the engine (tests/core/export/parity.h).
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/core/export/parity.h"
#include "tests/testing/scratch_dir.h"

namespace tristage::exporting {
namespace {

using nlohmann::json;

struct EncoderCase {
  const char* name;
  const char* type;     // the input feature's type: text, sequence or date
  const char* encoder;  // its encoder section, JSON
};

class EncoderParityTest : public ::testing::TestWithParam<EncoderCase> {};

// The encoder under test beside a number input, with a category and a number output.
json ConfigWith(const std::string& type, const std::string& encoder) {
  json config = json::parse(R"({
    "input_features": [{"name": "n", "type": "number"}],
    "output_features": [{"name": "y", "type": "category"}, {"name": "z", "type": "number"}],
    "trainer": {"epochs": 2, "batch_size": 32}})");
  config["input_features"].push_back(
      {{"name", "x"}, {"type", type}, {"encoder", json::parse(encoder)}});
  return config;
}

TEST_P(EncoderParityTest, ExportedStagesPredictLikeTheEngine) {
  testing::ScratchDir dir("tristage_encoder_parity");
  data::Table table;
  std::unique_ptr<Model> model =
      TrainSynthesized(ConfigWith(GetParam().type, GetParam().encoder), 300, dir.path(), &table);
  ASSERT_NE(model, nullptr);
  ExpectExportPredictsLikeTheEngine(*model, table, dir.path());
}

const EncoderCase kCases[] = {
    // stacked_cnn: Ludwig's six default layers (pooling by 3 three times) and fc layers.
    {"StackedCnnDefaults", "text", R"({"type": "stacked_cnn", "embedding_size": 8,
         "num_filters": 8})"},
    {"StackedCnnValidStridedAveragePoolBatchNormMean", "text",
     R"({"type": "stacked_cnn", "embedding_size": 8, "num_filters": 6, "norm": "batch",
         "reduce_output": "mean", "num_fc_layers": 1, "output_size": 8,
         "conv_layers": [{"filter_size": 2, "padding": "valid", "strides": 2},
                         {"filter_size": 3, "dilation_rate": 2, "pool_size": 2,
                          "pool_function": "average", "pool_padding": "valid"}]})"},
    {"StackedCnnLayerNormMax", "text",
     R"({"type": "stacked_cnn", "embedding_size": 8, "num_filters": 6, "norm": "layer",
         "num_conv_layers": 2, "reduce_output": "max", "num_fc_layers": 0, "dropout": 0.1})"},
    {"StackedCnnConcat", "sequence",
     R"({"type": "stacked_cnn", "embedding_size": 8, "num_filters": 4, "num_conv_layers": 1,
         "reduce_output": "concat", "num_fc_layers": 1, "output_size": 8})"},
    {"StackedCnnUnreduced", "text",
     R"({"type": "stacked_cnn", "embedding_size": 8, "num_filters": 4, "num_conv_layers": 1,
         "reduce_output": null})"},
    {"StackedParallelCnnDefaults", "text",
     R"({"type": "stacked_parallel_cnn", "embedding_size": 8, "num_filters": 4})"},
    {"StackedParallelCnnLayersPooledLast", "sequence",
     R"({"type": "stacked_parallel_cnn", "embedding_size": 8, "reduce_output": "last",
         "num_fc_layers": 1, "output_size": 8, "num_filters": 4,
         "stacked_layers": [[{"filter_size": 2, "num_filters": 3}, {"filter_size": 3}],
                            [{"filter_size": 1, "num_filters": 5, "pool_size": 2},
                             {"filter_size": 4, "pool_size": 2, "pool_function": "mean"}]]})"},
    // parallel_cnn's layers are Ludwig's Conv1DLayer too: per-layer filters, pooling, norm.
    {"ParallelCnnLayersPooledBatchNorm", "text",
     R"({"type": "parallel_cnn", "embedding_size": 8, "num_filters": 4, "norm": "batch",
         "dropout": 0.1, "reduce_output": "max", "num_fc_layers": 1, "output_size": 8,
         "conv_layers": [{"filter_size": 2, "pool_size": 2}, {"filter_size": 3, "pool_size": 2,
                          "num_filters": 6, "pool_function": "mean", "activation": "tanh"}]})"},
    {"CnnRnnDefaults", "text",
     R"({"type": "cnnrnn", "embedding_size": 8, "num_filters": 6, "state_size": 8})"},
    {"CnnRnnLstmBidirectionalSum", "text",
     R"({"type": "cnnrnn", "embedding_size": 8, "num_filters": 6, "state_size": 8,
         "cell_type": "lstm", "bidirectional": true, "num_rec_layers": 2,
         "reduce_output": "sum", "num_fc_layers": 1, "output_size": 8})"},
    {"CnnRnnGruMean", "sequence",
     R"({"type": "cnnrnn", "embedding_size": 8, "num_filters": 6, "state_size": 8,
         "cell_type": "gru", "reduce_output": "mean", "conv_dropout": 0.1,
         "num_conv_layers": 1})"},
    {"TransformerOneLayerTwoHeads", "text",
     R"({"type": "transformer", "embedding_size": 16, "hidden_size": 16, "num_heads": 2,
         "transformer_output_size": 16})"},
    {"TransformerTwoLayersFourHeadsProjectedMean", "text",
     R"({"type": "transformer", "embedding_size": 8, "hidden_size": 16, "num_heads": 4,
         "num_layers": 2, "transformer_output_size": 12, "reduce_output": "mean",
         "num_fc_layers": 1, "output_size": 8})"},
    {"TransformerSequenceEightHeadsUnreduced", "sequence",
     R"({"type": "transformer", "embedding_size": 8, "hidden_size": 8, "num_heads": 8,
         "reduce_output": null})"},
    {"TfIdfText", "text", R"({"type": "tf_idf"})"},
    {"TfIdfSequence", "sequence", R"({"type": "tf_idf"})"},
    {"PassthroughUnreduced", "text", R"({"type": "passthrough"})"},
    {"PassthroughSum", "sequence", R"({"type": "passthrough", "reduce_output": "sum"})"},
    {"DateWaveDefaults", "date", R"({"type": "wave"})"},
    {"DateWaveLayers", "date",
     R"({"type": "wave", "fc_layers": [{"output_size": 12}, {"output_size": 6,
         "activation": "tanh"}], "norm": "batch", "dropout": 0.1})"},
};

std::string CaseName(const ::testing::TestParamInfo<EncoderCase>& param_info) {
  return param_info.param.name;
}

INSTANTIATE_TEST_SUITE_P(Encoders, EncoderParityTest, ::testing::ValuesIn(kCases), CaseName);

}  // namespace
}  // namespace tristage::exporting
