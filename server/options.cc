#include "server/options.h"

#include <filesystem>
#include <fstream>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "core/util/status_macros.h"
#include "core/util/strings.h"
#include "yaml-cpp/yaml.h"

namespace tristage::server {
namespace {

const std::vector<FlagSpec>& Specs() {
  static const auto* specs = new std::vector<FlagSpec>{
      {"bind",
       "",
       FlagKind::kValue,
       "address to bind the gRPC, HTTP/REST and metrics listeners",
       "127.0.0.1",
       {}},
      {"grpc-port", "", FlagKind::kValue, "gRPC port; 0 picks a free one", "8001", {}},
      {"http-port",
       "",
       FlagKind::kValue,
       "HTTP/REST port (KServe v2 REST and /v1 records); 0 picks a free one, -1 disables",
       "8000",
       {}},
      {"http-threads",
       "",
       FlagKind::kValue,
       "HTTP/REST connection threads: each open connection holds one while it is served",
       "16",
       {}},
      {"metrics-port",
       "",
       FlagKind::kValue,
       "Prometheus /metrics port; 0 picks a free one, -1 disables",
       "8002",
       {}},
      {"model-repository",
       "",
       FlagKind::kValue,
       "model repository root (<repo>/<model>/<version>/)",
       "",
       {}},
      {"model-control-mode",
       "",
       FlagKind::kValue,
       "none: load every model at start; poll: also rescan the repository; explicit: load on "
       "request",
       "none",
       {"none", "poll", "explicit"}},
      {"repository-poll-secs",
       "",
       FlagKind::kValue,
       "with --model-control-mode poll, seconds between repository scans",
       "5",
       {}},
      {"compute-threads",
       "",
       FlagKind::kValue,
       "libtorch/BLAS threads per stage computation (the stages themselves run in parallel)",
       "1",
       {}},
      {"max-message-bytes",
       "",
       FlagKind::kValue,
       "largest request accepted; larger ones get RESOURCE_EXHAUSTED",
       "67108864",
       {}},
      {"tls-cert", "", FlagKind::kValue, "PEM certificate chain: serve gRPC over TLS", "", {}},
      {"tls-key", "", FlagKind::kValue, "PEM private key for --tls-cert", "", {}},
      {"tls-client-ca",
       "",
       FlagKind::kValue,
       "PEM CA bundle: require and verify client certificates (mTLS)",
       "",
       {}},
      {"auth-token-file",
       "",
       FlagKind::kValue,
       "file holding a bearer token required (authorization: Bearer <token>) on admin and "
       "repository RPCs",
       "",
       {}},
      {"log-level",
       "",
       FlagKind::kValue,
       "log verbosity",
       "info",
       {"debug", "info", "warning", "error"}},
      {"exit-timeout-secs",
       "",
       FlagKind::kValue,
       "on SIGTERM/SIGINT, seconds in-flight requests may take before they are cancelled",
       "30",
       {}},
      {"drain-delay-secs",
       "",
       FlagKind::kValue,
       "on SIGTERM/SIGINT, seconds to keep accepting requests after health goes NOT_SERVING, so "
       "load balancers stop routing here first; then the drain",
       "0",
       {}},
      {"check-config",
       "",
       FlagKind::kBool,
       "validate the flags and --config file (ports, files, TLS, token), print 'config OK' and "
       "exit 0 without serving; exit 2 naming what is wrong",
       "",
       {}},
      {"state-dir",
       "",
       FlagKind::kValue,
       "directory for job records, logs, uploads and results; enables the Admin job RPCs",
       "",
       {}},
      {"data-root",
       "",
       FlagKind::kValue,
       "directory that job datasets and models given by path must lie under",
       "",
       {}},
      {"max-concurrent-jobs", "", FlagKind::kValue, "jobs running at once", "1", {}},
      {"max-queued-jobs", "", FlagKind::kValue, "jobs waiting at most; more are refused", "16", {}},
      {"job-threads",
       "",
       FlagKind::kValue,
       "libtorch/BLAS threads of each job (its CPU budget; jobs also run at lower priority)",
       "1",
       {}},
      {"max-upload-bytes",
       "",
       FlagKind::kValue,
       "largest dataset UploadDataset accepts",
       "1073741824",
       {}},
      {"cli-binary",
       "",
       FlagKind::kValue,
       "the tristage CLI that runs jobs (default: found beside tristage-server, then on PATH)",
       "",
       {}},
      {"config",
       "",
       FlagKind::kValue,
       "YAML file of these options (keys as the flag names)",
       "",
       {}},
      {"version", "", FlagKind::kBool, "print the version and exit", "", {}},
      {"help", "h", FlagKind::kBool, "show this help and exit", "", {}},
  };
  return *specs;
}

// Layers the YAML file's keys under the flags already parsed.
absl::Status ApplyConfigFile(const std::string& path, ParsedFlags& flags) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    return absl::NotFoundError(absl::StrCat("--config: no such file '", path, "'"));
  }
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("--config ", path, ": ", e.what()));
  }
  if (root.IsNull()) return absl::OkStatus();
  if (!root.IsMap()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--config ", path, ": expected a mapping of option names to values"));
  }
  std::vector<std::string> valid;
  for (const FlagSpec& spec : Specs()) {
    if (spec.name != "config" && spec.name != "help" && spec.name != "version" &&
        spec.name != "check-config") {
      valid.push_back(spec.name);
    }
  }
  for (const auto& entry : root) {
    const std::string key = entry.first.as<std::string>();
    const FlagSpec* spec = FindFlag(Specs(), key);
    if (spec == nullptr || spec->name == "config" || spec->name == "help" ||
        spec->name == "check-config" || spec->name == "version") {
      return absl::InvalidArgumentError(
          absl::StrCat("--config ", path, ": unknown key '", key, "'",
                       DidYouMean(absl::StrReplaceAll(key, {{"_", "-"}}), valid)));
    }
    if (!entry.second.IsScalar()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--config ", path, ": key '", key, "' must be a single value"));
    }
    const std::string value = entry.second.as<std::string>();
    TRISTAGE_RETURN_IF_ERROR(ValidateFlagValue(*spec, value));
    flags.SetIfAbsent(spec->name, {value});
  }
  return absl::OkStatus();
}

}  // namespace

absl::Span<const FlagSpec> ServerFlagSpecs() {
  return Specs();
}

absl::StatusOr<ServerCommandLine> ParseServerCommandLine(absl::Span<const std::string> args) {
  TRISTAGE_ASSIGN_OR_RETURN(ParsedFlags flags, ParseFlags(Specs(), args));
  ServerCommandLine result;
  result.help = flags.GetBool("help");
  result.version = flags.GetBool("version");
  result.check_config = flags.GetBool("check-config");
  if (result.help || result.version) return result;
  if (std::optional<std::string> config = flags.Get("config")) {
    TRISTAGE_RETURN_IF_ERROR(ApplyConfigFile(*config, flags));
  }
  ServerOptions& options = result.options;
  options.bind_address = flags.GetOr("bind", options.bind_address);
  if (options.bind_address.empty()) return absl::InvalidArgumentError("--bind: empty address");
  TRISTAGE_ASSIGN_OR_RETURN(options.grpc_port,
                            flags.GetInt("grpc-port", options.grpc_port, 0, 65535));
  TRISTAGE_ASSIGN_OR_RETURN(options.http_port,
                            flags.GetInt("http-port", options.http_port, -1, 65535));
  TRISTAGE_ASSIGN_OR_RETURN(options.http_threads,
                            flags.GetInt("http-threads", options.http_threads, 1, 1024));
  TRISTAGE_ASSIGN_OR_RETURN(options.metrics_port,
                            flags.GetInt("metrics-port", options.metrics_port, -1, 65535));
  TRISTAGE_ASSIGN_OR_RETURN(
      options.exit_timeout_secs,
      flags.GetInt("exit-timeout-secs", options.exit_timeout_secs, 0, 24 * 3600));
  TRISTAGE_ASSIGN_OR_RETURN(
      options.drain_delay_secs,
      flags.GetInt("drain-delay-secs", options.drain_delay_secs, 0, 3600));
  TRISTAGE_ASSIGN_OR_RETURN(options.log_level, ParseLogLevel(flags.GetOr("log-level", "info")));
  options.model_control_mode = flags.GetOr("model-control-mode", options.model_control_mode);
  TRISTAGE_ASSIGN_OR_RETURN(
      options.repository_poll_secs,
      flags.GetInt("repository-poll-secs", options.repository_poll_secs, 1, 24 * 3600));
  TRISTAGE_ASSIGN_OR_RETURN(options.compute_threads, flags.GetInt("compute-threads",
                                                                  options.compute_threads, 1, 256));
  TRISTAGE_ASSIGN_OR_RETURN(
      options.max_message_bytes,
      flags.GetInt("max-message-bytes", options.max_message_bytes, 1024, 1 << 30));
  options.state_dir = flags.GetOr("state-dir", "");
  options.data_root = flags.GetOr("data-root", "");
  options.cli_binary = flags.GetOr("cli-binary", "");
  TRISTAGE_ASSIGN_OR_RETURN(
      options.max_concurrent_jobs,
      flags.GetInt("max-concurrent-jobs", options.max_concurrent_jobs, 1, 64));
  TRISTAGE_ASSIGN_OR_RETURN(
      options.max_queued_jobs,
      flags.GetInt("max-queued-jobs", options.max_queued_jobs, 1, 4096));
  TRISTAGE_ASSIGN_OR_RETURN(options.job_threads,
                            flags.GetInt("job-threads", options.job_threads, 1, 256));
  TRISTAGE_ASSIGN_OR_RETURN(
      options.max_upload_bytes,
      flags.GetInt("max-upload-bytes", options.max_upload_bytes, 1, 2147483647));
  options.tls_cert = flags.GetOr("tls-cert", "");
  options.tls_key = flags.GetOr("tls-key", "");
  options.tls_client_ca = flags.GetOr("tls-client-ca", "");
  if (options.tls_cert.empty() != options.tls_key.empty()) {
    return absl::InvalidArgumentError("--tls-cert and --tls-key go together");
  }
  if (!options.tls_client_ca.empty() && options.tls_cert.empty()) {
    return absl::InvalidArgumentError("--tls-client-ca needs --tls-cert and --tls-key");
  }
  for (const std::string* file : {&options.tls_cert, &options.tls_key, &options.tls_client_ca}) {
    std::error_code ec;
    if (!file->empty() && !std::filesystem::is_regular_file(*file, ec)) {
      return absl::InvalidArgumentError(absl::StrCat("TLS file '", *file, "' does not exist"));
    }
  }
  if (std::optional<std::string> token_file = flags.Get("auth-token-file")) {
    std::ifstream in(*token_file);
    if (!in) {
      return absl::InvalidArgumentError(
          absl::StrCat("--auth-token-file: cannot read '", *token_file, "'"));
    }
    std::string token((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    options.auth_token = std::string(absl::StripAsciiWhitespace(token));
    if (options.auth_token.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--auth-token-file: '", *token_file, "' is empty"));
    }
  }
  options.model_repository = flags.GetOr("model-repository", "");
  if (!options.model_repository.empty()) {
    std::error_code ec;
    if (!std::filesystem::is_directory(options.model_repository, ec)) {
      return absl::InvalidArgumentError(
          absl::StrCat("--model-repository: '", options.model_repository, "' is not a directory"));
    }
  }
  return result;
}

}  // namespace tristage::server
