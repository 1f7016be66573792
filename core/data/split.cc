#include "core/data/split.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <optional>
#include <random>
#include <unordered_map>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/util/status_macros.h"
#include "core/util/strings.h"

namespace tristage::data {
namespace {

struct SplitTypeName {
  const char* name;
  SplitType type;
};
constexpr SplitTypeName kSplitTypes[] = {{"random", SplitType::kRandom},
                                         {"fixed", SplitType::kFixed},
                                         {"stratify", SplitType::kStratify},
                                         {"hash", SplitType::kHash}};

const char* SplitTypeText(SplitType type) {
  for (const SplitTypeName& entry : kSplitTypes) {
    if (entry.type == type) return entry.name;
  }
  return "unknown";  // only for a value cast from outside the enum
}

absl::Status CheckProbabilities(const std::array<double, 3>& probabilities) {
  const double sum = probabilities[0] + probabilities[1] + probabilities[2];
  const bool non_negative = std::all_of(probabilities.begin(), probabilities.end(),
                                        [](double p) { return p >= 0; });  // false for NaN too
  if (non_negative && std::abs(sum - 1) <= 1e-6) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(
      "split probabilities [", absl::StrJoin(probabilities, ", "),
      "] must be [train, validation, test], each >= 0, summing to 1 (they sum to ", sum, ")"));
}

// A uniform draw from [0, bound) without modulo bias: draws below 2^64 mod bound are rejected,
// so every residue is equally likely. Written out because std::uniform_int_distribution differs
// between standard libraries, and splits must be the same everywhere.
uint64_t UniformBelow(uint64_t bound, std::mt19937_64* rng) {
  const uint64_t threshold = (0 - bound) % bound;
  for (;;) {
    const uint64_t draw = (*rng)();
    if (draw >= threshold) return draw % bound;
  }
}

void Shuffle(std::vector<int64_t>* rows, std::mt19937_64* rng) {
  for (size_t i = rows->size(); i > 1; --i) {
    std::swap((*rows)[i - 1], (*rows)[UniformBelow(i, rng)]);
  }
}

// Appends `rows` cut at round(n * p_train) and round(n * (p_train + p_validation)).
void CutInto(const std::vector<int64_t>& rows, const std::array<double, 3>& probabilities,
             SplitIndices* split) {
  const double n = static_cast<double>(rows.size());
  const auto cut = [&rows, n](double fraction) {
    return rows.begin() +
           std::clamp<int64_t>(std::llround(n * fraction), 0, static_cast<int64_t>(rows.size()));
  };
  const auto train_end = cut(probabilities[0]);
  const auto validation_end = cut(probabilities[0] + probabilities[1]);
  split->train.insert(split->train.end(), rows.begin(), train_end);
  split->validation.insert(split->validation.end(), train_end, validation_end);
  split->test.insert(split->test.end(), validation_end, rows.end());
}

std::vector<int64_t> AllRows(const Table& table) {
  std::vector<int64_t> rows(table.num_rows());
  std::iota(rows.begin(), rows.end(), 0);
  return rows;
}

absl::StatusOr<const Column*> SplitColumn(const Table& table, absl::string_view column,
                                          SplitType type) {
  if (column.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(SplitTypeText(type), " split needs a column to split on"));
  }
  absl::StatusOr<const Column*> found = table.Get(column);
  if (found.ok()) return found;
  // A missing column is a configuration mistake here, not an absent resource.
  return absl::InvalidArgumentError(
      absl::StrCat(SplitTypeText(type), " split: ", found.status().message()));
}

SplitIndices RandomSplit(const Table& table, const SplitOptions& options) {
  std::vector<int64_t> rows = AllRows(table);
  std::mt19937_64 rng(options.seed);
  Shuffle(&rows, &rng);
  SplitIndices split;
  CutInto(rows, options.probabilities, &split);
  return split;
}

// Rows grouped by class in order of first appearance; nulls form one class of their own.
std::vector<std::vector<int64_t>> GroupRows(const Column& column) {
  std::vector<std::vector<int64_t>> groups;
  std::unordered_map<std::string, size_t> group_of_value;
  std::optional<size_t> null_group;
  for (size_t row = 0; row < column.size(); ++row) {
    size_t group = groups.size();
    if (column.null(row)) {
      if (!null_group) null_group = group;
      group = *null_group;
    } else {
      group = group_of_value.try_emplace(column.values[row], group).first->second;
    }
    if (group == groups.size()) groups.emplace_back();
    groups[group].push_back(static_cast<int64_t>(row));
  }
  return groups;
}

absl::StatusOr<SplitIndices> StratifiedSplit(const Table& table, const SplitOptions& options) {
  TRISTAGE_ASSIGN_OR_RETURN(const Column* column,
                            SplitColumn(table, options.column, SplitType::kStratify));
  std::mt19937_64 rng(options.seed);
  SplitIndices split;
  for (std::vector<int64_t>& group : GroupRows(*column)) {
    Shuffle(&group, &rng);
    CutInto(group, options.probabilities, &split);
  }
  return split;
}

// The key's FNV-1a 64 hash as a fraction in [0, 1). Seedless on purpose: a row's split must depend
// on its key alone, so it stays put when rows are added or reordered.
double HashFraction(absl::string_view key) {
  uint64_t hash = 0xcbf29ce484222325ULL;
  for (const char c : key) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 0x100000001b3ULL;
  }
  // FNV's last multiply barely reaches the top bits, so ids that differ only at the end (user-1,
  // user-2, ...) would share a split: 990 of user-0..999 fell in train at [0.7, 0.1, 0.2].
  // MurmurHash3's fmix64 spreads every bit over the whole word first.
  hash ^= hash >> 33;
  hash *= 0xff51afd7ed558ccdULL;
  hash ^= hash >> 33;
  hash *= 0xc4ceb9fe1a85ec53ULL;
  hash ^= hash >> 33;
  return static_cast<double>(hash >> 11) * 0x1.0p-53;  // the top 53 bits fill a double exactly
}

absl::StatusOr<SplitIndices> HashSplit(const Table& table, const SplitOptions& options) {
  TRISTAGE_ASSIGN_OR_RETURN(const Column* column,
                            SplitColumn(table, options.column, SplitType::kHash));
  const double train_end = options.probabilities[0];
  const double validation_end = train_end + options.probabilities[1];
  SplitIndices split;
  for (int64_t row = 0; row < table.num_rows(); ++row) {
    const double fraction = HashFraction(column->values[row]);
    if (fraction < train_end) {
      split.train.push_back(row);
    } else if (fraction < validation_end) {
      split.validation.push_back(row);
    } else {
      split.test.push_back(row);
    }
  }
  return split;
}

// 0, 1 or 2 for a fixed split cell, -1 when it names no split.
int FixedSplitOf(absl::string_view cell) {
  static constexpr std::pair<absl::string_view, int> kNames[] = {
      {"0", 0},          {"0.0", 0}, {"train", 0}, {"training", 0}, {"1", 1},   {"1.0", 1},
      {"validation", 1}, {"val", 1}, {"2", 2},     {"2.0", 2},      {"test", 2}};
  const std::string text = absl::AsciiStrToLower(absl::StripAsciiWhitespace(cell));
  for (const auto& [name, split] : kNames) {
    if (text == name) return split;
  }
  return -1;
}

absl::StatusOr<SplitIndices> FixedSplit(const Table& table, const SplitOptions& options) {
  const std::string name = options.column.empty() ? "split" : options.column;
  TRISTAGE_ASSIGN_OR_RETURN(const Column* column, SplitColumn(table, name, SplitType::kFixed));
  SplitIndices split;
  std::vector<int64_t>* const targets[] = {&split.train, &split.validation, &split.test};
  for (int64_t row = 0; row < table.num_rows(); ++row) {
    const int which = column->null(row) ? -1 : FixedSplitOf(column->values[row]);
    if (which < 0) {
      const std::string shown =
          column->null(row) ? "a missing value" : absl::StrCat("'", column->values[row], "'");
      return absl::InvalidArgumentError(absl::StrCat("split column '", name, "': row ", row,
                                                     " has ", shown, " (expected 0, 1 or 2)"));
    }
    targets[which]->push_back(row);
  }
  return split;
}

}  // namespace

absl::StatusOr<SplitType> ParseSplitType(absl::string_view name) {
  std::vector<std::string> names;
  for (const SplitTypeName& entry : kSplitTypes) {
    if (name == entry.name) return entry.type;
    names.push_back(entry.name);
  }
  return absl::InvalidArgumentError(absl::StrCat("unknown split type '", name,
                                                 "'; expected one of: ", absl::StrJoin(names, ", "),
                                                 DidYouMean(name, names)));
}

absl::StatusOr<SplitIndices> SplitTable(const Table& table, const SplitOptions& options) {
  TRISTAGE_RETURN_IF_ERROR(CheckProbabilities(options.probabilities));
  if (table.num_rows() == 0) return SplitIndices{};
  switch (options.type) {
    case SplitType::kRandom: return RandomSplit(table, options);
    case SplitType::kFixed: return FixedSplit(table, options);
    case SplitType::kStratify: return StratifiedSplit(table, options);
    case SplitType::kHash: return HashSplit(table, options);
  }
  return absl::InvalidArgumentError(
      absl::StrCat("unknown split type ", static_cast<int>(options.type)));
}

absl::StatusOr<std::vector<Fold>> KfoldSplit(int64_t num_rows, int64_t num_folds, uint64_t seed) {
  if (num_folds < 2) {
    return absl::InvalidArgumentError(
        absl::StrCat("k-fold cross validation needs at least 2 folds, not ", num_folds));
  }
  if (num_folds > num_rows) {
    return absl::InvalidArgumentError(absl::StrCat("k-fold cross validation cannot cut ", num_rows,
                                                   " rows into ", num_folds, " folds"));
  }
  std::vector<int64_t> rows(num_rows);
  std::iota(rows.begin(), rows.end(), 0);
  std::mt19937_64 rng(seed);
  Shuffle(&rows, &rng);
  // fold_of[row]: the fold that tests on `row`.
  std::vector<int64_t> fold_of(num_rows);
  int64_t start = 0;
  for (int64_t fold = 0; fold < num_folds; ++fold) {
    const int64_t size = num_rows / num_folds + (fold < num_rows % num_folds ? 1 : 0);
    for (int64_t i = start; i < start + size; ++i) fold_of[rows[i]] = fold;
    start += size;
  }
  std::vector<Fold> folds(num_folds);
  for (int64_t row = 0; row < num_rows; ++row) {
    for (int64_t fold = 0; fold < num_folds; ++fold) {
      (fold == fold_of[row] ? folds[fold].test : folds[fold].training).push_back(row);
    }
  }
  return folds;
}

}  // namespace tristage::data
