// Metrics of binary, category and set outputs, under Ludwig's names (ludwig/modules/
// metric_modules.py). MetricNamesFor lists a type's metrics in registration order, so every metric
// of these three types registers here, in the order it should be listed.
//
// Conventions:
// - accuracy, precision, recall, specificity and hits_at_k are ratios of counts and are 0 when
//   their denominator is 0 (e.g. precision with no predicted positives), like torchmetrics'
//   default zero_division=0 that Ludwig's metrics inherit.
// - roc_auc is NaN when the rows hold only one class (or none, or any NaN probability): the
//   area is undefined, and sklearn (Ludwig's statistics) refuses to compute it.
// - jaccard is a mean over rows, so it is NaN with no rows.
//
// Where tristage differs from Ludwig (torchmetrics underneath), on purpose:
// - accuracy and hits_at_k are fractions of rows. Ludwig's category accuracy and hits_at_k are
//   torchmetrics' MulticlassAccuracy with its default average="macro", i.e. the mean over classes
//   of per-class recall (Ludwig adds accuracy_micro for the fraction of rows).
// - Ludwig reports hits_at_k only when the number of classes exceeds top_k; here it is always
//   computed, and is 1 when top_k >= width.
// - binary precision, recall and specificity compare the predictions with the targets; Ludwig
//   thresholds the probabilities at 0.5 (the same unless the model's threshold differs).
// - jaccard compares the predictions with the targets and counts a row of two empty sets as 1;
//   Ludwig thresholds the probabilities at 0.5 and gives such a row 0/0 = NaN, which then
//   depends on its mean's NaN handling.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <utility>
#include <vector>

#include "core/evaluation/metrics.h"

namespace tristage::evaluation {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

double SafeRatio(int64_t numerator, int64_t denominator) {
  return denominator == 0 ? 0.0 : static_cast<double>(numerator) / static_cast<double>(denominator);
}

// binary counts of predictions against targets, positive = 1.
struct BinaryCounts {
  int64_t true_positives = 0;
  int64_t false_positives = 0;
  int64_t true_negatives = 0;
  int64_t false_negatives = 0;
};

BinaryCounts CountBinary(const EvalData& data) {
  BinaryCounts counts;
  for (int64_t row = 0; row < data.rows; ++row) {
    const bool target = data.targets[row] == 1.0f;
    const bool predicted = data.predictions[row] == 1.0f;
    if (target && predicted) ++counts.true_positives;
    if (!target && predicted) ++counts.false_positives;
    if (!target && !predicted) ++counts.true_negatives;
    if (target && !predicted) ++counts.false_negatives;
  }
  return counts;
}

// Fraction of rows whose prediction equals the target (binary: 0/1, category: class index).
double Accuracy(const EvalData& data) {
  int64_t correct = 0;
  for (int64_t row = 0; row < data.rows; ++row) {
    if (data.predictions[row] == data.targets[row]) ++correct;
  }
  return SafeRatio(correct, data.rows);
}

double Precision(const EvalData& data) {
  const BinaryCounts c = CountBinary(data);
  return SafeRatio(c.true_positives, c.true_positives + c.false_positives);
}

double Recall(const EvalData& data) {
  const BinaryCounts c = CountBinary(data);
  return SafeRatio(c.true_positives, c.true_positives + c.false_negatives);
}

double Specificity(const EvalData& data) {
  const BinaryCounts c = CountBinary(data);
  return SafeRatio(c.true_negatives, c.true_negatives + c.false_positives);
}

// Area under the ROC curve of probabilities against targets, as the Mann-Whitney U statistic:
// the probability that a random positive scores above a random negative, ties counting one half.
// Tied scores share the average of their ranks, which is what gives ties that half.
double RocAuc(const EvalData& data) {
  std::vector<std::pair<float, bool>> scored;  // (probability, target is positive)
  scored.reserve(data.rows);
  int64_t positives = 0;
  for (int64_t row = 0; row < data.rows; ++row) {
    if (std::isnan(data.probabilities[row])) return kNaN;  // NaN cannot be ranked.
    const bool positive = data.targets[row] == 1.0f;
    positives += positive ? 1 : 0;
    scored.emplace_back(data.probabilities[row], positive);
  }
  const int64_t negatives = data.rows - positives;
  if (positives == 0 || negatives == 0) return kNaN;
  std::sort(scored.begin(), scored.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  double positive_rank_sum = 0.0;
  for (size_t begin = 0; begin < scored.size();) {
    size_t end = begin;
    int64_t group_positives = 0;
    while (end < scored.size() && scored[end].first == scored[begin].first) {
      group_positives += scored[end].second ? 1 : 0;
      ++end;
    }
    // Ranks are 1-based: the group holds ranks begin + 1 .. end, whose average is this.
    const double average_rank = (static_cast<double>(begin + 1) + static_cast<double>(end)) / 2.0;
    positive_rank_sum += average_rank * static_cast<double>(group_positives);
    begin = end;
  }
  const double p = static_cast<double>(positives);
  const double u = positive_rank_sum - p * (p + 1.0) / 2.0;
  return u / (p * static_cast<double>(negatives));
}

// Whether the target class is among the top_k classes of its row. Classes are ranked by
// probability, and equal probabilities by class index (lower first), so exactly min(top_k, width)
// classes are "in the top k" whatever the ties; the target's place is the number of classes ranked
// before it.
bool TargetInTopK(const EvalData& data, int64_t row) {
  const float* probabilities = data.probabilities.data() + row * data.width;
  const auto target = static_cast<int64_t>(data.targets[row]);
  const float target_probability = probabilities[target];
  int64_t ranked_before = 0;
  for (int64_t c = 0; c < data.width; ++c) {
    const bool before = probabilities[c] > target_probability ||
                        (probabilities[c] == target_probability && c < target);
    if (before) ++ranked_before;
  }
  return ranked_before < data.top_k;
}

double HitsAtK(const EvalData& data) {
  int64_t hits = 0;
  for (int64_t row = 0; row < data.rows; ++row) {
    if (TargetInTopK(data, row)) ++hits;
  }
  return SafeRatio(hits, data.rows);
}

// Mean over rows of |predicted ∩ target| / |predicted ∪ target| on the multi-hot rows; a row where
// both sets are empty agrees completely and counts 1.
double Jaccard(const EvalData& data) {
  if (data.rows == 0) return kNaN;
  double sum = 0.0;
  for (int64_t row = 0; row < data.rows; ++row) {
    int64_t intersection = 0;
    int64_t union_size = 0;
    for (int64_t i = row * data.width; i < (row + 1) * data.width; ++i) {
      const bool target = data.targets[i] == 1.0f;
      const bool predicted = data.predictions[i] == 1.0f;
      intersection += (target && predicted) ? 1 : 0;
      union_size += (target || predicted) ? 1 : 0;
    }
    sum +=
        union_size == 0 ? 1.0 : static_cast<double>(intersection) / static_cast<double>(union_size);
  }
  return sum / static_cast<double>(data.rows);
}

// Listed in the order MetricNamesFor returns them: binary accuracy, precision, recall,
// specificity, roc_auc; category accuracy, hits_at_k; set jaccard.
const bool kRegistered[] = {
    RegisterMetric({"accuracy", {"binary", "category"}, true, Accuracy}),
    RegisterMetric({"precision", {"binary"}, true, Precision}),
    RegisterMetric({"recall", {"binary"}, true, Recall}),
    RegisterMetric({"specificity", {"binary"}, true, Specificity}),
    RegisterMetric({"roc_auc", {"binary"}, true, RocAuc}),
    RegisterMetric({"hits_at_k", {"category"}, true, HitsAtK}),
    RegisterMetric({"jaccard", {"set"}, true, Jaccard}),
};

}  // namespace
}  // namespace tristage::evaluation
