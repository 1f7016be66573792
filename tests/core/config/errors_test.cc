// ResolveConfig errors: every class of mistake, with its exact message (path, reason, and the
// suggestion or the valid choices).
#include <string>

#include "core/config/config.h"
#include "gtest/gtest.h"
#include "tests/core/config/config_test_util.h"

namespace tristage::config {
namespace {

using testing::ResolveError;
using testing::WithFeatures;

struct ErrorCase {
  std::string name;  // test name
  std::string yaml;
  std::string message;
};

class ResolveErrorTest : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(ResolveErrorTest, ReportsPathReasonAndHint) {
  EXPECT_EQ(ResolveError(GetParam().yaml), GetParam().message);
}

// A config whose only mistake is in `trainer`.
std::string Trainer(const std::string& body) {
  return WithFeatures("number", "category", "trainer: " + body);
}

// ... in `preprocessing.split`.
std::string Split(const std::string& body) {
  return WithFeatures("number", "binary", "preprocessing: {split: " + body + "}");
}

// ... in `combiner`.
std::string Combiner(const std::string& body) {
  return WithFeatures("number", "binary", "combiner: " + body);
}

// ... in the one input feature.
std::string Input(const std::string& feature) {
  return "input_features: [" + feature + "]\noutput_features: [{name: y, type: binary}]\n";
}

// ... in the one output feature.
std::string Output(const std::string& feature) {
  return "input_features: [{name: x, type: number}]\noutput_features: [" + feature + "]\n";
}

const ErrorCase kTopLevel[] = {
    {"NotAnObject", "[1, 2]", "config: expected an object, got [1,2]"},
    {"Empty", "", "config: is empty (expected an object with input_features and output_features)"},
    {"UnknownSection", WithFeatures("number", "binary", "trainner: {}"),
     "trainner: unknown key (did you mean 'trainer'?)"},
    {"UnknownSectionWithoutCloseMatch", WithFeatures("number", "binary", "cluster: {}"),
     "cluster: unknown key (known: backend, combiner, defaults, hyperopt, input_features, "
     "ludwig_version, model_type, output_features, preprocessing, trainer)"},
    {"LudwigVersionNotAString", WithFeatures("number", "binary", "ludwig_version: [0, 8]"),
     "ludwig_version: expected a version string such as \"0.8.6\", got [0,8]"},
    {"BackendNotAnObject", WithFeatures("number", "binary", "backend: ray"), "backend: expected an object, got \"ray\""},
    {"BackendUnknownType", WithFeatures("number", "binary", "backend: {type: horovod}"), "backend.type: 'horovod' is not supported (known: local, ray); tristage trains "
     "data-parallel on torch.distributed: use type: ray with trainer.num_workers N, or `tristage "
     "train --nproc_per_node N`"},
    {"BackendUnknownKey", WithFeatures("number", "binary", "backend: {typ: ray}"), "backend.typ: unknown key (did you mean 'type'?)"},
    {"BackendDaskProcessor",
     WithFeatures("number", "binary", "backend: {type: ray, processor: {type: dask}}"), "backend.processor: not supported: tristage preprocesses once, on rank 0, and broadcasts "
     "the result to the other workers; there is no Dask processor to configure: remove this key"},
    {"BackendCacheDir", WithFeatures("number", "binary", "backend: {type: ray, cache_dir: s3://x}"),
     "backend.cache_dir: not supported: the preprocessed cache is written beside the dataset "
     "file (--skip_save_processed_input turns it off); remove this key"},
    {"BackendLocalWithTrainer",
     WithFeatures("number", "binary", "backend: {type: local, trainer: {num_workers: 2}}"), "backend.trainer: only the ray backend takes trainer settings (type: ray with "
     "trainer.num_workers N trains on N worker processes)"},
    {"BackendZeroWorkers",
     WithFeatures("number", "binary", "backend: {type: ray, trainer: {num_workers: 0}}"), "backend.trainer.num_workers: must be in [1, 1024], got 0"},
    {"BackendHugeWorkers",
     WithFeatures("number", "binary", "backend: {type: ray, trainer: {num_workers: 1e9}}"), "backend.trainer.num_workers: must be in [1, 1024], got 1000000000.0"},
    {"BackendStrategy",
     WithFeatures("number", "binary", "backend: {type: ray, trainer: {strategy: deepspeed}}"), "backend.trainer.strategy: must be one of ddp, horovod, got \"deepspeed\""},
    {"BackendTrainerKey",
     WithFeatures("number", "binary", "backend: {type: ray, trainer: {num_worker: 2}}"), "backend.trainer.num_worker: unknown key (did you mean 'num_workers'?)"},
    {"BackendResources",
     WithFeatures("number", "binary",
                  "backend: {type: ray, trainer: {resources_per_worker: {TPU: 1}}}"),
     "backend.trainer.resources_per_worker.TPU: unknown key (did you mean 'CPU'?)"},
    {"BackendNegativeCpu",
     WithFeatures("number", "binary",
                  "backend: {type: ray, trainer: {resources_per_worker: {CPU: -1}}}"),
     "backend.trainer.resources_per_worker.CPU: must be > 0, got -1"},
    {"ModelType", WithFeatures("number", "binary", "model_type: trees"),
     "model_type: unknown model type 'trees' (known: ecd)"},
    {"ModelTypeGbm", WithFeatures("number", "binary", "model_type: gbm"),
     "model_type: 'gbm' (Ludwig's LightGBM tree models) is not supported; tristage trains ECD "
     "models (model_type: ecd, the default)"},
    {"LlmSection", WithFeatures("number", "binary", "prompt: {template: x}"),
     "prompt: not supported: a section of Ludwig's llm models (model_type: llm); tristage trains "
     "ECD models"},
    {"MissingInputs", "output_features: [{name: y, type: binary}]",
     "config: missing required key 'input_features'"},
    {"MissingOutputs", "input_features: [{name: x, type: number}]",
     "config: missing required key 'output_features'"},
    {"EmptyInputs", "input_features: []\noutput_features: [{name: y, type: binary}]",
     "input_features: must list at least one feature"},
    {"InputsNotAList", "input_features: {name: x}\noutput_features: [{name: y, type: binary}]",
     "input_features: expected a list of features, got {\"name\":\"x\"}"},
    {"HyperoptNotAnObject", WithFeatures("number", "binary", "hyperopt: grid"),
     "hyperopt: expected an object, got \"grid\""},
};

const ErrorCase kFeatures[] = {
    {"FeatureNotAnObject", Input("x"), "input_features[0]: expected an object, got \"x\""},
    {"MissingName", Input("{type: number}"), "input_features[0]: missing required key 'name'"},
    {"MissingType", Input("{name: x}"), "input_features[0]: missing required key 'type'"},
    {"NameNotAString", Input("{name: 3, type: number}"),
     "input_features[0].name: expected a non-empty string, got 3"},
    {"UnknownInputType", Input("{name: x, type: numerical}"),
     "input_features[0].type: unknown feature type 'numerical' (known: binary, number, category, "
     "set, bag, vector, date, text, sequence)"},
    {"UnsupportedOutputType", Output("{name: y, type: text}"),
     "output_features[0].type: 'text' is not supported as an output (supported: binary, number, "
     "category, set, vector)"},
    {"UnknownOutputType", Output("{name: y, type: image}"),
     "output_features[0].type: unknown feature type 'image' (known: binary, number, category, set, "
     "vector)"},
    {"DuplicateInputName",
     "input_features: [{name: x, type: number}, {name: x, type: binary}]\n"
     "output_features: [{name: y, type: binary}]",
     "input_features[1].name: duplicate feature name 'x'"},
    {"OutputReusesInputName",
     "input_features: [{name: x, type: number}]\noutput_features: [{name: x, type: binary}]",
     "output_features[0].name: duplicate feature name 'x'"},
    {"MisspelledFeatureKey", Input("{name: x, type: number, encodr: dense}"),
     "input_features[0].encodr: unknown key (did you mean 'encoder'?)"},
    {"EncoderParamOnFeatureAndInEncoder",
     Input("{name: x, type: text, embedding_size: 64, encoder: {embedding_size: 32}}"),
     "input_features[0].embedding_size: given twice: here (Ludwig's old layout) and as "
     "encoder.embedding_size"},
    {"PreprocessingParamOnFeature", Input("{name: x, type: text, lowercase: true}"),
     "input_features[0].lowercase: unknown key (did you mean 'preprocessing.lowercase'?)"},
    {"DecoderKeyOnInput", Input("{name: x, type: number, decoder: regressor}"),
     "input_features[0].decoder: unknown key (did you mean 'encoder'?)"},
    {"OtherTypesOutputKey", Output("{name: y, type: binary, top_k: 3}"),
     "output_features[0].top_k: unknown key (known: column, decoder, dependencies, loss, name, "
     "preprocessing, reduce_dependencies, reduce_input, threshold, type)"},
    {"ColumnNotAString", Input("{name: x, type: number, column: [a]}"),
     "input_features[0].column: expected a non-empty string, got [\"a\"]"},
    {"ThresholdOutOfRange", Output("{name: y, type: binary, threshold: 2}"),
     "output_features[0].threshold: must be in [0, 1], got 2"},
    {"UnknownDependency", Output("{name: y, type: binary, dependencies: [z]}"),
     "output_features[0].dependencies[0]: unknown output feature 'z' (known: y)"},
    {"SelfDependency", Output("{name: y, type: binary, dependencies: [y]}"),
     "output_features[0].dependencies[0]: an output feature cannot depend on itself"},
    {"DependencyCycle",
     Output("{name: a, type: binary, dependencies: [b]}, {name: b, type: number, dependencies: "
            "[c]}, {name: c, type: number, dependencies: [b]}"),
     "output_features: dependencies form a cycle: b -> c -> b"},
    {"ReservedOutputName", Output("{name: combined, type: binary}"),
     "output_features[0].name: 'combined' is reserved for the combined loss of all outputs"},
    {"DependenciesNotNames", Output("{name: y, type: binary, dependencies: [1]}"),
     "output_features[0].dependencies[0]: expected a feature name, got 1"},
};

const ErrorCase kComponents[] = {
    {"UnknownEncoder", Input("{name: x, type: text, encoder: cnn}"),
     "input_features[0].encoder.type: unknown encoder 'cnn' for text "
     "(known: albert, auto_transformer, bert, camembert, cnnrnn, deberta, "
     "distilbert, electra, embed, flaubert, gpt, gpt2, longformer, parallel_cnn, passthrough, "
     "rnn, roberta, stacked_cnn, stacked_parallel_cnn, t5, tf_idf, transformer, transformer_xl, "
     "xlmroberta, xlnet)"},
    {"EncoderTypeNotAString", Input("{name: x, type: text, encoder: {type: 1}}"),
     "input_features[0].encoder.type: expected a string, got 1"},
    {"EncoderNotObjectOrName", Input("{name: x, type: text, encoder: 5}"),
     "input_features[0].encoder: expected an object or an encoder name, got 5"},
    {"SiblingEncoderParam", Input("{name: x, type: text, encoder: {type: rnn, num_filters: 8}}"),
     "input_features[0].encoder.num_filters: not a parameter of encoder 'rnn' (a parameter of "
     "parallel_cnn, stacked_cnn, stacked_parallel_cnn, cnnrnn)"},
    {"MisspelledEncoderParam", Input("{name: x, type: text, encoder: {type: rnn, cel_type: gru}}"),
     "input_features[0].encoder.cel_type: unknown key (did you mean 'cell_type'?)"},
    {"EncoderChoice", Input("{name: x, type: text, encoder: {type: rnn, cell_type: transformer}}"),
     "input_features[0].encoder.cell_type: must be one of rnn, lstm, gru, got \"transformer\""},
    {"UnknownDecoder", Output("{name: y, type: category, decoder: tagger}"),
     "output_features[0].decoder.type: unknown decoder 'tagger' for category (known: classifier)"},
    {"UnknownLoss", Output("{name: y, type: number, loss: cross_entropy}"),
     "output_features[0].loss.type: unknown loss 'cross_entropy' for number (known: huber, "
     "mean_absolute_error, mean_absolute_percentage_error, mean_squared_error, "
     "root_mean_squared_error, root_mean_squared_percentage_error)"},
    {"NegativeLossWeight", Output("{name: y, type: number, loss: {weight: -1}}"),
     "output_features[0].loss.weight: must be >= 0, got -1"},
    {"ClassWeightsNotNumbers", Output("{name: y, type: set, loss: {class_weights: [a]}}"),
     "output_features[0].loss.class_weights[0]: expected a number, got \"a\""},
    {"ClassSimilaritiesNotSquare",
     Output("{name: y, type: category, loss: {class_similarities: [[1, 0]]}}"),
     "output_features[0].loss.class_similarities: must be a square matrix, but row 0 has 2 values "
     "for 1 rows"},
    {"ClipReversed", Output("{name: y, type: vector, decoder: {clip: [1, 0]}}"),
     "output_features[0].decoder.clip: min must be <= max, got [1,0]"},
    {"UnknownCombiner", Combiner("{type: perceiver}"),
     "combiner.type: unknown combiner 'perceiver' (known: comparator, concat, project_aggregate, "
     "sequence, sequence_concat, tabnet, tabtransformer, transformer)"},
    {"CombinerDropout", Combiner("{dropout: 1.5}"), "combiner.dropout: must be in [0, 1), got 1.5"},
    {"CombinerNorm", Combiner("{norm: group}"),
     "combiner.norm: must be one of batch, layer, null, got \"group\""},
    {"CombinerNotAnObject", Combiner("concat"), "combiner: expected an object, got \"concat\""},
    {"FcLayerValue", Combiner("{fc_layers: [{output_size: 8}, {dropout: 2}]}"),
     "combiner.fc_layers[1].dropout: must be in [0, 1), got 2"},
    {"FcLayerKey", Combiner("{fc_layers: [{outputsize: 8}]}"),
     "combiner.fc_layers[0].outputsize: unknown key (did you mean 'output_size'?)"},
    {"FcLayersNotAList", Combiner("{fc_layers: 2}"),
     "combiner.fc_layers: expected a list of objects or null, got 2"},
    {"UnknownInitializer", Combiner("{weights_initializer: glorot}"),
     "combiner.weights_initializer: unknown initializer \"glorot\" (known: uniform, normal, "
     "constant, ones, zeros, eye, dirac, xavier_uniform, xavier_normal, kaiming_uniform, "
     "kaiming_normal, orthogonal, sparse, identity)"},
    {"InitializerObjectWithoutType", Combiner("{weights_initializer: {mean: 0}}"),
     "combiner.weights_initializer: missing required key 'type'"},
    {"UnknownActivation", Combiner("{activation: gelu}"),
     "combiner.activation: must be one of elu, leakyRelu, logSigmoid, relu, sigmoid, tanh, "
     "softmax, "
     "null, got \"gelu\""},
};

// ... in `combiner`, with inputs a, b (numbers) and c (category).
std::string Combiner3(const std::string& body) {
  return "input_features: [{name: a, type: number}, {name: b, type: number}, "
         "{name: c, type: category}]\noutput_features: [{name: y, type: binary}]\ncombiner: " +
         body + "\n";
}

// Ludwig's combiner keys that tristage refuses, and values out of bounds or inconsistent.
const ErrorCase kCombiners[] = {
    {"ComparatorUnknownFeature", Combiner3("{type: comparator, entity_1: [a, z], entity_2: [c]}"),
     "combiner.entity_1[1]: 'z' is not an input feature (known: a, b, c)"},
    {"ComparatorEmptyEntity", Combiner3("{type: comparator, entity_1: [a, b, c], entity_2: []}"),
     "combiner.entity_2: must name at least one input feature (the comparator compares two "
     "non-empty entities)"},
    {"ComparatorOverlap", Combiner3("{type: comparator, entity_1: [a, b], entity_2: [b, c]}"),
     "combiner.entity_2[0]: 'b' is already in an entity (each input feature belongs to exactly "
     "one of entity_1 and entity_2)"},
    {"ComparatorFeatureInNeither", Combiner3("{type: comparator, entity_1: [a], entity_2: [c]}"),
     "combiner.entity_1: input feature 'b' is in neither entity_1 nor entity_2 (the comparator "
     "needs every input feature in exactly one)"},
    {"ComparatorWithoutEntities", Combiner3("{type: comparator}"),
     "combiner: missing required key 'entity_1' for combiner 'comparator'"},
    {"ComparatorWithoutLayers",
     Combiner3("{type: comparator, entity_1: [a, b], entity_2: [c], num_fc_layers: 0}"),
     "combiner.num_fc_layers: must be in [1, 32], got 0"},
    {"HiddenSizeZero", Combiner3("{type: transformer, hidden_size: 0}"),
     "combiner.hidden_size: must be in [1, 4096], got 0"},
    {"HiddenSizeHuge", Combiner3("{type: tabtransformer, hidden_size: 1000000}"),
     "combiner.hidden_size: must be in [1, 4096], got 1000000"},
    {"TooManyTransformerLayers", Combiner3("{type: transformer, num_layers: 33}"),
     "combiner.num_layers: must be in [1, 32], got 33"},
    {"HeadsNotDividingHidden", Combiner3("{type: transformer, hidden_size: 30, num_heads: 8}"),
     "combiner.num_heads: must divide hidden_size (30), got 8"},
    {"TransformerReduceNull", Combiner3("{type: transformer, reduce_output: null}"),
     "combiner.reduce_output: null keeps the transformer combiner's [batch, features, hidden] "
     "output for sequence decoders, which tristage does not have; choose one of sum, mean, avg, "
     "max, concat, last, attention"},
    {"EmbedNameTooWide",
     Combiner3("{type: tabtransformer, hidden_size: 16, num_heads: 4, embed_input_feature_name: 16}"),
     "combiner.embed_input_feature_name: must be smaller than hidden_size (16), got 16"},
    {"EmbedNameNotAddOrInt", Combiner3("{type: tabtransformer, embed_input_feature_name: concat}"),
     "combiner.embed_input_feature_name: expected null, \"add\" or a positive integer, got "
     "\"concat\""},
    {"TabNetOutputSizeHuge", Combiner3("{type: tabnet, output_size: 5000}"),
     "combiner.output_size: must be in [1, 4096], got 5000"},
    {"TabNetSizeZero", Combiner3("{type: tabnet, size: 0}"),
     "combiner.size: must be in [1, 4096], got 0"},
    {"TabNetTooManySteps", Combiner3("{type: tabnet, num_steps: 100}"),
     "combiner.num_steps: must be in [1, 32], got 100"},
    {"TabNetSharedBlocks", Combiner3("{type: tabnet, num_total_blocks: 2, num_shared_blocks: 3}"),
     "combiner.num_shared_blocks: must be at most num_total_blocks (2), got 3"},
    {"TabNetEntmaxBisection", Combiner3("{type: tabnet, entmax_mode: adaptive}"),
     "combiner.entmax_mode: 'adaptive' (entmax by bisection) is not supported yet; use sparsemax "
     "or entmax15"},
    {"TabNetEntmaxAlpha", Combiner3("{type: tabnet, entmax_alpha: 3}"),
     "combiner.entmax_alpha: must be in [1, 2], got 3"},
    {"TabNetEntmaxAlphaWithSparsemax", Combiner3("{type: tabnet, entmax_alpha: 1.2}"),
     "combiner.entmax_alpha: acts only with entmax_mode constant or adaptive, which are not "
     "supported yet (leave it at 1.5)"},
    {"ProjectionSizeZero", Combiner3("{type: project_aggregate, projection_size: 0}"),
     "combiner.projection_size: must be in [1, 4096], got 0"},
    {"SequenceConcatWithoutSequence", Combiner3("{type: sequence_concat}"),
     "combiner.type: sequence_concat needs a text or sequence input whose encoder has "
     "reduce_output: null (its sequence sets the length; other inputs are repeated along it)"},
    {"SequenceConcatMainNotAnInput",
     "input_features: [{name: t, type: text, encoder: {reduce_output: null}}, {name: a, type: "
     "number}]\noutput_features: [{name: y, type: binary}]\ncombiner: {type: sequence_concat, "
     "main_sequence_feature: z}\n",
     "combiner.main_sequence_feature: 'z' is not an input feature"},
    {"SequenceConcatMainReduced",
     "input_features: [{name: t, type: text, encoder: {reduce_output: null}}, {name: a, type: "
     "number}]\noutput_features: [{name: y, type: binary}]\ncombiner: {type: sequence_concat, "
     "main_sequence_feature: a}\n",
     "combiner.main_sequence_feature: 'a' must be a text or sequence input whose encoder has "
     "reduce_output: null"},
    {"Sequence", Combiner3("{type: sequence, encoder: {type: rnn}}"),
     "combiner.type: 'sequence' is not supported yet: it runs a sequence encoder over the "
     "concatenated unreduced encoder outputs, which tristage's encoders cannot take; use "
     "sequence_concat"},
    {"NormParams", Combiner3("{type: project_aggregate, norm_params: {eps: 0.01}}"),
     "combiner.norm_params: is not supported yet (the norms use torch's defaults; leave it null)"},
    {"ConcatOutputSizeHuge", Combiner("{output_size: 100000}"),
     "combiner.output_size: must be in [1, 4096], got 100000"},
};

const ErrorCase kPreprocessing[] = {
    {"SampleSizeWithARatio",
     WithFeatures("number", "binary", "preprocessing: {sample_ratio: 0.5, sample_size: 10}"),
     "preprocessing.sample_size: cannot be used when preprocessing.sample_ratio is below 1 (0.5); "
     "give one of them"},
    {"NegativeSampleSize", WithFeatures("number", "binary", "preprocessing: {sample_size: -1}"),
     "preprocessing.sample_size: must be >= 0, got -1"},
    {"HugeOversampling",
     WithFeatures("number", "binary", "preprocessing: {oversample_minority: 1e9}"),
     "preprocessing.oversample_minority: must be in [0, 1], got 1000000000.0"},
    {"OverAndUnderSampling",
     WithFeatures("number", "binary",
                  "preprocessing: {oversample_minority: 0.5, undersample_majority: 0.5}"),
     "preprocessing.oversample_minority: oversample_minority and undersample_majority are "
     "mutually exclusive; give one of them"},
    {"BalancingACategory",
     WithFeatures("number", "category", "preprocessing: {undersample_majority: 0.5}"),
     "preprocessing.undersample_majority: class balancing needs exactly one output feature, of "
     "type binary (this config has 1 output feature(s), of type category)"},
    {"UnknownTokenizer", Input("{name: x, type: text, preprocessing: {tokenizer: hf_tokenizer}}"),
     "input_features[0].preprocessing.tokenizer: must be one of space, space_punct, characters, "
     "comma, underscore, got \"hf_tokenizer\""},
    {"MeanForCategory",
     Input("{name: x, type: category, preprocessing: {missing_value_strategy: fill_with_mean}}"),
     "input_features[0].preprocessing.missing_value_strategy: must be one of fill_with_const, "
     "fill_with_mode, bfill, ffill, drop_row, got \"fill_with_mean\""},
    {"UnknownNormalization", Input("{name: x, type: number, preprocessing: {normalization: l2}}"),
     "input_features[0].preprocessing.normalization: must be one of zscore, minmax, log1p, iq, "
     "null, got \"l2\""},
    {"MisspelledPreprocessingKey",
     Input("{name: x, type: text, preprocessing: {max_sequence_lenght: 3}}"),
     "input_features[0].preprocessing.max_sequence_lenght: unknown key (did you mean "
     "'max_sequence_length'?)"},
    {"BooleanAsYesString", Input("{name: x, type: text, preprocessing: {lowercase: yes}}"),
     "input_features[0].preprocessing.lowercase: expected a boolean, got \"yes\""},
    {"BinaryFillValue", Input("{name: x, type: binary, preprocessing: {fill_value: maybe}}"),
     "input_features[0].preprocessing.fill_value: expected a boolean, a number in [0, 1], a "
     "boolean string (true, yes, 1, ...) or null, got \"maybe\""},
    {"VectorFillValue", Input("{name: x, type: vector, preprocessing: {fill_value: a b}}"),
     "input_features[0].preprocessing.fill_value: expected a string of space-separated numbers, "
     "got \"a b\""},
    {"PreprocessingNotAnObject", Input("{name: x, type: number, preprocessing: [1]}"),
     "input_features[0].preprocessing: expected an object, got [1]"},
    {"InfiniteFillValue", Input("{name: x, type: number, preprocessing: {fill_value: .inf}}"),
     "input_features[0].preprocessing.fill_value: expected a finite number, got .inf"},
    {"SampleRatio", WithFeatures("number", "binary", "preprocessing: {sample_ratio: 0}"),
     "preprocessing.sample_ratio: must be in (0, 1], got 0"},
    {"ProbabilitiesSum", Split("{probabilities: [0.5, 0.6, 0.1]}"),
     "preprocessing.split.probabilities: must sum to 1, got [0.5,0.6,0.1] (sum 1.2)"},
    {"ProbabilitiesLength", Split("{probabilities: [0.5, 0.5]}"),
     "preprocessing.split.probabilities: expected a list of 3 numbers [train, validation, test], "
     "got [0.5,0.5]"},
    {"NegativeProbability", Split("{probabilities: [1.1, -0.1, 0]}"),
     "preprocessing.split.probabilities[1]: must be >= 0, got -0.1"},
    {"StratifyWithoutColumn", Split("{type: stratify}"),
     "preprocessing.split: missing required key 'column' for split type 'stratify'"},
    {"HashColumnNull", Split("{type: hash, column: null}"),
     "preprocessing.split.column: expected a string, got null"},
    {"FixedWithProbabilities", Split("{type: fixed, probabilities: [1, 0, 0]}"),
     "preprocessing.split.probabilities: not a parameter of split type 'fixed' (a parameter of "
     "random, stratify, hash)"},
    {"UnknownSplitType", Split("{type: datetime}"),
     "preprocessing.split.type: unknown split type 'datetime' (known: fixed, hash, random, "
     "stratify)"},
};

const ErrorCase kTrainer[] = {
    {"MisspelledKey", Trainer("{learnig_rate: 0.1}"),
     "trainer.learnig_rate: unknown key (did you mean 'learning_rate'?)"},
    {"EpochsNotAnInteger", Trainer("{epochs: ten}"),
     "trainer.epochs: expected an integer, got \"ten\""},
    {"EpochsFraction", Trainer("{epochs: 10.5}"), "trainer.epochs: expected an integer, got 10.5"},
    {"EpochsNull", Trainer("{epochs: null}"), "trainer.epochs: expected an integer, got null"},
    {"EpochsBoolean", Trainer("{epochs: true}"), "trainer.epochs: expected an integer, got true"},
    {"EpochsHuge", Trainer("{epochs: 1e20}"), "trainer.epochs: is too large, got 1e+20"},
    {"LearningRateNan", Trainer("{learning_rate: .nan}"),
     "trainer.learning_rate: expected a finite number, got .nan"},
    {"EpochsZero", Trainer("{epochs: 0}"), "trainer.epochs: must be >= 1, got 0"},
    {"EarlyStopBelowMinusOne", Trainer("{early_stop: -2}"),
     "trainer.early_stop: must be >= -1, got -2"},
    {"LearningRateZero", Trainer("{learning_rate: 0}"),
     "trainer.learning_rate: must be in (0, 1], got 0"},
    {"LearningRateAuto", Trainer("{learning_rate: auto}"),
     "trainer.learning_rate: expected a number, got \"auto\""},
    {"ShuffleAsNumber", Trainer("{should_shuffle: 1}"),
     "trainer.should_shuffle: expected a boolean, got 1"},
    {"BatchSizeZero", Trainer("{batch_size: 0}"),
     "trainer.batch_size: expected a positive integer or \"auto\", got 0"},
    {"EvalBatchSizeWord", Trainer("{eval_batch_size: max}"),
     "trainer.eval_batch_size: expected a positive integer, \"auto\" or null, got \"max\""},
    {"RegularizationType", Trainer("{regularization_type: l3}"),
     "trainer.regularization_type: must be one of l1, l2, l1_l2, null, got \"l3\""},
    {"BothCheckpointSchedules", Trainer("{steps_per_checkpoint: 100, checkpoints_per_epoch: 2}"),
     "trainer.checkpoints_per_epoch: cannot be non-zero when steps_per_checkpoint is non-zero"},
    {"UnknownOptimizer", Trainer("{optimizer: {type: adamm}}"),
     "trainer.optimizer.type: unknown optimizer 'adamm' (known: adadelta, adagrad, adam, adamax, "
     "adamw, lamb, nadam, rmsprop, sgd)"},
    {"LambEightBitKnob", Trainer("{optimizer: {type: lamb, percentile_clipping: 5}}"),
     "trainer.optimizer.percentile_clipping: only 100 is supported for lamb (tristage runs "
     "torch_optimizer's Lamb on CPU, not bitsandbytes' CUDA kernel)"},
    {"PlateauMetricOfAnotherType", Trainer("{learning_rate_scheduler: {reduce_on_plateau: 1, "
                                           "reduce_eval_metric: r2}}"),
     "trainer.learning_rate_scheduler.reduce_eval_metric: 'r2' is not a metric of the "
     "validation field 'y' (known: accuracy, hits_at_k, loss)"},
    {"OtherOptimizersParam", Trainer("{optimizer: {momentum: 0.9}}"),
     "trainer.optimizer.momentum: not a parameter of optimizer 'adam' (a parameter of sgd, "
     "rmsprop)"},
    {"OptimizerShorthand", Trainer("{optimizer: sgd}"),
     "trainer.optimizer: expected an object, got \"sgd\""},
    {"Betas", Trainer("{optimizer: {betas: [0.9]}}"),
     "trainer.optimizer.betas: expected a list of 2 numbers, got [0.9]"},
    {"BetaOutOfRange", Trainer("{optimizer: {betas: [0.9, 1]}}"),
     "trainer.optimizer.betas[1]: must be in [0, 1), got 1"},
    {"SchedulerDecay", Trainer("{learning_rate_scheduler: {decay: step}}"),
     "trainer.learning_rate_scheduler.decay: must be one of linear, exponential, cosine, null, "
     "got \"step\""},
    {"SchedulerSplit", Trainer("{learning_rate_scheduler: {reduce_eval_split: train}}"),
     "trainer.learning_rate_scheduler.reduce_eval_split: must be one of training, validation, "
     "test, got \"train\""},
    {"NegativeClipping", Trainer("{gradient_clipping: {clipvalue: -1}}"),
     "trainer.gradient_clipping.clipvalue: must be >= 0, got -1"},
    {"TrainerNotAnObject", Trainer("[]"), "trainer: expected an object, got []"},
    {"UnknownValidationField", Trainer("{validation_field: z}"),
     "trainer.validation_field: unknown output feature 'z' (known: y, combined)"},
    {"ValidationFieldNotAString", Trainer("{validation_field: 1}"),
     "trainer.validation_field: expected a string or null, got 1"},
    {"MetricOfAnotherType", Trainer("{validation_field: y, validation_metric: jaccard}"),
     "trainer.validation_metric: 'jaccard' is not a metric of category output feature 'y' "
     "(known: accuracy, hits_at_k, loss)"},
    {"MetricOfNoOutput", Trainer("{validation_metric: r2}"),
     "trainer.validation_metric: 'r2' is not a metric of any output feature"},
    {"MetricOfSeveralOutputs",
     "input_features: [{name: x, type: number}]\n"
     "output_features: [{name: a, type: binary}, {name: b, type: category}]\n"
     "trainer: {validation_metric: accuracy}",
     "trainer.validation_metric: 'accuracy' is a metric of several output features (a, b); set "
     "trainer.validation_field to choose one"},
    {"CombinedNeedsLoss", Trainer("{validation_field: combined, validation_metric: accuracy}"),
     "trainer.validation_metric: must be 'loss' when validation_field is 'combined', got "
     "'accuracy'"},
};

const ErrorCase kDefaults[] = {
    {"NotAnObject", WithFeatures("number", "binary", "defaults: [text]"),
     "defaults: expected an object, got [\"text\"]"},
    {"UnknownType", WithFeatures("number", "binary", "defaults: {numerical: {}}"),
     "defaults.numerical: unknown feature type 'numerical' (known: binary, number, category, set, "
     "bag, vector, date, text, sequence)"},
    {"UnknownSection", WithFeatures("number", "binary", "defaults: {number: {encoders: {}}}"),
     "defaults.number.encoders: unknown key (did you mean 'encoder'?)"},
    {"DecoderForInputOnlyType", WithFeatures("number", "binary", "defaults: {text: {decoder: {}}}"),
     "defaults.text.decoder: 'text' is not supported as an output (supported: binary, number, "
     "category, set, vector)"},
    {"PreprocessingValue",
     WithFeatures("number", "binary", "defaults: {text: {preprocessing: {padding: middle}}}"),
     "defaults.text.preprocessing.padding: must be one of left, right, got \"middle\""},
    {"UntypedEncoderIsTheDefaultEncoder",
     WithFeatures("number", "binary", "defaults: {text: {encoder: {cell_type: lstm}}}"),
     "defaults.text.encoder.cell_type: not a parameter of encoder 'embed' (a parameter of "
     "rnn, cnnrnn)"},
    {"UnknownEncoder", WithFeatures("number", "binary", "defaults: {sequence: {encoder: bert}}"),
     "defaults.sequence.encoder.type: unknown encoder 'bert' for sequence (known: cnnrnn, embed, "
     "parallel_cnn, passthrough, rnn, stacked_cnn, stacked_parallel_cnn, tf_idf, transformer)"},
    {"LossValue", WithFeatures("number", "binary", "defaults: {binary: {loss: {weight: x}}}"),
     "defaults.binary.loss.weight: expected a number, got \"x\""},
};

std::string CaseName(const ::testing::TestParamInfo<ErrorCase>& info) {
  return info.param.name;
}

INSTANTIATE_TEST_SUITE_P(TopLevel, ResolveErrorTest, ::testing::ValuesIn(kTopLevel), CaseName);
INSTANTIATE_TEST_SUITE_P(Features, ResolveErrorTest, ::testing::ValuesIn(kFeatures), CaseName);
INSTANTIATE_TEST_SUITE_P(Components, ResolveErrorTest, ::testing::ValuesIn(kComponents), CaseName);
INSTANTIATE_TEST_SUITE_P(Combiners, ResolveErrorTest, ::testing::ValuesIn(kCombiners), CaseName);
INSTANTIATE_TEST_SUITE_P(Preprocessing, ResolveErrorTest, ::testing::ValuesIn(kPreprocessing),
                         CaseName);
INSTANTIATE_TEST_SUITE_P(Trainer, ResolveErrorTest, ::testing::ValuesIn(kTrainer), CaseName);
INSTANTIATE_TEST_SUITE_P(Defaults, ResolveErrorTest, ::testing::ValuesIn(kDefaults), CaseName);

}  // namespace
}  // namespace tristage::config
