// End-to-end tests of tristage.v1.Admin jobs against the real tristage-server binary, which runs
// each job as a child `tristage` CLI: upload, train with publish while serving, watch, cancel,
// config errors, a killed child, a restart, path confinement and the token; data-parallel jobs
// (world_size) within the job CPU budget, their refusals and their cancel.
#include <signal.h>
#include <sys/types.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "client/lib/client.h"
#include "core/api/synthesize.h"
#include "core/data/io.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/testing/daemon.h"
#include "tests/testing/subprocess.h"

namespace tristage {
namespace {

namespace fs = std::filesystem;
using ::tristage::client::ServingStatus;
using ::tristage::client::TristageClient;
using ::tristage::testing::Daemon;

constexpr char kToken[] = "s3cret-token";

// Children of `parent` (from /proc): the job processes a daemon started.
std::vector<pid_t> ChildrenOf(pid_t parent) {
  std::vector<pid_t> children;
  for (const auto& entry : fs::directory_iterator("/proc")) {
    pid_t pid = 0;
    if (!absl::SimpleAtoi(entry.path().filename().string(), &pid)) continue;
    std::ifstream stat(entry.path() / "stat");
    std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
    const size_t close = text.rfind(')');
    if (close == std::string::npos) continue;
    std::vector<std::string> fields = absl::StrSplit(text.substr(close + 2), ' ');
    pid_t ppid = 0;
    if (fields.size() > 2 && absl::SimpleAtoi(fields[1], &ppid) && ppid == parent &&
        fields[0] != "Z") {
      children.push_back(pid);
    }
  }
  return children;
}

// Live processes (not zombies) whose command line contains `needle`, e.g. a job's unique output
// directory, which its CLI and every worker that CLI launched have in their arguments.
std::vector<pid_t> ProcessesWith(const std::string& needle) {
  std::vector<pid_t> found;
  for (const auto& entry : fs::directory_iterator("/proc")) {
    pid_t pid = 0;
    if (!absl::SimpleAtoi(entry.path().filename().string(), &pid) || pid == ::getpid()) continue;
    std::ifstream cmdline_file(entry.path() / "cmdline");
    std::string cmdline((std::istreambuf_iterator<char>(cmdline_file)),
                        std::istreambuf_iterator<char>());
    std::replace(cmdline.begin(), cmdline.end(), '\0', ' ');
    if (!absl::StrContains(cmdline, needle)) continue;
    std::ifstream stat(entry.path() / "stat");
    std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
    const size_t close = text.rfind(')');
    if (close != std::string::npos && text.substr(close + 2, 1) == "Z") continue;
    found.push_back(pid);
  }
  return found;
}

// The value of `name` in the environment process `pid` started with; "" when absent.
std::string EnvironmentOf(pid_t pid, const std::string& name) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/environ");
  std::string entry;
  while (std::getline(in, entry, '\0')) {
    if (absl::StartsWith(entry, name + "=")) return entry.substr(name.size() + 1);
  }
  return "";
}

class AdminJobsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() /
            ("tristage_admin_jobs_" + std::to_string(::getpid()) + "_" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    fs::create_directories(root_ / "data");
    fs::create_directories(root_ / "repo");
    fs::create_directories(root_ / "state");
    std::ofstream(root_ / "token") << kToken << "\n";
    const nlohmann::json config = nlohmann::json::parse(R"({
      "input_features": [{"name": "x", "type": "number"}, {"name": "c", "type": "category"}],
      "output_features": [{"name": "y", "type": "binary"}]})");
    SynthesizeOptions synth;
    synth.rows = 200;
    ASSERT_TRUE(
        data::WriteTable(*SynthesizeDataset(config, synth), (root_ / "data" / "train.csv").string())
            .ok());
  }
  void TearDown() override {
    daemon_.reset();
    fs::remove_all(root_);
  }

  static std::string Config(int epochs) {
    return "input_features:\n  - {name: x, type: number}\n  - {name: c, type: category}\n"
           "output_features:\n  - {name: y, type: binary}\ntrainer: {epochs: " +
           std::to_string(epochs) + ", batch_size: 16}\n";
  }

  void StartDaemon(const std::vector<std::string>& extra = {}) {
    std::vector<std::string> flags = {"--state-dir",        (root_ / "state").string(),
                                      "--data-root",        (root_ / "data").string(),
                                      "--model-repository", (root_ / "repo").string(),
                                      "--auth-token-file",  (root_ / "token").string(),
                                      "--cli-binary",       TRISTAGE_CLI_BINARY};
    flags.insert(flags.end(), extra.begin(), extra.end());
    auto daemon = Daemon::Start(TRISTAGE_SERVER_BINARY, flags);
    ASSERT_TRUE(daemon.ok()) << daemon.status();
    daemon_ = std::move(*daemon);
    TristageClient::Options options;
    options.timeout = absl::Seconds(30);
    options.auth_token = kToken;
    client_ = std::move(*TristageClient::Create(daemon_->grpc_address(), options));
  }

  tristage::v1::SubmitJobRequest Train(int epochs, const std::string& dataset = "train.csv") {
    tristage::v1::SubmitJobRequest request;
    request.set_kind(tristage::v1::TRAIN);
    request.set_config(Config(epochs));
    request.set_dataset(dataset);
    return request;
  }

  // Waits (by watching) until the job ended; returns it.
  tristage::v1::Job WaitFor(const std::string& id) {
    auto job = client_->WatchJob(id, [](const tristage::v1::JobEvent&) {});
    EXPECT_TRUE(job.ok()) << job.status();
    return job.ok() ? *job : tristage::v1::Job();
  }

  // Returns once job `id` printed its first log line (its child runs), with a thread that
  // watches the job to its end; the caller ends the job and joins it.
  std::thread WatchUntilRunning(const std::string& id) {
    auto running = std::make_shared<absl::Notification>();
    std::thread watcher([this, id, running] {
      (void)client_->WatchJob(id, [&](const tristage::v1::JobEvent& event) {
        if (event.has_log_line() && !running->HasBeenNotified()) running->Notify();
      });
      if (!running->HasBeenNotified()) running->Notify();  // ended without a line
    });
    EXPECT_TRUE(running->WaitForNotificationWithTimeout(absl::Seconds(60)));
    return watcher;
  }

  // Returns once job `id` reported its first progress event (it trains), with a thread that
  // watches the job to its end; the caller ends the job and joins it.
  std::thread WatchUntilTraining(const std::string& id) {
    auto training = std::make_shared<absl::Notification>();
    std::thread watcher([this, id, training] {
      (void)client_->WatchJob(id, [&](const tristage::v1::JobEvent& event) {
        if (event.has_progress() && !training->HasBeenNotified()) training->Notify();
      });
      if (!training->HasBeenNotified()) training->Notify();  // ended without training
    });
    EXPECT_TRUE(training->WaitForNotificationWithTimeout(absl::Seconds(120)));
    return watcher;
  }

  fs::path JobOutput(const std::string& id) const {
    return root_ / "state" / "jobs" / id / "output";
  }

  fs::path root_;
  std::unique_ptr<Daemon> daemon_;
  std::unique_ptr<TristageClient> client_;
};

TEST_F(AdminJobsTest, UploadTrainPublishWatchAndServeTheNewVersionWhileTheOldKeepsAnswering) {
  StartDaemon();
  // An uploaded dataset, checked against its SHA-256.
  auto uploaded = client_->UploadDataset((root_ / "data" / "train.csv").string());
  ASSERT_TRUE(uploaded.ok()) << uploaded.status();
  EXPECT_TRUE(absl::StartsWith(uploaded->dataset(), "upload:")) << uploaded->dataset();

  tristage::v1::SubmitJobRequest first = Train(2, uploaded->dataset());
  first.set_publish_model("m");
  auto first_id = client_->SubmitJob(first);
  ASSERT_TRUE(first_id.ok()) << first_id.status();
  std::vector<std::string> states;
  int progress = 0;
  auto done = client_->WatchJob(*first_id, [&](const tristage::v1::JobEvent& event) {
    if (event.event_case() == tristage::v1::JobEvent::kStateReason) {
      states.push_back(tristage::v1::JobState_Name(event.state()));
    }
    if (event.has_progress()) ++progress;
  });
  ASSERT_TRUE(done.ok()) << done.status();
  ASSERT_EQ(done->state(), tristage::v1::SUCCEEDED) << done->reason();
  EXPECT_EQ(states.back(), "SUCCEEDED");
  EXPECT_GT(progress, 0);
  EXPECT_EQ(done->published_version(), 1);
  EXPECT_TRUE(fs::exists(root_ / "repo" / "m" / "1" / "manifest.json"));

  // Version 1 answers throughout the second training and its publication.
  tristage::v1::PredictRequest predict;
  predict.set_model_name("m");
  (*predict.mutable_inputs())["x"].mutable_strings()->add_values("0.5");
  (*predict.mutable_inputs())["c"].mutable_strings()->add_values("a");
  std::atomic<bool> stop{false};
  std::atomic<int> answered{0}, failed{0};
  std::thread traffic([&] {
    while (!stop.load()) {
      auto response = client_->Predict(predict);
      (response.ok() ? answered : failed).fetch_add(1);
      if (!response.ok()) ADD_FAILURE() << response.status();
    }
  });
  tristage::v1::SubmitJobRequest second = Train(2);
  second.set_publish_model("m");
  auto second_id = client_->SubmitJob(second);
  ASSERT_TRUE(second_id.ok()) << second_id.status();
  const tristage::v1::Job second_done = WaitFor(*second_id);
  // A few more answers from whichever version is now the latest.
  const int before = answered.load();
  while (answered.load() < before + 20 && failed.load() == 0) std::this_thread::yield();
  stop.store(true);
  traffic.join();
  ASSERT_EQ(second_done.state(), tristage::v1::SUCCEEDED) << second_done.reason();
  EXPECT_EQ(second_done.published_version(), 2);
  EXPECT_EQ(failed.load(), 0);
  EXPECT_GT(answered.load(), 20);
  predict.set_model_version("2");
  auto on_new = client_->Predict(predict);
  ASSERT_TRUE(on_new.ok()) << on_new.status();
  EXPECT_EQ(on_new->model_version(), "2");

  // The job's files come back as artifacts.
  bool has_statistics = false;
  for (const std::string& artifact : second_done.artifacts()) {
    has_statistics = has_statistics || absl::EndsWith(artifact, "training_statistics.json");
  }
  EXPECT_TRUE(has_statistics);
  // The model directory as one archive that tar reads.
  const std::string archive = (root_ / "model.tar").string();
  ASSERT_TRUE(client_->DownloadArtifact(*second_id, "experiment_run/model.tar", archive).ok());
  auto listing = testing::RunCommand({"/usr/bin/tar", "-tf", archive});
  ASSERT_TRUE(listing.ok()) << listing.status();
  EXPECT_EQ(listing->exit_code, 0) << listing->err;
  EXPECT_TRUE(absl::StrContains(listing->out, "model/model_hyperparameters.json")) << listing->out;
  auto listed = client_->ListJobs(tristage::v1::SUCCEEDED);
  ASSERT_TRUE(listed.ok()) << listed.status();
  EXPECT_EQ(listed->size(), 2u);
}

// Idle, the cancel takes tens of milliseconds (the CLI dies at SIGTERM); the bound is for a loaded
// machine (scripts/test runs two tests at once), not a speed target.
TEST_F(AdminJobsTest, CancelEndsARunningJobPromptlyAndLeavesNoChild) {
  StartDaemon();
  auto id = client_->SubmitJob(Train(100000));
  ASSERT_TRUE(id.ok()) << id.status();
  std::thread watcher = WatchUntilRunning(*id);
  ASSERT_FALSE(ChildrenOf(daemon_->process().pid()).empty());
  const absl::Time asked = absl::Now();
  auto cancelled = client_->CancelJob(*id);
  ASSERT_TRUE(cancelled.ok()) << cancelled.status();
  watcher.join();
  auto job = client_->GetJob(*id);
  ASSERT_TRUE(job.ok()) << job.status();
  EXPECT_EQ(job->state(), tristage::v1::CANCELLED) << job->reason();
  EXPECT_LT(absl::Now() - asked, absl::Seconds(20));
  EXPECT_TRUE(ChildrenOf(daemon_->process().pid()).empty());
}

// A hyperopt job runs its trials (children of the job's CLI) and publishes the best trial's model.
TEST_F(AdminJobsTest, HyperoptJobPublishesTheBestTrialsModel) {
  StartDaemon();
  tristage::v1::SubmitJobRequest request = Train(1);
  request.set_kind(tristage::v1::HYPEROPT);
  request.set_config(Config(1) +
                     "hyperopt:\n"
                     "  parameters:\n"
                     "    combiner.output_size: {space: grid_search, values: [4, 8]}\n");
  request.set_publish_model("tuned");
  auto id = client_->SubmitJob(request);
  ASSERT_TRUE(id.ok()) << id.status();
  const tristage::v1::Job job = WaitFor(*id);
  ASSERT_EQ(job.state(), tristage::v1::SUCCEEDED) << job.reason();
  EXPECT_EQ(job.published_version(), 1);
  bool best_model_listed = false;
  for (const std::string& artifact : job.artifacts()) {
    best_model_listed |=
        absl::StartsWith(artifact, "hyperopt/trial_") && absl::EndsWith(artifact, "/model.tar");
  }
  EXPECT_TRUE(best_model_listed);
  EXPECT_TRUE(fs::exists(root_ / "repo" / "tuned" / "1" / "manifest.json"));
  auto statistics = client_->DownloadArtifact(*id, "hyperopt/hyperopt_statistics.json",
                                              (root_ / "statistics.json").string());
  ASSERT_TRUE(statistics.ok()) << statistics;  // an absl::Status
  std::ifstream in(root_ / "statistics.json");
  const auto stats = nlohmann::json::parse(in);
  EXPECT_EQ(stats["hyperopt_results"].size(), 2u);
}

TEST_F(AdminJobsTest, AConfigErrorFailsWithTheCliErrorText) {
  StartDaemon();
  const std::string bad = Config(1) + "combiner: {type: nope}\n";
  std::ofstream(root_ / "bad.yaml") << bad;
  auto cli = testing::RunCommand({TRISTAGE_CLI_BINARY, "train", "-c", (root_ / "bad.yaml").string(),
                                  "--dataset", (root_ / "data" / "train.csv").string(), "-od",
                                  (root_ / "local").string()});
  ASSERT_TRUE(cli.ok()) << cli.status();
  ASSERT_NE(cli->exit_code, 0);
  const std::string prefix = "tristage train: ";
  const size_t at = cli->err.find(prefix);
  ASSERT_NE(at, std::string::npos) << cli->err;
  const std::string message =
      cli->err.substr(at + prefix.size(), cli->err.find('\n', at) - at - prefix.size());
  tristage::v1::SubmitJobRequest request = Train(1);
  request.set_config(bad);
  auto id = client_->SubmitJob(request);
  ASSERT_TRUE(id.ok()) << id.status();
  const tristage::v1::Job job = WaitFor(*id);
  EXPECT_EQ(job.state(), tristage::v1::FAILED);
  EXPECT_TRUE(absl::StrContains(job.reason(), message))
      << "reason: " << job.reason() << "\nCLI: " << message;
}

TEST_F(AdminJobsTest, AKilledChildFailsTheJobTheDaemonStaysHealthyAndARestartKeepsHistory) {
  StartDaemon();
  auto finished = client_->SubmitJob(Train(1));
  ASSERT_TRUE(finished.ok()) << finished.status();
  ASSERT_EQ(WaitFor(*finished).state(), tristage::v1::SUCCEEDED);

  auto id = client_->SubmitJob(Train(100000));
  ASSERT_TRUE(id.ok()) << id.status();
  std::thread watcher = WatchUntilRunning(*id);
  const std::vector<pid_t> children = ChildrenOf(daemon_->process().pid());
  ASSERT_EQ(children.size(), 1u);
  ASSERT_EQ(::kill(children.front(), SIGKILL), 0);
  watcher.join();
  auto job = client_->GetJob(*id);
  ASSERT_TRUE(job.ok()) << job.status();
  EXPECT_EQ(job->state(), tristage::v1::FAILED);
  EXPECT_TRUE(absl::StrContains(job->reason(), "SIGKILL")) << job->reason();
  EXPECT_EQ(client_->CheckHealth("").value(), ServingStatus::kServing);

  // Restart on the same state directory: the history is intact.
  daemon_->process().Signal(SIGTERM);
  auto exit_code = daemon_->process().Wait(absl::Seconds(30));
  ASSERT_TRUE(exit_code.ok()) << exit_code.status();
  EXPECT_EQ(*exit_code, 0);
  StartDaemon();
  auto history = client_->ListJobs();
  ASSERT_TRUE(history.ok()) << history.status();
  ASSERT_EQ(history->size(), 2u);
  EXPECT_EQ((*history)[0].id(), *finished);
  EXPECT_EQ((*history)[0].state(), tristage::v1::SUCCEEDED);
  EXPECT_EQ((*history)[1].state(), tristage::v1::FAILED);
  EXPECT_TRUE(absl::StrContains((*history)[1].reason(), "SIGKILL")) << (*history)[1].reason();
}

TEST_F(AdminJobsTest, PathTraversalAndAMissingTokenAreRefused) {
  StartDaemon();
  fs::create_symlink("/etc", root_ / "data" / "out");
  // '..' fails the edge's allow-list (core/util/names.h); paths it allows are confined to the
  // data root after symlinks resolve.
  auto climbing = client_->SubmitJob(Train(1, "../token"));
  EXPECT_EQ(climbing.status().code(), absl::StatusCode::kInvalidArgument) << climbing.status();
  for (const std::string& dataset : {std::string("/etc/passwd"), std::string("out/passwd"),
                                     (root_ / "token").string()}) {
    auto id = client_->SubmitJob(Train(1, dataset));
    EXPECT_EQ(id.status().code(), absl::StatusCode::kPermissionDenied)
        << dataset << ": " << id.status();
  }
  auto missing = client_->SubmitJob(Train(1, "nope.csv"));
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound) << missing.status();

  auto anonymous = std::move(*TristageClient::Create(daemon_->grpc_address(), {}));
  EXPECT_EQ(anonymous->SubmitJob(Train(1)).status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(anonymous->ListJobs().status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(anonymous->UploadDataset((root_ / "data" / "train.csv").string()).status().code(),
            absl::StatusCode::kUnauthenticated);
  EXPECT_TRUE(client_->ListJobs().ok());
}

TEST_F(AdminJobsTest, CliTrainAndHyperoptWithServerWriteTheSameFilesAndJobsListsThem) {
  StartDaemon();
  std::ofstream(root_ / "config.yaml") << Config(1);
  auto train = testing::RunCommand(
      {TRISTAGE_CLI_BINARY, "train", "--server", daemon_->grpc_address(), "--auth_token_file",
       (root_ / "token").string(), "-c", (root_ / "config.yaml").string(), "--dataset",
       (root_ / "data" / "train.csv").string(), "-od", (root_ / "remote").string()},
      absl::Seconds(120));
  ASSERT_TRUE(train.ok()) << train.status();
  ASSERT_EQ(train->exit_code, 0) << train->err;
  EXPECT_TRUE(
      fs::exists(root_ / "remote" / "experiment_run" / "model" / "model_hyperparameters.json"))
      << train->out;
  EXPECT_TRUE(fs::exists(root_ / "remote" / "experiment_run" / "training_statistics.json"));
  // hyperopt --server: the job's directory (trials, statistics) comes back under -od.
  std::ofstream(root_ / "hyperopt.yaml") << Config(1)
                                         << "hyperopt:\n  parameters:\n    combiner.output_size: "
                                            "{space: grid_search, values: [4, 8]}\n";
  auto tune = testing::RunCommand(
      {TRISTAGE_CLI_BINARY, "hyperopt", "--server", daemon_->grpc_address(), "--auth_token_file",
       (root_ / "token").string(), "-c", (root_ / "hyperopt.yaml").string(), "--dataset",
       (root_ / "data" / "train.csv").string(), "-od", (root_ / "tuned").string()},
      absl::Seconds(120));
  ASSERT_TRUE(tune.ok()) << tune.status();
  ASSERT_EQ(tune->exit_code, 0) << tune->err;
  EXPECT_TRUE(fs::exists(root_ / "tuned" / "hyperopt" / "hyperopt_statistics.json")) << tune->out;
  EXPECT_TRUE(fs::exists(root_ / "tuned" / "hyperopt" / "trial_1" / "trial_result.json"));
  auto list =
      testing::RunCommand({TRISTAGE_CLI_BINARY, "jobs", "list", "--server", daemon_->grpc_address(),
                           "--auth_token_file", (root_ / "token").string()});
  ASSERT_TRUE(list.ok()) << list.status();
  EXPECT_EQ(list->exit_code, 0) << list->err;
  EXPECT_TRUE(absl::StrContains(list->out, "SUCCEEDED")) << list->out;
}

// world_size 2 on a daemon whose job CPU budget is 2 threads: two data-parallel workers of one
// thread each; rank 0's run directory, publication and artifacts are those of a one-process job.
TEST_F(AdminJobsTest, ATrainJobOnTwoWorkersWithinTheCpuBudgetPublishesAndRecordsItsWorld) {
  StartDaemon({"--job-threads", "2"});
  tristage::v1::SubmitJobRequest request = Train(2);
  request.set_world_size(2);
  request.set_publish_model("dp");
  auto id = client_->SubmitJob(request);
  ASSERT_TRUE(id.ok()) << id.status();
  const tristage::v1::Job job = WaitFor(*id);
  ASSERT_EQ(job.state(), tristage::v1::SUCCEEDED) << job.reason();
  EXPECT_EQ(job.world_size(), 2);
  EXPECT_EQ(job.epoch(), 2);
  EXPECT_EQ(job.published_version(), 1);
  EXPECT_TRUE(fs::exists(root_ / "repo" / "dp" / "1" / "manifest.json"));

  const std::string progress = (root_ / "progress.json").string();
  ASSERT_TRUE(
      client_->DownloadArtifact(*id, "experiment_run/model/training_progress.json", progress).ok());
  std::ifstream in(progress);
  const nlohmann::json parsed = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  ASSERT_TRUE(parsed.contains("distributed")) << parsed.dump();
  EXPECT_EQ(parsed["distributed"]["world_size"], 2) << parsed.dump();
  const std::string archive = (root_ / "model.tar").string();
  ASSERT_TRUE(client_->DownloadArtifact(*id, "experiment_run/model.tar", archive).ok());
  auto listing = testing::RunCommand({"/usr/bin/tar", "-tf", archive});
  ASSERT_TRUE(listing.ok()) << listing.status();
  EXPECT_TRUE(absl::StrContains(listing->out, "model/model_hyperparameters.json")) << listing->out;

  tristage::v1::PredictRequest predict;
  predict.set_model_name("dp");
  (*predict.mutable_inputs())["x"].mutable_strings()->add_values("0.5");
  (*predict.mutable_inputs())["c"].mutable_strings()->add_values("a");
  auto answer = client_->Predict(predict);
  ASSERT_TRUE(answer.ok()) << answer.status();
  EXPECT_EQ(answer->model_version(), "1");
  auto listed = client_->ListJobs();
  ASSERT_TRUE(listed.ok()) << listed.status();
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ(listed->front().world_size(), 2);
}

// A daemon that runs inside a distributed run's environment (a PyTorchJob pod sets these for every
// process of its container) still runs its jobs as runs of their own.
TEST_F(AdminJobsTest, ADaemonStartedWithATrainingWorldsEnvironmentRunsJobsAlone) {
  setenv("WORLD_SIZE", "4", 1);
  setenv("RANK", "3", 1);
  StartDaemon({});
  unsetenv("WORLD_SIZE");
  unsetenv("RANK");
  auto id = client_->SubmitJob(Train(1));
  ASSERT_TRUE(id.ok()) << id.status();
  const tristage::v1::Job job = WaitFor(*id);
  ASSERT_EQ(job.state(), tristage::v1::SUCCEEDED) << job.reason();
  EXPECT_EQ(job.world_size(), 1);
}

TEST_F(AdminJobsTest, AWorldSizeBeyondTheBudgetOrForAOneProcessJobIsInvalidArgumentNamingIt) {
  StartDaemon({"--job-threads", "2"});
  auto refused = [&](tristage::v1::SubmitJobRequest request, int world_size,
                     const std::string& says) {
    request.set_world_size(world_size);
    auto id = client_->SubmitJob(request);
    EXPECT_EQ(id.status().code(), absl::StatusCode::kInvalidArgument)
        << world_size << ": " << id.status();
    EXPECT_TRUE(absl::StrContains(id.status().message(), "world_size: ")) << id.status();
    EXPECT_TRUE(absl::StrContains(id.status().message(), says)) << id.status();
  };
  refused(Train(1), 3, "world_size: 3 exceeds this daemon's job CPU budget (--job-threads 2)");
  refused(Train(1), -1, "-1");
  refused(Train(1), 5000, "5000");
  refused(Train(1), std::numeric_limits<int32_t>::min(), "-2147483648");
  refused(Train(1), std::numeric_limits<int32_t>::max(), "2147483647");
  tristage::v1::SubmitJobRequest evaluate = Train(1);
  evaluate.set_kind(tristage::v1::EVALUATE);
  evaluate.clear_config();
  refused(evaluate, 2, "evaluate jobs run in one process");
  tristage::v1::SubmitJobRequest hyperopt = Train(1);
  hyperopt.set_kind(tristage::v1::HYPEROPT);
  refused(hyperopt, 2, "hyperopt jobs run in one process");
  tristage::v1::SubmitJobRequest folds = Train(1);
  folds.set_kind(tristage::v1::EXPERIMENT);
  (*folds.mutable_options())["k_fold"] = "3";
  refused(folds, 2, "k_fold");
  auto listed = client_->ListJobs();
  ASSERT_TRUE(listed.ok()) << listed.status();
  EXPECT_TRUE(listed->empty()) << "a refused job was recorded";

  // Within the budget, and 0 or 1 for any kind, are accepted.
  folds.set_world_size(1);
  auto accepted = client_->SubmitJob(folds);
  ASSERT_TRUE(accepted.ok()) << accepted.status();
  const tristage::v1::Job job = WaitFor(*accepted);
  EXPECT_EQ(job.state(), tristage::v1::SUCCEEDED) << job.reason();
  EXPECT_EQ(job.world_size(), 1);

  // world_size decides, not the config's backend: this job stays in one process.
  tristage::v1::SubmitJobRequest backend = Train(1);
  backend.set_config(Config(1) + "backend: {type: ray, trainer: {num_workers: 2}}\n");
  auto one = client_->SubmitJob(backend);
  ASSERT_TRUE(one.ok()) << one.status();
  ASSERT_EQ(WaitFor(*one).state(), tristage::v1::SUCCEEDED);
  std::ifstream in(JobOutput(*one) / "experiment_run" / "model" / "training_progress.json");
  const nlohmann::json progress = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  ASSERT_FALSE(progress.is_discarded());
  EXPECT_FALSE(progress.contains("distributed")) << progress.dump();
}

// The workers are in the job's process group: a cancel ends the launcher and every worker. Found
// by the job's unique output directory, which each of them has on its command line.
TEST_F(AdminJobsTest, CancellingATwoWorkerJobLeavesNoProcessOfIt) {
  StartDaemon({"--job-threads", "2"});
  tristage::v1::SubmitJobRequest request = Train(100000);
  request.set_world_size(2);
  auto id = client_->SubmitJob(request);
  ASSERT_TRUE(id.ok()) << id.status();
  std::thread watcher = WatchUntilTraining(*id);
  const std::string output = JobOutput(*id).string();
  const std::vector<pid_t> running = ProcessesWith(output);
  // The CLI launcher and its two workers; each worker has half the job's 2 threads.
  ASSERT_EQ(running.size(), 3u) << "processes of " << output;
  int workers = 0;
  for (pid_t pid : running) {
    if (EnvironmentOf(pid, "RANK").empty()) {
      EXPECT_EQ(EnvironmentOf(pid, "OMP_NUM_THREADS"), "2") << "launcher " << pid;
      continue;
    }
    ++workers;
    EXPECT_EQ(EnvironmentOf(pid, "OMP_NUM_THREADS"), "1") << "worker " << pid;
  }
  EXPECT_EQ(workers, 2);

  auto cancelled = client_->CancelJob(*id);
  ASSERT_TRUE(cancelled.ok()) << cancelled.status();
  watcher.join();
  auto job = client_->GetJob(*id);
  ASSERT_TRUE(job.ok()) << job.status();
  ASSERT_EQ(job->state(), tristage::v1::CANCELLED) << job->reason();
  // The job is CANCELLED once the launcher was reaped; a worker that outlived it would still be
  // listed here after the grace below (a signalled worker is gone within milliseconds).
  std::vector<pid_t> left = ProcessesWith(output);
  for (const absl::Time until = absl::Now() + absl::Seconds(5);
       !left.empty() && absl::Now() < until; left = ProcessesWith(output)) {
    absl::SleepFor(absl::Milliseconds(50));
  }
  EXPECT_TRUE(left.empty()) << left.size() << " process(es) of job " << *id
                            << " still run after it was CANCELLED, e.g. pid " << left.front();
  EXPECT_EQ(client_->CheckHealth("").value(), ServingStatus::kServing);
}

// A queued job is checked again when it starts: after a restart with a smaller budget, its
// world_size no longer fits, and it fails saying so instead of running past the budget.
TEST_F(AdminJobsTest, AQueuedJobThatNoLongerFitsTheBudgetAfterARestartFailsNamingWorldSize) {
  StartDaemon({"--job-threads", "2", "--max-concurrent-jobs", "1"});
  auto running = client_->SubmitJob(Train(100000));
  ASSERT_TRUE(running.ok()) << running.status();
  tristage::v1::SubmitJobRequest request = Train(1);
  request.set_world_size(2);
  auto queued = client_->SubmitJob(request);
  ASSERT_TRUE(queued.ok()) << queued.status();
  ASSERT_EQ(client_->GetJob(*queued)->state(), tristage::v1::QUEUED);
  daemon_->process().Signal(SIGTERM);
  auto exit_code = daemon_->process().Wait(absl::Seconds(30));
  ASSERT_TRUE(exit_code.ok()) << exit_code.status();

  StartDaemon({"--job-threads", "1"});
  const tristage::v1::Job job = WaitFor(*queued);
  EXPECT_EQ(job.state(), tristage::v1::FAILED);
  EXPECT_TRUE(absl::StrContains(job.reason(), "world_size: 2 exceeds this daemon's job CPU "
                                              "budget (--job-threads 1)"))
      << job.reason();
}

TEST_F(AdminJobsTest, CliTrainWithServerAndNprocPerNodeRunsTheJobOnTwoWorkers) {
  StartDaemon({"--job-threads", "2"});
  std::ofstream(root_ / "config.yaml") << Config(1);
  const std::vector<std::string> train = {TRISTAGE_CLI_BINARY,
                                          "train",
                                          "--server",
                                          daemon_->grpc_address(),
                                          "--auth_token_file",
                                          (root_ / "token").string(),
                                          "-c",
                                          (root_ / "config.yaml").string(),
                                          "--dataset",
                                          (root_ / "data" / "train.csv").string(),
                                          "-od",
                                          (root_ / "remote").string()};
  auto with = [&](std::vector<std::string> extra) {
    std::vector<std::string> argv = train;
    argv.insert(argv.end(), extra.begin(), extra.end());
    return testing::RunCommand(argv, absl::Seconds(120));
  };
  auto two = with({"--nproc_per_node", "2"});
  ASSERT_TRUE(two.ok()) << two.status();
  ASSERT_EQ(two->exit_code, 0) << two->err;
  std::ifstream in(root_ / "remote" / "experiment_run" / "model" / "training_progress.json");
  const nlohmann::json progress = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  EXPECT_EQ(progress["distributed"]["world_size"], 2) << progress.dump();
  EXPECT_TRUE(
      fs::exists(root_ / "remote" / "experiment_run" / "model" / "model_hyperparameters.json"));
  // Without the flag, the workers a config's Ludwig backend asks for, as a local run starts them.
  std::ofstream(root_ / "config.yaml")
      << Config(1) << "backend: {type: ray, trainer: {num_workers: 2}}\n";
  auto backend = with({});
  ASSERT_TRUE(backend.ok()) << backend.status();
  ASSERT_EQ(backend->exit_code, 0) << backend->err;
  EXPECT_TRUE(absl::StrContains(backend->err, "asks the daemon for 2 workers")) << backend->err;

  // Beyond the budget: the daemon's refusal, as the CLI's error.
  auto three = with({"--nproc_per_node", "3"});
  ASSERT_TRUE(three.ok()) << three.status();
  EXPECT_EQ(three->exit_code, 1) << three->err;
  EXPECT_TRUE(absl::StrContains(three->err, "world_size: 3 exceeds this daemon's job CPU budget"))
      << three->err;
  // A job's workers run on the daemon's machine: no rendezvous flags with --server.
  for (const std::vector<std::string>& flags : {std::vector<std::string>{"--nnodes", "2"},
                                                {"--node_rank", "1"},
                                                {"--master_addr", "10.0.0.1"},
                                                {"--master_port", "29500"}}) {
    auto refused = with(flags);
    ASSERT_TRUE(refused.ok()) << refused.status();
    EXPECT_EQ(refused->exit_code, 2) << flags[0] << ": " << refused->err;
    EXPECT_TRUE(absl::StrContains(refused->err, flags[0] + " is not available with --server"))
        << refused->err;
  }
  auto list =
      testing::RunCommand({TRISTAGE_CLI_BINARY, "jobs", "list", "--server", daemon_->grpc_address(),
                           "--auth_token_file", (root_ / "token").string()});
  ASSERT_TRUE(list.ok()) << list.status();
  EXPECT_TRUE(absl::StrContains(list->out, "WORKERS")) << list->out;
  auto listed = client_->ListJobs();
  ASSERT_TRUE(listed.ok()) << listed.status();
  ASSERT_EQ(listed->size(), 2u);  // the refused ones were never recorded
  EXPECT_EQ((*listed)[0].world_size(), 2);
  EXPECT_EQ((*listed)[1].world_size(), 2);
}

}  // namespace
}  // namespace tristage
