#include "core/preprocessing/preprocessing.h"

#include <set>

#include "absl/strings/str_cat.h"
#include "core/data/split.h"
#include "core/features/common.h"
#include "core/features/feature.h"
#include "core/features/missing_values.h"
#include "core/util/log.h"
#include "core/util/status_macros.h"

namespace tristage::preprocessing {
namespace {

using nlohmann::json;

struct FeatureRef {
  const json* config;
  bool is_output;
};

std::vector<FeatureRef> AllFeatures(const json& config) {
  std::vector<FeatureRef> features;
  for (const json& f : config.at("input_features")) features.push_back({&f, false});
  for (const json& f : config.at("output_features")) features.push_back({&f, true});
  return features;
}

absl::StatusOr<const features::FeatureType*> TypeOf(const json& feature) {
  const std::string type = feature.at("type");
  const features::FeatureType* handler = features::FindFeatureType(type);
  if (handler == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("feature '", feature.value("name", ""), "': unknown type '", type, "'"));
  }
  return handler;
}

absl::StatusOr<const data::Column*> ColumnFor(const data::Table& table, const json& feature,
                                              const char* split) {
  auto column = table.Get(features::ColumnOf(feature));
  if (!column.ok()) {
    return absl::Status(column.status().code(),
                        absl::StrCat(split, " data: feature '", feature.value("name", ""),
                                     "': ", column.status().message()));
  }
  return *column;
}

// Rows of `table` kept after the drop_row features (outputs only when `with_outputs`).
absl::StatusOr<std::vector<int64_t>> KeptRows(const json& config, const data::Table& table,
                                              bool with_outputs, const char* split) {
  std::vector<uint8_t> keep(static_cast<size_t>(table.num_rows()), 1);
  for (const FeatureRef& ref : AllFeatures(config)) {
    if (ref.is_output && !with_outputs) continue;
    if (features::MissingValueStrategy(*ref.config) != "drop_row") continue;
    TRISTAGE_ASSIGN_OR_RETURN(const data::Column* column, ColumnFor(table, *ref.config, split));
    for (size_t row = 0; row < column->size(); ++row) {
      if (column->null(row)) keep[row] = 0;
    }
  }
  std::vector<int64_t> rows;
  for (size_t row = 0; row < keep.size(); ++row) {
    if (keep[row]) rows.push_back(static_cast<int64_t>(row));
  }
  return rows;
}

std::optional<std::string> StoredFillValue(const json& metadata) {
  auto it = metadata.find("computed_fill_value");
  if (it == metadata.end() || !it->is_string()) return std::nullopt;
  return it->get<std::string>();
}

// Fills and transforms one feature's column of `table` (already reduced to kept rows).
absl::StatusOr<torch::Tensor> TransformFeature(const json& feature, const json& metadata,
                                               const data::Table& table, const char* split) {
  TRISTAGE_ASSIGN_OR_RETURN(const features::FeatureType* type, TypeOf(feature));
  TRISTAGE_ASSIGN_OR_RETURN(const data::Column* column, ColumnFor(table, feature, split));
  data::Column filled = *column;
  TRISTAGE_RETURN_IF_ERROR(features::FillMissing(feature, StoredFillValue(metadata), filled));
  auto tensor = type->Transform(feature, metadata, filled);
  if (!tensor.ok()) {
    return absl::Status(tensor.status().code(),
                        absl::StrCat(split, " data: ", tensor.status().message()));
  }
  return tensor;
}

absl::StatusOr<ProcessedSplit> Process(const json& config, const json& metadata,
                                       const data::Table& table, bool with_targets,
                                       const char* split) {
  ProcessedSplit out;
  TRISTAGE_ASSIGN_OR_RETURN(out.rows, KeptRows(config, table, with_targets, split));
  const data::Table kept = table.Take(out.rows);
  out.num_rows = kept.num_rows();
  for (const FeatureRef& ref : AllFeatures(config)) {
    if (ref.is_output && !with_targets) continue;
    const std::string name = ref.config->at("name");
    TRISTAGE_ASSIGN_OR_RETURN(
        torch::Tensor tensor,
        TransformFeature(*ref.config, metadata.value(name, json::object()), kept, split));
    (ref.is_output ? out.targets : out.inputs)[name] = std::move(tensor);
  }
  return out;
}

// Metadata of one feature fitted on the (kept) training rows.
absl::StatusOr<json> FitFeature(const json& feature, const data::Table& training) {
  TRISTAGE_ASSIGN_OR_RETURN(const features::FeatureType* type, TypeOf(feature));
  TRISTAGE_ASSIGN_OR_RETURN(const data::Column* column, ColumnFor(training, feature, "training"));
  TRISTAGE_ASSIGN_OR_RETURN(std::optional<std::string> fill,
                            features::ComputeFillValue(feature, *column));
  data::Column filled = *column;
  TRISTAGE_RETURN_IF_ERROR(features::FillMissing(feature, fill, filled));
  TRISTAGE_ASSIGN_OR_RETURN(json metadata, type->Fit(feature, filled));
  if (fill.has_value()) metadata["computed_fill_value"] = *fill;
  metadata["preprocessing"] = features::PreprocessingOf(feature);
  return metadata;
}

// A binary or category output whose training rows hold one class trains a model that can only
// predict it, and whose roc_auc and other ranking metrics are NaN: said before training starts.
void WarnAboutASingleClass(const json& feature, const data::Table& training) {
  const std::string type = feature.value("type", std::string());
  if (type != "binary" && type != "category") return;
  auto column = ColumnFor(training, feature, "training");
  if (!column.ok()) return;
  std::set<std::string> classes;
  for (size_t row = 0; row < (*column)->size() && classes.size() < 2; ++row) {
    if (!(*column)->null(row)) classes.insert((*column)->values[row]);
  }
  if (classes.size() >= 2) return;
  TRISTAGE_LOG(Warning) << "output feature '" << feature.value("name", std::string())
                        << "' has "
                        << (classes.empty() ? std::string("no values")
                                            : absl::StrCat("a single class ('", *classes.begin(),
                                                           "')"))
                        << " in the training split: the model can only predict that class, and "
                           "roc_auc and other ranking metrics will be NaN";
}

}  // namespace

absl::StatusOr<DatasetSplits> SplitDataset(const json& config, const data::Table& table,
                                           uint64_t seed) {
  const json split = config.value("preprocessing", json::object()).value("split", json::object());
  data::SplitOptions options;
  options.seed = seed;
  TRISTAGE_ASSIGN_OR_RETURN(options.type,
                            data::ParseSplitType(split.value("type", std::string("random"))));
  if (split.contains("probabilities") && split["probabilities"].is_array() &&
      split["probabilities"].size() == 3) {
    for (size_t i = 0; i < 3; ++i)
      options.probabilities[i] = split["probabilities"][i].get<double>();
  }
  if (split.contains("column") && split["column"].is_string()) {
    options.column = split["column"].get<std::string>();
  }
  TRISTAGE_ASSIGN_OR_RETURN(data::SplitIndices indices, data::SplitTable(table, options));
  DatasetSplits splits;
  splits.training = table.Take(indices.train);
  splits.validation = table.Take(indices.validation);
  splits.test = table.Take(indices.test);
  return splits;
}

absl::StatusOr<TrainingData> BuildTrainingData(const json& config, const DatasetSplits& splits) {
  TrainingData data;
  TRISTAGE_ASSIGN_OR_RETURN(std::vector<int64_t> kept,
                            KeptRows(config, splits.training, true, "training"));
  const data::Table training = splits.training.Take(kept);
  if (training.num_rows() == 0) {
    return absl::InvalidArgumentError(
        "training data: no rows left (the training split is empty, or every row misses an output "
        "value)");
  }
  data.metadata = json::object();
  for (const FeatureRef& ref : AllFeatures(config)) {
    const std::string name = ref.config->at("name");
    auto metadata = FitFeature(*ref.config, training);
    if (!metadata.ok()) {
      return absl::Status(metadata.status().code(),
                          absl::StrCat("feature '", name, "': ", metadata.status().message()));
    }
    if (ref.is_output) WarnAboutASingleClass(*ref.config, training);
    data.metadata[name] = std::move(*metadata);
  }
  TRISTAGE_ASSIGN_OR_RETURN(data.training,
                            Process(config, data.metadata, splits.training, true, "training"));
  if (splits.validation.has_value()) {
    TRISTAGE_ASSIGN_OR_RETURN(
        data.validation, Process(config, data.metadata, *splits.validation, true, "validation"));
  }
  if (splits.test.has_value()) {
    TRISTAGE_ASSIGN_OR_RETURN(data.test,
                              Process(config, data.metadata, *splits.test, true, "test"));
  }
  return data;
}

absl::StatusOr<ProcessedSplit> TransformTable(const json& config, const json& metadata,
                                              const data::Table& table, bool with_targets) {
  return Process(config, metadata, table, with_targets, "input");
}

ProcessedSplit Slice(const ProcessedSplit& split, int64_t begin, int64_t end) {
  ProcessedSplit out;
  out.num_rows = end - begin;
  for (const auto& [name, tensor] : split.inputs) out.inputs[name] = tensor.slice(0, begin, end);
  for (const auto& [name, tensor] : split.targets) out.targets[name] = tensor.slice(0, begin, end);
  out.rows.assign(split.rows.begin() + begin, split.rows.begin() + end);
  return out;
}

}  // namespace tristage::preprocessing
