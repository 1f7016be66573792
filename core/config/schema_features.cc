// Feature types: preprocessing defaults, output-only keys and validation metrics, after Ludwig
// 0.8's ludwig/schema/features/*.py and ludwig/schema/features/preprocessing/*.py.
//
// Choices made here (see also the module report): `computed_fill_value` and other internal keys
// are not accepted (preprocessing computes them); the tokenizers are the five tristage implements;
// category/set/bag `most_common` is 10000 and may be null (no limit).
#include <utility>

#include "core/config/schema.h"

namespace tristage::config {
namespace {

std::vector<std::string> BaseStrategies() {
  return {"fill_with_const", "fill_with_mode", "bfill", "ffill", "drop_row"};
}

std::vector<std::string> With(std::vector<std::string> names, std::string extra) {
  names.push_back(std::move(extra));
  return names;
}

// Output features drop rows with a missing target instead of inventing one.
std::vector<Param> AsOutput(const std::vector<Param>& input, Json overrides = Json::object()) {
  overrides["missing_value_strategy"] = "drop_row";
  return OverrideDefaults(input, overrides);
}

FeatureTypeSchema Binary() {
  FeatureTypeSchema type;
  type.name = "binary";
  type.preprocessing = {
      MissingValueStrategy("fill_with_false", With(BaseStrategies(), "fill_with_false")),
      BinaryFillValue(), String("fallback_true_label", nullptr)};
  type.output_preprocessing = AsOutput(type.preprocessing);
  type.output_params = {Number("threshold", 0.5).InRange(0, 1)};
  type.metrics = {"accuracy", "precision", "recall", "specificity", "roc_auc", "loss"};
  type.default_metric = "roc_auc";
  return type;
}

FeatureTypeSchema NumberType() {
  FeatureTypeSchema type;
  type.name = "number";
  type.preprocessing = {
      MissingValueStrategy("fill_with_const", With(BaseStrategies(), "fill_with_mean")),
      Number("fill_value", 0.0),
      Choice("normalization", "zscore", {"zscore", "minmax", "log1p", "iq"}).OrNull(),
      Choice("outlier_strategy", nullptr, With(BaseStrategies(), "fill_with_mean")),
      Number("outlier_threshold", 3.0).AtLeast(0)};
  // Ludwig leaves number targets unnormalized.
  type.output_preprocessing = AsOutput(type.preprocessing, {{"normalization", nullptr}});
  type.metrics = {"mean_squared_error",
                  "mean_absolute_error",
                  "root_mean_squared_error",
                  "r2",
                  "mean_absolute_percentage_error",
                  "loss"};
  type.default_metric = "mean_squared_error";
  return type;
}

FeatureTypeSchema Category() {
  FeatureTypeSchema type;
  type.name = "category";
  type.preprocessing = {MissingValueStrategy("fill_with_const", BaseStrategies()),
                        String("fill_value", "<UNK>"), Bool("lowercase", false),
                        Int("most_common", 10000).AtLeast(1).OrNull()};
  type.output_preprocessing = AsOutput(type.preprocessing);
  type.output_params = {Int("top_k", 3).AtLeast(1)};
  type.metrics = {"accuracy", "hits_at_k", "loss"};
  type.default_metric = "accuracy";
  return type;
}

std::vector<Param> TokenSetPreprocessing() {
  return {Tokenizer("space"), MissingValueStrategy("fill_with_const", BaseStrategies()),
          String("fill_value", "<UNK>"), Bool("lowercase", false),
          Int("most_common", 10000).AtLeast(1).OrNull()};
}

FeatureTypeSchema Set() {
  FeatureTypeSchema type;
  type.name = "set";
  type.preprocessing = TokenSetPreprocessing();
  type.output_preprocessing = AsOutput(type.preprocessing);
  type.output_params = {Number("threshold", 0.5).InRange(0, 1)};
  type.metrics = {"jaccard", "loss"};
  type.default_metric = "jaccard";
  return type;
}

FeatureTypeSchema Bag() {
  FeatureTypeSchema type;
  type.name = "bag";
  type.preprocessing = TokenSetPreprocessing();
  return type;
}

FeatureTypeSchema Vector() {
  FeatureTypeSchema type;
  type.name = "vector";
  type.preprocessing = {Int("vector_size", nullptr).AtLeast(1),
                        MissingValueStrategy("fill_with_const", BaseStrategies()),
                        VectorFillValue()};
  type.output_preprocessing = AsOutput(type.preprocessing);
  type.metrics = {"mean_squared_error", "mean_absolute_error", "r2", "loss"};
  type.default_metric = "mean_squared_error";
  return type;
}

FeatureTypeSchema Date() {
  FeatureTypeSchema type;
  type.name = "date";
  // Ludwig 0.8 has no mode for dates.
  type.preprocessing = {
      MissingValueStrategy("fill_with_const", {"fill_with_const", "bfill", "ffill", "drop_row"}),
      String("fill_value", ""), String("datetime_format", nullptr)};
  return type;
}

std::vector<Param> SequencePreprocessing(std::string tokenizer, bool lowercase) {
  return {Tokenizer(std::move(tokenizer)),
          Int("max_sequence_length", 256).AtLeast(1),
          Int("most_common", 20000).AtLeast(1),
          String("padding_symbol", "<PAD>"),
          String("unknown_symbol", "<UNK>"),
          Choice("padding", "right", {"left", "right"}),
          Bool("lowercase", lowercase),
          MissingValueStrategy("fill_with_const", BaseStrategies()),
          String("fill_value", "<UNK>")};
}

FeatureTypeSchema Text() {
  FeatureTypeSchema type;
  type.name = "text";
  type.preprocessing = SequencePreprocessing("space_punct", /*lowercase=*/true);
  return type;
}

FeatureTypeSchema Sequence() {
  FeatureTypeSchema type;
  type.name = "sequence";
  type.preprocessing = SequencePreprocessing("space", /*lowercase=*/false);
  return type;
}

}  // namespace

const std::vector<FeatureTypeSchema>& FeatureTypeSchemas() {
  static const auto* const kTypes = new std::vector<FeatureTypeSchema>{
      Binary(), NumberType(), Category(), Set(), Bag(), Vector(), Date(), Text(), Sequence()};
  return *kTypes;
}

const FeatureTypeSchema* FindFeatureType(absl::string_view name) {
  for (const FeatureTypeSchema& type : FeatureTypeSchemas()) {
    if (type.name == name) return &type;
  }
  return nullptr;
}

const std::vector<Param>& CommonOutputParams() {
  static const auto* const kParams =
      new std::vector<Param>{Reduction("reduce_input", "sum"), NameList("dependencies"),
                             Reduction("reduce_dependencies", "sum")};
  return *kParams;
}

}  // namespace tristage::config
