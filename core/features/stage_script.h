// Pieces the feature types share when they write their exported-stage TorchScript (see
// FeatureType::PreprocessScript / PostprocessScript and core/export).
//
// The stage library mirrors, in TorchScript, the C++ rules training used: missing-value spellings
// and filling (missing_values.h), number parsing, boolean spellings, and the tokenizers
// (tokenizers.h). Everything works on UTF-8 bytes, as the C++ does, so both give the same tokens
// for any text. Special characters (whitespace) are module attributes, not string literals:
// TorchScript's printer writes "\v" and "\f" escapes that its own loader then rejects.
//
// Internal to core/features; includes torch.
#ifndef TRISTAGE_CORE_FEATURES_STAGE_SCRIPT_H_
#define TRISTAGE_CORE_FEATURES_STAGE_SCRIPT_H_

#include <string>
#include <utility>
#include <vector>

#include "core/features/feature.h"

namespace tristage::features {

using StageAttributes = std::vector<std::pair<std::string, c10::IValue>>;

// Helper methods every preprocessor stage defines once:
//   is_missing(cell) -> bool
//   fill_missing(column, name, strategy, has_fill, fill) -> List[str]
//   parse_number(cell, name) -> float          (an error naming the feature for non-numbers)
//   standard_bool(cell) -> int                 (1, 0, or -1 for no boolean spelling)
//   tokenize(text, tokenizer) -> List[str]     (space, space_punct, characters, comma, underscore)
// and the attributes they read.
std::string StageLibrarySource();
StageAttributes StageLibraryAttributes();

// The attributes the stage sets for every input feature (<prefix>name, strategy, has_fill, fill),
// from the resolved feature config and its metadata's computed_fill_value.
StageAttributes FeatureCommonAttributes(const json& feature, const json& metadata,
                                        const std::string& prefix);

// An expression for the filled List[str] of a Union[List[str], Tensor] variable `column` (an error
// naming the feature when it is a tensor).
std::string FillMissingCall(const std::string& prefix);

// `source` with every "$p" replaced by `prefix`.
std::string WithPrefix(const std::string& source, const std::string& prefix);

// symbol -> index from metadata's idx2str (the first index of a repeated symbol wins, as in
// VocabularyIndex). InvalidArgument when there is no idx2str.
absl::StatusOr<c10::Dict<std::string, int64_t>> VocabularyDict(const json& metadata);

// metadata's idx2str as a list.
c10::List<std::string> ClassList(const json& metadata);

}  // namespace tristage::features

#endif  // TRISTAGE_CORE_FEATURES_STAGE_SCRIPT_H_
