// K-fold cross validation through the engine API: the two Ludwig files, folds that partition the
// rows, overall statistics that are the folds' mean and std, reproducibility and bad options.
#include "core/api/kfold.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "core/api/synthesize.h"
#include "core/data/io.h"
#include "gtest/gtest.h"
#include "tests/testing/scratch_dir.h"

namespace tristage {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

constexpr int64_t kRows = 200;

class KfoldTest : public ::testing::Test {
 protected:
  void SetUp() override {
    config_ = json::parse(R"({
      "input_features": [{"name": "x", "type": "number"}, {"name": "c", "type": "category"}],
      "output_features": [{"name": "label", "type": "binary"}],
      "trainer": {"epochs": 1, "batch_size": 32}
    })");
    SynthesizeOptions synth;
    synth.rows = kRows;
    synth.seed = 3;
    auto table = SynthesizeDataset(config_, synth);
    ASSERT_TRUE(table.ok()) << table.status();
    dataset_ = (dir_ / "data.csv").string();
    ASSERT_TRUE(data::WriteTable(*table, dataset_).ok());
  }

  KfoldOptions Options(const std::string& output, int64_t folds = 3) const {
    KfoldOptions options;
    options.num_folds = folds;
    options.train.data.dataset = dataset_;
    options.train.output_directory = (dir_ / output).string();
    options.train.random_seed = 11;
    return options;
  }

  static json ReadJson(const fs::path& path) {
    std::ifstream in(path);
    return json::parse(in);
  }
  static std::string ReadText(const fs::path& path) {
    std::ifstream in(path);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }

  const testing::ScratchDir dir_{"tristage_kfold_test"};
  json config_;
  std::string dataset_;
};

TEST_F(KfoldTest, WritesLudwigsFilesWithFoldsThatPartitionTheRows) {
  auto results = KfoldCrossValidate(config_, Options("results"));
  ASSERT_TRUE(results.ok()) << results.status();
  const fs::path out = dir_ / "results";
  ASSERT_TRUE(fs::exists(out / "kfold_training_statistics.json"));
  ASSERT_TRUE(fs::exists(out / "kfold_split_indices.json"));
  EXPECT_EQ(results->statistics_path, (out / "kfold_training_statistics.json").string());

  const json indices = ReadJson(out / "kfold_split_indices.json");
  EXPECT_EQ(indices, results->split_indices);
  ASSERT_EQ(indices.size(), 3u);
  std::vector<int64_t> tested;
  for (int fold = 1; fold <= 3; ++fold) {
    const json& block = indices.at("fold_" + std::to_string(fold));
    const auto training = block.at("training_indices").get<std::vector<int64_t>>();
    const auto test = block.at("test_indices").get<std::vector<int64_t>>();
    EXPECT_EQ(training.size() + test.size(), static_cast<size_t>(kRows));
    std::vector<int64_t> both = training;
    both.insert(both.end(), test.begin(), test.end());
    std::sort(both.begin(), both.end());
    EXPECT_EQ(std::adjacent_find(both.begin(), both.end()), both.end()) << "fold " << fold;
    tested.insert(tested.end(), test.begin(), test.end());
  }
  std::sort(tested.begin(), tested.end());
  std::vector<int64_t> all(kRows);
  for (int64_t i = 0; i < kRows; ++i) all[i] = i;
  EXPECT_EQ(tested, all);  // disjoint test sets covering every row once

  const json stats = ReadJson(out / "kfold_training_statistics.json");
  for (const char* key : {"fold_1", "fold_2", "fold_3", "overall"}) {
    EXPECT_TRUE(stats.contains(key)) << key;
  }
  // Ludwig's per-fold block: training statistics plus the held-out fold's test statistics.
  const json& fold1 = stats.at("fold_1");
  EXPECT_TRUE(fold1.at("training").contains("label"));
  EXPECT_TRUE(fold1.at("test").contains("label"));
  EXPECT_TRUE(fold1.at("validation").empty()) << "no validation set per fold, as in Ludwig";
  EXPECT_TRUE(fold1.at("fold_eval_stats").at("label").contains("accuracy"));

  for (const char* metric : {"accuracy", "loss"}) {
    std::vector<double> values;
    for (const char* fold : {"fold_1", "fold_2", "fold_3"}) {
      values.push_back(stats.at(fold).at("fold_eval_stats").at("label").at(metric).get<double>());
    }
    const double mean = (values[0] + values[1] + values[2]) / 3;
    double squares = 0;
    for (double v : values) squares += (v - mean) * (v - mean);
    const json& overall = stats.at("overall").at("label");
    EXPECT_NEAR(overall.at(std::string(metric) + "_mean").get<double>(), mean, 1e-9) << metric;
    EXPECT_NEAR(overall.at(std::string(metric) + "_std").get<double>(), std::sqrt(squares / 3),
                1e-9)
        << metric;
  }
  EXPECT_TRUE(stats.at("overall").contains("combined"));

  ASSERT_EQ(results->fold_run_directories.size(), 3u);
  EXPECT_EQ(results->fold_run_directories[0], (out / "experiment_run_fold_1").string());
  for (const std::string& run : results->fold_run_directories) {
    EXPECT_TRUE(fs::exists(fs::path(run) / "test_statistics.json")) << run;
  }
  for (const auto& entry : fs::directory_iterator(out)) {  // the per-fold data files are gone
    EXPECT_FALSE(absl::StartsWith(entry.path().filename().string(), ".kfold")) << entry.path();
  }
}

TEST_F(KfoldTest, SameSeedGivesIdenticalSplitIndicesOtherSeedOtherFolds) {
  KfoldOptions options = Options("first", 2);
  options.train.skip_save_model = true;
  options.train.skip_save_progress = true;
  ASSERT_TRUE(KfoldCrossValidate(config_, options).ok());
  options.train.output_directory = (dir_ / "again").string();
  ASSERT_TRUE(KfoldCrossValidate(config_, options).ok());
  EXPECT_EQ(ReadText(dir_ / "first" / "kfold_split_indices.json"),
            ReadText(dir_ / "again" / "kfold_split_indices.json"));
  options.train.output_directory = (dir_ / "other").string();
  options.train.random_seed = 12;
  ASSERT_TRUE(KfoldCrossValidate(config_, options).ok());
  EXPECT_NE(ReadText(dir_ / "first" / "kfold_split_indices.json"),
            ReadText(dir_ / "other" / "kfold_split_indices.json"));
}

TEST_F(KfoldTest, SkipSaveSplitIndicesWritesOnlyTheStatistics) {
  KfoldOptions options = Options("results", 2);
  options.skip_save_k_fold_split_indices = true;
  auto results = KfoldCrossValidate(config_, options);
  ASSERT_TRUE(results.ok()) << results.status();
  EXPECT_TRUE(fs::exists(dir_ / "results" / "kfold_training_statistics.json"));
  EXPECT_FALSE(fs::exists(dir_ / "results" / "kfold_split_indices.json"));
  EXPECT_TRUE(results->split_indices_path.empty());
}

TEST_F(KfoldTest, BadFoldCountsAreInvalidArgumentsNamingTheFlag) {
  for (int64_t folds : {int64_t{1}, int64_t{0}, int64_t{-3}, kRows + 1}) {
    auto results = KfoldCrossValidate(config_, Options("results", folds));
    ASSERT_FALSE(results.ok()) << folds;
    EXPECT_EQ(results.status().code(), absl::StatusCode::kInvalidArgument) << folds;
    EXPECT_TRUE(absl::StartsWith(results.status().message(), "--k_fold: "))
        << results.status().message();
  }
  EXPECT_EQ(KfoldCrossValidate(config_, Options("results", kRows + 1)).status().message(),
            "--k_fold: 201 folds but '" + dataset_ + "' has only 200 rows");
  EXPECT_FALSE(fs::exists(dir_ / "results"));
}

TEST_F(KfoldTest, DatasetProblemsNameTheDatasetFlag) {
  KfoldOptions options = Options("results");
  options.train.data.dataset.clear();
  auto none = KfoldCrossValidate(config_, options);
  EXPECT_EQ(none.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StartsWith(none.status().message(), "--dataset: ")) << none.status();

  options.train.data.dataset = (dir_ / "missing.csv").string();
  auto missing = KfoldCrossValidate(config_, options);
  EXPECT_FALSE(missing.ok());
  EXPECT_TRUE(absl::StartsWith(missing.status().message(), "--dataset: ")) << missing.status();
  EXPECT_TRUE(absl::StrContains(missing.status().message(), "missing.csv")) << missing.status();

  options = Options("results");
  options.train.data.test_set = dataset_;
  auto split = KfoldCrossValidate(config_, options);
  EXPECT_EQ(split.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(split.status().message(), "--test_set")) << split.status();
}

TEST(KfoldOverallStatisticsTest, MeanAndPopulationStdOfNumericMetricsPerOutput) {
  const json stats = json::parse(R"({
    "fold_1": {"fold_eval_stats": {"y": {"loss": 1.0, "confusion_matrix": [[1, 0], [0, 1]]},
                                   "combined": {"loss": 2.0}}},
    "fold_2": {"fold_eval_stats": {"y": {"loss": 3.0, "overall_stats": {"kappa": 0.5}},
                                   "combined": {"loss": 4.0}}}
  })");
  const json overall = KfoldOverallStatistics(stats);
  EXPECT_EQ(overall, json::parse(R"({
    "y": {"loss_mean": 2.0, "loss_std": 1.0},
    "combined": {"loss_mean": 3.0, "loss_std": 1.0}
  })"));
}

}  // namespace
}  // namespace tristage
