// tristage-server: parses flags, starts the Server, waits for SIGTERM/SIGINT, shuts down.
// Exit codes: 0 clean shutdown, 1 start-up failure, 2 bad flags or config.
#include <signal.h>

#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "core/util/log.h"
#include "core/version.h"
#include "server/options.h"
#include "server/server.h"

namespace {

constexpr char kUsage[] =
    "usage: tristage-server [flags]\n\n"
    "Serves exported tristage models over gRPC (tristage.v1, KServe v2), with health, reflection\n"
    "and Prometheus metrics. Flags may also come from a YAML file (--config); flags win.\n\n";

}  // namespace

int main(int argc, char** argv) {
  using tristage::server::ParseServerCommandLine;
  // Block the shutdown signals before any thread exists, so every thread inherits the mask and only
  // sigwait() below receives them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  const std::vector<std::string> args(argv + 1, argv + argc);
  auto command_line = ParseServerCommandLine(args);
  if (!command_line.ok()) {
    std::cerr << "tristage-server: " << command_line.status().message()
              << "\nrun 'tristage-server --help' for the flags\n";
    return 2;
  }
  if (command_line->help) {
    std::cout << kUsage << tristage::FormatFlagsHelp(tristage::server::ServerFlagSpecs());
    return 0;
  }
  if (command_line->version) {
    std::cout << "tristage-server " << tristage::kTristageVersion << "\n";
    return 0;
  }
  const tristage::server::ServerOptions& options = command_line->options;
  tristage::SetMinLogLevel(options.log_level);

  auto server = tristage::server::Server::Create(options);
  if (!server.ok()) {
    std::cerr << "tristage-server: " << server.status().message() << "\n";
    return 1;
  }
  // The one line tools and tests wait for; printed once every listener is bound.
  std::printf("listening on %s:%d\n", options.bind_address.c_str(), (*server)->grpc_port());
  if ((*server)->metrics_port() >= 0) {
    std::printf("metrics on http://%s:%d/metrics\n", options.bind_address.c_str(),
                (*server)->metrics_port());
  }
  std::fflush(stdout);

  int received = 0;
  sigwait(&signals, &received);
  TRISTAGE_LOG(Info) << "received " << (received == SIGTERM ? "SIGTERM" : "SIGINT")
                     << ", shutting down";
  (*server)->Shutdown(absl::Seconds(options.exit_timeout_secs));
  return 0;
}
