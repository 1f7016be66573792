// The category feature: int64 [batch] indices into a vocabulary fitted on the training split
// (index 0 is <UNK>, for values unseen in training; `most_common` keeps the most frequent).
// As an output: softmax probabilities over the vocabulary, the argmax as prediction, Ludwig's
// softmax_cross_entropy loss with class_weights, robust_lambda, confidence_penalty and
// class_similarities (soft targets); or Ludwig's corn ordinal loss on classes - 1 logits.
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "core/features/common.h"
#include "core/features/stage_script.h"
#include "core/features/vocabulary.h"
#include "core/util/status_macros.h"

namespace tristage::features {
namespace {

constexpr char kUnknown[] = "<UNK>";

// loss.class_similarities with class_similarities_temperature > 0 (Ludwig's category feature):
// each row of the matrix through a softmax at that temperature, softmax(row / temperature), gives
// the supervision vector of its class in place of the one-hot one; undefined when the temperature
// is 0 (Ludwig then ignores the matrix). The matrix is ordered like the vocabulary, <UNK> first.
absl::StatusOr<torch::Tensor> SoftTargets(const json& loss, int64_t classes,
                                          torch::ScalarType dtype) {
  const double temperature = loss.value("class_similarities_temperature", 0.0);
  if (temperature <= 0) return torch::Tensor();
  auto it = loss.find("class_similarities");
  if (it == loss.end() || !it->is_array()) {
    return absl::InvalidArgumentError(
        "loss.class_similarities_temperature: is greater than 0 but no loss.class_similarities "
        "are given");
  }
  if (static_cast<int64_t>(it->size()) != classes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "loss.class_similarities: the matrix is ", it->size(), "x", it->size(),
        " but the feature has ", classes, " classes (its vocabulary, <UNK> included)"));
  }
  std::vector<float> values;
  for (const json& row : *it) {
    for (const json& value : row) values.push_back(value.get<float>());
  }
  const torch::Tensor matrix = torch::tensor(values).view({classes, classes});
  return torch::softmax(matrix / temperature, -1).to(dtype);
}

bool IsCorn(const json& feature) {
  auto loss = feature.find("loss");
  return loss != feature.end() && loss->is_object() && loss->value("type", std::string()) == "corn";
}

// Ludwig's corn_loss (Shi, Cao and Raschka 2021): task k (of classes - 1) is the binary question
// y > k, trained only on the rows with y >= k (the conditional subsets); the loss is the summed
// binary cross-entropy over every (row, task) pair trained, divided by their number.
torch::Tensor CornLoss(const torch::Tensor& logits, const torch::Tensor& targets) {
  const torch::Tensor tasks = torch::arange(logits.size(1), targets.options()).unsqueeze(0);
  const torch::Tensor y = targets.unsqueeze(1);
  const torch::Tensor in_subset = (y >= tasks).to(logits.scalar_type());
  const torch::Tensor labels = (y > tasks).to(logits.scalar_type());
  const torch::Tensor log_sigmoid = torch::log_sigmoid(logits);
  const torch::Tensor terms = log_sigmoid * labels + (log_sigmoid - logits) * (1 - labels);
  return -(terms * in_subset).sum() / in_subset.sum();
}

class CategoryType : public FeatureType {
 public:
  bool can_be_output() const override { return true; }

  absl::StatusOr<json> Fit(const json& feature, const data::Column& column) const override {
    SymbolCounter counter;
    for (size_t row = 0; row < column.size(); ++row) {
      if (!column.null(row)) counter.Add(NormalizedSymbol(feature, column.values[row]));
    }
    const int64_t most_common = MostCommonOf(feature, 10000);
    return counter.Build({kUnknown}, most_common);
  }

  absl::StatusOr<torch::Tensor> Transform(const json& feature, const json& metadata,
                                          const data::Column& column) const override {
    TRISTAGE_ASSIGN_OR_RETURN(VocabularyIndex vocabulary,
                              VocabularyIndex::FromMetadata(metadata, 0));
    torch::Tensor out = torch::empty({static_cast<int64_t>(column.size())}, torch::kLong);
    int64_t* data = out.data_ptr<int64_t>();
    for (size_t row = 0; row < column.size(); ++row) {
      data[row] = vocabulary.Lookup(NormalizedSymbol(feature, column.values[row]));
    }
    return out;
  }

  absl::StatusOr<int64_t> OutputSize(const json& metadata) const override {
    return metadata.value("vocab_size", int64_t{0});
  }

  absl::StatusOr<int64_t> OutputSizeFor(const json& feature, const json& metadata) const override {
    const int64_t classes = metadata.value("vocab_size", int64_t{0});
    if (!IsCorn(feature)) return classes;
    if (classes < 2) {
      return absl::InvalidArgumentError(
          absl::StrCat("loss.type: corn needs at least 2 classes, the vocabulary has ", classes));
    }
    return classes - 1;
  }

  absl::StatusOr<std::string> OutputHeadSource(
      const json& feature, const std::string& logits,
      const std::function<std::string(const std::string&)>& key) const override {
    if (IsCorn(feature)) {
      // Ludwig's _CategoryPredict with cumulative probabilities: P(y > k) = prod_{j<=k}
      // sigmoid(logit_j); the prediction counts the k with P(y > k) > 0.5. Ludwig returns those
      // classes-1 cumulative values as probabilities; here they become the classes' own
      // probabilities, P(y = k) = P(y > k-1) - P(y > k), so that they have a column per class.
      const std::string cumulative = "torch.cumprod(torch.sigmoid(" + logits + "), 1)";
      return absl::StrCat("    corn_cumulative = ", cumulative, "\n", "    ", key("predictions"),
                          " = torch.sum(corn_cumulative > 0.5, 1).long()\n", "    ",
                          key("probabilities"),
                          " = torch.cat([1.0 - corn_cumulative[:, :1], corn_cumulative[:, :-1] - "
                          "corn_cumulative[:, 1:], corn_cumulative[:, -1:]], 1)\n");
    }
    return absl::StrCat("    ", key("probabilities"), " = torch.softmax(", logits, ", -1)\n",
                        "    ", key("predictions"), " = torch.argmax(", logits, ", -1)\n");
  }

  absl::StatusOr<torch::Tensor> Loss(const json& feature, const json& metadata,
                                     const torch::Tensor& logits,
                                     const torch::Tensor& targets) const override {
    const json& loss = feature.value("loss", json::object());
    if (IsCorn(feature)) return CornLoss(logits, targets);
    TRISTAGE_ASSIGN_OR_RETURN(torch::Tensor weights, ClassWeights(loss, metadata, logits.size(-1)));
    const torch::Tensor log_probabilities = torch::log_softmax(logits, -1);
    TRISTAGE_ASSIGN_OR_RETURN(torch::Tensor similarities,
                              SoftTargets(loss, logits.size(-1), logits.scalar_type()));
    torch::Tensor value;
    if (similarities.defined()) {
      // Each row's target is its class's row of the softened similarity matrix.
      const torch::Tensor per_row =
          -(similarities.index_select(0, targets) * log_probabilities).sum(-1);
      if (weights.defined()) {
        const torch::Tensor row_weights = weights.index_select(0, targets);
        value = (per_row * row_weights).sum() / row_weights.sum();
      } else {
        value = per_row.mean();
      }
    } else {
      value = torch::nll_loss(log_probabilities, targets, weights);
    }
    if (!HasLossRegularizers(loss)) return value;
    const torch::Tensor uniform = -log_probabilities.mean(-1).mean();
    return ApplyLossRegularizers(loss, value, uniform, log_probabilities.exp());
  }

  absl::StatusOr<evaluation::EvalData> ToEvalData(const json& feature, const json& metadata,
                                                  const OutputTensors& outputs,
                                                  const torch::Tensor& targets) const override {
    evaluation::EvalData data;
    data.type = "category";
    data.rows = targets.size(0);
    data.width = metadata.value("vocab_size", int64_t{1});
    data.targets = ToFloatVector(targets);
    data.predictions = ToFloatVector(outputs.at("predictions"));
    data.probabilities = ToFloatVector(outputs.at("probabilities"));
    data.top_k = static_cast<int>(feature.value("top_k", 3));
    return data;
  }

  std::vector<std::string> ClassNames(const json& metadata) const override {
    return metadata.at("idx2str").get<std::vector<std::string>>();
  }

  absl::StatusOr<NamedColumns> Postprocess(const json& feature, const json& metadata,
                                           const OutputTensors& outputs) const override {
    const std::string name = feature.at("name");
    const std::vector<std::string> classes = ClassNames(metadata);
    const torch::Tensor probabilities = outputs.at("probabilities").to(torch::kFloat).contiguous();
    const torch::Tensor predictions = outputs.at("predictions").to(torch::kLong).contiguous();
    const int64_t rows = probabilities.size(0);
    const int64_t width = probabilities.size(1);
    const float* p = probabilities.data_ptr<float>();
    const int64_t* predicted = predictions.data_ptr<int64_t>();
    NamedColumns columns;
    columns.emplace_back(name + "_predictions", data::Column{});
    for (int64_t c = 0; c < width; ++c) {
      columns.emplace_back(absl::StrCat(name, "_probabilities_", classes[c]), data::Column{});
    }
    columns.emplace_back(name + "_probability", data::Column{});
    for (int64_t row = 0; row < rows; ++row) {
      columns[0].second.Append(classes[predicted[row]], false);
      for (int64_t c = 0; c < width; ++c) {
        columns[1 + c].second.Append(FormatNumber(p[row * width + c]), false);
      }
      columns.back().second.Append(FormatNumber(p[row * width + predicted[row]]), false);
    }
    return columns;
  }

  absl::StatusOr<StageScript> PreprocessScript(const json& feature, const json& metadata,
                                               const std::string& prefix) const override {
    StageScript script;
    script.source = absl::StrReplaceAll(WithPrefix(R"py(
def $ppreprocess(self, column: Union[List[str], Tensor]) -> Tensor:
    ids: List[int] = []
    for cell in FILL:
        ids.append(self.$pstr2idx.get(cell.lower() if self.$plowercase else cell, 0))
    return torch.tensor(ids, dtype=4)
)py",
                                                   prefix),
                                        {{"FILL", FillMissingCall(prefix)}});
    TRISTAGE_ASSIGN_OR_RETURN(auto vocabulary, VocabularyDict(metadata));
    script.attributes = {
        {prefix + "str2idx", vocabulary},
        {prefix + "lowercase", PreprocessingOf(feature).value("lowercase", false)}};
    return script;
  }

  absl::StatusOr<StageScript> PostprocessScript(const json& feature, const json& metadata,
                                                const std::string& prefix) const override {
    StageScript script;
    script.source = WithPrefix(R"py(
def $ppostprocess(self, outputs: Dict[str, Tensor], result: Dict[str, Any]):
    p = outputs[self.$pname + "::probabilities"].float()
    predicted = outputs[self.$pname + "::predictions"]
    indices: List[int] = predicted.tolist()
    names: List[str] = []
    for i in indices:
        names.append(self.$pclasses[i])
    result[self.$pname + "::predictions"] = names
    result[self.$pname + "::probabilities"] = p
    result[self.$pname + "::probability"] = torch.gather(p, 1, predicted.unsqueeze(1)).squeeze(1)
)py",
                               prefix);
    script.attributes = {{prefix + "name", feature.at("name").get<std::string>()},
                         {prefix + "classes", ClassList(metadata)}};
    return script;
  }
};

const bool kRegistered = RegisterFeatureType("category", std::make_unique<CategoryType>());

// ---- Export and metrics (core/export/output_types.h) ----

// targets[rows] and predictions[rows] class indices, probabilities[rows * width].
absl::Status CheckCategoryEvalData(const evaluation::EvalData& data) {
  TRISTAGE_RETURN_IF_ERROR(evaluation::CheckWidth(data));
  if (data.top_k < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("category top_k must be at least 1, got ", data.top_k));
  }
  const std::string rows_layout = absl::StrCat("rows = ", data.rows);
  const std::string matrix_layout = absl::StrCat("rows * width = ", data.rows, " * ", data.width);
  TRISTAGE_RETURN_IF_ERROR(
      evaluation::CheckLength(data, "targets", data.targets, data.rows, rows_layout));
  TRISTAGE_RETURN_IF_ERROR(
      evaluation::CheckLength(data, "predictions", data.predictions, data.rows, rows_layout));
  TRISTAGE_RETURN_IF_ERROR(evaluation::CheckLength(data, "probabilities", data.probabilities,
                                                   data.rows * data.width, matrix_layout));
  TRISTAGE_RETURN_IF_ERROR(evaluation::CheckClassIndices(data, "targets", data.targets));
  return evaluation::CheckClassIndices(data, "predictions", data.predictions);
}

TRISTAGE_EARLY_INIT const exporting::TypeRegistration kCategoryOutput{ClassifierOutputType(
    "category", [](const json& metadata) { return MetadataStrings(metadata, "idx2str"); },
    CheckCategoryEvalData)};
TRISTAGE_EARLY_INIT const exporting::TypeRegistration kCategoryInput{exporting::InputType{
    "category", false, "int64", [](const json&) { return std::vector<int64_t>{-1}; }}};

}  // namespace
}  // namespace tristage::features
