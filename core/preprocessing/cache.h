// The preprocessed-data cache (Ludwig's `<dataset>.meta.json` idea): training data as tensors plus
// its training-set metadata, stored beside the dataset and reused when the same data is trained on
// with the same preprocessing.
//
// Files, for a dataset `dir/name.csv`: `dir/name.meta.json` ({cache_key, training_set_metadata})
// and `dir/name.processed.pt` (the tensors). The key hashes the content of every dataset file, the
// features' names, types, columns and preprocessing sections, the global preprocessing section
// (split) and the random seed, so any change that could change the tensors misses the cache.
// A cache that cannot be read or written is not an error: training preprocesses as usual.
#ifndef TRISTAGE_CORE_PREPROCESSING_CACHE_H_
#define TRISTAGE_CORE_PREPROCESSING_CACHE_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/preprocessing/preprocessing.h"

namespace tristage::preprocessing {

// `datasets` are the data files in use (the single dataset, or the training, validation and test
// sets). Errors: the files' checksums cannot be computed.
absl::StatusOr<std::string> CacheKey(const nlohmann::json& config,
                                     const std::vector<std::string>& datasets, uint64_t seed);

// The path prefix of the cache files for a dataset file: "dir/name" for "dir/name.csv".
std::string CachePrefix(const std::string& dataset);

// The cached data when the files exist and carry `key`; nullopt otherwise.
std::optional<TrainingData> LoadCache(const std::string& prefix, const std::string& key);

// The training data as bytes (metadata and tensors) and back, for rank 0 to send its preprocessed
// data to the other workers of a distributed run. DataLoss for damaged bytes.
std::string EncodeTrainingData(const TrainingData& data);
absl::StatusOr<TrainingData> DecodeTrainingData(const std::string& bytes);

// Writes the cache files (replacing older ones).
absl::Status SaveCache(const std::string& prefix, const std::string& key, const TrainingData& data);

}  // namespace tristage::preprocessing

#endif  // TRISTAGE_CORE_PREPROCESSING_CACHE_H_
