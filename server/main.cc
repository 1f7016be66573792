// tristage-server: parses flags, starts the Server, waits for SIGTERM/SIGINT, shuts down.
// Exit codes: 0 clean shutdown, 1 start-up failure (or a shutdown the watchdog had to cut short),
// 2 bad flags or config.
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "core/util/log.h"
#include "core/version.h"
#include "server/options.h"
#include "server/server.h"

namespace {

constexpr char kUsage[] =
    "usage: tristage-server [flags]\n\n"
    "Serves exported tristage models over gRPC (tristage.v1, KServe v2), with health, reflection\n"
    "and Prometheus metrics. Flags may also come from a YAML file (--config); flags win.\n\n";

// How long past --exit-timeout-secs the watchdog lets Shutdown run (killing jobs, stopping
// pipelines) before it ends the process.
constexpr absl::Duration kShutdownGrace = absl::Seconds(5);

// Self-pipe: the handler only writes the signal number; main reads it. This holds whichever
// thread the kernel picks to run the handler, including threads libraries started before main.
int g_signal_pipe[2] = {-1, -1};
pid_t g_daemon_pid = 0;

extern "C" void OnShutdownSignal(int signal_number) {
  // A forked job child resets its handlers before it unblocks signals (platform::ChildProcess);
  // should any other fork run this handler, the signal was meant for that process, never for the
  // daemon, whose self-pipe it shares: take the default action there.
  if (getpid() != g_daemon_pid) {
    signal(signal_number, SIG_DFL);
    raise(signal_number);
    return;
  }
  const unsigned char byte = static_cast<unsigned char>(signal_number);
  [[maybe_unused]] ssize_t ignored = write(g_signal_pipe[1], &byte, 1);
}

bool InstallShutdownHandlers() {
  g_daemon_pid = getpid();
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
  if (command_line->check_config) {
    std::cout << "config OK\n";
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
  if ((*server)->http_port() >= 0) {
    std::printf("http listening on %s:%d\n", options.bind_address.c_str(), (*server)->http_port());
  } else {
    std::printf("http disabled\n");
  }
  std::fflush(stdout);

  const int received = WaitForShutdownSignal();
  TRISTAGE_LOG(Info) << "received " << (received == SIGTERM ? "SIGTERM" : "SIGINT")
                     << ", shutting down";
  // The watchdog: a batch already inside a stage cannot be interrupted, and a library can hang;
  // the exit stays bounded by --exit-timeout-secs (plus the few seconds that stopping jobs and
  // pipelines take) whatever happens. Owned and joined here.
  const absl::Duration limit =
      absl::Seconds(options.drain_delay_secs + options.exit_timeout_secs) + kShutdownGrace;
  absl::Notification shut_down;
  std::thread watchdog([&shut_down, limit] {
    if (shut_down.WaitForNotificationWithTimeout(limit)) return;
    TRISTAGE_LOG(Error) << "shutdown did not finish within " << absl::FormatDuration(limit)
                        << " (--exit-timeout-secs plus " << absl::FormatDuration(kShutdownGrace)
                        << "); exiting without waiting for the rest";
    std::fflush(nullptr);
    _exit(1);
  });
  (*server)->Shutdown(absl::Seconds(options.exit_timeout_secs));
  shut_down.Notify();
  watchdog.join();
  return 0;
}
