// The dataset readers (core/data/io.h). The first byte picks the format (csv, tsv, json, jsonl),
// the rest is the file. A file that reads is written back in the same format and read again: io.h
// promises the same table (for JSON, once it has rows: `[]` carries no column names).
#include <stdlib.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>

#include "absl/strings/str_cat.h"
#include "core/data/io.h"
#include "fuzz/fuzz_check.h"

namespace {

using tristage::data::DataFormat;
using tristage::data::Table;

// A private directory for the input file, made once per process under $TMPDIR (scripts/fuzz points
// it at its scratch directory).
const std::string& WorkDir() {
  static const std::string* dir = [] {
    const char* tmp = getenv("TMPDIR");
    std::string pattern =
        absl::StrCat(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp", "/data_fuzzer.XXXXXX");
    if (mkdtemp(pattern.data()) == nullptr) {
      std::perror("mkdtemp");
      std::abort();
    }
    return new std::string(pattern);
  }();
  return *dir;
}

bool WriteFile(const std::string& path, const uint8_t* data, size_t size) {
  FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) return false;
  const bool ok = std::fwrite(data, 1, size, f) == size;
  return std::fclose(f) == 0 && ok;
}

std::string Describe(const Table& table) {
  std::string out = absl::StrCat(table.num_rows(), " rows");
  for (const std::string& name : table.column_names()) {
    absl::StrAppend(&out, "\n  [", name, "]");
    for (size_t row = 0; row < table.Find(name)->size(); ++row) {
      const auto& column = *table.Find(name);
      absl::StrAppend(&out,
                      column.null(row) ? " null" : absl::StrCat(" '", column.values[row], "'"));
    }
  }
  return out;
}

bool SameTable(const Table& a, const Table& b) {
  if (a.num_rows() != b.num_rows() || a.column_names() != b.column_names()) return false;
  for (const std::string& name : a.column_names()) {
    const auto* x = a.Find(name);
    const auto* y = b.Find(name);
    if (x->values != y->values || x->is_null != y->is_null) return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  static constexpr DataFormat kFormats[] = {DataFormat::kCsv, DataFormat::kTsv, DataFormat::kJson,
                                            DataFormat::kJsonl};
  static constexpr const char* kNames[] = {"in.csv", "in.tsv", "in.json", "in.jsonl"};
  const int which = data[0] % 4;
  const std::string path = absl::StrCat(WorkDir(), "/", kNames[which]);
  if (!WriteFile(path, data + 1, size - 1)) std::abort();
  absl::StatusOr<Table> table = tristage::data::ReadTable(path, kFormats[which]);
  if (!table.ok() || table->column_names().empty()) return 0;
  const bool json = kFormats[which] == DataFormat::kJson || kFormats[which] == DataFormat::kJsonl;
  if (json && table->num_rows() == 0) return 0;

  const std::string again = absl::StrCat(WorkDir(), "/again.", kNames[which] + 3);
  const absl::Status written = tristage::data::WriteTable(*table, again, kFormats[which]);
  FUZZ_CHECK(written.ok(), written.ToString());
  absl::StatusOr<Table> reread = tristage::data::ReadTable(again, kFormats[which]);
  FUZZ_CHECK(reread.ok(), reread.status().ToString());
  FUZZ_CHECK(SameTable(*table, *reread),
             absl::StrCat("read:\n", Describe(*table), "\nread back:\n", Describe(*reread)));
  return 0;
}
