// Decoders and losses per output feature type, after Ludwig 0.8's ludwig/schema/decoders/base.py
// and ludwig/schema/features/loss/loss.py.
//
// Differences from Ludwig: robust_lambda and class_similarities_temperature are numbers (Ludwig
// declares them integers although robust_lambda is a mixing weight in [0, 1]); internal keys
// (input_size, num_classes) are not accepted.
#include <map>
#include <utility>

#include "core/config/schema.h"

namespace tristage::config {
namespace {

using FamilyTable = std::map<std::string, ComponentFamily, std::less<>>;

// The optional fully connected stack every decoder starts with, then its own projection.
std::vector<Param> DecoderParams() {
  return {FcLayers(),
          Int("num_fc_layers", 0).AtLeast(0),
          Int("fc_output_size", 256).AtLeast(1),
          UseBias("fc_use_bias"),
          Initializer("fc_weights_initializer", "xavier_uniform"),
          Initializer("fc_bias_initializer", "zeros"),
          Norm("fc_norm"),
          NormParams("fc_norm_params"),
          Activation("fc_activation", "relu"),
          Dropout("fc_dropout"),
          UseBias(),
          Initializer("weights_initializer", "xavier_uniform"),
          Initializer("bias_initializer", "zeros")};
}

Component Regressor() {
  return {"regressor", DecoderParams()};
}
Component Classifier() {
  return {"classifier", DecoderParams()};
}

Component Projector() {
  std::vector<Param> params = DecoderParams();
  params.push_back(Int("output_size", nullptr).AtLeast(1));
  params.push_back(Activation("activation", nullptr));
  params.push_back(Clip());
  return {"projector", std::move(params)};
}

Param Weight() {
  return Number("weight", 1.0).AtLeast(0);
}
Param RobustLambda() {
  return Number("robust_lambda", 0.0).InRange(0, 1);
}
Param ConfidencePenalty() {
  return Number("confidence_penalty", 0.0).AtLeast(0);
}

Component WeightOnly(std::string type) {
  return {std::move(type), {Weight()}};
}

Component BinaryWeightedCrossEntropy() {
  return {"binary_weighted_cross_entropy",
          {Number("positive_class_weight", nullptr).AtLeast(0), RobustLambda(), ConfidencePenalty(),
           Weight()}};
}

Component SoftmaxCrossEntropy() {
  return {"softmax_cross_entropy",
          {ClassWeights(), RobustLambda(), ConfidencePenalty(), ClassSimilarities(),
           Number("class_similarities_temperature", 0.0).AtLeast(0), Weight()}};
}

Component SigmoidCrossEntropy() {
  return {"sigmoid_cross_entropy", {ClassWeights(), Weight()}};
}

Component Huber() {
  return {"huber", {Number("delta", 1.0).Above(0), Weight()}};
}

ComponentFamily Family(std::string noun, std::vector<Component> members) {
  std::string default_type = members.front().type;
  return ComponentFamily{std::move(noun), std::move(default_type), std::move(members)};
}

// One entry per output feature type: its default first.
FamilyTable BuildDecoderTable() {
  return {{"binary", Family("decoder", {Regressor()})},
          {"number", Family("decoder", {Regressor()})},
          {"category", Family("decoder", {Classifier()})},
          {"set", Family("decoder", {Classifier()})},
          {"vector", Family("decoder", {Projector()})}};
}

FamilyTable BuildLossTable() {
  return {{"binary", Family("loss", {BinaryWeightedCrossEntropy()})},
          {"number",
           Family("loss", {WeightOnly("mean_squared_error"), WeightOnly("mean_absolute_error"),
                           WeightOnly("root_mean_squared_error"),
                           WeightOnly("mean_absolute_percentage_error"),
                           WeightOnly("root_mean_squared_percentage_error"), Huber()})},
          // corn: ordinal, on classes - 1 logits (core/features/category.cc)
          {"category", Family("loss", {SoftmaxCrossEntropy(), WeightOnly("corn")})},
          {"set", Family("loss", {SigmoidCrossEntropy()})},
          {"vector",
           Family("loss", {WeightOnly("mean_squared_error"), WeightOnly("mean_absolute_error")})}};
}

const ComponentFamily* Lookup(const FamilyTable& table, absl::string_view feature_type) {
  const auto it = table.find(feature_type);
  return it == table.end() ? nullptr : &it->second;
}

}  // namespace

const ComponentFamily* DecoderFamily(absl::string_view feature_type) {
  static const auto* const kTable = new FamilyTable(BuildDecoderTable());
  return Lookup(*kTable, feature_type);
}

const ComponentFamily* LossFamily(absl::string_view feature_type) {
  static const auto* const kTable = new FamilyTable(BuildLossTable());
  return Lookup(*kTable, feature_type);
}

}  // namespace tristage::config
