// Metrics and statistics for one output feature over one dataset split, in Ludwig's names.
//
// The trainer and `evaluate` gather each output feature's targets, predictions and probabilities
// into an EvalData, then ask for its metrics (all the metrics of its type) and, for binary and
// category outputs, its statistics (confusion matrix, overall and per-class stats) as
// test_statistics.json holds them. `loss` is computed by the model and added by the caller.
//
// Metrics register under their config name with the output types they apply to, so adding one is
// one registration and its test. Their definitions and edge cases are documented where they
// register: classification_metrics.cc (binary, category, set), regression_metrics.cc (number,
// vector); the statistics' in statistics.cc.
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

// InvalidArgument when the arrays do not match the layout above for `type`: an unknown type, a
// negative row count, width < 1 (category, set, vector), an array of the wrong length, a binary or
// set value other than 0/1, a category index that is not an integer in [0, width), top_k < 1
// (category). The message names the array and, for a bad value, its row. binary and number ignore
// `width`.
absl::Status CheckEvalData(const EvalData& data);

// CheckEvalData runs, after the type and the row count, the output type's own layout check: its
// registry entry's check_eval_data (export/output_types.h), written in the type's file.

// Building blocks for those checks. Each returns InvalidArgument with the message CheckEvalData
// documents ("<type> <array> ...").
// width >= 1 (types whose arrays are rows * width).
absl::Status CheckWidth(const EvalData& data);
// `values` holds `expected` values; `layout` explains the count ("rows = 4").
absl::Status CheckLength(const EvalData& data, absl::string_view array,
                         const std::vector<float>& values, int64_t expected,
                         absl::string_view layout);
// Each value is 0 or 1; a value's row is its index / `width`.
absl::Status CheckZeroOne(const EvalData& data, absl::string_view array,
                          const std::vector<float>& values, int64_t width);
// Each value is an integral class index in [0, data.width).
absl::Status CheckClassIndices(const EvalData& data, absl::string_view array,
                               const std::vector<float>& values);

struct MetricInfo {
  std::string name;                       // e.g. "roc_auc"
  std::vector<std::string> output_types;  // e.g. {"binary"}
  bool higher_is_better = true;
  // Returns the metric; NaN when undefined for the data (e.g. roc_auc with one class present).
  // Called only with data that passed CheckEvalData for one of output_types.
  std::function<double(const EvalData&)> compute;
};

// Registers a metric; called from static initialisers. Duplicate (name, type) pairs abort, as do an
// unknown output type (one without a registered layout), a missing compute, the name "loss" and a
// higher_is_better that differs from an earlier registration of the same name. MetricNamesFor lists
// in registration order, so a type's metrics register from one file, in the order they should be
// listed.
bool RegisterMetric(MetricInfo info);

// The metric names for an output type, in a stable order, without "loss".
std::vector<std::string> MetricNamesFor(absl::string_view output_type);

// Whether larger values are better; "loss" and error metrics are not. NotFound for unknown names.
absl::StatusOr<bool> HigherIsBetter(absl::string_view metric_name);

// Every metric of data.type, keyed by name, each a JSON number (double). A NaN metric stays NaN in
// the json, so callers can test it; dump() writes it as null. Errors: CheckEvalData's.
absl::StatusOr<nlohmann::json> ComputeMetrics(const EvalData& data);

// binary and category only: {"confusion_matrix": [[...]], "overall_stats": {...},
// "per_class_stats": {"<class name>": {...}}} in Ludwig's key names. `class_names[i]` names class i
// (binary: {"False", "True"} or the feature's own labels). InvalidArgument for other types, for
// class_names whose size is not the number of classes (binary: 2, category: width) or that repeat
// a name, and CheckEvalData's errors. Counts are JSON integers, ratios doubles; kappa_score may
// be NaN (see statistics.cc).
absl::StatusOr<nlohmann::json> ComputeStatistics(const EvalData& data,
                                                 const std::vector<std::string>& class_names);

}  // namespace tristage::evaluation

#endif  // TRISTAGE_CORE_EVALUATION_METRICS_H_
