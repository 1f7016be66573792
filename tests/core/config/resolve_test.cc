// ResolveConfig: Ludwig defaults, priorities and derived values.
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "core/config/config.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/core/config/config_test_util.h"

namespace tristage::config {
namespace {

using testing::At;
using ::testing::ElementsAre;
using testing::Resolve;
using testing::WithFeatures;
using Json = nlohmann::json;

constexpr char kMinimal[] = R"(
input_features:
  - name: x
    type: number
output_features:
  - name: y
    type: category
)";

TEST(ResolveConfigTest, MinimalConfigGetsLudwigTopLevelDefaults) {
  const Json config = Resolve(kMinimal);
  EXPECT_EQ(config["model_type"], "ecd");
  EXPECT_FALSE(config.contains("hyperopt"));
  EXPECT_EQ(At(config, "/preprocessing"), Json::parse(R"({"sample_ratio": 1.0,
                            "sample_size": null, "oversample_minority": null,
                            "undersample_majority": null,
                            "split": {"type": "random", "probabilities": [0.7, 0.1, 0.2]}})"));
  EXPECT_EQ(At(config, "/combiner"), Json::parse(R"({
      "type": "concat", "dropout": 0.0, "activation": "relu", "flatten_inputs": false,
      "residual": false, "use_bias": true, "bias_initializer": "zeros",
      "weights_initializer": "xavier_uniform", "norm": null, "norm_params": null,
      "num_fc_layers": 0, "output_size": 256, "fc_layers": null})"));
}

TEST(ResolveConfigTest, LudwigBackendsResolveToTheirCanonicalForm) {
  EXPECT_FALSE(Resolve(kMinimal).contains("backend"));
  EXPECT_EQ(Resolve(absl::StrCat(kMinimal, "backend: null\n")).contains("backend"), false);
  EXPECT_EQ(Resolve(absl::StrCat(kMinimal, "backend: {}\n"))["backend"],
            Json::parse(R"({"type": "local"})"));
  const Json ray = Resolve(absl::StrCat(
      kMinimal, "backend: {type: ray, trainer: {num_workers: 3, strategy: horovod, "
                "resources_per_worker: {CPU: 2}}}\n"));
  EXPECT_EQ(ray["backend"], Json::parse(R"({"type": "ray", "trainer": {"num_workers": 3,
      "strategy": "horovod", "use_gpu": false, "resources_per_worker": {"CPU": 2.0}}})"));
  EXPECT_EQ(Resolve(absl::StrCat(kMinimal, "backend: {type: ray}\n"))["backend"],
            Json::parse(R"({"type": "ray", "trainer": {"num_workers": 1, "strategy": "ddp",
                            "use_gpu": false}})"));
  // A resolved backend resolves to itself, so a stored config validates.
  EXPECT_TRUE(ValidateResolved(ray).ok()) << ValidateResolved(ray);
}

TEST(ResolveConfigTest, LudwigVersionIsKeptAndANewerOneGetsANotice) {
  EXPECT_FALSE(Resolve(kMinimal).contains("ludwig_version"));
  const Json saved = Resolve(absl::StrCat(kMinimal, "ludwig_version: 0.10.4\nmodel_type: ecd\n"));
  EXPECT_EQ(saved["ludwig_version"], "0.10.4");
  EXPECT_TRUE(ValidateResolved(saved).ok()) << ValidateResolved(saved);
  EXPECT_EQ(LudwigVersionNotice(saved),
            "the config says ludwig_version 0.10.4; tristage follows Ludwig 0.8's schema and "
            "defaults: keys added since are refused by name, and defaults changed since take "
            "0.8's values (see docs/ludwig-config.md)");
  // YAML reads 0.8 as a number; it is kept as text, and 0.8 itself gets no notice.
  const Json number = Resolve(absl::StrCat(kMinimal, "ludwig_version: 0.8\n"));
  EXPECT_EQ(number["ludwig_version"], "0.8");
  EXPECT_EQ(LudwigVersionNotice(number), "");
  EXPECT_EQ(LudwigVersionNotice(Resolve(absl::StrCat(kMinimal, "ludwig_version: \"0.7.4\"\n"))),
            "");
  EXPECT_TRUE(absl::StrContains(
      LudwigVersionNotice(Resolve(absl::StrCat(kMinimal, "ludwig_version: dev\n"))),
      "'dev' is not a version number"));
}

// Ludwig's pre-0.5 layout (still in its Titanic example): encoder and decoder parameters on the
// feature itself move into their sections, as Ludwig 0.8 upgrades them.
TEST(ResolveConfigTest, EncoderAndDecoderParametersOnTheFeatureMoveIntoTheirSections) {
  const Json old = Resolve(R"(
input_features:
  - {name: t, type: text, encoder: rnn, state_size: 16}
output_features:
  - {name: y, type: binary, fc_layers: [{output_size: 50}], threshold: 0.4}
)");
  EXPECT_EQ(At(old, "/input_features/0/encoder/type"), "rnn");
  EXPECT_EQ(At(old, "/input_features/0/encoder/state_size"), 16);
  EXPECT_FALSE(old["input_features"][0].contains("state_size"));
  EXPECT_EQ(At(old, "/output_features/0/decoder/fc_layers"), Json::parse(R"([{"output_size": 50}])"));
  EXPECT_FALSE(old["output_features"][0].contains("fc_layers"));
  EXPECT_EQ(At(old, "/output_features/0/threshold"), 0.4);  // a feature-level key stays
}

TEST(ResolveConfigTest, MinimalConfigGetsLudwigTrainerDefaults) {
  const Json trainer = Resolve(kMinimal)["trainer"];
  EXPECT_EQ(trainer["epochs"], 100);
  EXPECT_TRUE(trainer["train_steps"].is_null());
  EXPECT_DOUBLE_EQ(trainer["learning_rate"].get<double>(), 0.001);
  EXPECT_EQ(trainer["batch_size"], "auto");
  EXPECT_TRUE(trainer["eval_batch_size"].is_null());
  EXPECT_EQ(trainer["early_stop"], 5);
  EXPECT_EQ(trainer["regularization_type"], "l2");
  EXPECT_EQ(trainer["regularization_lambda"], 0.0);
  EXPECT_EQ(trainer["should_shuffle"], true);
  EXPECT_EQ(trainer["steps_per_checkpoint"], 0);
  EXPECT_EQ(trainer["checkpoints_per_epoch"], 0);
  EXPECT_EQ(trainer["evaluate_training_set"], false);
  EXPECT_EQ(trainer["learning_rate_scaling"], "linear");
  EXPECT_EQ(trainer["use_mixed_precision"], false);
  EXPECT_EQ(trainer["validation_field"], "y");
  EXPECT_EQ(trainer["validation_metric"], "accuracy");
  EXPECT_EQ(trainer["optimizer"], Json::parse(R"({"type": "adam", "betas": [0.9, 0.999],
      "eps": 1e-8, "weight_decay": 0.0, "amsgrad": false})"));
  EXPECT_EQ(trainer["gradient_clipping"],
            Json::parse(R"({"clipglobalnorm": 0.5, "clipnorm": null, "clipvalue": null})"));
  EXPECT_EQ(trainer["learning_rate_scheduler"], Json::parse(R"({
      "decay": null, "decay_rate": 0.96, "decay_steps": 10000, "staircase": false,
      "reduce_on_plateau": 0, "reduce_on_plateau_patience": 10, "reduce_on_plateau_rate": 0.1,
      "warmup_evaluations": 0, "warmup_fraction": 0.0, "reduce_eval_metric": "loss",
      "reduce_eval_split": "training", "t_0": null, "t_mult": 1, "eta_min": 0.0})"));
}

TEST(ResolveConfigTest, MinimalConfigGetsLudwigFeatureDefaults) {
  const Json config = Resolve(kMinimal);
  EXPECT_EQ(config["input_features"][0], Json::parse(R"({
      "name": "x", "type": "number", "column": "x",
      "preprocessing": {"missing_value_strategy": "fill_with_const", "fill_value": 0.0,
                        "normalization": "zscore", "outlier_strategy": null,
                        "outlier_threshold": 3.0},
      "encoder": {"type": "dense", "activation": "relu", "bias_initializer": "zeros",
                  "dropout": 0.0, "fc_layers": null, "norm": null, "norm_params": null,
                  "num_layers": 1, "output_size": 256, "use_bias": true,
                  "weights_initializer": "xavier_uniform"}})"));
  const Json output = config["output_features"][0];
  EXPECT_EQ(output["column"], "y");
  EXPECT_EQ(output["preprocessing"], Json::parse(R"({"missing_value_strategy": "drop_row",
      "fill_value": "<UNK>", "lowercase": false, "most_common": 10000})"));
  EXPECT_EQ(output["decoder"], Json::parse(R"({"type": "classifier", "fc_layers": null,
      "num_fc_layers": 0, "fc_output_size": 256, "fc_use_bias": true,
      "fc_weights_initializer": "xavier_uniform", "fc_bias_initializer": "zeros", "fc_norm": null,
      "fc_norm_params": null, "fc_activation": "relu", "fc_dropout": 0.0, "use_bias": true,
      "weights_initializer": "xavier_uniform", "bias_initializer": "zeros"})"));
  EXPECT_EQ(output["loss"], Json::parse(R"({"type": "softmax_cross_entropy", "class_weights": null,
      "robust_lambda": 0.0, "confidence_penalty": 0.0, "class_similarities": null,
      "class_similarities_temperature": 0.0, "weight": 1.0})"));
  EXPECT_EQ(output["top_k"], 3);
  EXPECT_EQ(output["reduce_input"], "sum");
  EXPECT_EQ(output["dependencies"], Json::array());
  EXPECT_EQ(output["reduce_dependencies"], "sum");
}

TEST(ResolveConfigTest, NumberOutputIsNotNormalized) {
  // Ludwig normalizes number inputs (zscore) but leaves number targets as they are.
  const Json config = Resolve(WithFeatures("number", "number"));
  EXPECT_EQ(At(config, "/input_features/0/preprocessing/normalization"), "zscore");
  EXPECT_TRUE(At(config, "/output_features/0/preprocessing/normalization").is_null());
  EXPECT_EQ(At(config, "/output_features/0/preprocessing/missing_value_strategy"), "drop_row");
}

struct InputCase {
  std::string type;
  std::string encoder;
  std::string preprocessing_key;
  Json preprocessing_value;
};

std::string InputCaseName(const ::testing::TestParamInfo<InputCase>& info) {
  return info.param.type;
}

class InputTypeTest : public ::testing::TestWithParam<InputCase> {};

TEST_P(InputTypeTest, ResolvesWithItsDefaultEncoderAndPreprocessing) {
  const InputCase& c = GetParam();
  const Json config = Resolve(WithFeatures(c.type, "binary"));
  const Json feature = config["input_features"][0];
  EXPECT_EQ(feature["type"], c.type);
  EXPECT_EQ(At(feature, "/encoder/type"), c.encoder);
  EXPECT_EQ(At(feature, "/preprocessing/" + c.preprocessing_key), c.preprocessing_value);
  EXPECT_EQ(config["defaults"][c.type]["encoder"]["type"], c.encoder);
}

INSTANTIATE_TEST_SUITE_P(
    AllInputTypes, InputTypeTest,
    ::testing::Values(InputCase{"binary", "passthrough", "missing_value_strategy",
                                "fill_with_false"},
                      InputCase{"number", "dense", "normalization", "zscore"},  // Ludwig: passthrough
                      InputCase{"category", "dense", "most_common", 10000},
                      InputCase{"set", "embed", "tokenizer", "space"},
                      InputCase{"bag", "embed", "fill_value", "<UNK>"},
                      InputCase{"vector", "dense", "fill_value", ""},
                      InputCase{"date", "embed", "fill_value", ""},
                      InputCase{"text", "embed", "tokenizer", "space_punct"},
                      InputCase{"sequence", "embed", "lowercase", false}),
    InputCaseName);

TEST(ResolveConfigTest, TextAndSequencePreprocessingFollowLudwig) {
  const Json config = Resolve(R"(
input_features: [{name: t, type: text}, {name: s, type: sequence}]
output_features: [{name: y, type: binary}]
)");
  EXPECT_EQ(At(config, "/input_features/0/preprocessing"), Json::parse(R"({
      "tokenizer": "space_punct", "max_sequence_length": 256, "most_common": 20000,
      "padding_symbol": "<PAD>", "unknown_symbol": "<UNK>", "padding": "right",
      "lowercase": true, "missing_value_strategy": "fill_with_const", "fill_value": "<UNK>"})"));
  EXPECT_EQ(At(config, "/input_features/1/preprocessing/tokenizer"), "space");
  EXPECT_EQ(At(config, "/input_features/1/preprocessing/lowercase"), false);
}

// A deliberate departure: Ludwig's embed encoder sums over the tokens (see schema_encoders.cc).
TEST(ResolveConfigTest, TextAndSequenceEmbedReduceBySqrtnByDefault) {
  const Json config = Resolve(R"(
input_features: [{name: t, type: text}, {name: s, type: sequence}]
output_features: [{name: y, type: binary}]
)");
  EXPECT_EQ(At(config, "/input_features/0/encoder"), Json::parse(R"({"type": "embed",
      "embedding_size": 256, "representation": "dense", "embeddings_trainable": true,
      "pretrained_embeddings": null, "weights_initializer": "uniform", "dropout": 0.0,
      "reduce_output": "sqrtn"})"));
  EXPECT_EQ(At(config, "/input_features/1/encoder/reduce_output"), "sqrtn");
}

TEST(ResolveConfigTest, ParallelCnnDefaultsFollowLudwig) {
  const Json encoder = Resolve(R"(
input_features: [{name: t, type: text, encoder: parallel_cnn}]
output_features: [{name: y, type: binary}]
)")["input_features"][0]["encoder"];
  EXPECT_EQ(encoder["embedding_size"], 256);
  EXPECT_TRUE(encoder["conv_layers"].is_null());
  EXPECT_TRUE(encoder["num_conv_layers"].is_null());  // Ludwig's 4 parallel filters of 2..5
  EXPECT_EQ(encoder["filter_size"], 3);
  EXPECT_EQ(encoder["num_filters"], 256);
  EXPECT_EQ(encoder["pool_function"], "max");
  EXPECT_TRUE(encoder["fc_layers"].is_null());
  EXPECT_TRUE(encoder["num_fc_layers"].is_null());
  EXPECT_EQ(encoder["output_size"], 256);
  EXPECT_EQ(encoder["activation"], "relu");
  EXPECT_EQ(encoder["dropout"], 0.0);
  EXPECT_EQ(encoder["reduce_output"], "sum");
  EXPECT_TRUE(encoder["norm"].is_null());
}

TEST(ResolveConfigTest, DenseAndEmbedEncoderDefaultsFollowLudwig) {
  const Json config = Resolve(R"(
input_features:
  - {name: v, type: vector}
  - {name: c, type: category}
  - {name: s, type: set}
  - {name: d, type: date}
output_features: [{name: y, type: binary}]
)");
  EXPECT_EQ(At(config, "/input_features/0/encoder"), Json::parse(R"({"type": "dense",
      "output_size": 256, "num_layers": 1, "fc_layers": null, "use_bias": true,
      "weights_initializer": "xavier_uniform", "bias_initializer": "zeros", "norm": null,
      "norm_params": null, "activation": "relu", "dropout": 0.0})"));
  EXPECT_EQ(At(config, "/input_features/1/encoder"), Json::parse(R"({"type": "dense",
      "embedding_size": 50, "embeddings_trainable": true, "pretrained_embeddings": null,
      "dropout": 0.0, "embedding_initializer": null})"));
  EXPECT_EQ(At(config, "/input_features/2/encoder/embedding_size"), 50);
  EXPECT_EQ(At(config, "/input_features/2/encoder/output_size"), 10);
  EXPECT_EQ(At(config, "/input_features/3/encoder/embedding_size"), 10);
}

struct OutputCase {
  std::string type;
  std::string decoder;
  std::string loss;
  std::string validation_metric;
};

std::string OutputCaseName(const ::testing::TestParamInfo<OutputCase>& info) {
  return info.param.type;
}

class OutputTypeTest : public ::testing::TestWithParam<OutputCase> {};

TEST_P(OutputTypeTest, ResolvesDecoderLossAndValidationMetric) {
  const OutputCase& c = GetParam();
  const Json config = Resolve(WithFeatures("number", c.type));
  EXPECT_EQ(At(config, "/output_features/0/decoder/type"), c.decoder);
  EXPECT_EQ(At(config, "/output_features/0/loss/type"), c.loss);
  EXPECT_EQ(At(config, "/trainer/validation_field"), "y");
  EXPECT_EQ(At(config, "/trainer/validation_metric"), c.validation_metric);
}

INSTANTIATE_TEST_SUITE_P(
    AllOutputTypes, OutputTypeTest,
    ::testing::Values(OutputCase{"binary", "regressor", "binary_weighted_cross_entropy", "roc_auc"},
                      OutputCase{"number", "regressor", "mean_squared_error", "mean_squared_error"},
                      OutputCase{"category", "classifier", "softmax_cross_entropy", "accuracy"},
                      OutputCase{"set", "classifier", "sigmoid_cross_entropy", "jaccard"},
                      OutputCase{"vector", "projector", "mean_squared_error",
                                 "mean_squared_error"}),
    OutputCaseName);

TEST(ResolveConfigTest, OutputTypeSpecificKeys) {
  const Json config = Resolve(R"(
input_features: [{name: x, type: number}]
output_features:
  - {name: b, type: binary}
  - {name: s, type: set}
  - {name: v, type: vector}
)");
  EXPECT_EQ(At(config, "/output_features/0/threshold"), 0.5);
  EXPECT_EQ(At(config, "/output_features/1/threshold"), 0.5);
  EXPECT_FALSE(config["output_features"][2].contains("threshold"));
  EXPECT_FALSE(config["output_features"][0].contains("top_k"));
  EXPECT_EQ(At(config, "/output_features/0/preprocessing/missing_value_strategy"), "drop_row");
  EXPECT_TRUE(At(config, "/output_features/2/decoder/clip").is_null());
}

TEST(ResolveConfigTest, EveryEncoderOfEveryInputTypeResolves) {
  for (const std::string& type : InputFeatureTypes()) {
    ASSERT_FALSE(EncodersFor(type).empty()) << type;
    for (const std::string& encoder : EncodersFor(type)) {
      const Json config =
          Resolve(absl::StrCat("input_features: [{name: x, type: ", type, ", encoder: ", encoder,
                               "}]\noutput_features: [{name: y, type: binary}]"));
      EXPECT_EQ(At(config, "/input_features/0/encoder/type"), encoder) << type;
    }
  }
}

TEST(ResolveConfigTest, FeatureValueBeatsDefaultsSectionWhichBeatsBuiltIn) {
  const Json config = Resolve(R"(
input_features:
  - {name: a, type: text, preprocessing: {max_sequence_length: 64}}
  - {name: b, type: text}
output_features: [{name: y, type: binary}]
defaults:
  text:
    preprocessing: {max_sequence_length: 128, lowercase: false}
)");
  EXPECT_EQ(At(config, "/input_features/0/preprocessing/max_sequence_length"), 64);
  EXPECT_EQ(At(config, "/input_features/1/preprocessing/max_sequence_length"), 128);
  EXPECT_EQ(At(config, "/input_features/0/preprocessing/lowercase"), false);
  EXPECT_EQ(At(config, "/input_features/1/preprocessing/tokenizer"), "space_punct");  // built-in
  EXPECT_EQ(At(config, "/defaults/text/preprocessing/max_sequence_length"), 128);
}

TEST(ResolveConfigTest, DefaultsSectionComponentsFollowTheSamePriority) {
  const Json config = Resolve(R"(
input_features: [{name: x, type: number}]
output_features:
  - {name: a, type: number, loss: {weight: 3}}
  - {name: b, type: number}
defaults:
  number:
    decoder: {fc_output_size: 64, fc_dropout: 0.2}
    loss: {type: mean_absolute_error, weight: 2}
)");
  EXPECT_EQ(At(config, "/output_features/0/loss"),
            Json({{"type", "mean_absolute_error"}, {"weight", 3.0}}));
  EXPECT_EQ(At(config, "/output_features/1/loss"),
            Json({{"type", "mean_absolute_error"}, {"weight", 2.0}}));
  EXPECT_EQ(At(config, "/output_features/1/decoder/fc_output_size"), 64);
  EXPECT_EQ(At(config, "/output_features/1/decoder/fc_use_bias"), true);
}

TEST(ResolveConfigTest, DefaultsSectionPreprocessingAppliesToInputsOnly) {
  // As in Ludwig, output features keep their own preprocessing defaults.
  const Json config = Resolve(R"(
input_features: [{name: x, type: category}]
output_features: [{name: y, type: category}]
defaults:
  category:
    preprocessing: {most_common: 50, missing_value_strategy: fill_with_mode}
)");
  EXPECT_EQ(At(config, "/input_features/0/preprocessing/most_common"), 50);
  EXPECT_EQ(At(config, "/output_features/0/preprocessing/most_common"), 10000);
  EXPECT_EQ(At(config, "/output_features/0/preprocessing/missing_value_strategy"), "drop_row");
}

TEST(ResolveConfigTest, ShorthandComponentNamesEqualTheObjectForm) {
  const Json shorthand = Resolve(R"(
input_features: [{name: x, type: text, encoder: rnn}]
output_features: [{name: y, type: number, decoder: regressor, loss: huber}]
)");
  const Json object_form = Resolve(R"(
input_features: [{name: x, type: text, encoder: {type: rnn}}]
output_features: [{name: y, type: number, decoder: {type: regressor}, loss: {type: huber}}]
)");
  EXPECT_EQ(shorthand, object_form);
  EXPECT_EQ(At(shorthand, "/output_features/0/loss/delta"), 1.0);
}

TEST(ResolveConfigTest, SwitchingEncoderTypeAppliesThatEncodersDefaults) {
  const Json encoder = Resolve(R"(
input_features: [{name: x, type: text, encoder: {type: rnn, cell_type: gru}}]
output_features: [{name: y, type: binary}]
)")["input_features"][0]["encoder"];
  EXPECT_EQ(encoder["cell_type"], "gru");
  EXPECT_EQ(encoder["reduce_output"], "last");  // rnn's default, not parallel_cnn's sum
  EXPECT_EQ(encoder["activation"], "tanh");
  EXPECT_EQ(encoder["state_size"], 256);
  EXPECT_EQ(encoder["num_fc_layers"], 0);
  EXPECT_FALSE(encoder.contains("num_filters"));
  EXPECT_FALSE(encoder.contains("filter_size"));
}

TEST(ResolveConfigTest, DefaultsEncoderAppliesOnlyToFeaturesUsingItsType) {
  const Json config = Resolve(R"(
input_features:
  - {name: a, type: text}
  - {name: b, type: text, encoder: parallel_cnn}
  - {name: c, type: text, encoder: {type: rnn, state_size: 32}}
output_features: [{name: y, type: binary}]
defaults:
  text:
    encoder: {type: rnn, cell_type: lstm, state_size: 64}
)");
  EXPECT_EQ(At(config, "/input_features/0/encoder/type"), "rnn");  // takes the defaults' type
  EXPECT_EQ(At(config, "/input_features/0/encoder/cell_type"), "lstm");
  EXPECT_EQ(At(config, "/input_features/0/encoder/state_size"), 64);
  EXPECT_EQ(At(config, "/input_features/1/encoder/type"), "parallel_cnn");
  EXPECT_FALSE(config["input_features"][1]["encoder"].contains("cell_type"));
  EXPECT_EQ(At(config, "/input_features/2/encoder/cell_type"), "lstm");
  EXPECT_EQ(At(config, "/input_features/2/encoder/state_size"), 32);
  EXPECT_EQ(At(config, "/defaults/text/encoder/type"), "rnn");
}

TEST(ResolveConfigTest, UntypedDefaultsEncoderStandsForTheDefaultEncoder) {
  const Json config = Resolve(R"(
input_features:
  - {name: a, type: text}
  - {name: b, type: text, encoder: embed}
  - {name: c, type: text, encoder: parallel_cnn}
output_features: [{name: y, type: binary}]
defaults:
  text:
    encoder: {embedding_size: 32}
)");
  EXPECT_EQ(At(config, "/input_features/0/encoder/embedding_size"), 32);
  EXPECT_EQ(At(config, "/input_features/1/encoder/embedding_size"), 32);
  EXPECT_EQ(At(config, "/input_features/2/encoder/embedding_size"), 256);
  EXPECT_EQ(At(config, "/defaults/text/encoder/type"), "embed");
  EXPECT_EQ(At(config, "/defaults/text/encoder/embedding_size"), 32);
}

TEST(ResolveConfigTest, OptimizerTypeSwitchFillsThatOptimizersDefaults) {
  const Json config =
      Resolve(WithFeatures("number", "number", "trainer: {optimizer: {type: sgd, momentum: 0.9}}"));
  EXPECT_EQ(At(config, "/trainer/optimizer"),
            Json::parse(R"({"type": "sgd", "momentum": 0.9, "weight_decay": 0.0,
                            "dampening": 0.0, "nesterov": false})"));
  const Json rmsprop =
      Resolve(WithFeatures("number", "number", "trainer: {optimizer: {type: rmsprop}}"));
  EXPECT_EQ(At(rmsprop, "/trainer/optimizer/alpha"), 0.99);
  const Json adagrad =
      Resolve(WithFeatures("number", "number", "trainer: {optimizer: {type: adagrad}}"));
  EXPECT_EQ(At(adagrad, "/trainer/optimizer/eps"), 1e-10);
}

TEST(ResolveConfigTest, ValidationFieldDefaultsToTheFirstOutput) {
  const Json config = Resolve(R"(
input_features: [{name: x, type: number}]
output_features: [{name: first, type: set}, {name: second, type: binary}]
)");
  EXPECT_EQ(At(config, "/trainer/validation_field"), "first");
  EXPECT_EQ(At(config, "/trainer/validation_metric"), "jaccard");
}

TEST(ResolveConfigTest, ValidationMetricDefaultsByTheChosenFieldsType) {
  const Json config = Resolve(R"(
input_features: [{name: x, type: number}]
output_features: [{name: first, type: set}, {name: second, type: binary}]
trainer: {validation_field: second}
)");
  EXPECT_EQ(At(config, "/trainer/validation_metric"), "roc_auc");
}

TEST(ResolveConfigTest, ValidationMetricAlonePicksTheOutputThatHasIt) {
  // Ludwig: a metric without a field selects the one output feature that produces it.
  const Json config = Resolve(R"(
input_features: [{name: x, type: number}]
output_features: [{name: first, type: set}, {name: second, type: number}]
trainer: {validation_metric: r2}
)");
  EXPECT_EQ(At(config, "/trainer/validation_field"), "second");
  EXPECT_EQ(At(config, "/trainer/validation_metric"), "r2");
}

TEST(ResolveConfigTest, LossAloneValidatesTheFirstOutput) {
  const Json config = Resolve(WithFeatures("number", "set", "trainer: {validation_metric: loss}"));
  EXPECT_EQ(At(config, "/trainer/validation_field"), "y");
  EXPECT_EQ(At(config, "/trainer/validation_metric"), "loss");
}

TEST(ResolveConfigTest, CombinedValidationUsesLoss) {
  const Json config =
      Resolve(WithFeatures("number", "set", "trainer: {validation_field: combined}"));
  EXPECT_EQ(At(config, "/trainer/validation_field"), "combined");
  EXPECT_EQ(At(config, "/trainer/validation_metric"), "loss");
}

TEST(ResolveConfigTest, ColumnDefaultsToNameUnlessGiven) {
  const Json config = Resolve(R"(
input_features: [{name: x, type: number, column: "X column"}]
output_features: [{name: y, type: binary}]
)");
  EXPECT_EQ(At(config, "/input_features/0/column"), "X column");
  EXPECT_EQ(At(config, "/output_features/0/column"), "y");
}

TEST(ResolveConfigTest, SplitTypesGetTheirOwnDefaults) {
  EXPECT_EQ(At(Resolve(WithFeatures("number", "binary", "preprocessing: {split: {type: fixed}}")),
               "/preprocessing/split"),
            Json({{"type", "fixed"}, {"column", "split"}}));
  EXPECT_EQ(At(Resolve(WithFeatures("number", "binary",
                                    "preprocessing: {split: {type: hash, column: id}}")),
               "/preprocessing/split"),
            Json::parse(R"({"type": "hash", "column": "id", "probabilities": [0.7, 0.1, 0.2]})"));
  EXPECT_EQ(At(Resolve(WithFeatures("number", "binary",
                                    "preprocessing: {split: {type: stratify, column: y,"
                                    " probabilities: [0.8, 0.2, 0]}}")),
               "/preprocessing/split/probabilities"),
            Json::array({0.8, 0.2, 0.0}));
}

TEST(ResolveConfigTest, NullSectionsMeanTheirDefaultsOrOff) {
  const Json config = Resolve(WithFeatures("number", "binary", R"(
trainer:
  gradient_clipping: null
  learning_rate_scheduler: null
combiner: null
hyperopt: null
defaults: null
)"));
  EXPECT_EQ(At(config, "/trainer/gradient_clipping"),
            Json::parse(R"({"clipglobalnorm": null, "clipnorm": null, "clipvalue": null})"));
  EXPECT_TRUE(At(config, "/trainer/learning_rate_scheduler/decay").is_null());
  EXPECT_EQ(At(config, "/combiner/type"), "concat");
  EXPECT_FALSE(config.contains("hyperopt"));
}

TEST(ResolveConfigTest, IntegralFloatsAreAcceptedForIntegers) {
  const Json config = Resolve(WithFeatures("number", "binary", "trainer: {epochs: 10.0}"));
  EXPECT_TRUE(At(config, "/trainer/epochs").is_number_integer());
  EXPECT_EQ(At(config, "/trainer/epochs"), 10);
}

TEST(ResolveConfigTest, NumbersAreStoredAsFloats) {
  const Json config = Resolve(WithFeatures("number", "binary", "combiner: {dropout: 0}"));
  EXPECT_TRUE(At(config, "/combiner/dropout").is_number_float());
}

TEST(ResolveConfigTest, BatchSizeMayBeAnInteger) {
  const Json config = Resolve(
      WithFeatures("number", "binary", "trainer: {batch_size: 128, eval_batch_size: auto}"));
  EXPECT_EQ(At(config, "/trainer/batch_size"), 128);
  EXPECT_EQ(At(config, "/trainer/eval_batch_size"), "auto");
}

TEST(ResolveConfigTest, FcLayersKeepOnlyTheGivenKeys) {
  const Json config = Resolve(WithFeatures("number", "binary", R"(
combiner:
  fc_layers:
    - {output_size: 64, dropout: 0}
    - {activation: tanh, weights_initializer: {type: normal, std: 0.1}}
)"));
  EXPECT_EQ(At(config, "/combiner/fc_layers"), Json::parse(R"([
      {"output_size": 64, "dropout": 0.0},
      {"activation": "tanh", "weights_initializer": {"type": "normal", "std": 0.1}}])"));
}

TEST(ResolveConfigTest, LossParametersAreChecked) {
  const Json config = Resolve(R"(
input_features: [{name: x, type: number}]
output_features:
  - name: y
    type: category
    loss:
      class_weights: [1, 2.5]
      class_similarities: [[1, 0.5], [0.5, 1]]
      class_similarities_temperature: 1
)");
  EXPECT_EQ(At(config, "/output_features/0/loss/class_weights"), Json::array({1.0, 2.5}));
  EXPECT_EQ(At(config, "/output_features/0/loss/class_similarities/0/1"), 0.5);
}

TEST(ResolveConfigTest, OutputDependenciesAreKept) {
  const Json config = Resolve(R"(
input_features: [{name: x, type: number}]
output_features:
  - {name: a, type: binary, dependencies: [b]}
  - {name: b, type: number}
)");
  EXPECT_EQ(At(config, "/output_features/0/dependencies"), Json::array({"b"}));
}

TEST(ResolveConfigTest, HyperoptIsKeptAsGiven) {
  const Json config = Resolve(WithFeatures("number", "binary", R"(
hyperopt:
  goal: minimize
  parameters: {trainer.learning_rate: {space: loguniform, lower: 1e-5, upper: 0.1}}
  anything: [1, two]
)"));
  EXPECT_EQ(At(config, "/hyperopt/anything"), Json::array({1, "two"}));
  EXPECT_EQ(config["hyperopt"]["parameters"]["trainer.learning_rate"]["space"], "loguniform");
}

TEST(ResolveConfigTest, DefaultsSectionListsTypesInUseAndTypesConfigured) {
  const Json config = Resolve(R"(
input_features: [{name: x, type: number}, {name: t, type: text}]
output_features: [{name: y, type: binary}]
defaults: {date: {preprocessing: {datetime_format: "%Y"}}}
)");
  std::vector<std::string> types;
  for (const auto& [type, unused] : config["defaults"].items()) types.push_back(type);
  EXPECT_THAT(types, ElementsAre("binary", "date", "number", "text"));
  EXPECT_EQ(At(config, "/defaults/date/preprocessing/datetime_format"), "%Y");
  EXPECT_EQ(At(config, "/defaults/number/preprocessing/missing_value_strategy"), "fill_with_const");
  EXPECT_EQ(At(config, "/defaults/number/loss/type"), "mean_squared_error");
  EXPECT_FALSE(config["defaults"]["text"].contains("decoder"));
}

TEST(ResolveConfigTest, JsonConfigResolvesLikeYaml) {
  const Json from_json = Resolve(R"({"input_features": [{"name": "x", "type": "number"}],
      "output_features": [{"name": "y", "type": "category"}]})");
  EXPECT_EQ(from_json, Resolve(kMinimal));
}

TEST(ResolveConfigTest, LudwigTitanicExampleResolves) {
  absl::StatusOr<Json> loaded = LoadConfigFile(TESTDATA_DIR "/titanic.yaml");
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  absl::StatusOr<Json> config = ResolveConfig(*loaded);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(At(*config, "/input_features/2/preprocessing/missing_value_strategy"),
            "fill_with_mean");
  EXPECT_EQ(At(*config, "/input_features/0/encoder/type"), "dense");
  EXPECT_EQ(At(*config, "/trainer/validation_field"), "Survived");
  EXPECT_EQ(At(*config, "/trainer/validation_metric"), "roc_auc");
}

TEST(ResolveConfigTest, TextClassificationExampleResolves) {
  absl::StatusOr<Json> loaded = LoadConfigFile(TESTDATA_DIR "/text_classification.yaml");
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  absl::StatusOr<Json> config = ResolveConfig(*loaded);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(At(*config, "/input_features/0/encoder/cell_type"), "lstm");  // defaults, rnn
  EXPECT_EQ(At(*config, "/input_features/0/encoder/bidirectional"), true);
  EXPECT_EQ(At(*config, "/input_features/1/encoder/num_filters"), 64);
  EXPECT_FALSE((*config)["input_features"][1]["encoder"].contains("cell_type"));
  EXPECT_EQ(At(*config, "/input_features/1/preprocessing/lowercase"), false);
  EXPECT_EQ(At(*config, "/output_features/0/top_k"), 2);
  EXPECT_EQ(At(*config, "/output_features/0/loss/class_weights/sports"), 2.0);
  EXPECT_EQ(At(*config, "/trainer/optimizer/type"), "adamw");
  EXPECT_EQ(At(*config, "/trainer/optimizer/weight_decay"), 0.01);
  EXPECT_EQ(At(*config, "/trainer/learning_rate"), 0.001);
  EXPECT_EQ(At(*config, "/trainer/learning_rate_scheduler/decay"), "cosine");
  EXPECT_EQ(At(*config, "/preprocessing/split/column"), "class");
  EXPECT_EQ(At(*config, "/hyperopt/goal"), "maximize");
}

class IdempotenceTest : public ::testing::TestWithParam<std::string> {};

TEST_P(IdempotenceTest, ResolvingAResolvedConfigChangesNothing) {
  absl::StatusOr<Json> loaded = LoadConfigFile(std::string(TESTDATA_DIR "/") + GetParam());
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  absl::StatusOr<Json> once = ResolveConfig(*loaded);
  ASSERT_TRUE(once.ok()) << once.status();
  absl::StatusOr<Json> twice = ResolveConfig(*once);
  ASSERT_TRUE(twice.ok()) << twice.status();
  EXPECT_EQ(*twice, *once);
}

INSTANTIATE_TEST_SUITE_P(Examples, IdempotenceTest,
                         ::testing::Values("titanic.yaml", "text_classification.yaml",
                                           "every_type.yaml"));

TEST(ResolveConfigTest, ResolvingIsIdempotentForEveryEncoder) {
  for (const std::string& type : InputFeatureTypes()) {
    for (const std::string& encoder : EncodersFor(type)) {
      const Json once =
          Resolve(absl::StrCat("input_features: [{name: x, type: ", type, ", encoder: ", encoder,
                               "}]\noutput_features: [{name: y, type: vector}]"));
      absl::StatusOr<Json> twice = ResolveConfig(once);
      ASSERT_TRUE(twice.ok()) << twice.status();
      EXPECT_EQ(*twice, once) << type << "/" << encoder;
    }
  }
}

TEST(ValidateResolvedTest, AcceptsResolvedConfigs) {
  EXPECT_TRUE(ValidateResolved(Resolve(kMinimal)).ok());
}

TEST(ValidateResolvedTest, NamesTheFirstKeyResolvingWouldAdd) {
  Json config = Resolve(kMinimal);
  config["input_features"][0]["preprocessing"].erase("fill_value");
  EXPECT_EQ(std::string(ValidateResolved(config).message()),
            "input_features[0].preprocessing.fill_value: missing (the config is not resolved)");
}

TEST(ValidateResolvedTest, NamesTheFirstValueResolvingWouldChange) {
  Json config = Resolve(kMinimal);
  config["input_features"][0]["encoder"] = "passthrough";  // a shorthand is not resolved
  EXPECT_EQ(std::string(ValidateResolved(config).message()),
            "input_features[0].encoder: resolves to {\"type\":\"passthrough\"} (the config is not "
            "resolved)");
}

TEST(ValidateResolvedTest, ReportsResolutionErrors) {
  Json config = Resolve(kMinimal);
  config["trainer"]["epochs"] = "ten";
  EXPECT_EQ(std::string(ValidateResolved(config).message()),
            "trainer.epochs: expected an integer, got \"ten\"");
}

TEST(ValidateResolvedTest, RejectsAUserConfig) {
  absl::StatusOr<Json> user = ParseConfigText(kMinimal);
  ASSERT_TRUE(user.ok());
  EXPECT_EQ(std::string(ValidateResolved(*user).message()),
            "input_features[0].column: missing (the config is not resolved)");
}

TEST(VocabularyTest, FeatureTypesInCanonicalOrder) {
  EXPECT_THAT(InputFeatureTypes(), ElementsAre("binary", "number", "category", "set", "bag",
                                               "vector", "date", "text", "sequence"));
  EXPECT_THAT(OutputFeatureTypes(), ElementsAre("binary", "number", "category", "set", "vector"));
}

TEST(VocabularyTest, EncodersAndDecodersPerType) {
  EXPECT_THAT(EncodersFor("sequence"),
              ElementsAre("cnnrnn", "embed", "parallel_cnn", "passthrough", "rnn", "stacked_cnn",
                          "stacked_parallel_cnn", "tf_idf", "transformer"));
  EXPECT_THAT(EncodersFor("date"), ElementsAre("embed", "wave"));
  EXPECT_THAT(EncodersFor("category"), ElementsAre("dense", "onehot", "passthrough", "sparse"));
  EXPECT_THAT(EncodersFor("number"), ElementsAre("dense", "passthrough"));
  EXPECT_THAT(DecodersFor("vector"), ElementsAre("projector"));
  EXPECT_THAT(DecodersFor("set"), ElementsAre("classifier"));
  EXPECT_TRUE(DecodersFor("text").empty());
  EXPECT_TRUE(EncodersFor("image").empty());
}

}  // namespace
}  // namespace tristage::config
