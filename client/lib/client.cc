#include "client/lib/client.h"

#include "absl/strings/str_cat.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "tristage/v1/admin.grpc.pb.h"

namespace tristage::client {
namespace {

absl::Status FromGrpc(const grpc::Status& status, const char* what) {
  if (status.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                      absl::StrCat(what, ": ", status.error_message()));
}

void SetDeadline(grpc::ClientContext& context, absl::Duration timeout) {
  context.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
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
  auto channel = grpc::CreateChannel(address, grpc::InsecureChannelCredentials());
  return std::unique_ptr<TristageClient>(new TristageClient(std::move(channel), options));
}

TristageClient::TristageClient(std::shared_ptr<grpc::Channel> channel, Options options)
    : channel_(std::move(channel)), options_(options) {}

TristageClient::~TristageClient() = default;

absl::StatusOr<ServingStatus> TristageClient::CheckHealth(const std::string& service) {
  auto stub = grpc::health::v1::Health::NewStub(channel_);
  grpc::ClientContext context;
  SetDeadline(context, options_.timeout);
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
  SetDeadline(context, options_.timeout);
  tristage::v1::ServerInfo info;
  const grpc::Status status = stub->GetServerInfo(&context, {}, &info);
  if (!status.ok()) return FromGrpc(status, "GetServerInfo");
  return info;
}

}  // namespace tristage::client
