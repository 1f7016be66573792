#include "core/features/common.h"

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "core/export/script_result.h"
#include "core/features/tokenizers.h"
#include "core/util/status_macros.h"

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

std::vector<std::string> MetadataStrings(const json& metadata, const std::string& key) {
  std::vector<std::string> strings;
  for (const json& value : metadata.value(key, json::array())) {
    strings.push_back(value.get<std::string>());
  }
  return strings;
}

exporting::OutputType ClassifierOutputType(
    const std::string& name, std::function<std::vector<std::string>(const json&)> class_names,
    std::function<absl::Status(const evaluation::EvalData&)> check) {
  using exporting::OutputValues;
  exporting::OutputType type;
  type.name = name;
  type.keys = {
      {"predictions", "List[str]"}, {"probabilities", "Tensor"}, {"probability", "Tensor"}};
  type.class_names = std::move(class_names);
  type.fields = exporting::kLabels | exporting::kClassNames | exporting::kProbabilities |
                exporting::kProbability;
  type.decode = [](const exporting::ScriptResult& result, const exporting::OutputSpec& spec,
                   OutputValues& values) -> absl::Status {
    const std::string prefix = spec.name + "::";
    TRISTAGE_ASSIGN_OR_RETURN(c10::IValue predictions, result.Get(prefix + "predictions"));
    values.labels = exporting::ScriptResult::Strings(predictions);
    values.class_names = spec.class_names;
    TRISTAGE_ASSIGN_OR_RETURN(c10::IValue probabilities, result.Get(prefix + "probabilities"));
    values.probabilities = exporting::ScriptResult::Floats(probabilities.toTensor());
    TRISTAGE_ASSIGN_OR_RETURN(c10::IValue probability, result.Get(prefix + "probability"));
    values.probability = exporting::ScriptResult::Floats(probability.toTensor());
    return absl::OkStatus();
  };
  type.columns = [](const OutputValues& values) {
    exporting::SuffixColumns columns;
    data::Column predicted;
    for (const std::string& label : values.labels) predicted.Append(label, false);
    columns.emplace_back("_predictions", std::move(predicted));
    if (values.class_names.empty()) return columns;
    const size_t width = values.class_names.size();
    for (size_t c = 0; c < width; ++c) {
      data::Column column;
      for (size_t row = 0; row * width + c < values.probabilities.size(); ++row) {
        column.Append(FormatNumber(values.probabilities[row * width + c]), false);
      }
      columns.emplace_back("_probabilities_" + values.class_names[c], std::move(column));
    }
    columns.emplace_back("_probability", exporting::NumberColumn(values.probability));
    return columns;
  };
  type.tensors = [](const OutputValues& values) {
    const int64_t rows = values.rows();
    std::string labels;
    for (const std::string& label : values.labels) exporting::AppendRawBytes(label, labels);
    return std::vector<exporting::OutputTensor>{
        {"predictions", "BYTES", {rows}, std::move(labels)},
        {"probabilities",
         "FP32",
         {rows, static_cast<int64_t>(values.class_names.size())},
         exporting::RawFloats(values.probabilities)},
        {"probability", "FP32", {rows}, exporting::RawFloats(values.probability)}};
  };
  type.check_eval_data = std::move(check);
  return type;
}

}  // namespace tristage::features
