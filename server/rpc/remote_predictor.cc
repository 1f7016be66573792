#include "server/rpc/remote_predictor.h"

#include <algorithm>
#include <fstream>
#include <string>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "core/util/status_macros.h"
#include "grpcpp/grpcpp.h"
#include "inference/grpc_service.grpc.pb.h"

namespace tristage::server {
namespace {

absl::StatusOr<std::string> ReadFile(const std::string& field, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::InvalidArgumentError(
        absl::StrCat("predictor.remote.", field, ": cannot read '", path, "'"));
  }
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

class RemotePredictor final : public exporting::Servable {
 public:
  RemotePredictor(std::unique_ptr<exporting::Servable> local, RemoteStageConfig remote,
                  std::shared_ptr<grpc::Channel> channel, std::string token)
      : local_(std::move(local)),
        remote_(std::move(remote)),
        stub_(inference::GRPCInferenceService::NewStub(std::move(channel))),
        token_(std::move(token)),
        where_(absl::StrCat("predictor stage at ", remote_.address, " (model '", remote_.model,
                            "')")) {}

  const exporting::Manifest& manifest() const override { return local_->manifest(); }

  absl::StatusOr<std::unique_ptr<exporting::ServableBatch>> Preprocess(
      const exporting::InputColumns& columns) const override {
    return local_->Preprocess(columns);
  }

  absl::Status Predict(exporting::ServableBatch& batch) const override {
    TRISTAGE_ASSIGN_OR_RETURN(exporting::RawTensors inputs, local_->PredictorInputs(batch));
    inference::ModelInferRequest request;
    request.set_model_name(remote_.model);
    request.set_model_version(remote_.version);
    for (exporting::RawTensor& tensor : inputs) {
      auto* input = request.add_inputs();
      input->set_name(tensor.name);
      input->set_datatype(tensor.datatype);
      input->mutable_shape()->Add(tensor.shape.begin(), tensor.shape.end());
      request.add_raw_input_contents(std::move(tensor.data));
    }
    grpc::ClientContext context;
    const absl::Time deadline =
        std::min(batch.deadline, absl::Now() + absl::Milliseconds(remote_.timeout_ms));
    context.set_deadline(absl::ToChronoTime(deadline));
    context.set_wait_for_ready(false);  // a lost remote fails at once (UNAVAILABLE)
    if (!token_.empty()) context.AddMetadata("authorization", "Bearer " + token_);
    inference::ModelInferResponse response;
    const grpc::Status status = stub_->ModelInfer(&context, request, &response);
    if (!status.ok()) {
      const std::string message = absl::StrCat(where_, ": ", status.error_message());
      switch (status.error_code()) {
        case grpc::StatusCode::UNAVAILABLE: return absl::UnavailableError(message);
        case grpc::StatusCode::DEADLINE_EXCEEDED: return absl::DeadlineExceededError(message);
        case grpc::StatusCode::CANCELLED: return absl::CancelledError(message);
        default:
          return absl::InternalError(
              absl::StrCat(message, " (", static_cast<int>(status.error_code()), ")"));
      }
    }
    if (response.raw_output_contents_size() != response.outputs_size()) {
      return absl::InternalError(absl::StrCat(where_, ": answered ", response.outputs_size(),
                                              " outputs with ", response.raw_output_contents_size(),
                                              " raw contents"));
    }
    exporting::RawTensors outputs;
    for (int i = 0; i < response.outputs_size(); ++i) {
      exporting::RawTensor tensor;
      tensor.name = response.outputs(i).name();
      tensor.datatype = response.outputs(i).datatype();
      tensor.shape.assign(response.outputs(i).shape().begin(), response.outputs(i).shape().end());
      tensor.data = std::move(*response.mutable_raw_output_contents(i));
      outputs.push_back(std::move(tensor));
    }
    absl::Status set = local_->SetPredictorOutputs(batch, outputs);
    if (!set.ok()) return absl::InternalError(absl::StrCat(where_, ": ", set.message()));
    return absl::OkStatus();
  }

  absl::StatusOr<exporting::OutputMap> Postprocess(exporting::ServableBatch& batch) const override {
    return local_->Postprocess(batch);
  }

  // The local stages only: the remote may not be up yet when this loads, and is warmed by its own
  // daemon.
  absl::Status WarmUp() const override { return local_->WarmUp(); }

 private:
  const std::unique_ptr<exporting::Servable> local_;
  const RemoteStageConfig remote_;
  const std::unique_ptr<inference::GRPCInferenceService::Stub> stub_;
  const std::string token_;
  const std::string where_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<exporting::Servable>> WithRemotePredictor(
    std::unique_ptr<exporting::Servable> local, const RemoteStageConfig& remote) {
  std::shared_ptr<grpc::ChannelCredentials> credentials = grpc::InsecureChannelCredentials();
  if (remote.tls || !remote.tls_ca.empty() || !remote.tls_cert.empty()) {
    grpc::SslCredentialsOptions ssl;
    if (!remote.tls_ca.empty()) {
      TRISTAGE_ASSIGN_OR_RETURN(ssl.pem_root_certs, ReadFile("tls_ca", remote.tls_ca));
    }
    if (!remote.tls_cert.empty()) {
      TRISTAGE_ASSIGN_OR_RETURN(ssl.pem_cert_chain, ReadFile("tls_cert", remote.tls_cert));
      TRISTAGE_ASSIGN_OR_RETURN(ssl.pem_private_key, ReadFile("tls_key", remote.tls_key));
    }
    credentials = grpc::SslCredentials(ssl);
  }
  std::string token;
  if (!remote.token_file.empty()) {
    TRISTAGE_ASSIGN_OR_RETURN(token, ReadFile("token_file", remote.token_file));
    token = std::string(absl::StripAsciiWhitespace(token));
  }
  grpc::ChannelArguments arguments;
  arguments.SetMaxReceiveMessageSize(-1);
  arguments.SetMaxSendMessageSize(-1);
  // Reconnect quickly once the remote is back (gRPC's default backoff grows to 120 s).
  arguments.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  arguments.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 100);
  arguments.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
  // Every address the name resolves to is used in turn: with a headless Kubernetes Service in
  // front of several predictor pods (`dns:///predictor-headless:8001`), batches spread over all of
  // them instead of riding one connection.
  arguments.SetLoadBalancingPolicyName("round_robin");
  auto channel = grpc::CreateCustomChannel(remote.address, credentials, arguments);
  return std::make_unique<RemotePredictor>(std::move(local), remote, std::move(channel),
                                           std::move(token));
}

}  // namespace tristage::server
