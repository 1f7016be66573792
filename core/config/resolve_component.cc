// Resolution of one typed component (encoder, decoder, loss, optimizer, combiner, split).
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/config/resolve.h"
#include "core/util/status_macros.h"

namespace tristage::config {
namespace {

std::string WithArticle(absl::string_view noun) {
  const bool vowel = !noun.empty() && absl::string_view("aeiou").find(noun[0]) != noun.npos;
  return absl::StrCat(vowel ? "an " : "a ", noun);
}

// The `type` a component names, or "" when it names none.
absl::StatusOr<std::string> NamedType(const Json& component, const std::string& path) {
  const Json* type = Find(component, "type");
  if (type == nullptr || type->is_null()) return std::string();
  if (!type->is_string()) return TypeError(Child(path, "type"), "a string", *type);
  return type->get<std::string>();
}

absl::Status UnknownTypeError(const ComponentFamily& family, absl::string_view owner,
                              absl::string_view type, const std::string& path) {
  return ConfigError(Child(path, "type"),
                     absl::StrCat("unknown ", family.noun, " '", type, "'",
                                  owner.empty() ? "" : absl::StrCat(" for ", owner),
                                  " (known: ", JoinNames(family.Types()), ")"));
}

// A key the chosen component lacks is often a parameter of a sibling (num_filters on an rnn
// encoder); saying so is more useful than a spelling suggestion.
absl::Status CheckComponentKeys(const ComponentFamily& family, const Component& component,
                                const Json& values, const std::string& path) {
  for (const auto& [key, unused] : values.items()) {
    if (key == "type" || FindParam(component.params, key) != nullptr) continue;
    std::vector<std::string> owners;
    for (const Component& member : family.members) {
      if (FindParam(member.params, key) != nullptr) owners.push_back(member.type);
    }
    if (!owners.empty()) {
      return ConfigError(Child(path, key),
                         absl::StrCat("not a parameter of ", family.noun, " '", component.type,
                                      "' (a parameter of ", JoinNames(owners), ")"));
    }
    std::vector<std::string> known = NamesOf(component.params);
    known.push_back("type");
    return UnknownKeyError(path, key, known);
  }
  return absl::OkStatus();
}

}  // namespace

const Json* Find(const Json& object, absl::string_view key) {
  if (!object.is_object()) return nullptr;
  const auto it = object.find(key);
  return it == object.end() ? nullptr : &*it;
}

absl::StatusOr<Json> NormalizeComponent(const ComponentFamily& family, const Json& value,
                                        const std::string& path, bool allow_shorthand) {
  if (value.is_null()) return Json::object();
  if (value.is_object()) return value;
  if (allow_shorthand && value.is_string()) return Json{{"type", value}};
  return TypeError(path,
                   allow_shorthand
                       ? absl::StrCat("an object or ", WithArticle(family.noun), " name")
                       : "an object",
                   value);
}

absl::StatusOr<Json> ResolveComponent(const ComponentFamily& family, absl::string_view owner,
                                      const ComponentSource& defaults, const ComponentSource& own,
                                      bool allow_shorthand) {
  Json own_values = Json::object();
  if (own.value != nullptr) {
    TRISTAGE_ASSIGN_OR_RETURN(own_values,
                              NormalizeComponent(family, *own.value, own.path, allow_shorthand));
  }
  Json defaults_values = Json::object();
  if (defaults.value != nullptr) {
    TRISTAGE_ASSIGN_OR_RETURN(defaults_values, NormalizeComponent(family, *defaults.value,
                                                                  defaults.path, allow_shorthand));
  }
  TRISTAGE_ASSIGN_OR_RETURN(const std::string own_type, NamedType(own_values, own.path));
  TRISTAGE_ASSIGN_OR_RETURN(std::string defaults_type, NamedType(defaults_values, defaults.path));
  if (defaults_type.empty()) defaults_type = family.default_type;

  const std::string type = own_type.empty() ? defaults_type : own_type;
  const Component* component = family.Find(type);
  if (component == nullptr) {
    return UnknownTypeError(family, owner, type, own_type.empty() ? defaults.path : own.path);
  }

  Json resolved = DefaultsOf(component->params);
  resolved["type"] = type;
  if (defaults.value != nullptr && defaults_type == type) {
    TRISTAGE_RETURN_IF_ERROR(
        CheckComponentKeys(family, *component, defaults_values, defaults.path));
    TRISTAGE_RETURN_IF_ERROR(
        OverlayParams(component->params, defaults_values, defaults.path, &resolved, {"type"}));
  }
  TRISTAGE_RETURN_IF_ERROR(CheckComponentKeys(family, *component, own_values, own.path));
  TRISTAGE_RETURN_IF_ERROR(
      OverlayParams(component->params, own_values, own.path, &resolved, {"type"}));
  TRISTAGE_RETURN_IF_ERROR(CheckRequired(component->params, resolved, own.path,
                                         absl::StrCat(" for ", family.noun, " '", type, "'")));
  return resolved;
}

}  // namespace tristage::config
