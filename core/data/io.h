// Reading and writing Tables: CSV, TSV, JSON and JSONL.
//
// CSV/TSV follow RFC 4180: fields may be quoted with '"', quoted fields may hold the delimiter,
// '""' and newlines; CRLF and LF line ends (a lone CR also ends a line); a UTF-8 BOM is skipped;
// the first row is the header and its names must be distinct; blank lines at the end of the file
// are ignored. Cell text is kept as it is (no trimming); text after a closing quote is appended to
// the field, as pandas does (`"ab"c` reads as `abc`). A cell is null when IsMissingValue(text), so
// a quoted empty field `""` is null like an unquoted empty one, and so is a quoted "NA". Writing
// quotes a field only when it holds the delimiter, a quote, CR or LF, starts or ends with
// whitespace, or starts with a UTF-8 BOM; lines end with LF; nulls are empty cells, and a row
// whose only field is empty is written as `""` so that it does not read back as a blank line. Reading a written table gives it
// back unchanged when its nulls are exactly its IsMissingValue cells, as in every table read.
//
// JSON is either an array of records (`[{"a": 1}, ...]`, pandas orient=records) or an object of
// columns (`{"a": {"0": 1, ...}}`, pandas' default orient=columns), whose rows are ordered by the
// integer value of their labels when every label is an integer, else by first appearance. JSONL is
// one record per line; blank lines are skipped. JSON values become cell text: strings as they are,
// numbers and booleans as JSON prints them, arrays as their elements' text joined by single spaces
// (Ludwig's vector/set text form), objects as JSON text. Only null is missing: "" and "NA" stay
// text. Records missing a key have a null cell there; a key first seen in a later record adds a
// column that is null above it. Columns come in the order their keys first appear.
// Writing emits every cell as a JSON string (cell text is text) and nulls as null: JSON as an array
// with one record per line, JSONL as one record per line. Text must be UTF-8.
//
// Errors name the file and the 1-based line (CSV/TSV/JSONL, and JSON parse errors) or record
// (JSON, numbered from 1): e.g. "data.csv:17: expected 5 fields, found 4" (the line where the
// record starts), "data.csv:9: unterminated quoted field" (the line where the field starts),
// "data.json: record 3: not a JSON object", "data.jsonl:3: not a JSON object". A missing file is
// NotFound "no such file 'path'"; a directory or unreadable file is an error naming it.
#ifndef TRISTAGE_CORE_DATA_IO_H_
#define TRISTAGE_CORE_DATA_IO_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/data/table.h"

namespace tristage::data {

enum class DataFormat { kAuto, kCsv, kTsv, kJson, kJsonl };

// "auto", "csv", "tsv", "json", "jsonl" (case-insensitive); InvalidArgument listing them otherwise.
absl::StatusOr<DataFormat> ParseDataFormat(absl::string_view name);
const char* DataFormatName(DataFormat format);

// From the extension: .csv, .tsv, .json, .jsonl (also .ndjson), case-insensitive; InvalidArgument
// naming the path when the extension says nothing.
absl::StatusOr<DataFormat> InferDataFormat(absl::string_view path);

// kAuto infers from the extension.
absl::StatusOr<Table> ReadTable(const std::string& path, DataFormat format = DataFormat::kAuto);

// Writes every column; nulls are written as empty cells (CSV/TSV) or null (JSON/JSONL). CSV fields
// are quoted only when they need it. The parent directory must exist. The text goes to a temporary
// file beside `path` that replaces `path` only once complete, so on error `path` is as it was.
// CSV/TSV need at least one column (for the header).
absl::Status WriteTable(const Table& table, const std::string& path,
                        DataFormat format = DataFormat::kAuto);

// A stable 64-bit content hash of a file as 16 lowercase hex digits (FNV-1a 64 of its bytes, read
// in chunks), for the preprocessed-data cache key.
absl::StatusOr<std::string> FileChecksum(const std::string& path);

}  // namespace tristage::data

#endif  // TRISTAGE_CORE_DATA_IO_H_
