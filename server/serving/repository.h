// ModelRepository: what the model repository directory holds (<repository>/<model>/<version>/,
// numeric versions, each an export directory with manifest.json), read from disk on each call.
// No state and no locking: the ModelManager decides what to load; this only looks.
//
// Thread safety: every method from any thread.
#ifndef TRISTAGE_SERVER_SERVING_REPOSITORY_H_
#define TRISTAGE_SERVER_SERVING_REPOSITORY_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "server/serving/serving_config.h"

namespace tristage::server {

class ModelRepository {
 public:
  // `root` empty: an empty repository.
  explicit ModelRepository(std::string root) : root_(std::move(root)) {}

  const std::string& root() const { return root_; }

  // Model directories holding at least one version directory, sorted.
  std::vector<std::string> Models() const;
  // Whether `model` (a checked name) is a directory of the repository.
  bool Has(const std::string& model) const;
  // The numeric version directories of `model` (> 0), ascending.
  std::vector<int64_t> Versions(const std::string& model) const;
  std::string VersionDirectory(const std::string& model, int64_t version) const;
  // <model>/serving.yaml (defaults when absent); errors name the file.
  absl::StatusOr<ServingConfig> ModelConfig(const std::string& model) const;
  // <model>/<version>/serving.yaml over `base`.
  absl::StatusOr<ServingConfig> VersionConfig(const std::string& model, int64_t version,
                                              const ServingConfig& base) const;
  // The export's model_id from its manifest; "" when it cannot be read.
  std::string ModelId(const std::string& model, int64_t version) const;
  // What identifies a version's files on disk: every file's path, size and modification time,
  // and the model's serving.yaml's. A version whose load failed is not retried by the poll until
  // this changes (a corrupt export would otherwise be reloaded, and logged, on every poll).
  std::string Signature(const std::string& model, int64_t version) const;

 private:
  const std::string root_;
};

}  // namespace tristage::server

#endif  // TRISTAGE_SERVER_SERVING_REPOSITORY_H_
