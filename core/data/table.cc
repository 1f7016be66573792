#include "core/data/table.h"

#include <algorithm>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/util/status_macros.h"
#include "core/util/strings.h"

namespace tristage::data {
namespace {

absl::Status CheckColumnShape(absl::string_view name, const Column& column) {
  if (column.values.size() == column.is_null.size()) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat("column '", name, "': ", column.values.size(),
                                                 " values but a null mask of length ",
                                                 column.is_null.size()));
}

std::string CountOfRows(int64_t n) {
  return absl::StrCat(n, n == 1 ? " row" : " rows");
}

absl::Status CheckRowCount(absl::string_view name, const Column& column, int64_t num_rows) {
  const auto size = static_cast<int64_t>(column.size());
  if (size == num_rows) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat("column '", name, "' has ", CountOfRows(size), " but the table has ", num_rows));
}

}  // namespace

void Column::Append(std::string value, bool null) {
  // A null cell's text is always "", so code that ignores the mask never sees stale text.
  values.push_back(null ? std::string() : std::move(value));
  is_null.push_back(null ? 1 : 0);
}

namespace {
constexpr absl::string_view kMissing[] = {"", "NA", "N/A", "NaN", "nan", "null", "NULL", "None"};
}  // namespace

absl::Span<const absl::string_view> MissingValueSpellings() {
  return kMissing;
}

bool IsMissingValue(absl::string_view cell) {
  const absl::string_view text = absl::StripAsciiWhitespace(cell);
  return std::find(std::begin(kMissing), std::end(kMissing), text) != std::end(kMissing);
}

absl::Status Table::AddColumn(std::string name, Column column) {
  if (Find(name) != nullptr) {
    return absl::AlreadyExistsError(absl::StrCat("column '", name, "' already exists"));
  }
  TRISTAGE_RETURN_IF_ERROR(CheckColumnShape(name, column));
  if (names_.empty()) {
    num_rows_ = static_cast<int64_t>(column.size());
  } else {
    TRISTAGE_RETURN_IF_ERROR(CheckRowCount(name, column, num_rows_));
  }
  names_.push_back(std::move(name));
  columns_.push_back(std::move(column));
  return absl::OkStatus();
}

absl::Status Table::SetColumn(std::string name, Column column) {
  const auto it = std::find(names_.begin(), names_.end(), name);
  if (it == names_.end()) return AddColumn(std::move(name), std::move(column));
  TRISTAGE_RETURN_IF_ERROR(CheckColumnShape(name, column));
  // Replacing the only column may change the row count, as adding it to an empty table would.
  if (names_.size() == 1) {
    num_rows_ = static_cast<int64_t>(column.size());
  } else {
    TRISTAGE_RETURN_IF_ERROR(CheckRowCount(name, column, num_rows_));
  }
  columns_[it - names_.begin()] = std::move(column);
  return absl::OkStatus();
}

const Column* Table::Find(absl::string_view name) const {
  const auto it = std::find(names_.begin(), names_.end(), name);
  return it == names_.end() ? nullptr : &columns_[it - names_.begin()];
}

absl::StatusOr<const Column*> Table::Get(absl::string_view name) const {
  if (const Column* column = Find(name)) return column;
  if (names_.empty()) {
    return absl::NotFoundError(absl::StrCat("no column '", name, "': the table has no columns"));
  }
  return absl::NotFoundError(absl::StrCat("no column '", name, "'; the columns are: ",
                                          absl::StrJoin(names_, ", "), DidYouMean(name, names_)));
}

Table Table::Take(absl::Span<const int64_t> rows) const {
  Table taken;
  taken.names_ = names_;
  taken.num_rows_ = static_cast<int64_t>(rows.size());
  taken.columns_.reserve(columns_.size());
  for (const Column& column : columns_) {
    Column& copy = taken.columns_.emplace_back();
    copy.values.reserve(rows.size());
    copy.is_null.reserve(rows.size());
    for (const int64_t row : rows) {
      copy.values.push_back(column.values[row]);
      copy.is_null.push_back(column.is_null[row]);
    }
  }
  return taken;
}

}  // namespace tristage::data
