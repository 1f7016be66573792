#include "core/preprocessing/preprocessing.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <random>
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

namespace {

// `count` distinct rows of `population` (count <= size), in their original order.
std::vector<int64_t> DrawWithoutReplacement(int64_t population, int64_t count, uint64_t seed) {
  std::vector<int64_t> rows(static_cast<size_t>(population));
  for (int64_t i = 0; i < population; ++i) rows[static_cast<size_t>(i)] = i;
  std::mt19937_64 rng(seed);
  for (int64_t i = 0; i < count; ++i) {  // a partial Fisher-Yates shuffle
    const int64_t j = i + static_cast<int64_t>(rng() % static_cast<uint64_t>(population - i));
    std::swap(rows[static_cast<size_t>(i)], rows[static_cast<size_t>(j)]);
  }
  rows.resize(static_cast<size_t>(count));
  std::sort(rows.begin(), rows.end());
  return rows;
}

double NumberOr(const json& section, const char* key, double fallback) {
  return section.contains(key) && section[key].is_number() ? section[key].get<double>() : fallback;
}

}  // namespace

absl::StatusOr<data::Table> SampleRows(const json& config, const data::Table& table,
                                       uint64_t seed) {
  const json preprocessing = config.value("preprocessing", json::object());
  const int64_t rows = table.num_rows();
  const double ratio = NumberOr(preprocessing, "sample_ratio", 1.0);
  int64_t keep = rows;
  if (ratio < 1.0) {
    keep = std::llround(ratio * static_cast<double>(rows));
    if (keep < 1) {
      return absl::InvalidArgumentError(
          absl::StrCat("preprocessing.sample_ratio ", ratio, " leaves no row of the ", rows,
                       " in the data; raise it or use more data"));
    }
  }
  const double size = NumberOr(preprocessing, "sample_size", -1);
  if (size >= 0) {
    if (size < static_cast<double>(rows)) {
      keep = static_cast<int64_t>(size);
    } else {
      TRISTAGE_LOG(Warning) << "preprocessing.sample_size " << static_cast<int64_t>(size)
                            << " is not below the data's " << rows << " rows: all are used";
    }
  }
  if (keep >= rows) return table;
  if (keep == 0) {
    return absl::InvalidArgumentError("preprocessing.sample_size 0 leaves no row in the data");
  }
  return table.Take(DrawWithoutReplacement(rows, keep, seed * 1000003ULL + 17));
}

absl::StatusOr<data::Table> BalanceClasses(const json& config, const data::Table& table,
                                           uint64_t seed) {
  const json preprocessing = config.value("preprocessing", json::object());
  const double over = NumberOr(preprocessing, "oversample_minority", 0);
  const double under = NumberOr(preprocessing, "undersample_majority", 0);
  if (over <= 0 && under <= 0) return table;
  const json& output = config.at("output_features").at(0);
  TRISTAGE_ASSIGN_OR_RETURN(const data::Column* column, ColumnFor(table, output, "training"));
  std::map<std::string, std::vector<int64_t>> by_class;
  for (size_t row = 0; row < column->size(); ++row) {
    if (!column->null(row)) by_class[column->values[row]].push_back(static_cast<int64_t>(row));
  }
  if (by_class.size() < 2) {
    return absl::InvalidArgumentError(absl::StrCat(
        "preprocessing.", over > 0 ? "oversample_minority" : "undersample_majority",
        ": the training rows of '", output.value("name", std::string()), "' hold ",
        by_class.size(), " class(es); balancing needs two"));
  }
  // Ludwig's value_counts().idxmax()/idxmin(): the largest and the smallest class.
  auto majority = by_class.begin(), minority = by_class.begin();
  for (auto it = by_class.begin(); it != by_class.end(); ++it) {
    if (it->second.size() > majority->second.size()) majority = it;
    if (it->second.size() < minority->second.size()) minority = it;
  }
  std::vector<int64_t> minority_rows = minority->second, majority_rows = majority->second;
  std::mt19937_64 rng(seed * 1000003ULL + 29);
  if (over > 0) {
    const int64_t wanted = std::llround(static_cast<double>(majority_rows.size()) * over);
    std::vector<int64_t> drawn;
    for (int64_t i = 0; i < wanted; ++i) {
      drawn.push_back(minority_rows[rng() % minority_rows.size()]);
    }
    std::sort(drawn.begin(), drawn.end());
    minority_rows = std::move(drawn);
  } else {
    const auto wanted = static_cast<int64_t>(static_cast<double>(minority_rows.size()) / under);
    if (wanted > static_cast<int64_t>(majority_rows.size())) {
      return absl::InvalidArgumentError(absl::StrCat(
          "preprocessing.undersample_majority ", under, ": would need ", wanted,
          " majority rows but the training split has ", majority_rows.size(),
          " (the ratio must be at least the minority's share, ",
          static_cast<double>(minority_rows.size()) / static_cast<double>(majority_rows.size()),
          ")"));
    }
    std::vector<int64_t> picked = DrawWithoutReplacement(
        static_cast<int64_t>(majority_rows.size()), wanted, seed * 1000003ULL + 31);
    std::vector<int64_t> kept;
    for (int64_t index : picked) kept.push_back(majority_rows[static_cast<size_t>(index)]);
    majority_rows = std::move(kept);
  }
  // Ludwig concatenates the minority rows, then the majority rows.
  std::vector<int64_t> rows = minority_rows;
  rows.insert(rows.end(), majority_rows.begin(), majority_rows.end());
  return table.Take(rows);
}

absl::StatusOr<DatasetSplits> SplitDataset(const json& config, const data::Table& given,
                                           uint64_t seed) {
  TRISTAGE_ASSIGN_OR_RETURN(const data::Table table, SampleRows(config, given, seed));
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
  TRISTAGE_ASSIGN_OR_RETURN(splits.training,
                            BalanceClasses(config, table.Take(indices.train), seed));
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
