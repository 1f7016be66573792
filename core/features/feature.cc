#include "core/features/feature.h"

#include <cstdlib>
#include <iostream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace tristage::features {
namespace {

std::map<std::string, std::unique_ptr<FeatureType>>& Types() {
  static auto* types = new std::map<std::string, std::unique_ptr<FeatureType>>();
  return *types;
}

absl::Status NotAnOutput() {
  return absl::UnimplementedError("this feature type cannot be an output feature");
}

}  // namespace

absl::StatusOr<int64_t> FeatureType::OutputSize(const json&) const {
  return NotAnOutput();
}

absl::StatusOr<std::string> FeatureType::OutputHeadSource(
    const json&, const std::string&, const std::function<std::string(const std::string&)>&) const {
  return NotAnOutput();
}

absl::StatusOr<torch::Tensor> FeatureType::Loss(const json&, const json&, const torch::Tensor&,
                                                const torch::Tensor&) const {
  return NotAnOutput();
}

absl::StatusOr<evaluation::EvalData> FeatureType::ToEvalData(const json&, const json&,
                                                             const OutputTensors&,
                                                             const torch::Tensor&) const {
  return NotAnOutput();
}

absl::StatusOr<NamedColumns> FeatureType::Postprocess(const json&, const json&,
                                                      const OutputTensors&) const {
  return NotAnOutput();
}

absl::StatusOr<StageScript> FeatureType::PreprocessScript(const json& feature, const json&,
                                                          const std::string&) const {
  return absl::UnimplementedError(
      absl::StrCat("feature type '", feature.value("type", ""), "' has no exported preprocessing"));
}

absl::StatusOr<StageScript> FeatureType::PostprocessScript(const json&, const json&,
                                                           const std::string&) const {
  return NotAnOutput();
}

bool RegisterFeatureType(const std::string& name, std::unique_ptr<FeatureType> type) {
  if (!Types().emplace(name, std::move(type)).second) {
    std::cerr << "tristage: feature type '" << name << "' registered twice\n";
    std::abort();
  }
  return true;
}

const FeatureType* FindFeatureType(const std::string& name) {
  auto it = Types().find(name);
  return it == Types().end() ? nullptr : it->second.get();
}

std::vector<std::string> RegisteredFeatureTypes() {
  std::vector<std::string> names;
  for (const auto& [name, type] : Types()) names.push_back(name);
  return names;
}

}  // namespace tristage::features
