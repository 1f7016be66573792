// Helpers shared by the core/config tests.
#ifndef TRISTAGE_TESTS_CORE_CONFIG_CONFIG_TEST_UTIL_H_
#define TRISTAGE_TESTS_CORE_CONFIG_CONFIG_TEST_UTIL_H_

#include <string>

#include "absl/status/status.h"
#include "core/config/config.h"
#include "gtest/gtest.h"

namespace tristage::config::testing {

// Parses and resolves `yaml`, failing the test (and returning null) on any error.
inline nlohmann::json Resolve(const std::string& yaml) {
  absl::StatusOr<nlohmann::json> parsed = ParseConfigText(yaml);
  EXPECT_TRUE(parsed.ok()) << parsed.status();
  if (!parsed.ok()) return nullptr;
  absl::StatusOr<nlohmann::json> resolved = ResolveConfig(*parsed);
  EXPECT_TRUE(resolved.ok()) << resolved.status();
  return resolved.ok() ? *resolved : nullptr;
}

// The message of the InvalidArgument error resolving `yaml` must give; "" (and a failure) if it
// resolves.
inline std::string ResolveError(const std::string& yaml) {
  absl::StatusOr<nlohmann::json> parsed = ParseConfigText(yaml);
  EXPECT_TRUE(parsed.ok()) << parsed.status();
  if (!parsed.ok()) return "";
  absl::StatusOr<nlohmann::json> resolved = ResolveConfig(*parsed);
  EXPECT_FALSE(resolved.ok()) << "resolved without error";
  if (resolved.ok()) return "";
  EXPECT_EQ(resolved.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(resolved.status().message());
}

// A value by JSON pointer, e.g. At(config, "/trainer/epochs"); null when absent.
inline nlohmann::json At(const nlohmann::json& value, const std::string& pointer) {
  const nlohmann::json::json_pointer where(pointer);
  return value.contains(where) ? value.at(where) : nlohmann::json();
}

// One input and one output feature, plus `extra` top-level YAML.
inline std::string WithFeatures(const std::string& input_type, const std::string& output_type,
                                const std::string& extra = "") {
  return "input_features: [{name: x, type: " + input_type + "}]\n" +
         "output_features: [{name: y, type: " + output_type + "}]\n" + extra;
}

}  // namespace tristage::config::testing

#endif  // TRISTAGE_TESTS_CORE_CONFIG_CONFIG_TEST_UTIL_H_
