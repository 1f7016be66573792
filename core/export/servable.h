// Servable: a loaded export as the daemon sees it, without torch. Its three stages are steps on an
// opaque batch:
//
//   Preprocess(columns)  request columns (already concatenated, rows in request order) -> a batch
//                        holding the predictor's input tensors on the preprocessor's device
//   Predict(batch)       the trained module on the predictor's device; outputs back on the host
//   Postprocess(batch)   the postprocessor on its device, decoded into torch-free OutputMap
//
// then SliceOutputs (values.h) splits the answer per request. Device placement, TorchScript values
// and decoding stay behind this interface (servable.cc and the internal stage steps); the daemon
// only sees batches, so a fake servable tests everything around it, and a later stage can run in
// another process behind the same three calls.
//
// Thread safety: the steps may run concurrently on different batches; a batch is used by one
// thread at a time.
#ifndef TRISTAGE_CORE_EXPORT_SERVABLE_H_
#define TRISTAGE_CORE_EXPORT_SERVABLE_H_

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "core/export/manifest.h"
#include "core/export/values.h"

namespace tristage::exporting {

// A batch between steps; what it holds is the servable's business.
class ServableBatch {
 public:
  virtual ~ServableBatch() = default;
  // The latest deadline of the batch's requests (set by the pipeline before Predict): a step that
  // calls out (a remote predictor) gives up by then.
  absl::Time deadline = absl::InfiniteFuture();
};

class Servable {
 public:
  virtual ~Servable() = default;

  virtual const Manifest& manifest() const = 0;

  // InvalidArgument naming the feature (and row) when a column cannot be preprocessed.
  virtual absl::StatusOr<std::unique_ptr<ServableBatch>> Preprocess(
      const InputColumns& columns) const = 0;
  // Internal (with the stage's message) when the predictor fails.
  virtual absl::Status Predict(ServableBatch& batch) const = 0;
  // The batch's outputs decoded for the manifest's outputs; the batch is spent.
  virtual absl::StatusOr<OutputMap> Postprocess(ServableBatch& batch) const = 0;

  // For a predictor served elsewhere (server/rpc/remote_predictor.h): the batch's predictor inputs
  // once preprocessed, as raw tensors named as the predictor's inputs; and the predictor's raw
  // outputs put into the batch in place of Predict, ready for Postprocess. InvalidArgument naming
  // the tensor when an output is missing or malformed. Unimplemented for servables without
  // tensors.
  virtual absl::StatusOr<RawTensors> PredictorInputs(const ServableBatch& batch) const;
  virtual absl::Status SetPredictorOutputs(ServableBatch& batch, const RawTensors& outputs) const;

  // Runs one row of empty cells (missing values) through the steps twice, so that a first request
  // does not pay for TorchScript's profiling runs. A model whose inputs cannot be missing
  // (drop_row) refuses it: the error is returned, and the servable works as before.
  virtual absl::Status WarmUp() const;
};

// Where each stage runs: "cpu", "cuda" or "cuda:N"; the predictor's empty means the manifest's.
struct ServableDevices {
  std::string preprocessor = "cpu";
  std::string predictor;
  std::string postprocessor = "cpu";
};

// Loads the export in `directory` (manifest.json and the three stage files) on `devices`.
// NotFound / InvalidArgument / FailedPrecondition naming the directory and file: no export, a
// truncated or foreign stage, a device that is not there.
// A --model_only export (the predictor alone) loads as a tensor model: its inputs are numeric
// columns in rows of the predictor inputs' sizes (manifest inputs' dtype and shape), Preprocess
// only shapes them into tensors, and Postprocess answers one OutputValues of type "tensor" per
// output feature holding the predictor's raw outputs ("logits", "probabilities", ...). That is
// what a front's remote predictor stage sends and reads back.
absl::StatusOr<std::unique_ptr<Servable>> LoadServable(const std::string& directory,
                                                       const ServableDevices& devices);

}  // namespace tristage::exporting

#endif  // TRISTAGE_CORE_EXPORT_SERVABLE_H_
