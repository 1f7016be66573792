#include "core/hyperopt/space.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/hyperopt/checks.h"
#include "core/util/strings.h"

namespace tristage::hyperopt {
namespace {

using Json = nlohmann::json;
using internal::CheckKeys;
using internal::Describe;
using internal::Error;
using internal::JoinNames;

constexpr char kRoot[] = "hyperopt.parameters";

struct SpaceInfo {
  SpaceKind kind;
  const char* name;
  std::vector<std::string> keys;  // besides `space`
};

const std::vector<SpaceInfo>& Spaces() {
  static const auto* spaces = new std::vector<SpaceInfo>{
      {SpaceKind::kChoice, "choice", {"categories"}},
      {SpaceKind::kGridSearch, "grid_search", {"values"}},
      {SpaceKind::kUniform, "uniform", {"lower", "upper"}},
      {SpaceKind::kQUniform, "quniform", {"lower", "upper", "q"}},
      {SpaceKind::kLogUniform, "loguniform", {"lower", "upper", "base"}},
      {SpaceKind::kQLogUniform, "qloguniform", {"lower", "upper", "q", "base"}},
      {SpaceKind::kRandInt, "randint", {"lower", "upper"}},
      {SpaceKind::kQRandInt, "qrandint", {"lower", "upper", "q"}},
      {SpaceKind::kRandn, "randn", {"mean", "sd"}},
      {SpaceKind::kQRandn, "qrandn", {"mean", "sd", "q"}},
  };
  return *spaces;
}

const SpaceInfo& InfoOf(SpaceKind kind) {
  for (const SpaceInfo& info : Spaces()) {
    if (info.kind == kind) return info;
  }
  return Spaces().front();  // unreachable: every kind is listed
}

bool IsLog(SpaceKind kind) {
  return kind == SpaceKind::kLogUniform || kind == SpaceKind::kQLogUniform;
}
bool IsBounded(SpaceKind kind) {
  return IsNumeric(kind) && kind != SpaceKind::kRandn && kind != SpaceKind::kQRandn;
}
bool IsInteger(SpaceKind kind) {
  return kind == SpaceKind::kRandInt || kind == SpaceKind::kQRandInt;
}
bool IsQuantized(SpaceKind kind) {
  return kind == SpaceKind::kQUniform || kind == SpaceKind::kQLogUniform ||
         kind == SpaceKind::kQRandInt || kind == SpaceKind::kQRandn;
}

// The multiples k*q within [lower, upper], as the range of k. Bounds that are multiples of q in
// decimal (0.3 with q 0.1) may not divide exactly in binary, hence the relative tolerance.
std::pair<double, double> MultipleRange(const ParameterSpace& space) {
  constexpr double kTolerance = 1e-9;
  const double low = space.lower / space.q;
  const double high = space.upper / space.q;
  return {std::ceil(low - kTolerance * std::fabs(low)),
          std::floor(high + kTolerance * std::fabs(high))};
}

// Parses the spec of one parameter into `space` (whose path and kind are set), key by key.
class SpecParser {
 public:
  SpecParser(const Json& spec, std::string path, ParameterSpace* space)
      : spec_(spec), path_(std::move(path)), space_(space) {}

  absl::Status Parse() {
    switch (space_->kind) {
      case SpaceKind::kChoice: return ParseValues("categories", "category");
      case SpaceKind::kGridSearch: return ParseValues("values", "value");
      case SpaceKind::kRandn:
      case SpaceKind::kQRandn: return ParseNormal();
      default: return ParseBounded();
    }
  }

 private:
  std::string Child(absl::string_view key) const { return absl::StrCat(path_, ".", key); }
  const char* Name() const { return InfoOf(space_->kind).name; }

  const Json* Find(const std::string& key) const {
    auto it = spec_.find(key);
    return it == spec_.end() || it->is_null() ? nullptr : &*it;
  }

  absl::StatusOr<const Json*> Require(const std::string& key) const {
    const Json* value = Find(key);
    if (value == nullptr) return Error(path_, absl::StrCat("missing required key '", key, "'"));
    return value;
  }

  // A number, or an integer for the integer spaces.
  absl::StatusOr<double> Number(const Json& value, const std::string& key) const {
    if (IsInteger(space_->kind)) {
      absl::StatusOr<int64_t> integer = internal::ReadInteger(value, Child(key));
      if (!integer.ok()) return integer.status();
      return static_cast<double>(*integer);
    }
    return internal::ReadNumber(value, Child(key));
  }

  absl::StatusOr<double> RequiredNumber(const std::string& key) const {
    absl::StatusOr<const Json*> value = Require(key);
    if (!value.ok()) return value.status();
    return Number(**value, key);
  }

  absl::StatusOr<double> OptionalNumber(const std::string& key, double fallback) const {
    const Json* value = Find(key);
    if (value == nullptr) return fallback;
    return Number(*value, key);
  }

  absl::Status ParseValues(const std::string& key, absl::string_view noun) {
    absl::StatusOr<const Json*> values = Require(key);
    if (!values.ok()) return values.status();
    if (!(*values)->is_array()) {
      return Error(Child(key), absl::StrCat("expected a list, got ", Describe(**values)));
    }
    if ((*values)->empty()) return Error(Child(key), absl::StrCat("must list at least one ", noun));
    space_->values.assign((*values)->begin(), (*values)->end());
    return absl::OkStatus();
  }

  absl::Status ParseNormal() {
    absl::StatusOr<double> mean = OptionalNumber("mean", 0);
    if (!mean.ok()) return mean.status();
    absl::StatusOr<double> sd = OptionalNumber("sd", 1);
    if (!sd.ok()) return sd.status();
    if (*sd <= 0) {
      return Error(Child("sd"), absl::StrCat(Name(), " needs sd > 0, got ", FormatNumber(*sd)));
    }
    space_->mean = *mean;
    space_->sd = *sd;
    if (space_->kind == SpaceKind::kQRandn) return ParseQ();
    return absl::OkStatus();
  }

  absl::Status ParseQ() {
    // qrandint's q defaults to 1 as Ray's; the float spaces have no natural step.
    absl::StatusOr<double> q =
        space_->kind == SpaceKind::kQRandInt ? OptionalNumber("q", 1) : RequiredNumber("q");
    if (!q.ok()) return q.status();
    const bool integer = IsInteger(space_->kind);
    if (integer ? *q < 1 : *q <= 0) {
      return Error(Child("q"), absl::StrCat(Name(), " needs q ", integer ? ">= 1" : "> 0", ", got ",
                                            FormatNumber(*q)));
    }
    space_->q = *q;
    return absl::OkStatus();
  }

  absl::Status ParseBounded() {
    absl::StatusOr<double> lower = RequiredNumber("lower");
    if (!lower.ok()) return lower.status();
    absl::StatusOr<double> upper = RequiredNumber("upper");
    if (!upper.ok()) return upper.status();
    space_->lower = *lower;
    space_->upper = *upper;
    if (IsLog(space_->kind) && *lower <= 0) {
      return Error(Child("lower"),
                   absl::StrCat(Name(), " needs lower > 0, got ", FormatNumber(*lower)));
    }
    const bool inclusive = space_->kind == SpaceKind::kQRandInt;
    if (inclusive ? *lower > *upper : *lower >= *upper) {
      return Error(Child("upper"), absl::StrCat(Name(), " needs lower ", inclusive ? "<=" : "<",
                                                " upper, got lower ", FormatNumber(*lower),
                                                " and upper ", FormatNumber(*upper)));
    }
    if (IsLog(space_->kind)) {
      absl::StatusOr<double> base = OptionalNumber("base", 10);
      if (!base.ok()) return base.status();
      if (*base <= 0 || *base == 1) {
        return Error(Child("base"),
                     absl::StrCat("must be a number > 0 other than 1, got ", FormatNumber(*base)));
      }
    }
    if (!IsQuantized(space_->kind)) return absl::OkStatus();
    if (absl::Status status = ParseQ(); !status.ok()) return status;
    const auto [first, last] = MultipleRange(*space_);
    if (first > last) {
      return Error(Child("q"), absl::StrCat("no multiple of q ", FormatNumber(space_->q),
                                            " lies within [", FormatNumber(space_->lower), ", ",
                                            FormatNumber(space_->upper), "]"));
    }
    return absl::OkStatus();
  }

  const Json& spec_;
  const std::string path_;
  ParameterSpace* space_;
};

std::optional<SpaceKind> KindNamed(const std::string& name) {
  for (const SpaceInfo& info : Spaces()) {
    if (name == info.name) return info.kind;
  }
  return std::nullopt;
}

absl::StatusOr<ParameterSpace> ParseSpace(const std::string& parameter, const Json& spec) {
  const std::string path = absl::StrCat(kRoot, ".", parameter);
  if (!spec.is_object()) {
    return Error(path, absl::StrCat("expected an object with a 'space' key, got ", Describe(spec)));
  }
  auto space_name = spec.find("space");
  if (space_name == spec.end() || space_name->is_null()) {
    return Error(path, "missing required key 'space'");
  }
  if (!space_name->is_string()) {
    return Error(absl::StrCat(path, ".space"),
                 absl::StrCat("expected a string, got ", Describe(*space_name)));
  }
  const std::optional<SpaceKind> kind = KindNamed(space_name->get<std::string>());
  if (!kind.has_value()) {
    return Error(absl::StrCat(path, ".space"),
                 absl::StrCat("unknown space '", space_name->get<std::string>(),
                              "' (known: ", JoinNames(SpaceNames()), ")"));
  }
  std::vector<std::string> keys = InfoOf(*kind).keys;
  keys.insert(keys.begin(), "space");
  if (absl::Status status = CheckKeys(spec, path, keys); !status.ok()) return status;

  ParameterSpace space;
  space.path = parameter;
  space.kind = *kind;
  if (absl::Status status = SpecParser(spec, path, &space).Parse(); !status.ok()) return status;
  return space;
}

}  // namespace

const std::vector<std::string>& SpaceNames() {
  static const auto* names = [] {
    auto* result = new std::vector<std::string>;
    for (const SpaceInfo& info : Spaces()) result->push_back(info.name);
    return result;
  }();
  return *names;
}

absl::StatusOr<std::vector<ParameterSpace>> ParseParameters(const Json& parameters) {
  if (!parameters.is_object()) {
    return Error(kRoot, absl::StrCat("expected an object mapping config paths to spaces, got ",
                                     Describe(parameters)));
  }
  if (parameters.empty()) {
    return Error(kRoot, "is empty (expected at least one parameter to search)");
  }
  std::vector<ParameterSpace> spaces;
  for (const auto& item : parameters.items()) {
    if (item.key().empty()) return Error(kRoot, "a parameter's path is empty");
    absl::StatusOr<ParameterSpace> space = ParseSpace(item.key(), item.value());
    if (!space.ok()) return space.status();
    spaces.push_back(*std::move(space));
  }
  return spaces;
}

bool IsNumeric(SpaceKind kind) {
  return kind != SpaceKind::kChoice && kind != SpaceKind::kGridSearch;
}

DrawRange DrawRangeOf(const ParameterSpace& space) {
  constexpr double kInfinity = std::numeric_limits<double>::infinity();
  switch (space.kind) {
    case SpaceKind::kRandn:
    case SpaceKind::kQRandn: return {-kInfinity, kInfinity, false};
    case SpaceKind::kLogUniform:
    case SpaceKind::kQLogUniform: return {std::log(space.lower), std::log(space.upper), true};
    case SpaceKind::kQRandInt: {
      // Every multiple gets a bin of width q, so each is equally likely.
      const auto [first, last] = MultipleRange(space);
      return {(first - 0.5) * space.q, (last + 0.5) * space.q, false};
    }
    default: return {space.lower, space.upper, false};
  }
}

Json ValueAt(const ParameterSpace& space, double draw) {
  double value = IsLog(space.kind) ? std::exp(draw) : draw;
  if (space.kind == SpaceKind::kRandInt) {
    value = std::clamp(std::floor(value), space.lower, space.upper - 1);
    return static_cast<int64_t>(value);
  }
  if (IsQuantized(space.kind)) {
    double multiple = std::round(value / space.q);
    if (IsBounded(space.kind)) {
      const auto [first, last] = MultipleRange(space);
      multiple = std::clamp(multiple, first, last);
    }
    value = multiple * space.q;
  }
  if (IsBounded(space.kind)) value = std::clamp(value, space.lower, space.upper);
  if (space.kind == SpaceKind::kQRandInt) return static_cast<int64_t>(std::llround(value));
  return value;
}

Json Sample(const ParameterSpace& space, std::mt19937_64& rng) {
  if (!IsNumeric(space.kind)) {
    if (space.values.empty()) return nullptr;  // not from ParseParameters
    std::uniform_int_distribution<size_t> index(0, space.values.size() - 1);
    return space.values[index(rng)];
  }
  if (space.kind == SpaceKind::kRandn || space.kind == SpaceKind::kQRandn) {
    std::normal_distribution<double> normal(space.mean, space.sd);
    return ValueAt(space, normal(rng));
  }
  const DrawRange range = DrawRangeOf(space);
  std::uniform_real_distribution<double> uniform(range.lower, range.upper);
  return ValueAt(space, uniform(rng));
}

}  // namespace tristage::hyperopt
