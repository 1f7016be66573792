#include "core/platform/launcher.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/platform/child_process.h"

extern char** environ;

namespace {
// glibc 2.36's <sys/pidfd.h> lacks extern "C"; the system calls are called directly.
int PidfdOpen(pid_t pid) {
  return static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
}
int PidfdSendSignal(int pidfd, int signal) {
  return static_cast<int>(syscall(SYS_pidfd_send_signal, pidfd, signal, nullptr, 0));
}
}  // namespace

namespace tristage::platform {
namespace {

// The variables the launcher sets; inherited values of these are dropped.
bool IsWorldVariable(absl::string_view entry, bool threads) {
  for (const char* name : {"RANK=", "WORLD_SIZE=", "LOCAL_RANK=", "LOCAL_WORLD_SIZE=",
                           "MASTER_ADDR=", "MASTER_PORT=", "GROUP_RANK=",
                           "TRISTAGE_RENDEZVOUS_FILE="}) {
    if (absl::StartsWith(entry, name)) return true;
  }
  if (!threads) return false;
  for (const char* name : {"OMP_NUM_THREADS=", "MKL_NUM_THREADS=", "OPENBLAS_NUM_THREADS="}) {
    if (absl::StartsWith(entry, name)) return true;
  }
  return false;
}

struct Running {
  WorkerExit exit;
  int pidfd = -1;
  bool done = false;
};

// Everything a child needs, built before fork so that the child only calls async-signal-safe
// functions.
struct Prepared {
  std::vector<std::string> strings;
  std::vector<char*> argv;
  std::vector<std::string> env_strings;
  std::vector<char*> envp;
};

Prepared Prepare(const WorkerLaunch& launch, int rank, int local_rank, int world_size, int port) {
  Prepared p;
  p.strings = launch.argv;
  if (rank == 0) p.strings.insert(p.strings.end(), launch.leader_args.begin(), launch.leader_args.end());
  for (std::string& s : p.strings) p.argv.push_back(s.data());
  p.argv.push_back(nullptr);
  const bool threads = launch.threads_per_worker > 0;
  for (char** e = environ; *e != nullptr; ++e) {
    if (!IsWorldVariable(*e, threads)) p.env_strings.emplace_back(*e);
  }
  p.env_strings.push_back(absl::StrCat("RANK=", rank));
  p.env_strings.push_back(absl::StrCat("WORLD_SIZE=", world_size));
  p.env_strings.push_back(absl::StrCat("LOCAL_RANK=", local_rank));
  p.env_strings.push_back(absl::StrCat("LOCAL_WORLD_SIZE=", launch.nproc_per_node));
  p.env_strings.push_back(absl::StrCat("GROUP_RANK=", launch.node_rank));
  p.env_strings.push_back(absl::StrCat("MASTER_ADDR=", launch.master_addr));
  p.env_strings.push_back(absl::StrCat("MASTER_PORT=", port));
  if (!launch.rendezvous_file.empty()) {
    p.env_strings.push_back(absl::StrCat("TRISTAGE_RENDEZVOUS_FILE=", launch.rendezvous_file));
  }
  if (threads) {
    for (const char* name : {"OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"}) {
      p.env_strings.push_back(absl::StrCat(name, "=", launch.threads_per_worker));
    }
  }
  for (std::string& s : p.env_strings) p.envp.push_back(s.data());
  p.envp.push_back(nullptr);
  return p;
}

void Signal(Running& worker, int signal) {
  if (!worker.done) PidfdSendSignal(worker.pidfd, signal);
}

// Reaps the worker behind a readable pidfd.
void Reap(Running& worker) {
  int status = 0;
  while (waitpid(worker.exit.pid, &status, 0) < 0 && errno == EINTR) {
  }
  worker.exit.wait_status = status;
  worker.done = true;
  close(worker.pidfd);
  worker.pidfd = -1;
}

bool Failed(const WorkerExit& exit) {
  return !(WIFEXITED(exit.wait_status) && WEXITSTATUS(exit.wait_status) == 0);
}

bool LostPeer(const WorkerExit& exit) {
  return WIFEXITED(exit.wait_status) && WEXITSTATUS(exit.wait_status) == kExitPeerLost;
}

// Waits until a worker ends (or `timeout` passes: false). -1 waits without limit.
bool WaitForOne(std::vector<Running>& workers, int timeout_ms, std::vector<size_t>* order) {
  std::vector<pollfd> fds;
  std::vector<size_t> index;
  for (size_t i = 0; i < workers.size(); ++i) {
    if (workers[i].done) continue;
    fds.push_back({workers[i].pidfd, POLLIN, 0});
    index.push_back(i);
  }
  if (fds.empty()) return false;
  int ready = 0;
  do {
    ready = poll(fds.data(), fds.size(), timeout_ms);
  } while (ready < 0 && errno == EINTR);
  if (ready <= 0) return false;
  for (size_t j = 0; j < fds.size(); ++j) {
    if (fds[j].revents == 0) continue;
    Reap(workers[index[j]]);
    order->push_back(index[j]);
  }
  return true;
}

// A worker that failed on its own account: not one that lost a peer, nor one the launcher stopped.
bool Culprit(const WorkerExit& exit) {
  return Failed(exit) && !exit.stopped && !LostPeer(exit);
}

std::string Describe(const WorkerExit& exit, bool any_culprit) {
  const std::string who = absl::StrCat("rank ", exit.rank, " (pid ", exit.pid, ")");
  if (exit.stopped) {
    // Still running after the others failed: with no other cause, it stopped answering.
    return any_culprit ? absl::StrCat("the launcher stopped ", who)
                       : absl::StrCat(who, " stopped answering (it hung) and was stopped");
  }
  if (LostPeer(exit)) return absl::StrCat(who, " stopped: a peer was lost");
  return absl::StrCat(who, " ", DescribeWaitStatus(exit.wait_status));
}

}  // namespace

absl::StatusOr<int> FreeLocalPort() {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::InternalError(absl::StrCat("socket: ", std::strerror(errno)));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(address);
  if (bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    const int error = errno;
    close(fd);
    return absl::InternalError(absl::StrCat("finding a free port: ", std::strerror(error)));
  }
  close(fd);
  return static_cast<int>(ntohs(address.sin_port));
}

absl::StatusOr<LaunchOutcome> LaunchWorkers(const WorkerLaunch& launch) {
  if (launch.argv.empty()) return absl::InvalidArgumentError("no worker command");
  if (launch.nproc_per_node < 1 || launch.nnodes < 1 || launch.node_rank < 0 ||
      launch.node_rank >= launch.nnodes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--nproc_per_node ", launch.nproc_per_node, ", --nnodes ", launch.nnodes,
        ", --node_rank ", launch.node_rank, ": expected nproc_per_node >= 1 and 0 <= node_rank < nnodes"));
  }
  if (!launch.rendezvous_file.empty() && launch.nnodes > 1) {
    return absl::InvalidArgumentError("a rendezvous file serves the workers of one machine only");
  }
  int port = launch.master_port;
  if (port == 0) {
    if (launch.nnodes > 1) {
      return absl::InvalidArgumentError("--master_port: required when --nnodes is above 1");
    }
    absl::StatusOr<int> free_port = FreeLocalPort();
    if (!free_port.ok()) return free_port.status();
    port = *free_port;
  }
  const int world_size = launch.nproc_per_node * launch.nnodes;
  const pid_t launcher = getpid();
  std::vector<Running> workers;
  absl::Status start_error;
  for (int local = 0; local < launch.nproc_per_node; ++local) {
    const int rank = launch.node_rank * launch.nproc_per_node + local;
    Prepared prepared = Prepare(launch, rank, local, world_size, port);
    const int keep_fd = rank == 0 ? launch.leader_fd : -1;
    const pid_t pid = fork();
    if (pid < 0) {
      start_error = absl::InternalError(absl::StrCat("fork: ", std::strerror(errno)));
      break;
    }
    if (pid == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (getppid() != launcher) _exit(127);
      sigset_t none;
      sigemptyset(&none);
      sigprocmask(SIG_SETMASK, &none, nullptr);
      if (keep_fd > 2) {
        fcntl(keep_fd, F_SETFD, 0);  // inherited across exec
        if (keep_fd > 3) close_range(3, static_cast<unsigned>(keep_fd) - 1, 0);
        close_range(static_cast<unsigned>(keep_fd) + 1, ~0U, 0);
      } else {
        close_range(3, ~0U, 0);
      }
      execve(prepared.argv[0], prepared.argv.data(), prepared.envp.data());
      _exit(127);
    }
    Running worker;
    worker.exit.rank = rank;
    worker.exit.pid = pid;
    worker.pidfd = PidfdOpen(pid);
    if (worker.pidfd < 0) {
      kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
      start_error = absl::InternalError(absl::StrCat("pidfd_open: ", std::strerror(errno)));
      break;
    }
    workers.push_back(worker);
  }

  std::vector<size_t> order;  // workers in the order they ended
  bool failing = !start_error.ok();
  while (!failing) {
    const size_t before = order.size();
    if (!WaitForOne(workers, -1, &order)) break;  // all done
    for (size_t i = before; i < order.size(); ++i) failing |= Failed(workers[order[i]].exit);
  }
  if (failing) {
    // A worker that only lost a peer fails first at times (the store or a collective broke while
    // the culprit was still writing its error): give the others a moment to end on their own.
    const auto settle = std::chrono::steady_clock::now() +
                        std::min<std::chrono::steady_clock::duration>(launch.grace,
                                                                      std::chrono::seconds(5));
    auto any_culprit = [&workers] {
      for (const Running& w : workers) {
        if (w.done && Culprit(w.exit)) return true;
      }
      return false;
    };
    while (start_error.ok() && !any_culprit()) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          settle - std::chrono::steady_clock::now());
      if (left.count() <= 0 || !WaitForOne(workers, static_cast<int>(left.count()), &order)) break;
    }
    for (Running& w : workers) {
      if (!w.done) w.exit.stopped = true;
      Signal(w, SIGTERM);
      Signal(w, SIGCONT);  // a stopped (SIGSTOP) worker acts on the SIGTERM now
    }
    const auto deadline = std::chrono::steady_clock::now() + launch.grace;
    while (true) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0 || !WaitForOne(workers, static_cast<int>(left.count()), &order)) break;
    }
    for (Running& w : workers) Signal(w, SIGKILL);
    while (WaitForOne(workers, -1, &order)) {
    }
  }
  if (!start_error.ok()) return start_error;

  LaunchOutcome outcome;
  for (const Running& w : workers) outcome.workers.push_back(w.exit);
  outcome.ok = !failing;
  if (outcome.ok) return outcome;
  // The culprits first, in the order they ended; a worker still running after the others failed
  // is the culprit when there is no other (it hung).
  bool culprit = false;
  for (const Running& w : workers) culprit |= Culprit(w.exit);
  std::vector<std::string> parts;
  std::vector<bool> told(workers.size(), false);
  for (int pass = 0; pass < 2; ++pass) {
    for (size_t i : order) {
      const WorkerExit& exit = workers[i].exit;
      if (told[i] || (!Failed(exit) && !exit.stopped)) continue;
      const bool first = Culprit(exit) || (!culprit && exit.stopped);
      if (pass == 0 && !first) continue;
      parts.push_back(Describe(exit, culprit));
      told[i] = true;
    }
  }
  outcome.message = absl::StrJoin(parts, "; ");
  return outcome;
}

}  // namespace tristage::platform
