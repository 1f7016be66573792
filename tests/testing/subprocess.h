// Subprocess: runs a real binary (the daemon, the CLI) for end-to-end tests.
//
// Lifecycle: Start() forks and execs with stdout and stderr piped back; the destructor SIGKILLs and
// reaps a child still running, so a failing test never leaves a process behind.
// Thread safety: not thread-safe; one test thread drives it.
#ifndef TRISTAGE_TESTS_TESTING_SUBPROCESS_H_
#define TRISTAGE_TESTS_TESTING_SUBPROCESS_H_

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace tristage::testing {

class Subprocess {
 public:
  // argv[0] is the path of the binary, or a name looked up in PATH. Unavailable when fork/exec
  // fails.
  static absl::StatusOr<std::unique_ptr<Subprocess>> Start(const std::vector<std::string>& argv);
  ~Subprocess();

  pid_t pid() const { return pid_; }

  // The next whole line of stdout (without '\n'). DeadlineExceeded after `timeout`; NotFound
  // when stdout closed first.
  absl::StatusOr<std::string> ReadStdoutLine(absl::Duration timeout);

  void Signal(int signal_number);

  // Waits for the child to exit: its exit code, or 128 + signal when a signal ended it.
  // DeadlineExceeded when it is still running after `timeout`.
  absl::StatusOr<int> Wait(absl::Duration timeout);

  // Everything read from stdout/stderr so far (Wait drains both to the end).
  const std::string& stdout_text() const { return out_; }
  const std::string& stderr_text() const { return err_; }

 private:
  Subprocess() = default;
  // Reads what is available from the pipes for up to `timeout`; false when both are closed.
  bool Pump(absl::Duration timeout);

  pid_t pid_ = -1;
  int out_fd_ = -1;
  int err_fd_ = -1;
  std::string out_;
  std::string err_;
  size_t out_consumed_ = 0;  // bytes of out_ already returned by ReadStdoutLine.
  bool exited_ = false;
  int exit_code_ = -1;
};

struct CommandResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs argv to completion (killing it after `timeout`) and returns what it printed.
absl::StatusOr<CommandResult> RunCommand(const std::vector<std::string>& argv,
                                         absl::Duration timeout = absl::Seconds(60));

}  // namespace tristage::testing

#endif  // TRISTAGE_TESTS_TESTING_SUBPROCESS_H_
