// InferenceService: tristage.v1.Inference over gRPC's callback API. Predict converts the columnar
// request, submits it to the model version's pipeline and finishes the call from the pipeline's
// postprocessor thread; handlers never block.
//
// Thread safety: safe for concurrent calls; holds only the (thread-safe) model manager.
#ifndef TRISTAGE_SERVER_RPC_INFERENCE_SERVICE_H_
#define TRISTAGE_SERVER_RPC_INFERENCE_SERVICE_H_

#include "server/rpc/decode.h"
#include "server/rpc/drain.h"
#include "server/serving/model_manager.h"
#include "tristage/v1/inference.grpc.pb.h"

namespace tristage::server {

// InputsFromProto (a PredictRequest's columns for the pipeline) is in rpc/decode.h.

// A pipeline's outputs as a PredictResponse's `outputs` (all, or those `wanted` names).
absl::Status OutputsToProto(const exporting::OutputMap& outputs,
                            const google::protobuf::RepeatedPtrField<std::string>& wanted,
                            tristage::v1::PredictResponse& response);

// Predict takes its body as raw bytes and parses it itself (rpc/wire.h), so that a body that is
// not a PredictRequest is INVALID_ARGUMENT, not gRPC's UNIMPLEMENTED.
class InferenceService final
    : public tristage::v1::Inference::WithRawCallbackMethod_Predict<
          tristage::v1::Inference::CallbackService> {
 public:
  // `drain` (not owned, outlives the service): calls hold a Drain::Call while they work; once it
  // drains, new calls are UNAVAILABLE and streams stop reading, answer what they accepted and end
  // with UNAVAILABLE.
  InferenceService(ModelManager* models, Drain* drain) : models_(models), drain_(drain) {}

  grpc::ServerUnaryReactor* Predict(grpc::CallbackServerContext* context,
                                    const grpc::ByteBuffer* request,
                                    grpc::ByteBuffer* response) override;
  // Requests are submitted as they arrive (up to 64 outstanding per stream, then reading
  // pauses); responses are written in request order; a failed request ends the stream with its
  // status after the responses before it.
  grpc::ServerBidiReactor<tristage::v1::PredictRequest, tristage::v1::PredictResponse>*
  PredictStream(grpc::CallbackServerContext* context) override;
  grpc::ServerUnaryReactor* ModelMetadata(grpc::CallbackServerContext* context,
                                          const tristage::v1::ModelMetadataRequest* request,
                                          tristage::v1::ModelMetadataResponse* response) override;

 private:
  ModelManager* const models_;
  Drain* const drain_;
};

}  // namespace tristage::server

#endif  // TRISTAGE_SERVER_RPC_INFERENCE_SERVICE_H_
