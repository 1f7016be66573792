// ServingConfig: how one model is served, from the optional serving.yaml in its model directory
// (<repository>/<model>/serving.yaml, for every version) or a version directory (overrides).
//
//   preprocessor:  {device: cpu, instances: 1}      each stage: its device and worker threads
//   predictor:     {device: cuda:0, instances: 1}
//   postprocessor: {device: cpu, instances: 1}
//   predictor: {remote: {address: predictor:8001, model: churn_predictor, version: "",
//               timeout_ms: 30000, tls: false, tls_ca: FILE, tls_cert: FILE, tls_key: FILE,
//               token_file: FILE}}      the predictor served by another tristage-server (a
//                                   predictor-only export there); pre/postprocessing stay here
//   max_batch_size: 64              rows per batch (a request with more rows is split in batches)
//   max_request_rows: 4096          rows per request; more is INVALID_ARGUMENT
//   max_queue_delay_us: 0           how long a lone request waits for batch-mates (Triton's
//                                   default 0: what queued while the stage was busy is batched)
//   preferred_batch_sizes: [16, 64] dispatch at once on reaching one of these
//   max_queue_size: 1024            requests waiting; beyond it RESOURCE_EXHAUSTED
//   default_timeout_ms: 0           per-request timeout when the client sets no deadline (0: none)
//   max_cell_bytes: 65536           longest string cell accepted (any feature); a longer one is
//                                   INVALID_ARGUMENT naming the feature, before any work is done
//   version_policy: {latest: 1} | {all: true} | {specific: [1, 3]}
//   fused: false                    true: one pool (the preprocessor's threads) runs the three
//                                   stages back to back per batch, no pipelining (for comparison)
//
// Unknown keys and wrong types are errors naming the file and key. Torch-free.
#ifndef TRISTAGE_SERVER_SERVING_SERVING_CONFIG_H_
#define TRISTAGE_SERVER_SERVING_SERVING_CONFIG_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace tristage::server {

// A stage served by another tristage-server (the predictor only): the batch's predictor tensors
// go to `model` there over KServe v2 ModelInfer and its outputs come back.
struct RemoteStageConfig {
  std::string address;         // HOST:PORT of the remote's gRPC port; empty: the stage runs here
  std::string model;           // a predictor-only (--model_only) export served there
  std::string version;         // "" for its latest
  int64_t timeout_ms = 30000;  // per batch, when its requests have no earlier deadline
  // TLS to the remote: a CA bundle to verify it (empty with `tls: false`: plaintext), and a client
  // certificate and key for mTLS.
  bool tls = false;
  std::string tls_ca;
  std::string tls_cert;
  std::string tls_key;
  std::string token_file;  // a bearer token sent as authorization metadata, when set
};

struct StageConfig {
  std::string device = "cpu";
  int instances = 1;
  RemoteStageConfig remote;  // predictor only
};

struct VersionPolicy {
  enum class Kind { kLatest, kAll, kSpecific };
  Kind kind = Kind::kLatest;
  int latest = 1;
  std::vector<int64_t> specific;
};

struct ServingConfig {
  StageConfig preprocessor;
  StageConfig predictor;
  StageConfig postprocessor;
  int64_t max_batch_size = 64;
  // A request with more rows than max_batch_size is split into batches inside the daemon and
  // answered whole; beyond this many rows it is refused.
  int64_t max_request_rows = 4096;
  int64_t max_queue_delay_us = 0;
  std::vector<int64_t> preferred_batch_sizes;
  int64_t max_queue_size = 1024;
  int64_t default_timeout_ms = 0;
  // Bounds the work one cell can cause (a text cell is tokenized, lowercased and copied a few
  // times by the preprocessor). 64 KiB is tens of thousands of words, more than any text feature
  // keeps (max_sequence_length), and far below the message limit.
  int64_t max_cell_bytes = 64 * 1024;
  VersionPolicy version_policy;
  bool fused = false;
};

// Parses YAML text into `base` (keys absent keep base's values). `source` names the file in errors.
absl::StatusOr<ServingConfig> ParseServingConfig(const std::string& yaml, const std::string& source,
                                                 ServingConfig base = {});

// `base` overlaid with `path` when the file exists.
absl::StatusOr<ServingConfig> LoadServingConfig(const std::string& path, ServingConfig base = {});

// The versions of `available` (ascending) the policy selects.
std::vector<int64_t> SelectVersions(const VersionPolicy& policy, std::vector<int64_t> available);

}  // namespace tristage::server

#endif  // TRISTAGE_SERVER_SERVING_SERVING_CONFIG_H_
