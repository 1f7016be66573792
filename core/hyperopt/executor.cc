#include "core/hyperopt/executor.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "core/util/files.h"
#include "core/util/status_macros.h"

namespace tristage::hyperopt {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

constexpr char kResultFile[] = "trial_result.json";
constexpr char kParametersFile[] = "trial_hyperparameters.json";

absl::Status WriteJsonAtomically(const fs::path& path, const json& value) {
  return WriteFileAtomically(path.string(),
                             value.dump(2, ' ', false, json::error_handler_t::replace) + "\n");
}

// A metric value from a {feature: {metric: value}} block; NaN when missing or not a number.
double MetricOf(const json& block, const std::string& feature, const std::string& metric) {
  if (!block.is_object() || !block.contains(feature) || !block[feature].is_object()) return NAN;
  const json& value = block[feature].value(metric, json());
  return value.is_number() ? value.get<double>() : NAN;
}

// What the search and scheduler minimize.
double Loss(const HyperoptSettings& settings, double metric) {
  if (std::isnan(metric)) return std::numeric_limits<double>::infinity();
  return settings.maximize ? -metric : metric;
}

// Hyperopt's metric per epoch on its split, from Ludwig's training statistics; [] when absent.
json MetricSeries(const HyperoptSettings& settings, const json& training_statistics) {
  return training_statistics.value(settings.split, json::object())
      .value(settings.output_feature, json::object())
      .value(settings.metric, json::array());
}

// What a finished trial (trial_result.json) tells the search: its loss, or nothing if it failed.
std::optional<double> ObservedLoss(const HyperoptSettings& settings, const json& result) {
  const json& score = result.value("metric_score", json());
  if (!score.is_number()) return std::nullopt;
  return Loss(settings, score.get<double>());
}

struct TrialRecord {
  int64_t index = 0;
  json result;  // trial_result.json
};

class Executor {
 public:
  Executor(const HyperoptSettings& settings, SearchAlgorithm& search, TrialScheduler& scheduler,
           TrialRunner& runner, const ExecutorOptions& options, std::string statistics_path)
      : settings_(settings),
        search_(search),
        scheduler_(scheduler),
        runner_(runner),
        options_(options),
        statistics_path_(std::move(statistics_path)),
        directory_(options.directory) {}

  absl::StatusOr<ExecutorResults> Run();

 private:
  struct Running {
    std::thread thread;
    bool done = false;
  };

  absl::Status LoadPrevious(std::vector<std::pair<int64_t, json>>& reruns);
  void Replay(const TrialRecord& record) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void RunOne(TrialSpec spec, Running* slot);
  bool Report(int64_t index, const EpochReport& report, std::string& stop_reason,
              double& best_so_far, std::vector<double>& epoch_seconds);
  json Finish(const TrialSpec& spec, const TrialOutcome& outcome, const std::string& stop_reason,
              double seconds, const std::vector<double>& epoch_seconds);
  absl::Status WriteStatistics() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  bool OutOfTime() const { return absl::Now() - start_ > budget_; }
  bool Stopping() const { return options_.should_stop && options_.should_stop(); }
  void Log(const std::string& line) const {
    if (options_.log) options_.log(line + "\n");
  }

  const HyperoptSettings& settings_;
  SearchAlgorithm& search_;
  TrialScheduler& scheduler_;
  TrialRunner& runner_;
  const ExecutorOptions& options_;
  const std::string statistics_path_;
  const fs::path directory_;
  const absl::Time start_ = absl::Now();
  const absl::Duration budget_ = absl::Seconds(settings_.time_budget_s);

  absl::Mutex mu_;
  std::map<int64_t, TrialRecord> records_ ABSL_GUARDED_BY(mu_);  // finished trials
  int64_t running_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t epochs_run_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t trials_run_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Status write_error_ ABSL_GUARDED_BY(mu_);
  json statistics_ ABSL_GUARDED_BY(mu_);  // the last hyperopt_statistics.json content
};

absl::Status Executor::LoadPrevious(std::vector<std::pair<int64_t, json>>& reruns) {
  std::error_code ec;
  std::vector<std::pair<int64_t, fs::path>> trials;
  for (const auto& entry : fs::directory_iterator(directory_, ec)) {
    const std::string name = entry.path().filename().string();
    absl::string_view number = name;
    int64_t index = 0;
    if (!entry.is_directory() || !absl::ConsumePrefix(&number, "trial_") ||
        !absl::SimpleAtoi(number, &index) || index < 0) {
      continue;
    }
    trials.emplace_back(index, entry.path());
  }
  std::sort(trials.begin(), trials.end());
  absl::MutexLock lock(&mu_);
  for (const auto& [index, path] : trials) {
    if (fs::exists(path / kResultFile)) {
      TRISTAGE_ASSIGN_OR_RETURN(json result, ReadJsonFile((path / kResultFile).string()));
      TrialRecord record{index, std::move(result)};
      Replay(record);
      records_[index] = std::move(record);
      continue;
    }
    absl::StatusOr<json> parameters = ReadJsonFile((path / kParametersFile).string());
    fs::remove_all(path, ec);  // an interrupted trial: its partial files go
    if (parameters.ok()) {
      reruns.emplace_back(index, *std::move(parameters));
    } else {
      reruns.emplace_back(index, search_.Suggest(index));
    }
  }
  if (!records_.empty() || !reruns.empty()) {
    Log(absl::StrCat("resuming: ", records_.size(), " finished trial(s) kept, ", reruns.size(),
                     " interrupted trial(s) to run again"));
  }
  return absl::OkStatus();
}

// Feeds a finished trial back into the search (its score) and the scheduler (its rung records).
void Executor::Replay(const TrialRecord& record) {
  const json& result = record.result;
  search_.Observe(record.index, result.value("parameters", json::object()),
                  ObservedLoss(settings_, result));
  const json series = MetricSeries(settings_, result.value("training_stats", json::object()));
  const json seconds = result.value("epoch_seconds", json::array());
  double best = std::numeric_limits<double>::infinity();
  for (size_t i = 0; i < series.size(); ++i) {
    best = std::min(best, Loss(settings_, series[i].is_number() ? series[i].get<double>() : NAN));
    const double at = i < seconds.size() && seconds[i].is_number() ? seconds[i].get<double>() : 0;
    scheduler_.OnEpoch(record.index, static_cast<int64_t>(i) + 1, at, best);
  }
  scheduler_.OnTrialEnd(record.index);
}

bool Executor::Report(int64_t index, const EpochReport& report, std::string& stop_reason,
                      double& best_so_far, std::vector<double>& epoch_seconds) {
  const double metric = MetricOf(report.metrics.value(settings_.split, json::object()),
                                 settings_.output_feature, settings_.metric);
  best_so_far = std::min(best_so_far, Loss(settings_, metric));
  epoch_seconds.push_back(report.seconds);
  absl::MutexLock lock(&mu_);
  ++epochs_run_;
  const bool scheduler_stops = scheduler_.OnEpoch(index, report.epoch, report.seconds,
                                                  best_so_far) == TrialScheduler::Decision::kStop;
  if (Stopping()) {
    stop_reason = "cancelled";
  } else if (OutOfTime()) {
    stop_reason = "time budget";
  } else if (scheduler_stops) {
    stop_reason = "scheduler";
  }
  return stop_reason.empty();
}

json Executor::Finish(const TrialSpec& spec, const TrialOutcome& outcome,
                      const std::string& stop_reason, double seconds,
                      const std::vector<double>& epoch_seconds) {
  json result = {{"trial_id", spec.index},
                 {"trial_dir", spec.directory},
                 {"parameters", spec.parameters},
                 {"seconds", seconds},
                 {"epoch_seconds", epoch_seconds}};
  if (!outcome.status.ok()) {
    result["status"] = "failed";
    result["error"] = std::string(outcome.status.message());
    return result;
  }
  const json& stats = outcome.training_statistics;
  const json series = MetricSeries(settings_, stats);
  const int64_t best = outcome.best_epoch;
  const double score =
      best >= 1 && static_cast<size_t>(best) <= series.size() && series[best - 1].is_number()
          ? series[best - 1].get<double>()
          : NAN;
  result["training_stats"] = stats;
  result["best_epoch"] = best;
  result["epochs"] = series.size();
  if (std::isnan(score)) {
    result["status"] = "failed";
    result["error"] = absl::StrCat(settings_.split, " ", settings_.output_feature, " ",
                                   settings_.metric, " is not a number at the best epoch (", best,
                                   "): the trial diverged, or the split is empty");
    return result;
  }
  json eval_stats = json::object();
  const json split_stats = stats.value(settings_.split, json::object());
  for (const auto& [feature, metrics] : split_stats.items()) {
    for (const auto& [metric, values] : metrics.items()) {
      if (values.is_array() && static_cast<size_t>(best) <= values.size()) {
        eval_stats[feature][metric] = values[best - 1];
      }
    }
  }
  result["status"] = stop_reason.empty() ? "completed" : "stopped";
  if (!stop_reason.empty()) result["stopped_by"] = stop_reason;
  result["metric_score"] = score;
  result["eval_stats"] = std::move(eval_stats);
  return result;
}

void Executor::RunOne(TrialSpec spec, Running* slot) {
  const absl::Time started = absl::Now();
  std::string stop_reason;
  double best_so_far = std::numeric_limits<double>::infinity();
  std::vector<double> epoch_seconds;
  TrialOutcome outcome = runner_.Run(spec, [&](const EpochReport& report) {
    return Report(spec.index, report, stop_reason, best_so_far, epoch_seconds);
  });
  json result = Finish(spec, outcome, stop_reason, absl::ToDoubleSeconds(absl::Now() - started),
                       epoch_seconds);
  const absl::Status written = WriteJsonAtomically(fs::path(spec.directory) / kResultFile, result);
  if (result["status"] == "failed") {
    Log(absl::StrCat("trial ", spec.index, " failed: ", result["error"].get<std::string>()));
  } else {
    Log(absl::StrCat("trial ", spec.index, " ", result["status"].get<std::string>(),
                     result.contains("stopped_by")
                         ? absl::StrCat(" (by the ", result["stopped_by"].get<std::string>(), ")")
                         : std::string(),
                     ": ", settings_.metric, " ", result["metric_score"].dump(), " at epoch ",
                     result["best_epoch"].dump(), " of ", result["epochs"].dump()));
  }
  absl::MutexLock lock(&mu_);
  search_.Observe(spec.index, spec.parameters, ObservedLoss(settings_, result));
  scheduler_.OnTrialEnd(spec.index);
  records_[spec.index] = TrialRecord{spec.index, std::move(result)};
  if (!written.ok() && write_error_.ok()) write_error_ = written;
  if (absl::Status status = WriteStatistics(); !status.ok() && write_error_.ok()) {
    write_error_ = status;
  }
  --running_;
  slot->done = true;
}

absl::Status Executor::WriteStatistics() {
  json results = json::array();
  json failed = json::array();
  for (const auto& [index, record] : records_) {
    const json& r = record.result;
    if (r.value("status", std::string()) == "failed") {
      failed.push_back({{"trial_id", index},
                        {"trial_dir", r.value("trial_dir", std::string())},
                        {"parameters", r.value("parameters", json::object())},
                        {"error", r.value("error", std::string())}});
      continue;
    }
    json entry = {{"parameters", r["parameters"]},
                  {"metric_score", r["metric_score"]},
                  {"training_stats", r["training_stats"]},
                  {"eval_stats", r["eval_stats"]},
                  {"trial_id", index},
                  {"trial_dir", r["trial_dir"]},
                  {"best_epoch", r["best_epoch"]},
                  {"epochs", r["epochs"]},
                  {"status", r["status"]}};
    if (r.contains("stopped_by")) entry["stopped_by"] = r["stopped_by"];
    results.push_back(std::move(entry));
  }
  const bool maximize = settings_.maximize;
  std::stable_sort(results.begin(), results.end(), [maximize](const json& a, const json& b) {
    const double x = a["metric_score"].get<double>();
    const double y = b["metric_score"].get<double>();
    return maximize ? x > y : x < y;
  });
  json statistics = {{"hyperopt_config", settings_.resolved},
                     {"hyperopt_results", std::move(results)},
                     {"failed_trials", std::move(failed)}};
  absl::Status status = absl::OkStatus();
  if (!statistics_path_.empty()) status = WriteJsonAtomically(statistics_path_, statistics);
  statistics_ = std::move(statistics);
  return status;
}

absl::StatusOr<ExecutorResults> Executor::Run() {
  std::error_code ec;
  fs::create_directories(directory_, ec);
  if (ec) {
    return absl::InternalError(
        absl::StrCat("cannot create ", directory_.string(), ": ", ec.message()));
  }
  std::vector<std::pair<int64_t, json>> reruns;
  TRISTAGE_RETURN_IF_ERROR(LoadPrevious(reruns));
  int64_t next_index = 0;
  {
    absl::MutexLock lock(&mu_);
    if (!records_.empty()) next_index = records_.rbegin()->first + 1;
  }
  for (const auto& [index, parameters] : reruns) next_index = std::max(next_index, index + 1);
  const int64_t total = search_.TotalTrials();
  std::vector<std::unique_ptr<Running>> slots;
  size_t rerun = 0;
  bool cancelled = false;
  while (rerun < reruns.size() || next_index < total) {
    {
      absl::MutexLock lock(&mu_);
      auto has_room = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
        return running_ < settings_.max_concurrent_trials;
      };
      // Waits for a free slot, looking at the budget and the stop flag every 100 ms.
      while (!mu_.AwaitWithTimeout(absl::Condition(&has_room), absl::Milliseconds(100))) {
        if (Stopping() || OutOfTime()) break;
      }
      if (Stopping()) {
        cancelled = true;
        break;
      }
      if (OutOfTime()) {
        Log(absl::StrCat("time budget of ", settings_.time_budget_s,
                         " s used up: no more trials start"));
        break;
      }
      ++running_;
      ++trials_run_;
    }
    TrialSpec spec;
    if (rerun < reruns.size()) {
      spec.index = reruns[rerun].first;
      spec.parameters = reruns[rerun].second;
      ++rerun;
    } else {
      spec.index = next_index++;
      absl::MutexLock lock(&mu_);
      spec.parameters = search_.Suggest(spec.index);
    }
    const fs::path trial_dir = directory_ / absl::StrCat("trial_", spec.index);
    spec.directory = trial_dir.string();
    fs::create_directories(trial_dir, ec);
    absl::Status written = WriteJsonAtomically(trial_dir / kParametersFile, spec.parameters);
    if (!written.ok()) {
      absl::MutexLock lock(&mu_);
      --running_;
      write_error_ = written;
      break;
    }
    Log(absl::StrCat("trial ", spec.index, " of ", total, " started: ", spec.parameters.dump()));
    // Joins finished threads so at most max_concurrent_trials threads exist at once.
    for (auto& slot : slots) {
      bool done;
      {
        absl::MutexLock lock(&mu_);
        done = slot->done;
      }
      if (done && slot->thread.joinable()) slot->thread.join();
    }
    slots.erase(std::remove_if(slots.begin(), slots.end(),
                               [](const auto& slot) { return !slot->thread.joinable(); }),
                slots.end());
    auto slot = std::make_unique<Running>();
    Running* raw = slot.get();
    slot->thread = std::thread(
        [this, spec = std::move(spec), raw]() mutable { RunOne(std::move(spec), raw); });
    slots.push_back(std::move(slot));
  }
  for (auto& slot : slots) slot->thread.join();

  absl::MutexLock lock(&mu_);
  // No trial ended in this call (all resumed, or none started): the statistics are still due.
  if (statistics_.is_null()) TRISTAGE_RETURN_IF_ERROR(WriteStatistics());
  TRISTAGE_RETURN_IF_ERROR(write_error_);
  if (cancelled || Stopping()) return absl::CancelledError("hyperopt was cancelled");
  ExecutorResults results;
  results.statistics = statistics_;
  results.trials_run = trials_run_;
  results.epochs_run = epochs_run_;
  const json& ranked = statistics_["hyperopt_results"];
  if (!ranked.empty()) results.best_trial_directory = ranked[0]["trial_dir"].get<std::string>();
  return results;
}

}  // namespace

absl::StatusOr<ExecutorResults> RunTrials(const HyperoptSettings& settings, SearchAlgorithm& search,
                                          TrialScheduler& scheduler, TrialRunner& runner,
                                          const ExecutorOptions& options,
                                          const std::string& statistics_path) {
  Executor executor(settings, search, scheduler, runner, options, statistics_path);
  return executor.Run();
}

}  // namespace tristage::hyperopt
