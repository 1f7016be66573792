// tristage-server: parses flags, starts the Server, waits for SIGTERM/SIGINT, shuts down.
// Exit codes: 0 clean shutdown, 1 start-up failure, 2 bad flags or config.
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "core/util/log.h"
#include "core/version.h"
#include "server/options.h"
#include "server/server.h"

namespace {

constexpr char kUsage[] =
    "usage: tristage-server [flags]\n\n"
    "Serves exported tristage models over gRPC (tristage.v1, KServe v2), with health, reflection\n"
    "and Prometheus metrics. Flags may also come from a YAML file (--config); flags win.\n\n";

// Self-pipe: the handler only writes the signal number; main reads it. This holds whichever
// thread the kernel picks to run the handler, including threads libraries started before main.
int g_signal_pipe[2] = {-1, -1};

extern "C" void OnShutdownSignal(int signal_number) {
  const unsigned char byte = static_cast<unsigned char>(signal_number);
  [[maybe_unused]] ssize_t ignored = write(g_signal_pipe[1], &byte, 1);
}

bool InstallShutdownHandlers() {
  if (pipe2(g_signal_pipe, O_CLOEXEC) != 0) return false;
  struct sigaction action {};
  action.sa_handler = OnShutdownSignal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  return sigaction(SIGTERM, &action, nullptr) == 0 && sigaction(SIGINT, &action, nullptr) == 0;
}

// Blocks until SIGTERM or SIGINT arrives; returns its number.
int WaitForShutdownSignal() {
  unsigned char byte = 0;
  while (read(g_signal_pipe[0], &byte, 1) < 0 && errno == EINTR) {
  }
  return byte;
}

}  // namespace

int main(int argc, char** argv) {
  using tristage::server::ParseServerCommandLine;
  // Debian's Abseil is built without NDEBUG, which leaves absl::Mutex's deadlock detection on:
  // every lock (ours and gRPC's) then updates a global lock-order graph. Off before any lock.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  // Installed first, so a signal that arrives during start-up is not lost: it is read as soon as
  // the server is up, and shuts it down at once.
  if (!InstallShutdownHandlers()) {
    std::perror("tristage-server: installing signal handlers");
    return 1;
  }
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
  } else {
    std::printf("metrics disabled\n");
  }
  std::fflush(stdout);

  const int received = WaitForShutdownSignal();
  TRISTAGE_LOG(Info) << "received " << (received == SIGTERM ? "SIGTERM" : "SIGINT")
                     << ", shutting down";
  (*server)->Shutdown(absl::Seconds(options.exit_timeout_secs));
  return 0;
}
