// Helpers for the core/data tests: tables written as literals, cell-by-cell comparison, and a
// fixture owning a fresh temporary directory.
#ifndef TRISTAGE_TESTS_CORE_DATA_DATA_TEST_UTIL_H_
#define TRISTAGE_TESTS_CORE_DATA_DATA_TEST_UTIL_H_

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "core/data/io.h"
#include "core/data/table.h"
#include "gtest/gtest.h"

namespace tristage::data {

// A cell as tests write it: std::nullopt is a null cell.
using Cell = std::optional<std::string>;
using Cells = std::vector<Cell>;

inline Column MakeColumn(const Cells& cells) {
  Column column;
  for (const Cell& cell : cells) column.Append(cell.value_or(""), !cell.has_value());
  return column;
}

// Fails the test when a column does not fit; tests build only tables that should.
inline Table MakeTable(const std::vector<std::pair<std::string, Cells>>& columns) {
  Table table;
  for (const auto& [name, cells] : columns) {
    const absl::Status status = table.AddColumn(name, MakeColumn(cells));
    EXPECT_TRUE(status.ok()) << status;
  }
  return table;
}

inline Cells CellsOf(const Column& column) {
  Cells cells;
  for (size_t row = 0; row < column.size(); ++row) {
    cells.push_back(column.null(row) ? Cell() : Cell(column.values[row]));
  }
  return cells;
}

inline Cells CellsOf(const Table& table, const std::string& name) {
  const Column* column = table.Find(name);
  EXPECT_NE(column, nullptr) << "no column " << name;
  return column == nullptr ? Cells() : CellsOf(*column);
}

inline void ExpectTablesEqual(const Table& actual, const Table& expected) {
  ASSERT_EQ(actual.column_names(), expected.column_names());
  ASSERT_EQ(actual.num_rows(), expected.num_rows());
  for (const std::string& name : expected.column_names()) {
    const Column* column = actual.Find(name);
    ASSERT_NE(column, nullptr);
    EXPECT_EQ(column->values, expected.Find(name)->values) << "column " << name;
    EXPECT_EQ(column->is_null, expected.Find(name)->is_null) << "column " << name;
  }
}

// A fixture whose tests get a fresh directory, removed with its contents after each test.
class TempDirTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "tristage_data_XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string PathOf(const std::string& name) const { return (dir_ / name).string(); }

  std::string WriteFile(const std::string& name, const std::string& contents) const {
    std::string path = PathOf(name);
    std::ofstream(path, std::ios::binary) << contents;
    return path;
  }

  // Reads `contents` written to a file `name` (format from its extension); fails the test on an
  // error and returns an empty table then.
  Table ReadWritten(const std::string& name, const std::string& contents) const {
    absl::StatusOr<Table> table = ReadTable(WriteFile(name, contents));
    EXPECT_TRUE(table.ok()) << table.status();
    return table.ok() ? *std::move(table) : Table();
  }

  // The status of reading `contents` written to a file `name`.
  absl::Status ReadWrittenError(const std::string& name, const std::string& contents) const {
    return ReadTable(WriteFile(name, contents)).status();
  }

  std::string ReadFile(const std::string& path) const {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }

  std::filesystem::path dir_;
};

// Random text drawn from pieces that stress writers: delimiters, quotes, line breaks, spaces and
// multi-byte UTF-8. Every piece is whole UTF-8, so the text is valid for JSON too.
inline std::string RandomText(std::mt19937_64* rng) {
  static const char* const kPieces[] = {"a",  "Z", "7",  ",", "\t", "\"",   "\n",
                                        "\r", " ", ";",  "'", "é",  "中文", "\xF0\x9F\x99\x82",
                                        "NA", "",  "\\", "{", "0.5"};
  const size_t length = (*rng)() % 7;
  std::string text;
  for (size_t i = 0; i < length; ++i) text += kPieces[(*rng)() % std::size(kPieces)];
  return text;
}

}  // namespace tristage::data

#endif  // TRISTAGE_TESTS_CORE_DATA_DATA_TEST_UTIL_H_
