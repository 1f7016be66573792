#include "core/hyperopt/process_runner.h"

#include <sys/wait.h>

#include <deque>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "core/platform/child_process.h"
#include "core/util/job_protocol.h"
#include "core/util/status_macros.h"

namespace tristage::hyperopt {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

constexpr size_t kErrorTailLines = 5;  // of the child's output, in a failed trial's error

}  // namespace

TrialOutcome ProcessTrialRunner::Run(const TrialSpec& spec,
                                     const std::function<bool(const EpochReport&)>& report) {
  TrialOutcome outcome;
  const fs::path dir(spec.directory);
  absl::StatusOr<json> config = TrialConfig(options_.user_config, settings_, spec.parameters);
  if (!config.ok()) {
    outcome.status = config.status();
    return outcome;
  }
  json trial_spec = options_.trial_options;
  trial_spec["config"] = *std::move(config);
  trial_spec["run_directory"] = dir.string();
  const fs::path spec_path = dir / "trial_spec.json";
  {
    std::ofstream out(spec_path, std::ios::trunc);
    out << trial_spec.dump(2) << "\n";
    if (!out) {
      outcome.status = absl::InternalError(absl::StrCat("cannot write ", spec_path.string()));
      return outcome;
    }
  }
  platform::ChildSpec child_spec;
  child_spec.argv = {options_.trial_executable, "hyperopt_trial", "--trial_spec",
                     spec_path.string(), absl::StrCat("--", job_protocol::kEventsFdFlag),
                     std::to_string(job_protocol::kChildEventsFd)};
  const std::string threads = std::to_string(options_.threads_per_trial);
  for (const char* name : {"OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"}) {
    child_spec.env.push_back(absl::StrCat(name, "=", threads));
  }
  child_spec.nice_increment = 0;
  child_spec.pipe_stdin = true;
  child_spec.events_pipe = true;
  absl::StatusOr<std::unique_ptr<platform::ChildProcess>> child =
      platform::ChildProcess::Start(child_spec);
  if (!child.ok()) {
    outcome.status = child.status();
    return outcome;
  }
  const absl::Time started = absl::Now();
  std::ofstream log(dir / "trial.log", std::ios::app);
  std::deque<std::string> tail;
  bool have_result = false;
  std::optional<job_protocol::Error> child_error;
  absl::Status protocol_error;
  job_protocol::EventReader events(
      [&](const job_protocol::Event& event) {
        switch (event.type) {
          case job_protocol::Event::Type::kProgress: {
            EpochReport epoch;
            epoch.epoch = event.progress.epoch;
            epoch.seconds = absl::ToDoubleSeconds(absl::Now() - started);
            epoch.metrics = event.progress.metrics;
            const bool go_on = report(epoch);
            // A child that already exited makes this fail: its exit status tells why.
            (*child)->WriteStdin(absl::StrCat(go_on ? kContinueLine : kStopLine, "\n"))
                .IgnoreError();
            return;
          }
          case job_protocol::Event::Type::kResult:
            outcome.training_statistics = event.result.training_statistics;
            outcome.best_epoch = event.result.best_epoch;
            have_result = true;
            return;
          case job_protocol::Event::Type::kError:
            child_error = event.error;
            return;
        }
      },
      [&](const absl::Status& error) {
        log << error.message() << "\n";
        if (protocol_error.ok()) protocol_error = error;
        (*child)->CloseStdin();  // a child waiting for an answer reads end of file and stops
      });
  (*child)->Read(
      [&](absl::string_view line) {
        log << line << "\n";
        tail.emplace_back(line);
        if (tail.size() > kErrorTailLines) tail.pop_front();
      },
      [&](absl::string_view bytes) { events.Feed(bytes); });
  events.Finish();
  (*child)->WaitExited();
  const int status = (*child)->Reap();
  log.flush();
  if (!protocol_error.ok()) {
    outcome.status = absl::InternalError(
        absl::StrCat("the trial sent a malformed event: ", protocol_error.message()));
  } else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || !have_result) {
    std::string reason = absl::StrCat("trial process ", platform::DescribeWaitStatus(status));
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) reason += " without a result";
    if (child_error.has_value()) {
      absl::StrAppend(&reason, ": ", child_error->message);
    } else if (!tail.empty()) {
      absl::StrAppend(&reason, ": ", absl::StrJoin(tail, "\n"));
    }
    outcome.status = absl::InternalError(reason);
  }
  return outcome;
}

}  // namespace tristage::hyperopt
