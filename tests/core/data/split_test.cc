#include "core/data/split.h"

#include <algorithm>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/data/table.h"
#include "gtest/gtest.h"
#include "tests/core/data/data_test_util.h"

namespace tristage::data {
namespace {

using Rows = std::vector<int64_t>;

class SplitTableTest : public ::testing::Test {
 protected:
  static Table NumberedTable(int n) {
    Cells ids;
    for (int i = 0; i < n; ++i) ids.push_back(std::to_string(i));
    return MakeTable({{"id", ids}});
  }

  static SplitIndices Split(const Table& table, const SplitOptions& options) {
    absl::StatusOr<SplitIndices> split = SplitTable(table, options);
    EXPECT_TRUE(split.ok()) << split.status();
    return split.ok() ? *std::move(split) : SplitIndices();
  }

  static Rows Sorted(Rows rows) {
    std::sort(rows.begin(), rows.end());
    return rows;
  }

  // Every row exactly once across the three splits.
  static void ExpectPartition(const SplitIndices& split, int64_t num_rows) {
    Rows all = split.train;
    all.insert(all.end(), split.validation.begin(), split.validation.end());
    all.insert(all.end(), split.test.begin(), split.test.end());
    Rows expected(num_rows);
    for (int64_t i = 0; i < num_rows; ++i) expected[i] = i;
    EXPECT_EQ(Sorted(all), expected);
  }
};

TEST_F(SplitTableTest, ParseSplitTypeAcceptsEveryName) {
  EXPECT_EQ(*ParseSplitType("random"), SplitType::kRandom);
  EXPECT_EQ(*ParseSplitType("fixed"), SplitType::kFixed);
  EXPECT_EQ(*ParseSplitType("stratify"), SplitType::kStratify);
  EXPECT_EQ(*ParseSplitType("hash"), SplitType::kHash);
}

TEST_F(SplitTableTest, ParseSplitTypeListsTheNamesOnError) {
  const absl::StatusOr<SplitType> type = ParseSplitType("rnadom");
  EXPECT_EQ(type.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(type.status().message(),
            "unknown split type 'rnadom'; expected one of: random, fixed, stratify, hash (did you "
            "mean 'random'?)");
}

TEST_F(SplitTableTest, RandomSplitShufflesAllRowsThenCutsByProbabilities) {
  const SplitIndices split = Split(NumberedTable(10), SplitOptions());
  EXPECT_EQ(split.train.size(), 7u);
  EXPECT_EQ(split.validation.size(), 1u);
  EXPECT_EQ(split.test.size(), 2u);
  ExpectPartition(split, 10);
  EXPECT_NE(split.train, (Rows{0, 1, 2, 3, 4, 5, 6}));
}

TEST_F(SplitTableTest, RandomSplitIsTheSameOnEveryPlatform) {
  // Pinned: mt19937_64 is specified by the standard, and the shuffle and bounded draw are ours.
  const SplitIndices split = Split(NumberedTable(10), SplitOptions());
  EXPECT_EQ(split.train, (Rows{1, 7, 9, 0, 3, 8, 4}));
  EXPECT_EQ(split.validation, (Rows{2}));
  EXPECT_EQ(split.test, (Rows{5, 6}));
}

TEST_F(SplitTableTest, RandomSplitRoundsTheCuts) {
  SplitOptions options;
  options.probabilities = {0.5, 0.25, 0.25};
  // round(2.5) = 3 and round(3.75) = 4.
  const SplitIndices split = Split(NumberedTable(5), options);
  EXPECT_EQ(split.train.size(), 3u);
  EXPECT_EQ(split.validation.size(), 1u);
  EXPECT_EQ(split.test.size(), 1u);
}

TEST_F(SplitTableTest, RandomSplitIsDeterministicForASeedAndVariesWithIt) {
  const Table table = NumberedTable(100);
  SplitOptions options;
  options.seed = 7;
  const SplitIndices first = Split(table, options);
  const SplitIndices again = Split(table, options);
  EXPECT_EQ(first.train, again.train);
  EXPECT_EQ(first.validation, again.validation);
  EXPECT_EQ(first.test, again.test);
  options.seed = 8;
  EXPECT_NE(Split(table, options).train, first.train);
}

TEST_F(SplitTableTest, ProbabilitiesMustBeNonNegativeAndSumToOne) {
  const Table table = NumberedTable(4);
  SplitOptions options;
  options.probabilities = {0.5, 0.5, 0.5};
  absl::StatusOr<SplitIndices> split = SplitTable(table, options);
  EXPECT_EQ(split.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(split.status().message(),
            "split probabilities [0.5, 0.5, 0.5] must be [train, validation, test], each >= 0, "
            "summing to 1 (they sum to 1.5)");
  options.probabilities = {1.2, -0.2, 0};
  EXPECT_EQ(SplitTable(table, options).status().message(),
            "split probabilities [1.2, -0.2, 0] must be [train, validation, test], each >= 0, "
            "summing to 1 (they sum to 1)");
  options.probabilities = {0.7, 0.1, 0.2000005};
  EXPECT_TRUE(SplitTable(table, options).ok());
}

TEST_F(SplitTableTest, EmptyTableGivesThreeEmptySplits) {
  for (const SplitType type :
       {SplitType::kRandom, SplitType::kFixed, SplitType::kStratify, SplitType::kHash}) {
    SplitOptions options;
    options.type = type;
    options.column = "label";
    const SplitIndices split = Split(Table(), options);
    EXPECT_TRUE(split.train.empty());
    EXPECT_TRUE(split.validation.empty());
    EXPECT_TRUE(split.test.empty());
  }
}

// 10 rows of "a", 20 of "b" and 10 nulls, interleaved.
Table ThreeClassTable() {
  Cells labels;
  for (int i = 0; i < 40; ++i) {
    labels.push_back(i % 4 == 0 ? Cell("a") : i % 4 == 2 ? Cell() : Cell("b"));
  }
  return MakeTable({{"label", labels}});
}

std::map<Cell, int> ClassCounts(const Table& table, const Rows& rows) {
  std::map<Cell, int> counts;
  for (const Cell& cell : CellsOf(table.Take(rows), "label")) ++counts[cell];
  return counts;
}

TEST_F(SplitTableTest, StratifySplitKeepsClassProportionsInEverySplit) {
  const Table table = ThreeClassTable();
  SplitOptions options;
  options.type = SplitType::kStratify;
  options.column = "label";
  options.probabilities = {0.6, 0.2, 0.2};
  const SplitIndices split = Split(table, options);
  ExpectPartition(split, 40);
  using Counts = std::map<Cell, int>;
  EXPECT_EQ(ClassCounts(table, split.train), (Counts{{"a", 6}, {"b", 12}, {std::nullopt, 6}}));
  EXPECT_EQ(ClassCounts(table, split.validation), (Counts{{"a", 2}, {"b", 4}, {std::nullopt, 2}}));
  EXPECT_EQ(ClassCounts(table, split.test), (Counts{{"a", 2}, {"b", 4}, {std::nullopt, 2}}));
}

TEST_F(SplitTableTest, StratifySplitPlacesClassesInOrderOfFirstAppearance) {
  const Table table = ThreeClassTable();
  SplitOptions options;
  options.type = SplitType::kStratify;
  options.column = "label";
  options.probabilities = {0.6, 0.2, 0.2};
  const Cells train = CellsOf(table.Take(Split(table, options).train), "label");
  Cells expected(6, Cell("a"));
  expected.insert(expected.end(), 12, Cell("b"));
  expected.insert(expected.end(), 6, Cell());
  EXPECT_EQ(train, expected);
}

TEST_F(SplitTableTest, StratifySplitIsDeterministicForASeedAndVariesWithIt) {
  const Table table = ThreeClassTable();
  SplitOptions options;
  options.type = SplitType::kStratify;
  options.column = "label";
  const SplitIndices first = Split(table, options);
  EXPECT_EQ(Split(table, options).train, first.train);
  EXPECT_EQ(Split(table, options).test, first.test);
  options.seed = 43;
  EXPECT_NE(Sorted(Split(table, options).train), Sorted(first.train));
}

TEST_F(SplitTableTest, StratifySplitNamesAMissingColumn) {
  SplitOptions options;
  options.type = SplitType::kStratify;
  options.column = "labl";
  const absl::StatusOr<SplitIndices> split = SplitTable(ThreeClassTable(), options);
  EXPECT_EQ(split.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(split.status().message(),
            "stratify split: no column 'labl'; the columns are: label (did you mean 'label'?)");
}

TEST_F(SplitTableTest, StratifyAndHashSplitsNeedAColumn) {
  SplitOptions options;
  options.type = SplitType::kStratify;
  EXPECT_EQ(SplitTable(ThreeClassTable(), options).status().message(),
            "stratify split needs a column to split on");
  options.type = SplitType::kHash;
  EXPECT_EQ(SplitTable(ThreeClassTable(), options).status().message(),
            "hash split needs a column to split on");
}

// The split each id lands in: 0 train, 1 validation, 2 test.
std::map<std::string, int> HashSplitOfIds(const Table& table, uint64_t seed) {
  SplitOptions options;
  options.type = SplitType::kHash;
  options.column = "id";
  options.seed = seed;
  absl::StatusOr<SplitIndices> split = SplitTable(table, options);
  EXPECT_TRUE(split.ok()) << split.status();
  std::map<std::string, int> where;
  const Rows* parts[] = {&split->train, &split->validation, &split->test};
  for (int part = 0; part < 3; ++part) {
    for (const int64_t row : *parts[part]) where[table.Find("id")->values[row]] = part;
  }
  return where;
}

Table IdTable(int first, int last) {
  Cells ids;
  for (int i = first; i < last; ++i) ids.push_back(absl::StrCat("user-", i));
  return MakeTable({{"id", ids}});
}

TEST_F(SplitTableTest, HashSplitCutsTheKeysByProbabilities) {
  const std::map<std::string, int> where = HashSplitOfIds(IdTable(0, 1000), 42);
  int counts[3] = {0, 0, 0};
  for (const auto& [id, part] : where) ++counts[part];
  // Pinned: the hash of the key alone decides. Close to [0.7, 0.1, 0.2] even for keys that
  // differ only in their last characters.
  EXPECT_EQ(counts[0], 696);
  EXPECT_EQ(counts[1], 105);
  EXPECT_EQ(counts[2], 199);
}

TEST_F(SplitTableTest, HashSplitKeepsEachRowsSplitWhenRowsAreAddedOrReordered) {
  const std::map<std::string, int> before = HashSplitOfIds(IdTable(0, 200), 42);
  const Table grown = IdTable(0, 300);
  std::vector<int64_t> reversed(grown.num_rows());
  for (int64_t i = 0; i < grown.num_rows(); ++i) reversed[i] = grown.num_rows() - 1 - i;
  const std::map<std::string, int> after = HashSplitOfIds(grown.Take(reversed), 7);
  for (const auto& [id, part] : before) EXPECT_EQ(after.at(id), part) << id;
}

TEST_F(SplitTableTest, HashSplitKeepsFileOrderWithinEachSplit) {
  SplitOptions options;
  options.type = SplitType::kHash;
  options.column = "id";
  const SplitIndices split = Split(IdTable(0, 100), options);
  ExpectPartition(split, 100);
  EXPECT_EQ(split.train, Sorted(split.train));
  EXPECT_EQ(split.validation, Sorted(split.validation));
  EXPECT_EQ(split.test, Sorted(split.test));
}

TEST_F(SplitTableTest, FixedSplitReadsNumbersAndNames) {
  const Table table = MakeTable(
      {{"split",
        {"0", "1", "2", "0.0", "1.0", "2.0", "train", "training", "validation", "val", "test"}}});
  SplitOptions options;
  options.type = SplitType::kFixed;
  const SplitIndices split = Split(table, options);
  EXPECT_EQ(split.train, (Rows{0, 3, 6, 7}));
  EXPECT_EQ(split.validation, (Rows{1, 4, 8, 9}));
  EXPECT_EQ(split.test, (Rows{2, 5, 10}));
}

TEST_F(SplitTableTest, FixedSplitIgnoresCaseAndSurroundingWhitespace) {
  const Table table = MakeTable({{"split", {" 1 ", "Train", "TEST\t"}}});
  SplitOptions options;
  options.type = SplitType::kFixed;
  const SplitIndices split = Split(table, options);
  EXPECT_EQ(split.train, (Rows{1}));
  EXPECT_EQ(split.validation, (Rows{0}));
  EXPECT_EQ(split.test, (Rows{2}));
}

TEST_F(SplitTableTest, FixedSplitUsesTheGivenColumn) {
  const Table table = MakeTable({{"split", {"x", "x"}}, {"fold", {"2", "0"}}});
  SplitOptions options;
  options.type = SplitType::kFixed;
  options.column = "fold";
  const SplitIndices split = Split(table, options);
  EXPECT_EQ(split.train, (Rows{1}));
  EXPECT_EQ(split.validation, (Rows{}));
  EXPECT_EQ(split.test, (Rows{0}));
}

TEST_F(SplitTableTest, FixedSplitNamesTheRowWithAnotherValue) {
  Cells values(16, Cell("0"));
  values.push_back("x");
  SplitOptions options;
  options.type = SplitType::kFixed;
  const absl::StatusOr<SplitIndices> split = SplitTable(MakeTable({{"split", values}}), options);
  EXPECT_EQ(split.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(split.status().message(), "split column 'split': row 16 has 'x' (expected 0, 1 or 2)");
}

TEST_F(SplitTableTest, FixedSplitNamesTheRowWithAMissingValue) {
  SplitOptions options;
  options.type = SplitType::kFixed;
  EXPECT_EQ(SplitTable(MakeTable({{"split", {"1", std::nullopt}}}), options).status().message(),
            "split column 'split': row 1 has a missing value (expected 0, 1 or 2)");
  EXPECT_EQ(SplitTable(MakeTable({{"split", {"3"}}}), options).status().message(),
            "split column 'split': row 0 has '3' (expected 0, 1 or 2)");
}

TEST_F(SplitTableTest, FixedSplitNamesAMissingColumn) {
  SplitOptions options;
  options.type = SplitType::kFixed;
  const absl::StatusOr<SplitIndices> split = SplitTable(MakeTable({{"splits", {"0"}}}), options);
  EXPECT_EQ(split.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(split.status().message(),
            "fixed split: no column 'split'; the columns are: splits (did you mean 'splits'?)");
}

TEST(KfoldSplitTest, TestSetsPartitionTheRowsAndTrainingIsTheRest) {
  const absl::StatusOr<std::vector<Fold>> folds = KfoldSplit(11, 3, 5);
  ASSERT_TRUE(folds.ok()) << folds.status();
  ASSERT_EQ(folds->size(), 3u);
  Rows tested;
  for (const Fold& fold : *folds) {
    EXPECT_TRUE(std::is_sorted(fold.test.begin(), fold.test.end()));
    EXPECT_TRUE(std::is_sorted(fold.training.begin(), fold.training.end()));
    Rows both = fold.training;
    both.insert(both.end(), fold.test.begin(), fold.test.end());
    std::sort(both.begin(), both.end());
    EXPECT_EQ(both, (Rows{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10}));
    tested.insert(tested.end(), fold.test.begin(), fold.test.end());
  }
  std::sort(tested.begin(), tested.end());
  EXPECT_EQ(tested, (Rows{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10}));
  // As scikit-learn's KFold: the first 11 % 3 folds hold one row more.
  EXPECT_EQ((*folds)[0].test.size(), 4u);
  EXPECT_EQ((*folds)[1].test.size(), 4u);
  EXPECT_EQ((*folds)[2].test.size(), 3u);
}

TEST(KfoldSplitTest, CutsTheRandomSplitsShuffleOnEveryPlatform) {
  // Seed 42 shuffles 10 rows to 1 7 9 0 3 8 4 2 5 6 (pinned in
  // RandomSplitIsTheSameOnEveryPlatform).
  const absl::StatusOr<std::vector<Fold>> folds = KfoldSplit(10, 3, 42);
  ASSERT_TRUE(folds.ok()) << folds.status();
  EXPECT_EQ((*folds)[0].test, (Rows{0, 1, 7, 9}));
  EXPECT_EQ((*folds)[1].test, (Rows{3, 4, 8}));
  EXPECT_EQ((*folds)[2].test, (Rows{2, 5, 6}));
  EXPECT_EQ((*folds)[2].training, (Rows{0, 1, 3, 4, 7, 8, 9}));
}

TEST(KfoldSplitTest, SameSeedSameFoldsOtherSeedOtherFolds) {
  const auto first = KfoldSplit(50, 5, 7);
  const auto again = KfoldSplit(50, 5, 7);
  const auto other = KfoldSplit(50, 5, 8);
  ASSERT_TRUE(first.ok() && again.ok() && other.ok());
  for (size_t i = 0; i < 5; ++i) EXPECT_EQ((*first)[i].test, (*again)[i].test);
  EXPECT_NE((*first)[0].test, (*other)[0].test);
}

TEST(KfoldSplitTest, RejectsFewerThanTwoFoldsAndMoreFoldsThanRows) {
  EXPECT_EQ(KfoldSplit(10, 1, 42).status().message(),
            "k-fold cross validation needs at least 2 folds, not 1");
  EXPECT_EQ(KfoldSplit(3, 4, 42).status().message(),
            "k-fold cross validation cannot cut 3 rows into 4 folds");
  EXPECT_EQ(KfoldSplit(3, 4, 42).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(KfoldSplit(2, 2, 42).ok());
}

}  // namespace
}  // namespace tristage::data
