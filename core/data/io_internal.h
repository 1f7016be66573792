// Internal to core/data's readers and writers (io.cc, csv_io.cc, json_io.cc): files read whole,
// files written under a temporary name and renamed into place, the shared error and table helpers,
// and each format's reader and writer. The formats' rules are in io.h.
#ifndef TRISTAGE_CORE_DATA_IO_INTERNAL_H_
#define TRISTAGE_CORE_DATA_IO_INTERNAL_H_

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "core/data/table.h"
#include "core/util/strings.h"

namespace tristage::data::io_internal {

inline constexpr absl::string_view kUtf8Bom = "\xEF\xBB\xBF";

// NotFound "no such file 'path'" for ENOENT, else the errno's code naming the path.
absl::Status ReadError(const std::string& path, int error_number);

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

// The whole file; errors as ReadError.
absl::StatusOr<std::string> ReadFile(const std::string& path);

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

// InvalidArgument "<path>:<line>: <message>".
absl::Status LineError(absl::string_view path, int64_t line, absl::string_view message);
// Columns named in the order given, as a Table.
absl::StatusOr<Table> MakeTable(std::vector<std::string> names, std::vector<Column> columns);
// The table's columns in its column order.
std::vector<const Column*> ColumnsOf(const Table& table);

// csv_io.cc: CSV (delimiter ',') and TSV ('\t'); `text` without its BOM.
absl::StatusOr<Table> ReadDelimited(absl::string_view path, absl::string_view text, char delimiter);
absl::Status WriteDelimited(const Table& table, const std::string& path, char delimiter);

// json_io.cc: JSON (records or columns) and JSONL; `text` without its BOM. Writing: JSON is an
// array with one record per line (`array`), JSONL the records alone.
absl::StatusOr<Table> ReadJson(absl::string_view path, absl::string_view text);
absl::StatusOr<Table> ReadJsonl(absl::string_view path, absl::string_view text);
absl::Status WriteJsonRecords(const Table& table, const std::string& path, bool array);

}  // namespace tristage::data::io_internal

#endif  // TRISTAGE_CORE_DATA_IO_INTERNAL_H_
