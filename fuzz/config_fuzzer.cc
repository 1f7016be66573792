// Config text (YAML or JSON) -> ParseConfigText -> ResolveConfig, and the promises config.h makes
// about what comes out: a resolved config validates and resolves to itself, and rendering it as
// YAML or JSON parses back to the same value.
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/str_cat.h"
#include "core/config/config.h"
#include "fuzz/fuzz_check.h"

namespace {

using tristage::config::ParseConfigText;

// Rendering then parsing `value` gives `value` back (NaN aside: JSON has no NaN to compare).
void CheckRendersBack(const nlohmann::json& value) {
  const std::string yaml = tristage::config::RenderConfigYaml(value);
  auto from_yaml = ParseConfigText(yaml);
  FUZZ_CHECK(from_yaml.ok(), absl::StrCat(from_yaml.status().ToString(), "\n", yaml));
  FUZZ_CHECK(*from_yaml == value, absl::StrCat("YAML does not read back:\n", yaml, "\ndiff: ",
                                               nlohmann::json::diff(value, *from_yaml).dump()));
  const std::string json = tristage::config::RenderConfigJson(value);
  auto from_json = ParseConfigText(json);
  FUZZ_CHECK(from_json.ok(), absl::StrCat(from_json.status().ToString(), "\n", json));
  FUZZ_CHECK(*from_json == value, absl::StrCat("JSON does not read back:\n", json, "\ndiff: ",
                                               nlohmann::json::diff(value, *from_json).dump()));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<nlohmann::json> parsed = ParseConfigText(text);
  if (!parsed.ok()) return 0;
  absl::StatusOr<nlohmann::json> resolved = tristage::config::ResolveConfig(*parsed);
  if (!resolved.ok()) return 0;
  const absl::Status valid = tristage::config::ValidateResolved(*resolved);
  FUZZ_CHECK(valid.ok(), absl::StrCat("resolved config does not validate: ", valid.ToString()));
  CheckRendersBack(*resolved);
  return 0;
}
