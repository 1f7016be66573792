#include "client/lib/client.h"

#include "absl/strings/str_cat.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "tristage/v1/admin.grpc.pb.h"
#include "tristage/v1/inference.grpc.pb.h"

namespace tristage::client {
namespace {

absl::Status FromGrpc(const grpc::Status& status, const char* what) {
  if (status.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                      absl::StrCat(what, ": ", status.error_message()));
}

void Prepare(grpc::ClientContext& context, const TristageClient::Options& options) {
  context.set_deadline(absl::ToChronoTime(absl::Now() + options.timeout));
  if (!options.auth_token.empty()) {
    context.AddMetadata("authorization", "Bearer " + options.auth_token);
  }
}

}  // namespace

const char* ServingStatusName(ServingStatus status) {
  switch (status) {
    case ServingStatus::kServing: return "SERVING";
    case ServingStatus::kNotServing: return "NOT_SERVING";
    case ServingStatus::kServiceUnknown: return "SERVICE_UNKNOWN";
    case ServingStatus::kUnknown: break;
  }
  return "UNKNOWN";
}

absl::StatusOr<std::unique_ptr<TristageClient>> TristageClient::Create(const std::string& address,
                                                                       Options options) {
  if (address.empty()) return absl::InvalidArgumentError("server address is empty");
  std::shared_ptr<grpc::ChannelCredentials> credentials = grpc::InsecureChannelCredentials();
  if (!options.tls_root_certs.empty()) {
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = options.tls_root_certs;
    ssl.pem_cert_chain = options.tls_client_cert;
    ssl.pem_private_key = options.tls_client_key;
    credentials = grpc::SslCredentials(ssl);
  }
  auto channel = grpc::CreateChannel(address, credentials);
  return std::unique_ptr<TristageClient>(new TristageClient(std::move(channel), options));
}

TristageClient::TristageClient(std::shared_ptr<grpc::Channel> channel, Options options)
    : channel_(std::move(channel)), options_(options) {}

TristageClient::~TristageClient() = default;

absl::StatusOr<ServingStatus> TristageClient::CheckHealth(const std::string& service) {
  auto stub = grpc::health::v1::Health::NewStub(channel_);
  grpc::ClientContext context;
  Prepare(context, options_);
  grpc::health::v1::HealthCheckRequest request;
  request.set_service(service);
  grpc::health::v1::HealthCheckResponse response;
  const grpc::Status status = stub->Check(&context, request, &response);
  if (!status.ok()) return FromGrpc(status, "health check");
  switch (response.status()) {
    case grpc::health::v1::HealthCheckResponse::SERVING: return ServingStatus::kServing;
    case grpc::health::v1::HealthCheckResponse::NOT_SERVING: return ServingStatus::kNotServing;
    case grpc::health::v1::HealthCheckResponse::SERVICE_UNKNOWN:
      return ServingStatus::kServiceUnknown;
    default: return ServingStatus::kUnknown;
  }
}

absl::StatusOr<tristage::v1::ServerInfo> TristageClient::GetServerInfo() {
  auto stub = tristage::v1::Admin::NewStub(channel_);
  grpc::ClientContext context;
  Prepare(context, options_);
  tristage::v1::ServerInfo info;
  const grpc::Status status = stub->GetServerInfo(&context, {}, &info);
  if (!status.ok()) return FromGrpc(status, "GetServerInfo");
  return info;
}

absl::StatusOr<tristage::v1::PredictResponse> TristageClient::Predict(
    const tristage::v1::PredictRequest& request) {
  auto stub = tristage::v1::Inference::NewStub(channel_);
  grpc::ClientContext context;
  Prepare(context, options_);
  tristage::v1::PredictResponse response;
  const grpc::Status status = stub->Predict(&context, request, &response);
  if (!status.ok()) return FromGrpc(status, "predict");
  return response;
}

absl::StatusOr<tristage::v1::ModelMetadataResponse> TristageClient::ModelMetadata(
    const std::string& model, const std::string& version) {
  auto stub = tristage::v1::Inference::NewStub(channel_);
  grpc::ClientContext context;
  Prepare(context, options_);
  tristage::v1::ModelMetadataRequest request;
  request.set_model_name(model);
  request.set_model_version(version);
  tristage::v1::ModelMetadataResponse response;
  const grpc::Status status = stub->ModelMetadata(&context, request, &response);
  if (!status.ok()) return FromGrpc(status, "model metadata");
  return response;
}

void TristageClient::PredictAsync(
    const tristage::v1::PredictRequest& request,
    std::function<void(absl::StatusOr<tristage::v1::PredictResponse>)> done) {
  // Owns what the call needs until its callback; deleted there.
  struct Call {
    std::unique_ptr<tristage::v1::Inference::Stub> stub;
    grpc::ClientContext context;
    tristage::v1::PredictRequest request;
    tristage::v1::PredictResponse response;
    std::function<void(absl::StatusOr<tristage::v1::PredictResponse>)> done;
  };
  auto* call = new Call;
  call->stub = tristage::v1::Inference::NewStub(channel_);
  call->request = request;
  call->done = std::move(done);
  Prepare(call->context, options_);
  call->stub->async()->Predict(&call->context, &call->request, &call->response,
                               [call](grpc::Status status) {
                                 std::unique_ptr<Call> owned(call);
                                 if (status.ok()) {
                                   owned->done(std::move(owned->response));
                                 } else {
                                   owned->done(FromGrpc(status, "predict"));
                                 }
                               });
}

}  // namespace tristage::client
