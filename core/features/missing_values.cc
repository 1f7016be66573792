#include "core/features/missing_values.h"

#include <algorithm>
#include <map>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "core/features/common.h"
#include "core/features/feature.h"

namespace tristage::features {
namespace {

using nlohmann::json;

std::string ColumnName(const json& feature) {
  return feature.value("column", feature.value("name", std::string()));
}

std::string FillValueText(const json& value) {
  if (value.is_string()) return value.get<std::string>();
  if (value.is_boolean()) return value.get<bool>() ? "true" : "false";
  if (value.is_number_integer()) return std::to_string(value.get<int64_t>());
  if (value.is_number()) return FormatNumber(value.get<double>());
  return value.dump();
}

absl::StatusOr<std::string> Mean(const json& feature, const data::Column& column) {
  double sum = 0;
  int64_t count = 0;
  for (size_t row = 0; row < column.size(); ++row) {
    if (column.null(row)) continue;
    double value = 0;
    if (!absl::SimpleAtod(column.values[row], &value)) {
      return absl::InvalidArgumentError(absl::StrCat("column '", ColumnName(feature),
                                                     "': fill_with_mean needs numbers, row ", row,
                                                     " has '", column.values[row], "'"));
    }
    sum += value;
    ++count;
  }
  if (count == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("column '", ColumnName(feature),
                     "': every training value is missing, no mean to fill with"));
  }
  return FormatNumber(sum / static_cast<double>(count));
}

absl::StatusOr<std::string> Mode(const json& feature, const data::Column& column) {
  std::map<std::string, int64_t> counts;
  std::vector<std::string> first_seen;
  for (size_t row = 0; row < column.size(); ++row) {
    if (column.null(row)) continue;
    if (++counts[column.values[row]] == 1) first_seen.push_back(column.values[row]);
  }
  if (first_seen.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("column '", ColumnName(feature),
                     "': every training value is missing, no mode to fill with"));
  }
  // Strictly greater in first-seen order: ties go to the value that appears first, as in the
  // category vocabulary (and pandas' value_counts, which Ludwig takes the first of).
  std::string best = first_seen.front();
  for (const std::string& value : first_seen) {
    if (counts[value] > counts[best]) best = value;
  }
  return best;
}

// fill_with_false: the false label BinaryType::Fit will see, so filling adds no third value.
// A column of boolean spellings: its first false spelling, else "false". Otherwise (two labels):
// the one that is not the true label (fallback_true_label, else the greater in byte order).
std::string FalseLabel(const json& feature, const data::Column& column) {
  std::vector<std::string> distinct;
  bool all_standard = true;
  for (size_t row = 0; row < column.size(); ++row) {
    if (column.null(row)) continue;
    const std::string& value = column.values[row];
    if (std::find(distinct.begin(), distinct.end(), value) != distinct.end()) continue;
    distinct.push_back(value);
    all_standard = all_standard && StandardBool(value) >= 0;
  }
  if (all_standard) {
    for (const std::string& value : distinct) {
      if (StandardBool(value) == 0) return value;
    }
    return "false";
  }
  std::sort(distinct.begin(), distinct.end());
  const json& fallback = PreprocessingOf(feature).value("fallback_true_label", json());
  const std::string true_label =
      fallback.is_string() ? fallback.get<std::string>() : distinct.back();
  for (const std::string& value : distinct) {
    if (value != true_label) return value;
  }
  return "false";
}

}  // namespace

std::string MissingValueStrategy(const json& feature) {
  const json& preprocessing = feature.contains("preprocessing") ? feature["preprocessing"] : json();
  if (preprocessing.is_object()) {
    auto it = preprocessing.find("missing_value_strategy");
    if (it != preprocessing.end() && it->is_string()) return it->get<std::string>();
  }
  return "fill_with_const";
}

absl::StatusOr<std::optional<std::string>> ComputeFillValue(const json& feature,
                                                            const data::Column& training) {
  const std::string strategy = MissingValueStrategy(feature);
  if (strategy == "fill_with_mean") return Mean(feature, training);
  if (strategy == "fill_with_mode") return Mode(feature, training);
  if (strategy == "fill_with_false") {
    return std::optional<std::string>(FalseLabel(feature, training));
  }
  if (strategy == "fill_with_const") {
    const json& preprocessing = feature.value("preprocessing", json::object());
    auto it = preprocessing.find("fill_value");
    if (it == preprocessing.end() || it->is_null()) return std::optional<std::string>("");
    return std::optional<std::string>(FillValueText(*it));
  }
  if (strategy == "bfill" || strategy == "ffill" || strategy == "drop_row") {
    return std::optional<std::string>();
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "column '", ColumnName(feature), "': unknown missing_value_strategy '", strategy,
      "' (known: fill_with_const, fill_with_mean, fill_with_mode, fill_with_false, bfill, ffill, "
      "drop_row)"));
}

absl::Status FillMissing(const json& feature, const std::optional<std::string>& fill_value,
                         data::Column& column) {
  const std::string strategy = MissingValueStrategy(feature);
  if (strategy == "drop_row") return absl::OkStatus();
  if (fill_value.has_value()) {
    for (size_t row = 0; row < column.size(); ++row) {
      if (!column.null(row)) continue;
      column.values[row] = *fill_value;
      column.is_null[row] = 0;
    }
    return absl::OkStatus();
  }
  // bfill takes the next value, ffill the previous; the ends fall back to the other direction.
  const bool forward = strategy == "ffill";
  auto sweep = [&column](bool ahead) {
    std::optional<std::string> carry;
    const size_t n = column.size();
    for (size_t i = 0; i < n; ++i) {
      const size_t row = ahead ? n - 1 - i : i;
      if (!column.null(row)) {
        carry = column.values[row];
      } else if (carry.has_value()) {
        column.values[row] = *carry;
        column.is_null[row] = 0;
      }
    }
  };
  sweep(!forward);
  sweep(forward);
  for (size_t row = 0; row < column.size(); ++row) {
    if (column.null(row)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "column '", ColumnName(feature), "': ", strategy, " found no value to fill with"));
    }
  }
  return absl::OkStatus();
}

}  // namespace tristage::features
