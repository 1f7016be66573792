#include "tests/testing/daemon.h"

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace tristage::testing {
namespace {

// The port after the last ':' of `text`, ignoring a trailing "/metrics".
bool PortOf(absl::string_view text, int* port) {
  absl::ConsumeSuffix(&text, "/metrics");
  return absl::SimpleAtoi(text.substr(text.rfind(':') + 1), port);
}

}  // namespace

absl::StatusOr<std::unique_ptr<Daemon>> Daemon::Start(const std::string& binary,
                                                      const std::vector<std::string>& extra_flags) {
  std::vector<std::string> argv = {binary, "--grpc-port", "0", "--metrics-port", "0",
                                   "--http-port", "0"};
  argv.insert(argv.end(), extra_flags.begin(), extra_flags.end());
  auto daemon = std::make_unique<Daemon>();
  absl::StatusOr<std::unique_ptr<Subprocess>> process = Subprocess::Start(argv);
  if (!process.ok()) return process.status();
  daemon->process_ = std::move(*process);
  absl::StatusOr<std::string> line = daemon->process_->ReadStdoutLine(absl::Seconds(30));
  if (!line.ok()) return line.status();
  if (!absl::StartsWith(*line, "listening on ") || !PortOf(*line, &daemon->grpc_port_)) {
    return absl::InternalError(absl::StrCat("unexpected first line: ", *line));
  }
  // The second line is "metrics on URL" or "metrics disabled".
  absl::StatusOr<std::string> metrics = daemon->process_->ReadStdoutLine(absl::Seconds(5));
  if (!metrics.ok()) return metrics.status();
  if (absl::StartsWith(*metrics, "metrics on ") && !PortOf(*metrics, &daemon->metrics_port_)) {
    return absl::InternalError(absl::StrCat("unexpected metrics line: ", *metrics));
  }
  // The third is "http listening on HOST:PORT" or "http disabled".
  absl::StatusOr<std::string> http = daemon->process_->ReadStdoutLine(absl::Seconds(5));
  if (!http.ok()) return http.status();
  if (absl::StartsWith(*http, "http listening on ") && !PortOf(*http, &daemon->http_port_)) {
    return absl::InternalError(absl::StrCat("unexpected http line: ", *http));
  }
  return daemon;
}

}  // namespace tristage::testing
