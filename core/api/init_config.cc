#include "core/api/init_config.h"

#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace tristage {
namespace {

using nlohmann::json;

bool LooksLikeIsoDate(const std::string& text) {
  return text.size() >= 10 && absl::ascii_isdigit(text[0]) && absl::ascii_isdigit(text[3]) &&
         text[4] == '-' && text[7] == '-';
}

struct ColumnProfile {
  size_t values = 0;
  std::set<std::string> distinct;
  bool all_numbers = true;
  bool all_integers = true;
  bool all_dates = true;
  bool all_vectors = true;  // every value is several numbers, always the same count
  size_t vector_size = 0;
  double words = 0;
};

ColumnProfile Profile(const data::Column& column) {
  ColumnProfile p;
  for (size_t row = 0; row < column.size(); ++row) {
    if (column.null(row)) continue;
    const std::string& text = column.values[row];
    ++p.values;
    p.distinct.insert(text);
    double number = 0;
    if (!absl::SimpleAtod(text, &number)) p.all_numbers = false;
    int64_t integer = 0;
    if (!absl::SimpleAtoi(text, &integer)) p.all_integers = false;
    if (!LooksLikeIsoDate(text)) p.all_dates = false;
    const std::vector<absl::string_view> tokens = absl::StrSplit(text, ' ', absl::SkipWhitespace());
    p.words += static_cast<double>(tokens.size());
    if (p.all_vectors) {
      double ignored = 0;
      for (absl::string_view token : tokens) p.all_vectors &= absl::SimpleAtod(token, &ignored);
      if (p.vector_size == 0) p.vector_size = tokens.size();
      p.all_vectors &= tokens.size() > 1 && tokens.size() == p.vector_size;
    }
  }
  if (p.values > 0) p.words /= static_cast<double>(p.values);
  return p;
}

// The feature type for a column, or "" to leave it out.
std::string InferType(const ColumnProfile& p, bool is_target) {
  if (p.values == 0) return "";
  const double uniqueness = static_cast<double>(p.distinct.size()) / static_cast<double>(p.values);
  if (p.distinct.size() == 2) return "binary";
  if (p.all_numbers) {
    if (is_target && p.all_integers && p.distinct.size() <= 10) return "category";
    return "number";
  }
  if (p.all_dates) return "date";
  if (p.all_vectors) return "vector";
  if (p.words > 3) return "text";
  if (uniqueness > 0.9) return is_target ? "category" : (p.words > 1.5 ? "text" : "");
  return "category";
}

}  // namespace

absl::StatusOr<json> InferConfig(const data::Table& table,
                                 const std::vector<std::string>& targets) {
  for (const std::string& target : targets) {
    if (table.Find(target) == nullptr) {
      auto missing = table.Get(target);
      return absl::InvalidArgumentError(absl::StrCat("--target: ", missing.status().message()));
    }
  }
  json config = {{"input_features", json::array()}, {"output_features", json::array()}};
  for (const std::string& name : table.column_names()) {
    const bool is_target = std::find(targets.begin(), targets.end(), name) != targets.end();
    const std::string type = InferType(Profile(*table.Find(name)), is_target);
    if (type.empty()) continue;
    if (is_target && (type == "text" || type == "date")) {
      return absl::InvalidArgumentError(absl::StrCat("--target: column '", name, "' looks like ",
                                                     type, ", which cannot be an output"));
    }
    config[is_target ? "output_features" : "input_features"].push_back(
        {{"name", name}, {"type", type}});
  }
  if (config["input_features"].empty()) {
    return absl::InvalidArgumentError("no usable input columns in the dataset");
  }
  if (config["output_features"].empty()) {
    return absl::InvalidArgumentError("give the output column(s) with --target");
  }
  return config;
}

}  // namespace tristage
