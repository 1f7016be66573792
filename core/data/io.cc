// The data formats' names and the entry points: ReadTable and WriteTable pick the format's reader
// or writer (csv_io.cc, json_io.cc); FileChecksum hashes a file for the preprocessed-data cache.
#include "core/data/io.h"

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "core/data/io_internal.h"
#include "core/util/status_macros.h"
#include "core/util/strings.h"

namespace tristage::data {
namespace {

using io_internal::InputFile;
using io_internal::kUtf8Bom;
using io_internal::ReadDelimited;
using io_internal::ReadFile;
using io_internal::ReadJson;
using io_internal::ReadJsonl;
using io_internal::WriteDelimited;
using io_internal::WriteJsonRecords;

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