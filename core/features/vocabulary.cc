#include "core/features/vocabulary.h"

#include <algorithm>

namespace tristage::features {

void SymbolCounter::Add(const std::string& symbol) {
  auto [it, inserted] = index_.emplace(symbol, counts_.size());
  if (inserted) counts_.emplace_back(symbol, 0);
  ++counts_[it->second].second;
}

nlohmann::json SymbolCounter::Build(const std::vector<std::string>& specials,
                                    int64_t most_common) const {
  std::vector<size_t> order(counts_.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(),
                   [this](size_t a, size_t b) { return counts_[a].second > counts_[b].second; });
  nlohmann::json idx2str = nlohmann::json::array();
  nlohmann::json str2idx = nlohmann::json::object();
  nlohmann::json str2freq = nlohmann::json::object();
  for (const std::string& special : specials) {
    str2idx[special] = idx2str.size();
    str2freq[special] = 0;
    idx2str.push_back(special);
  }
  int64_t kept = 0;
  for (size_t i : order) {
    if (most_common > 0 && kept >= most_common) break;
    const auto& [symbol, count] = counts_[i];
    if (str2idx.contains(symbol)) {
      str2freq[symbol] = count;  // a special symbol that also occurs in the data.
      continue;
    }
    str2idx[symbol] = idx2str.size();
    str2freq[symbol] = count;
    idx2str.push_back(symbol);
    ++kept;
  }
  return {{"idx2str", idx2str},
          {"str2idx", str2idx},
          {"str2freq", str2freq},
          {"vocab_size", idx2str.size()}};
}

absl::StatusOr<VocabularyIndex> VocabularyIndex::FromMetadata(const nlohmann::json& metadata,
                                                              int64_t unknown_index) {
  auto it = metadata.find("idx2str");
  if (it == metadata.end() || !it->is_array()) {
    return absl::InvalidArgumentError("feature metadata has no idx2str vocabulary");
  }
  VocabularyIndex vocabulary;
  vocabulary.unknown_index_ = unknown_index;
  for (const auto& symbol : *it) {
    vocabulary.index_.emplace(symbol.get<std::string>(), vocabulary.symbols_.size());
    vocabulary.symbols_.push_back(symbol.get<std::string>());
  }
  return vocabulary;
}

int64_t VocabularyIndex::Lookup(const std::string& symbol) const {
  auto it = index_.find(symbol);
  return it == index_.end() ? unknown_index_ : it->second;
}

}  // namespace tristage::features
