// Small string helpers used when building error messages for users.
#ifndef TRISTAGE_CORE_UTIL_STRINGS_H_
#define TRISTAGE_CORE_UTIL_STRINGS_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace tristage {

// Levenshtein distance between two byte strings.
int EditDistance(absl::string_view a, absl::string_view b);

// The candidate closest to `word`, when it is close enough to be a plausible typo (distance at
// most max(2, |word|/3), or `word` is a prefix of it); empty when none is.
std::string ClosestMatch(absl::string_view word, const std::vector<std::string>& candidates);

// " (did you mean 'x'?)" for the closest candidate, or "" when none is close.
std::string DidYouMean(absl::string_view word, const std::vector<std::string>& candidates,
                       absl::string_view prefix = "");

// strerror(3) text for `error_number`, thread-safe (strerror itself is not).
std::string ErrnoText(int error_number);

// Formats a number the way prediction files write it: the shortest text that reads back as the
// same value of that precision (so float32 model outputs print as "0.1", not "0.100000001").
std::string FormatNumber(double value);
// Byte offset of the first byte that does not start a well-formed UTF-8 sequence (overlong forms,
// surrogates and code points past U+10FFFF are not well-formed), or npos when `text` is UTF-8.
size_t InvalidUtf8At(absl::string_view text);
// `text` when it has at most `limit` bytes; otherwise its first bytes up to `limit`, cut at a UTF-8
// character boundary, followed by " [N more bytes]".
std::string CutUtf8(absl::string_view text, size_t limit);
std::string FormatNumber(float value);

}  // namespace tristage

#endif  // TRISTAGE_CORE_UTIL_STRINGS_H_
