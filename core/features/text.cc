// The text and sequence features: cells are tokenized (`tokenizer`; text defaults to space_punct,
// sequence to space, as the resolved config says), lowercased when `lowercase` is set, and mapped
// through a vocabulary of the `most_common` tokens fitted on the training split: index 0 is the
// padding symbol, 1 the unknown symbol. int64 [batch, length], padded with 0 on the right (or left
// with `padding: left`) and truncated to `max_sequence_length`; `length` is the longest training
// row, capped by max_sequence_length, and kept in the metadata, as is each vocabulary entry's
// document frequency (training rows it occurs in; the tf_idf encoder's idf).
#include <set>
#include <unordered_map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "core/features/common.h"
#include "core/features/stage_script.h"
#include "core/features/tokenizers.h"
#include "core/features/vocabulary.h"
#include "core/util/status_macros.h"

namespace tristage::features {
namespace {

class TextType : public FeatureType {
 public:
  absl::StatusOr<json> Fit(const json& feature, const data::Column& column) const override {
    const json& preprocessing = PreprocessingOf(feature);
    TRISTAGE_ASSIGN_OR_RETURN(
        Tokenizer tokenize, FindTokenizer(preprocessing.value("tokenizer", std::string("space"))));
    SymbolCounter counter;
    // Rows each token occurs in, for the tf_idf encoder's inverse document frequency.
    std::unordered_map<std::string, int64_t> documents;
    int64_t longest = 0;
    for (size_t row = 0; row < column.size(); ++row) {
      if (column.null(row)) continue;
      const std::vector<std::string> tokens =
          tokenize(NormalizedSymbol(feature, column.values[row]));
      for (const std::string& token : tokens) counter.Add(token);
      for (const std::string& token : std::set<std::string>(tokens.begin(), tokens.end())) {
        ++documents[token];
      }
      longest = std::max<int64_t>(longest, static_cast<int64_t>(tokens.size()));
    }
    const int64_t cap = preprocessing.value("max_sequence_length", int64_t{256});
    json metadata = counter.Build({preprocessing.value("padding_symbol", std::string("<PAD>")),
                                   preprocessing.value("unknown_symbol", std::string("<UNK>"))},
                                  preprocessing.value("most_common", int64_t{20000}));
    metadata["max_sequence_length"] = std::max<int64_t>(1, std::min(longest, cap));
    json frequencies = json::array();
    for (const json& symbol : metadata["idx2str"]) {
      auto it = documents.find(symbol.get<std::string>());
      frequencies.push_back(it == documents.end() ? 0 : it->second);
    }
    metadata["document_frequency"] = std::move(frequencies);
    return metadata;
  }

  absl::StatusOr<torch::Tensor> Transform(const json& feature, const json& metadata,
                                          const data::Column& column) const override {
    const json& preprocessing = PreprocessingOf(feature);
    TRISTAGE_ASSIGN_OR_RETURN(
        Tokenizer tokenize, FindTokenizer(preprocessing.value("tokenizer", std::string("space"))));
    TRISTAGE_ASSIGN_OR_RETURN(VocabularyIndex vocabulary,
                              VocabularyIndex::FromMetadata(metadata, 1));
    const int64_t length = metadata.at("max_sequence_length").get<int64_t>();
    const bool pad_left = preprocessing.value("padding", std::string("right")) == "left";
    torch::Tensor out = torch::zeros({static_cast<int64_t>(column.size()), length}, torch::kLong);
    int64_t* data = out.data_ptr<int64_t>();
    for (size_t row = 0; row < column.size(); ++row) {
      const std::vector<std::string> tokens =
          tokenize(NormalizedSymbol(feature, column.values[row]));
      const int64_t used = std::min<int64_t>(length, static_cast<int64_t>(tokens.size()));
      const int64_t offset = pad_left ? length - used : 0;
      int64_t* out_row = data + static_cast<int64_t>(row) * length;
      for (int64_t i = 0; i < used; ++i) out_row[offset + i] = vocabulary.Lookup(tokens[i]);
    }
    return out;
  }

  absl::StatusOr<StageScript> PreprocessScript(const json& feature, const json& metadata,
                                               const std::string& prefix) const override {
    const json& preprocessing = PreprocessingOf(feature);
    const std::string tokenizer = preprocessing.value("tokenizer", std::string("space"));
    TRISTAGE_RETURN_IF_ERROR(FindTokenizer(tokenizer).status());
    StageScript script;
    script.source = absl::StrReplaceAll(WithPrefix(R"py(
def $ppreprocess(self, column: Union[List[str], Tensor]) -> Tensor:
    cells = FILL
    length = self.$plength
    flat: List[int] = []
    for cell in cells:
        tokens = self.tokenize(cell.lower() if self.$plowercase else cell, self.$ptokenizer, length)
        used = min(length, len(tokens))
        row: List[int] = [0] * length
        offset = length - used if self.$ppad_left else 0
        for i in range(used):
            row[offset + i] = self.$pstr2idx.get(tokens[i], 1)
        flat.extend(row)
    return torch.tensor(flat, dtype=4).view([len(cells), length])
)py",
                                                   prefix),
                                        {{"FILL", FillMissingCall(prefix)}});
    TRISTAGE_ASSIGN_OR_RETURN(auto vocabulary, VocabularyDict(metadata));
    script.attributes = {
        {prefix + "str2idx", vocabulary},
        {prefix + "length", metadata.at("max_sequence_length").get<int64_t>()},
        {prefix + "pad_left", preprocessing.value("padding", std::string("right")) == "left"},
        {prefix + "lowercase", preprocessing.value("lowercase", false)},
        {prefix + "tokenizer", tokenizer}};
    return script;
  }
};

const bool kRegistered = RegisterFeatureType("text", std::make_unique<TextType>()) &&
                         RegisterFeatureType("sequence", std::make_unique<TextType>());

// The exported preprocessor's tensor: int64 token ids [rows, max_sequence_length]
// (core/export/output_types.h).
std::vector<int64_t> TokenShape(const json& metadata) {
  return {-1, metadata.value("max_sequence_length", int64_t{0})};
}

TRISTAGE_EARLY_INIT const exporting::TypeRegistration kTextInput{
    exporting::InputType{"text", false, "int64", TokenShape}};
TRISTAGE_EARLY_INIT const exporting::TypeRegistration kSequenceInput{
    exporting::InputType{"sequence", false, "int64", TokenShape}};

}  // namespace
}  // namespace tristage::features
