// Reading JSON files and replacing files atomically, for the engine's run directories.
// Thread safety: functions over files; concurrent writers of one path each leave a whole file.
#ifndef TRISTAGE_CORE_UTIL_JSON_FILE_H_
#define TRISTAGE_CORE_UTIL_JSON_FILE_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "nlohmann/json.hpp"

namespace tristage {

// NotFound "no such file '<path>'" when it cannot be opened; DataLoss "<path>: not valid JSON: ..."
absl::StatusOr<nlohmann::json> ReadJsonFile(const std::string& path);

// Writes `content` to a temporary file beside `path` (named after this process) and renames it
// over `path`, so readers (other processes included) see the old file or the whole new one.
absl::Status WriteFileAtomically(const std::string& path, absl::string_view content);

}  // namespace tristage

#endif  // TRISTAGE_CORE_UTIL_JSON_FILE_H_
