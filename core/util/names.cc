#include "core/util/names.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"

namespace tristage {
namespace {

bool NameByte(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '-';
}

absl::Status Refuse(absl::string_view field, absl::string_view value, absl::string_view reason) {
  return absl::InvalidArgumentError(
      absl::StrCat(field, ": ", QuoteForError(value), " ", reason));
}

// Empty when `part` is a valid name, else why not.
std::string NameProblem(absl::string_view part) {
  if (part.empty()) return "is empty";
  if (part.size() > kMaxNameBytes) {
    return absl::StrCat("is ", part.size(), " bytes long (at most ", kMaxNameBytes, ")");
  }
  for (char c : part) {
    if (c == '\0') return "contains a NUL byte";
    if (c == '/') return "contains '/'";
    if (!NameByte(c)) {
      return absl::StrFormat("contains the byte 0x%02x", static_cast<unsigned char>(c));
    }
  }
  if (part == "." || part == "..") return "is not a name ('.' and '..' are not allowed)";
  if (part.front() == '.') return "starts with '.'";
  if (part.front() == '-') return "starts with '-' (it would read as a flag)";
  return "";
}

}  // namespace

std::string QuoteForError(absl::string_view value) {
  constexpr size_t kShown = 64;
  std::string out = "'";
  for (size_t i = 0; i < value.size() && i < kShown; ++i) {
    const unsigned char c = static_cast<unsigned char>(value[i]);
    if (c < 0x20 || c >= 0x7f || c == '\\' || c == '\'') {
      absl::StrAppendFormat(&out, "\\x%02x", c);
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  out += "'";
  if (value.size() > kShown) absl::StrAppend(&out, " (", value.size(), " bytes)");
  return out;
}

absl::Status CheckName(absl::string_view field, absl::string_view value) {
  const std::string problem = NameProblem(value);
  if (problem.empty()) return absl::OkStatus();
  return Refuse(field, value, absl::StrCat(problem, ": a name is 1-", kMaxNameBytes,
                                           " ASCII letters, digits, '.', '_' or '-', not starting "
                                           "with '.' or '-'"));
}

absl::Status CheckRelativePath(absl::string_view field, absl::string_view value) {
  if (value.empty()) return Refuse(field, value, "is empty");
  if (value.size() > kMaxPathBytes) {
    return Refuse(field, value,
                  absl::StrCat("is ", value.size(), " bytes long (at most ", kMaxPathBytes, ")"));
  }
  if (value.front() == '/') return Refuse(field, value, "is an absolute path (a relative one is expected)");
  for (absl::string_view part : absl::StrSplit(value, '/')) {
    const std::string problem = NameProblem(part);
    if (!problem.empty()) {
      return Refuse(field, value,
                    absl::StrCat("has a part ", QuoteForError(part), " that ", problem,
                                 ": a path is names joined by '/'"));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckPath(absl::string_view field, absl::string_view value) {
  if (!value.empty() && value.front() == '/') {
    if (value.size() > kMaxPathBytes) {
      return Refuse(field, value,
                    absl::StrCat("is ", value.size(), " bytes long (at most ", kMaxPathBytes, ")"));
    }
    return CheckRelativePath(field, value.substr(1));
  }
  return CheckRelativePath(field, value);
}

}  // namespace tristage
