#include "core/features/missing_values.h"

#include <map>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
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
  std::string best;
  int64_t best_count = 0;
  for (size_t row = 0; row < column.size(); ++row) {
    if (column.null(row)) continue;
    const int64_t count = ++counts[column.values[row]];
    // Strictly greater keeps the first value to reach a count: ties go to the earliest.
    if (count > best_count) {
      best_count = count;
      best = column.values[row];
    }
  }
  if (best_count == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("column '", ColumnName(feature),
                     "': every training value is missing, no mode to fill with"));
  }
  return best;
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
  if (strategy == "fill_with_false") return std::optional<std::string>("false");
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
