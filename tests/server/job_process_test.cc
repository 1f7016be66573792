// The daemon's side of the job protocol (server/jobs/job_process.h) with stand-in CLIs: shell
// scripts given as the JobManager's cli_binary. Their human output is reworded, garbled or made to
// look like the old log format; only their JSON lines on descriptor 3 decide progress, results
// and publishing. Hostile children (NUL bytes, a 50 MB line, negative numbers, a child that dies
// after its result) fail their job with a reason, or are ignored, and the daemon goes on.
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "gtest/gtest.h"
#include "server/jobs/job_manager.h"
#include "server/jobs/job_process.h"

namespace tristage::server::jobs {
namespace {

namespace fs = std::filesystem;

// The start of every stand-in: the verb, then -od and -op picked from the arguments.
constexpr char kScriptHead[] =
    "#!/bin/sh\n"
    "verb=$1; shift; od=; op=\n"
    "while [ $# -gt 0 ]; do\n"
    "  case \"$1\" in -od) od=$2; shift;; -op) op=$2; shift;; esac; shift\n"
    "done\n";

// export_torchscript as publishing runs it: the stages' directory and a result event.
constexpr char kExportBranch[] =
    "if [ \"$verb\" = export_torchscript ]; then\n"
    "  mkdir -p \"$op\" && echo '{}' > \"$op/manifest.json\"\n"
    "  printf '{\"v\":1,\"type\":\"result\",\"output_dir\":\"%s\"}\\n' \"$op\" >&3\n"
    "  exit 0\n"
    "fi\n";

// A trained model's directory inside the job's output.
constexpr char kMakeModel[] =
    "mkdir -p \"$od/run/model\" && echo '{}' > \"$od/run/model/model_hyperparameters.json\"\n";

class JobProcessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() /
           absl::StrCat("tristage_job_process_test_", getpid(), "_", info->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    dataset_ = (dir_ / "data.csv").string();
    std::ofstream(dataset_) << "x,label\n1,true\n";
  }
  void TearDown() override {
    manager_.reset();
    fs::remove_all(dir_);
  }

  // Writes the stand-in CLI and starts a manager running it, publishing into dir_/repo.
  void StartManager(const std::string& body) {
    const fs::path cli = dir_ / "cli";
    std::ofstream(cli) << kScriptHead << kExportBranch << body;
    fs::permissions(cli, fs::perms::owner_all);
    JobManagerOptions options;
    options.state_dir = (dir_ / "state").string();
    options.cli_binary = cli.string();
    options.model_repository = (dir_ / "repo").string();
    options.load_model = [this](const std::string& model) {
      absl::MutexLock lock(&mu_);
      loads_.push_back(model);
      return absl::OkStatus();
    };
    auto manager = JobManager::Create(std::move(options));
    ASSERT_TRUE(manager.ok()) << manager.status();
    manager_ = *std::move(manager);
  }

  // Submits a train job and returns every event until it ended.
  std::vector<JobEvent> RunTrain(const std::string& publish = "", std::string* id_out = nullptr) {
    JobSpec spec;
    spec.kind = JobKind::kTrain;
    spec.config = "input_features: []\n";
    spec.dataset = dataset_;
    spec.publish_model = publish;
    auto id = manager_->Submit(spec);
    EXPECT_TRUE(id.ok()) << id.status();
    if (id_out != nullptr) *id_out = id.value_or("");
    std::vector<JobEvent> all;
    const absl::Time deadline = absl::Now() + absl::Seconds(60);
    bool ended = false;
    while (id.ok() && !ended && absl::Now() < deadline) {
      auto events = manager_->WaitEvents(*id, all.empty() ? 0 : all.back().sequence, deadline,
                                         &ended);
      EXPECT_TRUE(events.ok()) << events.status();
      if (!events.ok()) break;
      all.insert(all.end(), events->begin(), events->end());
    }
    EXPECT_TRUE(ended);
    return all;
  }

  JobRecord Record(const std::string& id) {
    auto record = manager_->Get(id);
    EXPECT_TRUE(record.ok()) << record.status();
    return record.value_or(JobRecord());
  }

  std::vector<std::string> Loads() {
    absl::MutexLock lock(&mu_);
    return loads_;
  }

  fs::path dir_;
  std::string dataset_;
  std::unique_ptr<JobManager> manager_;
  absl::Mutex mu_;
  std::vector<std::string> loads_ ABSL_GUARDED_BY(mu_);
};

TEST_F(JobProcessTest, RewordedHumanLogDoesNotMatterProgressResultAndPublishComeFromEvents) {
  StartManager(absl::StrCat(
      "echo 'Entraînement : époque 1 sur 2, perte 0,25'\n"
      // Lines in the old format, with other numbers and another directory: never read.
      "echo 'epoch 9/9 (step 999) | validation: loss 9.9999 label roc_auc 0.0001'\n"
      "echo 'model saved to /somewhere/else/model'\n"
      "printf '\\001\\377 garbled \\000 bytes\\n' >&2\n",
      kMakeModel,
      "echo '{\"v\":1,\"type\":\"progress\",\"epoch\":1,\"total_epochs\":2,\"step\":5,"
      "\"metrics\":{\"validation\":{\"combined\":{\"loss\":0.25},\"label\":{\"roc_auc\":0.75}}},"
      "\"validation_field\":\"label\",\"validation_metric\":\"roc_auc\",\"new_field\":1}' >&3\n"
      "echo '{\"v\":1,\"type\":\"a_type_from_the_future\"}' >&3\n"
      "printf '{\"v\":1,\"type\":\"result\",\"model_dir\":\"%s/run/model\"}\\n' \"$od\" >&3\n"));
  std::string id;
  const std::vector<JobEvent> events = RunTrain("colors", &id);
  const JobRecord record = Record(id);
  ASSERT_EQ(record.state, JobState::kSucceeded) << record.reason;

  int progress = 0, logs = 0;
  for (const JobEvent& e : events) {
    if (e.type == JobEvent::Type::kLog) ++logs;
    if (e.type != JobEvent::Type::kProgress) continue;
    ++progress;
    EXPECT_EQ(e.epoch, 1);
    EXPECT_EQ(e.step, 5);
    EXPECT_EQ(e.metrics, (std::map<std::string, double>{{"validation_loss", 0.25},
                                                        {"validation_label_roc_auc", 0.75}}));
  }
  EXPECT_EQ(progress, 1);
  EXPECT_EQ(logs, 4);  // the human lines are still shown, as they are
  EXPECT_EQ(record.epoch, 1);
  EXPECT_EQ(record.step, 5);
  EXPECT_EQ(fs::path(record.model_dir),
            fs::weakly_canonical(fs::path(record.output_dir) / "run" / "model"));
  EXPECT_EQ(record.published_version, 1);
  EXPECT_TRUE(fs::exists(dir_ / "repo" / "colors" / "1" / "manifest.json"));
  EXPECT_EQ(Loads(), std::vector<std::string>{"colors"});
}

TEST_F(JobProcessTest, OldFormatHumanLinesWithoutAResultEventFailTheJobClearly) {
  // What the CLI used to print, and a real model, but nothing on the events descriptor.
  StartManager(absl::StrCat(kMakeModel,
                            "echo 'epoch 1/2 (step 3) | validation: loss 0.5000 label roc_auc "
                            "0.7000 (best)'\n"
                            "echo \"model saved to $od/run/model\"\n"
                            "echo \"results saved to $od/run\"\n"
                            "echo \"best model: $od/run/model\"\n"));
  std::string id;
  const std::vector<JobEvent> events = RunTrain("colors", &id);
  const JobRecord record = Record(id);
  EXPECT_EQ(record.state, JobState::kFailed);
  EXPECT_EQ(record.reason,
            "tristage train exited with status 0 without sending a result event on its job "
            "events channel");
  for (const JobEvent& e : events) EXPECT_NE(e.type, JobEvent::Type::kProgress);
  EXPECT_EQ(record.epoch, 0);
  EXPECT_TRUE(record.model_dir.empty());
  EXPECT_EQ(record.published_version, 0);
  EXPECT_TRUE(Loads().empty());
}

TEST_F(JobProcessTest, TheErrorEventIsTheReasonNotWhatTheLogSays) {
  StartManager(
      "echo 'tristage train: a misleading human line' >&2\n"
      "echo '{\"v\":1,\"type\":\"error\",\"code\":\"INVALID_ARGUMENT\","
      "\"message\":\"encoder: no_such_encoder is not an encoder\"}' >&3\n"
      "echo 'and more human text' >&2\n"
      "exit 1\n");
  std::string id;
  RunTrain("", &id);
  const JobRecord record = Record(id);
  EXPECT_EQ(record.state, JobState::kFailed);
  EXPECT_EQ(record.reason,
            "tristage train exited with status 1: tristage train: encoder: no_such_encoder is "
            "not an encoder");
}

TEST_F(JobProcessTest, AModelDirOutsideTheJobsOutputIsNotPublished) {
  fs::create_directories(dir_ / "elsewhere");
  std::ofstream(dir_ / "elsewhere" / "model_hyperparameters.json") << "{}";
  StartManager(absl::StrCat("printf '{\"v\":1,\"type\":\"result\",\"model_dir\":\"%s\"}\\n' '",
                            (dir_ / "elsewhere").string(), "' >&3\n"));
  std::string id;
  RunTrain("colors", &id);
  const JobRecord record = Record(id);
  EXPECT_EQ(record.state, JobState::kFailed);
  EXPECT_TRUE(absl::StrContains(record.reason, "the job saved no model")) << record.reason;
  EXPECT_TRUE(record.model_dir.empty());
  EXPECT_TRUE(Loads().empty());
}

TEST_F(JobProcessTest, HostileEventLinesAreReportedInTheLogAndTheJobStillSucceeds) {
  StartManager(absl::StrCat(
      kMakeModel,
      "printf '{\"v\":1,\"type\":\"progress\",\"epoch\":\\000}\\n' >&3\n"    // a NUL byte
      "printf '{\"v\":1,\"type\":\"result\",\"model_dir\":\"\\377\\376\"}\\n' >&3\n"  // not UTF-8
      "echo '{\"v\":1,\"type\":\"progress\",\"epoch\":-4}' >&3\n"
      "echo '{\"v\":1,\"type\":\"progress\",\"epoch\":99999999999999999999999}' >&3\n"
      "echo '{\"v\":1,\"type\":\"progress\",\"step\":1e400}' >&3\n"
      "echo '{\"v\":7,\"type\":\"result\"}' >&3\n"
      "head -c 52428800 /dev/zero | tr '\\000' x >&3\n"  // 50 MB, then a newline
      "echo >&3\n"
      "printf '{\"v\":1,\"type\":\"result\",\"model_dir\":\"%s/run/model\"}\\n' \"$od\" >&3\n"));
  std::string id;
  const std::vector<JobEvent> events = RunTrain("", &id);
  const JobRecord record = Record(id);
  ASSERT_EQ(record.state, JobState::kSucceeded) << record.reason;
  EXPECT_EQ(record.epoch, 0);  // no valid progress came
  EXPECT_FALSE(record.model_dir.empty());
  std::vector<std::string> reports;
  for (const JobEvent& e : events) {
    if (e.type == JobEvent::Type::kLog && absl::StartsWith(e.text, "job events line ")) {
      reports.push_back(e.text);
      EXPECT_LT(e.text.size(), 4096u) << "a report quotes too much of the line";
    }
  }
  ASSERT_EQ(reports.size(), 7u);
  EXPECT_TRUE(absl::StrContains(reports[0], "NUL")) << reports[0];
  EXPECT_TRUE(absl::StrContains(reports[1], "not JSON")) << reports[1];
  EXPECT_TRUE(absl::StrContains(reports[2], "epoch: -4 is not a whole number")) << reports[2];
  EXPECT_TRUE(absl::StrContains(reports[3], "e+22 is not a whole number")) << reports[3];
  EXPECT_TRUE(absl::StrContains(reports[4], "number overflow")) << reports[4];
  EXPECT_TRUE(absl::StrContains(reports[5], "protocol version 7")) << reports[5];
  EXPECT_TRUE(absl::StrContains(reports[6], "longer than 1048576 bytes")) << reports[6];
}

TEST_F(JobProcessTest, AChildThatDiesAfterItsResultFailsNamingTheSignalAndTheDaemonGoesOn) {
  StartManager(absl::StrCat(
      kMakeModel,
      "echo '{\"v\":1,\"type\":\"progress\",\"epoch\":1,\"step\":2}' >&3\n"
      "printf '{\"v\":1,\"type\":\"result\",\"model_dir\":\"%s/run/model\"}\\n' \"$od\" >&3\n"
      "printf '{\"v\":1,\"type\":\"prog' >&3\n"  // half a line
      "echo 'last words'\n"
      "kill -9 $$\n"));
  std::string id;
  RunTrain("", &id);
  JobRecord record = Record(id);
  EXPECT_EQ(record.state, JobState::kFailed);
  EXPECT_TRUE(absl::StrContains(record.reason, "killed by signal 9 (SIGKILL)")) << record.reason;
  EXPECT_TRUE(absl::StrContains(record.reason, "last words")) << record.reason;
  EXPECT_EQ(record.epoch, 1);
  EXPECT_TRUE(record.model_dir.empty());

  // The manager is unharmed: the next job runs.
  RunTrain("", &id);
  record = Record(id);
  EXPECT_EQ(record.state, JobState::kFailed);
  EXPECT_EQ(manager_->List().size(), 2u);
}

TEST_F(JobProcessTest, AHugeLastLineIsCutInTheReason) {
  StartManager("head -c 300000 /dev/zero | tr '\\000' y; echo; exit 4\n");
  std::string id;
  RunTrain("", &id);
  const JobRecord record = Record(id);
  EXPECT_EQ(record.state, JobState::kFailed);
  EXPECT_LT(record.reason.size(), 1200u);
  EXPECT_TRUE(absl::StrContains(record.reason, "exited with status 4: yyyy")) << record.reason;
  EXPECT_TRUE(absl::StrContains(record.reason, "[299000 more bytes]")) << record.reason;
}

TEST(JobProcessCheckTest, ReasonsNameTheExitTheErrorAndTheLastLines) {
  JobProcessResult result;
  result.wait_status = 0;
  result.result = job_protocol::Result();
  EXPECT_TRUE(CheckJobProcess("train", result).ok());
  result.result.reset();
  result.protocol_errors = 2;
  result.first_protocol_error = "job events line 1: not JSON";
  EXPECT_EQ(CheckJobProcess("train", result).message(),
            "tristage train exited with status 0 without sending a result event on its job events "
            "channel (2 malformed event line(s), first: job events line 1: not JSON)");
  result.wait_status = 3 << 8;  // exited with status 3
  result.tail = {"a", "b", "", "c", "d"};
  EXPECT_EQ(CheckJobProcess("evaluate", result).message(),
            "tristage evaluate exited with status 3: b / c / d");
  result.error = job_protocol::Error{"NOT_FOUND", "no such file 'x'"};
  EXPECT_EQ(CheckJobProcess("evaluate", result).message(),
            "tristage evaluate exited with status 3: tristage evaluate: no such file 'x'");
  result.error->message = std::string(5000, 'e');
  EXPECT_TRUE(absl::EndsWith(CheckJobProcess("evaluate", result).message(),
                             std::string(10, 'e') + " [1000 more bytes]"));
}

TEST(JobProcessCheckTest, MetricsAreTheCombinedLossAndTheValidationMetricPerSplit) {
  job_protocol::Progress progress;
  progress.validation_field = "label";
  progress.validation_metric = "accuracy";
  progress.metrics = nlohmann::json::parse(
      R"({"training":{"combined":{"loss":1.0}},
          "validation":{"combined":{"loss":0.5},"label":{"accuracy":0.9,"loss":0.4}},
          "test":{"label":{"roc_auc":0.3}}})");
  EXPECT_EQ(JobMetrics(progress),
            (std::map<std::string, double>{{"training_loss", 1.0},
                                           {"validation_loss", 0.5},
                                           {"validation_label_accuracy", 0.9}}));
}

}  // namespace
}  // namespace tristage::server::jobs
