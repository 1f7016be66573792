// Vocabularies in Ludwig's metadata layout: idx2str (index -> symbol), str2idx, str2freq and
// vocab_size, built from the training split keeping the `most_common` most frequent symbols.
// Special symbols come first, in the order given (e.g. {"<UNK>"} for category, {"<PAD>", "<UNK>"}
// for text); ties in frequency keep the symbol seen first.
#ifndef TRISTAGE_CORE_FEATURES_VOCABULARY_H_
#define TRISTAGE_CORE_FEATURES_VOCABULARY_H_

#include <string>
#include <unordered_map>
#include <vector>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

namespace tristage::features {

// Counts symbols in first-seen order.
class SymbolCounter {
 public:
  void Add(const std::string& symbol);
  // The metadata object {idx2str, str2idx, str2freq, vocab_size}.
  nlohmann::json Build(const std::vector<std::string>& specials, int64_t most_common) const;

 private:
  std::unordered_map<std::string, size_t> index_;
  std::vector<std::pair<std::string, int64_t>> counts_;  // first-seen order.
};

// Symbol -> index lookups for a fitted vocabulary; unknown symbols map to `unknown_index`.
class VocabularyIndex {
 public:
  // InvalidArgument when metadata has no idx2str list.
  static absl::StatusOr<VocabularyIndex> FromMetadata(const nlohmann::json& metadata,
                                                      int64_t unknown_index);
  int64_t Lookup(const std::string& symbol) const;
  const std::vector<std::string>& symbols() const { return symbols_; }

 private:
  std::unordered_map<std::string, int64_t> index_;
  std::vector<std::string> symbols_;
  int64_t unknown_index_ = 0;
};

}  // namespace tristage::features

#endif  // TRISTAGE_CORE_FEATURES_VOCABULARY_H_
