// The `tristage` CLI's contract: exit codes and messages, through the real binary, plus every
// verb's --help through the in-process entry point.
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "client/cli/verbs.h"
#include "core/data/io.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/testing/daemon.h"
#include "tests/testing/subprocess.h"

namespace tristage::cli {
namespace {

testing::CommandResult RunTristage(std::vector<std::string> args) {
  args.insert(args.begin(), TRISTAGE_CLI_BINARY);
  auto result = testing::RunCommand(args);
  EXPECT_TRUE(result.ok()) << result.status();
  return result.ok() ? *result : testing::CommandResult{};
}

TEST(CliTest, NoVerbPrintsUsageAndExitsTwo) {
  const auto result = RunTristage({});
  EXPECT_EQ(result.exit_code, kExitUsage);
  EXPECT_TRUE(absl::StrContains(result.err, "usage: tristage <verb>"));
}

TEST(CliTest, HelpListsEveryVerb) {
  const auto result = RunTristage({"--help"});
  EXPECT_EQ(result.exit_code, kExitOk);
  for (const Verb& verb : Verbs()) {
    EXPECT_EQ(absl::StrContains(result.out, "  " + verb.name + " "), !verb.hidden) << verb.name;
  }
}

TEST(CliTest, UnknownVerbExitsTwoNamingTheClosestVerb) {
  const auto result = RunTristage({"trian"});
  EXPECT_EQ(result.exit_code, kExitUsage);
  EXPECT_TRUE(absl::StrContains(result.err, "unknown verb 'trian' (did you mean 'train'?)"))
      << result.err;
}

TEST(CliTest, UnknownFlagExitsTwoNamingTheClosestFlag) {
  const auto result = RunTristage({"train", "--output_dir", "x"});
  EXPECT_EQ(result.exit_code, kExitUsage);
  EXPECT_TRUE(absl::StrContains(
      result.err,
      "tristage train: unknown flag '--output_dir' (did you mean '--output_directory'?)"))
      << result.err;
}

TEST(CliTest, InvalidChoiceExitsTwoListingTheChoices) {
  const auto result = RunTristage({"predict", "--data_format", "parquet"});
  EXPECT_EQ(result.exit_code, kExitUsage);
  EXPECT_TRUE(absl::StrContains(result.err, "choose from auto, csv, tsv, json, jsonl"))
      << result.err;
}

TEST(CliTest, LudwigShortFlagsAreAccepted) {
  // -od, -ssm, -sshs and -rs are Ludwig's spellings: parsed, then the seed's value is refused.
  const auto result = RunTristage({"hyperopt", "-od", "out", "-ssm", "-rs", "seven", "-sshs"});
  EXPECT_EQ(result.exit_code, kExitUsage) << result.err;
  EXPECT_TRUE(absl::StrContains(result.err, "--random_seed: 'seven' is not a non-negative integer"))
      << result.err;
}

TEST(CliTest, VersionPrintsTheRelease) {
  const auto result = RunTristage({"version"});
  EXPECT_EQ(result.exit_code, kExitOk);
  EXPECT_TRUE(absl::StartsWith(result.out, "tristage ")) << result.out;
  EXPECT_EQ(RunTristage({"--version"}).out, result.out);
}

TEST(CliTest, CheckInstallReportsBlasThreadsCudaAndVersions) {
  const auto result = RunTristage({"check_install"});
  EXPECT_EQ(result.exit_code, kExitOk) << result.err;
  for (const char* wanted : {"BLAS: ", "threads: intra-op ", "CUDA: ", "libtorch", "grpc",
                             "protobuf", "matmul 512x512 float32: "}) {
    EXPECT_TRUE(absl::StrContains(result.out, wanted)) << wanted << "\n" << result.out;
  }
}

TEST(CliTest, HealthAgainstNothingListeningExitsOne) {
  // Port 1 on loopback: nothing listens there unprivileged.
  const auto result = RunTristage({"health", "--server", "127.0.0.1:1", "--timeout_s", "1"});
  EXPECT_EQ(result.exit_code, kExitFailure);
  EXPECT_TRUE(absl::StrContains(result.err, "127.0.0.1:1")) << result.err;
}

TEST(CliTest, HealthRejectsABadTimeout) {
  EXPECT_EQ(RunTristage({"health", "--timeout_s", "soon"}).exit_code, kExitUsage);
}

TEST(CliTest, EveryVerbHasHelpListingItsFlags) {
  for (const Verb& verb : Verbs()) {
    std::ostringstream out;
    std::ostringstream err;
    EXPECT_EQ(RunCli({verb.name, "--help"}, out, err), kExitOk) << verb.name;
    EXPECT_TRUE(absl::StrContains(out.str(), "usage: tristage " + verb.name)) << verb.name;
    for (const FlagSpec& flag : verb.flags) {
      EXPECT_TRUE(absl::StrContains(out.str(), "--" + flag.name)) << verb.name << " " << flag.name;
    }
  }
}

TEST(CliTest, EveryLudwigVerbIsDeclared) {
  for (const char* name :
       {"train", "predict", "evaluate", "experiment", "hyperopt", "export_torchscript",
        "preprocess", "collect_summary", "collect_weights", "collect_activations",
        "synthesize_dataset", "render_config", "init_config", "check_install", "version"}) {
    EXPECT_NE(FindVerb(name), nullptr) << name;
  }
}

TEST(CliTest, ShortFlagsAreUniqueWithinEachVerb) {
  for (const Verb& verb : Verbs()) {
    std::set<std::string> seen;
    for (const FlagSpec& flag : verb.flags) {
      if (flag.short_name.empty()) continue;
      EXPECT_TRUE(seen.insert(flag.short_name).second) << verb.name << " -" << flag.short_name;
    }
  }
}

class CliEngineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("tristage_cli_test_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
    std::ofstream(dir_ / "config.yaml") << "input_features:\n"
                                           "  - {name: x, type: number}\n"
                                           "  - {name: c, type: category}\n"
                                           "output_features:\n"
                                           "  - {name: label, type: binary}\n"
                                           "trainer: {epochs: 2}\n";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string Path(const std::string& name) const { return (dir_ / name).string(); }

  std::filesystem::path dir_;
};

TEST_F(CliEngineTest, SynthesizeExperimentPredictEvaluateRoundTrip) {
  auto made = RunTristage({"synthesize_dataset", "-c", Path("config.yaml"), "--dataset_size", "200",
                           "--output_path", Path("data.csv")});
  ASSERT_EQ(made.exit_code, kExitOk) << made.err;
  auto experiment = RunTristage({"experiment", "-c", Path("config.yaml"), "--dataset",
                                 Path("data.csv"), "-od", Path("results")});
  ASSERT_EQ(experiment.exit_code, kExitOk) << experiment.err;
  EXPECT_TRUE(absl::StrContains(experiment.err, "epoch 2/2")) << experiment.err;
  const std::string run = Path("results/experiment_run");
  EXPECT_TRUE(std::filesystem::exists(run + "/test_statistics.json"));
  EXPECT_TRUE(std::filesystem::exists(run + "/label_predictions.csv"));

  auto predict =
      RunTristage({"predict", "-m", run, "--dataset", Path("data.csv"), "-od", Path("predicted")});
  ASSERT_EQ(predict.exit_code, kExitOk) << predict.err;
  EXPECT_TRUE(std::filesystem::exists(Path("predicted/predictions.csv")));

  auto evaluate = RunTristage(
      {"evaluate", "-m", run + "/model", "--dataset", Path("data.csv"), "-od", Path("evaluated")});
  ASSERT_EQ(evaluate.exit_code, kExitOk) << evaluate.err;
  EXPECT_TRUE(absl::StrContains(evaluate.out, "roc_auc"));

  // A second experiment gets its own directory, as Ludwig names them.
  auto again = RunTristage(
      {"train", "-c", Path("config.yaml"), "--dataset", Path("data.csv"), "-od", Path("results")});
  ASSERT_EQ(again.exit_code, kExitOk) << again.err;
  EXPECT_TRUE(std::filesystem::exists(Path("results/experiment_run_0/model/model_weights.pt")));
}

// -l sets the level: at warning the progress lines go, the result stays; -g falls back to the CPU
// with Ludwig's warning (there is no CUDA training), and a bad index is a usage error. Ludwig's
// short spellings -sstes and -skfsi parse.
TEST_F(CliEngineTest, LoggingLevelGpusAndLudwigsShortFlagsAct) {
  ASSERT_EQ(RunTristage({"synthesize_dataset", "-c", Path("config.yaml"), "--dataset_size", "100",
                         "--output_path", Path("data.csv")})
                .exit_code,
            kExitOk);
  auto quiet = RunTristage({"train", "-c", Path("config.yaml"), "--dataset", Path("data.csv"),
                            "-od", Path("quiet"), "-l", "warning"});
  ASSERT_EQ(quiet.exit_code, kExitOk) << quiet.err;
  EXPECT_FALSE(absl::StrContains(quiet.err, "epoch")) << quiet.err;
  EXPECT_TRUE(absl::StrContains(quiet.out, "model saved to")) << quiet.out;
  auto loud = RunTristage({"train", "-c", Path("config.yaml"), "--dataset", Path("data.csv"),
                           "-od", Path("loud"), "-g", "0"});
  ASSERT_EQ(loud.exit_code, kExitOk) << loud.err;
  EXPECT_TRUE(absl::StrContains(loud.err, "epoch 2/2")) << loud.err;
  EXPECT_TRUE(absl::StrContains(loud.err, "--gpus: ")) << loud.err;
  EXPECT_TRUE(absl::StrContains(loud.err, "running on the CPU")) << loud.err;
  auto bad_gpu = RunTristage({"train", "-c", Path("config.yaml"), "--dataset", Path("data.csv"),
                              "-g", "-3"});
  EXPECT_EQ(bad_gpu.exit_code, kExitUsage);
  EXPECT_TRUE(absl::StrContains(bad_gpu.err, "--gpus: '-3' is not a GPU index")) << bad_gpu.err;
  auto short_flags = RunTristage({"experiment", "-c", Path("config.yaml"), "--dataset",
                                  Path("data.csv"), "-od", Path("kf"), "-kf", "2", "-skfsi",
                                  "-sstes", "-l", "error"});
  ASSERT_EQ(short_flags.exit_code, kExitOk) << short_flags.err;
  EXPECT_FALSE(std::filesystem::exists(Path("kf/kfold_split_indices.json")));
  EXPECT_TRUE(std::filesystem::exists(Path("kf/kfold_training_statistics.json")));
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

TEST_F(CliEngineTest, ExportTorchscriptThenPredictWritesTheSameFiles) {
  ASSERT_EQ(RunTristage({"synthesize_dataset", "-c", Path("config.yaml"), "--dataset_size", "150",
                         "--output_path", Path("data.csv")})
                .exit_code,
            kExitOk);
  auto trained = RunTristage(
      {"train", "-c", Path("config.yaml"), "--dataset", Path("data.csv"), "-od", Path("results")});
  ASSERT_EQ(trained.exit_code, kExitOk) << trained.err;
  const std::string run = Path("results/experiment_run");
  auto exported = RunTristage({"export_torchscript", "-m", run, "-op", Path("exported")});
  ASSERT_EQ(exported.exit_code, kExitOk) << exported.err;
  EXPECT_TRUE(std::filesystem::exists(Path("exported/inference_predictor_cpu.pt")));
  // Without --output_path the stages go beside the model's files, as Ludwig does.
  ASSERT_EQ(RunTristage({"export_torchscript", "-m", run, "--model_only"}).exit_code, kExitOk);
  EXPECT_TRUE(std::filesystem::exists(run + "/model/inference_predictor_cpu.pt"));
  // --stage predictor is --model_only's other spelling: the predictor alone.
  ASSERT_EQ(RunTristage({"export_torchscript", "-m", run, "-op", Path("predictor_only"), "--stage",
                         "predictor"})
                .exit_code,
            kExitOk);
  EXPECT_TRUE(std::filesystem::exists(Path("predictor_only/inference_predictor_cpu.pt")));
  EXPECT_FALSE(std::filesystem::exists(Path("predictor_only/inference_preprocessor.pt")));
  EXPECT_NE(RunTristage({"export_torchscript", "-m", run, "--stage", "preprocessor"}).exit_code,
            kExitOk);

  ASSERT_EQ(
      RunTristage({"predict", "-m", run, "--dataset", Path("data.csv"), "-od", Path("engine")})
          .exit_code,
      kExitOk);
  auto staged = RunTristage({"predict", "--torchscript", Path("exported"), "--dataset",
                             Path("data.csv"), "-od", Path("staged")});
  ASSERT_EQ(staged.exit_code, kExitOk) << staged.err;
  for (const char* file : {"predictions.csv", "label_predictions.csv", "label_probabilities.csv"}) {
    EXPECT_EQ(ReadFile(Path(std::string("engine/") + file)),
              ReadFile(Path(std::string("staged/") + file)))
        << file;
  }

  // Served: the export in a model repository, a real daemon, the same files again.
  ASSERT_EQ(RunTristage({"export_torchscript", "-m", run, "-op", Path("repo/m/1")}).exit_code,
            kExitOk);
  auto daemon =
      testing::Daemon::Start(TRISTAGE_SERVER_BINARY, {"--model-repository", Path("repo")});
  ASSERT_TRUE(daemon.ok()) << daemon.status();
  auto served = RunTristage({"predict", "--server", (*daemon)->grpc_address(), "--model", "m",
                             "--dataset", Path("data.csv"), "-od", Path("served")});
  ASSERT_EQ(served.exit_code, kExitOk) << served.err;
  // The server batches rows differently from local predict, so float sums may differ in the
  // last bit: labels exact, numbers within 1e-6.
  for (const char* file : {"predictions.csv", "label_predictions.csv", "label_probabilities.csv"}) {
    auto local = data::ReadTable(Path(std::string("engine/") + file));
    auto remote = data::ReadTable(Path(std::string("served/") + file));
    ASSERT_TRUE(local.ok() && remote.ok()) << file;
    ASSERT_EQ(local->column_names(), remote->column_names()) << file;
    ASSERT_EQ(local->num_rows(), remote->num_rows()) << file;
    for (const std::string& name : local->column_names()) {
      const auto& a = (**local->Get(name)).values;
      const auto& b = (**remote->Get(name)).values;
      for (size_t row = 0; row < a.size(); ++row) {
        double x = 0, y = 0;
        if (absl::SimpleAtod(a[row], &x) && absl::SimpleAtod(b[row], &y)) {
          EXPECT_NEAR(x, y, 1e-6) << file << " " << name << " row " << row;
        } else {
          EXPECT_EQ(a[row], b[row]) << file << " " << name << " row " << row;
        }
      }
    }
  }
  auto unknown = RunTristage({"predict", "--server", (*daemon)->grpc_address(), "--model", "zz",
                              "--dataset", Path("data.csv")});
  EXPECT_EQ(unknown.exit_code, kExitFailure);
  EXPECT_TRUE(absl::StrContains(unknown.err, "unknown model 'zz'")) << unknown.err;

  auto missing =
      RunTristage({"predict", "--torchscript", Path("nowhere"), "--dataset", Path("data.csv")});
  EXPECT_EQ(missing.exit_code, kExitFailure);
  EXPECT_TRUE(absl::StrContains(missing.err, "no export directory")) << missing.err;
  auto both = RunTristage(
      {"predict", "--torchscript", Path("exported"), "-m", run, "--dataset", Path("data.csv")});
  EXPECT_EQ(both.exit_code, kExitUsage);
}

TEST_F(CliEngineTest, InitConfigPreprocessAndCollectVerbsWork) {
  ASSERT_EQ(RunTristage({"synthesize_dataset", "-c", Path("config.yaml"), "--dataset_size", "120",
                         "--output_path", Path("data.csv")})
                .exit_code,
            kExitOk);
  auto inferred = RunTristage({"init_config", "--dataset", Path("data.csv"), "--target", "label"});
  ASSERT_EQ(inferred.exit_code, kExitOk) << inferred.err;
  EXPECT_TRUE(absl::StrContains(inferred.out, "name: x\n    type: number")) << inferred.out;
  EXPECT_TRUE(absl::StrContains(inferred.out, "name: c\n    type: category")) << inferred.out;
  EXPECT_TRUE(
      absl::StrContains(inferred.out, "output_features:\n  - name: label\n    type: binary"))
      << inferred.out;

  auto preprocessed =
      RunTristage({"preprocess", "-pc", Path("config.yaml"), "--dataset", Path("data.csv")});
  ASSERT_EQ(preprocessed.exit_code, kExitOk) << preprocessed.err;
  EXPECT_TRUE(std::filesystem::exists(Path("data.meta.json")));

  ASSERT_EQ(RunTristage({"train", "-c", Path("config.yaml"), "--dataset", Path("data.csv"), "-od",
                         Path("results")})
                .exit_code,
            kExitOk);
  const std::string model = Path("results/experiment_run");
  auto weights = RunTristage({"collect_weights", "-m", model, "-od", Path("weights")});
  ASSERT_EQ(weights.exit_code, kExitOk) << weights.err;
  EXPECT_TRUE(std::filesystem::exists(Path("weights/decoder_0.w.npy")));
  auto activations = RunTristage({"collect_activations", "-m", model, "--dataset", Path("data.csv"),
                                  "--layers", "combiner", "-od", Path("activations")});
  ASSERT_EQ(activations.exit_code, kExitOk) << activations.err;
  EXPECT_TRUE(std::filesystem::exists(Path("activations/combiner.npy")));
  auto unknown = RunTristage(
      {"collect_activations", "-m", model, "--dataset", Path("data.csv"), "--layers", "nope"});
  EXPECT_EQ(unknown.exit_code, kExitFailure);
  EXPECT_TRUE(absl::StrContains(unknown.err, "no layer 'nope'")) << unknown.err;
  auto summary = RunTristage({"collect_summary", "-m", model});
  ASSERT_EQ(summary.exit_code, kExitOk);
  EXPECT_TRUE(absl::StrContains(summary.out, "total parameters: ")) << summary.out;
}

TEST_F(CliEngineTest, RenderConfigPrintsEveryDefault) {
  auto rendered = RunTristage({"render_config", "-c", Path("config.yaml")});
  ASSERT_EQ(rendered.exit_code, kExitOk) << rendered.err;
  for (const char* wanted : {"learning_rate: 0.001", "normalization: zscore", "type: concat",
                             "validation_metric: roc_auc", "validation_field: label"}) {
    EXPECT_TRUE(absl::StrContains(rendered.out, wanted)) << wanted << "\n" << rendered.out;
  }
}

TEST_F(CliEngineTest, ConfigErrorsExitOneNamingThePath) {
  auto result = RunTristage({"render_config", "-cs",
                             "{input_features: [{name: x, type: numbr}], output_features: "
                             "[{name: y, type: binary}]}"});
  EXPECT_EQ(result.exit_code, kExitFailure);
  EXPECT_TRUE(absl::StrContains(result.err, "input_features[0].type")) << result.err;
}

TEST_F(CliEngineTest, MissingDatasetFileIsNamed) {
  auto result = RunTristage(
      {"train", "-c", Path("config.yaml"), "--dataset", Path("nope.csv"), "-od", Path("results")});
  EXPECT_EQ(result.exit_code, kExitFailure);
  EXPECT_TRUE(absl::StrContains(result.err, "nope.csv")) << result.err;
}

TEST_F(CliEngineTest, ExperimentKfoldWritesLudwigsFilesAndSaysWhere) {
  ASSERT_EQ(RunTristage({"synthesize_dataset", "-c", Path("config.yaml"), "--dataset_size", "150",
                         "--output_path", Path("data.csv")})
                .exit_code,
            kExitOk);
  auto kfold = RunTristage({"experiment", "-c", Path("config.yaml"), "--dataset", Path("data.csv"),
                            "-od", Path("results"), "--k_fold", "3", "-rs", "5",
                            "--experiment_name", "cv", "--model_name", "m", "-ssm", "-sstp"});
  ASSERT_EQ(kfold.exit_code, kExitOk) << kfold.err;
  const std::string statistics = Path("results/kfold_training_statistics.json");
  const std::string indices = Path("results/kfold_split_indices.json");
  EXPECT_TRUE(
      absl::StrContains(kfold.out, "3-fold cross validation statistics saved to " + statistics))
      << kfold.out;
  EXPECT_TRUE(absl::StrContains(kfold.out, "fold split indices saved to " + indices)) << kfold.out;
  EXPECT_TRUE(
      absl::StrContains(kfold.out, "fold 3 results saved to " + Path("results/cv_m_fold_3")))
      << kfold.out;
  EXPECT_TRUE(absl::StrContains(kfold.err, "fold 2/3: training on 100 rows, testing on 50"))
      << kfold.err;
  const auto stats = nlohmann::json::parse(ReadFile(statistics));
  for (const char* key : {"fold_1", "fold_2", "fold_3", "overall"}) {
    EXPECT_TRUE(stats.contains(key)) << key;
  }
  EXPECT_TRUE(stats["overall"]["label"].contains("accuracy_mean"));
  const auto split = nlohmann::json::parse(ReadFile(indices));
  EXPECT_EQ(split["fold_1"]["test_indices"].size(), 50u);
  EXPECT_EQ(split["fold_1"]["training_indices"].size(), 100u);
  EXPECT_TRUE(std::filesystem::exists(Path("results/cv_m_fold_1/test_statistics.json")));
  EXPECT_FALSE(std::filesystem::exists(Path("results/cv_m_fold_1/model/model_weights.pt")));
}

// The verb end to end: its trials are children of the same binary (`hyperopt_trial`).
TEST_F(CliEngineTest, HyperoptRunsTrialsAndPrintsTheBestModel) {
  ASSERT_EQ(RunTristage({"synthesize_dataset", "-c", Path("config.yaml"), "--dataset_size", "150",
                         "--output_path", Path("data.csv")})
                .exit_code,
            kExitOk);
  std::ofstream(dir_ / "hyperopt.yaml")
      << ReadFile(Path("config.yaml"))
      << "hyperopt:\n"
         "  parameters:\n"
         "    combiner.output_size: {space: grid_search, values: [4, 8]}\n";
  auto run = RunTristage({"hyperopt", "-c", Path("hyperopt.yaml"), "--dataset", Path("data.csv"),
                          "-od", Path("results"), "-rs", "3"});
  ASSERT_EQ(run.exit_code, kExitOk) << run.err;
  const std::string out = Path("results/hyperopt");
  EXPECT_TRUE(absl::StrContains(run.out, "2 trial(s): 2 scored, 0 failed; results in " + out))
      << run.out;
  EXPECT_TRUE(absl::StrContains(run.out, "hyperopt statistics saved to " + out +
                                             "/hyperopt_statistics.json"))
      << run.out;
  EXPECT_TRUE(absl::StrContains(run.out, "best model: " + out + "/trial_")) << run.out;
  EXPECT_TRUE(absl::StrContains(run.err, "trial 1 completed: loss ")) << run.err;
  const auto stats = nlohmann::json::parse(ReadFile(out + "/hyperopt_statistics.json"));
  ASSERT_EQ(stats["hyperopt_results"].size(), 2u);
  const std::string best = stats["hyperopt_results"][0]["trial_dir"];
  auto predict = RunTristage({"predict", "-m", best, "--dataset", Path("data.csv"), "-od",
                              Path("predictions")});
  EXPECT_EQ(predict.exit_code, kExitOk) << predict.err;
  // Without hyperopt in the config, the error names the section.
  auto plain = RunTristage({"hyperopt", "-c", Path("config.yaml"), "--dataset", Path("data.csv"),
                            "-od", Path("results")});
  EXPECT_EQ(plain.exit_code, kExitFailure);
  EXPECT_TRUE(absl::StrContains(plain.err, "tristage hyperopt: hyperopt: the config has no "
                                           "hyperopt section"))
      << plain.err;
}

// The job protocol's child side (docs/jobs.md): with --job_events_fd, a progress event per epoch,
// then a result event naming the model, or an error event with what stderr says after
// "tristage <verb>: ". Run as the daemon runs it: the real binary, descriptor 3 a file.
TEST_F(CliEngineTest, JobEventsFdGetsProgressResultAndErrorLines) {
  ASSERT_EQ(RunTristage({"synthesize_dataset", "-c", Path("config.yaml"), "--dataset_size", "120",
                         "--output_path", Path("data.csv")})
                .exit_code,
            kExitOk);
  auto run_with_events = [&](const std::string& args) {
    auto result = testing::RunCommand(
        {"/bin/sh", "-c",
         absl::StrCat("exec '", TRISTAGE_CLI_BINARY, "' ", args, " --job_events_fd 3 3>'",
                      Path("events.jsonl"), "'")});
    EXPECT_TRUE(result.ok()) << result.status();
    std::vector<job_protocol::Event> events;
    job_protocol::EventReader reader(
        [&](const job_protocol::Event& event) { events.push_back(event); },
        [](const absl::Status& error) { ADD_FAILURE() << error; });
    std::ifstream in(Path("events.jsonl"));
    reader.Feed(std::string(std::istreambuf_iterator<char>(in), {}));
    reader.Finish();
    return std::make_pair(result.value_or(testing::CommandResult{}), events);
  };

  auto [train, events] = run_with_events(
      absl::StrCat("train -c '", Path("config.yaml"), "' --dataset '", Path("data.csv"),
                   "' -od '", Path("results"), "'"));
  ASSERT_EQ(train.exit_code, kExitOk) << train.err;
  ASSERT_EQ(events.size(), 3u);  // two epochs, then the result
  for (int i = 0; i < 2; ++i) {
    const job_protocol::Progress& p = events[i].progress;
    EXPECT_EQ(events[i].type, job_protocol::Event::Type::kProgress);
    EXPECT_EQ(p.epoch, i + 1);
    EXPECT_EQ(p.total_epochs, 2);
    EXPECT_GT(p.step, 0);
    EXPECT_EQ(p.validation_field, "label");
    EXPECT_TRUE(p.metrics["validation"]["combined"].contains("loss")) << p.metrics;
    EXPECT_TRUE(p.metrics["validation"]["label"].contains(p.validation_metric)) << p.metrics;
  }
  ASSERT_EQ(events[2].type, job_protocol::Event::Type::kResult);
  EXPECT_EQ(events[2].result.model_dir, Path("results/experiment_run/model"));
  EXPECT_EQ(events[2].result.output_dir, Path("results/experiment_run"));

  // A failure: the error event carries what stderr says after "tristage train: ".
  auto [missing, errors] = run_with_events(
      absl::StrCat("train -c '", Path("config.yaml"), "' --dataset '", Path("nope.csv"), "'"));
  EXPECT_EQ(missing.exit_code, kExitFailure);
  ASSERT_EQ(errors.size(), 1u);
  ASSERT_EQ(errors[0].type, job_protocol::Event::Type::kError);
  EXPECT_EQ(errors[0].error.code, "NOT_FOUND");
  EXPECT_TRUE(absl::StrContains(missing.err, "tristage train: " + errors[0].error.message))
      << missing.err << " vs " << errors[0].error.message;

  // A flag mistake too, before the verb runs.
  auto [usage, usage_errors] = run_with_events("evaluate --no_such_flag");
  EXPECT_EQ(usage.exit_code, kExitUsage);
  ASSERT_EQ(usage_errors.size(), 1u);
  EXPECT_EQ(usage_errors[0].error.code, "INVALID_ARGUMENT");
  EXPECT_TRUE(absl::StrContains(usage_errors[0].error.message, "--no_such_flag"));
}

TEST(CliTest, JobEventsFdMustBeAWritableDescriptorAndTrialsNeedIt) {
  for (const char* fd : {"1", "2", "77", "three"}) {
    std::ostringstream out, err;
    EXPECT_EQ(RunCli({"train", "--job_events_fd", fd}, out, err), kExitUsage) << fd;
    EXPECT_TRUE(absl::StrContains(err.str(), "--job_events_fd")) << err.str();
  }
  std::ostringstream out, err;
  EXPECT_EQ(RunCli({"hyperopt_trial", "--trial_spec", "x.json"}, out, err), kExitUsage);
  EXPECT_TRUE(absl::StrContains(err.str(), "--job_events_fd is required")) << err.str();
}

TEST_F(CliEngineTest, UnsupportedLudwigFlagsAreRefusedNotIgnored) {
  for (const char* verb : {"train", "experiment", "hyperopt"}) {
    auto run = RunTristage({verb, "-c", Path("config.yaml"), "--dataset", Path("data.csv"),
                            "-mlp", Path("some_model")});
    EXPECT_EQ(run.exit_code, kExitUsage) << verb << ": " << run.err;
    EXPECT_TRUE(absl::StrContains(run.err, "--model_load_path is not supported by tristage yet"))
        << verb << ": " << run.err;
  }
}

TEST_F(CliEngineTest, ExperimentKfoldFlagMistakesExitTwoNamingTheFlag) {
  auto one = RunTristage({"experiment", "-c", Path("config.yaml"), "--dataset", Path("data.csv"),
                          "-od", Path("results"), "--k_fold", "1"});
  EXPECT_EQ(one.exit_code, kExitUsage);
  EXPECT_TRUE(absl::StrContains(one.err, "tristage experiment: --k_fold: 1 folds")) << one.err;
  auto word = RunTristage(
      {"experiment", "-c", Path("config.yaml"), "--dataset", Path("data.csv"), "-kf", "three"});
  EXPECT_EQ(word.exit_code, kExitUsage);
  EXPECT_TRUE(absl::StrContains(word.err, "--k_fold: 'three'")) << word.err;
  auto no_data = RunTristage({"experiment", "-c", Path("config.yaml"), "--k_fold", "3"});
  EXPECT_EQ(no_data.exit_code, kExitUsage);
  EXPECT_TRUE(absl::StrContains(no_data.err, "--dataset")) << no_data.err;
  auto missing = RunTristage({"experiment", "-c", Path("config.yaml"), "--dataset",
                              Path("nope.csv"), "--k_fold", "3", "-od", Path("results")});
  EXPECT_EQ(missing.exit_code, kExitFailure);
  EXPECT_TRUE(absl::StrContains(missing.err, "nope.csv")) << missing.err;
}

}  // namespace
}  // namespace tristage::cli
