// ResolveConfig and the vocabulary functions of config.h. Parsing and rendering live in
// yaml_parse.cc and yaml_render.cc; the schema tables in schema_*.cc; the section resolvers in
// resolve_*.cc.
#include "core/config/config.h"

#include <algorithm>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "core/config/resolve.h"
#include "core/util/status_macros.h"

namespace tristage::config {
namespace {

constexpr char kEcd[] = "ecd";
constexpr char kFollowedLudwig[] = "0.8";

const std::vector<std::string>& TopLevelKeys() {
  static const auto* const kKeys =
      new std::vector<std::string>{"model_type", "input_features", "output_features", "combiner",
                                   "trainer",    "preprocessing",  "defaults",        "hyperopt",
                                   "backend",    "ludwig_version"};
  return *kKeys;
}

absl::Status CheckTopLevelKeys(const Json& config) {
  // Ludwig's sections for its other model types, refused by name rather than as unknown keys.
  static const auto* const kOtherModelTypes = new std::vector<std::pair<std::string, std::string>>{
      {"prompt", "llm"},      {"adapter", "llm"},          {"quantization", "llm"},
      {"generation", "llm"},  {"base_model", "llm"},       {"model_parameters", "llm"}};
  for (const auto& [key, model_type] : *kOtherModelTypes) {
    if (Find(config, key) != nullptr) {
      return ConfigError(key, absl::StrCat("not supported: a section of Ludwig's ", model_type,
                                           " models (model_type: ", model_type,
                                           "); tristage trains ECD models"));
    }
  }
  for (const auto& [key, unused] : config.items()) {
    if (std::find(TopLevelKeys().begin(), TopLevelKeys().end(), key) == TopLevelKeys().end()) {
      return UnknownKeyError("", key, TopLevelKeys());
    }
  }
  return absl::OkStatus();
}

absl::Status CheckModelType(const Json& config) {
  const Json* model_type = Find(config, "model_type");
  if (model_type == nullptr || model_type->is_null()) return absl::OkStatus();
  if (!model_type->is_string()) return TypeError("model_type", "a string", *model_type);
  if (*model_type == kEcd) return absl::OkStatus();
  const std::string name = model_type->get<std::string>();
  if (name == "gbm" || name == "llm") {
    return ConfigError("model_type",
                       absl::StrCat("'", name, "' (Ludwig's ",
                                    name == "gbm" ? "LightGBM tree models" : "LLM fine-tuning",
                                    ") is not supported; tristage trains ECD models (model_type: "
                                    "ecd, the default)"));
  }
  return ConfigError("model_type",
                     absl::StrCat("unknown model type '", name, "' (known: ", kEcd, ")"));
}

std::vector<std::string> UsedTypes(const Json& inputs, const Json& outputs) {
  std::vector<std::string> types;
  for (const Json* features : {&inputs, &outputs}) {
    for (const Json& feature : *features) types.push_back(feature["type"].get<std::string>());
  }
  return types;
}

// Ludwig's checks across keys of the preprocessing section and the outputs.
absl::Status CheckSampling(const Json& preprocessing, const Json& outputs) {
  const auto set = [&](const char* key) {
    return preprocessing.contains(key) && !preprocessing[key].is_null() &&
           preprocessing[key].get<double>() != 0;
  };
  const double ratio = preprocessing.value("sample_ratio", 1.0);
  if (preprocessing.contains("sample_size") && !preprocessing["sample_size"].is_null() &&
      ratio < 1.0) {
    return ConfigError("preprocessing.sample_size",
                       absl::StrCat("cannot be used when preprocessing.sample_ratio is below 1 (",
                                    Describe(preprocessing["sample_ratio"]), "); give one of them"));
  }
  for (const char* key : {"oversample_minority", "undersample_majority"}) {
    if (!set(key)) continue;
    if (set("oversample_minority") && set("undersample_majority")) {
      return ConfigError(Child("preprocessing", key),
                         "oversample_minority and undersample_majority are mutually exclusive; "
                         "give one of them");
    }
    if (outputs.size() != 1 || outputs[0].value("type", "") != "binary") {
      return ConfigError(Child("preprocessing", key),
                         absl::StrCat("class balancing needs exactly one output feature, of type "
                                      "binary (this config has ",
                                      outputs.size(), " output feature(s)",
                                      outputs.size() == 1
                                          ? absl::StrCat(", of type ",
                                                         outputs[0].value("type", std::string()))
                                          : std::string(),
                                      ")"));
    }
  }
  return absl::OkStatus();
}

// Features, then the sections that depend on them (trainer validation, defaults).
absl::Status ResolveSections(const Json& user, Json* resolved) {
  TRISTAGE_ASSIGN_OR_RETURN(const Json user_defaults,
                            NormalizeUserDefaults(Find(user, "defaults")));
  TRISTAGE_ASSIGN_OR_RETURN(Json inputs, ResolveInputFeatures(user, user_defaults));
  TRISTAGE_ASSIGN_OR_RETURN(Json outputs, ResolveOutputFeatures(user, user_defaults));
  TRISTAGE_RETURN_IF_ERROR(CheckFeatureNames(inputs, outputs));
  TRISTAGE_RETURN_IF_ERROR(CheckDependencies(outputs));
  TRISTAGE_ASSIGN_OR_RETURN((*resolved)["combiner"],
                            ResolveComponent(CombinerFamily(), "", ComponentSource{},
                                             ComponentSource{Find(user, "combiner"), "combiner"},
                                             /*allow_shorthand=*/false));
  TRISTAGE_RETURN_IF_ERROR(CheckCombiner((*resolved)["combiner"], inputs));
  TRISTAGE_ASSIGN_OR_RETURN((*resolved)["trainer"], ResolveTrainer(Find(user, "trainer"), outputs));
  TRISTAGE_ASSIGN_OR_RETURN((*resolved)["preprocessing"],
                            ResolveGlobalPreprocessing(Find(user, "preprocessing")));
  TRISTAGE_ASSIGN_OR_RETURN((*resolved)["defaults"],
                            ResolveDefaultsSection(user_defaults, UsedTypes(inputs, outputs)));
  TRISTAGE_RETURN_IF_ERROR(CheckSampling((*resolved)["preprocessing"], outputs));
  (*resolved)["input_features"] = std::move(inputs);
  (*resolved)["output_features"] = std::move(outputs);
  return absl::OkStatus();
}

// Kept as given: the hyperopt module validates it against the resolved config.
absl::Status CopyHyperopt(const Json& user, Json* resolved) {
  const Json* hyperopt = Find(user, "hyperopt");
  if (hyperopt == nullptr || hyperopt->is_null()) return absl::OkStatus();
  if (!hyperopt->is_object()) return TypeError("hyperopt", "an object", *hyperopt);
  (*resolved)["hyperopt"] = *hyperopt;
  return absl::OkStatus();
}

std::vector<std::string> TypeNames(bool outputs_only) {
  std::vector<std::string> names;
  for (const FeatureTypeSchema& type : FeatureTypeSchemas()) {
    if (!outputs_only || type.can_be_output()) names.push_back(type.name);
  }
  return names;
}

using NamesByType = std::map<std::string, std::vector<std::string>, std::less<>>;

NamesByType ComponentTypes(const ComponentFamily* (*family_for)(absl::string_view)) {
  NamesByType names;
  for (const FeatureTypeSchema& type : FeatureTypeSchemas()) {
    if (const ComponentFamily* family = family_for(type.name)) names[type.name] = family->Types();
  }
  return names;
}

const std::vector<std::string>& Lookup(const NamesByType& names, absl::string_view type) {
  static const auto* const kNone = new std::vector<std::string>();
  const auto it = names.find(type);
  return it == names.end() ? *kNone : it->second;
}

// "/input_features/0/encoder" -> "input_features[0].encoder", using `document` to tell list
// indices from keys.
std::string DottedPath(const std::string& pointer, const Json& document) {
  std::string path;
  const Json* node = &document;
  for (absl::string_view escaped : absl::StrSplit(pointer, '/', absl::SkipEmpty())) {
    const std::string token = absl::StrReplaceAll(escaped, {{"~1", "/"}, {"~0", "~"}});
    if (node != nullptr && node->is_array()) {
      absl::StrAppend(&path, "[", token, "]");
      size_t index = 0;  // diff appends with "-"
      const bool valid = absl::SimpleAtoi(token, &index) && index < node->size();
      node = valid ? &(*node)[index] : nullptr;
    } else {
      path = Child(path, token);
      node = node == nullptr ? nullptr : Find(*node, token);
    }
  }
  return path;
}

}  // namespace

absl::Status ValidateResolved(const nlohmann::json& config) {
  TRISTAGE_ASSIGN_OR_RETURN(const Json resolved, ResolveConfig(config));
  if (resolved == config) return absl::OkStatus();
  const Json first_change = Json::diff(config, resolved).front();
  const std::string path = DottedPath(first_change["path"].get<std::string>(), resolved);
  if (first_change["op"] == "add") return ConfigError(path, "missing (the config is not resolved)");
  return ConfigError(path,
                     absl::StrCat("resolves to ", Describe(first_change.value("value", Json())),
                                  " (the config is not resolved)"));
}

absl::StatusOr<nlohmann::json> ResolveConfig(const nlohmann::json& user_config) {
  if (user_config.is_null()) {
    return ConfigError("", "is empty (expected an object with input_features and output_features)");
  }
  TRISTAGE_RETURN_IF_ERROR(ExpectObject(user_config, ""));
  TRISTAGE_RETURN_IF_ERROR(CheckTopLevelKeys(user_config));
  TRISTAGE_RETURN_IF_ERROR(CheckModelType(user_config));
  Json resolved = Json::object();
  resolved["model_type"] = kEcd;
  TRISTAGE_RETURN_IF_ERROR(ResolveSections(user_config, &resolved));
  TRISTAGE_RETURN_IF_ERROR(CopyHyperopt(user_config, &resolved));
  if (const Json* version = Find(user_config, "ludwig_version");
      version != nullptr && !version->is_null()) {
    // Ludwig writes it into every saved config; kept as a string (YAML reads 0.8 as a number).
    if (version->is_string() && !version->get<std::string>().empty() &&
        version->get<std::string>().size() <= 32) {
      resolved["ludwig_version"] = *version;
    } else if (version->is_number()) {
      std::string text = version->dump();
      resolved["ludwig_version"] = text;
    } else {
      return TypeError("ludwig_version", "a version string such as \"0.8.6\"", *version);
    }
  }
  TRISTAGE_ASSIGN_OR_RETURN(Json backend, ResolveBackend(Find(user_config, "backend")));
  if (!backend.is_null()) resolved["backend"] = std::move(backend);
  return resolved;
}

std::string LudwigVersionNotice(const nlohmann::json& config) {
  const auto it = config.find("ludwig_version");
  if (it == config.end() || !it->is_string()) return "";
  const std::string text = it->get<std::string>();
  const std::vector<std::string> parts = absl::StrSplit(text, '.');
  int major = 0, minor = 0;
  if (parts.size() < 2 || !absl::SimpleAtoi(parts[0], &major) ||
      !absl::SimpleAtoi(parts[1], &minor)) {
    return absl::StrCat("ludwig_version '", text,
                        "' is not a version number; tristage follows Ludwig ", kFollowedLudwig,
                        "'s schema and defaults");
  }
  if (major == 0 && minor <= 8) return "";
  return absl::StrCat("the config says ludwig_version ", text, "; tristage follows Ludwig ",
                      kFollowedLudwig,
                      "'s schema and defaults: keys added since are refused by name, and "
                      "defaults changed since take ",
                      kFollowedLudwig, "'s values (see docs/ludwig-config.md)");
}

const std::vector<std::string>& InputFeatureTypes() {
  static const auto* const kNames = new std::vector<std::string>(TypeNames(false));
  return *kNames;
}

const std::vector<std::string>& OutputFeatureTypes() {
  static const auto* const kNames = new std::vector<std::string>(TypeNames(true));
  return *kNames;
}

const std::vector<std::string>& EncodersFor(absl::string_view feature_type) {
  static const auto* const kNames = new NamesByType(ComponentTypes(EncoderFamily));
  return Lookup(*kNames, feature_type);
}

const std::vector<std::string>& CombinerTypes() {
  static const auto* const kNames = new std::vector<std::string>(CombinerFamily().Types());
  return *kNames;
}

const std::vector<std::string>& DecodersFor(absl::string_view feature_type) {
  static const auto* const kNames = new NamesByType(ComponentTypes(DecoderFamily));
  return Lookup(*kNames, feature_type);
}

}  // namespace tristage::config
