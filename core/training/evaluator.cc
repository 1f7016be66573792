#include "core/training/evaluator.h"

#include "absl/strings/str_cat.h"
#include "core/distributed/process_group.h"
#include "core/model/ecd.h"
#include "core/util/status_macros.h"

namespace tristage::training {
namespace {

using nlohmann::json;

c10::Dict<std::string, torch::Tensor> ToDict(const preprocessing::TensorMap& tensors, int64_t begin,
                                             int64_t end) {
  c10::Dict<std::string, torch::Tensor> dict;
  for (const auto& [name, tensor] : tensors) dict.insert(name, tensor.slice(0, begin, end));
  return dict;
}

// Restores a module's training flag when it goes out of scope.
class EvalModeScope {
 public:
  explicit EvalModeScope(torch::jit::Module& module)
      : module_(module), was_training_(module.is_training()) {
    module_.eval();
  }
  ~EvalModeScope() { module_.train(was_training_); }

 private:
  torch::jit::Module& module_;
  bool was_training_;
};

}  // namespace

absl::StatusOr<Outputs> RunModel(torch::jit::Module& model, const json& config,
                                 const preprocessing::ProcessedSplit& split, int64_t batch_size,
                                 distributed::ProcessGroup* group) {
  EvalModeScope eval_mode(model);
  torch::NoGradGuard no_grad;
  std::map<std::string, std::vector<torch::Tensor>> pieces;
  const int64_t step = std::max<int64_t>(1, batch_size);
  // This rank's rows: all of them alone, or a contiguous share when every rank gets at least one.
  int64_t first = 0;
  int64_t last = split.num_rows;
  if (group != nullptr && split.num_rows < group->size()) group = nullptr;
  if (group != nullptr) {
    first = split.num_rows * group->rank() / group->size();
    last = split.num_rows * (group->rank() + 1) / group->size();
  }
  try {
    for (int64_t begin = first; begin < last; begin += step) {
      const int64_t end = std::min(last, begin + step);
      c10::impl::GenericDict result =
          model.forward({ToDict(split.inputs, begin, end)}).toGenericDict();
      for (const auto& entry : result) {
        pieces[entry.key().toStringRef()].push_back(entry.value().toTensor());
      }
    }
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("running the model: ", e.what()));
  }
  Outputs outputs;
  for (const json& feature : config.at("output_features")) {
    const std::string name = feature.at("name");
    for (const char* what : {"logits", "probabilities", "predictions"}) {
      auto it = pieces.find(model::OutputKey(name, what));
      if (it == pieces.end()) continue;
      outputs[name][what] = torch::cat(it->second, 0);
      if (group != nullptr) {
        TRISTAGE_ASSIGN_OR_RETURN(
            outputs[name][what],
            group->GatherRows(outputs[name][what], absl::StrCat("gathering the ", name, " ", what,
                                                                " of an evaluation")));
      }
    }
  }
  return outputs;
}

absl::StatusOr<torch::Tensor> FeatureLoss(const json& feature, const json& metadata,
                                          const torch::Tensor& logits,
                                          const torch::Tensor& targets) {
  const features::FeatureType* type = features::FindFeatureType(feature.at("type"));
  if (type == nullptr) return absl::InvalidArgumentError("unknown output feature type");
  return type->Loss(feature, metadata, logits, targets);
}

absl::StatusOr<Evaluation> Evaluate(torch::jit::Module& model, const json& config,
                                    const json& metadata,
                                    const preprocessing::ProcessedSplit& split, int64_t batch_size,
                                    bool full_statistics, distributed::ProcessGroup* group) {
  Evaluation evaluation;
  TRISTAGE_ASSIGN_OR_RETURN(evaluation.outputs, RunModel(model, config, split, batch_size, group));
  evaluation.metrics = json::object();
  double combined = 0;
  torch::NoGradGuard no_grad;
  for (const json& feature : config.at("output_features")) {
    const std::string name = feature.at("name");
    const json& meta = metadata.value(name, json::object());
    const features::FeatureType* type = features::FindFeatureType(feature.at("type"));
    const features::OutputTensors& outputs = evaluation.outputs[name];
    const torch::Tensor& targets = split.targets.at(name);
    json scores = json::object();
    if (split.num_rows > 0) {
      TRISTAGE_ASSIGN_OR_RETURN(torch::Tensor loss,
                                FeatureLoss(feature, meta, outputs.at("logits"), targets));
      scores["loss"] = loss.item<double>();
      combined += feature.value("loss", json::object()).value("weight", 1.0) * loss.item<double>();
      TRISTAGE_ASSIGN_OR_RETURN(evaluation::EvalData data,
                                type->ToEvalData(feature, meta, outputs, targets));
      TRISTAGE_ASSIGN_OR_RETURN(json metrics, evaluation::ComputeMetrics(data));
      scores.update(metrics);
      evaluation.statistics[name] = scores;
      if (full_statistics && !type->ClassNames(meta).empty()) {
        TRISTAGE_ASSIGN_OR_RETURN(json stats,
                                  evaluation::ComputeStatistics(data, type->ClassNames(meta)));
        evaluation.statistics[name].update(stats);
      }
    }
    evaluation.metrics[name] = scores;
  }
  evaluation.metrics["combined"] = {{"loss", combined}};
  evaluation.statistics["combined"] = {{"loss", combined}};
  return evaluation;
}

}  // namespace tristage::training
