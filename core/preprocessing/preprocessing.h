// Preprocessing: raw tables in, tensors out, with training-set metadata fitted on the way.
//
// For training (BuildTrainingData): split the dataset (or take the given splits), drop rows that a
// drop_row feature finds missing, compute each feature's fill value and metadata on the training
// split, fill missing values everywhere with those, and transform every split to tensors.
// For evaluation and prediction (TransformTable): apply stored metadata to a new table exactly as
// training did. Metadata is Ludwig's training_set_metadata.json: feature name -> its metadata,
// plus "computed_fill_value" where a fill value was computed.
//
// Internal to core; includes torch.
#ifndef TRISTAGE_CORE_PREPROCESSING_PREPROCESSING_H_
#define TRISTAGE_CORE_PREPROCESSING_PREPROCESSING_H_

#include <torch/types.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/data/table.h"
#include "nlohmann/json.hpp"

namespace tristage::preprocessing {

using TensorMap = std::map<std::string, torch::Tensor>;

// One split as the model sees it. `rows` maps each tensor row to its row in the source table.
struct ProcessedSplit {
  int64_t num_rows = 0;
  TensorMap inputs;   // input feature name -> tensor
  TensorMap targets;  // output feature name -> tensor (absent when the table had no targets)
  std::vector<int64_t> rows;
};

struct TrainingData {
  ProcessedSplit training;
  ProcessedSplit validation;
  ProcessedSplit test;
  nlohmann::json metadata;
};

struct DatasetSplits {
  data::Table training;
  std::optional<data::Table> validation;
  std::optional<data::Table> test;
};

// Ludwig's preprocessing.sample_ratio and sample_size: a seeded sample of `table`'s rows (kept in
// their order), or the table itself. InvalidArgument when the ratio leaves no row.
absl::StatusOr<data::Table> SampleRows(const nlohmann::json& config, const data::Table& table,
                                       uint64_t seed);

// Ludwig's preprocessing.oversample_minority / undersample_majority on a training table (one
// binary output, checked when the config was resolved): the minority class drawn with replacement
// up to ratio x the majority's rows, or the majority drawn without replacement down to the
// minority's rows / ratio; rows of other values (missing targets) are dropped, as Ludwig's
// concatenation of the two classes does. The table itself when neither is set.
absl::StatusOr<data::Table> BalanceClasses(const nlohmann::json& config, const data::Table& table,
                                           uint64_t seed);

// Samples (SampleRows), splits one table by the config's preprocessing.split with `seed`, then
// balances the training split (BalanceClasses).
absl::StatusOr<DatasetSplits> SplitDataset(const nlohmann::json& config, const data::Table& table,
                                           uint64_t seed);

// Fits metadata on splits.training and transforms all splits. Errors name the feature/column.
absl::StatusOr<TrainingData> BuildTrainingData(const nlohmann::json& config,
                                               const DatasetSplits& splits);

// Applies fitted metadata to `table`. Targets are transformed when `with_targets`; then every
// output column must be present. Rows an output feature would drop (drop_row) are dropped only
// when targets are included; input features fill as trained.
absl::StatusOr<ProcessedSplit> TransformTable(const nlohmann::json& config,
                                              const nlohmann::json& metadata,
                                              const data::Table& table, bool with_targets);

// Rows [begin, end) of every tensor of a split (in order).
ProcessedSplit Slice(const ProcessedSplit& split, int64_t begin, int64_t end);

}  // namespace tristage::preprocessing

#endif  // TRISTAGE_CORE_PREPROCESSING_PREPROCESSING_H_
