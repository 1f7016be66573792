// bench/quality: model quality of the engine's PLAIN DEFAULT config against a tuned logistic
// regression, on synthetic data. It measures the product requirement "plain defaults should be
// competitive with a tuned logistic regression (on standardized numbers, or TF-IDF for text)".
//
// Four datasets of 5,000 rows from SynthesizeDataset (outputs are a noisy function of a hidden,
// roughly linear score of the inputs), each for several seeds (argv[1], default 3):
//   numeric   8 number + 2 category inputs -> binary
//   category  2 number + 6 category (vocab 10-50) inputs -> category (5 classes)
//   text      1 text (vocab 300, up to 20 tokens) + 2 number inputs -> binary
//   mixed     number, category, set, binary, text inputs -> binary
// Rows 0-2999 train, 3000-3999 validate, 4000-4999 test, for both methods (the synthesizer draws
// rows independently, so a contiguous cut is as random as a shuffled one, and it is the same cut
// for both). The engine gets the three splits as CSV files through the public API
// (Model::FromConfig + Model::Experiment) with a config holding only feature names and types; the
// baseline (quality_baseline.h) reads the same tables.
//
// Prints the machine, one line per run, a table per dataset (mean +- sample std over seeds; the
// difference is engine minus baseline, paired by seed), an overview, and a JSON summary last.
//
// Flags, for diagnosis only (the headline figures use neither):
//   --dataset=NAME        run one dataset
//   --config_patch=JSON   an RFC 7386 merge patch applied to every plain config, e.g.
//                         '{"defaults":{"text":{"encoder":{"type":"embed"}}}}'
//   --noise=X             the synthesizer's output noise (default 0.1, relative to the score's
//                         spread): how much the gap depends on how separable the data is
//   --verbose             the engine's per-epoch lines on stderr
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>

#include <ATen/Parallel.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "bench/quality_baseline.h"
#include "core/api/model.h"
#include "core/api/synthesize.h"
#include "core/data/io.h"
#include "core/platform/system_info.h"
#include "core/util/status_macros.h"

namespace {

using nlohmann::json;
using tristage::bench::BaselineResult;
using tristage::bench::Scores;
using tristage::data::Table;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr int64_t kRows = 5000;
constexpr int64_t kTrainRows = 3000;
constexpr int64_t kValidationRows = 1000;

double Seconds(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

struct DatasetSpec {
  std::string name;
  std::string description;
  json features;  // a config whose features may carry the synthesizer's shape hints
};

std::vector<DatasetSpec> Datasets() {
  return {
      {"numeric", "8 number + 2 category inputs -> binary", json::parse(R"({
        "input_features": [
          {"name": "n1", "type": "number"}, {"name": "n2", "type": "number"},
          {"name": "n3", "type": "number"}, {"name": "n4", "type": "number"},
          {"name": "n5", "type": "number"}, {"name": "n6", "type": "number"},
          {"name": "n7", "type": "number"}, {"name": "n8", "type": "number"},
          {"name": "c1", "type": "category", "vocab_size": 10},
          {"name": "c2", "type": "category", "vocab_size": 20}],
        "output_features": [{"name": "y", "type": "binary"}]})")},
      {"category", "2 number + 6 category (vocab 10-50) inputs -> category (5 classes)",
       json::parse(R"({
        "input_features": [
          {"name": "n1", "type": "number"}, {"name": "n2", "type": "number"},
          {"name": "c1", "type": "category", "vocab_size": 10},
          {"name": "c2", "type": "category", "vocab_size": 15},
          {"name": "c3", "type": "category", "vocab_size": 20},
          {"name": "c4", "type": "category", "vocab_size": 30},
          {"name": "c5", "type": "category", "vocab_size": 40},
          {"name": "c6", "type": "category", "vocab_size": 50}],
        "output_features": [{"name": "y", "type": "category", "vocab_size": 5}]})")},
      {"text", "1 text (vocab 300, <= 20 tokens) + 2 number inputs -> binary", json::parse(R"({
        "input_features": [
          {"name": "t1", "type": "text", "vocab_size": 300, "max_len": 20},
          {"name": "n1", "type": "number"}, {"name": "n2", "type": "number"}],
        "output_features": [{"name": "y", "type": "binary"}]})")},
      {"mixed", "number, category, set, binary, text inputs -> binary", json::parse(R"({
        "input_features": [
          {"name": "n1", "type": "number"},
          {"name": "c1", "type": "category", "vocab_size": 20},
          {"name": "s1", "type": "set", "vocab_size": 20},
          {"name": "b1", "type": "binary"},
          {"name": "t1", "type": "text", "vocab_size": 100, "max_len": 12}],
        "output_features": [{"name": "y", "type": "binary"}]})")},
  };
}

// The plain default config: only each feature's name and type. Everything else, including the
// synthesizer's hints (vocab_size, max_len, vector_size, which are not config keys), is dropped.
json PlainConfig(const json& features) {
  json config = json::object();
  for (const char* section : {"input_features", "output_features"}) {
    config[section] = json::array();
    for (const json& feature : features.at(section)) {
      config[section].push_back({{"name", feature.at("name")}, {"type", feature.at("type")}});
    }
  }
  return config;
}

struct Splits {
  Table train;
  Table validation;
  Table test;
};

Splits CutRows(const Table& table) {
  std::vector<int64_t> train, validation, test;
  for (int64_t row = 0; row < table.num_rows(); ++row) {
    if (row < kTrainRows) {
      train.push_back(row);
    } else if (row < kTrainRows + kValidationRows) {
      validation.push_back(row);
    } else {
      test.push_back(row);
    }
  }
  return {table.Take(train), table.Take(validation), table.Take(test)};
}

struct EngineResult {
  Scores test;             // from the engine's test statistics
  Scores recomputed;       // from its test predictions, as a cross-check of its metrics
  int64_t epochs = 0;      // epochs trained
  int64_t best_epoch = 0;  // the epoch whose weights were kept
  int64_t parameters = 0;
  double seconds = 0;      // Experiment(): preprocessing, training, test evaluation
};

double NumberOr(const json& scores, const char* key) {
  return scores.contains(key) && scores[key].is_number() ? scores[key].get<double>() : std::nan("");
}

// Accuracy and (binary) roc_auc from the prediction columns, against the test table's targets.
absl::StatusOr<Scores> ScorePredictions(const json& output, const Table& predictions,
                                        const Table& test) {
  const std::string name = output.at("name");
  const bool binary = output.at("type") == "binary";
  TRISTAGE_ASSIGN_OR_RETURN(const tristage::data::Column* target, test.Get(name));
  TRISTAGE_ASSIGN_OR_RETURN(const tristage::data::Column* predicted,
                            predictions.Get(name + "_predictions"));
  if (predicted->size() != target->size()) {
    return absl::InternalError(absl::StrCat("engine returned ", predicted->size(),
                                            " test predictions for ", target->size(), " rows"));
  }
  std::vector<int64_t> hits, ones;
  for (size_t row = 0; row < target->size(); ++row) {
    const bool right = binary ? tristage::bench::BinaryValue(predicted->values[row]) ==
                                    tristage::bench::BinaryValue(target->values[row])
                              : predicted->values[row] == target->values[row];
    hits.push_back(right ? 1 : 0);
    ones.push_back(1);
  }
  Scores scores;
  scores.accuracy = tristage::bench::Accuracy(hits, ones);
  scores.roc_auc = std::nan("");
  if (!binary) return scores;
  // The probability column of the true label (<name>_probabilities_<label>).
  for (const std::string& column : predictions.column_names()) {
    const std::string prefix = name + "_probabilities_";
    if (!absl::StartsWith(column, prefix) ||
        tristage::bench::BinaryValue(column.substr(prefix.size())) != 1) {
      continue;
    }
    std::vector<double> probability;
    std::vector<int64_t> labels;
    const tristage::data::Column* values = predictions.Find(column);
    for (size_t row = 0; row < target->size(); ++row) {
      probability.push_back(std::strtod(values->values[row].c_str(), nullptr));
      labels.push_back(tristage::bench::BinaryValue(target->values[row]));
    }
    scores.roc_auc = tristage::bench::RocAuc(probability, labels);
  }
  return scores;
}

absl::Status WriteSplits(const Splits& splits, const fs::path& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return absl::InternalError(absl::StrCat("cannot create ", dir.string(), ": ", ec.message()));
  TRISTAGE_RETURN_IF_ERROR(tristage::data::WriteTable(splits.train, (dir / "train.csv").string()));
  TRISTAGE_RETURN_IF_ERROR(
      tristage::data::WriteTable(splits.validation, (dir / "validation.csv").string()));
  return tristage::data::WriteTable(splits.test, (dir / "test.csv").string());
}

// Trains and tests the engine through its public API, saving nothing that does not change the
// model (no checkpoints, weights, predictions or preprocessed cache), so the wall time is
// training's.
absl::StatusOr<EngineResult> RunEngine(const json& config, const Splits& splits,
                                       const fs::path& dir, uint64_t seed, bool verbose) {
  TRISTAGE_RETURN_IF_ERROR(WriteSplits(splits, dir));
  TRISTAGE_ASSIGN_OR_RETURN(std::unique_ptr<tristage::Model> model,
                            tristage::Model::FromConfig(config));
  tristage::TrainOptions options;
  options.data.training_set = (dir / "train.csv").string();
  options.data.validation_set = (dir / "validation.csv").string();
  options.data.test_set = (dir / "test.csv").string();
  options.output_directory = (dir / "results").string();
  options.random_seed = seed;
  options.skip_save_model = true;
  options.skip_save_progress = true;
  options.skip_save_processed_input = true;
  options.skip_save_training_description = true;
  options.skip_save_training_statistics = true;
  if (verbose) options.log = [](const std::string& line) { std::cerr << line; };
  tristage::ExperimentOptions experiment;
  experiment.skip_save_predictions = true;
  experiment.skip_save_eval_stats = true;

  const auto start = Clock::now();
  TRISTAGE_ASSIGN_OR_RETURN(tristage::ExperimentResults results,
                            model->Experiment(options, experiment));
  EngineResult engine;
  engine.seconds = Seconds(start);
  const json& output = config.at("output_features").at(0);
  const json& scores = results.evaluation.test_statistics[output.at("name").get<std::string>()];
  engine.test.accuracy = NumberOr(scores, "accuracy");
  engine.test.roc_auc = NumberOr(scores, "roc_auc");
  engine.epochs = results.train.progress.value("epoch", int64_t{0});
  engine.best_epoch = results.train.progress.value("best_eval_metric_epoch", int64_t{0});
  engine.parameters = model->Summary().value("total_parameters", int64_t{0});
  TRISTAGE_ASSIGN_OR_RETURN(engine.recomputed,
                            ScorePredictions(output, results.evaluation.predictions, splits.test));
  return engine;
}

struct Run {
  uint64_t seed = 0;
  EngineResult engine;
  BaselineResult baseline;
};

struct MeanStd {
  double mean = std::nan("");
  double std = std::nan("");
};

// Sample standard deviation (n - 1); 0 for a single seed.
MeanStd Summarize(const std::vector<double>& values) {
  MeanStd s;
  if (values.empty()) return s;
  double sum = 0;
  for (double v : values) sum += v;
  s.mean = sum / static_cast<double>(values.size());
  double squares = 0;
  for (double v : values) squares += (v - s.mean) * (v - s.mean);
  s.std = values.size() > 1 ? std::sqrt(squares / static_cast<double>(values.size() - 1)) : 0.0;
  return s;
}

template <typename F>
MeanStd Over(const std::vector<Run>& runs, F value) {
  std::vector<double> values;
  for (const Run& run : runs) values.push_back(value(run));
  return Summarize(values);
}

// Metrics with 4 decimals, seconds with 1.
std::string Format(const MeanStd& s, int decimals = 4) {
  return absl::StrFormat("%.*f +- %.*f", decimals, s.mean, decimals, s.std);
}

json ToJson(const MeanStd& s) { return {{"mean", s.mean}, {"std", s.std}}; }

// The per-dataset figures: mean +- std of each method and of their paired difference.
struct DatasetSummary {
  MeanStd engine_accuracy, baseline_accuracy, accuracy_difference;
  MeanStd engine_auc, baseline_auc, auc_difference;
  MeanStd engine_seconds, baseline_seconds;
};

DatasetSummary SummarizeRuns(const std::vector<Run>& runs) {
  DatasetSummary s;
  s.engine_accuracy = Over(runs, [](const Run& r) { return r.engine.test.accuracy; });
  s.baseline_accuracy = Over(runs, [](const Run& r) { return r.baseline.test.accuracy; });
  s.accuracy_difference = Over(
      runs, [](const Run& r) { return r.engine.test.accuracy - r.baseline.test.accuracy; });
  s.engine_auc = Over(runs, [](const Run& r) { return r.engine.test.roc_auc; });
  s.baseline_auc = Over(runs, [](const Run& r) { return r.baseline.test.roc_auc; });
  s.auc_difference =
      Over(runs, [](const Run& r) { return r.engine.test.roc_auc - r.baseline.test.roc_auc; });
  s.engine_seconds = Over(runs, [](const Run& r) { return r.engine.seconds; });
  s.baseline_seconds = Over(runs, [](const Run& r) { return r.baseline.seconds; });
  return s;
}

void PrintDataset(const DatasetSpec& spec, bool binary, const std::vector<Run>& runs,
                  const DatasetSummary& s) {
  std::cout << absl::StrFormat("\n== %s: %s (%d seeds; %d train / %d validation / %d test rows)\n",
                               spec.name, spec.description, runs.size(), kTrainRows,
                               kValidationRows, kRows - kTrainRows - kValidationRows);
  std::cout << absl::StrFormat("%-16s %-20s %-20s %-20s\n", "", "tristage defaults",
                               "tuned logreg", "tristage - logreg");
  std::cout << absl::StrFormat("%-16s %-20s %-20s %-20s\n", "test accuracy",
                               Format(s.engine_accuracy), Format(s.baseline_accuracy),
                               Format(s.accuracy_difference));
  if (binary) {
    std::cout << absl::StrFormat("%-16s %-20s %-20s %-20s\n", "test roc_auc", Format(s.engine_auc),
                                 Format(s.baseline_auc), Format(s.auc_difference));
  }
  std::cout << absl::StrFormat("%-16s %-20s %-20s\n", "wall time (s)",
                               Format(s.engine_seconds, 1), Format(s.baseline_seconds, 1));
  std::vector<std::string> epochs, lambdas;
  for (const Run& run : runs) {
    epochs.push_back(absl::StrFormat("%d (best %d)", run.engine.epochs, run.engine.best_epoch));
    lambdas.push_back(absl::StrFormat("%g", run.baseline.lambda));
  }
  std::cout << "tristage epochs per seed: " << absl::StrJoin(epochs, ", ")
            << "; parameters: " << runs.front().engine.parameters << "\n";
  std::cout << "logreg lambda per seed: " << absl::StrJoin(lambdas, ", ")
            << "; features: " << runs.front().baseline.num_features << "\n";
}

json DatasetJson(const DatasetSpec& spec, bool binary, const std::vector<Run>& runs,
                 const DatasetSummary& s) {
  json tristage = {{"accuracy", ToJson(s.engine_accuracy)}, {"seconds", ToJson(s.engine_seconds)}};
  json logreg = {{"accuracy", ToJson(s.baseline_accuracy)},
                 {"seconds", ToJson(s.baseline_seconds)}};
  json difference = {{"accuracy", ToJson(s.accuracy_difference)}};
  if (binary) {
    tristage["roc_auc"] = ToJson(s.engine_auc);
    logreg["roc_auc"] = ToJson(s.baseline_auc);
    difference["roc_auc"] = ToJson(s.auc_difference);
  }
  json per_seed = json::array();
  for (const Run& run : runs) {
    per_seed.push_back({{"seed", run.seed},
                        {"tristage_accuracy", run.engine.test.accuracy},
                        {"tristage_roc_auc", run.engine.test.roc_auc},
                        {"tristage_epochs", run.engine.epochs},
                        {"tristage_best_epoch", run.engine.best_epoch},
                        {"logreg_accuracy", run.baseline.test.accuracy},
                        {"logreg_roc_auc", run.baseline.test.roc_auc},
                        {"logreg_lambda", run.baseline.lambda}});
  }
  return {{"tristage", tristage}, {"logreg", logreg}, {"difference", difference},
          {"runs", per_seed}};
}

// Warns when the engine's reported test metrics disagree with its own predictions: they come from
// the same forward pass, so any gap is an engine bug, not noise.
void CheckEngineMetrics(const std::string& dataset, const Run& run, bool binary) {
  const auto differs = [](double a, double b) {
    return std::isnan(a) != std::isnan(b) || std::fabs(a - b) > 1e-6;
  };
  if (differs(run.engine.test.accuracy, run.engine.recomputed.accuracy) ||
      (binary && differs(run.engine.test.roc_auc, run.engine.recomputed.roc_auc))) {
    std::cout << absl::StrFormat(
        "WARNING %s seed %d: engine test statistics (accuracy %.6f, roc_auc %.6f) disagree with "
        "its predictions (accuracy %.6f, roc_auc %.6f)\n",
        dataset, run.seed, run.engine.test.accuracy, run.engine.test.roc_auc,
        run.engine.recomputed.accuracy, run.engine.recomputed.roc_auc);
  }
}

absl::StatusOr<Run> RunOnce(const DatasetSpec& spec, const json& config, uint64_t seed,
                            double noise, const fs::path& scratch, bool verbose) {
  tristage::SynthesizeOptions synth;
  synth.rows = kRows;
  synth.seed = seed;
  synth.noise = noise;
  TRISTAGE_ASSIGN_OR_RETURN(Table table, tristage::SynthesizeDataset(spec.features, synth));
  const Splits splits = CutRows(table);
  Run run;
  run.seed = seed;
  TRISTAGE_ASSIGN_OR_RETURN(
      run.engine,
      RunEngine(config, splits, scratch / absl::StrCat(spec.name, "_", seed), seed, verbose));
  // The baseline sees the plain config: feature names and types are all it needs.
  TRISTAGE_ASSIGN_OR_RETURN(run.baseline,
                            tristage::bench::RunBaseline(PlainConfig(spec.features), splits.train,
                                                         splits.validation, splits.test));
  return run;
}

struct Flags {
  int64_t seeds = 3;
  std::string dataset;
  json config_patch;
  double noise = tristage::SynthesizeOptions().noise;
  bool verbose = false;
};

absl::StatusOr<Flags> ParseFlags(int argc, char** argv) {
  Flags flags;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (absl::StartsWith(arg, "--dataset=")) {
      flags.dataset = arg.substr(10);
    } else if (absl::StartsWith(arg, "--config_patch=")) {
      try {
        flags.config_patch = json::parse(arg.substr(15));
      } catch (const json::exception& e) {
        return absl::InvalidArgumentError(absl::StrCat("--config_patch: not JSON: ", e.what()));
      }
    } else if (absl::StartsWith(arg, "--noise=")) {
      char* end = nullptr;
      flags.noise = std::strtod(arg.c_str() + 8, &end);
      if (*end != '\0' || !(flags.noise >= 0)) {
        return absl::InvalidArgumentError(absl::StrCat("'", arg, "': expected a noise >= 0"));
      }
    } else if (arg == "--verbose") {
      flags.verbose = true;
    } else {
      char* end = nullptr;
      flags.seeds = std::strtoll(arg.c_str(), &end, 10);
      if (*end != '\0' || flags.seeds < 1) {
        return absl::InvalidArgumentError(absl::StrCat(
            "'", arg, "': expected a number of seeds >= 1, --dataset=NAME, --config_patch=JSON, "
            "--noise=X or --verbose"));
      }
    }
  }
  return flags;
}

absl::StatusOr<fs::path> MakeScratchDirectory() {
  std::string pattern = (fs::temp_directory_path() / "tristage-quality-XXXXXX").string();
  if (mkdtemp(pattern.data()) == nullptr) {
    return absl::InternalError(absl::StrCat("cannot create a directory like ", pattern));
  }
  return fs::path(pattern);
}

std::string CpuModel() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (absl::StartsWith(line, "model name")) return line.substr(line.find(':') + 2);
  }
  return "unknown CPU";
}

void PrintOverview(const std::vector<std::pair<std::string, DatasetSummary>>& summaries) {
  std::cout << "\n| dataset | metric | tristage defaults | tuned logreg | tristage - logreg |\n"
            << "| --- | --- | --- | --- | --- |\n";
  for (const auto& [name, s] : summaries) {
    std::cout << absl::StrFormat("| %s | accuracy | %s | %s | %s |\n", name,
                                 Format(s.engine_accuracy), Format(s.baseline_accuracy),
                                 Format(s.accuracy_difference));
    if (!std::isnan(s.engine_auc.mean)) {
      std::cout << absl::StrFormat("| %s | roc_auc | %s | %s | %s |\n", name, Format(s.engine_auc),
                                   Format(s.baseline_auc), Format(s.auc_difference));
    }
    std::cout << absl::StrFormat("| %s | wall s | %s | %s | |\n", name,
                                 Format(s.engine_seconds, 1),
                                 Format(s.baseline_seconds, 1));
  }
}

int Main(int argc, char** argv) {
  const auto start = Clock::now();
  auto flags = ParseFlags(argc, argv);
  if (!flags.ok()) {
    std::cerr << "quality: " << flags.status().message() << "\n";
    return 2;
  }
  const tristage::SystemInfo system = tristage::CollectSystemInfo();
  std::cout << "machine: " << std::thread::hardware_concurrency() << " hardware threads, "
            << at::get_num_threads() << " intra-op thread(s), BLAS " << system.blas_kind << ", "
            << CpuModel() << "\n";
  auto scratch = MakeScratchDirectory();
  if (!scratch.ok()) {
    std::cerr << "quality: " << scratch.status().message() << "\n";
    return 1;
  }
  if (!flags->config_patch.is_null()) {
    std::cout << "config patch (NOT the plain defaults): " << flags->config_patch.dump() << "\n";
  }
  std::cout << "synthesizer output noise: " << flags->noise << "\n";
  json summary = {{"seeds", flags->seeds},
                  {"rows", {{"train", kTrainRows}, {"validation", kValidationRows},
                            {"test", kRows - kTrainRows - kValidationRows}}},
                  {"config_patch", flags->config_patch},
                  {"noise", flags->noise},
                  {"lambda_grid", tristage::bench::LambdaGrid()},
                  {"datasets", json::object()}};
  std::vector<std::pair<std::string, DatasetSummary>> overview;
  int status = 0;
  for (const DatasetSpec& spec : Datasets()) {
    if (!flags->dataset.empty() && spec.name != flags->dataset) continue;
    json config = PlainConfig(spec.features);
    if (!flags->config_patch.is_null()) config.merge_patch(flags->config_patch);
    const bool binary = spec.features["output_features"][0]["type"] == "binary";
    std::vector<Run> runs;
    for (int64_t seed = 1; seed <= flags->seeds && status == 0; ++seed) {
      auto run = RunOnce(spec, config, static_cast<uint64_t>(seed), flags->noise, *scratch,
                         flags->verbose);
      if (!run.ok()) {
        std::cerr << "quality: dataset " << spec.name << ", seed " << seed << ": "
                  << run.status() << "\n";
        status = 1;
        break;
      }
      std::cout << absl::StrFormat(
          "%s seed %d: tristage accuracy %.4f roc_auc %.4f (%d epochs, best %d, %.1f s) | "
          "logreg accuracy %.4f roc_auc %.4f (lambda %g, max |grad| %.1e, %.1f s)\n",
          spec.name, seed, run->engine.test.accuracy, run->engine.test.roc_auc, run->engine.epochs,
          run->engine.best_epoch, run->engine.seconds, run->baseline.test.accuracy,
          run->baseline.test.roc_auc, run->baseline.lambda, run->baseline.max_gradient,
          run->baseline.seconds);
      std::cout.flush();
      CheckEngineMetrics(spec.name, *run, binary);
      runs.push_back(std::move(*run));
    }
    if (status != 0) break;
    const DatasetSummary s = SummarizeRuns(runs);
    PrintDataset(spec, binary, runs, s);
    summary["datasets"][spec.name] = DatasetJson(spec, binary, runs, s);
    overview.emplace_back(spec.name, s);
  }
  std::error_code ec;
  fs::remove_all(*scratch, ec);
  if (status != 0) return status;
  if (overview.empty()) {
    std::cerr << "quality: no dataset named '" << flags->dataset
              << "' (known: numeric, category, text, mixed)\n";
    return 2;
  }
  PrintOverview(overview);
  const double total = Seconds(start);
  std::cout << absl::StrFormat("\ntotal run time: %.0f s\n", total);
  summary["total_seconds"] = total;
  std::cout << summary.dump() << "\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) { return Main(argc, argv); }
