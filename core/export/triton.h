// `tristage export_triton` (Ludwig's export_triton): a Triton Inference Server model repository
// whose model is a trained model's predictor stage, for Triton's PyTorch (LibTorch) backend:
//
//   <output_path>/<model_name>/config.pbtxt        platform pytorch_libtorch, max_batch_size,
//                                                  input/output names, data types and dims,
//                                                  dynamic_batching (when batching),
//                                                  instance_group
//   <output_path>/<model_name>/<version>/model.pt  the predictor behind a wrapper Triton can call:
//                                                  forward(Dict[str, Tensor]) -> Tuple[Tensor, ...]
//   <output_path>/<model_name>/<version>/...       a whole tristage export (manifest.json, the
//                                                  three stage files, the model's JSON files) that
//                                                  Triton ignores and a tristage front serves with
//                                                  its predictor stage remote
//
// Names line up with the tristage stages: the inputs are the predictor's input tensors (keys of
// its Dict[str, Tensor], named as the input features), the outputs its "<feature>::<what>"
// tensors. Triton's backend passes a lone Dict[str, Tensor] argument keyed by the config's input
// names, but cannot return a dict: the wrapper returns the outputs as a tuple in the config's
// order, and names without "__<index>" make the backend match them by that order (Triton 22.06
// or later). docs/export.md has the details.
//
// Torch-free; the TorchScript work is in triton.cc. Thread safety: a function of its arguments
// (the module's stages may be running elsewhere meanwhile).
#ifndef TRISTAGE_CORE_EXPORT_TRITON_H_
#define TRISTAGE_CORE_EXPORT_TRITON_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/export/inference.h"
#include "core/export/triton_config.h"

namespace tristage::exporting {

inline constexpr char kTritonModelFile[] = "model.pt";
inline constexpr char kTritonConfigFile[] = "config.pbtxt";

struct TritonExportOptions {
  std::string output_path;                  // the repository's root; created when missing
  std::string model_name = "ludwig_model";  // Ludwig's default; a name (core/util/names.h)
  int64_t model_version = 1;                // >= 1 (Triton ignores 0 and leading zeros)
  // "cpu" or "cuda": the instance_group kind (KIND_CPU, KIND_GPU). model.pt is written with its
  // weights on the CPU either way; Triton maps it onto each instance's device when loading.
  std::string device = "cpu";
  // Rows Triton's dynamic batcher may put in one call. 0: Triton does not batch, and the dims
  // carry the rows as -1, so the tensors on the wire have exactly the tristage predictor's shapes
  // (what a tristage front's remote predictor stage sends); with batching, a [rows] tensor
  // travels as [rows, 1] (dims [1], reshape []).
  int32_t max_batch_size = 64;
  uint64_t max_queue_delay_microseconds = 0;  // with max_batch_size > 0
};

struct TritonExport {
  std::string model_directory;    // <output_path>/<model_name>
  std::string version_directory;  // <model_directory>/<model_version>
  TritonModelConfig config;       // what config.pbtxt says
};

// Checks `options` before any work: InvalidArgument starting with the flag's name ("--model_name
// ...", "--model_version ...", "--max_batch_size ...", "--device ...", "--output_path ...") for a
// bad value; FailedPrecondition when the output path or the model directory is a file, or the
// version directory exists and is not empty (AlreadyExists).
absl::Status CheckTritonExport(const TritonExportOptions& options);

// Writes the repository above for `module` (Model::ToTorchscript's, on the CPU). The version
// directory is written under a temporary name and renamed into place, so Triton polling the
// repository never sees half of it. An existing config.pbtxt that says something else is
// FailedPrecondition (Triton applies one config to every version of a model). The predictor is
// run once on a batch of zeros to learn its outputs' names, types and shapes, and the wrapper is
// checked to give the same tensors.
absl::StatusOr<TritonExport> ExportTriton(const InferenceModule& module,
                                          const TritonExportOptions& options);

}  // namespace tristage::exporting

#endif  // TRISTAGE_CORE_EXPORT_TRITON_H_
