// The binary feature: float32 [batch] of 0/1. Common boolean spellings (true/false, yes/no, y/n,
// t/f, 1/0, on/off, any case) map as they say; any other column must hold at most two distinct
// values, and `fallback_true_label` (or else the greater in byte order) is the true one.
// Metadata keeps Ludwig's str2bool and bool2str ([false label, true label]).
#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "core/features/common.h"
#include "core/features/stage_script.h"
#include "core/util/status_macros.h"

namespace tristage::features {
namespace {

class BinaryType : public FeatureType {
 public:
  bool can_be_output() const override { return true; }

  absl::StatusOr<json> Fit(const json& feature, const data::Column& column) const override {
    std::vector<std::string> distinct;
    bool all_standard = true;
    for (size_t row = 0; row < column.size(); ++row) {
      if (column.null(row)) continue;
      const std::string& value = column.values[row];
      if (std::find(distinct.begin(), distinct.end(), value) == distinct.end()) {
        distinct.push_back(value);
        all_standard = all_standard && StandardBool(value) >= 0;
      }
    }
    json str2bool = json::object();
    std::string labels[2] = {"false", "true"};
    if (all_standard) {
      for (const std::string& value : distinct) {
        const int truth = StandardBool(value);
        str2bool[value] = truth == 1;
        labels[truth] = value;
      }
    } else {
      if (distinct.size() > 2) {
        if (distinct.size() > 5) distinct.resize(5);
        return absl::InvalidArgumentError(
            absl::StrCat("column '", ColumnOf(feature),
                         "': a binary feature needs at most two distinct values, found more (e.g. ",
                         absl::StrJoin(distinct, ", "), ")"));
      }
      std::sort(distinct.begin(), distinct.end());
      const json& fallback = PreprocessingOf(feature).value("fallback_true_label", json());
      std::string true_label = distinct.back();
      if (fallback.is_string()) true_label = fallback.get<std::string>();
      for (const std::string& value : distinct) {
        str2bool[value] = value == true_label;
        labels[value == true_label ? 1 : 0] = value;
      }
    }
    return json{{"str2bool", str2bool},
                {"bool2str", {labels[0], labels[1]}},
                {"fallback_true_label", labels[1]}};
  }

  absl::StatusOr<torch::Tensor> Transform(const json& feature, const json& metadata,
                                          const data::Column& column) const override {
    const json& str2bool = metadata.at("str2bool");
    torch::Tensor out = torch::empty({static_cast<int64_t>(column.size())}, torch::kFloat);
    float* data = out.data_ptr<float>();
    for (size_t row = 0; row < column.size(); ++row) {
      const std::string& value = column.values[row];
      auto it = str2bool.find(value);
      int truth = it != str2bool.end() ? (it->get<bool>() ? 1 : 0) : StandardBool(value);
      if (truth < 0) {
        return CellError(feature, row,
                         absl::StrCat("'", value, "' is neither of the labels '",
                                      metadata["bool2str"][0].get<std::string>(), "' and '",
                                      metadata["bool2str"][1].get<std::string>(), "'"));
      }
      data[row] = static_cast<float>(truth);
    }
    return out;
  }

  absl::StatusOr<int64_t> OutputSize(const json&) const override { return 1; }

  absl::StatusOr<std::string> OutputHeadSource(
      const json& feature, const std::string& logits,
      const std::function<std::string(const std::string&)>& key) const override {
    const double threshold = feature.value("threshold", 0.5);
    return absl::StrCat("    ", key("probabilities"), " = torch.sigmoid(", logits, ")\n", "    ",
                        key("predictions"), " = torch.ge(", key("probabilities"), ", ",
                        ScriptFloat(threshold), ")\n");
  }

  absl::StatusOr<torch::Tensor> Loss(const json& feature, const json&, const torch::Tensor& logits,
                                     const torch::Tensor& targets) const override {
    const json& loss = feature.value("loss", json::object());
    torch::Tensor pos_weight;
    if (loss.contains("positive_class_weight") && loss["positive_class_weight"].is_number()) {
      pos_weight = torch::full({1}, loss["positive_class_weight"].get<double>());
    }
    torch::Tensor value = torch::binary_cross_entropy_with_logits(logits, targets, {}, pos_weight);
    if (!HasLossRegularizers(loss)) return value;
    const torch::Tensor uniform = torch::binary_cross_entropy_with_logits(
        logits, torch::full_like(targets, 0.5), {}, pos_weight);
    const torch::Tensor p = torch::sigmoid(logits).unsqueeze(-1);
    return ApplyLossRegularizers(loss, value, uniform, torch::cat({1 - p, p}, -1));
  }

  absl::StatusOr<evaluation::EvalData> ToEvalData(const json& feature, const json&,
                                                  const OutputTensors& outputs,
                                                  const torch::Tensor& targets) const override {
    evaluation::EvalData data;
    data.type = "binary";
    data.rows = targets.size(0);
    data.targets = ToFloatVector(targets);
    data.predictions = ToFloatVector(outputs.at("predictions"));
    data.probabilities = ToFloatVector(outputs.at("probabilities"));
    (void)feature;
    return data;
  }

  std::vector<std::string> ClassNames(const json& metadata) const override {
    return {metadata["bool2str"][0].get<std::string>(), metadata["bool2str"][1].get<std::string>()};
  }

  absl::StatusOr<NamedColumns> Postprocess(const json& feature, const json& metadata,
                                           const OutputTensors& outputs) const override {
    const std::string name = feature.at("name");
    const std::vector<std::string> labels = ClassNames(metadata);
    const std::vector<float> probabilities = ToFloatVector(outputs.at("probabilities"));
    const std::vector<float> predictions = ToFloatVector(outputs.at("predictions"));
    data::Column predicted, p_false, p_true, probability;
    for (size_t i = 0; i < probabilities.size(); ++i) {
      const bool truth = predictions[i] > 0.5f;
      predicted.Append(labels[truth ? 1 : 0], false);
      p_false.Append(FormatNumber(1.0f - probabilities[i]), false);
      p_true.Append(FormatNumber(probabilities[i]), false);
      probability.Append(FormatNumber(truth ? probabilities[i] : 1.0f - probabilities[i]), false);
    }
    return NamedColumns{{name + "_predictions", std::move(predicted)},
                        {name + "_probabilities_" + labels[0], std::move(p_false)},
                        {name + "_probabilities_" + labels[1], std::move(p_true)},
                        {name + "_probability", std::move(probability)}};
  }

  absl::StatusOr<StageScript> PreprocessScript(const json& feature, const json& metadata,
                                               const std::string& prefix) const override {
    StageScript script;
    // Tensors (bool or numbers) are taken as they are: nonzero is true; NaN is a missing value.
    script.source = WithPrefix(R"py(
def $ppreprocess(self, column: Union[List[str], Tensor]) -> Tensor:
    if isinstance(column, Tensor):
        if column.dim() != 1:
            assert False, "feature '" + self.$pname + "': expects a 1-D tensor, got " + str(column.dim()) + " dimensions"
        x = column.double()
        missing = torch.isnan(x)
        if bool(missing.any()):
            if not self.$phas_fill:
                assert False, "feature '" + self.$pname + "': NaN in a tensor input and missing_value_strategy " + self.$pstrategy + " has no fill value; send strings"
            x = torch.where(missing, torch.full_like(x, self.$pvalue(self.$pfill)), x)
        return torch.ne(x, 0.0).float()
    values: List[float] = []
    for cell in FILL:
        values.append(self.$pvalue(cell))
    return torch.tensor(values, dtype=6)

def $pvalue(self, cell: str) -> float:
    if cell in self.$pstr2bool:
        return 1.0 if self.$pstr2bool[cell] else 0.0
    truth = self.standard_bool(cell)
    if truth < 0:
        assert False, "feature '" + self.$pname + "': '" + cell + "' is neither of the labels '" + self.$plabels[0] + "' and '" + self.$plabels[1] + "'"
    return float(truth)
)py",
                               prefix);
    script.source = absl::StrReplaceAll(script.source, {{"FILL", FillMissingCall(prefix)}});
    c10::Dict<std::string, bool> str2bool;
    for (const auto& [label, truth] : metadata.at("str2bool").items()) {
      str2bool.insert(label, truth.get<bool>());
    }
    c10::List<std::string> labels;
    for (const std::string& label : ClassNames(metadata)) labels.push_back(label);
    script.attributes = {{prefix + "str2bool", str2bool}, {prefix + "labels", labels}};
    (void)feature;
    return script;
  }

  absl::StatusOr<StageScript> PostprocessScript(const json& feature, const json& metadata,
                                                const std::string& prefix) const override {
    StageScript script;
    script.source = WithPrefix(R"py(
def $ppostprocess(self, outputs: Dict[str, Tensor], result: Dict[str, Any]):
    p = outputs[self.$pname + "::probabilities"].float()
    predicted: List[bool] = outputs[self.$pname + "::predictions"].tolist()
    names: List[str] = []
    for truth in predicted:
        names.append(self.$plabels[1] if truth else self.$plabels[0])
    result[self.$pname + "::predictions"] = names
    result[self.$pname + "::probabilities"] = torch.stack([1.0 - p, p], 1)
    result[self.$pname + "::probability"] = torch.where(outputs[self.$pname + "::predictions"], p, 1.0 - p)
)py",
                               prefix);
    c10::List<std::string> labels;
    for (const std::string& label : ClassNames(metadata)) labels.push_back(label);
    script.attributes = {{prefix + "name", feature.at("name").get<std::string>()},
                         {prefix + "labels", labels}};
    return script;
  }
};

const bool kRegistered = RegisterFeatureType("binary", std::make_unique<BinaryType>());

// ---- Export and metrics (core/export/output_types.h) ----

// targets[rows] 0/1, predictions[rows] 0/1, probabilities[rows] = P(true).
absl::Status CheckBinaryEvalData(const evaluation::EvalData& data) {
  const std::string layout = absl::StrCat("rows = ", data.rows);
  TRISTAGE_RETURN_IF_ERROR(
      evaluation::CheckLength(data, "targets", data.targets, data.rows, layout));
  TRISTAGE_RETURN_IF_ERROR(
      evaluation::CheckLength(data, "predictions", data.predictions, data.rows, layout));
  TRISTAGE_RETURN_IF_ERROR(
      evaluation::CheckLength(data, "probabilities", data.probabilities, data.rows, layout));
  TRISTAGE_RETURN_IF_ERROR(evaluation::CheckZeroOne(data, "targets", data.targets, 1));
  return evaluation::CheckZeroOne(data, "predictions", data.predictions, 1);
}

TRISTAGE_EARLY_INIT const exporting::TypeRegistration kBinaryOutput{ClassifierOutputType(
    "binary", [](const json& metadata) { return MetadataStrings(metadata, "bool2str"); },
    CheckBinaryEvalData)};
TRISTAGE_EARLY_INIT const exporting::TypeRegistration kBinaryInput{exporting::InputType{
    "binary", true, "float32", [](const json&) { return std::vector<int64_t>{-1}; }}};

}  // namespace
}  // namespace tristage::features
