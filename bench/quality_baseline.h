// The reference model of bench/quality: a tuned (multinomial) logistic regression on classic
// hand-made features, the yardstick for "plain defaults should be competitive with a tuned
// logistic regression".
//
// Features, fitted on the training rows only:
//   number    standardized with the training mean and std; missing or unparsable -> 0 (the mean)
//   binary    0/1 (true/yes/y/t/1/on are 1); missing -> 0
//   category  one-hot over the training vocabulary; unseen or missing -> all zeros
//   set, bag  multi-hot over the training vocabulary of whitespace-separated items
//   text      TF-IDF over lowercased alphanumeric runs (whitespace and punctuation separate
//             tokens), training vocabulary, smooth idf = ln((1 + n) / (1 + df)) + 1, rows
//             l2-normalized
// The model is fitted by full-batch L-BFGS (double precision, strong Wolfe line search) on the
// mean log loss plus lambda/2 * ||W||^2 (the bias is not penalized), once per lambda of a grid;
// the lambda with the best validation accuracy (ties: lower validation log loss) is kept, without
// refitting on training + validation, since the engine does not train on validation rows either.
#ifndef TRISTAGE_BENCH_QUALITY_BASELINE_H_
#define TRISTAGE_BENCH_QUALITY_BASELINE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/data/table.h"
#include "nlohmann/json.hpp"

namespace tristage::bench {

// Test-set figures of one method on one dataset.
struct Scores {
  double accuracy = 0;
  double roc_auc = 0;  // binary outputs only; NaN otherwise
};

struct BaselineResult {
  Scores test;
  double lambda = 0;              // the chosen L2 strength
  double validation_accuracy = 0;
  int64_t num_features = 0;       // width of the design matrix
  double max_gradient = 0;        // largest final |gradient| over the grid's fits (convergence)
  double seconds = 0;             // featurization and every fit of the grid
};

// The L2 strengths tried, on the scale of the mean log loss.
const std::vector<double>& LambdaGrid();

// Fits the baseline on `train`, picks lambda on `validation` and scores `test`. `config` is the
// plain config ({input_features, output_features}, names and types); the first output feature is
// the target and must be binary or category. Errors name the feature or column at fault.
absl::StatusOr<BaselineResult> RunBaseline(const nlohmann::json& config, const data::Table& train,
                                           const data::Table& validation,
                                           const data::Table& test);

// 1 for the spellings the engine reads as true (true, yes, y, t, 1, 1.0, on; any case), else 0.
int BinaryValue(const std::string& cell);

// Fraction of rows where predicted == target.
double Accuracy(const std::vector<int64_t>& predicted, const std::vector<int64_t>& target);

// Area under the ROC curve of `scores` for the 0/1 `labels` (Mann-Whitney, ties counted half);
// NaN when only one class is present.
double RocAuc(const std::vector<double>& scores, const std::vector<int64_t>& labels);

}  // namespace tristage::bench

#endif  // TRISTAGE_BENCH_QUALITY_BASELINE_H_
