// Metrics of number and vector outputs, under Ludwig's names (ludwig/modules/metric_modules.py),
// with torchmetrics' definitions, which Ludwig's metrics are. MetricNamesFor lists a type's metrics
// in registration order, so every metric of these two types registers here, in that order.
//
// mean_squared_error, mean_absolute_error (and root_mean_squared_error, mean_absolute_percentage_
// error for number) average over every value: a vector output's rows * width values are
// flattened, as torchmetrics' MeanSquaredError does. They are NaN with no rows.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>

#include "core/evaluation/metrics.h"

namespace tristage::evaluation {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// torchmetrics' MAPE divides by max(|target|, this) (taken from scikit-learn), so a zero target
// gives a huge error rather than a division by zero.
constexpr double kMapeEpsilon = 1.17e-6;

// Mean of error(prediction, target) over all values; NaN when there are none.
template <typename Error>
double MeanError(const EvalData& data, Error error) {
  if (data.targets.empty()) return kNaN;
  double sum = 0.0;
  for (size_t i = 0; i < data.targets.size(); ++i) {
    sum += error(static_cast<double>(data.predictions[i]), static_cast<double>(data.targets[i]));
  }
  return sum / static_cast<double>(data.targets.size());
}

double MeanSquaredError(const EvalData& data) {
  return MeanError(data, [](double p, double t) { return (p - t) * (p - t); });
}

double MeanAbsoluteError(const EvalData& data) {
  return MeanError(data, [](double p, double t) { return std::abs(p - t); });
}

double RootMeanSquaredError(const EvalData& data) {
  return std::sqrt(MeanSquaredError(data));
}

// Mean of |p - t| / max(|t|, 1.17e-6), a fraction (0.25 is 25%), over every row including those
// whose target is 0, as torchmetrics' MeanAbsolutePercentageError.
double MeanAbsolutePercentageError(const EvalData& data) {
  return MeanError(data, [](double p, double t) {
    return std::abs(p - t) / std::max(std::abs(t), kMapeEpsilon);
  });
}

// R² of one column (stride `columns`, offset `column`) over data.rows >= 2 rows. Perfect
// predictions score 1 and otherwise constant targets (SS_tot = 0) score 0, as torchmetrics'
// _r2_score_compute and sklearn's r2_score do. They test the sums of squares against an absolute
// tolerance of 1e-4; testing the values themselves gives the same cases without depending on the
// targets' scale.
double ColumnR2(const EvalData& data, int64_t columns, int64_t column) {
  bool perfect = true;
  bool constant = true;
  double sum = 0.0;
  const float first = data.targets[column];
  for (int64_t row = 0; row < data.rows; ++row) {
    const int64_t i = row * columns + column;
    perfect = perfect && data.predictions[i] == data.targets[i];
    constant = constant && data.targets[i] == first;
    sum += data.targets[i];
  }
  if (perfect) return 1.0;
  if (constant) return 0.0;
  const double mean = sum / static_cast<double>(data.rows);
  double residual_squares = 0.0;
  double total_squares = 0.0;
  for (int64_t row = 0; row < data.rows; ++row) {
    const int64_t i = row * columns + column;
    const double t = data.targets[i];
    const double p = data.predictions[i];
    residual_squares += (t - p) * (t - p);
    total_squares += (t - mean) * (t - mean);
  }
  return 1.0 - residual_squares / total_squares;
}

// 1 - SS_res / SS_tot. A vector output scores each of its `width` columns over the rows and
// averages the columns' scores (torchmetrics' multioutput="uniform_average", what Ludwig's R2Score
// uses); it is not the R² of the flattened values. NaN with fewer than two rows, as Ludwig's
// R2Score: the variance of one value says nothing.
double R2(const EvalData& data) {
  if (data.rows < 2) return kNaN;
  const int64_t columns = data.type == "vector" ? data.width : 1;
  double sum = 0.0;
  for (int64_t column = 0; column < columns; ++column) sum += ColumnR2(data, columns, column);
  return sum / static_cast<double>(columns);
}

// Listed in the order MetricNamesFor returns them: number mean_squared_error, mean_absolute_error,
// root_mean_squared_error, r2, mean_absolute_percentage_error; vector mean_squared_error,
// mean_absolute_error, r2.
const bool kRegistered[] = {
    RegisterMetric({"mean_squared_error", {"number", "vector"}, false, MeanSquaredError}),
    RegisterMetric({"mean_absolute_error", {"number", "vector"}, false, MeanAbsoluteError}),
    RegisterMetric({"root_mean_squared_error", {"number"}, false, RootMeanSquaredError}),
    RegisterMetric({"r2", {"number", "vector"}, true, R2}),
    RegisterMetric(
        {"mean_absolute_percentage_error", {"number"}, false, MeanAbsolutePercentageError}),
};

}  // namespace
}  // namespace tristage::evaluation
