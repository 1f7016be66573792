// Files of the engine's run directories: reading JSON, replacing a file atomically, and naming a
// directory that does not exist yet.
// Thread safety: functions over files; concurrent writers of one path each leave a whole file.
#ifndef TRISTAGE_CORE_UTIL_FILES_H_
#define TRISTAGE_CORE_UTIL_FILES_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "nlohmann/json.hpp"

namespace tristage {

// NotFound "no such file '<path>'" when it cannot be opened; DataLoss "<path>: not valid JSON: ..."
absl::StatusOr<nlohmann::json> ReadJsonFile(const std::string& path);

// Writes `content` to a temporary file beside `path` (named after this process), flushes it to
// disk and renames it over `path`, so readers (other processes, or a restart after a crash) see
// the old file or the whole new one. Internal naming the file and the reason on failure.
absl::Status WriteFileAtomically(const std::string& path, absl::string_view content);

// `base` when nothing exists there, else the first of base_0, base_1, ... that does not (Ludwig's
// naming of run directories).
std::string FreshPath(const std::string& base);

}  // namespace tristage

#endif  // TRISTAGE_CORE_UTIL_FILES_H_
