// Tests of the exported TorchScript stages: the three-stage pipeline predicts exactly like the
// engine for every feature type; the preprocessor stage agrees with training-time preprocessing on
// hostile data (unknown tokens, empty cells, NaN, long text, odd Unicode, invalid UTF-8); stage
// files reload without gradients; broken exports give clear load errors; Python's torch.jit.load
// runs the documented snippet.
#include <torch/cuda.h>
#include <torch/script.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "core/api/model.h"
#include "core/api/synthesize.h"
#include "core/data/io.h"
#include "core/export/inference.h"
#include "core/export/servable.h"
#include "core/export/stages.h"
#include "core/preprocessing/preprocessing.h"
#include "gtest/gtest.h"
#include "tests/core/export/parity.h"
#include "tests/testing/subprocess.h"

namespace tristage::exporting {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

class ExportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("tristage_export_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::unique_ptr<Model> Train(const json& config, int64_t rows, data::Table* table) {
    return TrainSynthesized(config, rows, dir_, table);
  }

  fs::path dir_;
};

c10::impl::GenericDict RawInputs(const json& config, const data::Table& table);
void ExpectSameTensors(const preprocessing::TensorMap& expected, const TensorDict& actual);

json EveryTypeConfig() {
  return json::parse(R"({
    "input_features": [
      {"name": "n", "type": "number", "preprocessing": {"normalization": "zscore"}},
      {"name": "b", "type": "binary"},
      {"name": "c", "type": "category"}, {"name": "s", "type": "set"},
      {"name": "g", "type": "bag"}, {"name": "v", "type": "vector"},
      {"name": "d", "type": "date"},
      {"name": "t", "type": "text", "encoder": {"type": "parallel_cnn", "num_filters": 8,
                                                "embedding_size": 8, "output_size": 8}},
      {"name": "q", "type": "sequence", "encoder": {"type": "rnn", "cell_type": "gru",
                                                    "state_size": 8, "embedding_size": 8}}],
    "output_features": [
      {"name": "yb", "type": "binary"},
      {"name": "yn", "type": "number", "preprocessing": {"normalization": "zscore"}},
      {"name": "yc", "type": "category"}, {"name": "ys", "type": "set"},
      {"name": "yv", "type": "vector"}],
    "trainer": {"epochs": 1, "batch_size": 64}
  })");
}

TEST_F(ExportTest, ThreeStagesPredictLikeTheEngineForEveryFeatureType) {
  data::Table table;
  std::unique_ptr<Model> model = Train(EveryTypeConfig(), 1200, &table);
  ASSERT_NE(model, nullptr);
  auto expected = model->Predict(table);
  ASSERT_TRUE(expected.ok()) << expected.status();
  ASSERT_EQ(expected->num_rows(), 1200);

  const std::string out = (dir_ / "export").string();
  ASSERT_TRUE(model->SaveTorchscript(out).ok());
  for (const char* file :
       {"inference_preprocessor.pt", "inference_predictor_cpu.pt", "inference_postprocessor.pt",
        "manifest.json", "model_hyperparameters.json", "training_set_metadata.json"}) {
    EXPECT_TRUE(fs::exists(fs::path(out) / file)) << file;
  }
  auto loaded = InferenceModule::FromDirectory(out);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  // Stage by stage first, to name the stage that differs.
  auto transformed =
      preprocessing::TransformTable(model->config(), model->training_set_metadata(), table, false);
  ASSERT_TRUE(transformed.ok()) << transformed.status();
  auto preprocessed = (*loaded)->stages().PreprocessorForward(RawInputs(model->config(), table));
  ASSERT_TRUE(preprocessed.ok()) << preprocessed.status();
  ExpectSameTensors(transformed->inputs, *preprocessed);
  auto actual = (*loaded)->Predict(table);
  ASSERT_TRUE(actual.ok()) << actual.status();
  ExpectSameTables(*expected, *actual);

  // The in-memory stages (to_torchscript) agree too.
  auto in_memory = model->ToTorchscript();
  ASSERT_TRUE(in_memory.ok()) << in_memory.status();
  auto again = (*in_memory)->Predict(table);
  ASSERT_TRUE(again.ok()) << again.status();
  ExpectSameTables(*expected, *again);
}

TEST_F(ExportTest, ReloadedStagesCarryNoGradients) {
  data::Table table;
  json config = EveryTypeConfig();
  config["input_features"] = json::parse(R"([{"name": "n", "type": "number"},
                                             {"name": "c", "type": "category"}])");
  std::unique_ptr<Model> model = Train(config, 200, &table);
  const std::string out = (dir_ / "export").string();
  ASSERT_TRUE(model->SaveTorchscript(out).ok());
  auto loaded = LoadStages(out);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  int64_t parameters = 0;
  for (const torch::jit::Module* stage :
       {&loaded->preprocessor, &loaded->predictor, &loaded->postprocessor}) {
    EXPECT_FALSE(stage->is_training());
    for (const torch::Tensor& p : stage->parameters()) {
      EXPECT_FALSE(p.requires_grad());
      ++parameters;
    }
  }
  EXPECT_GT(parameters, 0);
  auto inputs = loaded->PreprocessorForward([&] {
    c10::impl::GenericDict raw(
        c10::StringType::get(),
        c10::UnionType::create({c10::ListType::ofStrings(), c10::TensorType::get()}));
    raw.insert(std::string("n"), torch::tensor({1.5f, NAN}));
    raw.insert(std::string("c"), c10::List<std::string>({"never seen", ""}));
    return raw;
  }());
  ASSERT_TRUE(inputs.ok()) << inputs.status();
  auto outputs = loaded->PredictorForward(*inputs);
  ASSERT_TRUE(outputs.ok()) << outputs.status();
  for (const auto& entry : *outputs) EXPECT_FALSE(entry.value().requires_grad()) << entry.key();
}

// The daemon's view of an export (servable.h): three steps on an opaque batch, decoded outputs.
TEST_F(ExportTest, AServableRunsTheStepsAndWarmUpRefusesDropRowInputs) {
  data::Table table;
  json config = EveryTypeConfig();
  config["input_features"] = json::parse(R"([{"name": "n", "type": "number"},
                                             {"name": "c", "type": "category"}])");
  std::unique_ptr<Model> model = Train(config, 200, &table);
  ASSERT_TRUE(model->SaveTorchscript((dir_ / "export").string()).ok());
  auto loaded = LoadServable((dir_ / "export").string(), {});
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  const Servable& servable = **loaded;
  EXPECT_TRUE(servable.WarmUp().ok());
  InputColumns columns;
  columns["n"].strings = {"1.5", ""};
  columns["c"].strings = {"never seen", ""};
  auto batch = servable.Preprocess(columns);
  ASSERT_TRUE(batch.ok()) << batch.status();
  ASSERT_TRUE(servable.Predict(**batch).ok());
  auto outputs = servable.Postprocess(**batch);
  ASSERT_TRUE(outputs.ok()) << outputs.status();
  ASSERT_FALSE(outputs->empty());
  for (const auto& [name, values] : *outputs) EXPECT_EQ(values.rows(), 2) << name;
  // The same decoded values as the engine's predictions.
  auto expected = model->Predict([&] {
    data::Table two;
    data::Column n, c;
    n.Append("1.5", false);
    n.Append("", true);
    c.Append("never seen", false);
    c.Append("", true);
    EXPECT_TRUE(two.SetColumn("n", n).ok());
    EXPECT_TRUE(two.SetColumn("c", c).ok());
    return two;
  }());
  ASSERT_TRUE(expected.ok()) << expected.status();
  auto served = PredictionsTable(*outputs);
  ASSERT_TRUE(served.ok()) << served.status();
  for (const std::string& name : expected->column_names()) {
    auto column = served->Get(name);
    ASSERT_TRUE(column.ok()) << column.status();
    EXPECT_EQ((*column)->values, (**expected->Get(name)).values) << name;
  }
  // A bad cell is the caller's error, naming the feature.
  columns["n"].strings = {"x", "1"};
  auto refused = servable.Preprocess(columns);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(refused.status().message(), "'n'")) << refused.status();

  config["input_features"][0]["preprocessing"] = {{"missing_value_strategy", "drop_row"}};
  model = Train(config, 200, &table);
  ASSERT_TRUE(model->SaveTorchscript((dir_ / "drop_row").string()).ok());
  loaded = LoadServable((dir_ / "drop_row").string(), {});
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  const absl::Status warm = (*loaded)->WarmUp();
  EXPECT_EQ(warm.code(), absl::StatusCode::kInvalidArgument) << warm;
  EXPECT_TRUE(absl::StrContains(warm.message(), "drop_row")) << warm;

  // Devices that are not there: errors naming the directory. A --model_only export loads as a
  // tensor model (the predictor alone, for a front's remote stage).
  ServableDevices cuda;
  cuda.postprocessor = "cuda:7";
  auto no_gpu = LoadServable((dir_ / "export").string(), cuda);
  EXPECT_FALSE(no_gpu.ok());
  EXPECT_TRUE(absl::StrContains(no_gpu.status().message(), (dir_ / "export").string()))
      << no_gpu.status();
  ASSERT_TRUE(model->SaveTorchscript((dir_ / "only").string(), /*model_only=*/true).ok());
  auto only = LoadServable((dir_ / "only").string(), {});
  ASSERT_TRUE(only.ok()) << only.status();
  EXPECT_TRUE((*only)->manifest().model_only);
  EXPECT_TRUE((*only)->WarmUp().ok());
  InputColumns strings;
  for (const InputSpec& spec : (*only)->manifest().inputs) strings[spec.name].strings = {"1"};
  EXPECT_EQ(ValidateInputs((*only)->manifest(), strings).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(ExportTest, ModelOnlyWritesThePredictorAlone) {
  data::Table table;
  json config = EveryTypeConfig();
  config["input_features"] = json::parse(R"([{"name": "n", "type": "number"}])");
  config["output_features"] = json::parse(R"([{"name": "yb", "type": "binary"}])");
  std::unique_ptr<Model> model = Train(config, 100, &table);
  const std::string out = (dir_ / "export").string();
  ASSERT_TRUE(model->SaveTorchscript(out, /*model_only=*/true).ok());
  EXPECT_TRUE(fs::exists(fs::path(out) / "inference_predictor_cpu.pt"));
  EXPECT_FALSE(fs::exists(fs::path(out) / "inference_preprocessor.pt"));
  auto loaded = InferenceModule::FromDirectory(out);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_TRUE((*loaded)->manifest().model_only);
  auto predicted = (*loaded)->Predict(table);
  EXPECT_EQ(predicted.status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(ExportTest, CudaOnACpuBuildIsAClearError) {
  if (torch::cuda::is_available()) GTEST_SKIP() << "CUDA is available here";
  data::Table table;
  json config = EveryTypeConfig();
  config["input_features"] = json::parse(R"([{"name": "n", "type": "number"}])");
  config["output_features"] = json::parse(R"([{"name": "yb", "type": "binary"}])");
  std::unique_ptr<Model> model = Train(config, 100, &table);
  absl::Status status = model->SaveTorchscript((dir_ / "export").string(), false, "cuda");
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(absl::StrContains(status.message(), "not available")) << status;
  EXPECT_EQ(model->SaveTorchscript((dir_ / "x").string(), false, "tpu").code(),
            absl::StatusCode::kInvalidArgument);
}

class BrokenExportTest : public ExportTest {
 protected:
  void SetUp() override {
    ExportTest::SetUp();
    data::Table table;
    json config = EveryTypeConfig();
    config["input_features"] = json::parse(R"([{"name": "n", "type": "number"}])");
    config["output_features"] = json::parse(R"([{"name": "yb", "type": "binary"}])");
    model_ = Train(config, 100, &table);
    ASSERT_TRUE(model_->SaveTorchscript((dir_ / "a").string()).ok());
  }
  absl::Status Load() { return InferenceModule::FromDirectory((dir_ / "a").string()).status(); }

  std::unique_ptr<Model> model_;
};

TEST_F(BrokenExportTest, MissingStageFileIsNamed) {
  fs::remove(dir_ / "a" / "inference_postprocessor.pt");
  absl::Status status = Load();
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(absl::StrContains(status.message(), "inference_postprocessor.pt")) << status;
}

TEST_F(BrokenExportTest, MissingManifestIsNamed) {
  fs::remove(dir_ / "a" / "manifest.json");
  absl::Status status = Load();
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(absl::StrContains(status.message(), "manifest.json")) << status;
  EXPECT_EQ(InferenceModule::FromDirectory((dir_ / "nowhere").string()).status().code(),
            absl::StatusCode::kNotFound);
}

TEST_F(BrokenExportTest, TruncatedStageFileIsNamed) {
  const fs::path file = dir_ / "a" / "inference_predictor_cpu.pt";
  fs::resize_file(file, fs::file_size(file) / 2);
  absl::Status status = Load();
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss);
  EXPECT_TRUE(absl::StrContains(status.message(), "inference_predictor_cpu.pt")) << status;
  EXPECT_TRUE(absl::StrContains(status.message(), "truncated or corrupt")) << status;
}

TEST_F(BrokenExportTest, StageFromAnotherModelIsRefused) {
  // A second export of a differently trained model; its preprocessor dropped into the first.
  data::Table table;
  json config = EveryTypeConfig();
  config["input_features"] = json::parse(R"([{"name": "n", "type": "number"}])");
  config["output_features"] = json::parse(R"([{"name": "yb", "type": "binary"}])");
  config["trainer"]["epochs"] = 2;
  std::unique_ptr<Model> other = Train(config, 100, &table);
  ASSERT_TRUE(other->SaveTorchscript((dir_ / "b").string()).ok());
  fs::copy_file(dir_ / "b" / "inference_preprocessor.pt", dir_ / "a" / "inference_preprocessor.pt",
                fs::copy_options::overwrite_existing);
  absl::Status status = Load();
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(absl::StrContains(status.message(), "another export")) << status;
  // The Ludwig spelling of the predictor's name loads.
  fs::rename(dir_ / "b" / "inference_predictor_cpu.pt", dir_ / "b" / "inference_predictor-cpu.pt");
  EXPECT_TRUE(InferenceModule::FromDirectory((dir_ / "b").string()).ok());
}

TEST_F(BrokenExportTest, BadRequestsNameTheFeature) {
  auto module = InferenceModule::FromDirectory((dir_ / "a").string());
  ASSERT_TRUE(module.ok()) << module.status();
  const InferenceStages& stages = (*module)->stages();
  auto raw = [] {
    return c10::impl::GenericDict(
        c10::StringType::get(),
        c10::UnionType::create({c10::ListType::ofStrings(), c10::TensorType::get()}));
  };
  c10::impl::GenericDict empty = raw();
  auto missing = stages.PreprocessorForward(empty);
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(missing.status().message(), "missing input feature 'n'"))
      << missing.status();
  c10::impl::GenericDict not_a_number = raw();
  not_a_number.insert(std::string("n"), c10::List<std::string>({"1", "one"}));
  auto bad = stages.PreprocessorForward(not_a_number);
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(bad.status().message(), "feature 'n': 'one' is not a number");
  c10::impl::GenericDict matrix = raw();
  matrix.insert(std::string("n"), torch::zeros({2, 2}));
  EXPECT_TRUE(absl::StrContains(stages.PreprocessorForward(matrix).status().message(),
                                "expects a 1-D tensor"));
  c10::impl::GenericDict no_rows = raw();
  no_rows.insert(std::string("n"), c10::List<std::string>());
  auto empty_batch = stages.PreprocessorForward(no_rows);
  ASSERT_TRUE(empty_batch.ok()) << empty_batch.status();
  EXPECT_EQ(empty_batch->at("n").size(0), 0);
}

// ---- The preprocessor stage against training-time preprocessing, on hostile data. ----

json VariantsConfig() {
  return json::parse(R"({
    "input_features": [
      {"name": "n_z", "type": "number", "preprocessing": {"normalization": "zscore",
                                                           "missing_value_strategy": "fill_with_mean"}},
      {"name": "n_mm", "type": "number", "preprocessing": {"normalization": "minmax",
                                                            "missing_value_strategy": "ffill"}},
      {"name": "n_log", "type": "number", "column": "n_pos",
       "preprocessing": {"normalization": "log1p", "missing_value_strategy": "bfill"}},
      {"name": "n_iq", "type": "number", "preprocessing": {"normalization": "iq",
        "outlier_strategy": "fill_with_mean", "missing_value_strategy": "fill_with_const",
        "fill_value": 7}},
      {"name": "b_std", "type": "binary"},
      {"name": "b_lab", "type": "binary", "preprocessing": {"missing_value_strategy": "fill_with_mode"}},
      {"name": "c_low", "type": "category", "column": "words",
       "preprocessing": {"lowercase": true}},
      {"name": "c_top", "type": "category", "column": "words",
       "preprocessing": {"most_common": 3, "missing_value_strategy": "fill_with_mode"}},
      {"name": "s_comma", "type": "set", "column": "text", "preprocessing": {"tokenizer": "comma"}},
      {"name": "g_space", "type": "bag", "column": "text", "preprocessing": {"lowercase": true}},
      {"name": "v", "type": "vector"},
      {"name": "d_fmt", "type": "date", "preprocessing": {"datetime_format": "%d %b %Y"}},
      {"name": "d_auto", "type": "date"},
      {"name": "t_punct", "type": "text", "column": "text",
       "preprocessing": {"tokenizer": "space_punct", "lowercase": true}},
      {"name": "t_chars", "type": "text", "column": "text",
       "preprocessing": {"tokenizer": "characters", "max_sequence_length": 40}},
      {"name": "t_under", "type": "sequence", "column": "text",
       "preprocessing": {"tokenizer": "underscore", "padding": "left", "max_sequence_length": 5}},
      {"name": "t_space", "type": "text", "column": "text", "preprocessing": {"tokenizer": "space"}}],
    "output_features": [{"name": "y", "type": "binary"}]
  })");
}

// Random cells, many hostile: missing spellings, unknown tokens, odd Unicode, invalid UTF-8.
data::Table HostileTable(uint64_t seed, int64_t rows) {
  std::mt19937_64 rng(seed);
  auto pick = [&rng](const std::vector<std::string>& choices) {
    return choices[std::uniform_int_distribution<size_t>(0, choices.size() - 1)(rng)];
  };
  const std::vector<std::string> pieces = {
      "hello",    "Hello", "HELLO", "wörld", "日本語", "e\u0301",  "👍🏽", "\u200b", "ﬁ",
      "İstanbul", "a,b",   "x_y",   "_",     ",",      "!?",       "...",      "\t",     "  ",
      "\r\n",     "don't", "C++",   "NaN",   "",       "\xff\xfe", "mañana",   "ß",      "Ω",
      "'",        "\"q\"", "-",     "9",     "12.5",   "tab\there"};
  std::vector<std::string> names = {"n_z",   "n_mm", "n_pos", "n_iq",  "b_std",  "b_lab",
                                    "words", "text", "v",     "d_fmt", "d_auto", "y"};
  std::map<std::string, data::Column> columns;
  for (int64_t row = 0; row < rows; ++row) {
    auto add = [&](const std::string& name, std::string cell) {
      columns[name].Append(cell, data::IsMissingValue(cell));
    };
    const std::string number =
        pick({"3.5", " -2 ", "1e3",  "+4",   ".5",       "0",  "",    "NaN", "17", "-0.25",
              "250", "2E-3", "null", "0x1A", "-0x1.8p1", "5.", "+.5", "007", "-0", "\t12\n"});
    add("n_z", number);
    add("n_mm", number);
    add("n_pos", pick({"0", "3.5", "1e3", ".5", "", "12", "0.001", "N/A"}));
    add("n_iq", pick({"1", "2", "3", "4", "1000", "", "2.5", "-3"}));
    add("b_std", pick({"true", "False", "yes", "N", "1", "0.0", "", " TRUE ", "off"}));
    add("b_lab", pick({"cat", "dog", "", "dog"}));
    add("words", pick({"Paris", "paris", "OSLO", "Oslo", "lima", "", "Zürich", "日本", "NA"}));
    std::string text;
    const int words = std::uniform_int_distribution<int>(0, row % 97 == 0 ? 900 : 12)(rng);
    for (int w = 0; w < words; ++w) text += pick(pieces) + pick({" ", "", ",", "_", "  "});
    add("text", text);
    add("v", pick({"1 2 3", "1,2,3", "4\t5\t6", "", "0.5 -1 2e1", " 7 8 9 ", "NaN"}));
    add("d_fmt", pick({"05 Mar 2021", "17 sept 1999", "29 Feb 2024", "", "01 jan 1970"}));
    add("d_auto", pick({"2021-03-05 10:20:30", "1999-12-31 23:59:59", "", "2024-02-29 00:00:00.123",
                        "2000-01-01 12:00:00Z"}));
    add("y", pick({"true", "false"}));
  }
  data::Table table;
  for (const std::string& name : names) EXPECT_TRUE(table.AddColumn(name, columns[name]).ok());
  return table;
}

c10::impl::GenericDict RawInputs(const json& config, const data::Table& table) {
  c10::impl::GenericDict raw(
      c10::StringType::get(),
      c10::UnionType::create({c10::ListType::ofStrings(), c10::TensorType::get()}));
  for (const json& feature : config.at("input_features")) {
    const std::string column = feature.value("column", feature.at("name").get<std::string>());
    c10::List<std::string> cells;
    for (const std::string& cell : (**table.Get(column)).values) cells.push_back(cell);
    raw.insert(feature.at("name").get<std::string>(), cells);
  }
  return raw;
}

void ExpectSameTensors(const preprocessing::TensorMap& expected, const TensorDict& actual) {
  ASSERT_EQ(expected.size(), actual.size());
  for (const auto& [name, e] : expected) {
    SCOPED_TRACE(name);
    ASSERT_TRUE(actual.contains(name));
    const torch::Tensor a = actual.at(name);
    ASSERT_EQ(e.scalar_type(), a.scalar_type());
    ASSERT_EQ(e.sizes(), a.sizes());
    if (e.is_floating_point()) {
      const torch::Tensor diff = (e.to(torch::kDouble) - a.to(torch::kDouble)).abs();
      EXPECT_LE(diff.numel() == 0 ? 0.0 : diff.max().item<double>(), 1e-6);
    } else {
      const torch::Tensor mismatch = (e != a).nonzero();
      EXPECT_EQ(mismatch.size(0), 0) << "first mismatch at " << mismatch.slice(0, 0, 1);
    }
  }
}

TEST_F(ExportTest, PreprocessorMatchesTrainingPreprocessingOnHostileData) {
  auto model = Model::FromConfig(VariantsConfig());
  ASSERT_TRUE(model.ok()) << model.status();
  const json& config = (*model)->config();
  preprocessing::DatasetSplits splits;
  splits.training = HostileTable(11, 1500);
  auto fitted = preprocessing::BuildTrainingData(config, splits);
  ASSERT_TRUE(fitted.ok()) << fitted.status();

  const data::Table unseen = HostileTable(12, 1200);
  auto expected = preprocessing::TransformTable(config, fitted->metadata, unseen, false);
  ASSERT_TRUE(expected.ok()) << expected.status();
  auto preprocessor = BuildPreprocessor(config, fitted->metadata, "test");
  ASSERT_TRUE(preprocessor.ok()) << preprocessor.status();
  // Also through a file: what a loader sees is what TorchScript printed and parses back.
  const std::string file = (dir_ / "pre.pt").string();
  preprocessor->save(file);
  for (torch::jit::Module module : {*preprocessor, torch::jit::load(file)}) {
    auto actual = c10::impl::toTypedDict<std::string, torch::Tensor>(
        module.forward({RawInputs(config, unseen)}).toGenericDict());
    ExpectSameTensors(expected->inputs, actual);
  }
}

TEST_F(ExportTest, PreprocessorRejectsWhatTrainingRejectsNamingTheFeature) {
  auto model = Model::FromConfig(VariantsConfig());
  ASSERT_TRUE(model.ok()) << model.status();
  const json& config = (*model)->config();
  preprocessing::DatasetSplits splits;
  splits.training = HostileTable(11, 300);
  auto fitted = preprocessing::BuildTrainingData(config, splits);
  ASSERT_TRUE(fitted.ok()) << fitted.status();
  auto preprocessor = BuildPreprocessor(config, fitted->metadata, "test");
  ASSERT_TRUE(preprocessor.ok()) << preprocessor.status();
  InferenceStages stages;
  stages.preprocessor = *preprocessor;
  struct Case {
    std::string column, cell, expect;
  };
  for (const Case& c : std::vector<Case>{
           {"n_z", "12abc", "feature 'n_z': '12abc' is not a number"},
           {"n_z", "0x", "feature 'n_z': '0x' is not a number"},
           {"n_z", "1_000", "feature 'n_z': '1_000' is not a number"},
           // Near the fast path's form ([+-]digits[.digits]) but not numbers.
           {"n_z", "1.2.3", "feature 'n_z': '1.2.3' is not a number"},
           {"n_z", ".", "feature 'n_z': '.' is not a number"},
           {"n_z", "+-5", "feature 'n_z': '+-5' is not a number"},
           {"n_z", "\xef\xbc\x91\xef\xbc\x92",
            "feature 'n_z': '\xef\xbc\x91\xef\xbc\x92' is not a number"},
           {"b_lab", "bird", "feature 'b_lab': 'bird' is neither of the labels"},
           {"v", "1 2", "feature 'v': row 0: vector has 2 values, expected 3"},
           {"d_fmt", "2021-03-05", "feature 'd_fmt': '2021-03-05' does not match the date format"},
           {"n_pos", "-1", "feature 'n_log': log1p normalization needs values > -1"}}) {
    SCOPED_TRACE(c.column + "=" + c.cell);
    data::Table one = HostileTable(5, 1);
    data::Column column;
    column.Append(c.cell, false);
    ASSERT_TRUE(one.SetColumn(c.column, column).ok());
    auto training = preprocessing::TransformTable(config, fitted->metadata, one, false);
    EXPECT_FALSE(training.ok());
    auto exported = stages.PreprocessorForward(RawInputs(config, one));
    EXPECT_EQ(exported.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_TRUE(absl::StartsWith(exported.status().message(), c.expect)) << exported.status();
  }
}

// Numbers beyond a double's range: absl::SimpleAtod (training) reads them as +-inf or +-0, and
// TorchScript's float() fails on them ("The following operation failed in the TorchScript
// interpreter", an outside probe's 1,000-digit number); the preprocessor now reads them as
// training does, and right at the limits refuses them naming the feature. A value that is not a
// finite float32 once normalized (inf, or beyond about 3.4e38) made every prediction NaN (the
// soak's finding); training and the preprocessor now both refuse it naming the feature and row.
TEST_F(ExportTest, PreprocessorReadsNumbersBeyondADoublesRangeAsTrainingDoes) {
  auto model = Model::FromConfig(VariantsConfig());
  ASSERT_TRUE(model.ok()) << model.status();
  const json& config = (*model)->config();
  preprocessing::DatasetSplits splits;
  splits.training = HostileTable(11, 300);
  auto fitted = preprocessing::BuildTrainingData(config, splits);
  ASSERT_TRUE(fitted.ok()) << fitted.status();
  auto preprocessor = BuildPreprocessor(config, fitted->metadata, "test");
  ASSERT_TRUE(preprocessor.ok()) << preprocessor.status();
  InferenceStages stages;
  stages.preprocessor = *preprocessor;
  auto with_cell = [&](const std::string& cell) {
    data::Table one = HostileTable(5, 1);
    data::Column column;
    column.Append(cell, false);
    EXPECT_TRUE(one.SetColumn("n_z", column).ok());
    return one;
  };
  for (const std::string& cell :
       {std::string("1e-400"), std::string("-1e-400"), "0." + std::string(400, '0') + "1",
        std::string(" 12") + std::string(400, '3') + ".5e-390 ", std::string("3e38")}) {
    SCOPED_TRACE(cell.substr(0, 24));
    data::Table one = with_cell(cell);
    auto training = preprocessing::TransformTable(config, fitted->metadata, one, false);
    ASSERT_TRUE(training.ok()) << training.status();
    auto exported = stages.PreprocessorForward(RawInputs(config, one));
    ASSERT_TRUE(exported.ok()) << exported.status();
    const double want = training->inputs.at("n_z").item<double>();
    const double got = exported->at("n_z").item<double>();
    EXPECT_NEAR(got, want, 1e-6 * std::max(1.0, std::abs(want)));
  }
  for (const std::string& cell :
       {std::string(1000, '9'), "-" + std::string(1000, '9'), std::string("1e400"),
        std::string("-1E400"), std::string("1e99999999999999999999"), std::string("9e307"),
        std::string("inf"), std::string("-Infinity"), std::string("nan(1)")}) {
    SCOPED_TRACE(cell.substr(0, 24));
    data::Table one = with_cell(cell);
    auto training = preprocessing::TransformTable(config, fitted->metadata, one, false);
    EXPECT_EQ(training.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_TRUE(absl::StrContains(training.status().message(),
                                  "column 'n_z' row 0: '" + cell + "' is not a finite number"))
        << training.status();
    auto exported = stages.PreprocessorForward(RawInputs(config, one));
    EXPECT_EQ(exported.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_TRUE(absl::StartsWith(exported.status().message(),
                                 "feature 'n_z' row 0: '" + cell + "' is not a finite number"))
        << exported.status();
  }
  // A float tensor sent as the column: NaN is a missing value (filled; it went through as NaN
  // before, TorchScript folding the `v != v` test to False), inf is refused.
  {
    data::Table one = with_cell("1");
    auto inputs = RawInputs(config, one);
    inputs.insert_or_assign(std::string("n_z"), torch::tensor({std::nan("")}, torch::kDouble));
    auto exported = stages.PreprocessorForward(inputs);
    ASSERT_TRUE(exported.ok()) << exported.status();
    EXPECT_TRUE(std::isfinite(exported->at("n_z").item<double>()));
  }
  {
    data::Table one = with_cell("1");
    auto inputs = RawInputs(config, one);
    inputs.insert_or_assign(
        std::string("n_z"),
        torch::tensor({std::numeric_limits<double>::infinity()}, torch::kDouble));
    auto exported = stages.PreprocessorForward(inputs);
    EXPECT_EQ(exported.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_TRUE(absl::StartsWith(exported.status().message(), "feature 'n_z' row 0: 'inf'"))
        << exported.status();
  }
  for (const char* cell : {"1e308", "-1.5e308", "2e-308", "0x1p2000"}) {
    data::Table one = HostileTable(5, 1);
    data::Column column;
    column.Append(cell, false);
    ASSERT_TRUE(one.SetColumn("n_z", column).ok());
    auto exported = stages.PreprocessorForward(RawInputs(config, one));
    EXPECT_EQ(exported.status().code(), absl::StatusCode::kInvalidArgument) << cell;
    EXPECT_TRUE(
        absl::StartsWith(exported.status().message(), std::string("feature 'n_z': '") + cell + "'"))
        << exported.status();
  }
}

// ---- Python: torch.jit.load and the documented snippet. ----

TEST_F(ExportTest, PythonLoadsTheStagesAndPredictsTheSame) {
  const std::string python = "/usr/bin/python3";
  {
    auto probe = testing::Subprocess::Start({python, "-c", "import torch"});
    ASSERT_TRUE(probe.ok());
    auto code = (*probe)->Wait(absl::Seconds(60));
    if (!code.ok() || *code != 0) GTEST_SKIP() << "python3-torch is not installed";
  }
  data::Table table;
  json config = EveryTypeConfig();
  std::unique_ptr<Model> model = Train(config, 1000, &table);
  auto expected = model->Predict(table);
  ASSERT_TRUE(expected.ok()) << expected.status();
  const std::string out = (dir_ / "export").string();
  ASSERT_TRUE(model->SaveTorchscript(out).ok());
  const std::string data = (dir_ / "data.csv").string();
  const std::string predictions = (dir_ / "python_predictions.csv").string();
  auto run = testing::Subprocess::Start({python, TRISTAGE_EXPORT_SNIPPET, out, data, predictions});
  ASSERT_TRUE(run.ok());
  auto code = (*run)->Wait(absl::Seconds(300));
  ASSERT_TRUE(code.ok());
  ASSERT_EQ(*code, 0) << (*run)->stderr_text();
  auto actual = data::ReadTable(predictions);
  ASSERT_TRUE(actual.ok()) << actual.status();
  ExpectSameTables(*expected, *actual, /*relative=*/true);
}

}  // namespace
}  // namespace tristage::exporting
