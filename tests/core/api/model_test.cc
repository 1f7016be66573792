// End-to-end tests of the engine API: synthesized data -> experiment -> files, reproducibility,
// resume, load/predict/evaluate, and bad input.
#include "core/api/model.h"

#include <cmath>
#include <filesystem>
#include <fstream>

#include "absl/strings/match.h"
#include "core/api/synthesize.h"
#include "core/data/io.h"
#include "gtest/gtest.h"

namespace tristage {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

class ModelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("tristage_model_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Writes a synthesized dataset for `config` and returns its path.
  std::string Synthesize(const json& config, int64_t rows, uint64_t seed = 1) {
    SynthesizeOptions options;
    options.rows = rows;
    options.seed = seed;
    auto table = SynthesizeDataset(config, options);
    EXPECT_TRUE(table.ok()) << table.status();
    const std::string path = (dir_ / "data.csv").string();
    EXPECT_TRUE(data::WriteTable(*table, path).ok());
    return path;
  }

  TrainOptions Options(const std::string& dataset, const std::string& name = "run") {
    TrainOptions options;
    options.data.dataset = dataset;
    options.output_directory = (dir_ / "results").string();
    options.model_name = name;
    options.random_seed = 7;
    return options;
  }

  static json ReadJson(const fs::path& path) {
    std::ifstream in(path);
    return json::parse(in);
  }

  fs::path dir_;
};

json AllTypesConfig() {
  return json::parse(R"({
    "input_features": [
      {"name": "n", "type": "number"}, {"name": "b", "type": "binary"},
      {"name": "c", "type": "category"}, {"name": "s", "type": "set"},
      {"name": "g", "type": "bag"}, {"name": "v", "type": "vector"},
      {"name": "d", "type": "date"},
      {"name": "t", "type": "text", "encoder": {"type": "parallel_cnn", "num_filters": 8,
                                                "embedding_size": 8, "output_size": 8}},
      {"name": "q", "type": "sequence", "encoder": {"type": "rnn", "cell_type": "lstm",
                                                    "state_size": 8, "embedding_size": 8}}],
    "output_features": [
      {"name": "yb", "type": "binary"}, {"name": "yn", "type": "number"},
      {"name": "yc", "type": "category"}, {"name": "ys", "type": "set"},
      {"name": "yv", "type": "vector"}],
    "trainer": {"epochs": 2, "batch_size": 32}
  })");
}

TEST_F(ModelTest, ExperimentRunsEveryFeatureTypeEndToEnd) {
  const json config = AllTypesConfig();
  const std::string data = Synthesize(config, 300);
  auto model = Model::FromConfig(config);
  ASSERT_TRUE(model.ok()) << model.status();
  auto results = (*model)->Experiment(Options(data), {});
  ASSERT_TRUE(results.ok()) << results.status();
  const fs::path run = results->train.run_directory;
  EXPECT_EQ(run.filename(), "experiment_run");
  for (const char* file :
       {"description.json", "training_statistics.json", "test_statistics.json", "predictions.csv",
        "yb_predictions.csv", "yb_probabilities.csv", "yc_probabilities.csv",
        "model/model_hyperparameters.json", "model/training_set_metadata.json",
        "model/model_weights.pt", "model/training_progress.json",
        "model/training_checkpoints/latest.json"}) {
    EXPECT_TRUE(fs::exists(run / file)) << file;
  }
  const json stats = ReadJson(run / "test_statistics.json");
  for (const char* metric : {"accuracy", "precision", "recall", "specificity", "roc_auc", "loss",
                             "confusion_matrix", "overall_stats", "per_class_stats"}) {
    EXPECT_TRUE(stats["yb"].contains(metric)) << metric;
  }
  for (const char* metric : {"accuracy", "hits_at_k", "loss", "confusion_matrix"}) {
    EXPECT_TRUE(stats["yc"].contains(metric)) << metric;
  }
  for (const char* metric : {"mean_squared_error", "mean_absolute_error", "r2",
                             "root_mean_squared_error", "mean_absolute_percentage_error"}) {
    EXPECT_TRUE(stats["yn"].contains(metric)) << metric;
  }
  EXPECT_TRUE(stats["ys"].contains("jaccard"));
  EXPECT_TRUE(stats["yv"].contains("mean_squared_error"));
  EXPECT_TRUE(stats["combined"].contains("loss"));
  const json training = ReadJson(run / "training_statistics.json");
  EXPECT_EQ(training["validation"]["yb"]["loss"].size(), 2u);
  EXPECT_EQ(training["validation"]["combined"]["loss"].size(), 2u);
  // Every test row has a prediction.
  auto predictions = data::ReadTable((run / "predictions.csv").string());
  ASSERT_TRUE(predictions.ok());
  EXPECT_EQ(predictions->num_rows(),
            static_cast<int64_t>(stats["yb"]["confusion_matrix"][0][0].get<int>() +
                                 stats["yb"]["confusion_matrix"][0][1].get<int>() +
                                 stats["yb"]["confusion_matrix"][1][0].get<int>() +
                                 stats["yb"]["confusion_matrix"][1][1].get<int>()));
  EXPECT_TRUE(predictions->Find("yc_predictions") != nullptr);
  EXPECT_TRUE(predictions->Find("yn_predictions") != nullptr);
}

TEST_F(ModelTest, SameSeedGivesTheSameTestStatistics) {
  const json config = json::parse(R"({
    "input_features": [{"name": "n", "type": "number"}, {"name": "c", "type": "category"},
                       {"name": "t", "type": "text", "encoder": {"type": "embed", "embedding_size": 8}}],
    "output_features": [{"name": "y", "type": "binary"}],
    "combiner": {"num_fc_layers": 1, "output_size": 16, "dropout": 0.2},
    "trainer": {"epochs": 3, "batch_size": 16}})");
  const std::string data = Synthesize(config, 400);
  std::string texts[3];
  for (int i = 0; i < 3; ++i) {
    auto model = Model::FromConfig(config);
    ASSERT_TRUE(model.ok());
    TrainOptions options = Options(data, "run" + std::to_string(i));
    if (i == 2) options.random_seed = 8;
    auto results = (*model)->Experiment(options, {});
    ASSERT_TRUE(results.ok()) << results.status();
    std::ifstream in(fs::path(results->train.run_directory) / "test_statistics.json");
    texts[i].assign(std::istreambuf_iterator<char>(in), {});
  }
  EXPECT_EQ(texts[0], texts[1]);
  EXPECT_NE(texts[0], texts[2]);
}

// test_statistics.json agrees with the prediction files written next to it: category accuracy and
// number errors recomputed from <feature>_predictions in predictions.csv against the test set.
TEST_F(ModelTest, TestStatisticsAreWhatTheWrittenPredictionsScore) {
  const json config = json::parse(R"({
    "input_features": [{"name": "n", "type": "number"}, {"name": "c", "type": "category"},
                       {"name": "t", "type": "text"}],
    "output_features": [{"name": "y", "type": "category"}, {"name": "z", "type": "number"}],
    "trainer": {"epochs": 3, "batch_size": 16}})");
  auto all = ReadDataset(Synthesize(config, 400));
  ASSERT_TRUE(all.ok()) << all.status();
  std::vector<int64_t> train_rows, validation_rows, test_rows;
  for (int64_t i = 0; i < all->num_rows(); ++i) {
    (i < 280 ? train_rows : i < 330 ? validation_rows : test_rows).push_back(i);
  }
  TrainOptions options = Options("", "recompute");
  options.data.dataset.clear();
  options.data.training_set = (dir_ / "train.csv").string();
  options.data.validation_set = (dir_ / "validation.csv").string();
  options.data.test_set = (dir_ / "test.csv").string();
  ASSERT_TRUE(data::WriteTable(all->Take(train_rows), options.data.training_set).ok());
  ASSERT_TRUE(data::WriteTable(all->Take(validation_rows), options.data.validation_set).ok());
  const data::Table test = all->Take(test_rows);
  ASSERT_TRUE(data::WriteTable(test, options.data.test_set).ok());
  auto model = Model::FromConfig(config);
  ASSERT_TRUE(model.ok()) << model.status();
  auto results = (*model)->Experiment(options, {});
  ASSERT_TRUE(results.ok()) << results.status();
  const fs::path run(results->train.run_directory);
  const json statistics = ReadJson(run / "test_statistics.json");
  auto predictions = ReadDataset((run / "predictions.csv").string());
  ASSERT_TRUE(predictions.ok()) << predictions.status();
  ASSERT_EQ(predictions->num_rows(), test.num_rows());

  const auto& predicted_y = (**predictions->Get("y_predictions")).values;
  const auto& true_y = (**test.Get("y")).values;
  int correct = 0;
  for (size_t i = 0; i < true_y.size(); ++i) correct += predicted_y[i] == true_y[i] ? 1 : 0;
  EXPECT_NEAR(statistics["y"]["accuracy"].get<double>(),
              static_cast<double>(correct) / static_cast<double>(true_y.size()), 1e-9);

  const auto& predicted_z = (**predictions->Get("z_predictions")).values;
  const auto& true_z = (**test.Get("z")).values;
  double squared = 0, absolute = 0;
  for (size_t i = 0; i < true_z.size(); ++i) {
    const double error = std::stod(predicted_z[i]) - std::stod(true_z[i]);
    squared += error * error;
    absolute += std::abs(error);
  }
  const double rows = static_cast<double>(true_z.size());
  // The files print float32 values in their shortest form: compare at that precision.
  EXPECT_NEAR(statistics["z"]["mean_squared_error"].get<double>(), squared / rows,
              1e-4 * std::max(1.0, squared / rows));
  EXPECT_NEAR(statistics["z"]["mean_absolute_error"].get<double>(), absolute / rows,
              1e-4 * std::max(1.0, absolute / rows));
}

// training_statistics.json carries Ludwig's evaluation_frequency beside the series.
TEST_F(ModelTest, TrainingStatisticsSayHowOftenTheyWereEvaluatedAsLudwigWrites) {
  json config = json::parse(R"({
    "input_features": [{"name": "n", "type": "number"}],
    "output_features": [{"name": "y", "type": "binary"}],
    "trainer": {"epochs": 2, "batch_size": 16}})");
  const std::string data = Synthesize(config, 200);
  for (const auto& [trainer, expected] : std::vector<std::pair<json, json>>{
           {json::object(), {{"frequency", 1.0}, {"period", "epoch"}}},
           {{{"steps_per_checkpoint", 3}}, {{"frequency", 3.0}, {"period", "step"}}},
           {{{"checkpoints_per_epoch", 4}}, {{"frequency", 0.25}, {"period", "epoch"}}}}) {
    json variant = config;
    variant["trainer"].update(trainer);
    auto model = Model::FromConfig(variant);
    ASSERT_TRUE(model.ok()) << model.status();
    auto trained = (*model)->Train(Options(data, "freq" + std::to_string(expected.dump().size())));
    ASSERT_TRUE(trained.ok()) << trained.status();
    const json written = ReadJson(fs::path(trained->run_directory) / "training_statistics.json");
    EXPECT_EQ(written["evaluation_frequency"], expected) << trainer.dump();
    EXPECT_TRUE(written["validation"]["y"].contains("loss"));
  }
}

TEST_F(ModelTest, ResumingAnInterruptedRunReachesTheSameResult) {
  const json config = json::parse(R"({
    "input_features": [{"name": "n", "type": "number"}, {"name": "c", "type": "category"}],
    "output_features": [{"name": "y", "type": "category"}],
    "combiner": {"num_fc_layers": 1, "output_size": 8, "dropout": 0.3},
    "trainer": {"epochs": 4, "batch_size": 16, "early_stop": -1}})");
  const std::string data = Synthesize(config, 200);

  auto reference = Model::FromConfig(config);
  ASSERT_TRUE(reference.ok());
  auto uninterrupted = (*reference)->Train(Options(data, "full"));
  ASSERT_TRUE(uninterrupted.ok()) << uninterrupted.status();

  // Stop in the middle of the third epoch (9 batches per epoch of 140 training rows).
  auto first = Model::FromConfig(config);
  ASSERT_TRUE(first.ok());
  TrainOptions options = Options(data, "interrupted");
  int batches = 0;
  options.should_stop = [&batches] { return ++batches > 22; };
  auto stopped = (*first)->Train(options);
  ASSERT_FALSE(stopped.ok());
  EXPECT_EQ(stopped.status().code(), absl::StatusCode::kCancelled);

  auto second = Model::FromConfig(config);
  ASSERT_TRUE(second.ok());
  TrainOptions resume = Options(data, "ignored");
  resume.model_resume_path = (dir_ / "results" / "experiment_interrupted").string();
  auto resumed = (*second)->Train(resume);
  ASSERT_TRUE(resumed.ok()) << resumed.status();
  EXPECT_EQ(resumed->training_statistics.dump(), uninterrupted->training_statistics.dump());
  const auto a = (*reference)->Weights();
  const auto b = (*second)->Weights();
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i)
    EXPECT_EQ(a[i].second.values, b[i].second.values) << a[i].first;
}

TEST_F(ModelTest, ResumingFromAMidEpochCheckpointReachesTheSameResult) {
  const json config = json::parse(R"({
    "input_features": [{"name": "n", "type": "number"}, {"name": "t", "type": "text"}],
    "output_features": [{"name": "y", "type": "binary"}],
    "combiner": {"num_fc_layers": 1, "output_size": 8, "dropout": 0.3},
    "trainer": {"epochs": 3, "batch_size": 16, "early_stop": -1, "steps_per_checkpoint": 4}})");
  const std::string data = Synthesize(config, 200);
  auto reference = Model::FromConfig(config);
  ASSERT_TRUE(reference.ok());
  ASSERT_TRUE((*reference)->Train(Options(data, "full")).ok());

  // 9 batches per epoch; stopping at batch 15 leaves the step-12 checkpoint (epoch 2, batch 3).
  auto first = Model::FromConfig(config);
  ASSERT_TRUE(first.ok());
  TrainOptions options = Options(data, "interrupted");
  int batches = 0;
  options.should_stop = [&batches] { return ++batches > 14; };
  ASSERT_EQ((*first)->Train(options).status().code(), absl::StatusCode::kCancelled);
  const json checkpoint = ReadJson(dir_ / "results" / "experiment_interrupted" / "model" /
                                   "training_checkpoints" / "latest.json");
  EXPECT_EQ(checkpoint["steps"], 12);
  EXPECT_EQ(checkpoint["position_in_epoch"], 3);

  auto second = Model::FromConfig(config);
  ASSERT_TRUE(second.ok());
  TrainOptions resume = Options(data, "ignored");
  resume.model_resume_path = (dir_ / "results" / "experiment_interrupted" / "model").string();
  ASSERT_TRUE((*second)->Train(resume).ok());
  const auto a = (*reference)->Weights();
  const auto b = (*second)->Weights();
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i)
    EXPECT_EQ(a[i].second.values, b[i].second.values) << a[i].first;
}

TEST_F(ModelTest, LoadedModelPredictsAndEvaluatesLikeTheTrainedOne) {
  const json config = json::parse(R"({
    "input_features": [{"name": "n", "type": "number"}, {"name": "s", "type": "set"}],
    "output_features": [{"name": "y", "type": "binary"}],
    "trainer": {"epochs": 2}})");
  const std::string data = Synthesize(config, 200);
  auto model = Model::FromConfig(config);
  ASSERT_TRUE(model.ok());
  auto trained = (*model)->Train(Options(data));
  ASSERT_TRUE(trained.ok()) << trained.status();
  auto table = data::ReadTable(data);
  ASSERT_TRUE(table.ok());
  auto expected = (*model)->Predict(*table);
  ASSERT_TRUE(expected.ok()) << expected.status();

  auto loaded = Model::Load(trained->run_directory);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  auto predicted = (*loaded)->Predict(*table);
  ASSERT_TRUE(predicted.ok()) << predicted.status();
  ASSERT_EQ(predicted->num_rows(), 200);
  EXPECT_EQ(predicted->Find("y_predictions")->values, expected->Find("y_predictions")->values);
  EXPECT_EQ(predicted->Find("y_probability")->values, expected->Find("y_probability")->values);

  auto evaluation = (*loaded)->Evaluate(*table);
  ASSERT_TRUE(evaluation.ok()) << evaluation.status();
  EXPECT_TRUE(evaluation->test_statistics["y"].contains("roc_auc"));
  EXPECT_EQ(evaluation->predictions.num_rows(), 200);
}

TEST_F(ModelTest, SelectSplitReproducesTheTrainingRunSplit) {
  const json config = json::parse(R"({
    "input_features": [{"name": "n", "type": "number"}],
    "output_features": [{"name": "y", "type": "binary"}],
    "trainer": {"epochs": 1}})");
  const std::string data = Synthesize(config, 100);
  auto model = Model::FromConfig(config);
  ASSERT_TRUE(model.ok());
  auto trained = (*model)->Train(Options(data));
  ASSERT_TRUE(trained.ok()) << trained.status();
  auto loaded = Model::Load(trained->model_directory);
  ASSERT_TRUE(loaded.ok());
  auto table = data::ReadTable(data);
  ASSERT_TRUE(table.ok());
  auto test = (*loaded)->SelectSplit(*table, "test");
  auto again = (*model)->SelectSplit(*table, "test");
  ASSERT_TRUE(test.ok() && again.ok());
  EXPECT_EQ(test->num_rows(), 20);
  EXPECT_EQ(test->Find("n")->values, again->Find("n")->values);
  EXPECT_EQ((*loaded)->SelectSplit(*table, "full")->num_rows(), 100);
  EXPECT_FALSE((*loaded)->SelectSplit(*table, "holdout").ok());
  // train_online continues from the loaded weights.
  const auto before = (*loaded)->Weights();
  ASSERT_TRUE((*loaded)->TrainOnline(*test).ok());
  EXPECT_NE(before.back().second.values, (*loaded)->Weights().back().second.values);
}

TEST_F(ModelTest, EarlyStoppingEndsTrainingAndKeepsTheBestEpoch) {
  const json config = json::parse(R"({
    "input_features": [{"name": "n", "type": "number"}],
    "output_features": [{"name": "y", "type": "number"}],
    "trainer": {"epochs": 200, "early_stop": 2, "learning_rate": 0.05}})");
  const std::string data = Synthesize(config, 200);
  auto model = Model::FromConfig(config);
  ASSERT_TRUE(model.ok());
  auto trained = (*model)->Train(Options(data));
  ASSERT_TRUE(trained.ok()) << trained.status();
  const int64_t epochs = trained->progress["epoch"];
  const int64_t best = trained->progress["best_eval_metric_epoch"];
  EXPECT_LT(epochs, 200);
  EXPECT_EQ(epochs - best, 2);
  const json& series = trained->training_statistics["validation"]["y"]["mean_squared_error"];
  double best_value = series[0];
  for (const json& v : series) best_value = std::min(best_value, v.get<double>());
  EXPECT_DOUBLE_EQ(trained->progress["best_eval_metric_value"].get<double>(), best_value);
}

// Accuracy on a 20-row validation split ties often; a tie goes to the epoch with the lower
// validation loss, replayed here from the recorded series.
TEST_F(ModelTest, ATiedValidationMetricKeepsTheEpochWithTheLowerLoss) {
  const json config = json::parse(R"({
    "input_features": [{"name": "n", "type": "number"}],
    "output_features": [{"name": "y", "type": "binary"}],
    "trainer": {"epochs": 20, "early_stop": -1, "validation_metric": "accuracy"}})");
  const std::string data = Synthesize(config, 200);
  auto model = Model::FromConfig(config);
  ASSERT_TRUE(model.ok());
  auto trained = (*model)->Train(Options(data));
  ASSERT_TRUE(trained.ok()) << trained.status();
  const json& validation = trained->training_statistics["validation"]["y"];
  const json& accuracy = validation["accuracy"];
  const json& loss = validation["loss"];
  ASSERT_EQ(accuracy.size(), 20u);
  size_t best = 0;
  size_t first_at_best_accuracy = 0;
  for (size_t epoch = 1; epoch < accuracy.size(); ++epoch) {
    const double a = accuracy[epoch], best_a = accuracy[best];
    if (a > best_a) first_at_best_accuracy = epoch;
    if (a > best_a || (a == best_a && loss[epoch].get<double>() < loss[best].get<double>())) {
      best = epoch;
    }
  }
  EXPECT_EQ(trained->progress["best_eval_metric_epoch"], static_cast<int64_t>(best + 1));
  EXPECT_GT(best, first_at_best_accuracy) << "no tie was broken: the data no longer tests this";
}

TEST_F(ModelTest, EveryOptimizerAndScheduleTrains) {
  for (const char* optimizer : {"sgd", "adam", "adamw", "adagrad", "rmsprop"}) {
    json config = json::parse(R"({
      "input_features": [{"name": "n", "type": "number"}],
      "output_features": [{"name": "y", "type": "binary"}],
      "trainer": {"epochs": 2, "regularization_lambda": 0.01,
                  "learning_rate_scheduler": {"decay": "cosine", "warmup_fraction": 0.2}}})");
    config["trainer"]["optimizer"] = {{"type", optimizer}};
    const std::string data = Synthesize(config, 100);
    auto model = Model::FromConfig(config);
    ASSERT_TRUE(model.ok()) << optimizer << ": " << model.status();
    auto trained = (*model)->Train(Options(data, optimizer));
    ASSERT_TRUE(trained.ok()) << optimizer << ": " << trained.status();
    EXPECT_EQ(trained->progress["epoch"], 2) << optimizer;
  }
}

TEST_F(ModelTest, MissingColumnIsNamed) {
  const json config = json::parse(R"({
    "input_features": [{"name": "n", "type": "number"}, {"name": "absent", "type": "category"}],
    "output_features": [{"name": "y", "type": "binary"}]})");
  std::ofstream(dir_ / "data.csv") << "n,y\n1,true\n2,false\n3,true\n4,false\n";
  auto model = Model::FromConfig(config);
  ASSERT_TRUE(model.ok());
  auto trained = (*model)->Train(Options((dir_ / "data.csv").string()));
  ASSERT_FALSE(trained.ok());
  EXPECT_TRUE(absl::StrContains(trained.status().message(), "absent")) << trained.status();
}

TEST_F(ModelTest, NonNumberCellIsNamedByColumnAndRow) {
  const json config = json::parse(R"({
    "input_features": [{"name": "n", "type": "number"}],
    "output_features": [{"name": "y", "type": "binary"}],
    "preprocessing": {"split": {"type": "fixed"}}})");
  std::ofstream(dir_ / "data.csv") << "n,y,split\n1,true,0\n2,false,0\nabc,true,0\n4,false,2\n";
  auto model = Model::FromConfig(config);
  ASSERT_TRUE(model.ok()) << model.status();
  auto trained = (*model)->Train(Options((dir_ / "data.csv").string()));
  ASSERT_FALSE(trained.ok());
  EXPECT_TRUE(absl::StrContains(trained.status().message(), "column 'n' row 2"))
      << trained.status();
  EXPECT_TRUE(absl::StrContains(trained.status().message(), "'abc'")) << trained.status();
}

TEST_F(ModelTest, ConfigTypoIsAnErrorNamingThePath) {
  auto model = Model::FromConfig(json::parse(R"({
    "input_features": [{"name": "n", "type": "number"}],
    "output_features": [{"name": "y", "type": "binary"}],
    "trainer": {"epochz": 3}})"));
  ASSERT_FALSE(model.ok());
  EXPECT_TRUE(absl::StrContains(model.status().message(), "trainer.epochz")) << model.status();
}

TEST_F(ModelTest, OutputRowsWithMissingTargetsAreDropped) {
  const json config = json::parse(R"({
    "input_features": [{"name": "n", "type": "number"}],
    "output_features": [{"name": "y", "type": "binary"}],
    "preprocessing": {"split": {"type": "fixed"}},
    "trainer": {"epochs": 1}})");
  std::ofstream(dir_ / "data.csv") << "n,y,split\n1,true,0\n2,,0\n,false,0\n4,true,0\n5,false,1\n";
  auto model = Model::FromConfig(config);
  ASSERT_TRUE(model.ok());
  auto trained = (*model)->Train(Options((dir_ / "data.csv").string()));
  ASSERT_TRUE(trained.ok()) << trained.status();
  // The input's missing value was filled with the default constant (0) and its row kept.
  EXPECT_EQ((*model)->training_set_metadata()["n"]["computed_fill_value"], "0");
}

TEST_F(ModelTest, SecondRunReusesThePreprocessedCacheUntilPreprocessingChanges) {
  json config = json::parse(R"({
    "input_features": [{"name": "n", "type": "number"}, {"name": "c", "type": "category"}],
    "output_features": [{"name": "y", "type": "binary"}],
    "trainer": {"epochs": 1}})");
  const std::string data = Synthesize(config, 100);
  auto train = [&](const json& user, bool skip_save) {
    std::string log;
    TrainOptions options = Options(data);
    options.skip_save_processed_input = skip_save;
    options.log = [&log](const std::string& line) { log += line; };
    auto model = Model::FromConfig(user);
    EXPECT_TRUE(model.ok());
    auto trained = (*model)->Train(options);
    EXPECT_TRUE(trained.ok()) << trained.status();
    return log;
  };
  EXPECT_FALSE(absl::StrContains(train(config, true), "using preprocessed data"));
  EXPECT_FALSE(fs::exists(dir_ / "data.meta.json"));
  EXPECT_FALSE(absl::StrContains(train(config, false), "using preprocessed data"));
  EXPECT_TRUE(fs::exists(dir_ / "data.meta.json"));
  EXPECT_TRUE(fs::exists(dir_ / "data.processed.pt"));
  EXPECT_TRUE(absl::StrContains(train(config, false), "using preprocessed data"));
  config["input_features"][0]["preprocessing"] = {{"normalization", "minmax"}};
  EXPECT_FALSE(absl::StrContains(train(config, false), "using preprocessed data"));
}

TEST_F(ModelTest, ResumeWithoutACheckpointIsNotFound) {
  auto model = Model::FromConfig(json::parse(R"({
    "input_features": [{"name": "n", "type": "number"}],
    "output_features": [{"name": "y", "type": "binary"}]})"));
  ASSERT_TRUE(model.ok());
  TrainOptions options = Options("unused.csv");
  options.model_resume_path = (dir_ / "nowhere").string();
  auto trained = (*model)->Train(options);
  ASSERT_FALSE(trained.ok());
  EXPECT_EQ(trained.status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace tristage
