// Table: the columnar dataset every part of core reads and writes.
//
// A Table is named columns of raw cell text plus a null mask, exactly as read from the file. Typed
// parsing (numbers, dates, tokens) happens in the features, which report errors with the column
// name and row. Rows are numbered from 0 in the order of the file.
//
// Thread safety: a const Table may be read from many threads; mutation needs external sync.
#ifndef TRISTAGE_CORE_DATA_TABLE_H_
#define TRISTAGE_CORE_DATA_TABLE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace tristage::data {

struct Column {
  std::vector<std::string> values;  // cell text; "" for a null cell.
  std::vector<uint8_t> is_null;     // 1 where the cell was missing (see IsMissingValue).

  size_t size() const { return values.size(); }
  bool null(size_t row) const { return is_null[row] != 0; }
  // Keeps values and is_null the same length; a null cell's text is stored as "" whatever `value`.
  void Append(std::string value, bool null);
};

// True for the spellings tristage reads as a missing value: "", "NA", "N/A", "NaN", "nan", "null",
// "NULL", "None" (Ludwig's / pandas' defaults). Surrounding whitespace is ignored.
bool IsMissingValue(absl::string_view cell);
// The spellings IsMissingValue accepts (after stripping whitespace), for the exported preprocessor.
absl::Span<const absl::string_view> MissingValueSpellings();

class Table {
 public:
  int64_t num_rows() const { return num_rows_; }
  const std::vector<std::string>& column_names() const { return names_; }

  // Adds a column. AlreadyExists when the name is taken; InvalidArgument when its length differs
  // from the table's (the first column sets the row count) or values/is_null lengths differ.
  absl::Status AddColumn(std::string name, Column column);
  // Replaces or adds.
  absl::Status SetColumn(std::string name, Column column);

  // nullptr when absent.
  const Column* Find(absl::string_view name) const;
  // NotFound naming the column and listing the columns there are (and the closest one).
  absl::StatusOr<const Column*> Get(absl::string_view name) const;

  // A new table with the given rows, in the given order (rows may repeat). Rows must be in range.
  Table Take(absl::Span<const int64_t> rows) const;

 private:
  std::vector<std::string> names_;
  std::vector<Column> columns_;
  int64_t num_rows_ = 0;
};

}  // namespace tristage::data

#endif  // TRISTAGE_CORE_DATA_TABLE_H_
