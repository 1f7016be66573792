// The metric registry, EvalData validation and ComputeMetrics. The metrics themselves register
// from classification_metrics.cc (binary, category, set) and regression_metrics.cc (number,
// vector); each output type's EvalData layout check from its feature file (core/features).
#include "core/evaluation/metrics.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/export/output_types.h"
#include "core/util/status_macros.h"
#include "core/util/strings.h"

namespace tristage::evaluation {
namespace {

// `loss` is computed by the model, not here, but callers still ask which way it improves.
constexpr absl::string_view kLossName = "loss";

// An output type's EvalData layout check is its registry entry's check_eval_data
// (export/output_types.h, registered from the type's file). Output types register ahead of the
// other static initialisers (TRISTAGE_EARLY_INIT), so RegisterMetric finds them whatever the
// files' order. The dependency goes this way only: the export registry knows nothing of metrics.
const std::function<absl::Status(const EvalData&)>* LayoutOf(absl::string_view type) {
  const exporting::OutputType* entry = exporting::FindOutputType(type);
  return entry != nullptr && entry->check_eval_data ? &entry->check_eval_data : nullptr;
}

bool IsOutputType(const std::string& type) {
  return LayoutOf(type) != nullptr;
}

// Function-local so that registrations from any file's static initialisers find it constructed.
std::vector<MetricInfo>& Registry() {
  static auto* registry = new std::vector<MetricInfo>();  // Never destroyed: no exit-order issues.
  return *registry;
}

// Registration mistakes are programming errors found at load time, so they abort with a message.
[[noreturn]] void RegistrationFailure(absl::string_view name, absl::string_view why) {
  std::fprintf(stderr, "tristage: cannot register metric '%.*s': %.*s\n",
               static_cast<int>(name.size()), name.data(), static_cast<int>(why.size()),
               why.data());
  std::abort();
}

bool HasType(const MetricInfo& info, absl::string_view type) {
  for (const std::string& candidate : info.output_types) {
    if (candidate == type) return true;
  }
  return false;
}

}  // namespace

// "category targets: expected 12 values (rows * width = 4 * 3), got 11".
absl::Status CheckLength(const EvalData& data, absl::string_view array,
                         const std::vector<float>& values, int64_t expected,
                         absl::string_view layout) {
  if (static_cast<int64_t>(values.size()) == expected) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(data.type, " ", array, ": expected ", expected,
                                                 " values (", layout, "), got ", values.size()));
}

// Each value must be 0 or 1 (binary targets and predictions, set multi-hot rows).
absl::Status CheckZeroOne(const EvalData& data, absl::string_view array,
                          const std::vector<float>& values, int64_t width) {
  for (size_t i = 0; i < values.size(); ++i) {
    if (values[i] == 0.0f || values[i] == 1.0f) continue;
    return absl::InvalidArgumentError(absl::StrCat(data.type, " ", array, " row ",
                                                   static_cast<int64_t>(i) / width, ": value ",
                                                   values[i], " is not 0 or 1"));
  }
  return absl::OkStatus();
}

// Each value must be an integral class index in [0, width).
absl::Status CheckClassIndices(const EvalData& data, absl::string_view array,
                               const std::vector<float>& values) {
  for (size_t row = 0; row < values.size(); ++row) {
    const float value = values[row];
    if (value >= 0.0f && value < static_cast<float>(data.width) && std::floor(value) == value) {
      continue;
    }
    return absl::InvalidArgumentError(absl::StrCat(data.type, " ", array, " row ", row,
                                                   ": class index ", value, " is not in [0, ",
                                                   data.width, ")"));
  }
  return absl::OkStatus();
}

absl::Status CheckWidth(const EvalData& data) {
  if (data.width >= 1) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat(data.type, " width must be at least 1, got ", data.width));
}

absl::Status CheckEvalData(const EvalData& data) {
  const auto* layout = LayoutOf(data.type);
  if (layout == nullptr) {
    std::vector<std::string> types;
    for (const std::string& type : exporting::RegisteredOutputTypes()) {
      if (LayoutOf(type) != nullptr) types.push_back(type);
    }
    return absl::InvalidArgumentError(
        absl::StrCat("no metrics for output type '", data.type, "'", DidYouMean(data.type, types),
                     "; expected one of ", absl::StrJoin(types, ", ")));
  }
  if (data.rows < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(data.type, " rows must not be negative, got ", data.rows));
  }
  return (*layout)(data);
}

bool RegisterMetric(MetricInfo info) {
  if (info.name.empty()) RegistrationFailure(info.name, "empty name");
  if (info.name == kLossName) RegistrationFailure(info.name, "loss is computed by the model");
  if (!info.compute) RegistrationFailure(info.name, "no compute function");
  if (info.output_types.empty()) RegistrationFailure(info.name, "no output types");
  std::vector<MetricInfo>& registry = Registry();
  for (const std::string& type : info.output_types) {
    if (!IsOutputType(type)) {
      RegistrationFailure(info.name, absl::StrCat("unknown output type '", type, "'"));
    }
    for (const MetricInfo& existing : registry) {
      if (existing.name == info.name && HasType(existing, type)) {
        RegistrationFailure(info.name, absl::StrCat("duplicate for output type '", type, "'"));
      }
    }
  }
  // HigherIsBetter answers by name alone, so every registration of a name must agree.
  for (const MetricInfo& existing : registry) {
    if (existing.name == info.name && existing.higher_is_better != info.higher_is_better) {
      RegistrationFailure(info.name, "higher_is_better differs from an earlier registration");
    }
  }
  registry.push_back(std::move(info));
  return true;
}

std::vector<std::string> MetricNamesFor(absl::string_view output_type) {
  std::vector<std::string> names;
  for (const MetricInfo& info : Registry()) {
    if (HasType(info, output_type)) names.push_back(info.name);
  }
  return names;
}

absl::StatusOr<bool> HigherIsBetter(absl::string_view metric_name) {
  if (metric_name == kLossName) return false;
  for (const MetricInfo& info : Registry()) {
    if (info.name == metric_name) return info.higher_is_better;
  }
  return absl::NotFoundError(absl::StrCat("unknown metric '", metric_name, "'"));
}

absl::StatusOr<nlohmann::json> ComputeMetrics(const EvalData& data) {
  TRISTAGE_RETURN_IF_ERROR(CheckEvalData(data));
  nlohmann::json metrics = nlohmann::json::object();
  for (const MetricInfo& info : Registry()) {
    if (HasType(info, data.type)) metrics[info.name] = info.compute(data);
  }
  return metrics;
}

}  // namespace tristage::evaluation
