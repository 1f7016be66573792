#include "core/model/params.h"

#include <cmath>

#include "absl/strings/str_cat.h"

namespace tristage::model {
namespace {

using nlohmann::json;

const json* Find(const json& params, const std::string& key) {
  if (!params.is_object()) return nullptr;
  auto it = params.find(key);
  return it == params.end() || it->is_null() ? nullptr : &*it;
}

absl::Status WrongType(const std::string& key, const char* expected, const json& value) {
  return absl::InvalidArgumentError(
      absl::StrCat(key, ": expected ", expected, ", got ", value.dump()));
}

}  // namespace

absl::StatusOr<int64_t> GetInt(const json& params, const std::string& key, int64_t fallback) {
  const json* value = Find(params, key);
  if (value == nullptr) return fallback;
  if (value->is_number_integer()) return value->get<int64_t>();
  if (value->is_number_float() && value->get<double>() == std::trunc(value->get<double>())) {
    return static_cast<int64_t>(value->get<double>());
  }
  return WrongType(key, "an integer", *value);
}

absl::StatusOr<double> GetDouble(const json& params, const std::string& key, double fallback) {
  const json* value = Find(params, key);
  if (value == nullptr) return fallback;
  if (value->is_number()) return value->get<double>();
  return WrongType(key, "a number", *value);
}

absl::StatusOr<bool> GetBool(const json& params, const std::string& key, bool fallback) {
  const json* value = Find(params, key);
  if (value == nullptr) return fallback;
  if (value->is_boolean()) return value->get<bool>();
  return WrongType(key, "true or false", *value);
}

absl::StatusOr<std::string> GetString(const json& params, const std::string& key,
                                      const std::string& fallback) {
  const json* value = Find(params, key);
  if (value == nullptr) return fallback;
  if (value->is_string()) return value->get<std::string>();
  return WrongType(key, "a string", *value);
}

const json& Section(const json& feature, const std::string& key) {
  static const json* empty = new json(json::object());
  const json* value = Find(feature, key);
  return value != nullptr && value->is_object() ? *value : *empty;
}

}  // namespace tristage::model
