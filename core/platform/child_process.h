// ChildProcess: one child running an executable (the daemon's jobs, hyperopt's trials), with its
// stdout and stderr on one pipe the owner reads line by line, optionally a pipe to its stdin, and
// optionally a second output pipe for job protocol events (core/util/job_protocol.h) as the
// child's descriptor 3.
//
// The child gets its own process group (so a signal to -pid reaches everything it starts), dies
// with the thread that started it (PR_SET_PDEATHSIG, SIGKILL: keep that thread alive while the
// child runs), runs `nice_increment` steps nicer, reads /dev/null (or the stdin pipe) and inherits
// no other descriptor (but the events pipe). Output lines longer than `max_line_bytes` come in
// pieces of that size, so a child cannot make its reader hold more.
//
// Lifecycle: Start -> ReadLines (until EOF) -> WaitExited (the child is a zombie: its pid and
// process group stay reserved, so signals sent to them cannot reach a reused pid) -> Reap. The
// destructor SIGKILLs the group and reaps if the owner did not.
// Thread safety: one owner thread; pid() may be read from any thread.
#ifndef TRISTAGE_CORE_PLATFORM_CHILD_PROCESS_H_
#define TRISTAGE_CORE_PLATFORM_CHILD_PROCESS_H_

#include <sys/types.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace tristage::platform {

struct ChildSpec {
  std::vector<std::string> argv;  // argv[0]: the executable's path
  // "NAME=value" entries set in the child's environment (the rest is inherited).
  std::vector<std::string> env;
  int nice_increment = 10;
  // Give the child a pipe as stdin (WriteStdin, CloseStdin) instead of /dev/null.
  bool pipe_stdin = false;
  // Give the child a second pipe as descriptor 3 (job_protocol::kChildEventsFd) for its job
  // events, read apart from its human output (Read's on_events).
  bool events_pipe = false;
  size_t max_line_bytes = size_t{1} << 20;
};

class ChildProcess {
 public:
  // Internal (pipe, fork) for system failures naming the executable.
  static absl::StatusOr<std::unique_ptr<ChildProcess>> Start(const ChildSpec& spec);
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }

  // Calls `on_line` for each line of output (without '\n'; a last unterminated line included)
  // until every writer of the pipe is gone.
  void ReadLines(const std::function<void(absl::string_view)>& on_line);
  // As ReadLines, and calls `on_events` with each chunk read from the events pipe (events_pipe;
  // a null `on_events` drops them), until every writer of both pipes is gone.
  void Read(const std::function<void(absl::string_view)>& on_line,
            const std::function<void(absl::string_view)>& on_events);
  // Writes all of `data` to the child's stdin (pipe_stdin); Internal when the child closed it.
  // Safe to call from `on_line` of ReadLines.
  absl::Status WriteStdin(absl::string_view data);
  // The child reads end of file next (no-op without pipe_stdin or when already closed).
  void CloseStdin();
  // Waits until the child has exited, without reaping it.
  void WaitExited();
  // Reaps the child and returns its wait status (see waitpid(2)).
  int Reap();

 private:
  ChildProcess(pid_t pid, int read_fd, int events_fd, int stdin_fd, size_t max_line_bytes)
      : pid_(pid),
        max_line_bytes_(max_line_bytes),
        read_fd_(read_fd),
        events_fd_(events_fd),
        stdin_fd_(stdin_fd) {}

  const pid_t pid_;
  const size_t max_line_bytes_;
  int read_fd_;
  int events_fd_;  // -1 without events_pipe
  int stdin_fd_;  // -1 without pipe_stdin
  bool reaped_ = false;
};

// "exited with status 3", "killed by signal 9 (SIGKILL)".
std::string DescribeWaitStatus(int status);

}  // namespace tristage::platform

#endif  // TRISTAGE_CORE_PLATFORM_CHILD_PROCESS_H_
