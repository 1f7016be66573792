#include "core/data/io.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <cstdint>
#include <numeric>
#include <unordered_map>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "core/util/status_macros.h"
#include "core/util/strings.h"
#include "nlohmann/json.hpp"

namespace tristage::data {
namespace {

// Keys keep the order of the file, which becomes the column order.
using Json = nlohmann::ordered_json;

constexpr absl::string_view kUtf8Bom = "\xEF\xBB\xBF";

struct FormatName {
  const char* name;
  DataFormat format;
};
constexpr FormatName kFormatNames[] = {{"auto", DataFormat::kAuto},
                                       {"csv", DataFormat::kCsv},
                                       {"tsv", DataFormat::kTsv},
                                       {"json", DataFormat::kJson},
                                       {"jsonl", DataFormat::kJsonl}};
constexpr FormatName kExtensions[] = {{"csv", DataFormat::kCsv},
                                      {"tsv", DataFormat::kTsv},
                                      {"json", DataFormat::kJson},
                                      {"jsonl", DataFormat::kJsonl},
                                      {"ndjson", DataFormat::kJsonl}};

// ---------------------------------------------------------------------------------------------
// Files

absl::Status ReadError(const std::string& path, int error_number) {
  if (error_number == ENOENT) return absl::NotFoundError(absl::StrCat("no such file '", path, "'"));
  return absl::Status(absl::ErrnoToStatusCode(error_number),
                      absl::StrCat("cannot read '", path, "': ", ErrnoText(error_number)));
}

// A file opened for reading, closed when this goes out of scope.
class InputFile {
 public:
  static absl::StatusOr<InputFile> Open(const std::string& path) {
    const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return ReadError(path, errno);
    InputFile file(path, fd);
    struct stat info;
    if (fstat(fd, &info) != 0) return ReadError(path, errno);
    // open(2) succeeds on a directory; read(2) would then fail with a less helpful EISDIR.
    if (S_ISDIR(info.st_mode)) {
      return absl::InvalidArgumentError(
          absl::StrCat("cannot read '", path, "': it is a directory, not a file"));
    }
    file.size_hint_ = static_cast<size_t>(std::max<off_t>(info.st_size, 0));
    return file;
  }

  InputFile(InputFile&& other) noexcept
      : path_(std::move(other.path_)),
        fd_(std::exchange(other.fd_, -1)),
        size_hint_(other.size_hint_) {}
  InputFile& operator=(InputFile&&) = delete;
  ~InputFile() {
    if (fd_ >= 0) close(fd_);
  }

  // The size when opened; the file may still grow or shrink while it is read.
  size_t size_hint() const { return size_hint_; }

  // Bytes read into `buffer`, 0 at the end of the file.
  absl::StatusOr<size_t> Read(char* buffer, size_t capacity) {
    for (;;) {
      const ssize_t n = read(fd_, buffer, capacity);
      if (n >= 0) return static_cast<size_t>(n);
      if (errno != EINTR) return ReadError(path_, errno);
    }
  }

 private:
  InputFile(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}

  std::string path_;
  int fd_;
  size_t size_hint_ = 0;
};

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  TRISTAGE_ASSIGN_OR_RETURN(InputFile file, InputFile::Open(path));
  // One byte more than the size, so that the usual case is one read plus one that returns 0.
  std::string content(file.size_hint() + 1, '\0');
  size_t used = 0;
  for (;;) {
    if (used == content.size()) content.resize(content.size() * 2);
    TRISTAGE_ASSIGN_OR_RETURN(const size_t n, file.Read(&content[used], content.size() - used));
    if (n == 0) break;
    used += n;
  }
  content.resize(used);
  return content;
}

// A file written through a buffer under a temporary name beside its path, which Close renames
// over the path once everything is written: a failed write leaves no partial table behind and any
// earlier file untouched. The first error is kept and returned by Close, so writers can emit text
// without checking every call.
class OutputFile {
 public:
  static absl::StatusOr<OutputFile> Create(const std::string& path) {
    static std::atomic<uint64_t> next_id{0};
    std::string temp_path = absl::StrCat(path, ".tmp-", getpid(), "-", next_id++);
    const int fd = open(temp_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) return WriteError(path, errno);
    return OutputFile(path, std::move(temp_path), fd);
  }

  OutputFile(OutputFile&& other) noexcept
      : path_(std::move(other.path_)),
        temp_path_(std::move(other.temp_path_)),
        fd_(std::exchange(other.fd_, -1)),
        buffer_(std::move(other.buffer_)),
        status_(std::move(other.status_)) {}
  OutputFile& operator=(OutputFile&&) = delete;
  // Without a successful Close, the temporary file goes.
  ~OutputFile() {
    if (fd_ < 0) return;
    close(fd_);
    unlink(temp_path_.c_str());
  }

  // Text appended here is written out in large chunks (see MaybeFlush).
  std::string* buffer() { return &buffer_; }
  void Write(absl::string_view text) {
    buffer_.append(text.data(), text.size());
    MaybeFlush();
  }
  void MaybeFlush() {
    if (buffer_.size() >= kFlushSize) Flush();
  }

  absl::Status Close() {
    Flush();
    if (close(std::exchange(fd_, -1)) != 0 && status_.ok()) status_ = WriteError(path_, errno);
    if (status_.ok() && rename(temp_path_.c_str(), path_.c_str()) != 0) {
      status_ = WriteError(path_, errno);
    }
    if (!status_.ok()) unlink(temp_path_.c_str());
    return status_;
  }

 private:
  static constexpr size_t kFlushSize = 1 << 20;

  static absl::Status WriteError(const std::string& path, int error_number) {
    return absl::Status(absl::ErrnoToStatusCode(error_number),
                        absl::StrCat("cannot write '", path, "': ", ErrnoText(error_number)));
  }

  OutputFile(std::string path, std::string temp_path, int fd)
      : path_(std::move(path)), temp_path_(std::move(temp_path)), fd_(fd) {}

  void Flush() {
    size_t done = 0;
    while (status_.ok() && done < buffer_.size()) {
      const ssize_t n = write(fd_, buffer_.data() + done, buffer_.size() - done);
      if (n >= 0) {
        done += static_cast<size_t>(n);
      } else if (errno != EINTR) {
        status_ = WriteError(path_, errno);
      }
    }
    buffer_.clear();
  }

  std::string path_;
  std::string temp_path_;
  int fd_;
  std::string buffer_;
  absl::Status status_;
};

absl::Status LineError(absl::string_view path, int64_t line, absl::string_view message) {
  return absl::InvalidArgumentError(absl::StrCat(path, ":", line, ": ", message));
}

// Columns named in the order given, as a Table.
absl::StatusOr<Table> MakeTable(std::vector<std::string> names, std::vector<Column> columns) {
  Table table;
  for (size_t i = 0; i < names.size(); ++i) {
    TRISTAGE_RETURN_IF_ERROR(table.AddColumn(std::move(names[i]), std::move(columns[i])));
  }
  return table;
}

std::vector<const Column*> ColumnsOf(const Table& table) {
  std::vector<const Column*> columns;
  for (const std::string& name : table.column_names()) columns.push_back(table.Find(name));
  return columns;
}

// ---------------------------------------------------------------------------------------------
// CSV and TSV

enum class FieldEnd { kDelimiter, kRecordEnd };

// A line break is LF, CRLF or a lone CR, as RFC 4180 readers commonly accept.
int64_t CountLineBreaks(absl::string_view text) {
  int64_t count = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\n' || (text[i] == '\r' && (i + 1 == text.size() || text[i + 1] != '\n'))) {
      ++count;
    }
  }
  return count;
}

// Splits delimited text into fields in one pass. Unquoted fields, and quoted ones without '""',
// are views into the text; only a field with escaped quotes or text after its closing quote is
// assembled, in a buffer reused from field to field.
class DelimitedParser {
 public:
  DelimitedParser(absl::string_view text, char delimiter, absl::string_view path)
      : pos_(text.data()), end_(text.data() + text.size()), delimiter_(delimiter), path_(path) {
    // Blank lines at the end are not records (editors and some writers leave them).
    while (end_ != pos_ && (end_[-1] == '\n' || end_[-1] == '\r')) --end_;
  }

  bool done() const { return pos_ == end_; }
  // 1-based physical line of the cursor.
  int64_t line() const { return line_; }

  // The next field, and whether a delimiter or the end of the record follows it. `field` stays
  // valid until the next call.
  absl::StatusOr<FieldEnd> NextField(absl::string_view* field) {
    if (pos_ != end_ && *pos_ == '"') return NextQuotedField(field);
    const char* start = pos_;
    SkipToFieldEnd();
    *field = absl::string_view(start, pos_ - start);
    return ConsumeFieldEnd();
  }

 private:
  bool AtFieldEnd() const {
    return pos_ == end_ || *pos_ == delimiter_ || *pos_ == '\n' || *pos_ == '\r';
  }
  void SkipToFieldEnd() {
    while (!AtFieldEnd()) ++pos_;
  }

  FieldEnd ConsumeFieldEnd() {
    if (pos_ == end_) return FieldEnd::kRecordEnd;
    if (*pos_ == delimiter_) {
      ++pos_;
      return FieldEnd::kDelimiter;
    }
    if (*pos_ == '\r' && pos_ + 1 != end_ && pos_[1] == '\n') ++pos_;
    ++pos_;
    ++line_;
    return FieldEnd::kRecordEnd;
  }

  absl::StatusOr<FieldEnd> NextQuotedField(absl::string_view* field) {
    const int64_t start_line = line_;
    const char* segment = ++pos_;
    bool assembled = false;
    scratch_.clear();
    for (;;) {
      const char* quote = static_cast<const char*>(memchr(pos_, '"', end_ - pos_));
      if (quote == nullptr) return LineError(path_, start_line, "unterminated quoted field");
      line_ += CountLineBreaks(absl::string_view(pos_, quote - pos_));
      pos_ = quote + 1;
      if (pos_ == end_ || *pos_ != '"') break;
      scratch_.append(segment, pos_);  // up to and including one quote of the '""' pair
      segment = ++pos_;
      assembled = true;
    }
    const char* closing_quote = pos_ - 1;
    // Text between the closing quote and the delimiter is kept, as pandas and Python's csv do.
    const char* tail = pos_;
    SkipToFieldEnd();
    if (!assembled && tail == pos_) {
      *field = absl::string_view(segment, closing_quote - segment);
    } else {
      scratch_.append(segment, closing_quote);
      scratch_.append(tail, pos_);
      *field = scratch_;
    }
    return ConsumeFieldEnd();
  }

  const char* pos_;
  const char* end_;
  const char delimiter_;
  const absl::string_view path_;
  int64_t line_ = 1;
  std::string scratch_;
};

std::string CountOfFields(size_t n) {
  return absl::StrCat(n, n == 1 ? " field" : " fields");
}

// Names that occur more than once, each listed once, in order of their second occurrence.
std::vector<std::string> Duplicates(const std::vector<std::string>& names) {
  std::unordered_map<std::string, int> times_seen;
  std::vector<std::string> duplicates;
  for (const std::string& name : names) {
    if (++times_seen[name] == 2) duplicates.push_back(name);
  }
  return duplicates;
}

absl::StatusOr<std::vector<std::string>> ReadHeader(absl::string_view path,
                                                    DelimitedParser* parser) {
  if (parser->done()) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": the file is empty (expected a header row)"));
  }
  const int64_t line = parser->line();
  std::vector<std::string> names;
  absl::string_view field;
  FieldEnd end;
  do {
    TRISTAGE_ASSIGN_OR_RETURN(end, parser->NextField(&field));
    names.emplace_back(field);
  } while (end == FieldEnd::kDelimiter);

  const std::vector<std::string> duplicates = Duplicates(names);
  if (!duplicates.empty()) {
    return LineError(
        path, line,
        absl::StrCat("duplicate column names: '", absl::StrJoin(duplicates, "', '"), "'"));
  }
  return names;
}

void AppendCell(absl::string_view text, Column* column) {
  const bool missing = IsMissingValue(text);
  column->Append(missing ? std::string() : std::string(text), missing);
}

absl::Status ReadRecord(absl::string_view path, DelimitedParser* parser,
                        std::vector<Column>* columns) {
  const int64_t line = parser->line();
  size_t count = 0;
  absl::string_view field;
  FieldEnd end;
  do {
    TRISTAGE_ASSIGN_OR_RETURN(end, parser->NextField(&field));
    if (count < columns->size()) AppendCell(field, &(*columns)[count]);
    ++count;
  } while (end == FieldEnd::kDelimiter);
  if (count == columns->size()) return absl::OkStatus();
  return LineError(path, line,
                   absl::StrCat("expected ", CountOfFields(columns->size()), ", found ", count));
}

absl::StatusOr<Table> ReadDelimited(absl::string_view path, absl::string_view text,
                                    char delimiter) {
  DelimitedParser parser(text, delimiter, path);
  TRISTAGE_ASSIGN_OR_RETURN(std::vector<std::string> names, ReadHeader(path, &parser));
  std::vector<Column> columns(names.size());
  // Lines bound the rows; reserving for them saved 40% of the read time (100k rows x 12 columns).
  const size_t max_rows = static_cast<size_t>(std::count(text.begin(), text.end(), '\n')) + 1;
  for (Column& column : columns) {
    column.values.reserve(max_rows);
    column.is_null.reserve(max_rows);
  }
  while (!parser.done()) TRISTAGE_RETURN_IF_ERROR(ReadRecord(path, &parser, &columns));
  // Quoted multi-line texts make the bound generous; give back what is clearly unused.
  for (Column& column : columns) {
    if (column.values.capacity() > 2 * column.size()) {
      column.values.shrink_to_fit();
      column.is_null.shrink_to_fit();
    }
  }
  return MakeTable(std::move(names), std::move(columns));
}

bool NeedsQuotes(absl::string_view text, char delimiter) {
  if (text.empty()) return false;
  // Leading and trailing spaces survive our reader unquoted, but not every other reader.
  if (absl::ascii_isspace(text.front()) || absl::ascii_isspace(text.back())) return true;
  // A leading BOM would be skipped as the file's when the field opens the file (the first header
  // name), so the name would read back without it (found by fuzz/data_fuzzer).
  if (absl::StartsWith(text, kUtf8Bom)) return true;
  const char specials[] = {delimiter, '"', '\r', '\n'};
  return text.find_first_of(absl::string_view(specials, sizeof(specials))) != text.npos;
}

// `lone` is set when the field is a row's only one: an empty row would read back as a blank line,
// so an empty lone field is written as "".
void AppendField(absl::string_view text, char delimiter, bool lone, std::string* out) {
  if (!NeedsQuotes(text, delimiter) && !(lone && text.empty())) {
    out->append(text.data(), text.size());
    return;
  }
  out->push_back('"');
  for (const char c : text) {
    if (c == '"') out->push_back('"');
    out->push_back(c);
  }
  out->push_back('"');
}

void AppendRow(const std::vector<absl::string_view>& fields, char delimiter, std::string* out) {
  for (size_t i = 0; i < fields.size(); ++i) {
    if (i > 0) out->push_back(delimiter);
    AppendField(fields[i], delimiter, fields.size() == 1, out);
  }
  out->push_back('\n');
}

absl::Status WriteDelimited(const Table& table, const std::string& path, char delimiter) {
  if (table.column_names().empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot write '", path, "': the table has no columns for a header row"));
  }
  TRISTAGE_ASSIGN_OR_RETURN(OutputFile file, OutputFile::Create(path));
  const std::vector<const Column*> columns = ColumnsOf(table);
  std::vector<absl::string_view> fields(table.column_names().begin(), table.column_names().end());
  AppendRow(fields, delimiter, file.buffer());
  for (int64_t row = 0; row < table.num_rows(); ++row) {
    for (size_t i = 0; i < columns.size(); ++i) {
      fields[i] = columns[i]->null(row) ? absl::string_view() : columns[i]->values[row];
    }
    AppendRow(fields, delimiter, file.buffer());
    file.MaybeFlush();
  }
  return file.Close();
}

// ---------------------------------------------------------------------------------------------
// JSON and JSONL

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

absl::StatusOr<DataFormat> ResolveFormat(const std::string& path, DataFormat format) {
  if (format != DataFormat::kAuto) return format;
  return InferDataFormat(path);
}

}  // namespace

absl::StatusOr<DataFormat> ParseDataFormat(absl::string_view name) {
  const std::string lower = absl::AsciiStrToLower(name);
  std::vector<std::string> names;
  for (const FormatName& entry : kFormatNames) {
    if (lower == entry.name) return entry.format;
    names.push_back(entry.name);
  }
  return absl::InvalidArgumentError(absl::StrCat("unknown data format '", name,
                                                 "'; expected one of: ", absl::StrJoin(names, ", "),
                                                 DidYouMean(lower, names)));
}

const char* DataFormatName(DataFormat format) {
  for (const FormatName& entry : kFormatNames) {
    if (entry.format == format) return entry.name;
  }
  return "unknown";  // only for a value cast from outside the enum
}

absl::StatusOr<DataFormat> InferDataFormat(absl::string_view path) {
  const absl::string_view base = path.substr(path.rfind('/') + 1);  // npos + 1 == 0
  const size_t dot = base.rfind('.');
  if (dot != base.npos) {
    const std::string extension = absl::AsciiStrToLower(base.substr(dot + 1));
    for (const FormatName& entry : kExtensions) {
      if (extension == entry.name) return entry.format;
    }
  }
  return absl::InvalidArgumentError(
      absl::StrCat("cannot tell the data format of '", path,
                   "' from its extension (expected .csv, .tsv, .json, .jsonl or .ndjson)"));
}

absl::StatusOr<Table> ReadTable(const std::string& path, DataFormat format) {
  TRISTAGE_ASSIGN_OR_RETURN(format, ResolveFormat(path, format));
  TRISTAGE_ASSIGN_OR_RETURN(const std::string content, ReadFile(path));
  absl::string_view text = content;
  absl::ConsumePrefix(&text, kUtf8Bom);
  switch (format) {
    case DataFormat::kCsv: return ReadDelimited(path, text, ',');
    case DataFormat::kTsv: return ReadDelimited(path, text, '\t');
    case DataFormat::kJson: return ReadJson(path, text);
    case DataFormat::kJsonl: return ReadJsonl(path, text);
    case DataFormat::kAuto: break;
  }
  return absl::InternalError(absl::StrCat("no reader for data format ", DataFormatName(format)));
}

absl::Status WriteTable(const Table& table, const std::string& path, DataFormat format) {
  TRISTAGE_ASSIGN_OR_RETURN(format, ResolveFormat(path, format));
  switch (format) {
    case DataFormat::kCsv: return WriteDelimited(table, path, ',');
    case DataFormat::kTsv: return WriteDelimited(table, path, '\t');
    case DataFormat::kJson: return WriteJsonRecords(table, path, /*array=*/true);
    case DataFormat::kJsonl: return WriteJsonRecords(table, path, /*array=*/false);
    case DataFormat::kAuto: break;
  }
  return absl::InternalError(absl::StrCat("no writer for data format ", DataFormatName(format)));
}

absl::StatusOr<std::string> FileChecksum(const std::string& path) {
  // FNV-1a 64: simple, stable across platforms and releases, and fast enough to stream.
  constexpr uint64_t kOffsetBasis = 0xcbf29ce484222325ULL;
  constexpr uint64_t kPrime = 0x100000001b3ULL;
  TRISTAGE_ASSIGN_OR_RETURN(InputFile file, InputFile::Open(path));
  std::vector<char> buffer(1 << 16);
  uint64_t hash = kOffsetBasis;
  for (;;) {
    TRISTAGE_ASSIGN_OR_RETURN(const size_t n, file.Read(buffer.data(), buffer.size()));
    if (n == 0) break;
    for (size_t i = 0; i < n; ++i) {
      hash ^= static_cast<unsigned char>(buffer[i]);
      hash *= kPrime;
    }
  }
  return absl::StrCat(absl::Hex(hash, absl::kZeroPad16));
}

}  // namespace tristage::data
