// Tests of the JobManager with real children: the built `tristage` CLI trains on a small generated
// dataset in a temporary directory; cancel, kill -9, restart and publishing go through real
// processes and files.
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "server/jobs/job_manager.h"
#include "tests/testing/subprocess.h"

namespace tristage::server::jobs {
namespace {

namespace fs = std::filesystem;

// The tests' model: two numbers and a category to a binary label. `trainer` is the YAML of the
// trainer section; `color_encoder`, when set, the category encoder's type.
std::string ModelConfig(const std::string& trainer, const std::string& color_encoder = "") {
  std::string config =
      "input_features:\n  - name: x1\n    type: number\n  - name: x2\n    type: number\n"
      "  - name: color\n    type: category\n";
  if (!color_encoder.empty()) config += "    encoder:\n      type: " + color_encoder + "\n";
  return config + "output_features:\n  - name: label\n    type: binary\ntrainer:\n" + trainer;
}

const std::string kShortConfig = ModelConfig("  epochs: 2\n");
// Trains until cancelled or killed.
const std::string kEndlessConfig = ModelConfig("  epochs: 100000\n  early_stop: -1\n");
const std::string kBadEncoderConfig = ModelConfig("  epochs: 1\n", "no_such_encoder");

class JobManagerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() /
           absl::StrCat("tristage_jobs_test_", getpid(), "_", info->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    dataset_ = (dir_ / "data.csv").string();
    std::ofstream out(dataset_);
    out << "x1,x2,color,label\n";
    const char* colors[] = {"red", "green", "blue"};
    for (int i = 0; i < 300; ++i) {
      const double x1 = (i * 37 % 100) / 10.0;
      const double x2 = (i * 53 % 100) / 10.0;
      const bool label = x1 + x2 + (i % 3 == 0 ? 2 : 0) > 10;
      out << x1 << "," << x2 << "," << colors[i % 3] << "," << (label ? "true" : "false") << "\n";
    }
  }
  void TearDown() override {
    manager_.reset();
    fs::remove_all(dir_);
  }

  JobManagerOptions Options() {
    JobManagerOptions options;
    options.state_dir = (dir_ / "state").string();
    options.cli_binary = TRISTAGE_CLI_BINARY;
    return options;
  }

  void StartManager(JobManagerOptions options) {
    auto manager = JobManager::Create(std::move(options));
    ASSERT_TRUE(manager.ok()) << manager.status();
    manager_ = *std::move(manager);
  }

  JobSpec TrainSpec(const std::string& config) const {
    JobSpec spec;
    spec.kind = JobKind::kTrain;
    spec.config = config;
    spec.dataset = dataset_;
    return spec;
  }

  std::string Submit(JobSpec spec) {
    auto id = manager_->Submit(std::move(spec));
    EXPECT_TRUE(id.ok()) << id.status();
    return id.value_or("");
  }

  // Every event of job `id` until it ends (or `timeout`).
  std::vector<JobEvent> WaitUntilEnded(const std::string& id,
                                       absl::Duration timeout = absl::Seconds(90)) {
    std::vector<JobEvent> all;
    const absl::Time deadline = absl::Now() + timeout;
    bool ended = false;
    while (!ended && absl::Now() < deadline) {
      auto events =
          manager_->WaitEvents(id, all.empty() ? 0 : all.back().sequence, deadline, &ended);
      EXPECT_TRUE(events.ok()) << events.status();
      if (!events.ok()) break;
      all.insert(all.end(), events->begin(), events->end());
    }
    EXPECT_TRUE(ended) << "job " << id << " did not end within " << timeout;
    return all;
  }

  // Waits for the first progress event of a running job and returns its child's pid.
  int64_t WaitForTraining(const std::string& id) {
    int64_t after = 0;
    const absl::Time deadline = absl::Now() + absl::Seconds(60);
    while (absl::Now() < deadline) {
      bool ended = false;
      auto events = manager_->WaitEvents(id, after, deadline, &ended);
      EXPECT_TRUE(events.ok()) << events.status();
      if (!events.ok() || ended) break;
      for (const JobEvent& e : *events) {
        after = e.sequence;
        if (e.type == JobEvent::Type::kProgress) return manager_->Get(id)->pid;
      }
    }
    ADD_FAILURE() << "job " << id << " never reported progress";
    return 0;
  }

  nlohmann::json ReadJobJson(const std::string& id) const {
    std::ifstream in(dir_ / "state" / "jobs" / id / "job.json");
    return nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  }

  fs::path dir_;
  std::string dataset_;
  std::unique_ptr<JobManager> manager_;
};

bool ProcessGone(int64_t pid) {
  return kill(static_cast<pid_t>(pid), 0) == -1 && errno == ESRCH;
}

// Gone, or a zombie waiting for an init that may not reap (a grandchild is not ours to reap).
bool ProcessDead(int64_t pid) {
  if (ProcessGone(pid)) return true;
  std::ifstream stat(absl::StrCat("/proc/", pid, "/stat"));
  std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  const size_t paren = text.rfind(')');
  return paren != std::string::npos && text.substr(paren + 2, 1) == "Z";
}

TEST_F(JobManagerTest, TrainJobSucceedsWithLogLinesProgressAndAModel) {
  StartManager(Options());
  const std::string id = Submit(TrainSpec(kShortConfig));
  EXPECT_EQ(id, "j000001");
  const std::vector<JobEvent> events = WaitUntilEnded(id);

  std::vector<JobState> states;
  int logs = 0, progress = 0;
  int64_t last_sequence = 0;
  for (const JobEvent& e : events) {
    EXPECT_GT(e.sequence, last_sequence);
    last_sequence = e.sequence;
    if (e.type == JobEvent::Type::kState) states.push_back(e.state);
    if (e.type == JobEvent::Type::kLog) ++logs;
    if (e.type == JobEvent::Type::kProgress) {
      ++progress;
      EXPECT_GE(e.epoch, 1);
      EXPECT_GT(e.step, 0);
      EXPECT_EQ(e.metrics.count("validation_loss"), 1u);
      EXPECT_EQ(e.metrics.count("validation_label_roc_auc"), 1u);
    }
  }
  EXPECT_EQ(states,
            (std::vector<JobState>{JobState::kQueued, JobState::kRunning, JobState::kSucceeded}));
  EXPECT_GT(logs, 0);
  EXPECT_GE(progress, 1);

  auto record = manager_->Get(id);
  ASSERT_TRUE(record.ok()) << record.status();
  EXPECT_EQ(record->state, JobState::kSucceeded) << record->reason;
  EXPECT_EQ(record->epoch, 2);
  EXPECT_EQ(record->pid, 0);
  EXPECT_LE(record->created, record->started);
  EXPECT_LE(record->started, record->finished);
  EXPECT_TRUE(fs::exists(fs::path(record->model_dir) / "model_hyperparameters.json"))
      << record->model_dir;
  EXPECT_EQ(fs::path(record->model_dir), fs::path(record->output_dir) / "experiment_run" / "model");
  EXPECT_GT(fs::file_size(record->log_path), 0u);

  const nlohmann::json saved = ReadJobJson(id);
  ASSERT_FALSE(saved.is_discarded());
  EXPECT_EQ(saved["state"], "SUCCEEDED");
  EXPECT_EQ(saved["model_dir"], record->model_dir);
  EXPECT_EQ(saved["spec"]["config"], kShortConfig);

  // Artifacts stay inside the job's output directory.
  auto artifact = manager_->ArtifactPath(id, "experiment_run/model/model_hyperparameters.json");
  EXPECT_TRUE(artifact.ok()) << artifact.status();
  EXPECT_EQ(manager_->ArtifactPath(id, "../job.json").status().code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(manager_->ArtifactPath(id, "/etc/passwd").status().code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(manager_->ArtifactPath(id, "no_such_file").status().code(),
            absl::StatusCode::kNotFound);
  fs::create_directory_symlink("/etc", fs::path(record->output_dir) / "escape");
  EXPECT_EQ(manager_->ArtifactPath(id, "escape/passwd").status().code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(manager_->Cancel(id).code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(JobManagerTest, PublishWritesNumberedVersionsAndLoadsTheModel) {
  JobManagerOptions options = Options();
  options.model_repository = (dir_ / "repo").string();
  absl::Mutex mu;
  std::vector<std::string> loads;
  options.load_model = [&](const std::string& model) {
    absl::MutexLock lock(&mu);
    loads.push_back(model);
    return absl::OkStatus();
  };
  StartManager(options);
  JobSpec spec = TrainSpec(kShortConfig);
  spec.publish_model = "colors";
  const std::string first = Submit(spec);
  WaitUntilEnded(first);
  auto record = manager_->Get(first);
  ASSERT_EQ(record->state, JobState::kSucceeded) << record->reason;
  EXPECT_EQ(record->published_version, 1);
  EXPECT_TRUE(fs::exists(dir_ / "repo" / "colors" / "1" / "manifest.json"));
  {
    absl::MutexLock lock(&mu);
    EXPECT_EQ(loads, std::vector<std::string>{"colors"});
  }

  const std::string second = Submit(spec);
  WaitUntilEnded(second);
  record = manager_->Get(second);
  ASSERT_EQ(record->state, JobState::kSucceeded) << record->reason;
  EXPECT_EQ(record->published_version, 2);
  EXPECT_TRUE(fs::exists(dir_ / "repo" / "colors" / "2" / "manifest.json"));
  {
    absl::MutexLock lock(&mu);
    EXPECT_EQ(loads, (std::vector<std::string>{"colors", "colors"}));
  }
  for (const auto& entry : fs::directory_iterator(dir_ / "repo" / "colors")) {
    EXPECT_FALSE(absl::StartsWith(entry.path().filename().string(), "."))
        << "left behind: " << entry.path();
  }
}

TEST_F(JobManagerTest, FailedLoadMakesThePublishingJobFailed) {
  JobManagerOptions options = Options();
  options.model_repository = (dir_ / "repo").string();
  options.load_model = [](const std::string&) { return absl::UnavailableError("warm-up failed"); };
  StartManager(options);
  JobSpec spec = TrainSpec(kShortConfig);
  spec.publish_model = "colors";
  const std::string id = Submit(spec);
  WaitUntilEnded(id);
  auto record = manager_->Get(id);
  EXPECT_EQ(record->state, JobState::kFailed);
  EXPECT_TRUE(absl::StrContains(record->reason, "warm-up failed")) << record->reason;
  EXPECT_TRUE(absl::StrContains(record->reason, "'colors' version 1")) << record->reason;
}

TEST_F(JobManagerTest, CancelStopsARunningChildAndAQueuedJob) {
  StartManager(Options());
  const std::string running = Submit(TrainSpec(kEndlessConfig));
  const std::string queued = Submit(TrainSpec(kShortConfig));
  const int64_t pid = WaitForTraining(running);
  ASSERT_GT(pid, 0);

  ASSERT_TRUE(manager_->Cancel(queued).ok());
  EXPECT_EQ(manager_->Get(queued)->state, JobState::kCancelled);

  const absl::Time start = absl::Now();
  ASSERT_TRUE(manager_->Cancel(running).ok());
  auto record = manager_->Get(running);
  EXPECT_EQ(record->state, JobState::kCancelled);
  EXPECT_LT(absl::Now() - start, absl::Seconds(20));  // ~0.05 s idle; loaded machines
  EXPECT_EQ(record->reason, "cancelled by request");
  EXPECT_EQ(record->pid, 0);
  EXPECT_TRUE(ProcessGone(pid)) << "pid " << pid << " is still there";
  EXPECT_EQ(ReadJobJson(running)["state"], "CANCELLED");
  EXPECT_EQ(manager_->Cancel(running).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(manager_->Cancel("j999999").code(), absl::StatusCode::kNotFound);
}

TEST_F(JobManagerTest, CancelEscalatesToSigkillForTheWholeProcessGroup) {
  // A stand-in CLI that ignores SIGTERM and leaves a grandchild in its process group.
  const fs::path cli = dir_ / "stubborn_cli";
  std::ofstream(cli) << "#!/bin/sh\n"
                        "trap '' TERM\n"
                        "sleep 1000 &\n"
                        "echo \"grandchild $!\"\n"
                        // Progress comes on the job events descriptor (docs/jobs.md).
                        "echo '{\"v\":1,\"type\":\"progress\",\"epoch\":1,\"step\":3}' >&3\n"
                        "wait\n";
  fs::permissions(cli, fs::perms::owner_all);
  JobManagerOptions options = Options();
  options.cli_binary = cli.string();
  StartManager(options);
  const std::string id = Submit(TrainSpec(kShortConfig));
  const int64_t pid = WaitForTraining(id);
  ASSERT_GT(pid, 0);
  int64_t grandchild = 0;
  bool ended = false;
  auto events = manager_->WaitEvents(id, 0, absl::Now(), &ended);
  ASSERT_TRUE(events.ok()) << events.status();
  for (const JobEvent& e : *events) {
    absl::string_view text = e.text;
    if (absl::ConsumePrefix(&text, "grandchild ")) {
      ASSERT_TRUE(absl::SimpleAtoi(text, &grandchild)) << e.text;
    }
  }
  ASSERT_GT(grandchild, 0);

  const absl::Time start = absl::Now();
  ASSERT_TRUE(manager_->Cancel(id).ok());
  const absl::Duration took = absl::Now() - start;
  EXPECT_GE(took, absl::Milliseconds(950));
  EXPECT_LT(took, absl::Seconds(15));  // the 1 s grace, then SIGKILL: ~1.05 s idle
  auto record = manager_->Get(id);
  EXPECT_EQ(record->state, JobState::kCancelled);
  EXPECT_EQ(record->reason, "cancelled by request");
  EXPECT_TRUE(ProcessGone(pid));
  EXPECT_TRUE(ProcessDead(grandchild)) << "grandchild " << grandchild << " survived";
}

TEST_F(JobManagerTest, EventHistoryDropsTheOldestLogLinesFirst) {
  // A stand-in CLI: 50 lines, then an error that is not the CLI's "tristage <verb>:" form.
  const fs::path cli = dir_ / "chatty_cli";
  std::ofstream(cli) << "#!/bin/sh\n"
                        "i=0; while [ $i -lt 50 ]; do echo \"line $i\"; i=$((i+1)); done\n"
                        "echo 'Segmentation fault, or so' >&2\n"
                        "exit 2\n";
  fs::permissions(cli, fs::perms::owner_all);
  JobManagerOptions options = Options();
  options.cli_binary = cli.string();
  options.max_events_per_job = 10;
  StartManager(options);
  const std::string id = Submit(TrainSpec(kShortConfig));
  WaitUntilEnded(id);
  bool ended = false;
  auto events = manager_->WaitEvents(id, 0, absl::Now(), &ended);
  ASSERT_TRUE(events.ok()) << events.status();
  EXPECT_TRUE(ended);
  ASSERT_EQ(events->size(), 10u);
  EXPECT_EQ(events->front().type, JobEvent::Type::kState);  // QUEUED, RUNNING kept
  EXPECT_EQ(events->back().type, JobEvent::Type::kState);   // FAILED
  EXPECT_EQ(events->back().sequence, 54);                   // 3 states + 51 lines
  EXPECT_EQ((*events)[events->size() - 2].text, "Segmentation fault, or so");
  auto record = manager_->Get(id);
  EXPECT_EQ(record->state, JobState::kFailed);
  EXPECT_TRUE(absl::StrContains(record->reason,
                                "exited with status 2: line 48 / line 49 / "
                                "Segmentation fault, or so"))
      << record->reason;
  // The log file keeps everything.
  std::ifstream log(record->log_path);
  int lines = 0;
  for (std::string line; std::getline(log, line);) ++lines;
  EXPECT_EQ(lines, 51);
  // Nothing newer than the last event: returns at once, empty, ended.
  events = manager_->WaitEvents(id, 54, absl::Now() + absl::Seconds(10), &ended);
  ASSERT_TRUE(events.ok());
  EXPECT_TRUE(events->empty());
  EXPECT_TRUE(ended);
}

// A child printing huge lines: each log event keeps its first 4 KiB (the history is held in
// memory, up to max_events_per_job events); the log file keeps every byte.
TEST_F(JobManagerTest, ALogEventKeepsTheStartOfAHugeLine) {
  const fs::path cli = dir_ / "wordy_cli";
  std::ofstream(cli) << "#!/bin/sh\n"
                        "head -c 3000000 /dev/zero | tr '\\0' x\n"
                        "echo\n"
                        "exit 3\n";
  fs::permissions(cli, fs::perms::owner_all);
  JobManagerOptions options = Options();
  options.cli_binary = cli.string();
  StartManager(options);
  const std::string id = Submit(TrainSpec(kShortConfig));
  WaitUntilEnded(id);
  bool ended = false;
  auto events = manager_->WaitEvents(id, 0, absl::Now(), &ended);
  ASSERT_TRUE(events.ok()) << events.status();
  size_t longest = 0, log_events = 0;
  for (const JobEvent& e : *events) {
    if (e.type != JobEvent::Type::kLog) continue;
    ++log_events;
    longest = std::max(longest, e.text.size());
    EXPECT_TRUE(absl::StartsWith(e.text, "xxxx")) << e.text.substr(0, 40);
  }
  EXPECT_GE(log_events, 1u);
  EXPECT_LE(longest, 4096u + 32u);  // 4 KiB and " [N more bytes]"
  auto record = manager_->Get(id);
  ASSERT_TRUE(record.ok());
  EXPECT_GE(fs::file_size(record->log_path), 3000000u);  // every byte (lines over 1 MiB in pieces)
}

TEST_F(JobManagerTest, ExperimentEvaluateAndBatchPredictRunTheirVerbs) {
  StartManager(Options());
  JobSpec experiment = TrainSpec(kShortConfig);
  experiment.kind = JobKind::kExperiment;
  experiment.options = {{"experiment_name", "exp"},
                        {"model_name", "m1"},
                        {"random_seed", "7"},
                        {"skip_save_processed_input", "true"},
                        {"skip_save_log", "false"}};
  const std::string trained = Submit(experiment);
  WaitUntilEnded(trained);
  auto record = manager_->Get(trained);
  ASSERT_EQ(record->state, JobState::kSucceeded) << record->reason;
  EXPECT_EQ(fs::path(record->model_dir), fs::path(record->output_dir) / "exp_m1" / "model");

  JobSpec evaluate;
  evaluate.kind = JobKind::kEvaluate;
  evaluate.dataset = dataset_;
  evaluate.model_path = record->model_dir;
  evaluate.options = {{"split", "test"}, {"batch_size", "64"}};
  const std::string evaluated = Submit(evaluate);
  JobSpec predict = evaluate;
  predict.kind = JobKind::kBatchPredict;
  const std::string predicted = Submit(predict);
  WaitUntilEnded(evaluated);
  WaitUntilEnded(predicted);
  record = manager_->Get(evaluated);
  EXPECT_EQ(record->state, JobState::kSucceeded) << record->reason;
  EXPECT_TRUE(manager_->ArtifactPath(evaluated, "test_statistics.json").ok());
  record = manager_->Get(predicted);
  EXPECT_EQ(record->state, JobState::kSucceeded) << record->reason;
  EXPECT_TRUE(record->model_dir.empty());
  EXPECT_FALSE(fs::is_empty(record->output_dir));

  // The CLI has no hyperopt yet: the job fails with what the CLI says.
  JobSpec hyperopt = TrainSpec(kShortConfig);
  hyperopt.kind = JobKind::kHyperopt;
  const std::string searched = Submit(hyperopt);
  WaitUntilEnded(searched);
  record = manager_->Get(searched);
  EXPECT_EQ(record->state, JobState::kFailed);
  EXPECT_TRUE(absl::StrContains(record->reason, "tristage hyperopt: ")) << record->reason;
}

TEST_F(JobManagerTest, ConfigErrorFailsWithTheMessageTheCliPrints) {
  const fs::path config = dir_ / "bad.yaml";
  std::ofstream(config) << kBadEncoderConfig;
  auto direct = testing::RunCommand({TRISTAGE_CLI_BINARY, "train", "-c", config.string(),
                                     "--dataset", dataset_, "-od", (dir_ / "direct").string()});
  ASSERT_TRUE(direct.ok()) << direct.status();
  ASSERT_NE(direct->exit_code, 0);
  std::string cli_error;
  for (absl::string_view line : absl::StrSplit(direct->err, '\n')) {
    if (absl::StartsWith(line, "tristage train: ")) cli_error = std::string(line);
  }
  ASSERT_FALSE(cli_error.empty()) << direct->err;

  StartManager(Options());
  const std::string id = Submit(TrainSpec(kBadEncoderConfig));
  WaitUntilEnded(id);
  auto record = manager_->Get(id);
  EXPECT_EQ(record->state, JobState::kFailed);
  EXPECT_TRUE(absl::StrContains(record->reason, cli_error))
      << "reason: " << record->reason << "\nCLI: " << cli_error;
  EXPECT_TRUE(absl::StrContains(record->reason, "exited with status")) << record->reason;
}

TEST_F(JobManagerTest, KilledChildFailsNamingSigkill) {
  StartManager(Options());
  const std::string id = Submit(TrainSpec(kEndlessConfig));
  const int64_t pid = WaitForTraining(id);
  ASSERT_GT(pid, 0);
  ASSERT_EQ(kill(static_cast<pid_t>(pid), SIGKILL), 0);
  WaitUntilEnded(id);
  auto record = manager_->Get(id);
  EXPECT_EQ(record->state, JobState::kFailed);
  EXPECT_TRUE(absl::StrContains(record->reason, "killed by signal 9 (SIGKILL)")) << record->reason;
  EXPECT_TRUE(absl::StrContains(record->reason, "out of memory")) << record->reason;
}

TEST_F(JobManagerTest, RestartKeepsHistoryFailsRunningJobsAndRequeuesQueuedOnes) {
  StartManager(Options());
  const std::string done = Submit(TrainSpec(kShortConfig));
  WaitUntilEnded(done);
  const JobRecord done_before = *manager_->Get(done);
  ASSERT_EQ(done_before.state, JobState::kSucceeded) << done_before.reason;
  const std::string running = Submit(TrainSpec(kEndlessConfig));
  const std::string queued = Submit(TrainSpec(kShortConfig));
  const int64_t pid = WaitForTraining(running);
  ASSERT_GT(pid, 0);

  manager_.reset();  // the daemon stops
  EXPECT_TRUE(ProcessGone(pid));

  StartManager(Options());
  const JobRecord done_after = *manager_->Get(done);
  EXPECT_EQ(done_after.state, JobState::kSucceeded);
  EXPECT_EQ(done_after.model_dir, done_before.model_dir);
  EXPECT_EQ(done_after.finished, done_before.finished);
  EXPECT_EQ(done_after.epoch, 2);
  const JobRecord stopped = *manager_->Get(running);
  EXPECT_EQ(stopped.state, JobState::kFailed);
  EXPECT_EQ(stopped.reason, "the daemon stopped while the job was running");
  EXPECT_EQ(Submit(TrainSpec(kShortConfig)), "j000004");
  // The queued job runs in the new manager.
  WaitUntilEnded(queued);
  EXPECT_EQ(manager_->Get(queued)->state, JobState::kSucceeded) << manager_->Get(queued)->reason;
  EXPECT_EQ(manager_->List().size(), 4u);
  EXPECT_EQ(manager_->List(JobState::kFailed).size(), 1u);
}

TEST_F(JobManagerTest, RestoreFailsAJobACrashLeftRunning) {
  const fs::path job_dir = dir_ / "state" / "jobs" / "j000007";
  fs::create_directories(job_dir);
  std::ofstream(job_dir / "job.json") << R"({"id": "j000007", "kind": "train", "state": "RUNNING",
    "created": "2026-12-01T10:00:00Z", "started": "2026-12-01T10:00:01Z",
    "spec": {"config": "x", "dataset": "/nowhere.csv"}})";
  StartManager(Options());
  auto record = manager_->Get("j000007");
  ASSERT_TRUE(record.ok()) << record.status();
  EXPECT_EQ(record->state, JobState::kFailed);
  EXPECT_EQ(record->reason, "the daemon stopped while the job was running");
  EXPECT_EQ(record->created, absl::FromUnixSeconds(1796119200));
  EXPECT_EQ(ReadJobJson("j000007")["state"], "FAILED");
  bool ended = false;
  auto events = manager_->WaitEvents("j000007", 0, absl::Now(), &ended);
  ASSERT_TRUE(events.ok());
  EXPECT_TRUE(ended);
  ASSERT_FALSE(events->empty());
  EXPECT_EQ(events->back().state, JobState::kFailed);

  manager_.reset();
  std::ofstream(job_dir / "job.json") << "{not json";
  auto broken = JobManager::Create(Options());
  EXPECT_FALSE(broken.ok());
  EXPECT_TRUE(absl::StrContains(broken.status().message(), "j000007/job.json")) << broken.status();
}

// The state directory's lock file is truncated and written by the daemon: a symbolic link planted
// in its place is refused, and what it points at is left alone.
TEST_F(JobManagerTest, ALockFileThatIsASymbolicLinkIsRefusedAndItsTargetUntouched) {
  fs::create_directories(dir_ / "state");
  std::ofstream(dir_ / "precious") << "keep me\n";
  fs::create_symlink(dir_ / "precious", dir_ / "state" / "lock");
  auto manager = JobManager::Create(Options());
  EXPECT_EQ(manager.status().code(), absl::StatusCode::kFailedPrecondition) << manager.status();
  EXPECT_TRUE(absl::StrContains(manager.status().message(), "is a symbolic link"))
      << manager.status();
  std::ifstream in(dir_ / "precious");
  std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(content, "keep me\n");
}

TEST_F(JobManagerTest, SubmitValidatesTheSpec) {
  JobManagerOptions options = Options();
  options.max_queued_jobs = 1;
  StartManager(options);

  JobSpec spec = TrainSpec(kShortConfig);
  spec.options["learning_rate"] = "0.1";
  auto status = manager_->Submit(spec).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(status.message(), "learning_rate")) << status;
  EXPECT_TRUE(absl::StrContains(status.message(), "experiment_name")) << status;

  spec = TrainSpec("");
  status = manager_->Submit(spec).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(status.message(), "config")) << status;

  spec = TrainSpec(kShortConfig);
  spec.dataset = (dir_ / "missing.csv").string();
  status = manager_->Submit(spec).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(absl::StrContains(status.message(), "missing.csv")) << status;

  spec = TrainSpec(kShortConfig);
  spec.kind = JobKind::kEvaluate;
  status = manager_->Submit(spec).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(status.message(), "model_path")) << status;

  spec = TrainSpec(kShortConfig);
  spec.publish_model = "colors";
  EXPECT_EQ(manager_->Submit(spec).status().code(), absl::StatusCode::kFailedPrecondition);

  // A k-fold experiment has no single model, an evaluation none at all: nothing to publish.
  spec.kind = JobKind::kExperiment;
  spec.options["k_fold"] = "3";
  status = manager_->Submit(spec).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(status.message(), "k-fold experiment trains one model per fold"))
      << status;
  spec.options.clear();
  spec.kind = JobKind::kEvaluate;
  spec.model_path = dir_.string();  // exists; evaluation never starts
  status = manager_->Submit(spec).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(status.message(), "only train, experiment and hyperopt jobs"))
      << status;

  // One running, one queued: the next is refused.
  const std::string running = Submit(TrainSpec(kEndlessConfig));
  ASSERT_GT(WaitForTraining(running), 0);
  const std::string queued = Submit(TrainSpec(kShortConfig));
  status = manager_->Submit(TrainSpec(kShortConfig)).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted) << status;
  EXPECT_TRUE(manager_->Cancel(queued).ok());
  EXPECT_TRUE(manager_->Cancel(running).ok());
  EXPECT_EQ(manager_->Get("nope").status().code(), absl::StatusCode::kNotFound);

  manager_->Shutdown();
  EXPECT_EQ(manager_->Submit(TrainSpec(kShortConfig)).status().code(),
            absl::StatusCode::kUnavailable);
}

TEST(JobNamesTest, KindsAndStatesRoundTrip) {
  for (JobKind kind : {JobKind::kTrain, JobKind::kEvaluate, JobKind::kExperiment,
                       JobKind::kHyperopt, JobKind::kBatchPredict}) {
    EXPECT_EQ(*ParseJobKind(JobKindName(kind)), kind);
  }
  EXPECT_EQ(ParseJobKind("predict").status().code(), absl::StatusCode::kInvalidArgument);
  for (JobState state : {JobState::kQueued, JobState::kRunning, JobState::kSucceeded,
                         JobState::kFailed, JobState::kCancelled}) {
    EXPECT_EQ(*ParseJobState(JobStateName(state)), state);
  }
  EXPECT_FALSE(IsFinal(JobState::kRunning));
  EXPECT_TRUE(IsFinal(JobState::kCancelled));
}

}  // namespace
}  // namespace tristage::server::jobs
