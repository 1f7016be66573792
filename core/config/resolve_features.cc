// Resolution of input_features and output_features.
#include <algorithm>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/config/resolve.h"
#include "core/util/status_macros.h"

namespace tristage::config {
namespace {

std::vector<std::string> TypeNames(bool outputs_only) {
  std::vector<std::string> names;
  for (const FeatureTypeSchema& type : FeatureTypeSchemas()) {
    if (!outputs_only || type.can_be_output()) names.push_back(type.name);
  }
  return names;
}

absl::StatusOr<std::string> RequiredString(const Json& feature, absl::string_view key,
                                           const std::string& path) {
  const Json* value = Find(feature, key);
  if (value == nullptr) {
    return ConfigError(path, absl::StrCat("missing required key '", key, "'"));
  }
  if (!value->is_string() || value->get_ref<const std::string&>().empty()) {
    return TypeError(Child(path, key), "a non-empty string", *value);
  }
  return value->get<std::string>();
}

// Checks the feature is an object with a name, and returns its type's schema.
absl::StatusOr<const FeatureTypeSchema*> FeatureTypeOf(const Json& feature, const std::string& path,
                                                       bool output) {
  TRISTAGE_RETURN_IF_ERROR(ExpectObject(feature, path));
  TRISTAGE_RETURN_IF_ERROR(RequiredString(feature, "name", path).status());
  TRISTAGE_ASSIGN_OR_RETURN(const std::string name, RequiredString(feature, "type", path));
  const FeatureTypeSchema* type = FindFeatureType(name);
  const std::string type_path = Child(path, "type");
  if (type == nullptr) {
    return ConfigError(type_path, absl::StrCat("unknown feature type '", name,
                                               "' (known: ", JoinNames(TypeNames(output)), ")"));
  }
  if (output && !type->can_be_output()) {
    return ConfigError(type_path,
                       absl::StrCat("'", name, "' is not supported as an output (supported: ",
                                    JoinNames(TypeNames(true)), ")"));
  }
  return type;
}

bool FamilyHasParam(const ComponentFamily* family, absl::string_view key) {
  if (family == nullptr) return false;
  for (const Component& member : family->members) {
    if (FindParam(member.params, key) != nullptr) return true;
  }
  return false;
}

// Ludwig's layout before 0.5 put encoder and decoder parameters directly on the feature (Titanic's
// example still does: `fc_layers` on an output). Ludwig 0.8 upgrades such configs, and so does
// this: a key that is no feature-level key and is a parameter of the family moves into the
// section (a string section, the shorthand `encoder: rnn`, becomes {type: rnn}). The same key in
// both places is an error naming it.
absl::StatusOr<Json> UpgradeOldLayout(const Json& feature, const std::string& path,
                                      const std::vector<std::string>& allowed,
                                      const std::string& section, const ComponentFamily* family) {
  if (!feature.is_object()) return feature;
  Json upgraded = feature;
  for (const auto& [key, value] : feature.items()) {
    if (std::find(allowed.begin(), allowed.end(), key) != allowed.end()) continue;
    if (!FamilyHasParam(family, key)) continue;
    Json& target = upgraded[section];
    if (target.is_null()) target = Json::object();
    if (target.is_string()) target = Json{{"type", target}};
    if (!target.is_object()) continue;  // the section's own check reports it
    if (target.contains(key)) {
      return ConfigError(Child(path, key),
                         absl::StrCat("given twice: here (Ludwig's old layout) and as ", section,
                                      ".", key));
    }
    target[key] = value;
    upgraded.erase(key);
  }
  return upgraded;
}

// Old Ludwig configs put encoder and preprocessing parameters directly on the feature; point at
// where they belong before falling back to a spelling suggestion.
absl::Status CheckFeatureKeys(
    const Json& feature, const std::string& path, const std::vector<std::string>& allowed,
    const std::vector<std::pair<std::string, const ComponentFamily*>>& components,
    const std::vector<Param>& preprocessing) {
  for (const auto& [key, unused] : feature.items()) {
    if (std::find(allowed.begin(), allowed.end(), key) != allowed.end()) continue;
    for (const auto& [section, family] : components) {
      if (FamilyHasParam(family, key)) {
        return ConfigError(Child(path, key),
                           absl::StrCat("unknown key (did you mean '", section, ".", key, "'?)"));
      }
    }
    if (FindParam(preprocessing, key) != nullptr) {
      return ConfigError(Child(path, key),
                         absl::StrCat("unknown key (did you mean 'preprocessing.", key, "'?)"));
    }
    return UnknownKeyError(path, key, allowed);
  }
  return absl::OkStatus();
}

absl::StatusOr<Json> ResolveColumn(const Json& feature, const std::string& path,
                                   const std::string& name) {
  const Json* column = Find(feature, "column");
  if (column == nullptr || column->is_null()) return Json(name);
  if (!column->is_string() || column->get_ref<const std::string&>().empty()) {
    return TypeError(Child(path, "column"), "a non-empty string", *column);
  }
  return *column;
}

// Built-in defaults, then the defaults section (when given), then the feature's own values.
absl::StatusOr<Json> ResolvePreprocessing(const std::vector<Param>& params,
                                          const ComponentSource& defaults, const Json& feature,
                                          const std::string& path) {
  Json resolved = DefaultsOf(params);
  if (defaults.value != nullptr) {
    TRISTAGE_RETURN_IF_ERROR(OverlayParams(params, *defaults.value, defaults.path, &resolved));
  }
  const Json* own = Find(feature, "preprocessing");
  if (own != nullptr && !own->is_null()) {
    TRISTAGE_RETURN_IF_ERROR(OverlayParams(params, *own, Child(path, "preprocessing"), &resolved));
  }
  return resolved;
}

// The defaults-section value for `section` of `type`, as a source for ResolveComponent.
ComponentSource DefaultsFor(const Json& user_defaults, absl::string_view type,
                            absl::string_view section) {
  ComponentSource source;
  const Json* entry = Find(user_defaults, type);
  if (entry != nullptr) source.value = Find(*entry, section);
  source.path = absl::StrCat("defaults.", type, ".", section);
  return source;
}

ComponentSource OwnValue(const Json& feature, const std::string& path, absl::string_view key) {
  return ComponentSource{Find(feature, key), Child(path, key)};
}

// name, type, column: the part every feature shares.
absl::StatusOr<Json> ResolveIdentity(const Json& feature, const std::string& path,
                                     const FeatureTypeSchema& type) {
  TRISTAGE_ASSIGN_OR_RETURN(const std::string name, RequiredString(feature, "name", path));
  Json resolved = Json::object();
  resolved["name"] = name;
  resolved["type"] = type.name;
  TRISTAGE_ASSIGN_OR_RETURN(resolved["column"], ResolveColumn(feature, path, name));
  return resolved;
}

absl::StatusOr<Json> ResolveInputFeature(const Json& given, const std::string& path,
                                         const Json& user_defaults) {
  TRISTAGE_ASSIGN_OR_RETURN(const FeatureTypeSchema* type,
                            FeatureTypeOf(given, path, /*output=*/false));
  const ComponentFamily& encoders = *EncoderFamily(type->name);
  TRISTAGE_ASSIGN_OR_RETURN(
      const Json feature,
      UpgradeOldLayout(given, path, {"name", "type", "column", "preprocessing", "encoder"},
                       "encoder", &encoders));
  TRISTAGE_RETURN_IF_ERROR(CheckFeatureKeys(feature, path,
                                            {"name", "type", "column", "preprocessing", "encoder"},
                                            {{"encoder", &encoders}}, type->preprocessing));
  TRISTAGE_ASSIGN_OR_RETURN(Json resolved, ResolveIdentity(feature, path, *type));
  TRISTAGE_ASSIGN_OR_RETURN(
      resolved["preprocessing"],
      ResolvePreprocessing(type->preprocessing,
                           DefaultsFor(user_defaults, type->name, "preprocessing"), feature, path));
  TRISTAGE_ASSIGN_OR_RETURN(
      resolved["encoder"],
      ResolveComponent(encoders, type->name, DefaultsFor(user_defaults, type->name, "encoder"),
                       OwnValue(feature, path, "encoder"), /*allow_shorthand=*/true));
  return resolved;
}

std::vector<Param> OutputParams(const FeatureTypeSchema& type) {
  std::vector<Param> params = CommonOutputParams();
  params.insert(params.end(), type.output_params.begin(), type.output_params.end());
  return params;
}

absl::StatusOr<Json> ResolveOutputFeature(const Json& given, const std::string& path,
                                          const Json& user_defaults) {
  TRISTAGE_ASSIGN_OR_RETURN(const FeatureTypeSchema* type,
                            FeatureTypeOf(given, path, /*output=*/true));
  const ComponentFamily& decoders = *DecoderFamily(type->name);
  const ComponentFamily& losses = *LossFamily(type->name);
  const std::vector<Param> params = OutputParams(*type);
  const std::vector<std::string> sections = {"name",          "type",    "column",
                                             "preprocessing", "decoder", "loss"};
  std::vector<std::string> allowed = sections;
  for (const Param& param : params) allowed.push_back(param.name);
  TRISTAGE_ASSIGN_OR_RETURN(const Json feature,
                            UpgradeOldLayout(given, path, allowed, "decoder", &decoders));
  TRISTAGE_RETURN_IF_ERROR(CheckFeatureKeys(feature, path, allowed,
                                            {{"decoder", &decoders}, {"loss", &losses}},
                                            type->output_preprocessing));

  TRISTAGE_ASSIGN_OR_RETURN(Json resolved, ResolveIdentity(feature, path, *type));
  // Ludwig applies no defaults-section preprocessing to outputs; they keep their own defaults.
  TRISTAGE_ASSIGN_OR_RETURN(
      resolved["preprocessing"],
      ResolvePreprocessing(type->output_preprocessing, ComponentSource{}, feature, path));
  TRISTAGE_ASSIGN_OR_RETURN(
      resolved["decoder"],
      ResolveComponent(decoders, type->name, DefaultsFor(user_defaults, type->name, "decoder"),
                       OwnValue(feature, path, "decoder"), /*allow_shorthand=*/true));
  TRISTAGE_ASSIGN_OR_RETURN(
      resolved["loss"],
      ResolveComponent(losses, type->name, DefaultsFor(user_defaults, type->name, "loss"),
                       OwnValue(feature, path, "loss"), /*allow_shorthand=*/true));
  Json extras = DefaultsOf(params);
  TRISTAGE_RETURN_IF_ERROR(OverlayParams(params, feature, path, &extras, sections));
  resolved.update(extras);
  return resolved;
}

using FeatureResolver = absl::StatusOr<Json> (*)(const Json&, const std::string&, const Json&);

absl::StatusOr<Json> ResolveFeatureList(const Json& config, absl::string_view key,
                                        const Json& user_defaults, FeatureResolver resolve) {
  const Json* features = Find(config, key);
  const std::string path(key);
  if (features == nullptr) {
    return ConfigError("", absl::StrCat("missing required key '", key, "'"));
  }
  if (!features->is_array()) return TypeError(path, "a list of features", *features);
  if (features->empty()) return ConfigError(path, "must list at least one feature");
  Json resolved = Json::array();
  for (size_t i = 0; i < features->size(); ++i) {
    TRISTAGE_ASSIGN_OR_RETURN(Json feature, resolve((*features)[i], Index(path, i), user_defaults));
    resolved.push_back(std::move(feature));
  }
  return resolved;
}

// Depth-first search for a dependency cycle; returns the cycle as "a -> b -> a", or "".
std::string FindCycle(const std::map<std::string, std::vector<std::string>>& edges,
                      const std::string& node, std::map<std::string, int>* state,
                      std::vector<std::string>* stack) {
  (*state)[node] = 1;  // on the stack
  stack->push_back(node);
  for (const std::string& next : edges.at(node)) {
    if ((*state)[next] == 1) {
      auto start = std::find(stack->begin(), stack->end(), next);
      std::vector<std::string> cycle(start, stack->end());
      cycle.push_back(next);
      return absl::StrJoin(cycle, " -> ");
    }
    if ((*state)[next] == 0) {
      std::string cycle = FindCycle(edges, next, state, stack);
      if (!cycle.empty()) return cycle;
    }
  }
  stack->pop_back();
  (*state)[node] = 2;  // done
  return "";
}

}  // namespace

absl::StatusOr<Json> ResolveInputFeatures(const Json& config, const Json& user_defaults) {
  return ResolveFeatureList(config, "input_features", user_defaults, ResolveInputFeature);
}

absl::StatusOr<Json> ResolveOutputFeatures(const Json& config, const Json& user_defaults) {
  return ResolveFeatureList(config, "output_features", user_defaults, ResolveOutputFeature);
}

absl::Status CheckFeatureNames(const Json& inputs, const Json& outputs) {
  // trainer.validation_field and Ludwig's training statistics use "combined" for the summed loss.
  for (size_t i = 0; i < outputs.size(); ++i) {
    if (outputs[i]["name"] == "combined") {
      return ConfigError(Child(Index("output_features", i), "name"),
                         "'combined' is reserved for the combined loss of all outputs");
    }
  }
  std::vector<std::string> seen;
  const auto check = [&seen](const Json& features, absl::string_view list) -> absl::Status {
    for (size_t i = 0; i < features.size(); ++i) {
      const std::string& name = features[i]["name"].get_ref<const std::string&>();
      if (std::find(seen.begin(), seen.end(), name) != seen.end()) {
        return ConfigError(Child(Index(list, i), "name"),
                           absl::StrCat("duplicate feature name '", name, "'"));
      }
      seen.push_back(name);
    }
    return absl::OkStatus();
  };
  TRISTAGE_RETURN_IF_ERROR(check(inputs, "input_features"));
  return check(outputs, "output_features");
}

absl::Status CheckDependencies(const Json& outputs) {
  std::map<std::string, std::vector<std::string>> edges;
  std::vector<std::string> names;
  for (const Json& output : outputs) names.push_back(output["name"].get<std::string>());
  for (size_t i = 0; i < outputs.size(); ++i) {
    const std::string& name = names[i];
    const Json& dependencies = outputs[i]["dependencies"];
    for (size_t j = 0; j < dependencies.size(); ++j) {
      const std::string& dependency = dependencies[j].get_ref<const std::string&>();
      const std::string path = Index(Child(Index("output_features", i), "dependencies"), j);
      if (dependency == name) return ConfigError(path, "an output feature cannot depend on itself");
      if (std::find(names.begin(), names.end(), dependency) == names.end()) {
        return ConfigError(path, absl::StrCat("unknown output feature '", dependency,
                                              "' (known: ", JoinNames(names), ")"));
      }
      edges[name].push_back(dependency);
    }
    edges[name];  // every output is a node, even without dependencies
  }
  std::map<std::string, int> state;
  std::vector<std::string> stack;
  for (const std::string& name : names) {
    if (state[name] != 0) continue;
    const std::string cycle = FindCycle(edges, name, &state, &stack);
    if (!cycle.empty()) {
      return ConfigError("output_features", absl::StrCat("dependencies form a cycle: ", cycle));
    }
  }
  return absl::OkStatus();
}

}  // namespace tristage::config
