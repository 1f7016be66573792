// Hyperopt through the engine API with real trials: child processes of the built tristage CLI,
// training real models on synthesized data. Covers Ludwig's files, grid search without repeats,
// a failing trial that does not end the run, the best model, resume after an interruption, and
// configuration errors. Search algorithms and schedulers are tested on their own in
// tests/core/hyperopt.
#include "core/api/hyperopt.h"

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <string>

#include "absl/strings/match.h"
#include "core/api/synthesize.h"
#include "core/data/io.h"
#include "gtest/gtest.h"
#include "tests/testing/scratch_dir.h"

namespace tristage {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

class HyperoptTest : public ::testing::Test {
 protected:
  void SetUp() override {
    config_ = json::parse(R"({
      "input_features": [{"name": "x", "type": "number"}, {"name": "c", "type": "category"}],
      "output_features": [{"name": "label", "type": "binary"}],
      "trainer": {"epochs": 2, "batch_size": 32},
      "hyperopt": {
        "goal": "maximize",
        "metric": "roc_auc",
        "output_feature": "label",
        "parameters": {"trainer.learning_rate": {"space": "grid_search",
                                                 "values": [0.01, 0.001, -1.0]}},
        "executor": {"max_concurrent_trials": 2}
      }
    })");
    SynthesizeOptions synth;
    synth.rows = 300;
    synth.seed = 5;
    auto table = SynthesizeDataset(config_, synth);
    ASSERT_TRUE(table.ok()) << table.status();
    dataset_ = (dir_ / "data.csv").string();
    ASSERT_TRUE(data::WriteTable(*table, dataset_).ok());
  }
  HyperoptOptions Options() const {
    HyperoptOptions options;
    options.train.data.dataset = dataset_;
    options.train.output_directory = (dir_ / "results").string();
    options.train.random_seed = 7;
    options.trial_executable = TRISTAGE_CLI_BINARY;
    return options;
  }

  static json ReadJson(const fs::path& path) {
    std::ifstream in(path);
    return json::parse(in);
  }

  const testing::ScratchDir dir_{"tristage_hyperopt_test"};
  json config_;
  std::string dataset_;
};

TEST_F(HyperoptTest, GridRunsEachValueOnceRecordsTheFailureAndRanksTheRest) {
  auto results = Hyperopt(config_, Options());
  ASSERT_TRUE(results.ok()) << results.status();
  const fs::path out = dir_ / "results" / "hyperopt";
  EXPECT_EQ(results->directory, out.string());
  ASSERT_TRUE(fs::exists(out / "hyperopt_statistics.json"));
  const json stats = ReadJson(out / "hyperopt_statistics.json");
  EXPECT_EQ(stats, results->statistics);
  EXPECT_EQ(stats["hyperopt_config"]["goal"], "maximize");
  EXPECT_EQ(stats["hyperopt_config"]["executor"]["num_samples"], 1);  // grid: Ludwig's default

  // Three grid values, three trials, none repeated; the negative learning rate fails its trial.
  const json& ranked = stats["hyperopt_results"];
  const json& failed = stats["failed_trials"];
  ASSERT_EQ(ranked.size(), 2u) << stats.dump(1);
  ASSERT_EQ(failed.size(), 1u) << stats.dump(1);
  EXPECT_EQ(failed[0]["parameters"]["trainer.learning_rate"], -1.0);
  EXPECT_TRUE(absl::StrContains(failed[0]["error"].get<std::string>(), "learning_rate"))
      << failed[0]["error"];
  std::set<double> tried;
  for (const json& result : ranked)
    tried.insert(result["parameters"]["trainer.learning_rate"].get<double>());
  EXPECT_EQ(tried, (std::set<double>{0.01, 0.001}));
  EXPECT_EQ(results->trials_run, 3);

  // Best first (maximize); metric_score is the best epoch's roc_auc on the validation split.
  EXPECT_GE(ranked[0]["metric_score"].get<double>(), ranked[1]["metric_score"].get<double>());
  for (const json& result : ranked) {
    const int64_t best = result["best_epoch"];
    ASSERT_GE(best, 1);
    const json series = result["training_stats"]["validation"]["label"]["roc_auc"];
    EXPECT_EQ(result["metric_score"], series[best - 1]);
    EXPECT_EQ(result["eval_stats"]["label"]["roc_auc"], result["metric_score"]);
    for (const json& value : series) {
      EXPECT_LE(value.get<double>(), result["metric_score"].get<double>());
    }
    const fs::path trial = result["trial_dir"].get<std::string>();
    EXPECT_TRUE(fs::exists(trial / "trial_hyperparameters.json"));
    EXPECT_TRUE(fs::exists(trial / "trial_result.json"));
    EXPECT_TRUE(fs::exists(trial / "training_statistics.json"));
    EXPECT_TRUE(fs::exists(trial / "model" / "model_weights.pt"));
    // The trainer watched hyperopt's metric, so its kept epoch is hyperopt's best one.
    const json hyper = ReadJson(trial / "model" / "model_hyperparameters.json");
    EXPECT_EQ(hyper["trainer"]["validation_field"], "label");
    EXPECT_EQ(hyper["trainer"]["validation_metric"], "roc_auc");
    EXPECT_EQ(hyper["trainer"]["learning_rate"], result["parameters"]["trainer.learning_rate"]);
  }
  EXPECT_EQ(results->best_trial_directory, ranked[0]["trial_dir"]);
  EXPECT_EQ(results->best_model_path, (fs::path(results->best_trial_directory) / "model").string());
  auto best = Model::Load(results->best_model_path);
  ASSERT_TRUE(best.ok()) << best.status();
  EXPECT_TRUE((*best)->trained());
}

TEST_F(HyperoptTest, InterruptedRunResumesKeepingFinishedTrials) {
  config_["hyperopt"]["parameters"] =
      json::parse(R"({"trainer.learning_rate": {"space": "loguniform", "lower": 0.0005,
                                                "upper": 0.05},
                      "combiner.output_size": {"space": "choice", "categories": [8, 16]}})");
  config_["hyperopt"]["executor"] = {{"num_samples", 3}, {"max_concurrent_trials", 1}};
  HyperoptOptions options = Options();
  const fs::path out = dir_ / "results" / "hyperopt";
  // Interrupt once the first trial has finished.
  options.train.should_stop = [&out]() {
    return fs::exists(out / "trial_0" / "trial_result.json");
  };
  auto interrupted = Hyperopt(config_, options);
  ASSERT_EQ(interrupted.status().code(), absl::StatusCode::kCancelled) << interrupted.status();
  ASSERT_TRUE(fs::exists(out / "trial_0" / "trial_result.json"));
  const json first = ReadJson(out / "trial_0" / "trial_result.json");

  options.train.should_stop = nullptr;
  auto resumed = Hyperopt(config_, options);
  ASSERT_TRUE(resumed.ok()) << resumed.status();
  EXPECT_EQ(resumed->directory, out.string());
  EXPECT_LE(resumed->trials_run, 2);  // trial 0 is not run again
  EXPECT_EQ(ReadJson(out / "trial_0" / "trial_result.json"), first);
  const json& ranked = resumed->statistics["hyperopt_results"];
  ASSERT_EQ(ranked.size(), 3u) << resumed->statistics.dump(1);
  std::set<int64_t> ids;
  for (const json& result : ranked) ids.insert(result["trial_id"].get<int64_t>());
  EXPECT_EQ(ids, (std::set<int64_t>{0, 1, 2}));

  // A finished run resumes to the same results without running anything.
  auto again = Hyperopt(config_, options);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->trials_run, 0);
  EXPECT_EQ(again->statistics["hyperopt_results"], ranked);

  // --resume false starts a new run beside it; a changed config cannot be resumed.
  options.resume = HyperoptOptions::Resume::kNever;
  config_["hyperopt"]["executor"]["num_samples"] = 1;
  auto fresh = Hyperopt(config_, options);
  ASSERT_TRUE(fresh.ok()) << fresh.status();
  EXPECT_EQ(fresh->directory, (dir_ / "results" / "hyperopt_0").string());
  options.resume = HyperoptOptions::Resume::kAlways;
  config_["hyperopt"]["executor"]["num_samples"] = 2;
  auto refused = Hyperopt(config_, options);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition) << refused.status();
}

TEST_F(HyperoptTest, ConfigErrorsNameTheHyperoptKey) {
  struct Case {
    const char* patch;  // merged into config_["hyperopt"]
    const char* message;
  };
  const Case cases[] = {
      {R"({"metric": "jaccard"})",
       "hyperopt.metric: unknown metric 'jaccard' for binary output 'label' (known: loss, "},
      {R"({"output_feature": "labl"})",
       "hyperopt.output_feature: 'labl' is not an output feature (known: combined, label)"},
      {R"({"goal": "max"})", "hyperopt.goal: unknown value 'max' (known: minimize, maximize)"},
      {R"({"parameters": {"trainer.learnig_rate": {"space": "uniform", "lower": 0.1,
                                                  "upper": 0.2}}})",
       "hyperopt.parameters.trainer.learnig_rate: not a config key: "},
      {R"({"parameters": {"titel.encoder.type": {"space": "choice", "categories": ["dense"]}}})",
       "hyperopt.parameters.titel.encoder.type: 'titel' is neither a feature nor a config section"},
      {R"({"executor": {"gpu_resources_per_trial": 1}})",
       "hyperopt.executor.gpu_resources_per_trial: tristage trains on the CPU, so it must be 0"},
      {R"({"executor": {"num_sample": 3}})", "hyperopt.executor.num_sample: unknown key"},
      {R"({"serach_alg": {"type": "random"}})", "hyperopt.serach_alg: unknown key"},
  };
  for (const Case& c : cases) {
    json config = config_;
    config["hyperopt"].merge_patch(json::parse(c.patch));
    auto results = Hyperopt(config, Options());
    EXPECT_EQ(results.status().code(), absl::StatusCode::kInvalidArgument) << c.patch;
    EXPECT_TRUE(absl::StartsWith(results.status().message(), c.message)) << c.patch << "\n"
                                                                         << results.status();
  }
  json no_section = config_;
  no_section.erase("hyperopt");
  auto missing = Hyperopt(no_section, Options());
  EXPECT_TRUE(absl::StartsWith(missing.status().message(), "hyperopt: the config has no hyperopt"))
      << missing.status();
  HyperoptOptions no_cli = Options();
  no_cli.trial_executable = (dir_ / "nothing").string();
  EXPECT_EQ(Hyperopt(config_, no_cli).status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_FALSE(fs::exists(dir_ / "results"));  // nothing was started
}

}  // namespace
}  // namespace tristage
