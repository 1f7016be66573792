// RemotePredictor: a Servable whose predictor runs in another tristage-server. Preprocessing and
// postprocessing stay in this process (the local servable's); between them, the batch's predictor
// input tensors go whole to the remote's KServe v2 ModelInfer for `model` (a predictor-only export
// served there as a tensor model), as raw_input_contents, and its raw outputs come back in place
// of the local predictor's (serving.yaml `predictor: {remote: ...}`, serving_config.h).
//
// Deadlines: a call gives up at the batch's latest request deadline, or after timeout_ms when
// that is earlier. Failures name the stage, the address and the model: the remote's UNAVAILABLE
// (connection lost, shutting down) and DEADLINE_EXCEEDED keep their codes; anything else it
// answers (our tensors refused, its errors) is INTERNAL here, since the client's request was
// fine. The channel does not wait for a connection (a lost remote fails at once) and reconnects
// with a backoff capped at 1 s, so a remote that comes back is used again without a restart.
//
// Thread safety: Predict may run concurrently (one gRPC channel, calls multiplexed).
#ifndef TRISTAGE_SERVER_RPC_REMOTE_PREDICTOR_H_
#define TRISTAGE_SERVER_RPC_REMOTE_PREDICTOR_H_

#include <memory>

#include "absl/status/statusor.h"
#include "core/export/servable.h"
#include "server/serving/serving_config.h"

namespace tristage::server {

// Wraps `local` (a full export loaded here; its predictor is not used) so that Predict calls the
// remote. InvalidArgument naming the file when a TLS or token file cannot be read.
absl::StatusOr<std::unique_ptr<exporting::Servable>> WithRemotePredictor(
    std::unique_ptr<exporting::Servable> local, const RemoteStageConfig& remote);

}  // namespace tristage::server

#endif  // TRISTAGE_SERVER_RPC_REMOTE_PREDICTOR_H_
