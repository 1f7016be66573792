#include "core/api/kfold.h"

#include <cmath>
#include <filesystem>
#include <map>
#include <system_error>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "core/data/io.h"
#include "core/data/split.h"
#include "core/util/status_macros.h"

namespace tristage {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

absl::Status CheckOptions(const KfoldOptions& options) {
  if (options.num_folds < 2) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--k_fold: ", options.num_folds, " folds; k-fold cross validation needs at least 2"));
  }
  const DatasetOptions& data = options.train.data;
  if (data.dataset.empty()) {
    return absl::InvalidArgumentError(
        "--dataset: k-fold cross validation needs the whole dataset as one file (--dataset FILE)");
  }
  if (!data.training_set.empty() || !data.validation_set.empty() || !data.test_set.empty()) {
    return absl::InvalidArgumentError(
        "--dataset: k-fold cross validation cuts its own folds from --dataset; do not give "
        "--training_set, --validation_set or --test_set");
  }
  if (!options.train.model_resume_path.empty()) {
    return absl::InvalidArgumentError(
        "--model_resume_path: k-fold cross validation trains a fresh model per fold and cannot "
        "resume one");
  }
  return absl::OkStatus();
}

// Removes a directory of per-fold data files when it goes out of scope, whatever the outcome.
class ScopedDirectory {
 public:
  explicit ScopedDirectory(fs::path path) : path_(std::move(path)) {}
  ~ScopedDirectory() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  ScopedDirectory(const ScopedDirectory&) = delete;
  ScopedDirectory& operator=(const ScopedDirectory&) = delete;
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

absl::Status MakeDirectory(const fs::path& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) {
    return absl::InternalError(absl::StrCat("cannot create '", dir.string(), "': ", ec.message()));
  }
  return absl::OkStatus();
}

// One fold's experiment on its training rows, tested on its held-out rows. Returns the fold's
// block of kfold_training_statistics.json and sets `run_directory`.
absl::StatusOr<json> RunFold(const json& user_config, const KfoldOptions& options,
                             const data::Table& table, const data::Fold& fold, int64_t number,
                             std::string* run_directory) {
  ScopedDirectory scratch(fs::path(options.train.output_directory) /
                          absl::StrCat(".kfold_fold_", number, "_data"));
  TRISTAGE_RETURN_IF_ERROR(MakeDirectory(scratch.path()));
  const std::string training_file = (scratch.path() / "training.csv").string();
  const std::string test_file = (scratch.path() / "test.csv").string();
  TRISTAGE_RETURN_IF_ERROR(
      data::WriteTable(table.Take(fold.training), training_file, data::DataFormat::kCsv));
  TRISTAGE_RETURN_IF_ERROR(
      data::WriteTable(table.Take(fold.test), test_file, data::DataFormat::kCsv));

  TrainOptions train = options.train;
  train.data = DatasetOptions();
  train.data.training_set = training_file;
  train.data.test_set = test_file;
  train.data.data_format = "csv";
  train.model_name = absl::StrCat(options.train.model_name, "_fold_", number);
  train.skip_save_processed_input = true;  // the fold files are deleted after the fold
  ExperimentOptions experiment = options.experiment;
  experiment.eval_split = "test";

  TRISTAGE_ASSIGN_OR_RETURN(std::unique_ptr<Model> model, Model::FromConfig(user_config));
  TRISTAGE_ASSIGN_OR_RETURN(ExperimentResults results, model->Experiment(train, experiment));
  *run_directory = results.train.run_directory;
  json block = results.train.training_statistics;
  block["fold_eval_stats"] = results.evaluation.test_statistics;
  return block;
}

double Mean(const std::vector<double>& values) {
  double sum = 0;
  for (double v : values) sum += v;
  return sum / static_cast<double>(values.size());
}

// Population standard deviation, as numpy.std's default (ddof=0) that Ludwig reports.
double PopulationStd(const std::vector<double>& values) {
  const double mean = Mean(values);
  double squares = 0;
  for (double v : values) squares += (v - mean) * (v - mean);
  return std::sqrt(squares / static_cast<double>(values.size()));
}

}  // namespace

json KfoldOverallStatistics(const json& statistics) {
  // values[output][metric]: the metric's value in each fold that reported it as a number.
  std::map<std::string, std::map<std::string, std::vector<double>>> values;
  for (auto fold = statistics.begin(); fold != statistics.end(); ++fold) {
    if (!absl::StartsWith(fold.key(), "fold_") || !fold->is_object()) continue;
    const json eval = fold->value("fold_eval_stats", json::object());
    for (auto output = eval.begin(); output != eval.end(); ++output) {
      if (!output->is_object()) continue;
      for (auto metric = output->begin(); metric != output->end(); ++metric) {
        // Skips the structured statistics (confusion_matrix, overall_stats, per_class_stats, ...)
        // that Ludwig excludes by name; a NaN metric stays in and makes its mean NaN (null).
        std::vector<double>& samples = values[output.key()][metric.key()];
        if (metric->is_number()) samples.push_back(metric->get<double>());
        if (metric->is_null()) samples.push_back(std::nan(""));
      }
    }
  }
  json overall = json::object();
  for (const auto& [output, metrics] : values) {
    json& block = overall[output] = json::object();
    for (const auto& [metric, samples] : metrics) {
      if (samples.empty()) continue;
      block[metric + "_mean"] = Mean(samples);
      block[metric + "_std"] = PopulationStd(samples);
    }
  }
  return overall;
}

absl::StatusOr<KfoldResults> KfoldCrossValidate(const json& user_config,
                                                const KfoldOptions& options) {
  TRISTAGE_RETURN_IF_ERROR(CheckOptions(options));
  const DatasetOptions& data = options.train.data;
  absl::StatusOr<data::Table> table = ReadDataset(data.dataset, data.data_format);
  if (!table.ok()) {
    return absl::Status(table.status().code(),
                        absl::StrCat("--dataset: ", table.status().message()));
  }
  if (options.num_folds > table->num_rows()) {
    return absl::InvalidArgumentError(absl::StrCat("--k_fold: ", options.num_folds, " folds but '",
                                                   data.dataset, "' has only ", table->num_rows(),
                                                   " rows"));
  }
  TRISTAGE_ASSIGN_OR_RETURN(
      std::vector<data::Fold> folds,
      data::KfoldSplit(table->num_rows(), options.num_folds, options.train.random_seed));
  const fs::path output(options.train.output_directory);
  TRISTAGE_RETURN_IF_ERROR(MakeDirectory(output));

  const auto log = [&options](const std::string& line) {
    if (options.train.log) options.train.log(line);
  };
  log(absl::StrCat("starting ", options.num_folds, "-fold cross validation of ", data.dataset, " (",
                   table->num_rows(), " rows)\n"));
  KfoldResults results;
  results.statistics = json::object();
  results.split_indices = json::object();
  for (size_t i = 0; i < folds.size(); ++i) {
    const int64_t number = static_cast<int64_t>(i) + 1;
    const std::string name = absl::StrCat("fold_", number);
    results.split_indices[name] = {{"training_indices", folds[i].training},
                                   {"test_indices", folds[i].test}};
    log(absl::StrCat("fold ", number, "/", folds.size(), ": training on ", folds[i].training.size(),
                     " rows, testing on ", folds[i].test.size(), "\n"));
    std::string run_directory;
    absl::StatusOr<json> block =
        RunFold(user_config, options, *table, folds[i], number, &run_directory);
    if (!block.ok()) {
      return absl::Status(block.status().code(),
                          absl::StrCat("fold ", number, ": ", block.status().message()));
    }
    results.statistics[name] = *std::move(block);
    results.fold_run_directories.push_back(run_directory);
  }
  results.statistics["overall"] = KfoldOverallStatistics(results.statistics);

  results.statistics_path = (output / "kfold_training_statistics.json").string();
  TRISTAGE_RETURN_IF_ERROR(WriteJsonFile(results.statistics_path, results.statistics));
  if (!options.skip_save_k_fold_split_indices) {
    results.split_indices_path = (output / "kfold_split_indices.json").string();
    TRISTAGE_RETURN_IF_ERROR(WriteJsonFile(results.split_indices_path, results.split_indices));
  }
  log(absl::StrCat("completed ", options.num_folds, "-fold cross validation\n"));
  return results;
}

}  // namespace tristage
