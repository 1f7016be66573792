#include "core/hyperopt/checks.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/config/params.h"
#include "core/util/strings.h"

namespace tristage::hyperopt::internal {
namespace {

using Json = nlohmann::json;

using config::Child;

}  // namespace

absl::Status CheckKeys(const Json& object, absl::string_view path,
                       const std::vector<std::string>& known) {
  for (const auto& item : object.items()) {
    if (std::find(known.begin(), known.end(), item.key()) != known.end()) continue;
    return config::UnknownKeyError(path, item.key(), known);
  }
  return absl::OkStatus();
}

absl::StatusOr<double> ReadNumber(const Json& value, absl::string_view path) {
  if (!value.is_number())
    return Error(path, absl::StrCat("expected a number, got ", Describe(value)));
  const double number = value.get<double>();
  if (!std::isfinite(number)) {
    return Error(path, absl::StrCat("expected a finite number, got ", Describe(value)));
  }
  return number;
}

absl::StatusOr<int64_t> ReadInteger(const Json& value, absl::string_view path) {
  if (value.is_number_integer()) {
    // Unsigned values above int64's range come back wrapped; reject them as not integers we use.
    if (value.is_number_unsigned() && value.get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)) {
      return Error(path, absl::StrCat("expected an integer, got ", Describe(value)));
    }
    return value.get<int64_t>();
  }
  if (value.is_number_float()) {
    const double number = value.get<double>();
    // 2^53: above it every double is an integer but most integers are not doubles.
    if (std::isfinite(number) && number == std::floor(number) &&
        std::fabs(number) <= 9.007199254740992e15) {
      return static_cast<int64_t>(number);
    }
  }
  return Error(path, absl::StrCat("expected an integer, got ", Describe(value)));
}

absl::StatusOr<double> OptionalNumber(const Json& object, absl::string_view path,
                                      const std::string& key, double fallback) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return fallback;
  return ReadNumber(*it, Child(path, key));
}

absl::StatusOr<int64_t> OptionalInteger(const Json& object, absl::string_view path,
                                        const std::string& key, int64_t fallback) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return fallback;
  return ReadInteger(*it, Child(path, key));
}

absl::StatusOr<std::string> OptionalString(const Json& object, absl::string_view path,
                                           const std::string& key, const std::string& fallback) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return fallback;
  if (!it->is_string()) {
    return Error(Child(path, key), absl::StrCat("expected a string, got ", Describe(*it)));
  }
  return it->get<std::string>();
}

}  // namespace tristage::hyperopt::internal
