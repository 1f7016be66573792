// Internal to core/hyperopt: reading the hyperopt config sections (parameters, search_alg,
// scheduler) as JSON values, with errors in the config's format ("<path>: <reason>").
//
// nlohmann::json accessors throw on a wrong type, so every value is type-checked here before it is
// read; callers get absl::Status values only.
#ifndef TRISTAGE_CORE_HYPEROPT_CHECKS_H_
#define TRISTAGE_CORE_HYPEROPT_CHECKS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/config/params.h"
#include "nlohmann/json.hpp"

namespace tristage::hyperopt::internal {

// The config's own message helpers: Describe (a value as errors show it), JoinNames ("a, b, c")
// and Error (InvalidArgument "<path>: <reason>").
using config::Describe;
using config::JoinNames;
inline absl::Status Error(absl::string_view path, absl::string_view reason) {
  return config::ConfigError(path, reason);
}

// Errors on the first key of `object` (an object) that is not in `known`: "<path>.<key>: unknown
// key" with a did-you-mean, or the sorted known keys when nothing is close.
absl::Status CheckKeys(const nlohmann::json& object, absl::string_view path,
                       const std::vector<std::string>& known);

// A finite number (integer or float; booleans are not numbers).
absl::StatusOr<double> ReadNumber(const nlohmann::json& value, absl::string_view path);

// An integer, written as one or as a float with an integral value (YAML's "4.0").
absl::StatusOr<int64_t> ReadInteger(const nlohmann::json& value, absl::string_view path);

// `object[key]` read as above, or `fallback` when the key is missing or null.
absl::StatusOr<double> OptionalNumber(const nlohmann::json& object, absl::string_view path,
                                      const std::string& key, double fallback);
absl::StatusOr<int64_t> OptionalInteger(const nlohmann::json& object, absl::string_view path,
                                        const std::string& key, int64_t fallback);

// `object[key]` as a string, or `fallback` when the key is missing or null.
absl::StatusOr<std::string> OptionalString(const nlohmann::json& object, absl::string_view path,
                                           const std::string& key, const std::string& fallback);

}  // namespace tristage::hyperopt::internal

#endif  // TRISTAGE_CORE_HYPEROPT_CHECKS_H_
