// Running one child process of a job (the `tristage` CLI verb, or its export for publishing) and
// following it through the job protocol (core/util/job_protocol.h, docs/jobs.md).
//
// The child gets `--job_events_fd 3` and a pipe as its descriptor 3: progress, its result and its
// error come from there only. Its stdout and stderr (the human log) are passed on line by line
// for the job's log and watchers, and their last lines are kept to show when the child died
// without saying why; nothing in them is ever interpreted.
//
// The child runs in its own process group (SignalJobProcess reaches everything it started), at a
// lower CPU priority, with `threads` OMP/OpenBLAS/MKL threads, and dies with the calling thread
// (PR_SET_PDEATHSIG): call RunJobProcess from a thread that outlives the child (a job runner).
// Thread safety: RunJobProcess blocks its caller until the child is reaped; the hooks run on it.
#ifndef TRISTAGE_SERVER_JOBS_JOB_PROCESS_H_
#define TRISTAGE_SERVER_JOBS_JOB_PROCESS_H_

#include <sys/types.h>

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/util/job_protocol.h"

namespace tristage::server::jobs {

struct JobProcessSpec {
  std::string verb;               // for messages: "train", "export_torchscript", ...
  std::vector<std::string> argv;  // argv[0] the CLI; the events flag is appended
  int threads = 1;
};

struct JobProcessHooks {
  // The child exists (its pid is its process group). Called before any output is read.
  std::function<void(pid_t pid)> on_started;
  // Each line of human output, and each malformed event line's report ("job events line 3:
  // ..."), in order: the job's log.
  std::function<void(absl::string_view line)> on_log_line;
  std::function<void(const job_protocol::Progress& progress)> on_progress;
};

struct JobProcessResult {
  int wait_status = 0;                         // waitpid(2)'s
  std::optional<job_protocol::Result> result;  // the last result event
  std::optional<job_protocol::Error> error;    // the last error event
  int64_t protocol_errors = 0;                 // malformed event lines
  std::string first_protocol_error;
  // The last 20 human lines (each cut at 1000 bytes), only ever shown, never parsed.
  std::deque<std::string> tail;
};

// Starts the child and follows it until it is reaped. Internal when it cannot be started.
absl::StatusOr<JobProcessResult> RunJobProcess(const JobProcessSpec& spec,
                                               const JobProcessHooks& hooks);

// OK when the child exited 0 and sent a result event. Otherwise Internal with the reason:
// "tristage <verb> exited with status 1: tristage <verb>: <its error event's message>" (cut at
// 4000 bytes);
// killed: naming the signal (SIGKILL: "the system may have run out of memory") and its last
// output line; exited without an error event: its last 3 output lines; exited 0 without a result
// event: saying so (and the first malformed event line, if any).
absl::Status CheckJobProcess(const std::string& verb, const JobProcessResult& result);

// The metrics the Admin API shows for a progress event: "<split>_loss" (the combined loss) and
// "<split>_<validation_field>_<validation_metric>" for each split that has them.
std::map<std::string, double> JobMetrics(const job_protocol::Progress& progress);

// Sends `signal_number` to the process group `pid` leads.
void SignalJobProcess(int64_t pid, int signal_number);

}  // namespace tristage::server::jobs

#endif  // TRISTAGE_SERVER_JOBS_JOB_PROCESS_H_
