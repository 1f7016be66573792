#include "core/config/params.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/util/status_macros.h"
#include "core/util/strings.h"

namespace tristage::config {
namespace {

constexpr size_t kMaxDescribedLength = 60;

// Bounds print as integers when they are integers ("[0, 1)", not "[0.0, 1.0)").
std::string FormatBound(double bound) {
  return absl::StrCat(bound);
}

std::string RangeText(const Param& param) {
  const bool has_min = std::isfinite(param.min);
  const bool has_max = std::isfinite(param.max);
  if (has_min && has_max) {
    return absl::StrCat("in ", param.min_open ? "(" : "[", FormatBound(param.min), ", ",
                        FormatBound(param.max), param.max_open ? ")" : "]");
  }
  if (has_min) return absl::StrCat(param.min_open ? "> " : ">= ", FormatBound(param.min));
  return absl::StrCat(param.max_open ? "< " : "<= ", FormatBound(param.max));
}

absl::Status CheckRange(const Param& param, double number, const Json& value,
                        const std::string& path) {
  const bool below = param.min_open ? number <= param.min : number < param.min;
  const bool above = param.max_open ? number >= param.max : number > param.max;
  if (!below && !above) return absl::OkStatus();
  return ConfigError(path, absl::StrCat("must be ", RangeText(param), ", got ", Describe(value)));
}

std::string ExpectedText(const Param& param) {
  std::string what;
  switch (param.kind) {
    case Param::Kind::kBool: what = "a boolean"; break;
    case Param::Kind::kInt: what = "an integer"; break;
    case Param::Kind::kNumber: what = "a number"; break;
    case Param::Kind::kObject: what = "an object"; break;
    default: what = "a string"; break;
  }
  return param.AcceptsNull() ? what + " or null" : what;
}

// Integers may be written as 10.0 (JSON has one number type, and YAML writers sometimes emit
// integral floats); anything else that is not an integer is an error.
absl::StatusOr<Json> CheckInt(const Param& param, const Json& value, const std::string& path) {
  int64_t integer = 0;
  if (value.is_number_unsigned()) {
    const uint64_t unsigned_value = value.get<uint64_t>();
    if (unsigned_value > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      return ConfigError(path, absl::StrCat("is too large, got ", Describe(value)));
    }
    integer = static_cast<int64_t>(unsigned_value);
  } else if (value.is_number_integer()) {
    integer = value.get<int64_t>();
  } else if (value.is_number_float()) {
    const double number = value.get<double>();
    if (!std::isfinite(number) || std::trunc(number) != number) {
      return TypeError(path, ExpectedText(param), value);
    }
    // Also integers parsed beyond 64 bits arrive here as floats.
    if (std::fabs(number) >= 9.2e18) {
      return ConfigError(path, absl::StrCat("is too large, got ", Describe(value)));
    }
    integer = static_cast<int64_t>(number);
  } else {
    return TypeError(path, ExpectedText(param), value);
  }
  TRISTAGE_RETURN_IF_ERROR(CheckRange(param, static_cast<double>(integer), value, path));
  return Json(integer);
}

absl::StatusOr<Json> CheckNumber(const Param& param, const Json& value, const std::string& path) {
  if (!value.is_number()) return TypeError(path, ExpectedText(param), value);
  const double number = value.get<double>();
  if (!std::isfinite(number)) {
    return TypeError(path, param.AcceptsNull() ? "a finite number or null" : "a finite number",
                     value);
  }
  TRISTAGE_RETURN_IF_ERROR(CheckRange(param, number, value, path));
  return Json(number);
}

absl::StatusOr<Json> CheckChoice(const Param& param, const Json& value, const std::string& path) {
  if (value.is_string()) {
    const std::string& text = value.get_ref<const std::string&>();
    if (std::find(param.choices.begin(), param.choices.end(), text) != param.choices.end()) {
      return value;
    }
  }
  std::vector<std::string> listed = param.choices;
  if (param.AcceptsNull()) listed.push_back("null");
  return ConfigError(path,
                     absl::StrCat("must be one of ", JoinNames(listed), ", got ", Describe(value)));
}

Param Make(std::string name, Param::Kind kind, Json default_value) {
  Param param;
  param.name = std::move(name);
  param.kind = kind;
  param.default_value = std::move(default_value);
  return param;
}

}  // namespace

Param Param::AtLeast(double lower) const {
  Param copy = *this;
  copy.min = lower;
  copy.min_open = false;
  return copy;
}

Param Param::Above(double lower) const {
  Param copy = *this;
  copy.min = lower;
  copy.min_open = true;
  return copy;
}

Param Param::InRange(double lower, double upper, bool upper_open) const {
  Param copy = AtLeast(lower);
  copy.max = upper;
  copy.max_open = upper_open;
  return copy;
}

Param Param::OrNull() const {
  Param copy = *this;
  copy.nullable = true;
  return copy;
}

Param Param::Required() const {
  Param copy = *this;
  copy.required = true;
  copy.default_value = nullptr;
  return copy;
}

Param Param::WithDefault(Json value) const {
  Param copy = *this;
  copy.default_value = std::move(value);
  return copy;
}

bool Param::AcceptsNull() const {
  return nullable || (default_value.is_null() && !required);
}

Param Bool(std::string name, bool default_value) {
  return Make(std::move(name), Param::Kind::kBool, default_value);
}

Param Int(std::string name, Json default_value) {
  return Make(std::move(name), Param::Kind::kInt, std::move(default_value));
}

Param Number(std::string name, Json default_value) {
  // Stored as a double so that 0 and 0.0 render alike.
  if (default_value.is_number()) default_value = default_value.get<double>();
  return Make(std::move(name), Param::Kind::kNumber, std::move(default_value));
}

Param String(std::string name, Json default_value) {
  return Make(std::move(name), Param::Kind::kString, std::move(default_value));
}

Param Choice(std::string name, Json default_value, std::vector<std::string> choices) {
  Param param = Make(std::move(name), Param::Kind::kChoice, std::move(default_value));
  param.choices = std::move(choices);
  return param;
}

Param Object(std::string name) {
  return Make(std::move(name), Param::Kind::kObject, nullptr);
}

Param Custom(std::string name, Json default_value, CustomCheck check) {
  Param param = Make(std::move(name), Param::Kind::kCustom, std::move(default_value));
  param.custom = check;
  return param;
}

std::string Child(absl::string_view parent, absl::string_view key) {
  if (parent.empty()) return std::string(key);
  return absl::StrCat(parent, ".", key);
}

std::string Index(absl::string_view parent, size_t index) {
  return absl::StrCat(parent, "[", index, "]");
}

std::string Describe(const Json& value) {
  if (value.is_number_float() && !std::isfinite(value.get<double>())) {
    const double number = value.get<double>();  // JSON would print null
    return std::isnan(number) ? ".nan" : (number > 0 ? ".inf" : "-.inf");
  }
  std::string text = value.dump(-1, ' ', false, Json::error_handler_t::replace);
  if (text.size() > kMaxDescribedLength) text = text.substr(0, kMaxDescribedLength - 3) + "...";
  return text;
}

absl::Status ConfigError(absl::string_view path, absl::string_view reason) {
  return absl::InvalidArgumentError(absl::StrCat(path.empty() ? "config" : path, ": ", reason));
}

absl::Status UnknownKeyError(absl::string_view path, absl::string_view key,
                             const std::vector<std::string>& known) {
  std::string hint = DidYouMean(key, known);
  if (hint.empty()) {
    std::vector<std::string> sorted = known;
    std::sort(sorted.begin(), sorted.end());
    hint = absl::StrCat(" (known: ", JoinNames(sorted), ")");
  }
  return ConfigError(Child(path, key), absl::StrCat("unknown key", hint));
}

absl::Status TypeError(absl::string_view path, absl::string_view what, const Json& value) {
  return ConfigError(path, absl::StrCat("expected ", what, ", got ", Describe(value)));
}

absl::StatusOr<Json> CheckParam(const Param& param, const Json& value, const std::string& path) {
  if (value.is_null()) {
    if (param.AcceptsNull()) return value;
    // Choices and custom checks know how to say what they expected.
    if (param.kind == Param::Kind::kChoice) return CheckChoice(param, value, path);
    if (param.kind == Param::Kind::kCustom) return param.custom(value, path);
    return TypeError(path, ExpectedText(param), value);
  }
  switch (param.kind) {
    case Param::Kind::kBool:
      if (!value.is_boolean()) return TypeError(path, ExpectedText(param), value);
      return value;
    case Param::Kind::kInt: return CheckInt(param, value, path);
    case Param::Kind::kNumber: return CheckNumber(param, value, path);
    case Param::Kind::kString:
      if (!value.is_string()) return TypeError(path, ExpectedText(param), value);
      return value;
    case Param::Kind::kChoice: return CheckChoice(param, value, path);
    case Param::Kind::kObject:
      if (!value.is_object()) return TypeError(path, ExpectedText(param), value);
      return value;
    case Param::Kind::kCustom: return param.custom(value, path);
  }
  return absl::InternalError("unhandled parameter kind");
}

Json DefaultsOf(const std::vector<Param>& params) {
  Json object = Json::object();
  for (const Param& param : params) object[param.name] = param.default_value;
  return object;
}

std::vector<std::string> NamesOf(const std::vector<Param>& params) {
  std::vector<std::string> names;
  names.reserve(params.size());
  for (const Param& param : params) names.push_back(param.name);
  return names;
}

const Param* FindParam(const std::vector<Param>& params, absl::string_view name) {
  for (const Param& param : params) {
    if (param.name == name) return &param;
  }
  return nullptr;
}

absl::Status OverlayParams(const std::vector<Param>& params, const Json& overrides,
                           const std::string& path, Json* target,
                           const std::vector<std::string>& extra_known) {
  TRISTAGE_RETURN_IF_ERROR(ExpectObject(overrides, path));
  for (const auto& [key, value] : overrides.items()) {
    if (std::find(extra_known.begin(), extra_known.end(), key) != extra_known.end()) continue;
    const Param* param = FindParam(params, key);
    if (param == nullptr) {
      std::vector<std::string> known = NamesOf(params);
      known.insert(known.end(), extra_known.begin(), extra_known.end());
      return UnknownKeyError(path, key, known);
    }
    TRISTAGE_ASSIGN_OR_RETURN((*target)[key], CheckParam(*param, value, Child(path, key)));
  }
  return absl::OkStatus();
}

absl::Status CheckRequired(const std::vector<Param>& params, const Json& resolved,
                           const std::string& path, absl::string_view context) {
  for (const Param& param : params) {
    if (!param.required) continue;
    if (!resolved.contains(param.name) || resolved[param.name].is_null()) {
      return ConfigError(path, absl::StrCat("missing required key '", param.name, "'", context));
    }
  }
  return absl::OkStatus();
}

absl::Status ExpectObject(const Json& value, const std::string& path) {
  if (value.is_object()) return absl::OkStatus();
  return TypeError(path, "an object", value);
}

std::string JoinNames(const std::vector<std::string>& names) {
  return absl::StrJoin(names, ", ");
}

}  // namespace tristage::config
