#include "core/features/common.h"

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "core/features/tokenizers.h"

namespace tristage::features {

std::string ColumnOf(const json& feature) {
  auto it = feature.find("column");
  if (it != feature.end() && it->is_string()) return it->get<std::string>();
  return feature.value("name", std::string());
}

const json& PreprocessingOf(const json& feature) {
  static const json* empty = new json(json::object());
  auto it = feature.find("preprocessing");
  return it != feature.end() && it->is_object() ? *it : *empty;
}

absl::Status CellError(const json& feature, size_t row, const std::string& reason) {
  return absl::InvalidArgumentError(
      absl::StrCat("column '", ColumnOf(feature), "' row ", row, ": ", reason));
}

int64_t MostCommonOf(const json& feature, int64_t default_value) {
  const json& preprocessing = PreprocessingOf(feature);
  auto it = preprocessing.find("most_common");
  if (it == preprocessing.end()) return default_value;
  return it->is_number() ? it->get<int64_t>() : 0;
}

absl::StatusOr<double> ParseNumberCell(const json& feature, const data::Column& column,
                                       size_t row) {
  double value = 0;
  const std::string& text = column.values[row];
  if (!absl::SimpleAtod(absl::StripAsciiWhitespace(text), &value)) {
    return CellError(feature, row, absl::StrCat("'", text, "' is not a number"));
  }
  return value;
}

std::vector<float> ToFloatVector(const torch::Tensor& tensor) {
  torch::Tensor flat = tensor.detach().to(torch::kCPU, torch::kFloat).contiguous().view({-1});
  return std::vector<float>(flat.data_ptr<float>(), flat.data_ptr<float>() + flat.numel());
}

int StandardBool(const std::string& text) {
  const std::string lower = absl::AsciiStrToLower(absl::StripAsciiWhitespace(text));
  for (const char* t : {"true", "yes", "y", "t", "1", "1.0", "on"}) {
    if (lower == t) return 1;
  }
  for (const char* f : {"false", "no", "n", "f", "0", "0.0", "off"}) {
    if (lower == f) return 0;
  }
  return -1;
}

std::string NormalizedSymbol(const json& feature, const std::string& text) {
  const json& preprocessing = PreprocessingOf(feature);
  return preprocessing.value("lowercase", false) ? LowercaseAscii(text) : text;
}

std::string ScriptFloat(double value) {
  std::string text = FormatNumber(value);
  if (text.find_first_of(".eEn") == std::string::npos) text += ".0";
  return text;
}

bool HasLossRegularizers(const json& loss_config) {
  return loss_config.value("robust_lambda", 0.0) > 0 ||
         loss_config.value("confidence_penalty", 0.0) > 0;
}

torch::Tensor ApplyLossRegularizers(const json& loss_config, const torch::Tensor& loss,
                                    const torch::Tensor& uniform_loss,
                                    const torch::Tensor& probabilities) {
  torch::Tensor total = loss;
  const double robust = loss_config.value("robust_lambda", 0.0);
  if (robust > 0 && uniform_loss.defined()) total = (1 - robust) * total + robust * uniform_loss;
  const double penalty = loss_config.value("confidence_penalty", 0.0);
  if (penalty > 0 && probabilities.defined()) {
    const torch::Tensor entropy =
        -(probabilities * torch::log(probabilities.clamp_min(1e-12))).sum(-1).mean();
    total = total - penalty * entropy;
  }
  return total;
}

absl::StatusOr<torch::Tensor> ClassWeights(const json& loss_config, const json& metadata,
                                           int64_t classes) {
  auto it = loss_config.find("class_weights");
  if (it == loss_config.end() || it->is_null()) return torch::Tensor();
  std::vector<float> weights(static_cast<size_t>(classes), 1.0f);
  if (it->is_array()) {
    if (static_cast<int64_t>(it->size()) != classes) {
      return absl::InvalidArgumentError(absl::StrCat("loss.class_weights: expected ", classes,
                                                     " weights (one per class), got ", it->size()));
    }
    for (size_t i = 0; i < it->size(); ++i) weights[i] = (*it)[i].get<float>();
  } else if (it->is_object()) {
    const json& str2idx = metadata.value("str2idx", json::object());
    for (const auto& [name, weight] : it->items()) {
      auto index = str2idx.find(name);
      if (index == str2idx.end()) {
        return absl::InvalidArgumentError(
            absl::StrCat("loss.class_weights: '", name, "' is not a class of this feature"));
      }
      weights[index->get<size_t>()] = weight.get<float>();
    }
  } else {
    return absl::InvalidArgumentError("loss.class_weights: expected a list or an object");
  }
  return torch::tensor(weights);
}

}  // namespace tristage::features
