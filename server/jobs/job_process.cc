#include "server/jobs/job_process.h"

#include <signal.h>
#include <sys/wait.h>

#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/platform/child_process.h"
#include "core/util/log.h"
#include "core/util/status_macros.h"
#include "core/util/strings.h"

namespace tristage::server::jobs {
namespace {

using job_protocol::Event;
using platform::ChildProcess;
using platform::ChildSpec;
using platform::DescribeWaitStatus;

constexpr size_t kTailLines = 20;
// A kept output line is cut here (at a UTF-8 boundary): it may end up in a failure reason, which
// is saved in job.json and sent over the Admin API.
constexpr size_t kTailLineBytes = 1000;
// The same for the error event's message, which becomes the reason.
constexpr size_t kErrorMessageBytes = 4000;


}  // namespace

absl::StatusOr<JobProcessResult> RunJobProcess(const JobProcessSpec& spec,
                                               const JobProcessHooks& hooks) {
  ChildSpec child_spec;
  child_spec.argv = spec.argv;
  child_spec.argv.insert(child_spec.argv.end(),
                         {absl::StrCat("--", job_protocol::kEventsFdFlag),
                          std::to_string(job_protocol::kChildEventsFd)});
  child_spec.events_pipe = true;
  const std::string threads = std::to_string(spec.threads);
  for (const char* name : {"OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"}) {
    child_spec.env.push_back(absl::StrCat(name, "=", threads));
  }
  // A job is a run of its own: a daemon that itself runs inside a distributed run's environment
  // (a PyTorchJob pod) must not make its jobs join that run. Empty means unset to the CLI.
  for (const char* name : {"RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE",
                           "TRISTAGE_RENDEZVOUS_FILE"}) {
    child_spec.env.push_back(absl::StrCat(name, "="));
  }
  TRISTAGE_ASSIGN_OR_RETURN(std::unique_ptr<ChildProcess> child, ChildProcess::Start(child_spec));
  if (hooks.on_started) hooks.on_started(child->pid());

  JobProcessResult result;
  auto log_line = [&](absl::string_view line) {
    if (hooks.on_log_line) hooks.on_log_line(line);
  };
  job_protocol::EventReader events(
      [&](const Event& event) {
        switch (event.type) {
          case Event::Type::kProgress:
            if (hooks.on_progress) hooks.on_progress(event.progress);
            return;
          case Event::Type::kResult:
            result.result = event.result;
            return;
          case Event::Type::kError:
            result.error = event.error;
            return;
        }
      },
      [&](const absl::Status& error) {
        ++result.protocol_errors;
        if (result.first_protocol_error.empty()) result.first_protocol_error = std::string(error.message());
        TRISTAGE_LOG(Warning) << "tristage " << spec.verb << " (pid " << child->pid()
                              << "): " << error.message();
        log_line(error.message());
      });
  child->Read(
      [&](absl::string_view line) {
        result.tail.push_back(CutUtf8(line, kTailLineBytes));
        if (result.tail.size() > kTailLines) result.tail.pop_front();
        log_line(line);
      },
      [&](absl::string_view bytes) { events.Feed(bytes); });
  events.Finish();
  child->WaitExited();
  result.wait_status = child->Reap();
  return result;
}

absl::Status CheckJobProcess(const std::string& verb, const JobProcessResult& result) {
  const int status = result.wait_status;
  const bool exited_zero = WIFEXITED(status) && WEXITSTATUS(status) == 0;
  if (exited_zero && result.result.has_value()) return absl::OkStatus();
  std::string reason = absl::StrCat("tristage ", verb, " ", DescribeWaitStatus(status));
  if (exited_zero) {
    absl::StrAppend(&reason, " without sending a result event on its job events channel");
    if (!result.first_protocol_error.empty()) {
      absl::StrAppend(&reason, " (", result.protocol_errors, " malformed event line(s), first: ",
                      result.first_protocol_error, ")");
    }
    return absl::InternalError(reason);
  }
  if (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) {
    absl::StrAppend(&reason, "; the system may have run out of memory");
  }
  if (result.error.has_value()) {
    return absl::InternalError(
        absl::StrCat(reason, ": tristage ", verb, ": ",
                     CutUtf8(result.error->message, kErrorMessageBytes)));
  }
  // No word from the child (a crash, an exec failure, a signal): show where it was.
  const size_t wanted = WIFSIGNALED(status) ? 1 : 3;
  std::vector<std::string> last;
  for (auto it = result.tail.rbegin(); it != result.tail.rend() && last.size() < wanted; ++it) {
    if (!it->empty()) last.insert(last.begin(), *it);
  }
  if (last.empty()) return absl::InternalError(reason);
  return absl::InternalError(absl::StrCat(
      reason, WIFSIGNALED(status) ? "; its last output: " : ": ", absl::StrJoin(last, " / ")));
}

std::map<std::string, double> JobMetrics(const job_protocol::Progress& progress) {
  std::map<std::string, double> metrics;
  for (const auto& [split, scores] : progress.metrics.items()) {
    auto combined = scores.find("combined");
    if (combined != scores.end() && combined->contains("loss")) {
      metrics[split + "_loss"] = combined->at("loss").get<double>();
    }
    auto field = scores.find(progress.validation_field);
    if (progress.validation_field.empty() || progress.validation_metric.empty() ||
        field == scores.end()) {
      continue;
    }
    auto value = field->find(progress.validation_metric);
    if (value != field->end()) {
      metrics[absl::StrCat(split, "_", progress.validation_field, "_",
                           progress.validation_metric)] = value->get<double>();
    }
  }
  return metrics;
}

void SignalJobProcess(int64_t pid, int signal_number) {
  if (pid > 0) kill(static_cast<pid_t>(-pid), signal_number);
}

}  // namespace tristage::server::jobs
