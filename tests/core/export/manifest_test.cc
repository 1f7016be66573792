// ManifestFromJson and ToJson: manifest.json as the daemon and the loaders read it.
#include "core/export/manifest.h"

#include <string>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace tristage::exporting {
namespace {

using ::testing::HasSubstr;
using json = nlohmann::json;

json Minimal() {
  return {{"format", "tristage-torchscript"},
          {"format_version", 1},
          {"model_id", "ab12"},
          {"device", "cpu"}};
}

std::string Error(const json& value) {
  absl::StatusOr<Manifest> manifest = ManifestFromJson(value);
  EXPECT_FALSE(manifest.ok());
  if (manifest.ok()) return "";
  EXPECT_EQ(manifest.status().code(), absl::StatusCode::kInvalidArgument) << manifest.status();
  return std::string(manifest.status().message());
}

TEST(ManifestTest, ReadsWhatToJsonWrites) {
  Manifest manifest;
  manifest.tristage_version = "0.1.0";
  manifest.model_id = "6778bfb39013c3d8";
  manifest.device = "cpu";
  manifest.inputs.push_back({"emb", "emb", "vector", {"List[str]", "Tensor"}, "float32", {-1, 3}});
  manifest.outputs.push_back(
      {"churned", "binary", {{"churned::predictions", "List[str]"}}, {"false", "true"}});
  absl::StatusOr<Manifest> read = ManifestFromJson(ToJson(manifest));
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(ToJson(*read), ToJson(manifest));
}

// Found by fuzz/manifest_fuzzer: json::value() threw (and terminated the process) when a field
// had another type.
TEST(ManifestTest, FieldOfTheWrongTypeIsInvalidArgumentNotAnException) {
  json format = Minimal();
  format["format"] = json::array({"tristage-torchscript"});
  EXPECT_THAT(Error(format), HasSubstr("not a tristage-torchscript manifest"));
  json version = Minimal();
  version["tristage_version"] = 5;
  EXPECT_THAT(Error(version), HasSubstr("field 'tristage_version' has the wrong type (number)"));
  json model_only = Minimal();
  model_only["model_only"] = "yes";
  EXPECT_THAT(Error(model_only), HasSubstr("field 'model_only' has the wrong type (string)"));
  EXPECT_THAT(Error(json::array()), HasSubstr("not a tristage-torchscript manifest"));
}

// Found while writing fuzz/manifest_fuzzer's field checks: get<int>() wrapped 2^32 + 1 to 1.
TEST(ManifestTest, FormatVersionOutsideIntIsRejectedNotWrapped) {
  json value = Minimal();
  value["format_version"] = 4294967297;
  EXPECT_EQ(Error(value),
            "manifest: format_version 4294967297 is not the version this tristage "
            "reads (1)");
  value["format_version"] = 1;
  EXPECT_TRUE(ManifestFromJson(value).ok());
}

}  // namespace
}  // namespace tristage::exporting
