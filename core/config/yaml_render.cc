// RenderConfigYaml and RenderConfigJson.
//
// Key order is canonical rather than alphabetical: at the top, the sections in the order a reader
// expects (model_type, input_features, output_features, combiner, trainer, preprocessing, defaults,
// hyperopt); in every other object `name`, `type` and `column` first, then the rest
// alphabetically. Strings are written plain only when ParseConfigText, and YAML 1.1 readers such as
// PyYAML, would read them back as the same string; otherwise they are double-quoted with JSON
// escapes, which YAML accepts. So ParseConfigText(RenderConfigYaml(x)) == x.
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "core/config/config.h"
#include "core/config/yaml_scalars.h"

namespace tristage::config {
namespace {

using Json = nlohmann::json;

constexpr int kIndentStep = 2;

std::vector<std::string> OrderedKeys(const Json& object, bool root) {
  static const auto* const kRootOrder =
      new std::vector<std::string>{"model_type", "input_features", "output_features", "combiner",
                                   "trainer",    "preprocessing",  "defaults",        "hyperopt",
                                   "backend",    "ludwig_version"};
  static const auto* const kNestedOrder = new std::vector<std::string>{"name", "type", "column"};
  const std::vector<std::string>& first = root ? *kRootOrder : *kNestedOrder;
  std::vector<std::string> keys;
  for (const std::string& key : first) {
    if (object.contains(key)) keys.push_back(key);
  }
  for (const auto& [key, unused] : object.items()) {  // alphabetical (std::map)
    if (std::find(first.begin(), first.end(), key) == first.end()) keys.push_back(key);
  }
  return keys;
}

bool IsYaml11Word(const std::string& text) {
  static const auto* const kWords = new std::vector<std::string>{
      "y", "n", "yes", "no", "on", "off", "true", "false", "null", "~"};
  return std::find(kWords->begin(), kWords->end(), absl::AsciiStrToLower(text)) != kWords->end();
}

bool IsPlainSafeChar(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) ||
         absl::string_view("_-./<>()+= ").find(c) != absl::string_view::npos;
}

// Conservative: a letter-led run of safe characters with no edge spaces, that the parser types as
// this very string. Everything else (digits first, colons, quotes, '#', ...) gets quoted.
bool CanBePlain(const std::string& text) {
  if (text.empty() || text == "<<" || IsYaml11Word(text)) return false;
  const unsigned char first = static_cast<unsigned char>(text.front());
  if (!absl::ascii_isalpha(first) &&
      absl::string_view("_</(").find(text.front()) == absl::string_view::npos) {
    return false;
  }
  if (text.back() == ' ') return false;
  if (!std::all_of(text.begin(), text.end(), IsPlainSafeChar)) return false;
  const Json typed = ResolvePlainScalar(text);
  return typed.is_string() && typed.get_ref<const std::string&>() == text;
}

std::string QuotedString(const std::string& text) {
  return Json(text).dump(-1, ' ', false, Json::error_handler_t::replace);
}

std::string Scalar(const Json& value) {
  if (value.is_string()) {
    const std::string& text = value.get_ref<const std::string&>();
    return CanBePlain(text) ? text : QuotedString(text);
  }
  if (value.is_number_float()) {
    const double number = value.get<double>();
    if (std::isnan(number)) return ".nan";
    if (std::isinf(number)) return number > 0 ? ".inf" : "-.inf";
  }
  return value.dump();  // null, booleans, integers; floats keep a '.' or an exponent
}

bool IsScalarLike(const Json& value) {
  return value.is_primitive() || value.empty();  // empty containers print as [] and {}
}

std::string Inline(const Json& value) {
  if (value.is_array() && value.empty()) return "[]";
  if (value.is_object() && value.empty()) return "{}";
  return Scalar(value);
}

bool IsFlatList(const Json& value) {
  return value.is_array() && std::all_of(value.begin(), value.end(),
                                         [](const Json& item) { return item.is_primitive(); });
}

std::string FlowList(const Json& list) {
  std::string text = "[";
  for (size_t i = 0; i < list.size(); ++i) {
    absl::StrAppend(&text, i == 0 ? "" : ", ", Scalar(list[i]));
  }
  return text + "]";
}

void RenderValue(const Json& value, int indent, bool root, std::string* out);

// "- " takes the place of the first two spaces of the item's own block.
void RenderList(const Json& list, int indent, std::string* out) {
  const std::string marker = std::string(indent, ' ') + "- ";
  for (const Json& item : list) {
    if (IsScalarLike(item) || IsFlatList(item)) {
      absl::StrAppend(out, marker, item.is_array() && !item.empty() ? FlowList(item) : Inline(item),
                      "\n");
      continue;
    }
    std::string block;
    RenderValue(item, indent + kIndentStep, /*root=*/false, &block);
    absl::StrAppend(out, marker, block.substr(marker.size()));
  }
}

void RenderObject(const Json& object, int indent, bool root, std::string* out) {
  const std::string pad(indent, ' ');
  for (const std::string& key : OrderedKeys(object, root)) {
    const Json& value = object[key];
    absl::StrAppend(out, pad, Scalar(Json(key)), ":");
    if (IsScalarLike(value)) {
      absl::StrAppend(out, " ", Inline(value), "\n");
    } else if (IsFlatList(value)) {
      absl::StrAppend(out, " ", FlowList(value), "\n");
    } else {
      absl::StrAppend(out, "\n");
      RenderValue(value, indent + kIndentStep, /*root=*/false, out);
    }
  }
}

void RenderValue(const Json& value, int indent, bool root, std::string* out) {
  if (IsScalarLike(value)) {
    absl::StrAppend(out, std::string(indent, ' '), Inline(value), "\n");
  } else if (value.is_object()) {
    RenderObject(value, indent, root, out);
  } else {
    RenderList(value, indent, out);
  }
}

nlohmann::ordered_json Ordered(const Json& value, bool root) {
  if (value.is_array()) {
    nlohmann::ordered_json list = nlohmann::ordered_json::array();
    for (const Json& item : value) list.push_back(Ordered(item, false));
    return list;
  }
  if (!value.is_object()) return nlohmann::ordered_json(value);
  nlohmann::ordered_json object = nlohmann::ordered_json::object();
  for (const std::string& key : OrderedKeys(value, root)) object[key] = Ordered(value[key], false);
  return object;
}

}  // namespace

std::string RenderConfigYaml(const nlohmann::json& config) {
  std::string out;
  RenderValue(config, 0, /*root=*/true, &out);
  return out;
}

std::string RenderConfigJson(const nlohmann::json& config) {
  return Ordered(config, /*root=*/true).dump(2, ' ', false, Json::error_handler_t::replace) + "\n";
}

}  // namespace tristage::config
