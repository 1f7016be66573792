#include "core/util/flags.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "core/util/status_macros.h"
#include "core/util/strings.h"

namespace tristage {
namespace {

std::string Normalize(absl::string_view name) {
  return absl::StrReplaceAll(name, {{"-", "_"}});
}

const FlagSpec* FindShort(absl::Span<const FlagSpec> specs, absl::string_view short_name) {
  for (const FlagSpec& spec : specs) {
    if (!spec.short_name.empty() && spec.short_name == short_name) return &spec;
  }
  return nullptr;
}

bool ParseBoolText(absl::string_view text, bool* out) {
  const std::string lower = absl::AsciiStrToLower(text);
  if (lower == "true" || lower == "1" || lower == "yes") {
    *out = true;
    return true;
  }
  if (lower == "false" || lower == "0" || lower == "no") {
    *out = false;
    return true;
  }
  return false;
}

// A token that starts a new flag rather than a value ("-5" and "-0.1" are values).
bool LooksLikeFlag(absl::string_view token) {
  if (token.size() < 2 || token[0] != '-') return false;
  return !(absl::ascii_isdigit(token[1]) || token[1] == '.');
}

absl::Status UnknownFlag(absl::Span<const FlagSpec> specs, absl::string_view token) {
  absl::string_view bare = token;
  while (!bare.empty() && bare.front() == '-') bare.remove_prefix(1);
  std::vector<std::string> names;
  for (const FlagSpec& spec : specs) names.push_back(Normalize(spec.name));
  const std::string match = ClosestMatch(Normalize(bare), names);
  std::string hint;
  if (!match.empty()) {
    const FlagSpec* spec = &specs[std::find(names.begin(), names.end(), match) - names.begin()];
    hint = absl::StrCat(" (did you mean '--", spec->name, "'?)");
  }
  return absl::InvalidArgumentError(absl::StrCat("unknown flag '", token, "'", hint));
}

}  // namespace

const FlagSpec* FindFlag(absl::Span<const FlagSpec> specs, absl::string_view long_name) {
  const std::string wanted = Normalize(long_name);
  for (const FlagSpec& spec : specs) {
    if (Normalize(spec.name) == wanted) return &spec;
  }
  return nullptr;
}

absl::Status ValidateFlagValue(const FlagSpec& spec, absl::string_view value) {
  if (spec.kind == FlagKind::kBool) {
    bool ignored;
    if (!ParseBoolText(value, &ignored)) {
      return absl::InvalidArgumentError(
          absl::StrCat("flag --", spec.name, ": '", value, "' is not true or false"));
    }
    return absl::OkStatus();
  }
  if (spec.choices.empty() ||
      std::find(spec.choices.begin(), spec.choices.end(), value) != spec.choices.end()) {
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError(absl::StrCat("flag --", spec.name, ": invalid choice '", value,
                                                 "' (choose from ",
                                                 absl::StrJoin(spec.choices, ", "), ")"));
}

absl::StatusOr<ParsedFlags> ParseFlags(absl::Span<const FlagSpec> specs,
                                       absl::Span<const std::string> args, bool allow_positional) {
  ParsedFlags parsed;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& token = args[i];
    if (token == "--") {
      if (!allow_positional && i + 1 < args.size()) {
        return absl::InvalidArgumentError(absl::StrCat("unexpected argument '", args[i + 1], "'"));
      }
      parsed.positional_.insert(parsed.positional_.end(), args.begin() + i + 1, args.end());
      break;
    }
    if (!LooksLikeFlag(token)) {
      if (!allow_positional) {
        return absl::InvalidArgumentError(absl::StrCat("unexpected argument '", token, "'"));
      }
      parsed.positional_.push_back(token);
      continue;
    }
    const bool is_long = absl::StartsWith(token, "--");
    absl::string_view body = absl::string_view(token).substr(is_long ? 2 : 1);
    std::optional<std::string> inline_value;
    if (const size_t eq = body.find('='); eq != absl::string_view::npos) {
      inline_value = std::string(body.substr(eq + 1));
      body = body.substr(0, eq);
    }
    // Ludwig accepts its short spellings with one dash; long names are accepted with one too.
    const FlagSpec* spec = is_long ? FindFlag(specs, body) : FindShort(specs, body);
    if (spec == nullptr && !is_long) spec = FindFlag(specs, body);
    if (spec == nullptr) return UnknownFlag(specs, token.substr(0, token.find('=')));

    std::vector<std::string>& values = parsed.values_[spec->name];
    switch (spec->kind) {
      case FlagKind::kBool: {
        const std::string text = inline_value.value_or("true");
        TRISTAGE_RETURN_IF_ERROR(ValidateFlagValue(*spec, text));
        values = {text};
        break;
      }
      case FlagKind::kValue: {
        if (!inline_value.has_value()) {
          if (i + 1 >= args.size() || LooksLikeFlag(args[i + 1])) {
            return absl::InvalidArgumentError(
                absl::StrCat("flag --", spec->name, " needs a value"));
          }
          inline_value = args[++i];
        }
        TRISTAGE_RETURN_IF_ERROR(ValidateFlagValue(*spec, *inline_value));
        values = {*inline_value};
        break;
      }
      case FlagKind::kList: {
        values.clear();
        if (inline_value.has_value()) values.push_back(*inline_value);
        while (i + 1 < args.size() && !LooksLikeFlag(args[i + 1]) && args[i + 1] != "--") {
          values.push_back(args[++i]);
        }
        if (values.empty()) {
          return absl::InvalidArgumentError(
              absl::StrCat("flag --", spec->name, " needs at least one value"));
        }
        for (const std::string& value : values) {
          TRISTAGE_RETURN_IF_ERROR(ValidateFlagValue(*spec, value));
        }
        break;
      }
    }
  }
  return parsed;
}

bool ParsedFlags::Has(absl::string_view name) const {
  return values_.find(name) != values_.end();
}

std::optional<std::string> ParsedFlags::Get(absl::string_view name) const {
  auto it = values_.find(name);
  if (it == values_.end() || it->second.empty()) return std::nullopt;
  return it->second.back();
}

std::string ParsedFlags::GetOr(absl::string_view name, absl::string_view fallback) const {
  std::optional<std::string> value = Get(name);
  return value.has_value() ? *value : std::string(fallback);
}

bool ParsedFlags::GetBool(absl::string_view name) const {
  std::optional<std::string> value = Get(name);
  bool result = false;
  return value.has_value() && ParseBoolText(*value, &result) && result;
}

absl::StatusOr<int> ParsedFlags::GetInt(absl::string_view name, int fallback, int min,
                                        int max) const {
  const std::optional<std::string> text = Get(name);
  if (!text.has_value()) return fallback;
  int value = 0;
  if (!absl::SimpleAtoi(*text, &value) || value < min || value > max) {
    return absl::InvalidArgumentError(absl::StrCat("--", name, ": '", text->substr(0, 64),
                                                   "' is not an integer in [", min, ", ", max,
                                                   "]"));
  }
  return value;
}

std::vector<std::string> ParsedFlags::GetList(absl::string_view name) const {
  auto it = values_.find(name);
  return it == values_.end() ? std::vector<std::string>{} : it->second;
}

void ParsedFlags::SetIfAbsent(const std::string& name, const std::vector<std::string>& values) {
  values_.try_emplace(name, values);
}

std::string FormatFlagsHelp(absl::Span<const FlagSpec> specs) {
  std::vector<std::string> left;
  size_t width = 0;
  for (const FlagSpec& spec : specs) {
    std::string text = "  ";
    if (!spec.short_name.empty()) absl::StrAppend(&text, "-", spec.short_name, ", ");
    absl::StrAppend(&text, "--", spec.name);
    if (spec.kind == FlagKind::kValue) absl::StrAppend(&text, " VALUE");
    if (spec.kind == FlagKind::kList) absl::StrAppend(&text, " VALUE [VALUE ...]");
    width = std::max(width, text.size());
    left.push_back(std::move(text));
  }
  std::string out;
  for (size_t i = 0; i < specs.size(); ++i) {
    const FlagSpec& spec = specs[i];
    absl::StrAppend(&out, left[i], std::string(width + 2 - left[i].size(), ' '), spec.help);
    if (!spec.choices.empty()) absl::StrAppend(&out, " {", absl::StrJoin(spec.choices, ","), "}");
    if (!spec.default_value.empty()) absl::StrAppend(&out, " (default: ", spec.default_value, ")");
    absl::StrAppend(&out, "\n");
  }
  return out;
}

}  // namespace tristage
