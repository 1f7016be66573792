// JSON (records or columns) and JSONL (io.h): values become cell text, records become columns in
// the order their keys first appear; writing emits every cell as a JSON string.
#include <algorithm>
#include <charconv>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "core/data/io_internal.h"
#include "core/util/status_macros.h"
#include "core/util/strings.h"
#include "nlohmann/json.hpp"

namespace tristage::data::io_internal {
namespace {

// Keys keep the order of the file, which becomes the column order.
using Json = nlohmann::ordered_json;

}  // namespace

namespace {

// nlohmann's messages open with "[json.exception.parse_error.101] parse error at line 1, column
// 5: "; the position is reported from our own count (a JSONL line is parsed on its own), so only
// the description after that is kept.
std::string JsonErrorDetail(const nlohmann::json::exception& error) {
  absl::string_view what = error.what();
  const size_t bracket = what.find("] ");
  if (bracket != what.npos) what.remove_prefix(bracket + 2);
  if (absl::StartsWith(what, "parse error")) {
    const size_t colon = what.find(": ");
    if (colon != what.npos) what.remove_prefix(colon + 2);
  }
  return std::string(what);
}

// Parses `text`, which starts on line `first_line` of `path`.
absl::StatusOr<Json> ParseJson(absl::string_view text, absl::string_view path, int64_t first_line) {
  try {
    return Json::parse(text.begin(), text.end());
  } catch (const nlohmann::json::parse_error& error) {
    // `byte` counts the characters read, the offending one included.
    const size_t offset = std::min(error.byte == 0 ? 0 : error.byte - 1, text.size());
    const absl::string_view before = text.substr(0, offset);
    const size_t line_start = before.rfind('\n') + 1;  // npos + 1 == 0 on the first line
    return LineError(path, first_line + std::count(before.begin(), before.end(), '\n'),
                     absl::StrCat("invalid JSON at column ", offset - line_start + 1, ": ",
                                  JsonErrorDetail(error)));
  } catch (const nlohmann::json::exception& error) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": invalid JSON: ", JsonErrorDetail(error)));
  }
}

// Cell text of a non-null JSON value (see io.h).
std::string JsonText(const Json& value) {
  switch (value.type()) {
    case Json::value_t::string: return value.get_ref<const std::string&>();
    case Json::value_t::null: return "";
    case Json::value_t::array: {
      std::vector<std::string> parts;
      parts.reserve(value.size());
      for (const Json& element : value) parts.push_back(JsonText(element));
      return absl::StrJoin(parts, " ");
    }
    default: return value.dump();  // numbers, booleans and objects
  }
}

void AppendJsonValue(const Json& value, Column* column) {
  column->Append(JsonText(value), value.is_null());
}

// Gathers records into columns in the order their keys first appear.
class RecordCollector {
 public:
  // Keys the record lacks become null cells; a new key becomes a column that is null above.
  void Add(const Json& record) {
    for (const auto& item : record.items()) AppendJsonValue(item.value(), &ColumnFor(item.key()));
    ++num_rows_;
    for (Column& column : columns_) {
      if (column.size() < num_rows_) column.Append("", true);
    }
  }

  absl::StatusOr<Table> Finish() && { return MakeTable(std::move(names_), std::move(columns_)); }

 private:
  Column& ColumnFor(const std::string& name) {
    const auto [it, inserted] = index_.try_emplace(name, columns_.size());
    if (inserted) {
      names_.push_back(name);
      columns_.push_back(
          Column{std::vector<std::string>(num_rows_), std::vector<uint8_t>(num_rows_, 1)});
    }
    return columns_[it->second];
  }

  std::vector<std::string> names_;
  std::vector<Column> columns_;
  std::unordered_map<std::string, size_t> index_;
  size_t num_rows_ = 0;
};

absl::StatusOr<Table> RecordsToTable(const Json& records, absl::string_view path) {
  RecordCollector collector;
  for (size_t i = 0; i < records.size(); ++i) {
    if (!records[i].is_object()) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": record ", i + 1, ": not a JSON object"));
    }
    collector.Add(records[i]);
  }
  return std::move(collector).Finish();
}

// Row labels of an object of columns in row order: by integer value when every label is an
// integer (pandas writes "0", "1", ..., "10", which sorts wrongly as text), else as first seen.
std::vector<std::string> OrderRowLabels(std::vector<std::string> labels) {
  std::vector<int64_t> numbers;
  for (const std::string& label : labels) {
    int64_t number = 0;
    const char* end = label.data() + label.size();
    const auto [ptr, error] = std::from_chars(label.data(), end, number);
    if (label.empty() || error != std::errc() || ptr != end) return labels;
    numbers.push_back(number);
  }
  std::vector<size_t> order(labels.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&numbers](size_t a, size_t b) { return numbers[a] < numbers[b]; });
  std::vector<std::string> ordered;
  ordered.reserve(labels.size());
  for (const size_t i : order) ordered.push_back(std::move(labels[i]));
  return ordered;
}

absl::StatusOr<Table> ColumnsToTable(const Json& object, absl::string_view path) {
  std::vector<std::string> labels;
  std::unordered_map<std::string, size_t> seen;
  for (const auto& column : object.items()) {
    if (!column.value().is_object()) {
      return absl::InvalidArgumentError(absl::StrCat(
          path, ": column '", column.key(), "': expected an object of row labels to values, found ",
          column.value().type_name()));
    }
    for (const auto& cell : column.value().items()) {
      if (seen.try_emplace(cell.key(), 0).second) labels.push_back(cell.key());
    }
  }
  labels = OrderRowLabels(std::move(labels));
  for (size_t row = 0; row < labels.size(); ++row) seen[labels[row]] = row;

  std::vector<std::string> names;
  std::vector<Column> columns;
  for (const auto& item : object.items()) {
    Column column{std::vector<std::string>(labels.size()), std::vector<uint8_t>(labels.size(), 1)};
    for (const auto& cell : item.value().items()) {
      if (cell.value().is_null()) continue;
      const size_t row = seen[cell.key()];
      column.values[row] = JsonText(cell.value());
      column.is_null[row] = 0;
    }
    names.push_back(item.key());
    columns.push_back(std::move(column));
  }
  return MakeTable(std::move(names), std::move(columns));
}

}  // namespace

absl::StatusOr<Table> ReadJson(absl::string_view path, absl::string_view text) {
  TRISTAGE_ASSIGN_OR_RETURN(const Json document, ParseJson(text, path, 1));
  if (document.is_array()) return RecordsToTable(document, path);
  if (document.is_object()) return ColumnsToTable(document, path);
  return absl::InvalidArgumentError(
      absl::StrCat(path, ": expected an array of records or an object of columns, found ",
                   document.type_name()));
}

absl::StatusOr<Table> ReadJsonl(absl::string_view path, absl::string_view text) {
  RecordCollector collector;
  int64_t line_number = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_number;
    absl::ConsumeSuffix(&line, "\r");
    if (absl::StripAsciiWhitespace(line).empty()) continue;
    TRISTAGE_ASSIGN_OR_RETURN(const Json record, ParseJson(line, path, line_number));
    if (!record.is_object()) return LineError(path, line_number, "not a JSON object");
    collector.Add(record);
  }
  return std::move(collector).Finish();
}

namespace {

// `text` as a JSON string literal. JSON text is UTF-8, so other bytes are an error.
absl::StatusOr<std::string> JsonString(const std::string& text) {
  try {
    return Json(text).dump();
  } catch (const nlohmann::json::exception& error) {
    return absl::InvalidArgumentError(JsonErrorDetail(error));
  }
}

absl::Status AppendJsonRecord(const std::vector<std::string>& keys,
                              const std::vector<const Column*>& columns, int64_t row,
                              const Table& table, std::string* out) {
  out->push_back('{');
  for (size_t i = 0; i < columns.size(); ++i) {
    if (i > 0) out->push_back(',');
    out->append(keys[i]).push_back(':');
    if (columns[i]->null(row)) {
      out->append("null");
      continue;
    }
    absl::StatusOr<std::string> value = JsonString(columns[i]->values[row]);
    if (!value.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("column '", table.column_names()[i], "', row ",
                                                     row, ": ", value.status().message()));
    }
    out->append(*value);
  }
  out->push_back('}');
  return absl::OkStatus();
}

// JSON is an array with one record per line; JSONL is the records alone.
}  // namespace

absl::Status WriteJsonRecords(const Table& table, const std::string& path, bool array) {
  std::vector<std::string> keys;
  for (const std::string& name : table.column_names()) {
    absl::StatusOr<std::string> key = JsonString(name);
    if (!key.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("cannot write '", path, "': column name '",
                                                     name, "': ", key.status().message()));
    }
    keys.push_back(*std::move(key));
  }
  TRISTAGE_ASSIGN_OR_RETURN(OutputFile file, OutputFile::Create(path));
  const std::vector<const Column*> columns = ColumnsOf(table);
  if (array) file.Write(table.num_rows() == 0 ? "[" : "[\n");
  for (int64_t row = 0; row < table.num_rows(); ++row) {
    if (array && row > 0) file.Write(",\n");
    const absl::Status status = AppendJsonRecord(keys, columns, row, table, file.buffer());
    if (!status.ok()) {
      return absl::Status(status.code(),
                          absl::StrCat("cannot write '", path, "': ", status.message()));
    }
    if (!array) file.Write("\n");
    file.MaybeFlush();
  }
  if (array) file.Write(table.num_rows() == 0 ? "]\n" : "\n]\n");
  return file.Close();
}

namespace {

}  // namespace

}  // namespace tristage::data::io_internal
