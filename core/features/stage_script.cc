#include "core/features/stage_script.h"

#include "absl/strings/str_replace.h"
#include "core/data/table.h"
#include "core/features/common.h"
#include "core/features/missing_values.h"

namespace tristage::features {

std::string StageLibrarySource() {
  // Mirrors data::IsMissingValue, FillMissing, ParseNumberCell (absl::SimpleAtod's syntax:
  // decimal and hexadecimal floats, inf, infinity, nan; decimal numbers beyond double's range
  // give +-inf or +-0 as absl does, and within a power of ten of the limits, or hexadecimal ones
  // near them, are an error naming the feature),
  // StandardBool and the tokenizers of tokenizers.cc, byte for byte.
  return R"py(
def strings(self, column: Union[List[str], Tensor], name: str) -> List[str]:
    if isinstance(column, List[str]):
        return column
    assert False, "feature '" + name + "': expects a list of strings, got a tensor"
    empty: List[str] = []
    return empty

def is_missing(self, cell: str) -> bool:
    return cell.strip(self.whitespace) in self.missing_values

def fill_missing(self, column: List[str], name: str, strategy: str, has_fill: bool,
                 fill: str) -> List[str]:
    missing: List[bool] = []
    any_missing = False
    for cell in column:
        m = self.is_missing(cell)
        missing.append(m)
        any_missing = any_missing or m
    if not any_missing:
        return column
    if strategy == "drop_row":
        assert False, "feature '" + name + "': a value is missing and its missing_value_strategy is drop_row, which cannot drop rows at inference time; send a value"
    values: List[str] = []
    for i in range(len(column)):
        values.append(fill if missing[i] else column[i])
    if has_fill:
        return values
    filled: List[bool] = []
    for m in missing:
        filled.append(not m)
    forward = strategy == "ffill"
    self.sweep(values, filled, not forward)
    self.sweep(values, filled, forward)
    for f in filled:
        if not f:
            assert False, "feature '" + name + "': " + strategy + " found no value to fill with"
    return values

def sweep(self, values: List[str], filled: List[bool], from_end: bool):
    n = len(values)
    carry = ""
    has_carry = False
    for k in range(n):
        i = n - 1 - k if from_end else k
        if filled[i]:
            carry = values[i]
            has_carry = True
        elif has_carry:
            values[i] = carry
            filled[i] = True

def is_digit_byte(self, c: int) -> bool:
    return c >= 48 and c <= 57

def is_hex_byte(self, c: int) -> bool:
    return self.is_digit_byte(c) or (c >= 65 and c <= 70) or (c >= 97 and c <= 102)

def decimal_exponent(self, mantissa: str) -> int:
    # The power of ten of the first significant digit of "digits[.digits]"; -1000000 for zero.
    point = mantissa.find(".")
    whole = mantissa if point < 0 else mantissa[:point]
    fraction = "" if point < 0 else mantissa[point + 1:]
    lead = whole.lstrip("0")
    if len(lead) > 0:
        return len(lead) - 1
    rest = fraction.lstrip("0")
    if len(rest) == 0:
        return -1000000
    return len(rest) - len(fraction) - 1

def ranged_float(self, text: str, magnitude: int, negative: bool, cell: str, name: str) -> float:
    # float() fails on values beyond a double's range, where absl::SimpleAtod (training) gives
    # +-inf or +-0: the same here, from the value's power of ten. Right at the limits the two
    # could round differently, so that narrow band is a clear error instead.
    if magnitude == -1000000:
        return float(text)
    if magnitude >= 309:
        return float("-inf") if negative else float("inf")
    if magnitude <= -325:
        # (a -0.0 literal would be pooled with 0.0: TorchScript merges equal constants)
        return 0.0 * (-1.0 if negative else 1.0)
    if magnitude >= 308 or magnitude <= -308:
        assert False, "feature '" + name + "': '" + cell + "' is at the limit of a double's range (about 1e308 and 1e-308), where it cannot be read exactly as in training"
    return float(text)

def parse_number(self, cell: str, name: str) -> float:
    text = cell.strip(self.whitespace)
    negative = text.startswith("-")
    # The common form, [+-]digits[.digits], checked by a few native string operations: the check
    # below costs an interpreter step per character.
    body = text[1:] if text.startswith("+") or text.startswith("-") else text
    point = body.find(".")
    plain = body if point < 0 else body[:point] + body[point + 1:]
    if plain.isdigit():
        if len(body) < 300:
            return float(text)
        return self.ranged_float(text, self.decimal_exponent(body), negative, cell, name)
    n = len(text)
    i = 0
    if i < n and (text[i] == "+" or text[i] == "-"):
        i += 1
    word = text[i:].lower()
    ok = word == "inf" or word == "infinity" or word == "nan" or (word.startswith("nan(") and word.endswith(")"))
    hexadecimal = False
    mantissa_start = i
    mantissa_end = n
    exponent = 0
    exponent_digits = 0
    exponent_negative = False
    if not ok:
        hexadecimal = word.startswith("0x")
        if hexadecimal:
            i += 2
            mantissa_start = i
        digits = 0
        while i < n and (self.is_hex_byte(ord(text[i])) if hexadecimal else self.is_digit_byte(ord(text[i]))):
            i += 1
            digits += 1
        if i < n and text[i] == ".":
            i += 1
            while i < n and (self.is_hex_byte(ord(text[i])) if hexadecimal else self.is_digit_byte(ord(text[i]))):
                i += 1
                digits += 1
        ok = digits > 0
        mantissa_end = i
        marker = "p" if hexadecimal else "e"
        if ok and i < n and text[i:i + 1].lower() == marker:
            i += 1
            if i < n and (text[i] == "+" or text[i] == "-"):
                exponent_negative = text[i] == "-"
                i += 1
            while i < n and self.is_digit_byte(ord(text[i])):
                if exponent < 100000000:
                    exponent = exponent * 10 + ord(text[i]) - 48
                i += 1
                exponent_digits += 1
            ok = exponent_digits > 0
        ok = ok and i == n
    if not ok:
        assert False, "feature '" + name + "': '" + cell + "' is not a number"
    if exponent_negative:
        exponent = -exponent
    if hexadecimal:
        # A binary exponent: far from the limits float() reads it; near them, a clear error.
        if exponent > 900 or exponent < -900 or mantissa_end - mantissa_start > 200:
            assert False, "feature '" + name + "': '" + cell + "' is a hexadecimal number too large or too small to read here"
        return float(text)
    if exponent_digits > 0 or mantissa_end - mantissa_start >= 300:
        magnitude = self.decimal_exponent(text[mantissa_start:mantissa_end])
        if magnitude != -1000000:
            magnitude += exponent
        return self.ranged_float(text, magnitude, negative, cell, name)
    return float(text)

def standard_bool(self, cell: str) -> int:
    text = cell.strip(self.whitespace).lower()
    if text in self.true_spellings:
        return 1
    if text in self.false_spellings:
        return 0
    return -1

def is_space_byte(self, c: int) -> bool:
    return c == 32 or (c >= 9 and c <= 13)

def is_word_byte(self, c: int) -> bool:
    return c >= 128 or (c >= 48 and c <= 57) or (c >= 65 and c <= 90) or (c >= 97 and c <= 122) or c == 95

def first_pieces(self, text: str, separator: str, strip: bool, limit: int) -> List[str]:
    # The non-empty pieces of `text` between `separator`s (each stripped of whitespace when
    # `strip`), the first `limit` of them (all when limit < 0). Native splits, at most `limit`
    # pieces at a time: a cell with millions of separators costs copies of itself, never a list of
    # millions of strings, once `limit` pieces are found.
    pieces: List[str] = []
    rest = text
    while len(rest) > 0 and (limit < 0 or len(pieces) < limit):
        need = -1 if limit < 0 else limit - len(pieces)
        parts = rest.split(separator, need)
        whole = need < 0 or len(parts) <= need
        taken = parts if whole else parts[:need]
        for piece in taken:
            if strip:
                piece = piece.strip(self.whitespace)
            if len(piece) > 0 and (limit < 0 or len(pieces) < limit):
                pieces.append(piece)
        rest = "" if whole else parts[need].lstrip(separator)
    return pieces

def whitespace_pieces(self, text: str, limit: int) -> List[str]:
    spaced = text
    for c in self.whitespace_chars:
        spaced = spaced.replace(c, " ")
    return self.first_pieces(spaced, " ", False, limit)

def tokenize(self, text: str, tokenizer: str, limit: int) -> List[str]:
    # The first `limit` tokens (all when limit < 0): a text feature stops at the tokens it keeps.
    tokens: List[str] = []
    if tokenizer == "space":
        tokens = self.whitespace_pieces(text, limit)
    elif tokenizer == "space_punct":
        # Text of ASCII letters, digits, underscores and whitespace only (the common case) has the
        # space tokenizer's tokens, found with native string operations; the loop below costs an
        # interpreter step per character. Pieces of word bytes only are whole space_punct tokens,
        # so when the first `limit` pieces pass the check they are the first `limit` tokens.
        pieces = self.whitespace_pieces(text, limit)
        if "".join(pieces).replace("_", "").isalnum():
            return pieces
        n = len(text)
        i = 0
        while i < n and (limit < 0 or len(tokens) < limit):
            c = ord(text[i])
            if self.is_space_byte(c):
                i += 1
            elif self.is_word_byte(c):
                end = i + 1
                while end < n and self.is_word_byte(ord(text[end])):
                    end += 1
                tokens.append(text[i:end])
                i = end
            else:
                tokens.append(text[i:i + 1])
                i += 1
    elif tokenizer == "characters":
        n = len(text)
        i = 0
        while i < n and (limit < 0 or len(tokens) < limit):
            c = ord(text[i])
            end = i + 1
            while end < n and (ord(text[end]) & 192) == 128:
                end += 1
            if not self.is_space_byte(c):
                tokens.append(text[i:end])
            i = end
    elif tokenizer == "comma" or tokenizer == "underscore":
        separator = "," if tokenizer == "comma" else "_"
        tokens = self.first_pieces(text, separator, True, limit)
    else:
        assert False, "unknown tokenizer '" + tokenizer + "'"
    return tokens
)py";
}

StageAttributes StageLibraryAttributes() {
  c10::List<std::string> missing;
  for (absl::string_view spelling : data::MissingValueSpellings()) {
    missing.push_back(std::string(spelling));
  }
  return {
      {"whitespace", std::string(" \t\n\v\f\r")},
      {"tab", std::string("\t")},
      {"whitespace_chars", c10::List<std::string>({"\t", "\n", "\v", "\f", "\r"})},
      {"missing_values", missing},
      {"true_spellings", c10::List<std::string>({"true", "yes", "y", "t", "1", "1.0", "on"})},
      {"false_spellings", c10::List<std::string>({"false", "no", "n", "f", "0", "0.0", "off"})}};
}

StageAttributes FeatureCommonAttributes(const json& feature, const json& metadata,
                                        const std::string& prefix) {
  auto fill = metadata.find("computed_fill_value");
  const bool has_fill = fill != metadata.end() && fill->is_string();
  return {{prefix + "name", feature.at("name").get<std::string>()},
          {prefix + "strategy", MissingValueStrategy(feature)},
          {prefix + "has_fill", has_fill},
          {prefix + "fill", has_fill ? fill->get<std::string>() : std::string()}};
}

std::string FillMissingCall(const std::string& prefix) {
  return WithPrefix(
      "self.fill_missing(self.strings(column, self.$pname), self.$pname, self.$pstrategy, "
      "self.$phas_fill, self.$pfill)",
      prefix);
}

std::string WithPrefix(const std::string& source, const std::string& prefix) {
  return absl::StrReplaceAll(source, {{"$p", prefix}});
}

absl::StatusOr<c10::Dict<std::string, int64_t>> VocabularyDict(const json& metadata) {
  auto it = metadata.find("idx2str");
  if (it == metadata.end() || !it->is_array()) {
    return absl::InvalidArgumentError("feature metadata has no idx2str vocabulary");
  }
  c10::Dict<std::string, int64_t> dict;
  int64_t index = 0;
  for (const json& symbol : *it) {
    const std::string text = symbol.get<std::string>();
    if (!dict.contains(text)) dict.insert(text, index);
    ++index;
  }
  return dict;
}

c10::List<std::string> ClassList(const json& metadata) {
  c10::List<std::string> classes;
  for (const json& symbol : metadata.value("idx2str", json::array())) {
    classes.push_back(symbol.get<std::string>());
  }
  return classes;
}

}  // namespace tristage::features
