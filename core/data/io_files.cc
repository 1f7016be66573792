// The files core/data reads and writes (io_internal.h): read whole, or written under a temporary
// name and renamed into place; and the error and table helpers the formats share.
#include <cerrno>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/data/io_internal.h"
#include "core/util/status_macros.h"
#include "core/util/strings.h"

namespace tristage::data::io_internal {

absl::Status ReadError(const std::string& path, int error_number) {
  if (error_number == ENOENT) return absl::NotFoundError(absl::StrCat("no such file '", path, "'"));
  return absl::Status(absl::ErrnoToStatusCode(error_number),
                      absl::StrCat("cannot read '", path, "': ", ErrnoText(error_number)));
}

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

absl::Status LineError(absl::string_view path, int64_t line, absl::string_view message) {
  return absl::InvalidArgumentError(absl::StrCat(path, ":", line, ": ", message));
}

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

}  // namespace tristage::data::io_internal
