// The vector feature: cells of whitespace-separated numbers, float32 [batch, vector_size]. The size
// is `preprocessing.vector_size` or, when null, the first training row's; every row must match.
// As an output: the projector's values are the predictions; mean_squared_error (or
// mean_absolute_error) loss.
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "core/export/script_result.h"
#include "core/features/common.h"
#include "core/features/stage_script.h"
#include "core/util/status_macros.h"

namespace tristage::features {
namespace {

absl::Status ParseRow(const json& feature, const data::Column& column, size_t row,
                      std::vector<float>& out) {
  out.clear();
  for (absl::string_view piece :
       absl::StrSplit(column.values[row], absl::ByAnyChar(" \t,"), absl::SkipEmpty())) {
    float value = 0;
    if (!absl::SimpleAtof(piece, &value)) {
      return CellError(feature, row, absl::StrCat("'", piece, "' in a vector is not a number"));
    }
    out.push_back(value);
  }
  return absl::OkStatus();
}

class VectorType : public FeatureType {
 public:
  bool can_be_output() const override { return true; }

  absl::StatusOr<json> Fit(const json& feature, const data::Column& column) const override {
    const json& configured = PreprocessingOf(feature).value("vector_size", json());
    if (configured.is_number_integer()) return json{{"vector_size", configured.get<int64_t>()}};
    std::vector<float> values;
    for (size_t row = 0; row < column.size(); ++row) {
      if (column.null(row) || column.values[row].empty()) continue;
      TRISTAGE_RETURN_IF_ERROR(ParseRow(feature, column, row, values));
      // A cell of only separators has no values; Transform reads it as zeros, like an empty one.
      if (values.empty()) continue;
      return json{{"vector_size", values.size()}};
    }
    return absl::InvalidArgumentError(absl::StrCat(
        "column '", ColumnOf(feature), "': no vector in the training split to size it from"));
  }

  absl::StatusOr<torch::Tensor> Transform(const json& feature, const json& metadata,
                                          const data::Column& column) const override {
    const int64_t size = metadata.at("vector_size").get<int64_t>();
    torch::Tensor out = torch::zeros({static_cast<int64_t>(column.size()), size}, torch::kFloat);
    float* data = out.data_ptr<float>();
    std::vector<float> values;
    for (size_t row = 0; row < column.size(); ++row) {
      TRISTAGE_RETURN_IF_ERROR(ParseRow(feature, column, row, values));
      // An empty cell (a filled missing value) stays all zeros.
      if (values.empty()) continue;
      if (static_cast<int64_t>(values.size()) != size) {
        return CellError(feature, row,
                         absl::StrCat("vector has ", values.size(), " values, expected ", size));
      }
      std::copy(values.begin(), values.end(), data + static_cast<int64_t>(row) * size);
    }
    return out;
  }

  absl::StatusOr<int64_t> OutputSize(const json& metadata) const override {
    return metadata.value("vector_size", int64_t{0});
  }

  absl::StatusOr<std::string> OutputHeadSource(
      const json&, const std::string& logits,
      const std::function<std::string(const std::string&)>& key) const override {
    return absl::StrCat("    ", key("predictions"), " = ", logits, "\n");
  }

  absl::StatusOr<torch::Tensor> Loss(const json& feature, const json&, const torch::Tensor& logits,
                                     const torch::Tensor& targets) const override {
    const std::string type =
        feature.value("loss", json::object()).value("type", std::string("mean_squared_error"));
    if (type == "mean_squared_error") return (logits - targets).pow(2).mean();
    if (type == "mean_absolute_error") return (logits - targets).abs().mean();
    return absl::InvalidArgumentError(
        absl::StrCat("loss.type: unknown '", type,
                     "' for vector (known: mean_squared_error, mean_absolute_error)"));
  }

  absl::StatusOr<evaluation::EvalData> ToEvalData(const json&, const json& metadata,
                                                  const OutputTensors& outputs,
                                                  const torch::Tensor& targets) const override {
    evaluation::EvalData data;
    data.type = "vector";
    data.rows = targets.size(0);
    data.width = metadata.value("vector_size", int64_t{1});
    data.targets = ToFloatVector(targets);
    data.predictions = ToFloatVector(outputs.at("predictions"));
    return data;
  }

  absl::StatusOr<NamedColumns> Postprocess(const json& feature, const json& metadata,
                                           const OutputTensors& outputs) const override {
    const int64_t size = metadata.value("vector_size", int64_t{1});
    const std::vector<float> values = ToFloatVector(outputs.at("predictions"));
    data::Column predicted;
    for (size_t start = 0; start + size <= values.size(); start += size) {
      std::vector<std::string> row;
      for (int64_t i = 0; i < size; ++i) row.push_back(FormatNumber(values[start + i]));
      predicted.Append(absl::StrJoin(row, " "), false);
    }
    return NamedColumns{
        {feature.at("name").get<std::string>() + "_predictions", std::move(predicted)}};
  }

  absl::StatusOr<StageScript> PreprocessScript(const json& feature, const json& metadata,
                                               const std::string& prefix) const override {
    StageScript script;
    // Tensors [batch, vector_size] are taken as they are.
    script.source = absl::StrReplaceAll(WithPrefix(R"py(
def $ppreprocess(self, column: Union[List[str], Tensor]) -> Tensor:
    size = self.$psize
    if isinstance(column, Tensor):
        if column.dim() != 2 or column.size(1) != size:
            assert False, "feature '" + self.$pname + "': expects a [batch, " + str(size) + "] tensor, got shape " + str(column.size())
        return column.float()
    cells = FILL
    values: List[float] = []
    for r in range(len(cells)):
        row: List[float] = []
        for piece in cells[r].replace(self.tab, " ").replace(",", " ").split(" "):
            if len(piece) > 0:
                row.append(self.parse_number(piece, self.$pname))
        if len(row) == 0:
            row = [0.0] * size
        elif len(row) != size:
            assert False, "feature '" + self.$pname + "': row " + str(r) + ": vector has " + str(len(row)) + " values, expected " + str(size)
        values.extend(row)
    return torch.tensor(values, dtype=7).float().view([len(cells), size])
)py",
                                                   prefix),
                                        {{"FILL", FillMissingCall(prefix)}});
    script.attributes = {{prefix + "size", metadata.at("vector_size").get<int64_t>()}};
    (void)feature;
    return script;
  }

  absl::StatusOr<StageScript> PostprocessScript(const json& feature, const json&,
                                                const std::string& prefix) const override {
    StageScript script;
    script.source = WithPrefix(R"py(
def $ppostprocess(self, outputs: Dict[str, Tensor], result: Dict[str, Any]):
    result[self.$pname + "::predictions"] = outputs[self.$pname + "::predictions"].float()
)py",
                               prefix);
    script.attributes = {{prefix + "name", feature.at("name").get<std::string>()}};
    return script;
  }
};

const bool kRegistered = RegisterFeatureType("vector", std::make_unique<VectorType>());

// ---- Export and metrics (core/export/output_types.h) ----

exporting::OutputType VectorOutputType() {
  exporting::OutputType type;
  type.name = "vector";
  type.keys = {{"predictions", "Tensor"}};
  type.fields = exporting::kVectors;
  type.decode = [](const exporting::ScriptResult& result, const exporting::OutputSpec& spec,
                   exporting::OutputValues& values) -> absl::Status {
    TRISTAGE_ASSIGN_OR_RETURN(c10::IValue predictions, result.Get(spec.name + "::predictions"));
    const torch::Tensor t = predictions.toTensor();
    const std::vector<float> flat = exporting::ScriptResult::Floats(t);
    const int64_t width = t.dim() == 2 ? t.size(1) : 1;
    for (size_t start = 0; start < flat.size(); start += static_cast<size_t>(width)) {
      values.vectors.emplace_back(flat.begin() + start, flat.begin() + start + width);
    }
    return absl::OkStatus();
  };
  type.columns = [](const exporting::OutputValues& values) {
    data::Column predicted;
    for (const auto& row : values.vectors) predicted.Append(exporting::JoinNumbers(row), false);
    exporting::SuffixColumns columns;
    columns.emplace_back("_predictions", std::move(predicted));
    return columns;
  };
  type.tensors = [](const exporting::OutputValues& values) {
    std::vector<float> flat;
    for (const auto& row : values.vectors) flat.insert(flat.end(), row.begin(), row.end());
    const int64_t width = values.vectors.empty() ? 0 : values.vectors.front().size();
    return std::vector<exporting::OutputTensor>{
        {"predictions", "FP32", {values.rows(), width}, exporting::RawFloats(flat)}};
  };
  // targets[rows * width], predictions[rows * width], no probabilities.
  type.check_eval_data = [](const evaluation::EvalData& data) -> absl::Status {
    TRISTAGE_RETURN_IF_ERROR(evaluation::CheckWidth(data));
    const std::string layout = absl::StrCat("rows * width = ", data.rows, " * ", data.width);
    const int64_t size = data.rows * data.width;
    TRISTAGE_RETURN_IF_ERROR(evaluation::CheckLength(data, "targets", data.targets, size, layout));
    TRISTAGE_RETURN_IF_ERROR(
        evaluation::CheckLength(data, "predictions", data.predictions, size, layout));
    return evaluation::CheckLength(data, "probabilities", data.probabilities, 0, "none for vector");
  };
  return type;
}

TRISTAGE_EARLY_INIT const exporting::TypeRegistration kVectorOutput{VectorOutputType()};
TRISTAGE_EARLY_INIT const exporting::TypeRegistration kVectorInput{exporting::InputType{
    "vector", true, "float32", [](const json& metadata) {
      return std::vector<int64_t>{-1, metadata.value("vector_size", int64_t{0})};
    }}};

}  // namespace
}  // namespace tristage::features
