// JSON and JSONL reading and writing through ReadTable / WriteTable.
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "core/data/io.h"
#include "core/data/table.h"
#include "gtest/gtest.h"
#include "tests/core/data/data_test_util.h"

namespace tristage::data {
namespace {

class JsonTest : public TempDirTest {
 protected:
  Table Read(const std::string& contents, const std::string& name = "data.json") {
    return ReadWritten(name, contents);
  }

  absl::Status ReadError(const std::string& contents, const std::string& name = "data.json") {
    return ReadWrittenError(name, contents);
  }

  std::string Written(const Table& table, const std::string& name) {
    const absl::Status status = WriteTable(table, PathOf(name));
    EXPECT_TRUE(status.ok()) << status;
    return ReadFile(PathOf(name));
  }
};

TEST_F(JsonTest, ReaderTakesAnArrayOfRecordsInKeyOrder) {
  const Table table = Read(R"([{"b": "x", "a": "1"}, {"b": "y", "a": "2"}])");
  EXPECT_EQ(table.column_names(), (std::vector<std::string>{"b", "a"}));
  EXPECT_EQ(CellsOf(table, "b"), (Cells{"x", "y"}));
  EXPECT_EQ(CellsOf(table, "a"), (Cells{"1", "2"}));
}

TEST_F(JsonTest, ReaderTurnsValuesIntoText) {
  const Table table = Read(R"([{
    "string": "NA", "empty": "", "int": 42, "negative": -7, "float": 1.5, "whole": 2.0,
    "exponent": 1e300, "bool": true, "null": null, "array": [1, 2.5, "x", false, [3, 4]],
    "object": {"k": [1, "v"]}, "empty_array": []
  }])");
  EXPECT_EQ(CellsOf(table, "string"), (Cells{"NA"}));  // only JSON null is missing
  EXPECT_EQ(CellsOf(table, "empty"), (Cells{""}));
  EXPECT_EQ(CellsOf(table, "int"), (Cells{"42"}));
  EXPECT_EQ(CellsOf(table, "negative"), (Cells{"-7"}));
  EXPECT_EQ(CellsOf(table, "float"), (Cells{"1.5"}));
  EXPECT_EQ(CellsOf(table, "whole"), (Cells{"2.0"}));
  EXPECT_EQ(CellsOf(table, "exponent"), (Cells{"1e+300"}));
  EXPECT_EQ(CellsOf(table, "bool"), (Cells{"true"}));
  EXPECT_EQ(CellsOf(table, "null"), (Cells{std::nullopt}));
  EXPECT_EQ(CellsOf(table, "array"), (Cells{"1 2.5 x false 3 4"}));
  EXPECT_EQ(CellsOf(table, "object"), (Cells{R"({"k":[1,"v"]})"}));
  EXPECT_EQ(CellsOf(table, "empty_array"), (Cells{""}));
}

TEST_F(JsonTest, ReaderMakesKeysMissingFromARecordNull) {
  const Table table = Read(R"([{"a": 1, "b": 2}, {"a": 3}, {"b": 4}])");
  EXPECT_EQ(CellsOf(table, "a"), (Cells{"1", "3", std::nullopt}));
  EXPECT_EQ(CellsOf(table, "b"), (Cells{"2", std::nullopt, "4"}));
}

TEST_F(JsonTest, ReaderAddsAKeyFirstSeenLaterAsAColumnNullAbove) {
  const Table table = Read(R"([{"a": 1}, {"a": 2}, {"a": 3, "late": "x"}, {"a": 4}])");
  EXPECT_EQ(table.column_names(), (std::vector<std::string>{"a", "late"}));
  EXPECT_EQ(CellsOf(table, "late"), (Cells{std::nullopt, std::nullopt, "x", std::nullopt}));
}

TEST_F(JsonTest, ReaderTakesAnEmptyArrayAsAnEmptyTable) {
  const Table table = Read("[]");
  EXPECT_EQ(table.num_rows(), 0);
  EXPECT_TRUE(table.column_names().empty());
}

TEST_F(JsonTest, ReaderOrdersAnObjectOfColumnsByIntegerRowLabels) {
  const Table table = Read(R"({"a": {"10": "ten", "2": "two", "0": "zero"},
                              "b": {"0": 0, "10": 10, "2": null}})");
  EXPECT_EQ(table.column_names(), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(CellsOf(table, "a"), (Cells{"zero", "two", "ten"}));
  EXPECT_EQ(CellsOf(table, "b"), (Cells{"0", std::nullopt, "10"}));
}

TEST_F(JsonTest, ReaderKeepsFirstAppearanceForTextRowLabels) {
  const Table table = Read(R"({"a": {"z": 1, "10": 2}, "b": {"y": 3, "z": 4}})");
  EXPECT_EQ(CellsOf(table, "a"), (Cells{"1", "2", std::nullopt}));
  EXPECT_EQ(CellsOf(table, "b"), (Cells{"4", std::nullopt, "3"}));
}

TEST_F(JsonTest, ReaderRejectsARecordThatIsNotAnObject) {
  const absl::Status status = ReadError(R"([{"a": 1}, {"a": 2}, [3]])");
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(), PathOf("data.json") + ": record 3: not a JSON object");
}

TEST_F(JsonTest, ReaderRejectsAColumnThatIsNotAnObjectOfRows) {
  EXPECT_EQ(ReadError(R"({"a": {"0": 1}, "b": [1]})").message(),
            PathOf("data.json") +
                ": column 'b': expected an object of row labels to values, found array");
}

TEST_F(JsonTest, ReaderRejectsAScalarDocument) {
  EXPECT_EQ(ReadError("42").message(),
            PathOf("data.json") +
                ": expected an array of records or an object of columns, found "
                "number");
}

TEST_F(JsonTest, ReaderReportsParseErrorsWithLineAndColumn) {
  const absl::Status status = ReadError("[\n  {\"a\": 1},\n  {\"a\": tru}\n]\n");
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StartsWith(status.message(),
                               PathOf("data.json") + ":3: invalid JSON at column 12: syntax error"))
      << status.message();
}

TEST_F(JsonTest, JsonlReaderTakesOneRecordPerLineSkippingBlankOnes) {
  const Table table =
      Read("{\"a\": 1, \"b\": \"x\"}\r\n\n  \n{\"b\": \"y\", \"c\": [1, 2]}\n", "data.jsonl");
  EXPECT_EQ(table.column_names(), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(CellsOf(table, "a"), (Cells{"1", std::nullopt}));
  EXPECT_EQ(CellsOf(table, "b"), (Cells{"x", "y"}));
  EXPECT_EQ(CellsOf(table, "c"), (Cells{std::nullopt, "1 2"}));
}

TEST_F(JsonTest, JsonlReaderAcceptsTheNdjsonExtension) {
  const Table table = Read("{\"a\": 1}\n{\"a\": 2}", "data.ndjson");
  EXPECT_EQ(CellsOf(table, "a"), (Cells{"1", "2"}));
}

TEST_F(JsonTest, JsonlReaderRejectsALineThatIsNotAnObject) {
  const absl::Status status = ReadError("{\"a\": 1}\n\n[2]\n", "data.jsonl");
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(), PathOf("data.jsonl") + ":3: not a JSON object");
}

TEST_F(JsonTest, JsonlReaderReportsParseErrorsWithTheLine) {
  const absl::Status status = ReadError("{\"a\": 1}\n{\"a\": 1,}\n", "data.jsonl");
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StartsWith(status.message(),
                               PathOf("data.jsonl") + ":2: invalid JSON at column 9: syntax error"))
      << status.message();
}

TEST_F(JsonTest, WriterWritesAnArrayOfRecordsWithStringsAndNulls) {
  const Table table = MakeTable({{"a", {"1", "x\"y"}}, {"b", {std::nullopt, "tab\there"}}});
  EXPECT_EQ(Written(table, "out.json"),
            "[\n{\"a\":\"1\",\"b\":null},\n{\"a\":\"x\\\"y\",\"b\":\"tab\\there\"}\n]\n");
}

TEST_F(JsonTest, WriterWritesOneRecordPerLineForJsonl) {
  const Table table = MakeTable({{"a", {"1", std::nullopt}}, {"b", {"", "2"}}});
  EXPECT_EQ(Written(table, "out.jsonl"), "{\"a\":\"1\",\"b\":\"\"}\n{\"a\":null,\"b\":\"2\"}\n");
}

TEST_F(JsonTest, WriterWritesAnEmptyArrayForNoRows) {
  EXPECT_EQ(Written(MakeTable({{"a", {}}}), "out.json"), "[]\n");
  EXPECT_EQ(Written(MakeTable({{"a", {}}}), "out.jsonl"), "");
}

TEST_F(JsonTest, WriterRejectsTextThatIsNotUtf8NamingTheCell) {
  const Table table = MakeTable({{"a", {"ok", "bad\xFF"}}});
  const absl::Status status = WriteTable(table, PathOf("out.json"));
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StartsWith(status.message(),
                               "cannot write '" + PathOf("out.json") + "': column 'a', row 1: "))
      << status.message();
  EXPECT_TRUE(absl::StrContains(status.message(), "UTF-8")) << status.message();
}

TEST_F(JsonTest, FailedWriteLeavesTheEarlierFileAndNoTemporaryOne) {
  const std::string path = WriteFile("out.json", "[{\"a\": \"old\"}]\n");
  EXPECT_FALSE(WriteTable(MakeTable({{"a", {"bad\xFF"}}}), path).ok());
  EXPECT_EQ(ReadFile(path), "[{\"a\": \"old\"}]\n");
  int files = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator(dir_)) ++files;
  EXPECT_EQ(files, 1);
}

TEST_F(JsonTest, RoundTripGivesBackRandomTables) {
  for (const char* name : {"round.json", "round.jsonl"}) {
    for (uint64_t seed = 1; seed <= 20; ++seed) {
      std::mt19937_64 rng(seed);
      Table table;
      for (int c = 0; c < 3; ++c) {
        Cells cells;
        // JSON keeps "" and "NA" as text, so any cell may be null or not.
        for (int r = 0; r < 25; ++r) cells.push_back(rng() % 5 == 0 ? Cell() : RandomText(&rng));
        ASSERT_TRUE(table.AddColumn(absl::StrCat(RandomText(&rng), c), MakeColumn(cells)).ok());
      }
      ASSERT_TRUE(WriteTable(table, PathOf(name)).ok());
      absl::StatusOr<Table> read = ReadTable(PathOf(name));
      ASSERT_TRUE(read.ok()) << read.status();
      SCOPED_TRACE(absl::StrCat(name, " seed ", seed));
      ExpectTablesEqual(*read, table);
    }
  }
}

}  // namespace
}  // namespace tristage::data
