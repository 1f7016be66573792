// CSV and TSV reading and writing through ReadTable / WriteTable.
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/data/io.h"
#include "core/data/table.h"
#include "gtest/gtest.h"
#include "tests/core/data/data_test_util.h"

namespace tristage::data {
namespace {

class CsvTest : public TempDirTest {
 protected:
  Table Read(const std::string& contents, const std::string& name = "data.csv") {
    return ReadWritten(name, contents);
  }

  absl::Status ReadError(const std::string& contents, const std::string& name = "data.csv") {
    return ReadWrittenError(name, contents);
  }

  std::string Written(const Table& table, const std::string& name = "out.csv") {
    const absl::Status status = WriteTable(table, PathOf(name));
    EXPECT_TRUE(status.ok()) << status;
    return ReadFile(PathOf(name));
  }
};

TEST_F(CsvTest, ReaderTakesTheHeaderAndRows) {
  const Table table = Read("id,name\n1,ann\n2,bob\n");
  EXPECT_EQ(table.column_names(), (std::vector<std::string>{"id", "name"}));
  EXPECT_EQ(table.num_rows(), 2);
  EXPECT_EQ(CellsOf(table, "id"), (Cells{"1", "2"}));
  EXPECT_EQ(CellsOf(table, "name"), (Cells{"ann", "bob"}));
}

TEST_F(CsvTest, ReaderKeepsDelimitersInsideQuotedFields) {
  const Table table = Read("a,b\n\"x,y\",\"1,2,3\"\n");
  EXPECT_EQ(CellsOf(table, "a"), (Cells{"x,y"}));
  EXPECT_EQ(CellsOf(table, "b"), (Cells{"1,2,3"}));
}

TEST_F(CsvTest, ReaderTurnsDoubledQuotesIntoOne) {
  const Table table = Read("a,b\n\"say \"\"hi\"\"\",\"\"\"\"\n");
  EXPECT_EQ(CellsOf(table, "a"), (Cells{"say \"hi\""}));
  EXPECT_EQ(CellsOf(table, "b"), (Cells{"\""}));
}

TEST_F(CsvTest, ReaderKeepsNewlinesInsideQuotedFields) {
  const Table table = Read("a,b\n\"line 1\nline 2\",\"crlf\r\nkept\"\nnext,row\n");
  EXPECT_EQ(CellsOf(table, "a"), (Cells{"line 1\nline 2", "next"}));
  EXPECT_EQ(CellsOf(table, "b"), (Cells{"crlf\r\nkept", "row"}));
}

TEST_F(CsvTest, ReaderAcceptsCrlfLineEnds) {
  const Table table = Read("a,b\r\n1,2\r\n3,4\r\n");
  EXPECT_EQ(CellsOf(table, "a"), (Cells{"1", "3"}));
  EXPECT_EQ(CellsOf(table, "b"), (Cells{"2", "4"}));
}

TEST_F(CsvTest, ReaderTakesAFinalLineWithoutNewline) {
  const Table table = Read("a,b\n1,2\n3,4");
  EXPECT_EQ(CellsOf(table, "b"), (Cells{"2", "4"}));
}

TEST_F(CsvTest, ReaderSkipsAUtf8ByteOrderMark) {
  const Table table = Read(
      "\xEF\xBB\xBF"
      "id,text\n1,caf\xC3\xA9\n");
  EXPECT_EQ(table.column_names(), (std::vector<std::string>{"id", "text"}));
  EXPECT_EQ(CellsOf(table, "text"), (Cells{"caf\xC3\xA9"}));
}

TEST_F(CsvTest, ReaderIgnoresBlankLinesAtTheEnd) {
  const Table table = Read("a,b\n1,2\n\n\r\n\n");
  EXPECT_EQ(table.num_rows(), 1);
  EXPECT_EQ(CellsOf(table, "a"), (Cells{"1"}));
}

TEST_F(CsvTest, ReaderReadsMissingSpellingsAsNullWithEmptyText) {
  const Table table = Read("a,b\nNA,1\n,2\nnull,3\n N/A ,4\nNaN,5\nNone,6\n\"NULL\",7\nnan,8\n");
  EXPECT_EQ(CellsOf(table, "a"), Cells(8, std::nullopt));
  EXPECT_EQ(table.Find("a")->values, std::vector<std::string>(8, ""));
}

TEST_F(CsvTest, ReaderReadsAQuotedEmptyFieldAsNull) {
  const Table table = Read("a,b\n\"\",x\n");
  EXPECT_EQ(CellsOf(table, "a"), (Cells{std::nullopt}));
}

TEST_F(CsvTest, ReaderReadsATrailingEmptyFieldAsNull) {
  const Table table = Read("a,b\n1,\n2,3");
  EXPECT_EQ(CellsOf(table, "b"), (Cells{std::nullopt, "3"}));
}

TEST_F(CsvTest, ReaderKeepsCellTextUnchanged) {
  const Table table = Read("a,b,c\n  padded , \"  inside  \",ab\"c\n");
  EXPECT_EQ(CellsOf(table, "a"), (Cells{"  padded "}));
  EXPECT_EQ(CellsOf(table, "b"), (Cells{" \"  inside  \""}));  // not quoted: starts with a space
  EXPECT_EQ(CellsOf(table, "c"), (Cells{"ab\"c"}));
}

TEST_F(CsvTest, ReaderKeepsSpacesInsideQuotes) {
  const Table table = Read("a\n\"  inside  \"\n");
  EXPECT_EQ(CellsOf(table, "a"), (Cells{"  inside  "}));
}

TEST_F(CsvTest, ReaderKeepsTextAfterAClosingQuoteAsPandasDoes) {
  const Table table = Read("a,b\n\"ab\"cd,\"x\"\"y\"z\n");
  EXPECT_EQ(CellsOf(table, "a"), (Cells{"abcd"}));
  EXPECT_EQ(CellsOf(table, "b"), (Cells{"x\"yz"}));
}

TEST_F(CsvTest, ReaderSplitsTsvOnTabsOnly) {
  const Table table = Read("a\tb\n1,5\t\"x\ty\"\n", "data.tsv");
  EXPECT_EQ(CellsOf(table, "a"), (Cells{"1,5"}));
  EXPECT_EQ(CellsOf(table, "b"), (Cells{"x\ty"}));
}

TEST_F(CsvTest, ReaderTakesAHeaderWithoutRowsAsAnEmptyTable) {
  const Table table = Read("a,b\n");
  EXPECT_EQ(table.column_names(), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(table.num_rows(), 0);
}

TEST_F(CsvTest, ReaderRejectsAnEmptyFile) {
  const absl::Status status = ReadError("\n\n");
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(), PathOf("data.csv") + ": the file is empty (expected a header row)");
}

TEST_F(CsvTest, ReaderRejectsDuplicateHeaderNamesNamingThem) {
  const absl::Status status = ReadError("a,b,a,c,b,a\n1,2,3,4,5,6\n");
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(), PathOf("data.csv") + ":1: duplicate column names: 'a', 'b'");
}

TEST_F(CsvTest, ReaderReportsTooFewFieldsWithThePhysicalLine) {
  // The quoted newline makes row 2 span lines 2-3, so the short row is on line 5.
  const absl::Status status = ReadError("a,b,c\n1,\"two\nlines\",3\n4,5,6\n7,8\n");
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(), PathOf("data.csv") + ":5: expected 3 fields, found 2");
}

TEST_F(CsvTest, ReaderReportsTooManyFieldsWithTheLine) {
  EXPECT_EQ(ReadError("a\r\n1\r\n2,3\r\n").message(),
            PathOf("data.csv") + ":3: expected 1 field, found 2");
}

TEST_F(CsvTest, ReaderReportsAnUnterminatedQuoteAtTheLineWhereItStarted) {
  const absl::Status status = ReadError("a,b\n1,2\n3,\"open\nstill open\n\nand more\n");
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(), PathOf("data.csv") + ":3: unterminated quoted field");
}

TEST_F(CsvTest, WriterQuotesOnlyFieldsThatNeedIt) {
  const Table table = MakeTable({{"plain", {"x", "y"}},
                                 {"a,b", {"1,2", "say \"hi\""}},
                                 {"breaks", {"l1\nl2", "cr\r"}},
                                 {"spaces", {" lead", "trail "}},
                                 {"missing", {std::nullopt, "z"}}});
  EXPECT_EQ(Written(table),
            "plain,\"a,b\",breaks,spaces,missing\n"
            "x,\"1,2\",\"l1\nl2\",\" lead\",\n"
            "y,\"say \"\"hi\"\"\",\"cr\r\",\"trail \",z\n");
}

TEST_F(CsvTest, WriterQuotesTabsButNotCommasInTsv) {
  const Table table = MakeTable({{"a", {"1,2"}}, {"b", {"x\ty"}}});
  EXPECT_EQ(Written(table, "out.tsv"), "a\tb\n1,2\t\"x\ty\"\n");
}

TEST_F(CsvTest, WriterQuotesAnEmptyLoneFieldSoTheRowIsNotBlank) {
  const Table table = MakeTable({{"a", {"1", std::nullopt}}});
  EXPECT_EQ(Written(table), "a\n1\n\"\"\n");
  ExpectTablesEqual(Read(Written(table)), table);
}

// Found by fuzz/data_fuzzer: a first header name starting with a BOM was written bare, and the
// reader skipped it as the file's BOM, so the column came back renamed.
TEST_F(CsvTest, WriterQuotesAFieldStartingWithAByteOrderMark) {
  const Table table = MakeTable({{"\xEF\xBB\xBFid", {"\xEF\xBB\xBFx"}}, {"b", {"1"}}});
  EXPECT_EQ(Written(table), "\"\xEF\xBB\xBFid\",b\n\"\xEF\xBB\xBFx\",1\n");
  ExpectTablesEqual(Read(Written(table)), table);
}

TEST_F(CsvTest, WriterRejectsATableWithoutColumns) {
  const absl::Status status = WriteTable(Table(), PathOf("out.csv"));
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(),
            "cannot write '" + PathOf("out.csv") + "': the table has no columns for a header row");
}

// A table of random text whose cells are null exactly where the reader would make them null, as
// in every table read from a file.
Table RandomTable(uint64_t seed, int num_columns, int num_rows) {
  std::mt19937_64 rng(seed);
  Table table;
  for (int c = 0; c < num_columns; ++c) {
    Cells cells;
    for (int r = 0; r < num_rows; ++r) {
      const std::string text = RandomText(&rng);
      cells.push_back(IsMissingValue(text) ? Cell() : Cell(text));
    }
    // The index keeps names distinct; the random part makes them need quoting too.
    EXPECT_TRUE(table.AddColumn(absl::StrCat(RandomText(&rng), c), MakeColumn(cells)).ok());
  }
  return table;
}

TEST_F(CsvTest, RoundTripGivesBackRandomTables) {
  for (const char* name : {"round.csv", "round.tsv"}) {
    for (uint64_t seed = 1; seed <= 20; ++seed) {
      const Table table = RandomTable(seed, static_cast<int>(1 + seed % 4), 30);
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
