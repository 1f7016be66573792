// Internal to core/config: one configurable parameter (name, default, what values are valid) and
// the checks that turn a user value into its canonical resolved form.
//
// Schema tables (schema_*.cc) are lists of Params built with the factory functions below, e.g.
//   Int("epochs", 100).AtLeast(1)
//   Number("dropout", 0.0).InRange(0, 1, /*upper_open=*/true)
//   Choice("cell_type", "rnn", {"rnn", "lstm", "gru"})
// A Param whose default is null accepts null.
#ifndef TRISTAGE_CORE_CONFIG_PARAMS_H_
#define TRISTAGE_CORE_CONFIG_PARAMS_H_

#include <limits>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "nlohmann/json.hpp"

namespace tristage::config {

using Json = nlohmann::json;

// Checks a value that no generic kind describes (e.g. split probabilities) and returns its
// canonical form. `path` is the key path for error messages.
using CustomCheck = absl::StatusOr<Json> (*)(const Json& value, const std::string& path);

struct Param {
  enum class Kind {
    kBool,    // true/false only
    kInt,     // integers; 10.0 is accepted as 10
    kNumber,  // any number, stored as a double
    kString,  // any string
    kChoice,  // one of `choices`
    kObject,  // any object (free-form, e.g. norm_params)
    kCustom,  // `custom` decides
  };

  std::string name;
  Kind kind = Kind::kString;
  Json default_value;     // null means the parameter also accepts null
  bool nullable = false;  // accepts null even when the default is not null
  bool required = false;  // the user must give a non-null value (the default is null)
  double min = -std::numeric_limits<double>::infinity();
  double max = std::numeric_limits<double>::infinity();
  bool min_open = false;
  bool max_open = false;
  std::vector<std::string> choices;
  CustomCheck custom = nullptr;

  // Fluent modifiers for schema tables; each returns a modified copy.
  Param AtLeast(double lower) const;
  Param Above(double lower) const;  // exclusive
  Param InRange(double lower, double upper, bool upper_open = false) const;
  Param OrNull() const;
  Param Required() const;
  Param WithDefault(Json value) const;

  // Null is valid when the param is nullable or its default is null (unless it is required).
  bool AcceptsNull() const;
};

Param Bool(std::string name, bool default_value);
Param Int(std::string name, Json default_value);
Param Number(std::string name, Json default_value);
Param String(std::string name, Json default_value);
Param Choice(std::string name, Json default_value, std::vector<std::string> choices);
Param Object(std::string name);  // free-form object, default null
Param Custom(std::string name, Json default_value, CustomCheck check);

// Key paths: Child("trainer", "epochs") == "trainer.epochs", Index("input_features", 2) ==
// "input_features[2]". An empty parent yields just the key.
std::string Child(absl::string_view parent, absl::string_view key);
std::string Index(absl::string_view parent, size_t index);

// A value as it appears in error messages: compact JSON, strings in double quotes, truncated.
std::string Describe(const Json& value);

// "<path>: <reason>" as InvalidArgument. Every config error goes through here so the format is
// uniform; a path of "" reads "config".
absl::Status ConfigError(absl::string_view path, absl::string_view reason);

// "<path>: unknown key (did you mean 'x'?)", or listing `known` when nothing is close.
absl::Status UnknownKeyError(absl::string_view path, absl::string_view key,
                             const std::vector<std::string>& known);

// "expected <what>, got <value>".
absl::Status TypeError(absl::string_view path, absl::string_view what, const Json& value);

// Returns the canonical form of `value` for `param`, or an error naming `path`.
absl::StatusOr<Json> CheckParam(const Param& param, const Json& value, const std::string& path);

// {name: default} for every param, in table order.
Json DefaultsOf(const std::vector<Param>& params);

// Names of the params, in table order.
std::vector<std::string> NamesOf(const std::vector<Param>& params);

const Param* FindParam(const std::vector<Param>& params, absl::string_view name);

// Checks every key of `overrides` (an object) against `params` and writes its canonical value into
// `*target`. Keys in `extra_known` are skipped (the caller handles them) but count as known for
// suggestions. Errors name `path`.<key>.
absl::Status OverlayParams(const std::vector<Param>& params, const Json& overrides,
                           const std::string& path, Json* target,
                           const std::vector<std::string>& extra_known = {});

// Errors when a required param of `params` is still null in `resolved`.
absl::Status CheckRequired(const std::vector<Param>& params, const Json& resolved,
                           const std::string& path, absl::string_view context);

// Error unless `value` is an object; `what` is used as "expected an object" otherwise.
absl::Status ExpectObject(const Json& value, const std::string& path);

// Comma-separated list, "a, b, c".
std::string JoinNames(const std::vector<std::string>& names);

}  // namespace tristage::config

#endif  // TRISTAGE_CORE_CONFIG_PARAMS_H_
