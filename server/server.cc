#include "server/server.h"

#include "absl/strings/str_cat.h"
#include "core/platform/system_info.h"
#include "core/util/log.h"
#include "core/util/status_macros.h"
#include "core/version.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/health_check_service_interface.h"
#include "server/metrics/metrics.h"
#include "server/rpc/admin_service.h"

namespace tristage::server {
namespace {

tristage::v1::ServerInfo MakeServerInfo(const ServerOptions& options) {
  const SystemInfo system = CollectSystemInfo();
  tristage::v1::ServerInfo info;
  info.set_version(kTristageVersion);
  info.set_start_time_unix_s(absl::ToUnixSeconds(absl::Now()));
  info.set_model_repository(options.model_repository);
  tristage::v1::SystemInfo* out = info.mutable_system();
  out->set_blas_library(system.blas_library);
  out->set_blas_kind(system.blas_kind);
  out->set_intra_op_threads(system.intra_op_threads);
  out->set_inter_op_threads(system.inter_op_threads);
  out->set_hardware_threads(system.hardware_threads);
  out->set_cuda_available(system.cuda_available);
  out->set_cuda_device_count(system.cuda_device_count);
  for (const auto& [name, version] : system.library_versions) {
    (*out->mutable_library_versions())[name] = version;
  }
  return info;
}

std::string HostPort(const std::string& host, int port) {
  const bool ipv6 = host.find(':') != std::string::npos && host.front() != '[';
  return ipv6 ? absl::StrCat("[", host, "]:", port) : absl::StrCat(host, ":", port);
}

}  // namespace

Server::Server(ServerOptions options) : options_(std::move(options)) {}

absl::StatusOr<std::unique_ptr<Server>> Server::Create(const ServerOptions& options) {
  std::unique_ptr<Server> server(new Server(options));
  TRISTAGE_RETURN_IF_ERROR(server->Start());
  return server;
}

absl::Status Server::Start() {
  if (options_.metrics_port >= 0) {
    TRISTAGE_ASSIGN_OR_RETURN(
        metrics_,
        MetricsExporter::Create({options_.bind_address, options_.metrics_port, kTristageVersion}));
  }
  admin_service_ = std::make_unique<AdminService>(MakeServerInfo(options_));

  // Both are process-wide switches that must precede the builder.
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();

  const std::string address = HostPort(options_.bind_address, options_.grpc_port);
  grpc::ServerBuilder builder;
  // gRPC sets SO_REUSEPORT by default, which would let a second daemon silently share the port.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  builder.AddListeningPort(address, grpc::InsecureServerCredentials(), &grpc_port_);
  builder.RegisterService(admin_service_.get());
  grpc_server_ = builder.BuildAndStart();
  if (grpc_server_ == nullptr || grpc_port_ == 0) {
    return absl::UnavailableError(
        absl::StrCat("gRPC: cannot listen on ", address, " (in use, or not a local address)"));
  }
  grpc::HealthCheckServiceInterface* health = grpc_server_->GetHealthCheckService();
  health->SetServingStatus("", true);
  health->SetServingStatus(tristage::v1::Admin::service_full_name(), true);
  return absl::OkStatus();
}

int Server::metrics_port() const {
  return metrics_ == nullptr ? -1 : metrics_->port();
}

void Server::Shutdown(absl::Duration drain_timeout) {
  if (shut_down_) return;
  shut_down_ = true;
  if (grpc_server_ != nullptr) {
    // Marks every service NOT_SERVING and freezes the statuses.
    grpc_server_->GetHealthCheckService()->Shutdown();
    TRISTAGE_LOG(Info) << "health: NOT_SERVING; draining in-flight calls for up to "
                       << absl::FormatDuration(drain_timeout);
    grpc_server_->Shutdown(absl::ToChronoTime(absl::Now() + drain_timeout));
    grpc_server_->Wait();
  }
  const bool was_serving = grpc_server_ != nullptr;
  grpc_server_.reset();
  metrics_.reset();
  if (was_serving) TRISTAGE_LOG(Info) << "shutdown complete";
}

Server::~Server() {
  Shutdown(absl::ZeroDuration());
}

}  // namespace tristage::server
