// The number feature: float32 [batch], normalized by `normalization` (zscore, minmax, log1p, iq,
// or none) with statistics fitted on the training split. As an output, it is trained on the
// normalized scale and reported (metrics, predictions) on the original one.
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "core/export/script_result.h"
#include "core/features/common.h"
#include "core/features/stage_script.h"
#include "core/util/status_macros.h"

namespace tristage::features {
namespace {

// A number whose normalized value is not a finite float32 (inf, a nan spelling that is not a
// missing value, or beyond about 3.4e38 once normalized) would make the model's outputs NaN: an
// error in training and in the exported preprocessor alike.
constexpr char kNotFinite[] =
    "is not a finite number within a 32-bit float's range (about 3.4e38) once normalized";

struct Scale {
  double shift = 0;  // normalized = (x - shift) / scale, except log1p
  double scale = 1;
  bool log1p = false;
};

std::string Normalization(const json& feature) {
  const json& preprocessing = PreprocessingOf(feature);
  auto it = preprocessing.find("normalization");
  return it == preprocessing.end() || it->is_null() ? "none" : it->get<std::string>();
}

absl::StatusOr<Scale> ScaleOf(const json& feature, const json& metadata) {
  const std::string how = Normalization(feature);
  Scale s;
  auto nonzero = [](double v) { return v == 0 || !std::isfinite(v) ? 1.0 : v; };
  if (how == "zscore") {
    s = {metadata.value("mean", 0.0), nonzero(metadata.value("std", 1.0)), false};
  } else if (how == "minmax") {
    s = {metadata.value("min", 0.0),
         nonzero(metadata.value("max", 1.0) - metadata.value("min", 0.0)), false};
  } else if (how == "iq") {
    s = {metadata.value("q2", 0.0), nonzero(metadata.value("q3", 0.0) - metadata.value("q1", 0.0)),
         false};
  } else if (how == "log1p") {
    s.log1p = true;
  } else if (how != "none" && how != "null") {
    return absl::InvalidArgumentError(absl::StrCat("preprocessing.normalization: unknown '", how,
                                                   "' (known: zscore, minmax, log1p, iq, null)"));
  }
  return s;
}

double Quantile(std::vector<double> sorted, double q) {
  if (sorted.empty()) return 0;
  const double position = q * static_cast<double>(sorted.size() - 1);
  const size_t lower = static_cast<size_t>(std::floor(position));
  const size_t upper = std::min(lower + 1, sorted.size() - 1);
  return sorted[lower] + (position - static_cast<double>(lower)) * (sorted[upper] - sorted[lower]);
}

class NumberType : public FeatureType {
 public:
  bool can_be_output() const override { return true; }

  absl::StatusOr<json> Fit(const json& feature, const data::Column& column) const override {
    std::vector<double> values;
    values.reserve(column.size());
    for (size_t row = 0; row < column.size(); ++row) {
      if (column.null(row)) continue;
      TRISTAGE_ASSIGN_OR_RETURN(double value, ParseNumberCell(feature, column, row));
      // inf, or a nan spelling that is not a missing value: the statistics would be inf or NaN
      // and every prediction NaN.
      if (!std::isfinite(value)) {
        return CellError(feature, row,
                         absl::StrCat("'", column.values[row], "' is not a finite number"));
      }
      values.push_back(value);
    }
    if (values.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("column '", ColumnOf(feature), "': no values in the training split"));
    }
    double sum = 0;
    for (double v : values) sum += v;
    const double mean = sum / static_cast<double>(values.size());
    double squares = 0;
    for (double v : values) squares += (v - mean) * (v - mean);
    // Sample standard deviation, as pandas (and so Ludwig) computes it.
    const double std =
        values.size() > 1 ? std::sqrt(squares / static_cast<double>(values.size() - 1)) : 0.0;
    std::sort(values.begin(), values.end());
    return json{{"mean", mean},
                {"std", std},
                {"min", values.front()},
                {"max", values.back()},
                {"q1", Quantile(values, 0.25)},
                {"q2", Quantile(values, 0.5)},
                {"q3", Quantile(values, 0.75)}};
  }

  absl::StatusOr<torch::Tensor> Transform(const json& feature, const json& metadata,
                                          const data::Column& column) const override {
    TRISTAGE_ASSIGN_OR_RETURN(Scale scale, ScaleOf(feature, metadata));
    const json& preprocessing = PreprocessingOf(feature);
    const bool clip_outliers =
        preprocessing.contains("outlier_strategy") && !preprocessing["outlier_strategy"].is_null();
    const double threshold = preprocessing.value("outlier_threshold", 3.0);
    const double mean = metadata.value("mean", 0.0);
    const double std = metadata.value("std", 0.0);
    torch::Tensor out = torch::empty({static_cast<int64_t>(column.size())}, torch::kFloat);
    float* data = out.data_ptr<float>();
    for (size_t row = 0; row < column.size(); ++row) {
      if (column.null(row)) return CellError(feature, row, "missing value was not filled");
      TRISTAGE_ASSIGN_OR_RETURN(double value, ParseNumberCell(feature, column, row));
      // An outlier (beyond outlier_threshold standard deviations) is replaced by the mean.
      if (clip_outliers && std > 0 && std::abs(value - mean) > threshold * std) value = mean;
      if (scale.log1p) {
        if (value <= -1) return CellError(feature, row, "log1p normalization needs values > -1");
        value = std::log1p(value);
      } else {
        value = (value - scale.shift) / scale.scale;
      }
      data[row] = static_cast<float>(value);
      if (!std::isfinite(data[row])) {
        return CellError(feature, row, absl::StrCat("'", column.values[row], "' ", kNotFinite));
      }
    }
    return out;
  }

  absl::StatusOr<int64_t> OutputSize(const json&) const override { return 1; }

  absl::StatusOr<std::string> OutputHeadSource(
      const json&, const std::string& logits,
      const std::function<std::string(const std::string&)>& key) const override {
    return absl::StrCat("    ", key("predictions"), " = ", logits, "\n");
  }

  absl::StatusOr<torch::Tensor> Loss(const json& feature, const json&, const torch::Tensor& logits,
                                     const torch::Tensor& targets) const override {
    const json& loss = feature.value("loss", json::object());
    const std::string type = loss.value("type", std::string("mean_squared_error"));
    const torch::Tensor diff = logits - targets;
    if (type == "mean_squared_error") return diff.pow(2).mean();
    if (type == "mean_absolute_error") return diff.abs().mean();
    if (type == "root_mean_squared_error") return (diff.pow(2).mean() + 1e-12).sqrt();
    if (type == "huber") {
      const double delta = loss.value("delta", 1.0);
      return torch::huber_loss(logits, targets, at::Reduction::Mean, delta);
    }
    if (type == "mean_absolute_percentage_error") {
      // torchmetrics' mean_absolute_percentage_error, which Ludwig's MAPELoss calls.
      return (diff.abs() / targets.abs().clamp_min(1.17e-6)).mean();
    }
    if (type == "root_mean_squared_percentage_error") {
      // Ludwig's rmspe_loss: a zero target is divided by 1e-4 instead.
      const torch::Tensor denominator = targets + 1e-4 * (targets == 0).to(targets.scalar_type());
      return (diff / denominator).pow(2).mean().sqrt();
    }
    return absl::InvalidArgumentError(absl::StrCat(
        "loss.type: unknown '", type,
        "' for number (known: mean_squared_error, mean_absolute_error, root_mean_squared_error, "
        "mean_absolute_percentage_error, root_mean_squared_percentage_error, huber)"));
  }

  absl::StatusOr<evaluation::EvalData> ToEvalData(const json& feature, const json& metadata,
                                                  const OutputTensors& outputs,
                                                  const torch::Tensor& targets) const override {
    TRISTAGE_ASSIGN_OR_RETURN(Scale scale, ScaleOf(feature, metadata));
    evaluation::EvalData data;
    data.type = "number";
    data.rows = targets.size(0);
    data.targets = Denormalize(scale, targets);
    data.predictions = Denormalize(scale, outputs.at("predictions"));
    return data;
  }

  absl::StatusOr<NamedColumns> Postprocess(const json& feature, const json& metadata,
                                           const OutputTensors& outputs) const override {
    TRISTAGE_ASSIGN_OR_RETURN(Scale scale, ScaleOf(feature, metadata));
    data::Column predictions;
    for (float value : Denormalize(scale, outputs.at("predictions"))) {
      predictions.Append(FormatNumber(value), false);
    }
    return NamedColumns{
        {feature.at("name").get<std::string>() + "_predictions", std::move(predictions)}};
  }

  absl::StatusOr<StageScript> PreprocessScript(const json& feature, const json& metadata,
                                               const std::string& prefix) const override {
    TRISTAGE_ASSIGN_OR_RETURN(Scale scale, ScaleOf(feature, metadata));
    const json& preprocessing = PreprocessingOf(feature);
    StageScript script;
    // Values are normalized one by one as doubles (tensor division multiplies by the reciprocal,
    // one ulp off) and rounded to float32 once, as Transform does.
    script.source = WithPrefix(R"py(
def $ppreprocess(self, column: Union[List[str], Tensor]) -> Tensor:
    values: List[float] = []
    if isinstance(column, Tensor):
        if column.dim() != 1:
            assert False, "feature '" + self.$pname + "': expects a 1-D tensor of numbers, got " + str(column.dim()) + " dimensions"
        raw: List[float] = column.double().tolist()
        for v in raw:
            # NaN: TorchScript folds `v != v` to False, so the NaN test is spelled out.
            if not (v >= 0.0 or v < 0.0):
                if not self.$phas_fill:
                    assert False, "feature '" + self.$pname + "': NaN in a tensor input and missing_value_strategy " + self.$pstrategy + " has no fill value; send strings"
                v = self.parse_number(self.$pfill, self.$pname)
            values.append(self.$pnormalize(v))
    else:
        for cell in FILL:
            values.append(self.$pnormalize(self.parse_number(cell, self.$pname)))
    out = torch.tensor(values, dtype=7).float()
    # One check per batch; the offending row is looked for only when there is one.
    if not bool(torch.isfinite(out).all()):
        row = int(torch.nonzero(torch.logical_not(torch.isfinite(out)))[0][0])
        shown: str = ""
        if isinstance(column, Tensor):
            shown = str(float(column[row]))
        else:
            shown = column[row]
        assert False, "feature '" + self.$pname + "' row " + str(row) + ": '" + shown + "' NOT_FINITE"
    return out

def $pnormalize(self, value: float) -> float:
    v = value
    if self.$pclip and self.$pstd > 0.0 and abs(v - self.$pmean) > self.$pthreshold * self.$pstd:
        v = self.$pmean
    if self.$plog1p:
        if v <= -1.0:
            assert False, "feature '" + self.$pname + "': log1p normalization needs values > -1"
        return torch.log1p(v)
    return (v - self.$pshift) / self.$pscale
)py",
                               prefix);
    script.source = absl::StrReplaceAll(
        script.source, {{"FILL", FillMissingCall(prefix)}, {"NOT_FINITE", kNotFinite}});
    script.attributes = {{prefix + "shift", scale.shift},
                         {prefix + "scale", scale.scale},
                         {prefix + "log1p", scale.log1p},
                         {prefix + "clip", preprocessing.contains("outlier_strategy") &&
                                               !preprocessing["outlier_strategy"].is_null()},
                         {prefix + "threshold", preprocessing.value("outlier_threshold", 3.0)},
                         {prefix + "mean", metadata.value("mean", 0.0)},
                         {prefix + "std", metadata.value("std", 0.0)}};
    return script;
  }

  absl::StatusOr<StageScript> PostprocessScript(const json& feature, const json& metadata,
                                                const std::string& prefix) const override {
    TRISTAGE_ASSIGN_OR_RETURN(Scale scale, ScaleOf(feature, metadata));
    StageScript script;
    script.source = WithPrefix(R"py(
def $ppostprocess(self, outputs: Dict[str, Tensor], result: Dict[str, Any]):
    normalized: List[float] = outputs[self.$pname + "::predictions"].double().reshape([-1]).tolist()
    values: List[float] = []
    for v in normalized:
        values.append(torch.expm1(v) if self.$plog1p else v * self.$pscale + self.$pshift)
    result[self.$pname + "::predictions"] = torch.tensor(values, dtype=7).float()
)py",
                               prefix);
    script.attributes = {{prefix + "name", feature.at("name").get<std::string>()},
                         {prefix + "shift", scale.shift},
                         {prefix + "scale", scale.scale},
                         {prefix + "log1p", scale.log1p}};
    return script;
  }

 private:
  static std::vector<float> Denormalize(const Scale& scale, const torch::Tensor& tensor) {
    std::vector<float> values = ToFloatVector(tensor);
    for (float& v : values) {
      v = scale.log1p ? static_cast<float>(std::expm1(v))
                      : static_cast<float>(v * scale.scale + scale.shift);
    }
    return values;
  }
};

const bool kRegistered = RegisterFeatureType("number", std::make_unique<NumberType>());

// ---- Export and metrics (core/export/output_types.h) ----

exporting::OutputType NumberOutputType() {
  exporting::OutputType type;
  type.name = "number";
  type.keys = {{"predictions", "Tensor"}};
  type.fields = exporting::kNumbers;
  type.decode = [](const exporting::ScriptResult& result, const exporting::OutputSpec& spec,
                   exporting::OutputValues& values) -> absl::Status {
    TRISTAGE_ASSIGN_OR_RETURN(c10::IValue predictions, result.Get(spec.name + "::predictions"));
    values.numbers = exporting::ScriptResult::Floats(predictions.toTensor());
    return absl::OkStatus();
  };
  type.columns = [](const exporting::OutputValues& values) {
    exporting::SuffixColumns columns;
    columns.emplace_back("_predictions", exporting::NumberColumn(values.numbers));
    return columns;
  };
  type.tensors = [](const exporting::OutputValues& values) {
    return std::vector<exporting::OutputTensor>{
        {"predictions", "FP32", {values.rows()}, exporting::RawFloats(values.numbers)}};
  };
  // targets[rows], predictions[rows], no probabilities.
  type.check_eval_data = [](const evaluation::EvalData& data) -> absl::Status {
    const std::string layout = absl::StrCat("rows = ", data.rows);
    TRISTAGE_RETURN_IF_ERROR(
        evaluation::CheckLength(data, "targets", data.targets, data.rows, layout));
    TRISTAGE_RETURN_IF_ERROR(
        evaluation::CheckLength(data, "predictions", data.predictions, data.rows, layout));
    return evaluation::CheckLength(data, "probabilities", data.probabilities, 0, "none for number");
  };
  return type;
}

TRISTAGE_EARLY_INIT const exporting::TypeRegistration kNumberOutput{NumberOutputType()};
TRISTAGE_EARLY_INIT const exporting::TypeRegistration kNumberInput{exporting::InputType{
    "number", true, "float32", [](const json&) { return std::vector<int64_t>{-1}; }}};

}  // namespace
}  // namespace tristage::features
