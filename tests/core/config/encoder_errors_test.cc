// ResolveConfig errors for the text/sequence encoders stacked_cnn, stacked_parallel_cnn, cnnrnn,
// transformer, passthrough and tf_idf and the date encoder wave: hostile sizes are bounded and
// every refusal names its key. (Checks across keys, such as num_heads dividing hidden_size or
// filters longer than max_sequence_length, are the model builder's: tests/core/model.)
#include <string>

#include "core/config/config.h"
#include "gtest/gtest.h"
#include "tests/core/config/config_test_util.h"

namespace tristage::config {
namespace {

using testing::ResolveError;

struct ErrorCase {
  std::string name;
  std::string yaml;
  std::string message;
};

class EncoderErrorTest : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(EncoderErrorTest, ReportsPathReasonAndHint) {
  EXPECT_EQ(ResolveError(GetParam().yaml), GetParam().message);
}

// A config whose one input feature of `type` has the encoder section `encoder`.
std::string Encoder(const std::string& type, const std::string& encoder) {
  return "input_features: [{name: x, type: " + type + ", encoder: " + encoder +
         "}]\noutput_features: [{name: y, type: binary}]\n";
}

const ErrorCase kCases[] = {
    {"StackedCnnZeroFilters", Encoder("text", "{type: stacked_cnn, num_filters: 0}"),
     "input_features[0].encoder.num_filters: must be in [1, 16384], got 0"},
    {"StackedCnnHugeFilters", Encoder("text", "{type: stacked_cnn, num_filters: 100000000}"),
     "input_features[0].encoder.num_filters: must be in [1, 16384], got 100000000"},
    {"StackedCnnHugeFilterSize", Encoder("sequence", "{type: stacked_cnn, filter_size: 5000}"),
     "input_features[0].encoder.filter_size: must be in [1, 1024], got 5000"},
    {"StackedCnnLayerFilterSize",
     Encoder("text", "{type: stacked_cnn, conv_layers: [{filter_size: 3}, {filter_size: 0}]}"),
     "input_features[0].encoder.conv_layers[1].filter_size: must be in [1, 1024], got 0"},
    {"StackedCnnTooManyLayers", Encoder("text", "{type: stacked_cnn, num_conv_layers: 1000}"),
     "input_features[0].encoder.num_conv_layers: must be in [1, 64], got 1000"},
    {"StackedCnnPadding", Encoder("text", "{type: stacked_cnn, padding: full}"),
     "input_features[0].encoder.padding: must be one of valid, same, got \"full\""},
    {"StackedCnnLayerKey", Encoder("text", "{type: stacked_cnn, conv_layers: [{filtersize: 3}]}"),
     "input_features[0].encoder.conv_layers[0].filtersize: unknown key (did you mean "
     "'filter_size'?)"},
    {"StackedCnnZeroStrides", Encoder("text", "{type: stacked_cnn, strides: 0}"),
     "input_features[0].encoder.strides: must be in [1, 1024], got 0"},
    {"StackedParallelCnnLayersNotNested",
     Encoder("text", "{type: stacked_parallel_cnn, stacked_layers: [{filter_size: 2}]}"),
     "input_features[0].encoder.stacked_layers[0]: expected a non-empty list of layer objects, "
     "got {\"filter_size\":2}"},
    {"StackedParallelCnnEmptyParallelLayer",
     Encoder("text", "{type: stacked_parallel_cnn, stacked_layers: [[]]}"),
     "input_features[0].encoder.stacked_layers[0]: expected a non-empty list of layer objects, "
     "got []"},
    {"StackedParallelCnnHugeLayerFilters",
     Encoder("text", "{type: stacked_parallel_cnn, stacked_layers: [[{num_filters: 99999}]]}"),
     "input_features[0].encoder.stacked_layers[0][0].num_filters: must be in [1, 16384], got "
     "99999"},
    {"CnnRnnZeroStateSize", Encoder("text", "{type: cnnrnn, state_size: 0}"),
     "input_features[0].encoder.state_size: must be in [1, 16384], got 0"},
    {"CnnRnnTooManyRecurrentLayers", Encoder("text", "{type: cnnrnn, num_rec_layers: 65}"),
     "input_features[0].encoder.num_rec_layers: must be in [1, 64], got 65"},
    {"CnnRnnCellType", Encoder("text", "{type: cnnrnn, cell_type: transformer}"),
     "input_features[0].encoder.cell_type: must be one of rnn, lstm, gru, got \"transformer\""},
    {"CnnRnnConvDropout", Encoder("text", "{type: cnnrnn, conv_dropout: 1.5}"),
     "input_features[0].encoder.conv_dropout: must be in [0, 1), got 1.5"},
    {"TransformerZeroHeads", Encoder("text", "{type: transformer, num_heads: 0}"),
     "input_features[0].encoder.num_heads: must be in [1, 256], got 0"},
    {"TransformerHugeHidden", Encoder("text", "{type: transformer, hidden_size: 1000000}"),
     "input_features[0].encoder.hidden_size: must be in [1, 16384], got 1000000"},
    {"TransformerZeroHidden", Encoder("sequence", "{type: transformer, hidden_size: 0}"),
     "input_features[0].encoder.hidden_size: must be in [1, 16384], got 0"},
    {"TransformerTooManyLayers", Encoder("text", "{type: transformer, num_layers: 100}"),
     "input_features[0].encoder.num_layers: must be in [1, 64], got 100"},
    {"TransformerHugeFeedForward",
     Encoder("text", "{type: transformer, transformer_output_size: 20000}"),
     "input_features[0].encoder.transformer_output_size: must be in [1, 16384], got 20000"},
    {"PassthroughEncodingSize", Encoder("text", "{type: passthrough, encoding_size: 3}"),
     "input_features[0].encoder.encoding_size: not supported: text and sequence inputs are token "
     "ids, one number per position (Ludwig's encoding_size is for sequences of vectors); leave it "
     "null"},
    {"PassthroughReduction", Encoder("sequence", "{type: passthrough, reduce_output: median}"),
     "input_features[0].encoder.reduce_output: must be one of sum, mean, avg, sqrtn, max, concat, "
     "last, attention, null, got \"median\""},
    {"TfIdfTakesNoParameters", Encoder("text", "{type: tf_idf, idf: [1, 2]}"),
     "input_features[0].encoder.idf: unknown key (known: type)"},
    {"WaveEmbeddingSize", Encoder("date", "{type: wave, embedding_size: 4}"),
     "input_features[0].encoder.embedding_size: not a parameter of encoder 'wave' (a parameter of "
     "embed)"},
    {"WaveNegativeLayers", Encoder("date", "{type: wave, num_fc_layers: -1}"),
     "input_features[0].encoder.num_fc_layers: must be >= 0, got -1"},
    {"WaveNotForText", Encoder("text", "{type: wave}"),
     "input_features[0].encoder.type: unknown encoder 'wave' for text (known: albert, "
     "auto_transformer, bert, camembert, cnnrnn, deberta, distilbert, electra, embed, flaubert, "
     "gpt, gpt2, longformer, parallel_cnn, passthrough, rnn, roberta, stacked_cnn, "
     "stacked_parallel_cnn, t5, tf_idf, transformer, transformer_xl, xlmroberta, xlnet)"},
};

std::string CaseName(const ::testing::TestParamInfo<ErrorCase>& param_info) {
  return param_info.param.name;
}

INSTANTIATE_TEST_SUITE_P(Encoders, EncoderErrorTest, ::testing::ValuesIn(kCases), CaseName);

}  // namespace
}  // namespace tristage::config
