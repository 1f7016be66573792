#include "server/server.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/platform/system_info.h"
#include "core/util/log.h"
#include "core/util/status_macros.h"
#include "core/version.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/health_check_service_interface.h"
#include "server/http/http_server.h"
#include "server/jobs/job_manager.h"
#include "server/jobs/paths.h"
#include "server/metrics/metrics.h"
#include "server/metrics/serving_metrics.h"
#include "server/rpc/admin_service.h"
#include "server/rpc/inference_service.h"
#include "server/rpc/kserve_service.h"
#include "server/rpc/remote_predictor.h"
#include "server/rpc/wire.h"
#include "server/serving/model_manager.h"

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
  out->set_memory_allocator(system.memory_allocator);
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

absl::StatusOr<std::string> ReadPem(const std::string& path) {
  std::ifstream in(path);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (!in.good() && !in.eof())
    return absl::InvalidArgumentError(absl::StrCat("cannot read ", path));
  if (text.find("-----BEGIN") == std::string::npos) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": not a PEM file"));
  }
  return text;
}

// Plaintext, TLS, or mTLS (a client CA: clients must present a certificate it signed).
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> ServerCredentials(
    const ServerOptions& options) {
  if (options.tls_cert.empty()) return grpc::InsecureServerCredentials();
  grpc::SslServerCredentialsOptions ssl;
  grpc::SslServerCredentialsOptions::PemKeyCertPair pair;
  TRISTAGE_ASSIGN_OR_RETURN(pair.cert_chain, ReadPem(options.tls_cert));
  TRISTAGE_ASSIGN_OR_RETURN(pair.private_key, ReadPem(options.tls_key));
  ssl.pem_key_cert_pairs.push_back(std::move(pair));
  if (!options.tls_client_ca.empty()) {
    TRISTAGE_ASSIGN_OR_RETURN(ssl.pem_root_certs, ReadPem(options.tls_client_ca));
    ssl.client_certificate_request = GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY;
  }
  return grpc::SslServerCredentials(ssl);
}

std::string HostPort(const std::string& host, int port) {
  const bool ipv6 = host.find(':') != std::string::npos && host.front() != '[';
  return ipv6 ? absl::StrCat("[", host, "]:", port) : absl::StrCat(host, ":", port);
}

// How long, at most, open health watches are left to receive NOT_SERVING once the drain is done.
constexpr absl::Duration kWatchGrace = absl::Milliseconds(500);

}  // namespace

Server::Server(ServerOptions options, ServableLoader loader)
    : options_(std::move(options)), loader_(std::move(loader)) {}

absl::StatusOr<std::unique_ptr<Server>> Server::Create(const ServerOptions& options) {
  // Exports as they are, or with the predictor served elsewhere (serving.yaml predictor.remote).
  ServableLoader loader =
      [](const std::string& directory,
         const ServingConfig& config) -> absl::StatusOr<std::unique_ptr<exporting::Servable>> {
    TRISTAGE_ASSIGN_OR_RETURN(std::unique_ptr<exporting::Servable> servable,
                              LoadExportServable(directory, config));
    if (config.predictor.remote.address.empty()) return servable;
    return WithRemotePredictor(std::move(servable), config.predictor.remote);
  };
  return Create(options, std::move(loader));
}

absl::StatusOr<std::unique_ptr<Server>> Server::Create(const ServerOptions& options,
                                                       ServableLoader loader) {
  InstallProtobufLogHandler();
  std::unique_ptr<Server> server(new Server(options, std::move(loader)));
  TRISTAGE_RETURN_IF_ERROR(server->Start());
  return server;
}

absl::Status Server::Start() {
  if (options_.metrics_port >= 0) {
    TRISTAGE_ASSIGN_OR_RETURN(
        metrics_,
        MetricsExporter::Create({options_.bind_address, options_.metrics_port, kTristageVersion}));
  }
  SetComputeThreads(options_.compute_threads);
  TRISTAGE_ASSIGN_OR_RETURN(
      models_, ModelManager::Create({options_.model_repository, options_.model_control_mode,
                                     absl::Seconds(options_.repository_poll_secs), loader_}));
  if (metrics_ != nullptr) {
    metrics_->AddCollectable(std::make_shared<ServingCollector>(models_.get()));
  }
  AdminOptions admin;
  admin.auth_token = options_.auth_token;
  admin.data_root = options_.data_root;
  admin.max_upload_bytes = options_.max_upload_bytes;
  if (!options_.state_dir.empty()) {
    std::error_code ec;
    const std::string self = std::filesystem::read_symlink("/proc/self/exe", ec).string();
    jobs::JobManagerOptions job_options;
    job_options.state_dir = options_.state_dir;
    TRISTAGE_ASSIGN_OR_RETURN(job_options.cli_binary,
                              jobs::FindCliBinary(options_.cli_binary, self));
    job_options.max_concurrent_jobs = options_.max_concurrent_jobs;
    job_options.max_queued_jobs = options_.max_queued_jobs;
    job_options.threads_per_job = options_.job_threads;
    job_options.model_repository = options_.model_repository;
    ModelManager* models = models_.get();
    job_options.load_model = [models](const std::string& model) { return models->Load(model); };
    TRISTAGE_ASSIGN_OR_RETURN(jobs_, jobs::JobManager::Create(std::move(job_options)));
    admin.uploads_dir = (std::filesystem::path(options_.state_dir) / "uploads").string();
  }
  admin_service_ =
      std::make_unique<AdminService>(MakeServerInfo(options_), admin, jobs_.get(), &drain_);
  inference_service_ = std::make_unique<InferenceService>(models_.get(), &drain_);
  kserve_service_ = std::make_unique<KServeService>(models_.get(), &drain_, options_.auth_token);

  // Both are process-wide switches that must precede the builder.
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();

  const std::string address = HostPort(options_.bind_address, options_.grpc_port);
  grpc::ServerBuilder builder;
  // gRPC sets SO_REUSEPORT by default, which would let a second daemon silently share the port.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  TRISTAGE_ASSIGN_OR_RETURN(std::shared_ptr<grpc::ServerCredentials> credentials,
                            ServerCredentials(options_));
  builder.AddListeningPort(address, credentials, &grpc_port_);
  builder.SetMaxReceiveMessageSize(options_.max_message_bytes);
  builder.RegisterService(admin_service_.get());
  {
    // Admin uses gRPC's own parse (the inference methods parse raw bodies themselves).
    std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> factories;
    factories.push_back(BadBodyInterceptorFactory("/tristage.v1.Admin/"));
    builder.experimental().SetInterceptorCreators(std::move(factories));
  }
  builder.RegisterService(inference_service_.get());
  builder.RegisterService(kserve_service_.get());
  grpc_server_ = builder.BuildAndStart();
  if (grpc_server_ == nullptr || grpc_port_ == 0) {
    return absl::UnavailableError(
        absl::StrCat("gRPC: cannot listen on ", address, " (in use, or not a local address)"));
  }
  if (options_.http_port >= 0) {
    http::HttpServerOptions http;
    http.bind_address = options_.bind_address;
    http.port = options_.http_port;
    http.threads = options_.http_threads;
    http.max_body_bytes = static_cast<size_t>(options_.max_message_bytes);
    http.tls_cert = options_.tls_cert;
    http.tls_key = options_.tls_key;
    http.tls_client_ca = options_.tls_client_ca;
    http.auth_token = options_.auth_token;
    TRISTAGE_ASSIGN_OR_RETURN(http_server_, http::HttpServer::Create(http, models_.get(), &drain_));
  }
  grpc::HealthCheckServiceInterface* health = grpc_server_->GetHealthCheckService();
  health->SetServingStatus("", true);
  health->SetServingStatus(tristage::v1::Admin::service_full_name(), true);
  health->SetServingStatus(tristage::v1::Inference::service_full_name(), true);
  health->SetServingStatus(inference::GRPCInferenceService::service_full_name(), true);
  // Per model: SERVING while it has a ready version, kept current through loads, reloads and
  // unloads (Shutdown detaches this before the health service goes).
  models_->SetReadinessListener(
      [health](const std::string& model, bool ready) { health->SetServingStatus(model, ready); });
  return absl::OkStatus();
}

int Server::metrics_port() const {
  return metrics_ == nullptr ? -1 : metrics_->port();
}

int Server::http_port() const {
  return http_server_ == nullptr ? -1 : http_server_->port();
}

void Server::Shutdown(absl::Duration drain_timeout) {
  if (shut_down_) return;
  shut_down_ = true;
  if (models_ != nullptr) models_->SetReadinessListener(nullptr);
  if (grpc_server_ != nullptr) {
    // Marks every service NOT_SERVING and freezes the statuses; REST readiness follows.
    grpc_server_->GetHealthCheckService()->Shutdown();
    drain_.MarkNotReady();
    if (options_.drain_delay_secs > 0) {
      // Load balancers and endpoint controllers see NOT_SERVING and stop routing here; what they
      // still send meanwhile is served. A timer, not a synchronisation: nothing else to wait for.
      TRISTAGE_LOG(Info) << "health: NOT_SERVING; still accepting requests for "
                         << options_.drain_delay_secs << " s (--drain-delay-secs)";
      absl::SleepFor(absl::Seconds(options_.drain_delay_secs));
    }
    TRISTAGE_LOG(Info) << "health: NOT_SERVING; draining in-flight calls for up to "
                       << absl::FormatDuration(drain_timeout);
    const absl::Time deadline = absl::Now() + drain_timeout;
    drain_.Start();
    if (!drain_.WaitIdle(deadline)) {
      TRISTAGE_LOG(Warning) << drain_.in_flight() << " calls still working after "
                            << absl::FormatDuration(drain_timeout) << "; cancelling them";
    }
    // Whatever is left only waits (health watches, idle streams) or is past the timeout. Health
    // watchers get a moment to receive their NOT_SERVING (written by the health service as it
    // shut down), then every remaining call is cancelled.
    const absl::Time cancel_at = std::min(deadline, absl::Now() + kWatchGrace);
    grpc_server_->Shutdown(absl::ToChronoTime(std::max(cancel_at, absl::Now())));
    grpc_server_->Wait();
  }
  const bool was_serving = grpc_server_ != nullptr;
  grpc_server_.reset();
  if (http_server_ != nullptr) http_server_->Stop();
  if (jobs_ != nullptr) jobs_->Shutdown();  // running children are killed; records say why
  if (models_ != nullptr) models_->Shutdown();
  metrics_.reset();
  if (was_serving) TRISTAGE_LOG(Info) << "shutdown complete";
}

Server::~Server() {
  Shutdown(absl::ZeroDuration());
}

}  // namespace tristage::server
