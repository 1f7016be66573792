// Helpers shared by the core/features tests: columns, resolved feature configs, and a fixture that
// runs one feature type's Fit and Transform, failing the test on an unexpected error.
#ifndef TRISTAGE_TESTS_CORE_FEATURES_FEATURES_TEST_UTIL_H_
#define TRISTAGE_TESTS_CORE_FEATURES_FEATURES_TEST_UTIL_H_

#include <torch/types.h>

#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/config/config.h"
#include "core/data/table.h"
#include "core/features/feature.h"
#include "gtest/gtest.h"

namespace tristage::features::testing {

// A column from cells; nullptr is a missing (null) cell.
inline data::Column Col(std::initializer_list<const char*> cells) {
  data::Column column;
  for (const char* cell : cells) column.Append(cell == nullptr ? "" : cell, cell == nullptr);
  return column;
}

// The resolved config of `feature_yaml` (a YAML flow mapping such as "{name: x, type: number}")
// as an input feature (`output` false) or output feature; null (and a failure) on an error.
inline json Resolved(const std::string& feature_yaml, bool output) {
  const std::string other =
      output ? "{name: other_in, type: number}" : "{name: other_out, type: number}";
  const std::string yaml =
      output ? "input_features: [" + other + "]\noutput_features: [" + feature_yaml + "]\n"
             : "input_features: [" + feature_yaml + "]\noutput_features: [" + other + "]\n";
  absl::StatusOr<json> parsed = config::ParseConfigText(yaml);
  EXPECT_TRUE(parsed.ok()) << parsed.status();
  if (!parsed.ok()) return nullptr;
  absl::StatusOr<json> resolved = config::ResolveConfig(*parsed);
  EXPECT_TRUE(resolved.ok()) << resolved.status();
  if (!resolved.ok()) return nullptr;
  return (*resolved)[output ? "output_features" : "input_features"][0];
}

inline json ResolvedInput(const std::string& feature_yaml) {
  return Resolved(feature_yaml, false);
}
inline json ResolvedOutput(const std::string& feature_yaml) {
  return Resolved(feature_yaml, true);
}

// The values of a tensor (any shape, any dtype), flattened.
inline std::vector<float> Floats(const torch::Tensor& tensor) {
  torch::Tensor flat = tensor.detach().to(torch::kFloat).contiguous().view({-1});
  return std::vector<float>(flat.data_ptr<float>(), flat.data_ptr<float>() + flat.numel());
}
inline std::vector<int64_t> Longs(const torch::Tensor& tensor) {
  torch::Tensor flat = tensor.detach().to(torch::kLong).contiguous().view({-1});
  return std::vector<int64_t>(flat.data_ptr<int64_t>(), flat.data_ptr<int64_t>() + flat.numel());
}
inline std::vector<int64_t> Shape(const torch::Tensor& tensor) {
  return tensor.sizes().vec();
}

// The cells of one named result column; empty (and a failure) when absent.
inline std::vector<std::string> Cells(const NamedColumns& columns, const std::string& name) {
  for (const auto& [column_name, column] : columns) {
    if (column_name == name) return column.values;
  }
  ADD_FAILURE() << "no result column '" << name << "'";
  return {};
}

inline std::vector<std::string> ColumnNames(const NamedColumns& columns) {
  std::vector<std::string> names;
  for (const auto& [name, column] : columns) names.push_back(name);
  return names;
}

// Base fixture for one registered feature type.
class FeatureTypeTest : public ::testing::Test {
 protected:
  explicit FeatureTypeTest(const std::string& type_name) : type_(FindFeatureType(type_name)) {
    EXPECT_NE(type_, nullptr) << "feature type '" << type_name << "' is not registered";
  }

  const FeatureType& type() const { return *type_; }

  // Fit's metadata; null (and a failure) on an error.
  json Fit(const json& feature, const data::Column& column) const {
    absl::StatusOr<json> metadata = type_->Fit(feature, column);
    EXPECT_TRUE(metadata.ok()) << metadata.status();
    return metadata.ok() ? *metadata : json();
  }

  // Transform's tensor; an undefined tensor (and a failure) on an error.
  torch::Tensor Transform(const json& feature, const json& metadata,
                          const data::Column& column) const {
    absl::StatusOr<torch::Tensor> tensor = type_->Transform(feature, metadata, column);
    EXPECT_TRUE(tensor.ok()) << tensor.status();
    return tensor.ok() ? *tensor : torch::zeros({0});
  }

  // Fit then Transform of the same column.
  torch::Tensor FitTransform(const json& feature, const data::Column& column) const {
    return Transform(feature, Fit(feature, column), column);
  }

  // The errors; OkStatus (and a failure) when there is none.
  absl::Status FitError(const json& feature, const data::Column& column) const {
    absl::StatusOr<json> metadata = type_->Fit(feature, column);
    EXPECT_FALSE(metadata.ok()) << "Fit succeeded: " << metadata->dump();
    return metadata.status();
  }
  absl::Status TransformError(const json& feature, const json& metadata,
                              const data::Column& column) const {
    absl::StatusOr<torch::Tensor> tensor = type_->Transform(feature, metadata, column);
    EXPECT_FALSE(tensor.ok()) << "Transform succeeded";
    return tensor.status();
  }

  // Postprocess's columns; empty (and a failure) on an error.
  NamedColumns Postprocess(const json& feature, const json& metadata,
                           const OutputTensors& outputs) const {
    absl::StatusOr<NamedColumns> columns = type_->Postprocess(feature, metadata, outputs);
    EXPECT_TRUE(columns.ok()) << columns.status();
    return columns.ok() ? *columns : NamedColumns();
  }

 private:
  const FeatureType* type_;
};

}  // namespace tristage::features::testing

#endif  // TRISTAGE_TESTS_CORE_FEATURES_FEATURES_TEST_UTIL_H_
