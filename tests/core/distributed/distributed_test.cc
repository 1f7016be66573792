// Data-parallel training end to end, through the real CLI: `tristage train --nproc_per_node 2`
// starts two worker processes that meet over TCPStore and train with Gloo. The tests compare with
// a single process, kill and stop workers, resume, and feed bad environments.
#include <dirent.h>
#include <signal.h>
#include <sys/types.h>
#include <torch/script.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/testing/scratch_dir.h"
#include "tests/testing/subprocess.h"

namespace tristage {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing::RunCommand;
using testing::ScratchDir;
using testing::Subprocess;

constexpr char kCli[] = TRISTAGE_CLI_BINARY;

// A model with every input type and two outputs, without dropout or batch normalization: the
// DDP equivalence below holds exactly only for a loss that is a mean over independent rows.
constexpr char kEveryInputType[] = R"(input_features:
  - {name: b, type: binary}
  - {name: n, type: number}
  - {name: c, type: category}
  - {name: s, type: set}
  - {name: g, type: bag}
  - {name: v, type: vector}
  - {name: d, type: date}
  - {name: t, type: text}
  - {name: q, type: sequence}
output_features:
  - {name: y, type: binary}
  - {name: z, type: number}
trainer: {train_steps: 12, batch_size: BATCH, learning_rate: 0.01, learning_rate_scaling: constant}
)";

std::string Replace(std::string text, const std::string& from, const std::string& to) {
  text.replace(text.find(from), from.size(), to);
  return text;
}

void WriteFile(const fs::path& path, const std::string& text) {
  std::ofstream(path) << text;
}

json ReadJson(const fs::path& path) {
  std::ifstream in(path);
  return json::parse(in, nullptr, false);
}

std::set<std::string> FilesUnder(const fs::path& root) {
  std::set<std::string> files;
  for (const auto& entry : fs::recursive_directory_iterator(root)) {
    if (entry.is_regular_file()) files.insert(fs::relative(entry.path(), root).string());
  }
  return files;
}

// The largest absolute difference between the parameters of two saved models.
double MaxWeightDifference(const fs::path& a, const fs::path& b) {
  torch::jit::Module first = torch::jit::load(a.string());
  torch::jit::Module second = torch::jit::load(b.string());
  std::map<std::string, torch::Tensor> theirs;
  for (const auto& p : second.named_parameters()) theirs[p.name] = p.value;
  double worst = 0;
  size_t compared = 0;
  for (const auto& p : first.named_parameters()) {
    EXPECT_TRUE(theirs.count(p.name)) << p.name;
    if (!theirs.count(p.name)) continue;
    worst = std::max(worst, (p.value - theirs[p.name]).abs().max().item<double>());
    ++compared;
  }
  EXPECT_EQ(compared, theirs.size());
  return worst;
}

// The processes whose parent is `parent`, with the RANK of their environment.
std::map<int, pid_t> WorkersOf(pid_t parent) {
  std::map<int, pid_t> workers;
  for (const auto& entry : fs::directory_iterator("/proc")) {
    pid_t pid = 0;
    if (!absl::SimpleAtoi(entry.path().filename().string(), &pid)) continue;
    std::ifstream stat(entry.path() / "stat");
    std::string text((std::istreambuf_iterator<char>(stat)), {});
    const size_t close = text.rfind(')');
    if (close == std::string::npos) continue;
    std::vector<std::string> fields = absl::StrSplit(text.substr(close + 2), ' ');
    pid_t ppid = 0;
    if (fields.size() < 2 || !absl::SimpleAtoi(fields[1], &ppid) || ppid != parent) continue;
    std::ifstream environ(entry.path() / "environ");
    std::string env((std::istreambuf_iterator<char>(environ)), {});
    for (absl::string_view variable : absl::StrSplit(env, '\0')) {
      int rank = 0;
      if (absl::ConsumePrefix(&variable, "RANK=") && absl::SimpleAtoi(variable, &rank)) {
        workers[rank] = pid;
      }
    }
  }
  return workers;
}

// True while `pid` names a live (not zombie) process.
bool Alive(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(stat)), {});
  const size_t close = text.rfind(')');
  return close != std::string::npos && text.size() > close + 2 && text[close + 2] != 'Z';
}

class DistributedTest : public ::testing::Test {
 protected:
  void SetUp() override {
    WriteFile(dir_ / "every.yaml", Replace(kEveryInputType, "BATCH", "8"));
    auto made = RunCommand({kCli, "synthesize_dataset", "-c", (dir_ / "every.yaml").string(),
                            "-d", "300", "-od", (dir_ / "every.csv").string()});
    ASSERT_TRUE(made.ok()) << made.status();
    ASSERT_EQ(made->exit_code, 0) << made->err;
  }

  // `tristage train` with `extra` flags into dir_/<name>; returns the run directory.
  fs::path Train(const std::string& config, const std::string& data, const std::string& name,
                 const std::vector<std::string>& extra, int expect_exit = 0,
                 std::string* err = nullptr) {
    std::vector<std::string> argv = {kCli,         "train",
                                     "-c",         (dir_ / config).string(),
                                     "--dataset",  (dir_ / data).string(),
                                     "-od",        (dir_ / name).string(),
                                     "--skip_save_processed_input"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    auto run = RunCommand(argv, absl::Seconds(240));
    EXPECT_TRUE(run.ok());
    if (!run.ok()) return {};
    EXPECT_EQ(run->exit_code, expect_exit) << run->err;
    if (err != nullptr) *err = run->err;
    return dir_ / name / "experiment_run";
  }

  // Two workers on 3000 rows with batch 8 for many epochs (long enough that what a test does after
  // the first checkpoint lands mid-epoch), started with `extra` flags; null (with a test failure)
  // unless rank 0 wrote its first checkpoint within 120 s.
  std::unique_ptr<Subprocess> StartLongRun(const std::vector<std::string>& extra) {
    auto made = RunCommand({kCli, "synthesize_dataset", "-c", (dir_ / "every.yaml").string(), "-d",
                            "3000", "-od", (dir_ / "big.csv").string()});
    EXPECT_TRUE(made.ok() && made->exit_code == 0);
    WriteFile(dir_ / "long.yaml", Replace(kEveryInputType, "train_steps: 12, batch_size: BATCH",
                                          "epochs: 100, early_stop: -1, batch_size: 8"));
    std::vector<std::string> argv = {kCli, "train", "-c", (dir_ / "long.yaml").string(),
                                     "--dataset", (dir_ / "big.csv").string(), "-od",
                                     (dir_ / "out").string(), "--nproc_per_node", "2",
                                     "--skip_save_processed_input"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    auto launcher = Subprocess::Start(argv);
    EXPECT_TRUE(launcher.ok());
    if (!launcher.ok()) return nullptr;
    const fs::path checkpoint =
        dir_ / "out" / "experiment_run" / "model" / "training_checkpoints" / "latest.json";
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(120);
    while (!fs::exists(checkpoint) && std::chrono::steady_clock::now() < give_up) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));  // polling a file, not syncing
    }
    EXPECT_TRUE(fs::exists(checkpoint)) << (*launcher)->stderr_text();
    if (!fs::exists(checkpoint)) return nullptr;
    return std::move(*launcher);
  }

  ScratchDir dir_{"tristage_distributed"};
};

TEST_F(DistributedTest, TwoWorkersWithBatchBReachTheWeightsOfOneWorkerWithBatch2B) {
  WriteFile(dir_ / "every16.yaml", Replace(kEveryInputType, "BATCH", "16"));
  const fs::path two = Train("every.yaml", "every.csv", "two", {"--nproc_per_node", "2"});
  const fs::path one = Train("every16.yaml", "every.csv", "one", {});
  const fs::path one_small = Train("every.yaml", "every.csv", "one_small", {});
  const std::string weights = "model/model_weights.pt";
  EXPECT_LT(MaxWeightDifference(two / weights, one / weights), 1e-5);
  // The comparison can tell: one worker with batch b takes other steps.
  EXPECT_GT(MaxWeightDifference(two / weights, one_small / weights), 1e-3);
  // The same files as a single-process run, and the same statistics.
  EXPECT_EQ(FilesUnder(two), FilesUnder(one));
  const json stats_two = ReadJson(two / "training_statistics.json");
  const json stats_one = ReadJson(one / "training_statistics.json");
  EXPECT_NEAR(stats_two["validation"]["y"]["loss"][0].get<double>(),
              stats_one["validation"]["y"]["loss"][0].get<double>(), 1e-4);
  const json progress = ReadJson(two / "model" / "training_progress.json");
  EXPECT_EQ(progress["distributed"]["world_size"], 2);
  EXPECT_EQ(progress["distributed"]["batch_size_per_step"], 16);
  EXPECT_EQ(progress["steps"], 12);

  // Ludwig's default scaling (linear) steps with the learning rate times the world size.
  WriteFile(dir_ / "linear.yaml", Replace(Replace(kEveryInputType, "BATCH", "8"),
                                          "learning_rate_scaling: constant",
                                          "learning_rate_scaling: linear"));
  WriteFile(dir_ / "sqrt.yaml", Replace(Replace(kEveryInputType, "BATCH", "8"),
                                        "learning_rate_scaling: constant",
                                        "learning_rate_scaling: sqrt"));
  const fs::path linear = Train("linear.yaml", "every.csv", "linear", {"--nproc_per_node", "2"});
  const fs::path sqrt = Train("sqrt.yaml", "every.csv", "sqrt", {"--nproc_per_node", "2"});
  EXPECT_DOUBLE_EQ(ReadJson(linear / "model" / "training_progress.json")["learning_rate"], 0.02);
  EXPECT_NEAR(ReadJson(sqrt / "model" / "training_progress.json")["learning_rate"].get<double>(),
              0.01 * std::sqrt(2.0), 1e-12);
  EXPECT_DOUBLE_EQ(progress["learning_rate"], 0.01);
  EXPECT_GT(MaxWeightDifference(two / weights, linear / weights), 1e-4);
}

TEST_F(DistributedTest, KillingAWorkerFailsTheRunNamingItAndLeavesNothingRunning) {
  std::unique_ptr<Subprocess> launcher = StartLongRun({});
  ASSERT_NE(launcher, nullptr);
  const std::map<int, pid_t> workers = WorkersOf(launcher->pid());
  ASSERT_EQ(workers.size(), 2u);
  const auto killed_at = std::chrono::steady_clock::now();
  ASSERT_EQ(kill(workers.at(1), SIGKILL), 0);
  auto code = launcher->Wait(absl::Seconds(60));
  ASSERT_TRUE(code.ok()) << "the launcher did not exit within 60 s of the kill";
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - killed_at).count();
  EXPECT_LT(seconds, 60);
  EXPECT_NE(*code, 0);
  const std::string& err = launcher->stderr_text();
  EXPECT_TRUE(absl::StrContains(err, "distributed training failed: rank 1 (pid " +
                                         std::to_string(workers.at(1)) +
                                         ") killed by signal 9"))
      << err;
  for (const auto& [rank, pid] : workers) EXPECT_FALSE(Alive(pid)) << "rank " << rank;
}

TEST_F(DistributedTest, AHungWorkerFailsTheRunAfterTheTimeout) {
  std::unique_ptr<Subprocess> launcher = StartLongRun({"--dist_timeout", "5"});
  ASSERT_NE(launcher, nullptr);
  const std::map<int, pid_t> workers = WorkersOf(launcher->pid());
  ASSERT_EQ(workers.size(), 2u);
  ASSERT_EQ(kill(workers.at(1), SIGSTOP), 0);
  auto code = launcher->Wait(absl::Seconds(60));
  ASSERT_TRUE(code.ok()) << "a hung worker must fail the run after --dist_timeout";
  EXPECT_NE(*code, 0);
  const std::string& err = launcher->stderr_text();
  EXPECT_TRUE(absl::StrContains(err, "distributed training failed: rank 1 (pid " +
                                         std::to_string(workers.at(1)) +
                                         ") stopped answering (it hung)"))
      << err;
  // Rank 0 gave up on the collective after --dist_timeout and said which.
  EXPECT_TRUE(absl::StrContains(err, "rank 0/2: the all-reduce of gradients")) << err;
  for (const auto& [rank, pid] : workers) EXPECT_FALSE(Alive(pid)) << "rank " << rank;
}

TEST_F(DistributedTest, ResumesWithTheSameWorldSizeAndRefusesAnother) {
  ASSERT_EQ(RunCommand({kCli, "synthesize_dataset", "-c", (dir_ / "every.yaml").string(), "-d",
                        "2000", "-od", (dir_ / "big.csv").string()})
                ->exit_code,
            0);
  WriteFile(dir_ / "four.yaml", Replace(kEveryInputType, "train_steps: 12, batch_size: BATCH",
                                        "epochs: 4, early_stop: -1, batch_size: 8"));
  const fs::path full = Train("four.yaml", "big.csv", "full", {"--nproc_per_node", "2"});

  // The same run, killed (launcher and workers) after its second epoch's checkpoint.
  auto launcher = Subprocess::Start({kCli, "train", "-c", (dir_ / "four.yaml").string(),
                                     "--dataset", (dir_ / "big.csv").string(), "-od",
                                     (dir_ / "cut").string(), "--nproc_per_node", "2",
                                     "--skip_save_processed_input"});
  ASSERT_TRUE(launcher.ok());
  const fs::path run = dir_ / "cut" / "experiment_run";
  const fs::path checkpoint = run / "model" / "training_checkpoints" / "latest.json";
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (std::chrono::steady_clock::now() < give_up) {
    const json state = fs::exists(checkpoint) ? ReadJson(checkpoint) : json();
    if (state.is_object() && state.value("epoch", 0) >= 2) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  const std::map<int, pid_t> workers = WorkersOf((*launcher)->pid());
  for (const auto& [rank, pid] : workers) kill(pid, SIGKILL);
  (*launcher)->Signal(SIGKILL);
  ASSERT_TRUE((*launcher)->Wait(absl::Seconds(30)).ok());
  ASSERT_EQ(ReadJson(checkpoint).value("epoch", 0), 2);
  ASSERT_FALSE(fs::exists(run / "training_statistics.json"));

  std::string err;
  Train("four.yaml", "big.csv", "ignored", {"--model_resume_path", run.string()}, 1, &err);
  EXPECT_TRUE(absl::StrContains(err, "written by a run of 2 worker(s) and this run has 1")) << err;

  Train("four.yaml", "big.csv", "ignored",
        {"--model_resume_path", run.string(), "--nproc_per_node", "2"});
  EXPECT_EQ(ReadJson(run / "training_statistics.json").dump(),
            ReadJson(full / "training_statistics.json").dump());
  EXPECT_LT(MaxWeightDifference(run / "model/model_weights.pt", full / "model/model_weights.pt"),
            1e-6);
}

TEST_F(DistributedTest, LudwigRayBackendRunsItsWorkersAndSaysSo) {
  WriteFile(dir_ / "ray.yaml", Replace(Replace(kEveryInputType, "BATCH", "8"), "trainer:",
                                       "backend: {type: ray, trainer: {num_workers: 2}}\ntrainer:"));
  std::string err;
  const fs::path run = Train("ray.yaml", "every.csv", "ray", {}, 0, &err);
  EXPECT_TRUE(absl::StrContains(err, "backend: ray with trainer.num_workers 2 runs as 2 local "
                                     "worker processes of torch.distributed"))
      << err;
  EXPECT_EQ(ReadJson(run / "model" / "training_progress.json")["distributed"]["world_size"], 2);
  // The flag wins over the config, and says so.
  const fs::path flagged = Train("ray.yaml", "every.csv", "flag", {"--nproc_per_node", "1"}, 0,
                                 &err);
  EXPECT_TRUE(absl::StrContains(err, "--nproc_per_node 1 overrides")) << err;
  EXPECT_FALSE(ReadJson(flagged / "model" / "training_progress.json").contains("distributed"));
  // K-fold trains its folds in this process, and says the backend's workers do not apply.
  auto folds = RunCommand({kCli, "experiment", "-c", (dir_ / "ray.yaml").string(), "--dataset",
                           (dir_ / "every.csv").string(), "-od", (dir_ / "kfold").string(), "-kf",
                           "2", "--skip_save_processed_input"},
                          absl::Seconds(120));
  ASSERT_TRUE(folds.ok());
  EXPECT_EQ(folds->exit_code, 0) << folds->err;
  EXPECT_TRUE(absl::StrContains(folds->err, "backend.trainer.num_workers does not apply to "
                                            "--k_fold"))
      << folds->err;
  EXPECT_TRUE(fs::exists(dir_ / "kfold" / "kfold_training_statistics.json"));
}

TEST_F(DistributedTest, RankZeroFailingToPrepareTheDataFailsEveryRankWithItsReason) {
  WriteFile(dir_ / "other.csv", "x,y\n1,2\n3,4\n");
  std::string err;
  Train("every.yaml", "other.csv", "bad", {"--nproc_per_node", "2"}, 1, &err);
  EXPECT_TRUE(absl::StrContains(err, "rank 0 could not prepare the data")) << err;
  EXPECT_TRUE(absl::StrContains(err, "distributed training failed: rank 0")) << err;
}

TEST_F(DistributedTest, BadWorldsAreRefusedNamingTheVariableOrFlag) {
  struct Case {
    std::vector<std::string> env;
    std::vector<std::string> flags;
    std::string message;
  };
  const std::vector<Case> cases = {
      {{"WORLD_SIZE=2", "RANK=2"}, {}, "RANK='2': expected an integer in [0, 1]"},
      {{"WORLD_SIZE=2"}, {}, "WORLD_SIZE is set but RANK is not"},
      {{"WORLD_SIZE=-1", "RANK=0"}, {}, "WORLD_SIZE='-1'"},
      {{"WORLD_SIZE=2", "RANK=0", "MASTER_PORT=70000"}, {}, "MASTER_PORT='70000'"},
      {{"WORLD_SIZE=2", "RANK=1"}, {"--nproc_per_node", "2"}, "WORLD_SIZE is already set"},
      {{}, {"--nproc_per_node", "0"}, "--nproc_per_node: '0' is not an integer in [1, "},
      {{}, {"--nproc_per_node", "5000"}, "(at most 4 workers per core"},
      {{}, {"--nproc_per_node", "99999999999"}, "--nproc_per_node: '99999999999'"},
      {{}, {"--nproc_per_node", "2", "--dist_timeout", "-5"}, "--dist_timeout: '-5'"},
      {{}, {"--nnodes", "2", "--node_rank", "0"}, "--master_port: required"},
      {{}, {"--nnodes", "2", "--node_rank", "2", "--master_port", "5"}, "--node_rank 2"},
      {{}, {"--nproc_per_node", "2", "--master_addr", ""}, "--master_addr"},
  };
  for (const Case& c : cases) {
    std::vector<std::string> argv = {"/usr/bin/env"};
    argv.insert(argv.end(), c.env.begin(), c.env.end());
    for (const std::string& a : {std::string(kCli), std::string("train"), std::string("-c"),
                                 (dir_ / "every.yaml").string(), std::string("--dataset"),
                                 (dir_ / "every.csv").string(), std::string("-od"),
                                 (dir_ / "never").string()}) {
      argv.push_back(a);
    }
    argv.insert(argv.end(), c.flags.begin(), c.flags.end());
    auto run = RunCommand(argv, absl::Seconds(60));
    ASSERT_TRUE(run.ok());
    EXPECT_EQ(run->exit_code, 2) << c.message << "\n" << run->err;
    EXPECT_TRUE(absl::StrContains(run->err, c.message)) << run->err;
  }
  EXPECT_FALSE(fs::exists(dir_ / "never"));
}

}  // namespace
}  // namespace tristage
