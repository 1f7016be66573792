#include "core/platform/child_process.h"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <map>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "core/util/line_splitter.h"

extern char** environ;

namespace tristage::platform {
namespace {

absl::Status ErrnoError(const std::string& what, int error) {
  return absl::InternalError(absl::StrCat(what, ": ", std::generic_category().message(error)));
}

// The inherited environment with `overrides` ("NAME=value") replacing or adding entries.
std::vector<std::string> MergedEnvironment(const std::vector<std::string>& overrides) {
  std::map<std::string, std::string> entries;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    const std::string entry(*e);
    entries[entry.substr(0, entry.find('='))] = entry;
  }
  for (const std::string& entry : overrides) entries[entry.substr(0, entry.find('='))] = entry;
  std::vector<std::string> merged;
  merged.reserve(entries.size());
  for (auto& [name, entry] : entries) merged.push_back(std::move(entry));
  return merged;
}

std::vector<char*> Pointers(std::vector<std::string>& strings) {
  std::vector<char*> pointers;
  pointers.reserve(strings.size() + 1);
  for (std::string& s : strings) pointers.push_back(s.data());
  pointers.push_back(nullptr);
  return pointers;
}

// Runs in the forked child: only async-signal-safe calls until execve.
// The descriptor the child's events pipe becomes (job_protocol::kChildEventsFd).
constexpr int kEventsFd = 3;

[[noreturn]] void ExecChild(pid_t parent, int priority, int stdin_fd, int write_fd, int events_fd,
                            char** argv, char** envp) {
  setpgid(0, 0);
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != parent) _exit(127);  // the parent thread died before prctl
  setpriority(PRIO_PROCESS, 0, priority);
  dup2(stdin_fd, STDIN_FILENO);
  dup2(write_fd, STDOUT_FILENO);
  dup2(write_fd, STDERR_FILENO);
  if (events_fd >= 0) {
    // dup2 onto itself keeps O_CLOEXEC: clear it then.
    if (events_fd == kEventsFd) {
      fcntl(kEventsFd, F_SETFD, 0);
    } else {
      dup2(events_fd, kEventsFd);
    }
  }
  close_range(events_fd >= 0 ? kEventsFd + 1 : 3, ~0U, 0);
  // The parent blocked every signal around fork, so nothing was delivered to this copy of its
  // handlers yet. Put every caught or ignored signal back to its default before unblocking:
  // otherwise a SIGTERM meant for this child (a job cancelled right after it started) runs the
  // daemon's handler here, whose self-pipe is the daemon's too, and shuts the daemon down.
  // Ignored signals would also stay ignored across execve (the daemon's libraries ignore SIGPIPE).
  for (int signal_number = 1; signal_number < NSIG; ++signal_number) {
    if (signal_number == SIGKILL || signal_number == SIGSTOP) continue;
    struct sigaction current {};
    if (sigaction(signal_number, nullptr, &current) != 0) continue;
    if (current.sa_handler == SIG_DFL && (current.sa_flags & SA_SIGINFO) == 0) continue;
    struct sigaction defaults {};
    defaults.sa_handler = SIG_DFL;
    sigemptyset(&defaults.sa_mask);
    sigaction(signal_number, &defaults, nullptr);
  }
  // The starting thread's mask (all blocked, see Start) is inherited: give the CLI none.
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  execve(argv[0], argv, envp);
  const char prefix[] = "cannot execute ";
  [[maybe_unused]] ssize_t n = write(STDERR_FILENO, prefix, sizeof(prefix) - 1);
  n = write(STDERR_FILENO, argv[0], strlen(argv[0]));
  n = write(STDERR_FILENO, "\n", 1);
  _exit(127);
}

}  // namespace

absl::StatusOr<std::unique_ptr<ChildProcess>> ChildProcess::Start(const ChildSpec& spec) {
  if (spec.argv.empty()) return absl::InvalidArgumentError("child process: empty argv");
  // Everything the child needs is built before fork: after it, only async-signal-safe calls.
  std::vector<std::string> args = spec.argv;
  std::vector<std::string> env = MergedEnvironment(spec.env);
  std::vector<char*> argv = Pointers(args);
  std::vector<char*> envp = Pointers(env);
  errno = 0;
  int priority = getpriority(PRIO_PROCESS, 0);
  if (errno != 0) priority = 0;
  priority = std::min(19, priority + spec.nice_increment);

  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return ErrnoError("creating the child's output pipe", errno);
  // in[0]: the child's stdin; in[1]: ours to write (-1 without pipe_stdin).
  int in[2] = {-1, -1};
  if (spec.pipe_stdin) {
    if (pipe2(in, O_CLOEXEC) != 0) {
      const int error = errno;
      close(fds[0]);
      close(fds[1]);
      return ErrnoError("creating the child's input pipe", error);
    }
  } else {
    in[0] = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (in[0] < 0) {
      const int error = errno;
      close(fds[0]);
      close(fds[1]);
      return ErrnoError("opening /dev/null", error);
    }
  }
  // ev[0]: ours to read; ev[1]: the child's descriptor 3 (-1, -1 without events_pipe).
  int ev[2] = {-1, -1};
  if (spec.events_pipe && pipe2(ev, O_CLOEXEC) != 0) {
    const int error = errno;
    for (int fd : {fds[0], fds[1], in[0], in[1]}) {
      if (fd >= 0) close(fd);
    }
    return ErrnoError("creating the child's events pipe", error);
  }
  const pid_t parent = getpid();
  // Every signal blocked on this thread across fork: the child starts with them blocked and
  // resets the handlers it inherited before it unblocks them (ExecChild). A signal sent to the
  // child in between stays pending and then takes its default action.
  sigset_t all, previous;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &previous);
  const pid_t pid = fork();
  if (pid == 0) ExecChild(parent, priority, in[0], fds[1], ev[1], argv.data(), envp.data());
  const int fork_error = errno;
  pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  close(in[0]);
  close(fds[1]);
  if (ev[1] >= 0) close(ev[1]);
  if (pid < 0) {
    close(fds[0]);
    if (in[1] >= 0) close(in[1]);
    if (ev[0] >= 0) close(ev[0]);
    return ErrnoError(absl::StrCat("starting '", spec.argv[0], "'"), fork_error);
  }
  // Also here, so the group exists before anyone signals -pid (EACCES once it has exec'd: fine).
  setpgid(pid, pid);
  return std::unique_ptr<ChildProcess>(
      new ChildProcess(pid, fds[0], ev[0], in[1], spec.max_line_bytes));
}

ChildProcess::~ChildProcess() {
  if (read_fd_ >= 0) close(read_fd_);
  if (events_fd_ >= 0) close(events_fd_);
  CloseStdin();
  if (!reaped_) {
    kill(-pid_, SIGKILL);
    Reap();
  }
}

void ChildProcess::ReadLines(const std::function<void(absl::string_view)>& on_line) {
  Read(on_line, nullptr);
}

void ChildProcess::Read(const std::function<void(absl::string_view)>& on_line,
                        const std::function<void(absl::string_view)>& on_events) {
  LineSplitter lines(max_line_bytes_);
  const LineSplitter::OnPiece deliver = [&on_line](absl::string_view piece, bool) {
    on_line(piece);
  };
  char buffer[4096];
  while (read_fd_ >= 0 || events_fd_ >= 0) {
    pollfd fds[2] = {{read_fd_, POLLIN, 0}, {events_fd_, POLLIN, 0}};
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      const ssize_t n = read(fds[i].fd, buffer, sizeof(buffer));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {  // every writer is gone (or the pipe failed): this stream ended
        close(fds[i].fd);
        (i == 0 ? read_fd_ : events_fd_) = -1;
        continue;
      }
      const absl::string_view data(buffer, static_cast<size_t>(n));
      if (i == 0) {
        lines.Feed(data, deliver);
      } else if (on_events) {
        on_events(data);
      }
    }
  }
  lines.Finish(deliver);
}

absl::Status ChildProcess::WriteStdin(absl::string_view data) {
  if (stdin_fd_ < 0) return absl::FailedPreconditionError("the child's stdin is not a pipe");
  // A child that exited makes write raise SIGPIPE, which would kill this process unless it ignores
  // the signal. SIGPIPE from write is sent to the writing thread, so block it on this thread for
  // the write and consume it if it came: the process's signal dispositions stay untouched.
  sigset_t pipe_signal, previous;
  sigemptyset(&pipe_signal);
  sigaddset(&pipe_signal, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_signal, &previous);
  absl::Status status;
  while (!data.empty()) {
    const ssize_t n = write(stdin_fd_, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int error = errno;
      status = ErrnoError("writing to the child's stdin", error);
      if (error == EPIPE && !sigismember(&previous, SIGPIPE)) {
        const timespec zero = {0, 0};
        while (sigtimedwait(&pipe_signal, nullptr, &zero) < 0 && errno == EINTR) {
        }
      }
      break;
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  return status;
}

void ChildProcess::CloseStdin() {
  if (stdin_fd_ >= 0) close(stdin_fd_);
  stdin_fd_ = -1;
}

void ChildProcess::WaitExited() {
  siginfo_t info;
  while (waitid(P_PID, static_cast<id_t>(pid_), &info, WEXITED | WNOWAIT) != 0 && errno == EINTR) {
  }
}

int ChildProcess::Reap() {
  int status = 0;
  while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  reaped_ = true;
  return status;
}

std::string DescribeWaitStatus(int status) {
  if (WIFEXITED(status)) return absl::StrCat("exited with status ", WEXITSTATUS(status));
  if (WIFSIGNALED(status)) {
    const int signal_number = WTERMSIG(status);
    const char* abbrev = sigabbrev_np(signal_number);
    return absl::StrCat("killed by signal ", signal_number, " (SIG",
                        abbrev != nullptr ? abbrev : "?", ")");
  }
  return absl::StrCat("ended with wait status ", status);
}

}  // namespace tristage::platform
