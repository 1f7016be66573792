#include "core/data/table.h"

#include <cstdint>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tests/core/data/data_test_util.h"

namespace tristage::data {
namespace {

class TableTest : public ::testing::Test {};

TEST_F(TableTest, ColumnAppendKeepsValuesAndNullMaskInStep) {
  Column column;
  column.Append("a", false);
  column.Append("ignored", true);
  column.Append("", false);
  EXPECT_EQ(column.size(), 3u);
  EXPECT_EQ(column.values, (std::vector<std::string>{"a", "", ""}));
  EXPECT_EQ(column.is_null, (std::vector<uint8_t>{0, 1, 0}));
  EXPECT_FALSE(column.null(0));
  EXPECT_TRUE(column.null(1));
  EXPECT_FALSE(column.null(2));
}

TEST_F(TableTest, IsMissingValueAcceptsPandasSpellingsAroundWhitespace) {
  for (const char* cell : {"", "NA", "N/A", "NaN", "nan", "null", "NULL", "None", "  ", " NA ",
                           "\tnull\r\n", " None"}) {
    EXPECT_TRUE(IsMissingValue(cell)) << "'" << cell << "'";
  }
  for (const char* cell : {"0", "na", "n/a", "NONE", "Null", "-", "N A", "NAN", "nan0", "\"\""}) {
    EXPECT_FALSE(IsMissingValue(cell)) << "'" << cell << "'";
  }
}

TEST_F(TableTest, FirstColumnSetsTheRowCount) {
  Table table;
  EXPECT_EQ(table.num_rows(), 0);
  ASSERT_TRUE(table.AddColumn("a", MakeColumn({"1", "2", std::nullopt})).ok());
  ASSERT_TRUE(table.AddColumn("b", MakeColumn({"x", "y", "z"})).ok());
  EXPECT_EQ(table.num_rows(), 3);
  EXPECT_EQ(table.column_names(), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(CellsOf(table, "a"), (Cells{"1", "2", std::nullopt}));
}

TEST_F(TableTest, AddColumnRejectsATakenName) {
  Table table = MakeTable({{"a", {"1"}}});
  const absl::Status status = table.AddColumn("a", MakeColumn({"2"}));
  EXPECT_EQ(status.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(status.message(), "column 'a' already exists");
  EXPECT_EQ(CellsOf(table, "a"), (Cells{"1"}));
}

TEST_F(TableTest, AddColumnRejectsALengthDifferentFromTheTable) {
  Table table = MakeTable({{"a", {"1", "2"}}});
  const absl::Status status = table.AddColumn("b", MakeColumn({"1", "2", "3"}));
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(), "column 'b' has 3 rows but the table has 2");
  EXPECT_EQ(table.column_names(), (std::vector<std::string>{"a"}));
}

TEST_F(TableTest, AddColumnRejectsValuesAndNullMaskOfDifferentLengths) {
  Table table;
  Column column;
  column.values = {"1", "2"};
  column.is_null = {0};
  const absl::Status status = table.AddColumn("a", column);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(), "column 'a': 2 values but a null mask of length 1");
  EXPECT_TRUE(table.column_names().empty());
}

TEST_F(TableTest, SetColumnReplacesInPlaceOrAppends) {
  Table table = MakeTable({{"a", {"1", "2"}}, {"b", {"3", "4"}}});
  ASSERT_TRUE(table.SetColumn("a", MakeColumn({std::nullopt, "9"})).ok());
  ASSERT_TRUE(table.SetColumn("c", MakeColumn({"5", "6"})).ok());
  EXPECT_EQ(table.column_names(), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(CellsOf(table, "a"), (Cells{std::nullopt, "9"}));
  EXPECT_EQ(CellsOf(table, "c"), (Cells{"5", "6"}));
}

TEST_F(TableTest, SetColumnRejectsALengthDifferentFromTheOtherColumns) {
  Table table = MakeTable({{"a", {"1", "2"}}, {"b", {"3", "4"}}});
  const absl::Status status = table.SetColumn("a", MakeColumn({"1"}));
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(), "column 'a' has 1 row but the table has 2");
  EXPECT_EQ(CellsOf(table, "a"), (Cells{"1", "2"}));
}

TEST_F(TableTest, SetColumnOnTheOnlyColumnMayChangeTheRowCount) {
  Table table = MakeTable({{"a", {"1", "2"}}});
  ASSERT_TRUE(table.SetColumn("a", MakeColumn({"1", "2", "3"})).ok());
  EXPECT_EQ(table.num_rows(), 3);
}

TEST_F(TableTest, FindReturnsNullForAnAbsentColumn) {
  const Table table = MakeTable({{"a", {"1"}}});
  EXPECT_EQ(table.Find("b"), nullptr);
  ASSERT_NE(table.Find("a"), nullptr);
  EXPECT_EQ(table.Find("a")->values, (std::vector<std::string>{"1"}));
}

TEST_F(TableTest, GetNamesTheMissingColumnListsTheOthersAndSuggestsTheClosest) {
  const Table table = MakeTable({{"label", {"1"}}, {"text", {"x"}}});
  const absl::StatusOr<const Column*> column = table.Get("labl");
  EXPECT_EQ(column.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(column.status().message(),
            "no column 'labl'; the columns are: label, text (did you mean 'label'?)");
}

TEST_F(TableTest, GetWithoutACloseColumnOnlyListsThem) {
  const Table table = MakeTable({{"label", {"1"}}, {"text", {"x"}}});
  EXPECT_EQ(table.Get("price").status().message(),
            "no column 'price'; the columns are: label, text");
}

TEST_F(TableTest, GetOnATableWithoutColumnsSaysSo) {
  const Table table;
  EXPECT_EQ(table.Get("a").status().message(), "no column 'a': the table has no columns");
}

TEST_F(TableTest, GetReturnsThePresentColumn) {
  const Table table = MakeTable({{"a", {"1"}}});
  const absl::StatusOr<const Column*> column = table.Get("a");
  ASSERT_TRUE(column.ok()) << column.status();
  EXPECT_EQ(*column, table.Find("a"));
}

TEST_F(TableTest, TakeCopiesRowsInTheGivenOrderWithRepeats) {
  const Table table = MakeTable({{"a", {"0", std::nullopt, "2"}}, {"b", {"x", "y", "z"}}});
  const std::vector<int64_t> rows = {2, 1, 2, 0};
  const Table taken = table.Take(rows);
  EXPECT_EQ(taken.num_rows(), 4);
  EXPECT_EQ(taken.column_names(), table.column_names());
  EXPECT_EQ(CellsOf(taken, "a"), (Cells{"2", std::nullopt, "2", "0"}));
  EXPECT_EQ(CellsOf(taken, "b"), (Cells{"z", "y", "z", "x"}));
  EXPECT_EQ(CellsOf(table, "a"), (Cells{"0", std::nullopt, "2"}));
}

TEST_F(TableTest, TakeOfNoRowsKeepsTheColumns) {
  const Table table = MakeTable({{"a", {"0", "1"}}, {"b", {"x", "y"}}});
  const Table taken = table.Take({});
  EXPECT_EQ(taken.num_rows(), 0);
  EXPECT_EQ(taken.column_names(), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(taken.Find("a")->size(), 0u);
}

}  // namespace
}  // namespace tristage::data
