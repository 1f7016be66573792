// The one way the inference services hand a request to a model's pipeline.
#ifndef TRISTAGE_SERVER_RPC_SUBMIT_H_
#define TRISTAGE_SERVER_RPC_SUBMIT_H_

#include <functional>
#include <string>

#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "server/serving/model_manager.h"

namespace tristage::server {

// Submits `inputs` to the ready pipeline of `model` at `version` ("" for the latest), with the
// call's deadline (absl::InfiniteFuture() for none) and cancellation. The gRPC services and the
// HTTP/REST binding (server/http) both submit here. `done` runs exactly once, with the outputs and
// the version that answered, or with the error (from the lookup, admission or the pipeline);
// possibly before SubmitToModel returns, on this thread, when `may_run_inline` and the pipeline is
// idle (unary calls: no thread hand-off). Streams pass false: their reads must not wait for
// compute, or one stream would never fill a batch. `cancelled` tells the pipeline, before each
// stage, whether the client gave up; it must stay callable (and safe) until `done` ran, which a
// stream whose call may end before its queued requests does by checking that the call is still
// there. A version being replaced refuses new work (Unavailable) after the manager already points
// at its successor: one retry lands there.
void SubmitToModel(ModelManager* models, const std::string& model, const std::string& version,
                   const exporting::InputColumns& inputs, absl::Time deadline, bool may_run_inline,
                   std::function<bool()> cancelled,
                   std::function<void(absl::StatusOr<exporting::OutputMap>, int64_t version)> done);

// A gRPC call's deadline as SubmitToModel takes it.
absl::Time CallDeadline(const grpc::ServerContextBase& context);

}  // namespace tristage::server

#endif  // TRISTAGE_SERVER_RPC_SUBMIT_H_
