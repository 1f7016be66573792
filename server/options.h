// ServerOptions: everything `tristage-server` is told at start-up, from flags and an optional YAML
// file (`--config`). Flags win over the file; the file wins over defaults.
#ifndef TRISTAGE_SERVER_OPTIONS_H_
#define TRISTAGE_SERVER_OPTIONS_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "core/util/flags.h"
#include "core/util/log.h"

namespace tristage::server {

struct ServerOptions {
  // Address the gRPC, HTTP/REST and metrics listeners bind to. "0.0.0.0" or "::" to listen
  // everywhere.
  std::string bind_address = "127.0.0.1";
  // gRPC port; 0 picks a free port (the daemon prints the one it bound).
  int grpc_port = 8001;
  // HTTP/REST port (KServe v2 REST binding, /v1 records); 0 picks a free port, -1 disables it.
  int http_port = 8000;
  // Threads serving HTTP connections: each open (keep-alive) connection holds one while it is
  // served; more connections wait for a thread in the listen backlog.
  int http_threads = 16;
  // Prometheus /metrics port; 0 picks a free port, -1 disables metrics.
  int metrics_port = 8002;
  // Root of the model repository (<repo>/<model>/<version>/); empty serves no models.
  std::string model_repository;
  // none (load all at start), poll (also rescan every repository_poll_secs), explicit.
  std::string model_control_mode = "none";
  int repository_poll_secs = 5;
  // libtorch intra-op (and OpenBLAS) threads; the pipeline's stage threads are the parallelism.
  int compute_threads = 1;
  // Largest request message accepted (bytes); larger ones get RESOURCE_EXHAUSTED.
  int max_message_bytes = 64 << 20;
  // TLS: certificate chain and key (PEM files); with a client CA, clients must present
  // certificates it signed (mTLS). Empty: plaintext.
  std::string tls_cert;
  std::string tls_key;
  std::string tls_client_ca;
  // When set, admin and repository RPCs require "authorization: Bearer <token>".
  std::string auth_token;
  // Jobs (tristage.v1.Admin SubmitJob ...): records, logs, uploads and results live under
  // state_dir (empty: no jobs). Dataset and model paths in requests resolve under data_root
  // (empty: only uploaded datasets).
  std::string state_dir;
  std::string data_root;
  int max_concurrent_jobs = 1;
  int max_queued_jobs = 16;
  int job_threads = 1;
  int max_upload_bytes = 1 << 30;
  // The `tristage` executable jobs run; empty: beside tristage-server, ../client/, then PATH.
  std::string cli_binary;
  LogLevel log_level = LogLevel::kInfo;
  // On SIGTERM/SIGINT, how long in-flight RPCs may take before they are cancelled.
  int exit_timeout_secs = 30;
  // On SIGTERM/SIGINT, how long new requests are still accepted after health goes NOT_SERVING
  // (and REST readiness 400), so that load balancers and Kubernetes endpoints stop routing here
  // before the drain refuses work.
  int drain_delay_secs = 0;
};

// What ParseServerOptions found on the command line.
struct ServerCommandLine {
  ServerOptions options;
  bool help = false;
  bool version = false;
  bool check_config = false;  // --check-config: validate, print "config OK", exit 0
};

// The flag table, for --help and for the YAML keys a config file may use.
absl::Span<const FlagSpec> ServerFlagSpecs();

// Parses argv (without argv[0]). InvalidArgument names the flag or config key and the reason; a
// missing or unreadable --config file is NotFound / InvalidArgument naming the file.
absl::StatusOr<ServerCommandLine> ParseServerCommandLine(absl::Span<const std::string> args);

}  // namespace tristage::server

#endif  // TRISTAGE_SERVER_OPTIONS_H_
