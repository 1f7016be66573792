// Reading and writing Tables: CSV, TSV, JSON and JSONL.
//
// CSV/TSV follow RFC 4180: fields may be quoted with '"', quoted fields may hold the delimiter, '""'
// and newlines; CRLF and LF line ends; a UTF-8 BOM is skipped; the first row is the header.
// JSON is either an array of records (`[{"a": 1}, ...]`, pandas orient=records) or an object of
// columns (`{"a": {"0": 1, ...}}`, pandas' default orient=columns). JSONL is one record per line.
// JSON values become cell text: strings as they are, numbers and booleans as JSON prints them,
// arrays as their elements joined by single spaces (Ludwig's vector/set text form), null missing.
// Records missing a key have a null cell there; a key first seen in a later record adds a column
// that is null above it.
//
// Errors name the file and the 1-based line (CSV/TSV/JSONL) or record (JSON): e.g.
//   "data.csv:17: expected 5 fields, found 4", "data.csv:9: unterminated quoted field",
//   "data.jsonl:3: not a JSON object". A missing file is NotFound naming the path.
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
// are quoted only when they need it. The parent directory must exist.
absl::Status WriteTable(const Table& table, const std::string& path,
                        DataFormat format = DataFormat::kAuto);

// A stable 64-bit content hash of a file as 16 hex digits, for the preprocessed-data cache key.
absl::StatusOr<std::string> FileChecksum(const std::string& path);

}  // namespace tristage::data

#endif  // TRISTAGE_CORE_DATA_IO_H_
