#include "core/hyperopt/hyperopt_config.h"

#include <algorithm>
#include <random>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "core/config/config.h"
#include "core/config/params.h"
#include "core/evaluation/metrics.h"
#include "core/util/status_macros.h"

namespace tristage::hyperopt {
namespace {

using config::Json;

constexpr char kCombined[] = "combined";

const std::vector<std::string>& TopLevelSections() {
  static const auto* sections = new std::vector<std::string>{
      "combiner",        "defaults",      "input_features", "model_type",
      "output_features", "preprocessing", "trainer"};
  return *sections;
}

// The feature object named `name` in input_features or output_features, or nullptr.
Json* FindFeature(Json& user_config, const std::string& name) {
  for (const char* list : {"input_features", "output_features"}) {
    if (!user_config.contains(list) || !user_config[list].is_array()) continue;
    for (Json& feature : user_config[list]) {
      if (feature.is_object() && feature.value("name", Json()) == name) return &feature;
    }
  }
  return nullptr;
}

// Writes `value` at the dotted `path`: into the feature named by the first segment, else into the
// top-level section. Missing objects on the way are created; a component shorthand on the way
// (`encoder: rnn`) becomes {type: rnn}.
absl::Status WriteAt(Json& user_config, const std::string& path, const Json& value) {
  const std::string where = config::Child("hyperopt.parameters", path);
  std::vector<std::string> segments = absl::StrSplit(path, '.');
  Json* target = nullptr;
  size_t first = 1;
  if (Json* feature = FindFeature(user_config, segments[0]); feature != nullptr) {
    target = feature;
  } else if (std::find(TopLevelSections().begin(), TopLevelSections().end(), segments[0]) !=
             TopLevelSections().end()) {
    target = &user_config;
    first = 0;
  } else {
    std::vector<std::string> known;
    for (const char* list : {"input_features", "output_features"}) {
      if (!user_config.contains(list) || !user_config[list].is_array()) continue;
      for (const Json& entry : user_config[list]) {
        if (entry.is_object() && entry.contains("name") && entry["name"].is_string()) {
          known.push_back(entry["name"].get<std::string>());
        }
      }
    }
    const std::string features = config::JoinNames(known);
    return config::ConfigError(
        where, absl::StrCat("'", segments[0],
                            "' is neither a feature nor a config section (features: ", features,
                            "; sections: ", config::JoinNames(TopLevelSections()), ")"));
  }
  if (first == segments.size()) {
    // A whole feature: only an object of its keys can be merged into it.
    if (!value.is_object()) {
      return config::ConfigError(where, "a whole feature can only take an object of its keys");
    }
  }
  for (size_t i = first; i + 1 < segments.size(); ++i) {
    Json& next = (*target)[segments[i]];
    if (next.is_null()) next = Json::object();
    if (next.is_string()) next = Json{{"type", next}};
    if (!next.is_object()) {
      return config::ConfigError(where, absl::StrCat("cannot write into '", segments[i],
                                                     "', which holds ", config::Describe(next)));
    }
    target = &next;
  }
  Json& slot = first == segments.size() ? *target : (*target)[segments.back()];
  if (value.is_object() && slot.is_object()) {
    slot.merge_patch(value);
  } else if (value.is_object() && slot.is_string()) {
    Json merged = Json{{"type", slot}};
    merged.merge_patch(value);
    slot = std::move(merged);
  } else {
    slot = value;
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> StringKey(const Json& section, const std::string& key,
                                      const std::string& default_value,
                                      const std::vector<std::string>& choices = {}) {
  const std::string path = config::Child("hyperopt", key);
  if (!section.contains(key) || section[key].is_null()) return default_value;
  if (!section[key].is_string()) return config::TypeError(path, "a string", section[key]);
  std::string value = section[key].get<std::string>();
  if (!choices.empty() && std::find(choices.begin(), choices.end(), value) == choices.end()) {
    return config::ConfigError(path, absl::StrCat("unknown value '", value,
                                                  "' (known: ", config::JoinNames(choices), ")"));
  }
  return value;
}

// The output feature's type, or "" when `name` is combined. InvalidArgument naming
// hyperopt.output_feature when it is not an output feature.
absl::StatusOr<std::string> OutputType(const Json& resolved_model, const std::string& name) {
  if (name == kCombined) return std::string();
  std::vector<std::string> names = {kCombined};
  for (const Json& feature : resolved_model["output_features"]) {
    if (feature["name"] == name) return feature["type"].get<std::string>();
    names.push_back(feature["name"].get<std::string>());
  }
  return config::ConfigError("hyperopt.output_feature",
                             absl::StrCat("'", name, "' is not an output feature (known: ",
                                          config::JoinNames(names), ")"));
}

bool HasGridSearch(const std::vector<ParameterSpace>& parameters) {
  return std::any_of(parameters.begin(), parameters.end(), [](const ParameterSpace& space) {
    return space.kind == SpaceKind::kGridSearch;
  });
}

absl::Status ResolveExecutor(const Json& section, int64_t cores, HyperoptSettings& settings) {
  const std::vector<config::Param> params = {
      config::Choice("type", "ray", {"ray"}),
      config::Int("num_samples", HasGridSearch(settings.parameters) ? 1 : 10).AtLeast(1),
      config::Custom("max_concurrent_trials", "auto",
                     [](const Json& value, const std::string& path) -> absl::StatusOr<Json> {
                       if (value == "auto") return value;
                       if (value.is_number_integer() && value.get<int64_t>() >= 1) return value;
                       return config::ConfigError(
                           path, absl::StrCat("expected 'auto' or an integer >= 1, got ",
                                              config::Describe(value)));
                     }),
      config::Number("time_budget_s", 3600).Above(0),
      config::Int("cpu_resources_per_trial", 1).AtLeast(1),
      config::Custom("gpu_resources_per_trial", 0,
                     [](const Json& value, const std::string& path) -> absl::StatusOr<Json> {
                       if (value.is_number() && value.get<double>() == 0) return Json(0);
                       return config::ConfigError(
                           path, absl::StrCat("tristage trains on the CPU, so it must be 0, got ",
                                              config::Describe(value)));
                     }),
  };
  Json resolved = config::DefaultsOf(params);
  const Json given = section.value("executor", Json());
  if (!given.is_null()) {
    TRISTAGE_RETURN_IF_ERROR(config::ExpectObject(given, "hyperopt.executor"));
    TRISTAGE_RETURN_IF_ERROR(config::OverlayParams(params, given, "hyperopt.executor", &resolved));
  }
  settings.num_samples = resolved["num_samples"].get<int64_t>();
  settings.time_budget_s = resolved["time_budget_s"].get<double>();
  settings.cpu_resources_per_trial = resolved["cpu_resources_per_trial"].get<int64_t>();
  settings.gpu_resources_per_trial = resolved["gpu_resources_per_trial"].get<int64_t>();
  settings.max_concurrent_trials =
      resolved["max_concurrent_trials"] == "auto"
          ? std::max<int64_t>(1, cores / settings.cpu_resources_per_trial)
          : resolved["max_concurrent_trials"].get<int64_t>();
  settings.resolved["executor"] = std::move(resolved);
  return absl::OkStatus();
}

// A parameter whose path names no config key makes the resolver report an unknown key for that
// path whatever the value: caught here, before any trial runs.
absl::Status CheckPathsExist(const Json& user_config, const HyperoptSettings& settings) {
  std::mt19937_64 rng(0);
  for (const ParameterSpace& space : settings.parameters) {
    Json trial = Json::object();
    trial[space.path] = Sample(space, rng);
    TRISTAGE_ASSIGN_OR_RETURN(Json candidate, TrialConfig(user_config, settings, trial));
    absl::StatusOr<Json> resolved = config::ResolveConfig(candidate);
    if (!resolved.ok() && absl::StrContains(resolved.status().message(), "unknown key")) {
      return config::ConfigError(config::Child("hyperopt.parameters", space.path),
                                 absl::StrCat("not a config key: ", resolved.status().message()));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<HyperoptSettings> ResolveHyperopt(const Json& user_config, int64_t cores) {
  if (!user_config.is_object() || !user_config.contains("hyperopt") ||
      user_config["hyperopt"].is_null()) {
    return config::ConfigError("hyperopt", "the config has no hyperopt section to run");
  }
  TRISTAGE_ASSIGN_OR_RETURN(Json model, config::ResolveConfig(user_config));
  const Json& section = user_config["hyperopt"];
  TRISTAGE_RETURN_IF_ERROR(config::ExpectObject(section, "hyperopt"));
  static const auto* kKeys =
      new std::vector<std::string>{"executor",   "goal",      "metric",     "output_feature",
                                   "parameters", "scheduler", "search_alg", "split"};
  for (const auto& [key, value] : section.items()) {
    if (std::find(kKeys->begin(), kKeys->end(), key) == kKeys->end()) {
      return config::UnknownKeyError("hyperopt", key, *kKeys);
    }
  }
  HyperoptSettings settings;
  TRISTAGE_ASSIGN_OR_RETURN(std::string goal,
                            StringKey(section, "goal", "minimize", {"minimize", "maximize"}));
  settings.maximize = goal == "maximize";
  TRISTAGE_ASSIGN_OR_RETURN(settings.output_feature,
                            StringKey(section, "output_feature", kCombined));
  TRISTAGE_ASSIGN_OR_RETURN(settings.metric, StringKey(section, "metric", "loss"));
  TRISTAGE_ASSIGN_OR_RETURN(settings.split, StringKey(section, "split", "validation",
                                                      {"training", "validation", "test"}));
  TRISTAGE_ASSIGN_OR_RETURN(std::string type, OutputType(model, settings.output_feature));
  std::vector<std::string> metrics = {"loss"};
  if (!type.empty()) {
    for (std::string& name : evaluation::MetricNamesFor(type)) metrics.push_back(std::move(name));
  }
  if (std::find(metrics.begin(), metrics.end(), settings.metric) == metrics.end()) {
    return config::ConfigError(
        "hyperopt.metric",
        absl::StrCat("unknown metric '", settings.metric, "' for ",
                     type.empty() ? std::string("the combined output")
                                  : absl::StrCat(type, " output '", settings.output_feature, "'"),
                     " (known: ", config::JoinNames(metrics), ")"));
  }
  if (!section.contains("parameters") || section["parameters"].is_null()) {
    return config::ConfigError("hyperopt.parameters", "missing: nothing to search");
  }
  TRISTAGE_ASSIGN_OR_RETURN(settings.parameters, ParseParameters(section["parameters"]));
  settings.resolved = {{"goal", goal},
                       {"metric", settings.metric},
                       {"split", settings.split},
                       {"output_feature", settings.output_feature},
                       {"parameters", section["parameters"]}};
  TRISTAGE_RETURN_IF_ERROR(ResolveExecutor(section, cores, settings));
  for (const char* key : {"search_alg", "scheduler"}) {
    const Json given = section.value(key, Json());
    if (!given.is_null())
      TRISTAGE_RETURN_IF_ERROR(config::ExpectObject(given, config::Child("hyperopt", key)));
  }
  const Json search_alg = section.value("search_alg", Json());
  settings.resolved["search_alg"] =
      search_alg.is_null() ? Json{{"type", "variant_generator"}} : search_alg;
  const Json scheduler = section.value("scheduler", Json());
  settings.resolved["scheduler"] = scheduler.is_null() ? Json{{"type", "fifo"}} : scheduler;
  TRISTAGE_RETURN_IF_ERROR(CheckPathsExist(user_config, settings));
  return settings;
}

absl::StatusOr<Json> TrialConfig(const Json& user_config, const HyperoptSettings& settings,
                                 const Json& parameters) {
  Json trial = user_config;
  trial.erase("hyperopt");
  for (const auto& [path, value] : parameters.items()) {
    TRISTAGE_RETURN_IF_ERROR(WriteAt(trial, path, value));
  }
  Json& trainer = trial["trainer"];
  if (trainer.is_null()) trainer = Json::object();
  if (!trainer.is_object()) return config::TypeError("trainer", "an object", trainer);
  trainer["validation_field"] = settings.output_feature;
  trainer["validation_metric"] = settings.metric;
  return trial;
}

}  // namespace tristage::hyperopt
