// manifest.json text -> JSON (as LoadStages reads it) -> ManifestFromJson, which must answer every
// document with a Manifest or an InvalidArgument. A manifest that loads has the scalar fields the
// document gave, and ToJson of it loads to the same manifest.
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/str_cat.h"
#include "core/export/manifest.h"
#include "fuzz/fuzz_check.h"

using nlohmann::json;
using tristage::exporting::Manifest;
using tristage::exporting::ManifestFromJson;
using tristage::exporting::ToJson;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  json value = json::parse(data, data + size, /*cb=*/nullptr, /*allow_exceptions=*/false);
  if (value.is_discarded()) return 0;
  absl::StatusOr<Manifest> manifest = ManifestFromJson(value);
  if (!manifest.ok()) {
    FUZZ_CHECK(absl::IsInvalidArgument(manifest.status()), manifest.status().ToString());
    return 0;
  }
  FUZZ_CHECK(value["format_version"] == manifest->format_version,
             absl::StrCat("format_version ", value["format_version"].dump(), " read as ",
                          manifest->format_version));
  FUZZ_CHECK(value["model_id"] == manifest->model_id, "model_id");
  FUZZ_CHECK(value["device"] == manifest->device, "device");
  const json written = ToJson(*manifest);
  absl::StatusOr<Manifest> again = ManifestFromJson(written);
  FUZZ_CHECK(again.ok(), absl::StrCat(again.status().ToString(), "\n", written.dump()));
  FUZZ_CHECK(ToJson(*again) == written, absl::StrCat("does not load back:\n", written.dump()));
  return 0;
}
