#include "core/preprocessing/cache.h"

#include <torch/serialize.h>

#include <filesystem>
#include <fstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/data/io.h"
#include "core/util/files.h"
#include "core/util/status_macros.h"

namespace tristage::preprocessing {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

// Bump when the tensor layout of any feature type changes, so old caches miss.
constexpr int kCacheFormat = 1;

uint64_t Fnv1a(const std::string& text) {
  uint64_t hash = 14695981039346656037ULL;
  for (unsigned char c : text) {
    hash ^= c;
    hash *= 1099511628211ULL;
  }
  return hash;
}

json FeatureSignature(const json& features) {
  json signature = json::array();
  for (const json& f : features) {
    signature.push_back({{"name", f.value("name", "")},
                         {"type", f.value("type", "")},
                         {"column", f.value("column", "")},
                         {"preprocessing", f.value("preprocessing", json::object())}});
  }
  return signature;
}

const char* const kSplits[] = {"training", "validation", "test"};
constexpr char kKeyEntry[] = "cache_key";  // in the tensor file: the key as bytes

ProcessedSplit& SplitOf(TrainingData& data, int i) {
  return i == 0 ? data.training : i == 1 ? data.validation : data.test;
}
const ProcessedSplit& SplitOf(const TrainingData& data, int i) {
  return i == 0 ? data.training : i == 1 ? data.validation : data.test;
}

// The tensors of `data` (and `key`) as one pickled dictionary.
std::vector<char> PackTensors(const TrainingData& data, const std::string& key) {
  c10::Dict<std::string, torch::Tensor> dict;
  for (int i = 0; i < 3; ++i) {
    const ProcessedSplit& split = SplitOf(data, i);
    dict.insert(absl::StrCat(kSplits[i], "/rows"), torch::tensor(split.rows, torch::kLong));
    for (const auto& [name, t] : split.inputs)
      dict.insert(absl::StrCat(kSplits[i], "/inputs/", name), t);
    for (const auto& [name, t] : split.targets)
      dict.insert(absl::StrCat(kSplits[i], "/targets/", name), t);
  }
  dict.insert(kKeyEntry,
              torch::tensor(std::vector<uint8_t>(key.begin(), key.end()), torch::kUInt8));
  return torch::pickle_save(c10::IValue(dict));
}

// PackTensors' inverse into `data`; false when the bytes are damaged or carry another key.
bool UnpackTensors(const std::vector<char>& bytes, const std::string& key, TrainingData* data) {
  try {
    const c10::impl::GenericDict dict = torch::pickle_load(bytes).toGenericDict();
    // The tensors carry their key too: a writer replacing the files between our two reads must
    // not pair one key's metadata with another key's tensors.
    if (!dict.contains(kKeyEntry)) return false;
    const torch::Tensor stored_key = dict.at(kKeyEntry).toTensor();
    if (std::string(reinterpret_cast<const char*>(stored_key.data_ptr<uint8_t>()),
                    static_cast<size_t>(stored_key.numel())) != key) {
      return false;
    }
    for (const auto& entry : dict) {
      const std::string name = entry.key().toStringRef();
      if (name == kKeyEntry) continue;
      const torch::Tensor tensor = entry.value().toTensor();
      // Keys: "<split>/rows", "<split>/inputs/<feature>", "<split>/targets/<feature>".
      const size_t slash = name.find('/');
      if (slash == std::string::npos) return false;
      const std::string split = name.substr(0, slash), rest = name.substr(slash + 1);
      const int index = split == "training" ? 0 : split == "validation" ? 1 : 2;
      ProcessedSplit& target = SplitOf(*data, index);
      if (rest == "rows") {
        target.rows.assign(tensor.data_ptr<int64_t>(), tensor.data_ptr<int64_t>() + tensor.numel());
        target.num_rows = tensor.numel();
      } else if (rest.rfind("inputs/", 0) == 0) {
        target.inputs[rest.substr(7)] = tensor;
      } else if (rest.rfind("targets/", 0) == 0) {
        target.targets[rest.substr(8)] = tensor;
      }
    }
  } catch (const std::exception&) {
    return false;
  }
  return true;
}

constexpr char kTransferKey[] = "transfer";

}  // namespace

std::string EncodeTrainingData(const TrainingData& data) {
  const std::string metadata = data.metadata.dump();
  const std::vector<char> tensors = PackTensors(data, kTransferKey);
  std::string bytes = absl::StrCat(metadata.size(), "\n", metadata);
  bytes.append(tensors.data(), tensors.size());
  return bytes;
}

absl::StatusOr<TrainingData> DecodeTrainingData(const std::string& bytes) {
  const size_t newline = bytes.find('\n');
  size_t length = 0;
  if (newline == std::string::npos || newline > 20 ||
      !absl::SimpleAtoi(absl::string_view(bytes).substr(0, newline), &length) ||
      length > bytes.size() - newline - 1) {
    return absl::DataLossError("preprocessed data: damaged header");
  }
  TrainingData data;
  data.metadata = json::parse(bytes.substr(newline + 1, length), nullptr, false);
  if (data.metadata.is_discarded()) {
    return absl::DataLossError("preprocessed data: the metadata is not JSON");
  }
  const std::vector<char> tensors(bytes.begin() + static_cast<std::ptrdiff_t>(newline + 1 + length),
                                  bytes.end());
  if (!UnpackTensors(tensors, kTransferKey, &data)) {
    return absl::DataLossError("preprocessed data: damaged tensors");
  }
  return data;
}

absl::StatusOr<std::string> CacheKey(const json& config, const std::vector<std::string>& datasets,
                                     uint64_t seed) {
  json signature = {{"format", kCacheFormat},
                    {"seed", seed},
                    {"inputs", FeatureSignature(config.at("input_features"))},
                    {"outputs", FeatureSignature(config.at("output_features"))},
                    {"preprocessing", config.value("preprocessing", json::object())},
                    {"files", json::array()}};
  for (const std::string& path : datasets) {
    TRISTAGE_ASSIGN_OR_RETURN(std::string checksum, data::FileChecksum(path));
    signature["files"].push_back(checksum);
  }
  return absl::StrFormat("%016x", Fnv1a(signature.dump()));
}

std::string CachePrefix(const std::string& dataset) {
  fs::path path(dataset);
  return (path.parent_path() / path.stem()).string();
}

std::optional<TrainingData> LoadCache(const std::string& prefix, const std::string& key) {
  std::ifstream meta_file(prefix + ".meta.json");
  if (!meta_file) return std::nullopt;
  const json meta = json::parse(meta_file, nullptr, /*allow_exceptions=*/false);
  if (!meta.is_object() || meta.value("cache_key", "") != key) return std::nullopt;
  std::ifstream tensor_file(prefix + ".processed.pt", std::ios::binary);
  if (!tensor_file) return std::nullopt;
  std::vector<char> bytes((std::istreambuf_iterator<char>(tensor_file)), {});
  TrainingData data;
  data.metadata = meta.value("training_set_metadata", json::object());
  if (!UnpackTensors(bytes, key, &data)) return std::nullopt;  // rebuilt, never trusted
  return data;
}

absl::Status SaveCache(const std::string& prefix, const std::string& key,
                       const TrainingData& data) {
  const std::vector<char> bytes = PackTensors(data, key);
  // Tensors first, then the metadata that makes them valid: a crash in between leaves a miss.
  // Each file is written under a name of this process's and renamed into place, so concurrent
  // runs (hyperopt trials, parallel jobs) never read a half-written file.
  TRISTAGE_RETURN_IF_ERROR(
      WriteFileAtomically(prefix + ".processed.pt", absl::string_view(bytes.data(), bytes.size())));
  return WriteFileAtomically(
      prefix + ".meta.json",
      json{{"cache_key", key}, {"training_set_metadata", data.metadata}}.dump(2) + "\n");
}

}  // namespace tristage::preprocessing
