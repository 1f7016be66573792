// Resolution of `trainer` and of the top-level `preprocessing` section.
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/config/resolve.h"
#include "core/util/status_macros.h"

namespace tristage::config {
namespace {

constexpr char kCombined[] = "combined";  // the validation field of the summed loss

// An object section that may be absent or null; `null_means` is what null stands for.
absl::StatusOr<Json> ResolveParamSection(const std::vector<Param>& params, const Json* user,
                                         const std::string& path, const Json& null_means) {
  if (user != nullptr && user->is_null()) return null_means;
  Json resolved = DefaultsOf(params);
  if (user != nullptr) TRISTAGE_RETURN_IF_ERROR(OverlayParams(params, *user, path, &resolved));
  return resolved;
}

absl::StatusOr<std::string> OptionalString(const Json& trainer, absl::string_view key) {
  const Json* value = Find(trainer, key);
  if (value == nullptr || value->is_null()) return std::string();
  if (!value->is_string()) return TypeError(Child("trainer", key), "a string or null", *value);
  return value->get<std::string>();
}

bool HasMetric(const Json& output, absl::string_view metric) {
  const FeatureTypeSchema* type = FindFeatureType(output["type"].get<std::string>());
  for (const std::string& name : type->metrics) {
    if (name == metric) return true;
  }
  return false;
}

// Ludwig: without a validation_field, a metric other than loss picks the one output that has it.
absl::StatusOr<std::string> FieldForMetric(const std::string& metric, const Json& outputs) {
  std::vector<std::string> candidates;
  for (const Json& output : outputs) {
    if (HasMetric(output, metric)) candidates.push_back(output["name"].get<std::string>());
  }
  const std::string path = "trainer.validation_metric";
  if (candidates.empty()) {
    return ConfigError(path, absl::StrCat("'", metric, "' is not a metric of any output feature"));
  }
  if (candidates.size() > 1) {
    return ConfigError(
        path, absl::StrCat("'", metric, "' is a metric of several output features (",
                           JoinNames(candidates), "); set trainer.validation_field to choose one"));
  }
  return candidates.front();
}

const Json* FindOutput(const Json& outputs, const std::string& name) {
  for (const Json& output : outputs) {
    if (output["name"] == name) return &output;
  }
  return nullptr;
}

absl::Status ResolveValidation(const Json& trainer, const Json& outputs, Json* resolved) {
  TRISTAGE_ASSIGN_OR_RETURN(std::string field, OptionalString(trainer, "validation_field"));
  TRISTAGE_ASSIGN_OR_RETURN(std::string metric, OptionalString(trainer, "validation_metric"));
  if (field.empty()) {
    if (metric.empty() || metric == "loss") {
      field = outputs.front()["name"].get<std::string>();
    } else {
      TRISTAGE_ASSIGN_OR_RETURN(field, FieldForMetric(metric, outputs));
    }
  }
  if (field == kCombined) {
    if (metric.empty()) metric = "loss";
    if (metric != "loss") {
      return ConfigError(
          "trainer.validation_metric",
          absl::StrCat("must be 'loss' when validation_field is 'combined', got '", metric, "'"));
    }
  } else {
    const Json* output = FindOutput(outputs, field);
    if (output == nullptr) {
      std::vector<std::string> known;
      for (const Json& each : outputs) known.push_back(each["name"].get<std::string>());
      known.push_back(kCombined);
      return ConfigError(
          "trainer.validation_field",
          absl::StrCat("unknown output feature '", field, "' (known: ", JoinNames(known), ")"));
    }
    const FeatureTypeSchema* type = FindFeatureType((*output)["type"].get<std::string>());
    if (metric.empty()) metric = type->default_metric;
    if (!HasMetric(*output, metric)) {
      return ConfigError(
          "trainer.validation_metric",
          absl::StrCat("'", metric, "' is not a metric of ", type->name, " output feature '", field,
                       "' (known: ", JoinNames(type->metrics), ")"));
    }
  }
  (*resolved)["validation_field"] = field;
  (*resolved)["validation_metric"] = metric;
  return absl::OkStatus();
}

// Ludwig rejects both ways of scheduling checkpoints at once.
absl::Status CheckCheckpointing(const Json& resolved) {
  if (resolved["steps_per_checkpoint"].get<int64_t>() != 0 &&
      resolved["checkpoints_per_epoch"].get<int64_t>() != 0) {
    return ConfigError("trainer.checkpoints_per_epoch",
                       "cannot be non-zero when steps_per_checkpoint is non-zero");
  }
  return absl::OkStatus();
}

// lamb runs torch_optimizer's Lamb (schema_trainer.cc); bitsandbytes' 8-bit and CUDA knobs are
// refused away from their defaults rather than ignored.
absl::Status CheckLamb(const Json& optimizer) {
  if (optimizer["type"] != "lamb") return absl::OkStatus();
  const struct {
    const char* key;
    Json default_value;
  } knobs[] = {{"amsgrad", false},
               {"adam_w_mode", true},
               {"percentile_clipping", 100},
               {"block_wise", false},
               {"max_unorm", 1.0}};
  for (const auto& knob : knobs) {
    if (optimizer[knob.key] != knob.default_value) {
      return ConfigError(
          absl::StrCat("trainer.optimizer.", knob.key),
          absl::StrCat("only ", knob.default_value.dump(),
                       " is supported for lamb (tristage runs torch_optimizer's Lamb on CPU, "
                       "not bitsandbytes' CUDA kernel)"));
    }
  }
  return absl::OkStatus();
}

// reduce_on_plateau watches reduce_eval_metric of the validation field (Ludwig's eval_step).
absl::Status CheckPlateauMetric(const Json& resolved, const Json& outputs) {
  const Json& scheduler = resolved["learning_rate_scheduler"];
  if (scheduler["reduce_on_plateau"].get<int64_t>() == 0) return absl::OkStatus();
  const std::string metric = scheduler["reduce_eval_metric"].get<std::string>();
  const std::string field = resolved["validation_field"].get<std::string>();
  if (field == kCombined) {
    if (metric == "loss") return absl::OkStatus();
    return ConfigError("trainer.learning_rate_scheduler.reduce_eval_metric",
                       absl::StrCat("must be 'loss' when validation_field is 'combined', got '",
                                    metric, "'"));
  }
  const Json* output = FindOutput(outputs, field);
  if (output != nullptr && !HasMetric(*output, metric)) {
    const FeatureTypeSchema* type = FindFeatureType((*output)["type"].get<std::string>());
    return ConfigError("trainer.learning_rate_scheduler.reduce_eval_metric",
                       absl::StrCat("'", metric, "' is not a metric of the validation field '",
                                    field, "' (known: ", JoinNames(type->metrics), ")"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<Json> ResolveTrainer(const Json* trainer, const Json& outputs) {
  const Json empty = Json::object();
  const Json& user = (trainer == nullptr || trainer->is_null()) ? empty : *trainer;
  TRISTAGE_RETURN_IF_ERROR(ExpectObject(user, "trainer"));
  const std::vector<std::string> sections = {"optimizer", "gradient_clipping",
                                             "learning_rate_scheduler", "validation_field",
                                             "validation_metric"};
  Json resolved = DefaultsOf(TrainerParams());
  TRISTAGE_RETURN_IF_ERROR(OverlayParams(TrainerParams(), user, "trainer", &resolved, sections));
  TRISTAGE_RETURN_IF_ERROR(CheckCheckpointing(resolved));
  TRISTAGE_ASSIGN_OR_RETURN(
      resolved["optimizer"],
      ResolveComponent(OptimizerFamily(), "", ComponentSource{},
                       ComponentSource{Find(user, "optimizer"), "trainer.optimizer"},
                       /*allow_shorthand=*/false));
  // gradient_clipping: null turns clipping off; learning_rate_scheduler: null is no scheduling,
  // which the defaults already are.
  Json no_clipping = Json::object();
  for (const Param& param : GradientClippingParams()) no_clipping[param.name] = nullptr;
  TRISTAGE_ASSIGN_OR_RETURN(
      resolved["gradient_clipping"],
      ResolveParamSection(GradientClippingParams(), Find(user, "gradient_clipping"),
                          "trainer.gradient_clipping", no_clipping));
  TRISTAGE_ASSIGN_OR_RETURN(
      resolved["learning_rate_scheduler"],
      ResolveParamSection(LearningRateSchedulerParams(), Find(user, "learning_rate_scheduler"),
                          "trainer.learning_rate_scheduler",
                          DefaultsOf(LearningRateSchedulerParams())));
  TRISTAGE_RETURN_IF_ERROR(CheckLamb(resolved["optimizer"]));
  TRISTAGE_RETURN_IF_ERROR(ResolveValidation(user, outputs, &resolved));
  TRISTAGE_RETURN_IF_ERROR(CheckPlateauMetric(resolved, outputs));
  return resolved;
}

absl::StatusOr<Json> ResolveGlobalPreprocessing(const Json* preprocessing) {
  const Json empty = Json::object();
  const Json& user =
      (preprocessing == nullptr || preprocessing->is_null()) ? empty : *preprocessing;
  TRISTAGE_RETURN_IF_ERROR(ExpectObject(user, "preprocessing"));
  Json resolved = DefaultsOf(GlobalPreprocessingParams());
  TRISTAGE_RETURN_IF_ERROR(
      OverlayParams(GlobalPreprocessingParams(), user, "preprocessing", &resolved, {"split"}));
  TRISTAGE_ASSIGN_OR_RETURN(
      resolved["split"],
      ResolveComponent(SplitFamily(), "", ComponentSource{},
                       ComponentSource{Find(user, "split"), "preprocessing.split"},
                       /*allow_shorthand=*/false));
  return resolved;
}

}  // namespace tristage::config
