// The `defaults` section: per feature type, preprocessing/encoder/decoder/loss defaults.
//
// The resolved section lists every type used by a feature or named in the user's section, in
// canonical type order, each with its effective preprocessing and encoder (and, for types that can
// be outputs, decoder and loss). Resolving it again is a no-op: the features already carry every
// value explicitly, and the listed components name their type.
#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/config/resolve.h"
#include "core/util/status_macros.h"

namespace tristage::config {
namespace {

std::vector<std::string> OutputTypeNames() {
  std::vector<std::string> names;
  for (const FeatureTypeSchema& type : FeatureTypeSchemas()) {
    if (type.can_be_output()) names.push_back(type.name);
  }
  return names;
}

const ComponentFamily* FamilyFor(absl::string_view section, absl::string_view type) {
  if (section == "encoder") return EncoderFamily(type);
  if (section == "decoder") return DecoderFamily(type);
  return LossFamily(type);
}

absl::StatusOr<Json> NormalizeSection(const FeatureTypeSchema& type, const std::string& section,
                                      const Json& value, const std::string& path) {
  if (section == "preprocessing") {
    Json checked = Json::object();
    if (!value.is_null()) {
      TRISTAGE_RETURN_IF_ERROR(OverlayParams(type.preprocessing, value, path, &checked));
    }
    return checked;
  }
  const ComponentFamily* family = FamilyFor(section, type.name);
  if (family == nullptr) {
    return ConfigError(path,
                       absl::StrCat("'", type.name, "' is not supported as an output (supported: ",
                                    JoinNames(OutputTypeNames()), ")"));
  }
  TRISTAGE_ASSIGN_OR_RETURN(Json normalized,
                            NormalizeComponent(*family, value, path, /*allow_shorthand=*/true));
  // Validated as the component it names (or the type's default one), as Ludwig does.
  TRISTAGE_RETURN_IF_ERROR(ResolveComponent(*family, type.name, ComponentSource{},
                                            ComponentSource{&normalized, path},
                                            /*allow_shorthand=*/true)
                               .status());
  return normalized;
}

absl::StatusOr<Json> NormalizeEntry(const FeatureTypeSchema& type, const Json& entry,
                                    const std::string& path) {
  Json normalized = Json::object();
  if (entry.is_null()) return normalized;
  TRISTAGE_RETURN_IF_ERROR(ExpectObject(entry, path));
  static const auto* const kSections =
      new std::vector<std::string>{"preprocessing", "encoder", "decoder", "loss"};
  for (const auto& [section, value] : entry.items()) {
    if (std::find(kSections->begin(), kSections->end(), section) == kSections->end()) {
      return UnknownKeyError(path, section, *kSections);
    }
    TRISTAGE_ASSIGN_OR_RETURN(normalized[section],
                              NormalizeSection(type, section, value, Child(path, section)));
  }
  return normalized;
}

std::vector<std::string> AllTypeNames() {
  std::vector<std::string> names;
  for (const FeatureTypeSchema& type : FeatureTypeSchemas()) names.push_back(type.name);
  return names;
}

absl::StatusOr<Json> ResolveEntry(const FeatureTypeSchema& type, const Json& user_entry) {
  const std::string path = Child("defaults", type.name);
  const auto source = [&](const char* section) {
    return ComponentSource{Find(user_entry, section), Child(path, section)};
  };
  Json entry = Json::object();
  entry["preprocessing"] = DefaultsOf(type.preprocessing);
  if (const Json* preprocessing = Find(user_entry, "preprocessing")) {
    entry["preprocessing"].update(*preprocessing);
  }
  TRISTAGE_ASSIGN_OR_RETURN(
      entry["encoder"], ResolveComponent(*EncoderFamily(type.name), type.name, ComponentSource{},
                                         source("encoder"), true));
  if (!type.can_be_output()) return entry;
  TRISTAGE_ASSIGN_OR_RETURN(
      entry["decoder"], ResolveComponent(*DecoderFamily(type.name), type.name, ComponentSource{},
                                         source("decoder"), true));
  TRISTAGE_ASSIGN_OR_RETURN(
      entry["loss"],
      ResolveComponent(*LossFamily(type.name), type.name, ComponentSource{}, source("loss"), true));
  return entry;
}

}  // namespace

absl::StatusOr<Json> NormalizeUserDefaults(const Json* defaults) {
  Json normalized = Json::object();
  if (defaults == nullptr || defaults->is_null()) return normalized;
  TRISTAGE_RETURN_IF_ERROR(ExpectObject(*defaults, "defaults"));
  for (const auto& [type_name, entry] : defaults->items()) {
    const FeatureTypeSchema* type = FindFeatureType(type_name);
    const std::string path = Child("defaults", type_name);
    if (type == nullptr) {
      return ConfigError(path, absl::StrCat("unknown feature type '", type_name,
                                            "' (known: ", JoinNames(AllTypeNames()), ")"));
    }
    TRISTAGE_ASSIGN_OR_RETURN(normalized[type_name], NormalizeEntry(*type, entry, path));
  }
  return normalized;
}

absl::StatusOr<Json> ResolveDefaultsSection(const Json& user_defaults,
                                            const std::vector<std::string>& types) {
  Json section = Json::object();
  for (const FeatureTypeSchema& type : FeatureTypeSchemas()) {
    const bool used = std::find(types.begin(), types.end(), type.name) != types.end();
    const Json* user_entry = Find(user_defaults, type.name);
    if (!used && user_entry == nullptr) continue;
    TRISTAGE_ASSIGN_OR_RETURN(section[type.name],
                              ResolveEntry(type, user_entry ? *user_entry : Json::object()));
  }
  return section;
}

}  // namespace tristage::config
