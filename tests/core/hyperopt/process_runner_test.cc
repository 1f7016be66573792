// ProcessTrialRunner with stand-in trial executables (shell scripts): a trial reports through the
// job protocol on descriptor 3 (docs/jobs.md), gets continue/stop on its stdin, and its human
// output only goes to trial.log. The old "tristage-trial-result" stdout lines mean nothing now.
#include "core/hyperopt/process_runner.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "core/hyperopt/hyperopt_config.h"
#include "gtest/gtest.h"

namespace tristage::hyperopt {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

class ProcessTrialRunnerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() /
           absl::StrCat("tristage_process_runner_test_", getpid(), "_", info->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "trial_0");
    user_config_ = json::parse(R"({
      "input_features": [{"name": "x", "type": "number"}],
      "output_features": [{"name": "label", "type": "binary"}],
      "hyperopt": {"parameters": {"trainer.learning_rate": {"space": "choice",
                                                           "categories": [0.1, 0.01]}}}})");
    auto settings = ResolveHyperopt(user_config_, 1);
    ASSERT_TRUE(settings.ok()) << settings.status();
    settings_ = *std::move(settings);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Runs one trial with `script` as the trial executable; `answers` are the report's decisions.
  TrialOutcome Run(const std::string& script, std::vector<bool> answers = {}) {
    const fs::path executable = dir_ / "trial.sh";
    std::ofstream(executable) << "#!/bin/sh\n" << script;
    fs::permissions(executable, fs::perms::owner_all);
    ProcessRunnerOptions options;
    options.trial_executable = executable.string();
    options.user_config = user_config_;
    ProcessTrialRunner runner(settings_, options);
    TrialSpec spec;
    spec.parameters = {{"trainer.learning_rate", 0.1}};
    spec.directory = (dir_ / "trial_0").string();
    return runner.Run(spec, [&](const EpochReport& report) {
      reports_.push_back(report);
      const size_t i = reports_.size() - 1;
      return i < answers.size() ? static_cast<bool>(answers[i]) : true;
    });
  }

  std::string TrialLog() const {
    std::ifstream in(dir_ / "trial_0" / "trial.log");
    return std::string(std::istreambuf_iterator<char>(in), {});
  }

  fs::path dir_;
  json user_config_;
  HyperoptSettings settings_;
  std::vector<EpochReport> reports_;
};

TEST_F(ProcessTrialRunnerTest, ProgressIsAnsweredOnStdinAndTheResultEventEndsTheTrial) {
  const TrialOutcome outcome = Run(
      "case \"$*\" in *'--job_events_fd 3'*) ;; *) echo \"no events flag: $*\"; exit 9;; esac\n"
      "echo 'human text that says nothing to the parent'\n"
      "for epoch in 1 2; do\n"
      "  echo \"{\\\"v\\\":1,\\\"type\\\":\\\"progress\\\",\\\"epoch\\\":$epoch,"
      "\\\"metrics\\\":{\\\"validation\\\":{\\\"combined\\\":{\\\"loss\\\":0.$epoch}}}}\" >&3\n"
      "  read answer; echo \"answer $epoch: $answer\"\n"
      "done\n"
      "echo 'tristage-trial-result {\"best_epoch\": 99}'\n"  // the old stdout form: just text
      "echo '{\"v\":1,\"type\":\"result\",\"best_epoch\":2,"
      "\"training_statistics\":{\"validation\":{\"combined\":{\"loss\":[0.1,0.2]}}}}' >&3\n",
      {true, false});
  ASSERT_TRUE(outcome.status.ok()) << outcome.status;
  EXPECT_EQ(outcome.best_epoch, 2);
  EXPECT_EQ(outcome.training_statistics["validation"]["combined"]["loss"], json({0.1, 0.2}));
  ASSERT_EQ(reports_.size(), 2u);
  EXPECT_EQ(reports_[0].epoch, 1);
  EXPECT_EQ(reports_[1].metrics["validation"]["combined"]["loss"], 0.2);
  const std::string log = TrialLog();
  EXPECT_TRUE(absl::StrContains(log, "answer 1: continue")) << log;
  EXPECT_TRUE(absl::StrContains(log, "answer 2: stop")) << log;
  EXPECT_TRUE(absl::StrContains(log, "human text")) << log;
  EXPECT_TRUE(fs::exists(dir_ / "trial_0" / "trial_spec.json"));
}

TEST_F(ProcessTrialRunnerTest, TheErrorEventIsTheTrialsError) {
  const TrialOutcome outcome = Run(
      "echo 'a stack of human noise' >&2\n"
      "echo '{\"v\":1,\"type\":\"error\",\"code\":\"INVALID_ARGUMENT\","
      "\"message\":\"trainer.learning_rate: -1 is below 0\"}' >&3\n"
      "exit 1\n");
  ASSERT_FALSE(outcome.status.ok());
  EXPECT_EQ(outcome.status.message(),
            "trial process exited with status 1: trainer.learning_rate: -1 is below 0");
}

TEST_F(ProcessTrialRunnerTest, OldStdoutLinesWithoutEventsFailTheTrialWithItsLastLines) {
  const TrialOutcome outcome = Run(
      "echo 'tristage-trial-epoch {\"epoch\": 1, \"metrics\": {}}'\n"
      "echo 'tristage-trial-result {\"training_statistics\": {}, \"best_epoch\": 1}'\n");
  EXPECT_TRUE(reports_.empty());
  ASSERT_FALSE(outcome.status.ok());
  EXPECT_TRUE(absl::StartsWith(outcome.status.message(),
                               "trial process exited with status 0 without a result: "))
      << outcome.status;
  EXPECT_TRUE(absl::StrContains(outcome.status.message(), "tristage-trial-result"));
}

TEST_F(ProcessTrialRunnerTest, AMalformedEventFailsTheTrialAndAWaitingChildIsReleased) {
  // The child waits for an answer after its progress line; the malformed line closes its stdin,
  // so its read fails instead of hanging the trial.
  const TrialOutcome outcome = Run(
      "printf '{\"v\":1,\"type\":\"progress\",\"epoch\":-2}\\n' >&3\n"
      "if read answer; then echo \"answered $answer\"; else echo 'stdin closed'; fi\n"
      "echo '{\"v\":1,\"type\":\"result\"}' >&3\n");
  ASSERT_FALSE(outcome.status.ok());
  EXPECT_TRUE(absl::StrContains(outcome.status.message(),
                                "the trial sent a malformed event: job events line 1: progress "
                                "event: epoch: -2 is not a whole number"))
      << outcome.status;
  EXPECT_TRUE(absl::StrContains(TrialLog(), "stdin closed")) << TrialLog();
}

}  // namespace
}  // namespace tristage::hyperopt
