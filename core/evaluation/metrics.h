// Metrics and statistics for one output feature over one dataset split, in Ludwig's names.
//
// The trainer and `evaluate` gather each output feature's targets, predictions and probabilities
// into an EvalData, then ask for its metrics (all the metrics of its type) and, for binary and
// category outputs, its statistics (confusion matrix, overall and per-class stats) as
// test_statistics.json holds them. `loss` is computed by the model and added by the caller.
//
// Metrics register under their config name with the output types they apply to, so adding one is
// one registration and its test.
// Thread safety: the registry is filled during static initialisation and read-only after.
#ifndef TRISTAGE_CORE_EVALUATION_METRICS_H_
#define TRISTAGE_CORE_EVALUATION_METRICS_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "nlohmann/json.hpp"

namespace tristage::evaluation {

// One output feature's results over `rows` rows. Layouts by type:
//   binary:   targets[rows] 0/1; predictions[rows] 0/1; probabilities[rows] = P(true).
//   category: targets[rows] class index; predictions[rows] class index;
//             probabilities[rows * width] row-major, width = number of classes.
//   number:   targets[rows]; predictions[rows]; probabilities empty.
//   set:      targets[rows * width] multi-hot 0/1; predictions[rows * width] 0/1;
//             probabilities[rows * width]; width = vocabulary size.
//   vector:   targets[rows * width]; predictions[rows * width]; probabilities empty.
struct EvalData {
  std::string type;
  int64_t rows = 0;
  int64_t width = 1;
  std::vector<float> targets;
  std::vector<float> predictions;
  std::vector<float> probabilities;
  int top_k = 3;  // category hits_at_k.
};

// InvalidArgument when the arrays do not match the layout above for `type`.
absl::Status CheckEvalData(const EvalData& data);

struct MetricInfo {
  std::string name;                      // e.g. "roc_auc"
  std::vector<std::string> output_types;  // e.g. {"binary"}
  bool higher_is_better = true;
  // Returns the metric; NaN when undefined for the data (e.g. roc_auc with one class present).
  std::function<double(const EvalData&)> compute;
};

// Registers a metric; called from static initialisers. Duplicate (name, type) pairs abort.
bool RegisterMetric(MetricInfo info);

// The metric names for an output type, in a stable order, without "loss".
std::vector<std::string> MetricNamesFor(absl::string_view output_type);

// Whether larger values are better; "loss" and error metrics are not. NotFound for unknown names.
absl::StatusOr<bool> HigherIsBetter(absl::string_view metric_name);

// Every metric of data.type, keyed by name. Errors: CheckEvalData's.
absl::StatusOr<nlohmann::json> ComputeMetrics(const EvalData& data);

// binary and category only: {"confusion_matrix": [[...]], "overall_stats": {...},
// "per_class_stats": {"<class name>": {...}}} in Ludwig's key names. `class_names[i]` names class i
// (binary: {"False", "True"} or the feature's own labels). InvalidArgument for other types.
absl::StatusOr<nlohmann::json> ComputeStatistics(const EvalData& data,
                                                 const std::vector<std::string>& class_names);

}  // namespace tristage::evaluation

#endif  // TRISTAGE_CORE_EVALUATION_METRICS_H_
