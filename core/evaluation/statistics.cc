// ComputeStatistics: the confusion matrix statistics Ludwig writes to test_statistics.json for
// binary and category outputs (ludwig/utils/metrics_utils.py, ConfusionMatrix: cm, stats(),
// per_class_stats()), with its key names.
//
// Per-class values follow ConfusionMatrix's methods: every ratio is 0 when its denominator is 0,
// and the complementary rates are 1 minus their partner (so a class that never occurs has
// false_negative_rate 1). Overall values follow the scikit-learn calls stats() makes:
// - token_accuracy is the fraction of rows predicted right (0 with no rows).
// - *_macro average over the classes that occur in the targets or the predictions (sklearn's
//   default labels), not over all `width` classes; a class with an empty denominator scores 0.
// - *_micro pool the counts of all classes; for single-label rows each equals token_accuracy.
// - *_weighted weight each class by its number of target rows. Ludwig's stats() reports micro
//   precision and recall under avg_precision_weighted and avg_recall_weighted (it passes
//   average="micro"); tristage reports the weighted values the names promise. Weighted recall
//   equals micro recall anyway; only avg_precision_weighted can differ from Ludwig's.
// - kappa_score is Cohen's kappa, NaN when chance agreement is certain (every target and every
//   prediction is the same class, or there are no rows), as sklearn's cohen_kappa_score.
#include <cmath>
#include <cstdint>
#include <limits>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/evaluation/metrics.h"
#include "core/util/status_macros.h"

namespace tristage::evaluation {
namespace {

double SafeRatio(double numerator, double denominator) {
  return denominator == 0.0 ? 0.0 : numerator / denominator;
}

// counts[t][p]: rows whose target is class t and prediction class p (Ludwig's layout, sklearn's
// confusion_matrix(conditions, predictions)).
using Matrix = std::vector<std::vector<int64_t>>;

Matrix BuildConfusionMatrix(const EvalData& data, int64_t classes) {
  Matrix counts(classes, std::vector<int64_t>(classes, 0));
  for (int64_t row = 0; row < data.rows; ++row) {
    // CheckEvalData has made both integral class indices (binary: 0 = False, 1 = True).
    ++counts[static_cast<int64_t>(data.targets[row])][static_cast<int64_t>(data.predictions[row])];
  }
  return counts;
}

// One class against the rest.
struct ClassCounts {
  int64_t true_positives = 0;
  int64_t false_positives = 0;
  int64_t true_negatives = 0;
  int64_t false_negatives = 0;
  int64_t support() const { return true_positives + false_negatives; }    // target rows
  int64_t predicted() const { return true_positives + false_positives; }  // predicted rows
  double precision() const {
    return SafeRatio(static_cast<double>(true_positives), static_cast<double>(predicted()));
  }
  double recall() const {
    return SafeRatio(static_cast<double>(true_positives), static_cast<double>(support()));
  }
};

std::vector<ClassCounts> CountClasses(const Matrix& counts, int64_t total) {
  const auto classes = static_cast<int64_t>(counts.size());
  std::vector<ClassCounts> result(classes);
  for (int64_t c = 0; c < classes; ++c) {
    int64_t support = 0;
    int64_t predicted = 0;
    for (int64_t other = 0; other < classes; ++other) {
      support += counts[c][other];
      predicted += counts[other][c];
    }
    ClassCounts& k = result[c];
    k.true_positives = counts[c][c];
    k.false_positives = predicted - k.true_positives;
    k.false_negatives = support - k.true_positives;
    k.true_negatives = total - support - predicted + k.true_positives;
  }
  return result;
}

// Harmonic mean of precision and recall; 0 when both are 0.
double F1(double precision, double recall) {
  return SafeRatio(2.0 * precision * recall, precision + recall);
}

nlohmann::json ClassStats(const ClassCounts& k, int64_t total) {
  const double tp = static_cast<double>(k.true_positives);
  const double fp = static_cast<double>(k.false_positives);
  const double tn = static_cast<double>(k.true_negatives);
  const double fn = static_cast<double>(k.false_negatives);
  const double tpr = SafeRatio(tp, tp + fn);
  const double tnr = SafeRatio(tn, tn + fp);
  const double ppv = SafeRatio(tp, tp + fp);
  const double npv = SafeRatio(tn, tn + fn);
  const double mcc_denominator = std::sqrt((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn));
  return {
      {"true_positives", k.true_positives},
      {"true_negatives", k.true_negatives},
      {"false_positives", k.false_positives},
      {"false_negatives", k.false_negatives},
      {"true_positive_rate", tpr},
      {"true_negative_rate", tnr},
      {"positive_predictive_value", ppv},
      {"negative_predictive_value", npv},
      {"false_negative_rate", 1.0 - tpr},
      {"false_positive_rate", 1.0 - tnr},
      {"false_discovery_rate", 1.0 - ppv},
      {"false_omission_rate", 1.0 - npv},
      {"accuracy", SafeRatio(tp + tn, static_cast<double>(total))},
      {"precision", ppv},
      {"recall", tpr},
      {"f1_score", F1(ppv, tpr)},
      {"sensitivity", tpr},
      {"specificity", tnr},
      {"hit_rate", tpr},
      {"miss_rate", 1.0 - tpr},
      {"fall_out", 1.0 - tnr},
      {"matthews_correlation_coefficient", SafeRatio(tp * tn - fp * fn, mcc_denominator)},
      {"informedness", tpr + tnr - 1.0},
      {"markedness", ppv + npv - 1.0},
  };
}

// Cohen's kappa (p_o - p_e) / (1 - p_e), with p_o the observed agreement and p_e the agreement
// expected from the target and prediction class frequencies.
double Kappa(const std::vector<ClassCounts>& classes, int64_t total) {
  int64_t agreements = 0;
  double chance_pairs = 0.0;  // sum over classes of support * predicted
  bool chance_is_certain = total == 0;
  for (const ClassCounts& k : classes) {
    agreements += k.true_positives;
    chance_pairs += static_cast<double>(k.support()) * static_cast<double>(k.predicted());
    if (k.support() == total && k.predicted() == total) chance_is_certain = true;
  }
  // Decided from the counts, not from the rounded denominator below being exactly 0.
  if (chance_is_certain) return std::numeric_limits<double>::quiet_NaN();
  const double n = static_cast<double>(total);
  const double observed = static_cast<double>(agreements) / n;
  const double chance = chance_pairs / (n * n);
  return (observed - chance) / (1.0 - chance);
}

nlohmann::json OverallStats(const std::vector<ClassCounts>& classes, int64_t total) {
  int64_t correct = 0;
  int64_t present = 0;
  double macro_precision = 0.0;
  double macro_recall = 0.0;
  double macro_f1 = 0.0;
  double weighted_precision = 0.0;
  double weighted_recall = 0.0;
  double weighted_f1 = 0.0;
  for (const ClassCounts& k : classes) {
    correct += k.true_positives;
    const double f1 = F1(k.precision(), k.recall());
    const auto support = static_cast<double>(k.support());
    weighted_precision += support * k.precision();
    weighted_recall += support * k.recall();
    weighted_f1 += support * f1;
    if (k.support() == 0 && k.predicted() == 0) continue;  // absent: not in sklearn's labels
    ++present;
    macro_precision += k.precision();
    macro_recall += k.recall();
    macro_f1 += f1;
  }
  const double n = static_cast<double>(total);
  const double accuracy = SafeRatio(static_cast<double>(correct), n);
  // Pooled over classes, every wrong row is one false positive and one false negative.
  const double micro_precision = accuracy;
  const double micro_recall = accuracy;
  const double p = static_cast<double>(present);
  return {
      {"token_accuracy", accuracy},
      {"avg_precision_macro", SafeRatio(macro_precision, p)},
      {"avg_recall_macro", SafeRatio(macro_recall, p)},
      {"avg_f1_score_macro", SafeRatio(macro_f1, p)},
      {"avg_precision_micro", micro_precision},
      {"avg_recall_micro", micro_recall},
      {"avg_f1_score_micro", F1(micro_precision, micro_recall)},
      {"avg_precision_weighted", SafeRatio(weighted_precision, n)},
      {"avg_recall_weighted", SafeRatio(weighted_recall, n)},
      {"avg_f1_score_weighted", SafeRatio(weighted_f1, n)},
      {"kappa_score", Kappa(classes, total)},
  };
}

absl::Status CheckClassNames(const std::vector<std::string>& class_names, int64_t classes,
                             absl::string_view type) {
  if (static_cast<int64_t>(class_names.size()) != classes) {
    return absl::InvalidArgumentError(absl::StrCat(type, " statistics need ", classes,
                                                   " class names, one per class; got ",
                                                   class_names.size()));
  }
  // They become the keys of per_class_stats, where a repeated name would hide a class.
  std::set<std::string> seen;
  for (const std::string& name : class_names) {
    if (!seen.insert(name).second) {
      return absl::InvalidArgumentError(
          absl::StrCat(type, " class name '", name, "' is given twice"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<nlohmann::json> ComputeStatistics(const EvalData& data,
                                                 const std::vector<std::string>& class_names) {
  TRISTAGE_RETURN_IF_ERROR(CheckEvalData(data));
  if (data.type != "binary" && data.type != "category") {
    return absl::InvalidArgumentError(absl::StrCat(
        "statistics are computed for binary and category outputs only, not ", data.type));
  }
  const int64_t classes = data.type == "binary" ? 2 : data.width;
  TRISTAGE_RETURN_IF_ERROR(CheckClassNames(class_names, classes, data.type));

  const Matrix counts = BuildConfusionMatrix(data, classes);
  const std::vector<ClassCounts> per_class = CountClasses(counts, data.rows);
  nlohmann::json per_class_stats = nlohmann::json::object();
  for (int64_t c = 0; c < classes; ++c) {
    per_class_stats[class_names[c]] = ClassStats(per_class[c], data.rows);
  }
  return nlohmann::json{
      {"confusion_matrix", counts},
      {"overall_stats", OverallStats(per_class, data.rows)},
      {"per_class_stats", std::move(per_class_stats)},
  };
}

}  // namespace tristage::evaluation
