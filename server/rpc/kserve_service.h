// KServeService: inference.GRPCInferenceService (KServe v2 / Open Inference Protocol, plus Triton's
// repository and statistics extensions) over the same model pipelines as tristage.v1.Inference.
//
// Tensors: one input per input feature, named as the feature: BYTES (strings, any feature type)
// or FP32/FP64/INT32/INT64/BOOL/UINT* (number, binary; vector as [rows, size]), shape [rows] or
// [rows, 1]; in `contents` or `raw_input_contents` (BYTES raw elements are 4-byte little-endian
// lengths followed by the bytes, as Triton sends them). Outputs, named "<feature>::predictions",
// "::probabilities", "::probability": BYTES for class names (set: the items joined by spaces), FP32
// for numbers and probabilities; returned in raw_output_contents, as Triton does.
//
// Thread safety: safe for concurrent calls; holds only the (thread-safe) model manager.
#ifndef TRISTAGE_SERVER_RPC_KSERVE_SERVICE_H_
#define TRISTAGE_SERVER_RPC_KSERVE_SERVICE_H_

#include "inference/grpc_service.grpc.pb.h"
#include "server/rpc/decode.h"
#include "server/rpc/drain.h"
#include "server/serving/model_manager.h"

namespace tristage::server {

// InputsFromInferRequest (the request's tensors as pipeline columns) is in rpc/decode.h.

// Pipeline outputs as the response's tensors (all, or the requested ones).
absl::Status OutputsToInferResponse(const exporting::OutputMap& outputs,
                                    const inference::ModelInferRequest& request,
                                    inference::ModelInferResponse& response);

// The answers the gRPC service below and the REST binding (server/http) both give.
void KServeServerMetadata(inference::ServerMetadataResponse& response);
// Whether a version of `name` ("" version: the latest) is ready; NotFound / InvalidArgument for
// a model or version the repository does not have or a malformed version.
absl::StatusOr<bool> KServeModelReady(ModelManager& models, const std::string& name,
                                      const std::string& version);
absl::Status KServeModelMetadata(ModelManager& models, const std::string& name,
                                 const std::string& version,
                                 inference::ModelMetadataResponse& response);
// Every loaded version's statistics, or those of `name` (and `version`) when given.
absl::Status KServeModelStatistics(ModelManager& models, const std::string& name,
                                   const std::string& version,
                                   inference::ModelStatisticsResponse& response);
// Loaded versions and their states; unless `ready_only`, also repository models not loaded.
void KServeRepositoryIndex(ModelManager& models, bool ready_only,
                           inference::RepositoryIndexResponse& response);

// ModelInfer takes its body as raw bytes and parses it itself (rpc/wire.h), so that a body that
// is not a ModelInferRequest is INVALID_ARGUMENT, not gRPC's UNIMPLEMENTED.
class KServeService final
    : public inference::GRPCInferenceService::WithRawCallbackMethod_ModelInfer<
          inference::GRPCInferenceService::CallbackService> {
 public:
  // `auth_token`: required on the repository RPCs when not empty (rpc/auth.h).
  // `drain` (not owned, outlives the service): ModelInfer holds a Drain::Call while it works and
  // is UNAVAILABLE once the server drains (rpc/drain.h).
  KServeService(ModelManager* models, Drain* drain, std::string auth_token)
      : models_(models), drain_(drain), auth_token_(std::move(auth_token)) {}

  grpc::ServerUnaryReactor* ServerLive(grpc::CallbackServerContext* context,
                                       const inference::ServerLiveRequest* request,
                                       inference::ServerLiveResponse* response) override;
  grpc::ServerUnaryReactor* ServerReady(grpc::CallbackServerContext* context,
                                        const inference::ServerReadyRequest* request,
                                        inference::ServerReadyResponse* response) override;
  grpc::ServerUnaryReactor* ModelReady(grpc::CallbackServerContext* context,
                                       const inference::ModelReadyRequest* request,
                                       inference::ModelReadyResponse* response) override;
  grpc::ServerUnaryReactor* ServerMetadata(grpc::CallbackServerContext* context,
                                           const inference::ServerMetadataRequest* request,
                                           inference::ServerMetadataResponse* response) override;
  grpc::ServerUnaryReactor* ModelMetadata(grpc::CallbackServerContext* context,
                                          const inference::ModelMetadataRequest* request,
                                          inference::ModelMetadataResponse* response) override;
  grpc::ServerUnaryReactor* ModelInfer(grpc::CallbackServerContext* context,
                                       const grpc::ByteBuffer* request,
                                       grpc::ByteBuffer* response) override;
  grpc::ServerUnaryReactor* ModelStatistics(grpc::CallbackServerContext* context,
                                            const inference::ModelStatisticsRequest* request,
                                            inference::ModelStatisticsResponse* response) override;
  grpc::ServerUnaryReactor* RepositoryIndex(grpc::CallbackServerContext* context,
                                            const inference::RepositoryIndexRequest* request,
                                            inference::RepositoryIndexResponse* response) override;
  grpc::ServerUnaryReactor* RepositoryModelLoad(
      grpc::CallbackServerContext* context, const inference::RepositoryModelLoadRequest* request,
      inference::RepositoryModelLoadResponse* response) override;
  grpc::ServerUnaryReactor* RepositoryModelUnload(
      grpc::CallbackServerContext* context, const inference::RepositoryModelUnloadRequest* request,
      inference::RepositoryModelUnloadResponse* response) override;

 private:
  ModelManager* const models_;
  Drain* const drain_;
  const std::string auth_token_;
};

}  // namespace tristage::server

#endif  // TRISTAGE_SERVER_RPC_KSERVE_SERVICE_H_
