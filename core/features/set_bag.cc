// The set and bag features: cells are tokenized (default: whitespace) into items; a vocabulary of
// the `most_common` items (index 0 <UNK>) is fitted on the training split. set: float32
// [batch, vocab] multi-hot; bag: the same shape with item counts. As an output (set only):
// sigmoid probabilities per item, items at or above `threshold` predicted, sigmoid_cross_entropy.
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "core/export/script_result.h"
#include "core/features/common.h"
#include "core/features/stage_script.h"
#include "core/features/tokenizers.h"
#include "core/features/vocabulary.h"
#include "core/util/status_macros.h"

namespace tristage::features {
namespace {

absl::StatusOr<Tokenizer> TokenizerOf(const json& feature) {
  return FindTokenizer(PreprocessingOf(feature).value("tokenizer", std::string("space")));
}

class SetLikeType : public FeatureType {
 public:
  explicit SetLikeType(bool counts) : counts_(counts) {}

  bool can_be_output() const override { return !counts_; }

  absl::StatusOr<json> Fit(const json& feature, const data::Column& column) const override {
    TRISTAGE_ASSIGN_OR_RETURN(Tokenizer tokenize, TokenizerOf(feature));
    SymbolCounter counter;
    int64_t max_size = 0;
    for (size_t row = 0; row < column.size(); ++row) {
      if (column.null(row)) continue;
      const std::vector<std::string> items =
          tokenize(NormalizedSymbol(feature, column.values[row]));
      for (const std::string& item : items) counter.Add(item);
      max_size = std::max<int64_t>(max_size, static_cast<int64_t>(items.size()));
    }
    const int64_t most_common = MostCommonOf(feature, 10000);
    json metadata = counter.Build({"<UNK>"}, most_common);
    metadata[counts_ ? "max_bag_size" : "max_set_size"] = max_size;
    return metadata;
  }

  absl::StatusOr<torch::Tensor> Transform(const json& feature, const json& metadata,
                                          const data::Column& column) const override {
    TRISTAGE_ASSIGN_OR_RETURN(Tokenizer tokenize, TokenizerOf(feature));
    TRISTAGE_ASSIGN_OR_RETURN(VocabularyIndex vocabulary,
                              VocabularyIndex::FromMetadata(metadata, 0));
    const int64_t width = static_cast<int64_t>(vocabulary.symbols().size());
    torch::Tensor out = torch::zeros({static_cast<int64_t>(column.size()), width}, torch::kFloat);
    float* data = out.data_ptr<float>();
    for (size_t row = 0; row < column.size(); ++row) {
      for (const std::string& item : tokenize(NormalizedSymbol(feature, column.values[row]))) {
        float& cell = data[static_cast<int64_t>(row) * width + vocabulary.Lookup(item)];
        cell = counts_ ? cell + 1.0f : 1.0f;
      }
    }
    return out;
  }

  absl::StatusOr<int64_t> OutputSize(const json& metadata) const override {
    return metadata.value("vocab_size", int64_t{0});
  }

  absl::StatusOr<std::string> OutputHeadSource(
      const json& feature, const std::string& logits,
      const std::function<std::string(const std::string&)>& key) const override {
    return absl::StrCat("    ", key("probabilities"), " = torch.sigmoid(", logits, ")\n", "    ",
                        key("predictions"), " = torch.ge(", key("probabilities"), ", ",
                        ScriptFloat(feature.value("threshold", 0.5)), ")\n");
  }

  absl::StatusOr<torch::Tensor> Loss(const json& feature, const json& metadata,
                                     const torch::Tensor& logits,
                                     const torch::Tensor& targets) const override {
    const json& loss = feature.value("loss", json::object());
    TRISTAGE_ASSIGN_OR_RETURN(torch::Tensor weights, ClassWeights(loss, metadata, logits.size(-1)));
    return torch::binary_cross_entropy_with_logits(logits, targets, weights);
  }

  absl::StatusOr<evaluation::EvalData> ToEvalData(const json&, const json& metadata,
                                                  const OutputTensors& outputs,
                                                  const torch::Tensor& targets) const override {
    evaluation::EvalData data;
    data.type = "set";
    data.rows = targets.size(0);
    data.width = metadata.value("vocab_size", int64_t{1});
    data.targets = ToFloatVector(targets);
    data.predictions = ToFloatVector(outputs.at("predictions"));
    data.probabilities = ToFloatVector(outputs.at("probabilities"));
    return data;
  }

  absl::StatusOr<NamedColumns> Postprocess(const json& feature, const json& metadata,
                                           const OutputTensors& outputs) const override {
    const std::string name = feature.at("name");
    const std::vector<std::string> items = metadata.at("idx2str").get<std::vector<std::string>>();
    const torch::Tensor probabilities = outputs.at("probabilities").to(torch::kFloat).contiguous();
    const torch::Tensor predictions = outputs.at("predictions").to(torch::kBool).contiguous();
    const int64_t rows = probabilities.size(0);
    const int64_t width = probabilities.size(1);
    const float* p = probabilities.data_ptr<float>();
    const bool* chosen = predictions.data_ptr<bool>();
    data::Column predicted, chosen_probabilities;
    for (int64_t row = 0; row < rows; ++row) {
      std::vector<std::string> names, values;
      for (int64_t c = 0; c < width; ++c) {
        if (!chosen[row * width + c]) continue;
        names.push_back(items[c]);
        values.push_back(FormatNumber(p[row * width + c]));
      }
      predicted.Append(absl::StrJoin(names, " "), false);
      chosen_probabilities.Append(absl::StrJoin(values, " "), false);
    }
    return NamedColumns{{name + "_predictions", std::move(predicted)},
                        {name + "_probabilities", std::move(chosen_probabilities)}};
  }

  absl::StatusOr<StageScript> PreprocessScript(const json& feature, const json& metadata,
                                               const std::string& prefix) const override {
    const json& preprocessing = PreprocessingOf(feature);
    TRISTAGE_RETURN_IF_ERROR(TokenizerOf(feature).status());
    StageScript script;
    script.source = absl::StrReplaceAll(WithPrefix(R"py(
def $ppreprocess(self, column: Union[List[str], Tensor]) -> Tensor:
    cells = FILL
    rows: List[int] = []
    cols: List[int] = []
    for r in range(len(cells)):
        cell = cells[r]
        for item in self.tokenize(cell.lower() if self.$plowercase else cell, self.$ptokenizer, -1):
            rows.append(r)
            cols.append(self.$pstr2idx.get(item, 0))
    out = torch.zeros([len(cells), self.$pwidth], dtype=6)
    if len(rows) > 0:
        index: List[Optional[Tensor]] = [torch.tensor(rows, dtype=4), torch.tensor(cols, dtype=4)]
        out.index_put_(index, torch.ones([len(rows)], dtype=6), self.$pcounts)
    return out
)py",
                                                   prefix),
                                        {{"FILL", FillMissingCall(prefix)}});
    TRISTAGE_ASSIGN_OR_RETURN(auto vocabulary, VocabularyDict(metadata));
    script.attributes = {
        {prefix + "str2idx", vocabulary},
        {prefix + "width", static_cast<int64_t>(metadata.at("idx2str").size())},
        {prefix + "counts", counts_},
        {prefix + "lowercase", preprocessing.value("lowercase", false)},
        {prefix + "tokenizer", preprocessing.value("tokenizer", std::string("space"))}};
    return script;
  }

  absl::StatusOr<StageScript> PostprocessScript(const json& feature, const json& metadata,
                                                const std::string& prefix) const override {
    StageScript script;
    // As Ludwig's set postprocessing: the chosen items and the probabilities of those items.
    script.source = WithPrefix(R"py(
def $ppostprocess(self, outputs: Dict[str, Tensor], result: Dict[str, Any]):
    p: List[List[float]] = outputs[self.$pname + "::probabilities"].float().tolist()
    chosen: List[List[bool]] = outputs[self.$pname + "::predictions"].tolist()
    names: List[List[str]] = []
    probabilities: List[List[float]] = []
    for r in range(len(chosen)):
        row_names: List[str] = []
        row_probabilities: List[float] = []
        for c in range(len(chosen[r])):
            if chosen[r][c]:
                row_names.append(self.$pclasses[c])
                row_probabilities.append(p[r][c])
        names.append(row_names)
        probabilities.append(row_probabilities)
    result[self.$pname + "::predictions"] = names
    result[self.$pname + "::probabilities"] = probabilities
)py",
                               prefix);
    script.attributes = {{prefix + "name", feature.at("name").get<std::string>()},
                         {prefix + "classes", ClassList(metadata)}};
    return script;
  }

 private:
  const bool counts_;
};

const bool kRegistered = RegisterFeatureType("set", std::make_unique<SetLikeType>(false)) &&
                         RegisterFeatureType("bag", std::make_unique<SetLikeType>(true));

// ---- Export and metrics (core/export/output_types.h) ----

// Set outputs: the chosen items per row and the probabilities of those items.
exporting::OutputType SetOutputType() {
  exporting::OutputType type;
  type.name = "set";
  type.keys = {{"predictions", "List[List[str]]"}, {"probabilities", "List[List[float]]"}};
  type.class_names = [](const json& metadata) { return MetadataStrings(metadata, "idx2str"); };
  type.fields = exporting::kItems | exporting::kItemProbabilities;
  type.decode = [](const exporting::ScriptResult& result, const exporting::OutputSpec& spec,
                   exporting::OutputValues& values) -> absl::Status {
    const std::string prefix = spec.name + "::";
    TRISTAGE_ASSIGN_OR_RETURN(c10::IValue predictions, result.Get(prefix + "predictions"));
    for (const c10::IValue& row : predictions.toListRef()) {
      values.items.push_back(exporting::ScriptResult::Strings(row));
    }
    TRISTAGE_ASSIGN_OR_RETURN(c10::IValue probabilities, result.Get(prefix + "probabilities"));
    for (const c10::IValue& row : probabilities.toListRef()) {
      std::vector<float> p;
      for (const c10::IValue& v : row.toListRef()) p.push_back(static_cast<float>(v.toDouble()));
      values.item_probabilities.push_back(std::move(p));
    }
    return absl::OkStatus();
  };
  type.columns = [](const exporting::OutputValues& values) {
    data::Column predicted, probabilities;
    for (const auto& row : values.items) predicted.Append(absl::StrJoin(row, " "), false);
    for (const auto& row : values.item_probabilities) {
      probabilities.Append(exporting::JoinNumbers(row), false);
    }
    exporting::SuffixColumns columns;
    columns.emplace_back("_predictions", std::move(predicted));
    columns.emplace_back("_probabilities", std::move(probabilities));
    return columns;
  };
  // BYTES per row: the items joined by spaces, and their probabilities joined by spaces.
  type.tensors = [](const exporting::OutputValues& values) {
    std::string items, probabilities;
    for (const auto& row : values.items) exporting::AppendRawBytes(absl::StrJoin(row, " "), items);
    for (const auto& row : values.item_probabilities) {
      exporting::AppendRawBytes(absl::StrJoin(row, " "), probabilities);
    }
    const int64_t rows = values.rows();
    return std::vector<exporting::OutputTensor>{
        {"predictions", "BYTES", {rows}, std::move(items)},
        {"probabilities", "BYTES", {rows}, std::move(probabilities)}};
  };
  // targets, predictions and probabilities [rows * width], multi-hot 0/1 for the first two.
  type.check_eval_data = [](const evaluation::EvalData& data) -> absl::Status {
    TRISTAGE_RETURN_IF_ERROR(evaluation::CheckWidth(data));
    const std::string layout = absl::StrCat("rows * width = ", data.rows, " * ", data.width);
    const int64_t size = data.rows * data.width;
    TRISTAGE_RETURN_IF_ERROR(evaluation::CheckLength(data, "targets", data.targets, size, layout));
    TRISTAGE_RETURN_IF_ERROR(
        evaluation::CheckLength(data, "predictions", data.predictions, size, layout));
    TRISTAGE_RETURN_IF_ERROR(
        evaluation::CheckLength(data, "probabilities", data.probabilities, size, layout));
    TRISTAGE_RETURN_IF_ERROR(evaluation::CheckZeroOne(data, "targets", data.targets, data.width));
    return evaluation::CheckZeroOne(data, "predictions", data.predictions, data.width);
  };
  return type;
}

std::vector<int64_t> VocabularyShape(const json& metadata) {
  return {-1, metadata.value("vocab_size", int64_t{0})};
}

TRISTAGE_EARLY_INIT const exporting::TypeRegistration kSetOutput{SetOutputType()};
TRISTAGE_EARLY_INIT const exporting::TypeRegistration kSetInput{
    exporting::InputType{"set", false, "float32", VocabularyShape}};
TRISTAGE_EARLY_INIT const exporting::TypeRegistration kBagInput{
    exporting::InputType{"bag", false, "float32", VocabularyShape}};

}  // namespace
}  // namespace tristage::features
