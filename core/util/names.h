// The allow-list every request string passes before it becomes a path, a process argument or a
// file name (a job's options, a model or upload name, a job id, an artifact or dataset path).
//
// A name is 1 to kMaxNameBytes bytes of ASCII letters, digits, '.', '_' and '-', not starting
// with '.' (so never "." or "..") or '-' (it would read as a flag). A relative path is 1 to
// kMaxPathBytes bytes of names joined by single '/'. Anything else (NUL, '/', "..", an absolute path, control bytes, invalid UTF-8,
// spaces, a 50 MB value) is InvalidArgument naming `field`, the reason and the value (shortened
// and escaped, so the message itself stays small and printable).
// Thread safety: pure functions.
#ifndef TRISTAGE_CORE_UTIL_NAMES_H_
#define TRISTAGE_CORE_UTIL_NAMES_H_

#include <cstddef>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace tristage {

inline constexpr size_t kMaxNameBytes = 128;
inline constexpr size_t kMaxPathBytes = 1024;

absl::Status CheckName(absl::string_view field, absl::string_view value);
absl::Status CheckRelativePath(absl::string_view field, absl::string_view value);
// A relative path, or an absolute one ('/' then a relative path): for paths that are confined to
// a root afterwards (ResolveUnder), which also refuses what lies outside it.
absl::Status CheckPath(absl::string_view field, absl::string_view value);

// `value` for an error message: at most 64 bytes, non-printable bytes as \xNN.
std::string QuoteForError(absl::string_view value);

}  // namespace tristage

#endif  // TRISTAGE_CORE_UTIL_NAMES_H_
