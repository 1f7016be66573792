#include "core/hyperopt/process_runner.h"

#include <sys/wait.h>

#include <deque>
#include <filesystem>
#include <fstream>
#include <memory>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "core/platform/child_process.h"
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
                     spec_path.string()};
  const std::string threads = std::to_string(options_.threads_per_trial);
  for (const char* name : {"OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"}) {
    child_spec.env.push_back(absl::StrCat(name, "=", threads));
  }
  child_spec.nice_increment = 0;
  child_spec.pipe_stdin = true;
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
  absl::Status protocol_error;
  (*child)->ReadLines([&](absl::string_view line) {
    if (absl::StartsWith(line, kEpochLinePrefix)) {
      json message = json::parse(line.substr(sizeof(kEpochLinePrefix) - 1), nullptr, false);
      if (message.is_discarded() || !message.is_object()) {
        protocol_error = absl::InternalError("the trial sent an unreadable epoch report");
        (*child)->CloseStdin();  // the child's read fails and it exits
        return;
      }
      EpochReport epoch;
      epoch.epoch = message.value("epoch", int64_t{0});
      epoch.seconds = absl::ToDoubleSeconds(absl::Now() - started);
      epoch.metrics = message.value("metrics", json::object());
      const bool go_on = report(epoch);
      // A child that already exited makes this fail: its exit status tells why.
      (*child)->WriteStdin(absl::StrCat(go_on ? kContinueLine : kStopLine, "\n")).IgnoreError();
      return;
    }
    if (absl::StartsWith(line, kResultLinePrefix)) {
      json message = json::parse(line.substr(sizeof(kResultLinePrefix) - 1), nullptr, false);
      if (message.is_discarded() || !message.is_object()) {
        protocol_error = absl::InternalError("the trial sent an unreadable result");
        return;
      }
      outcome.training_statistics = message.value("training_statistics", json::object());
      outcome.best_epoch = message.value("best_epoch", int64_t{0});
      have_result = true;
      return;
    }
    log << line << "\n";
    tail.emplace_back(line);
    if (tail.size() > kErrorTailLines) tail.pop_front();
  });
  (*child)->WaitExited();
  const int status = (*child)->Reap();
  log.flush();
  if (!protocol_error.ok()) {
    outcome.status = protocol_error;
  } else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || !have_result) {
    std::string reason = absl::StrCat("trial process ", platform::DescribeWaitStatus(status));
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) reason += " without a result";
    if (!tail.empty()) absl::StrAppend(&reason, ": ", absl::StrJoin(tail, "\n"));
    outcome.status = absl::InternalError(reason);
  }
  return outcome;
}

}  // namespace tristage::hyperopt
