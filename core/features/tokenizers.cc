#include "core/features/tokenizers.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace tristage::features {
namespace {

bool IsWordByte(unsigned char c) {
  return c >= 0x80 || absl::ascii_isalnum(c) || c == '_';
}

std::vector<std::string> Space(absl::string_view text) {
  return absl::StrSplit(text, absl::ByAnyChar(" \t\n\r\f\v"), absl::SkipEmpty());
}

std::vector<std::string> SpacePunct(absl::string_view text) {
  std::vector<std::string> tokens;
  size_t i = 0;
  while (i < text.size()) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (absl::ascii_isspace(c)) {
      ++i;
    } else if (IsWordByte(c)) {
      size_t end = i;
      while (end < text.size() && IsWordByte(static_cast<unsigned char>(text[end]))) ++end;
      tokens.emplace_back(text.substr(i, end - i));
      i = end;
    } else {
      tokens.emplace_back(1, static_cast<char>(c));
      ++i;
    }
  }
  return tokens;
}

std::vector<std::string> Characters(absl::string_view text) {
  std::vector<std::string> tokens;
  size_t i = 0;
  while (i < text.size()) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    // A UTF-8 lead byte followed by its continuation bytes (10xxxxxx) is one character.
    size_t end = i + 1;
    while (end < text.size() && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) ++end;
    if (!absl::ascii_isspace(c)) tokens.emplace_back(text.substr(i, end - i));
    i = end;
  }
  return tokens;
}

Tokenizer SplitOn(char separator) {
  return [separator](absl::string_view text) {
    std::vector<std::string> tokens;
    for (absl::string_view piece : absl::StrSplit(text, separator)) {
      piece = absl::StripAsciiWhitespace(piece);
      if (!piece.empty()) tokens.emplace_back(piece);
    }
    return tokens;
  };
}

}  // namespace

absl::StatusOr<Tokenizer> FindTokenizer(absl::string_view name) {
  if (name == "space") return Tokenizer(Space);
  if (name == "space_punct") return Tokenizer(SpacePunct);
  if (name == "characters") return Tokenizer(Characters);
  if (name == "comma") return SplitOn(',');
  if (name == "underscore") return SplitOn('_');
  return absl::InvalidArgumentError(absl::StrCat(
      "unknown tokenizer '", name, "' (known: space, space_punct, characters, comma, underscore)"));
}

std::string LowercaseAscii(absl::string_view text) {
  return absl::AsciiStrToLower(text);
}

}  // namespace tristage::features
