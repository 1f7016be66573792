// ParseConfigText and LoadConfigFile: YAML (or JSON) text to typed JSON.
//
// yaml-cpp gives every scalar as text; the types come from the YAML 1.2 core schema applied here:
// plain scalars may be null, booleans, integers or floats, while quoted and block scalars (tag "!")
// and !!str stay strings. YAML 1.1 words such as yes/no/on/off stay strings, so `lowercase: yes`
// is reported as a type error rather than silently read as true. Merge keys (`<<: *base`), which
// PyYAML-based Ludwig configs use, are applied; duplicate keys are errors.
#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "core/config/config.h"
#include "core/config/yaml_scalars.h"
#include "core/util/status_macros.h"
#include "core/util/strings.h"
#include "yaml-cpp/eventhandler.h"
#include "yaml-cpp/yaml.h"

namespace tristage::config {
namespace {

using Json = nlohmann::json;

constexpr char kStrTag[] = "tag:yaml.org,2002:str";
constexpr char kIntTag[] = "tag:yaml.org,2002:int";
constexpr char kFloatTag[] = "tag:yaml.org,2002:float";
constexpr char kBoolTag[] = "tag:yaml.org,2002:bool";
constexpr char kNullTag[] = "tag:yaml.org,2002:null";
constexpr int kMaxDepth = 1000;
// Aliases can make a small file expand exponentially ("billion laughs"); a config is far smaller.
constexpr int64_t kMaxNodes = 1000000;

std::string Where(const YAML::Mark& mark) {
  return absl::StrCat("line ", mark.line + 1, ", column ", mark.column + 1);
}

absl::Status ErrorAt(const YAML::Mark& mark, absl::string_view reason) {
  return absl::InvalidArgumentError(absl::StrCat(Where(mark), ": ", reason));
}

bool AllOf(absl::string_view text, bool (*predicate)(unsigned char)) {
  if (text.empty()) return false;
  for (const char c : text) {
    if (!predicate(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

bool IsDigit(unsigned char c) {
  return absl::ascii_isdigit(c);
}
bool IsOctal(unsigned char c) {
  return c >= '0' && c <= '7';
}
bool IsHex(unsigned char c) {
  return absl::ascii_isxdigit(c);
}

absl::string_view StripSign(absl::string_view text) {
  if (!text.empty() && (text[0] == '-' || text[0] == '+')) text.remove_prefix(1);
  return text;
}

int DigitValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  return absl::ascii_tolower(static_cast<unsigned char>(c)) - 'a' + 10;
}

// Accumulates `digits` in `base`; false on overflow of 64 bits.
bool Accumulate(absl::string_view digits, int base, uint64_t* out) {
  uint64_t value = 0;
  for (const char c : digits) {
    const uint64_t digit = static_cast<uint64_t>(DigitValue(c));
    if (value > (std::numeric_limits<uint64_t>::max() - digit) / base) return false;
    value = value * base + digit;
  }
  *out = value;
  return true;
}

// [-+]?[0-9]+, 0o[0-7]+, 0x[0-9a-fA-F]+
bool ParseInt(absl::string_view text, Json* out) {
  int base = 10;
  absl::string_view digits = StripSign(text);
  if (digits.size() > 2 && digits.size() == text.size() && digits[0] == '0' &&
      (digits[1] == 'o' || digits[1] == 'x')) {
    base = digits[1] == 'o' ? 8 : 16;
    digits.remove_prefix(2);
    if (!AllOf(digits, base == 8 ? IsOctal : IsHex)) return false;
  } else if (!AllOf(digits, IsDigit)) {
    return false;
  }
  const bool negative = !text.empty() && text[0] == '-';
  uint64_t magnitude = 0;
  if (!Accumulate(digits, base, &magnitude)) {
    double approximate = 0;  // beyond 64 bits: keep the magnitude as a float
    if (base != 10 || !absl::SimpleAtod(digits, &approximate)) return false;
    *out = negative ? -approximate : approximate;
    return true;
  }
  if (!negative) {
    *out = magnitude;
  } else if (magnitude <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) + 1) {
    *out = static_cast<int64_t>(0 - magnitude);
  } else {
    *out = -static_cast<double>(magnitude);
  }
  return true;
}

// [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?, [-+]?.inf, .nan (any of the 3 cases)
bool ParseFloat(absl::string_view text, Json* out) {
  const absl::string_view body = StripSign(text);
  const bool negative = !text.empty() && text[0] == '-';
  if (body == ".inf" || body == ".Inf" || body == ".INF") {
    *out = negative ? -std::numeric_limits<double>::infinity()
                    : std::numeric_limits<double>::infinity();
    return true;
  }
  if (text == ".nan" || text == ".NaN" || text == ".NAN") {
    *out = std::numeric_limits<double>::quiet_NaN();
    return true;
  }
  const size_t exponent_at = body.find_first_of("eE");
  const absl::string_view mantissa = body.substr(0, exponent_at);
  const size_t dot = mantissa.find('.');
  const absl::string_view whole = mantissa.substr(0, dot);
  const absl::string_view fraction =
      dot == absl::string_view::npos ? absl::string_view() : mantissa.substr(dot + 1);
  if (!whole.empty() && !AllOf(whole, IsDigit)) return false;
  if (!fraction.empty() && !AllOf(fraction, IsDigit)) return false;
  if (whole.empty() && fraction.empty()) return false;
  if (exponent_at != absl::string_view::npos &&
      !AllOf(StripSign(body.substr(exponent_at + 1)), IsDigit)) {
    return false;
  }
  double value = 0;
  if (!absl::SimpleAtod(body, &value)) return false;
  *out = negative ? -value : value;
  return true;
}

}  // namespace

Json ResolvePlainScalar(const std::string& text) {
  if (text.empty() || text == "~" || text == "null" || text == "Null" || text == "NULL") {
    return nullptr;
  }
  if (text == "true" || text == "True" || text == "TRUE") return true;
  if (text == "false" || text == "False" || text == "FALSE") return false;
  Json number;
  if (ParseInt(text, &number) || ParseFloat(text, &number)) return number;
  return text;
}

namespace {

// yaml-cpp passes bytes that are not UTF-8 through, and a config string JSON cannot print would
// not survive rendering (fuzz/corpus/config).
absl::Status CheckUtf8(const YAML::Node& node, const std::string& text) {
  const size_t at = InvalidUtf8At(text);
  if (at == absl::string_view::npos) return absl::OkStatus();
  return ErrorAt(node.Mark(), absl::StrCat("not valid UTF-8 (byte ", at + 1, " of this value)"));
}

bool MatchesTag(const std::string& tag, const Json& value) {
  if (tag == kIntTag) return value.is_number_integer();
  if (tag == kFloatTag) return value.is_number();
  if (tag == kBoolTag) return value.is_boolean();
  return value.is_null();  // kNullTag
}

absl::StatusOr<Json> ConvertScalar(const YAML::Node& node) {
  const std::string& tag = node.Tag();
  const std::string& text = node.Scalar();
  TRISTAGE_RETURN_IF_ERROR(CheckUtf8(node, text));
  if (tag == "!" || tag == kStrTag) return Json(text);
  if (tag == "?" || tag.empty()) return ResolvePlainScalar(text);
  if (tag == kIntTag || tag == kFloatTag || tag == kBoolTag || tag == kNullTag) {
    Json value = ResolvePlainScalar(text);
    if (!MatchesTag(tag, value)) {
      return ErrorAt(node.Mark(), absl::StrCat("'", text, "' is not a valid ", tag));
    }
    if (tag == kFloatTag) value = value.get<double>();
    return value;
  }
  return ErrorAt(node.Mark(), absl::StrCat("unsupported tag '", tag, "'"));
}

class Converter {
 public:
  absl::StatusOr<Json> Convert(const YAML::Node& node, int depth) {
    if (depth > kMaxDepth) return ErrorAt(node.Mark(), "nested too deeply");
    if (++nodes_ > kMaxNodes) return ErrorAt(node.Mark(), "too many values (alias expansion?)");
    switch (node.Type()) {
      case YAML::NodeType::Scalar: return ConvertScalar(node);
      case YAML::NodeType::Sequence: return ConvertSequence(node, depth);
      case YAML::NodeType::Map: return ConvertMap(node, depth);
      default:  // Null and Undefined; an empty !!str is still a string
        return node.Tag() == kStrTag ? Json("") : Json(nullptr);
    }
  }

 private:
  absl::StatusOr<Json> ConvertSequence(const YAML::Node& node, int depth) {
    Json array = Json::array();
    for (const YAML::Node& item : node) {
      TRISTAGE_ASSIGN_OR_RETURN(Json value, Convert(item, depth + 1));
      array.push_back(std::move(value));
    }
    return array;
  }

  static bool IsMergeKey(const YAML::Node& key) {
    return key.IsScalar() && key.Tag() == "?" && key.Scalar() == "<<";
  }

  absl::StatusOr<Json> ConvertMap(const YAML::Node& node, int depth) {
    Json object = Json::object();
    std::vector<Json> merged;  // `<<` sources: explicit keys win, then earlier sources
    for (const auto& entry : node) {
      const YAML::Node& key = entry.first;
      TRISTAGE_ASSIGN_OR_RETURN(Json value, Convert(entry.second, depth + 1));
      if (IsMergeKey(key)) {
        TRISTAGE_RETURN_IF_ERROR(AddMergeSources(key, std::move(value), &merged));
        continue;
      }
      if (!key.IsScalar()) return ErrorAt(key.Mark(), "mapping keys must be scalars");
      TRISTAGE_RETURN_IF_ERROR(CheckUtf8(key, key.Scalar()));
      if (object.contains(key.Scalar())) {
        return ErrorAt(key.Mark(), absl::StrCat("duplicate key '", key.Scalar(), "'"));
      }
      object[key.Scalar()] = std::move(value);
    }
    for (const Json& source : merged) {
      for (const auto& [key, value] : source.items()) {
        if (!object.contains(key)) object[key] = value;
      }
    }
    return object;
  }

  static absl::Status AddMergeSources(const YAML::Node& key, Json value,
                                      std::vector<Json>* merged) {
    if (value.is_object()) {
      merged->push_back(std::move(value));
      return absl::OkStatus();
    }
    const bool all_objects =
        value.is_array() && std::all_of(value.begin(), value.end(),
                                        [](const Json& source) { return source.is_object(); });
    if (!all_objects) {
      return ErrorAt(key.Mark(), "'<<' must merge a mapping or a list of mappings");
    }
    for (Json& source : value) merged->push_back(std::move(source));
    return absl::OkStatus();
  }

  int64_t nodes_ = 0;
};

// Where each document of a stream starts; nothing else is kept.
class DocumentStarts : public YAML::EventHandler {
 public:
  std::vector<YAML::Mark> marks;

  void OnDocumentStart(const YAML::Mark& mark) override { marks.push_back(mark); }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t,
                const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}
};

// OK when `text` holds at most one document. Not YAML::LoadAll: on a ',' where a document starts,
// yaml-cpp 0.7 reads an empty document without consuming the ',', so LoadAll loops for ever,
// growing its list (fuzz/corpus/config). Here at most three documents are read, and two starting
// at the same place mean the parser is stuck on a token it cannot use.
absl::Status CheckOneDocument(const std::string& text) {
  std::istringstream stream(text);
  YAML::Parser parser(stream);
  DocumentStarts starts;
  for (int i = 0; i < 3 && parser.HandleNextDocument(starts); ++i) {
  }
  for (size_t i = 1; i < starts.marks.size(); ++i) {
    const YAML::Mark& at = starts.marks[i];
    if (at.pos == starts.marks[i - 1].pos) {
      const char c = at.pos >= 0 && static_cast<size_t>(at.pos) < text.size() ? text[at.pos] : ' ';
      return ErrorAt(at, absl::StrCat("unexpected '", std::string(1, c), "'"));
    }
  }
  if (starts.marks.size() > 1) {
    return ErrorAt(starts.marks[1], "a config is one YAML document, found another here");
  }
  return absl::OkStatus();
}

absl::StatusOr<Json> ParseYaml(const std::string& text) {
  YAML::Node document;
  try {
    TRISTAGE_RETURN_IF_ERROR(CheckOneDocument(text));
    document = YAML::Load(text);
  } catch (const YAML::Exception& error) {
    if (error.mark.is_null()) return absl::InvalidArgumentError(error.msg);
    return ErrorAt(error.mark, error.msg);
  } catch (const std::exception& error) {
    return absl::InvalidArgumentError(error.what());
  }
  try {
    return Converter().Convert(document, 0);
  } catch (const std::exception& error) {  // yaml-cpp node access, defensively
    return absl::InvalidArgumentError(error.what());
  }
}

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::error_code error;
  if (!std::filesystem::exists(path, error)) {
    return absl::NotFoundError(absl::StrCat("config file not found: ", path));
  }
  if (std::filesystem::is_directory(path, error)) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": is a directory, not a config file"));
  }
  std::ifstream file(path, std::ios::binary);
  if (!file) {
    return absl::PermissionDeniedError(absl::StrCat(path, ": ", ErrnoText(errno)));
  }
  std::ostringstream contents;
  contents << file.rdbuf();
  if (file.bad()) return absl::DataLossError(absl::StrCat(path, ": read failed"));
  return contents.str();
}

}  // namespace

absl::StatusOr<nlohmann::json> ParseConfigText(absl::string_view text) {
  return ParseYaml(std::string(text));
}

absl::StatusOr<nlohmann::json> LoadConfigFile(const std::string& path) {
  TRISTAGE_ASSIGN_OR_RETURN(const std::string text, ReadFile(path));
  absl::StatusOr<Json> parsed = ParseYaml(text);
  if (!parsed.ok()) {
    return absl::Status(parsed.status().code(),
                        absl::StrCat(path, ": ", parsed.status().message()));
  }
  return parsed;
}

}  // namespace tristage::config
