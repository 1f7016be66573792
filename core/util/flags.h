// Command-line flag parsing shared by the `tristage` CLI and the `tristage-server` daemon.
//
// A program declares its flags as a list of FlagSpec and calls ParseFlags. Long names match with
// `-` and `_` treated alike (`--grpc-port` == `--grpc_port`, Ludwig's `--output_directory` ==
// `--output-directory`); values come as `--name value` or `--name=value`; a spec may also have a
// short spelling (`-od`). Errors are values: an unknown flag, a missing value or a value outside
// `choices` returns InvalidArgument naming the flag and, for unknown ones, the closest valid flag.
//
// Thread safety: all functions are pure; ParsedFlags is a value type.
#ifndef TRISTAGE_CORE_UTIL_FLAGS_H_
#define TRISTAGE_CORE_UTIL_FLAGS_H_

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace tristage {

enum class FlagKind {
  kBool,   // present -> true; `--name=false` also accepted.
  kValue,  // exactly one value.
  kList,   // one or more values, up to the next token that starts with '-'.
};

struct FlagSpec {
  std::string name;        // canonical long name, without dashes: "output_directory".
  std::string short_name;  // without the dash: "od"; empty for none.
  FlagKind kind = FlagKind::kValue;
  std::string help;
  std::string default_value;         // shown in --help; not applied by the parser.
  std::vector<std::string> choices;  // when non-empty, every value must be one of these.
};

// The result of parsing. Keys are canonical spec names.
class ParsedFlags {
 public:
  bool Has(absl::string_view name) const;
  // The last value of a kValue flag, or nullopt when absent.
  std::optional<std::string> Get(absl::string_view name) const;
  std::string GetOr(absl::string_view name, absl::string_view fallback) const;
  bool GetBool(absl::string_view name) const;  // false when absent.
  // The integer value of `name` within [min, max], or `fallback` when absent; InvalidArgument
  // "--name: '<value>' is not an integer in [min, max]" (the value cut to 64 bytes) otherwise.
  absl::StatusOr<int> GetInt(absl::string_view name, int fallback, int min, int max) const;
  std::vector<std::string> GetList(absl::string_view name) const;
  const std::vector<std::string>& positional() const { return positional_; }

  // Sets `name` unless the command line already did; used to layer a config file under flags.
  void SetIfAbsent(const std::string& name, const std::vector<std::string>& values);

 private:
  friend absl::StatusOr<ParsedFlags> ParseFlags(absl::Span<const FlagSpec>,
                                                absl::Span<const std::string>, bool);
  std::map<std::string, std::vector<std::string>, std::less<>> values_;
  std::vector<std::string> positional_;
};

// Parses `args` (without the program or verb name). `-h`/`--help` is not special here; callers
// declare it like any bool flag. When `allow_positional` is false a bare word is an error.
absl::StatusOr<ParsedFlags> ParseFlags(absl::Span<const FlagSpec> specs,
                                       absl::Span<const std::string> args,
                                       bool allow_positional = false);

// Finds the spec for a long name, matching `-` and `_` alike; nullptr when there is none.
const FlagSpec* FindFlag(absl::Span<const FlagSpec> specs, absl::string_view long_name);

// Checks a value against spec.choices and, for kBool, true/false spellings. InvalidArgument names
// the flag and lists the valid choices.
absl::Status ValidateFlagValue(const FlagSpec& spec, absl::string_view value);

// One line per flag, aligned: "  -od, --output_directory VALUE  help (default: results)".
std::string FormatFlagsHelp(absl::Span<const FlagSpec> specs);

}  // namespace tristage

#endif  // TRISTAGE_CORE_UTIL_FLAGS_H_
