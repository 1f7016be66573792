// Splitting a Table into training, validation and test rows, as Ludwig's `preprocessing.split`.
//
//   type: random    probabilities [train, validation, test] (default [0.7, 0.1, 0.2]); rows are
//                   shuffled with the seed, then cut at round(n * train) and
//                   round(n * (train + validation)).
//   type: fixed     column (default "split") holding 0 (train), 1 (validation), 2 (test); also
//                   0.0/1.0/2.0 and the words train/training, validation/val, test (case and
//                   surrounding whitespace ignored). Other values, nulls included, are an error
//                   naming the row (numbered from 0).
//   type: stratify  column (required); rows are grouped by its text (nulls form one group), each
//                   group is shuffled with the seed and cut by the probabilities on its own, so
//                   every split keeps the class proportions.
//   type: hash      column (required, e.g. an id); a row goes to the split its hashed key falls in
//                   (FNV-1a 64 of the text, bit-mixed, as a fraction of [0, 1) against the
//                   cumulative probabilities; a null key hashes as ""). The seed is not used, so a
//                   row keeps its split when the dataset grows or is reordered.
// Every type is deterministic for a given seed, on every platform (the shuffle is a Fisher-Yates
// over std::mt19937_64 with an unbiased bounded draw of our own). Rows keep file order within each
// split for fixed and hash; random gives shuffled order; stratify gives the groups in order of
// first appearance, each shuffled. An empty table gives three empty splits.
#ifndef TRISTAGE_CORE_DATA_SPLIT_H_
#define TRISTAGE_CORE_DATA_SPLIT_H_

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/data/table.h"

namespace tristage::data {

enum class SplitType { kRandom, kFixed, kStratify, kHash };

struct SplitOptions {
  SplitType type = SplitType::kRandom;
  std::array<double, 3> probabilities = {0.7, 0.1, 0.2};  // must be >= 0 and sum to 1 (+-1e-6).
  std::string column;  // fixed: defaults to "split"; stratify and hash: required.
  uint64_t seed = 42;
};

struct SplitIndices {
  std::vector<int64_t> train;
  std::vector<int64_t> validation;
  std::vector<int64_t> test;
};

// "random", "fixed", "stratify", "hash"; InvalidArgument listing them otherwise.
absl::StatusOr<SplitType> ParseSplitType(absl::string_view name);

// InvalidArgument when the probabilities are invalid, the column is missing (naming it), or a
// fixed split value is not 0/1/2 (naming the row).
absl::StatusOr<SplitIndices> SplitTable(const Table& table, const SplitOptions& options);

// One fold of k-fold cross validation: the rows to train on and the held-out rows to test on.
struct Fold {
  std::vector<int64_t> training;
  std::vector<int64_t> test;
};

// K-fold cross validation over rows 0..num_rows-1, as scikit-learn's KFold(shuffle=True) cuts
// them (the folds Ludwig's kfold_cross_validate uses): the rows are shuffled with the seed (the
// same shuffle as the random split) and cut into num_folds consecutive parts, the first
// num_rows % num_folds of which hold one row more. Fold i tests on part i and trains on the rest,
// so the test sets are disjoint and together hold every row once. Both lists are sorted
// ascending. InvalidArgument when num_folds < 2 or num_folds > num_rows.
absl::StatusOr<std::vector<Fold>> KfoldSplit(int64_t num_rows, int64_t num_folds, uint64_t seed);

}  // namespace tristage::data

#endif  // TRISTAGE_CORE_DATA_SPLIT_H_
