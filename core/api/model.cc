#include "core/api/model.h"

#include <cmath>
#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "core/config/config.h"
#include "core/data/io.h"
#include "core/distributed/process_group.h"
#include "core/export/stages.h"
#include "core/features/feature.h"
#include "core/model/ecd.h"
#include "core/platform/system_info.h"
#include "core/preprocessing/cache.h"
#include "core/preprocessing/preprocessing.h"
#include "core/training/evaluator.h"
#include "core/training/trainer.h"
#include "core/util/files.h"
#include "core/util/status_macros.h"
#include "core/version.h"

namespace tristage {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

constexpr char kHyperparameters[] = "model_hyperparameters.json";
constexpr char kMetadata[] = "training_set_metadata.json";
constexpr char kWeights[] = "model_weights.pt";

absl::StatusOr<json> ReadJsonFile(const fs::path& path) {
  return tristage::ReadJsonFile(path.string());
}

// NaN and infinities are not JSON; Ludwig writes them as null too.
json Sanitize(const json& value) {
  if (value.is_number_float() && !std::isfinite(value.get<double>())) return nullptr;
  if (value.is_object() || value.is_array()) {
    json out = value;
    for (auto& item : out) item = Sanitize(item);
    return out;
  }
  return value;
}

// <output>/<experiment>_<model>, or with _0, _1, ... when taken (Ludwig's naming).
fs::path NewRunDirectory(const TrainOptions& options) {
  return FreshPath(
      (fs::path(options.output_directory) / (options.experiment_name + "_" + options.model_name))
          .string());
}

absl::StatusOr<preprocessing::DatasetSplits> LoadSplits(const json& config,
                                                        const DatasetOptions& data, uint64_t seed) {
  if (!data.dataset.empty()) {
    TRISTAGE_ASSIGN_OR_RETURN(data::Table table, ReadDataset(data.dataset, data.data_format));
    return preprocessing::SplitDataset(config, table, seed);
  }
  if (data.training_set.empty()) {
    return absl::InvalidArgumentError(
        "no data: give --dataset, or --training_set (with optional "
        "--validation_set and --test_set)");
  }
  // Given sets are sampled one by one (Ludwig samples their concatenation), and the training set
  // balanced, as SplitDataset does for one dataset.
  preprocessing::DatasetSplits splits;
  TRISTAGE_ASSIGN_OR_RETURN(data::Table training, ReadDataset(data.training_set, data.data_format));
  TRISTAGE_ASSIGN_OR_RETURN(training, preprocessing::SampleRows(config, training, seed));
  TRISTAGE_ASSIGN_OR_RETURN(splits.training,
                            preprocessing::BalanceClasses(config, training, seed));
  if (!data.validation_set.empty()) {
    TRISTAGE_ASSIGN_OR_RETURN(data::Table validation,
                              ReadDataset(data.validation_set, data.data_format));
    TRISTAGE_ASSIGN_OR_RETURN(splits.validation,
                              preprocessing::SampleRows(config, validation, seed + 1));
  }
  if (!data.test_set.empty()) {
    TRISTAGE_ASSIGN_OR_RETURN(data::Table test, ReadDataset(data.test_set, data.data_format));
    TRISTAGE_ASSIGN_OR_RETURN(splits.test, preprocessing::SampleRows(config, test, seed + 2));
  }
  return splits;
}

std::string HumanRate(double rows_per_second) {
  if (rows_per_second >= 1e6) return absl::StrFormat("%.1fM rows/s", rows_per_second / 1e6);
  if (rows_per_second >= 1e3) return absl::StrFormat("%.1fk rows/s", rows_per_second / 1e3);
  return absl::StrFormat("%.0f rows/s", rows_per_second);
}

// Progress lines: a carriage-return bar on a TTY, one line per epoch otherwise.
std::function<void(const training::ProgressEvent&)> ProgressPrinter(const TrainOptions& options,
                                                                    const json& config) {
  if (!options.log) return nullptr;
  const std::string field = config["trainer"].value("validation_field", std::string());
  const std::string metric = config["trainer"].value("validation_metric", std::string());
  return [log = options.log, bar = options.progress_bar, field,
          metric](const training::ProgressEvent& e) {
    const std::string epochs =
        e.total_epochs > 0 ? absl::StrCat(e.epoch, "/", e.total_epochs) : absl::StrCat(e.epoch);
    if (e.kind == training::ProgressEvent::Kind::kBatch) {
      if (bar) {
        log(absl::StrFormat("\repoch %s step %d/%d loss %.4f %s   ", epochs, e.step, e.total_steps,
                            e.loss, HumanRate(e.rows_per_second)));
      }
      return;
    }
    std::string line = absl::StrCat(bar ? "\n" : "", "epoch ", epochs, " (step ", e.step, ")");
    for (const char* split : {"training", "validation", "test"}) {
      if (!e.metrics.contains(split)) continue;
      const json& scores = e.metrics[split];
      absl::StrAppend(&line, " | ", split, ": loss ",
                      absl::StrFormat("%.4f", scores["combined"].value("loss", 0.0)));
      if (scores.contains(field) && scores[field].contains(metric) &&
          scores[field][metric].is_number()) {
        absl::StrAppend(&line, " ", field, " ", metric, " ",
                        absl::StrFormat("%.4f", scores[field][metric].get<double>()));
      }
    }
    if (e.improved) absl::StrAppend(&line, " (best)");
    log(line + "\n");
  };
}

// The human lines (ProgressPrinter) and, with options.job_events, a progress event per epoch.
std::function<void(const training::ProgressEvent&)> ProgressReporter(const TrainOptions& options,
                                                                     const json& config) {
  auto printer = ProgressPrinter(options, config);
  if (options.job_events == nullptr) return printer;
  job_protocol::Progress fields;
  fields.validation_field = config["trainer"].value("validation_field", std::string());
  fields.validation_metric = config["trainer"].value("validation_metric", std::string());
  return [printer, events = options.job_events, fields](const training::ProgressEvent& e) {
    if (printer) printer(e);
    if (e.kind != training::ProgressEvent::Kind::kEpochEnd) return;
    job_protocol::Progress progress = fields;
    progress.epoch = e.epoch;
    progress.total_epochs = e.total_epochs;
    progress.step = e.step;
    progress.improved = e.improved;
    progress.metrics = e.metrics;
    // A reader that went away is the parent's business (it kills its children); training goes on.
    events->Write(job_protocol::MakeProgress(std::move(progress))).IgnoreError();
  };
}

json Description(const TrainOptions& options, const json& config) {
  const SystemInfo system = CollectSystemInfo();
  return {{"tristage_version", kTristageVersion},
          {"config", config},
          {"data",
           {{"dataset", options.data.dataset},
            {"training_set", options.data.training_set},
            {"validation_set", options.data.validation_set},
            {"test_set", options.data.test_set}}},
          {"random_seed", options.random_seed},
          {"experiment_name", options.experiment_name},
          {"model_name", options.model_name},
          {"system",
           {{"blas", system.blas_kind},
            {"intra_op_threads", system.intra_op_threads},
            {"cuda_available", system.cuda_available}}}};
}

// Training data from the preprocessed cache when it matches, else preprocessed (and cached).
absl::StatusOr<preprocessing::TrainingData> PrepareData(const json& config,
                                                        const TrainOptions& options) {
  std::vector<std::string> files;
  for (const std::string* f : {&options.data.dataset, &options.data.training_set,
                               &options.data.validation_set, &options.data.test_set}) {
    if (!f->empty()) files.push_back(*f);
  }
  std::string key, prefix;
  if (!files.empty()) {
    auto cache_key = preprocessing::CacheKey(config, files, options.random_seed);
    if (cache_key.ok()) {
      key = *cache_key;
      prefix = preprocessing::CachePrefix(files.front());
      if (auto cached = preprocessing::LoadCache(prefix, key)) {
        if (options.log) options.log("using preprocessed data from " + prefix + ".meta.json\n");
        return std::move(*cached);
      }
    }
  }
  TRISTAGE_ASSIGN_OR_RETURN(preprocessing::DatasetSplits splits,
                            LoadSplits(config, options.data, options.random_seed));
  TRISTAGE_ASSIGN_OR_RETURN(preprocessing::TrainingData data,
                            preprocessing::BuildTrainingData(config, splits));
  if (!key.empty() && !options.skip_save_processed_input) {
    absl::Status saved = preprocessing::SaveCache(prefix, key, data);
    if (!saved.ok() && options.log) {
      options.log(absl::StrCat("not caching preprocessed data: ", saved.message(), "\n"));
    }
  }
  return data;
}

// Every output feature's user-facing columns, in config order.
absl::StatusOr<data::Table> PostprocessOutputs(const json& config, const json& metadata,
                                               const training::Outputs& outputs) {
  data::Table predictions;
  for (const json& feature : config.at("output_features")) {
    const std::string name = feature.at("name");
    const features::FeatureType* type = features::FindFeatureType(feature.at("type"));
    auto found = outputs.find(name);
    if (type == nullptr || found == outputs.end()) {
      return absl::InternalError(absl::StrCat("no model outputs for feature '", name, "'"));
    }
    TRISTAGE_ASSIGN_OR_RETURN(
        features::NamedColumns columns,
        type->Postprocess(feature, metadata.value(name, json::object()), found->second));
    for (auto& [column_name, column] : columns) {
      TRISTAGE_RETURN_IF_ERROR(predictions.AddColumn(column_name, std::move(column)));
    }
  }
  return predictions;
}

// training_statistics.json as Ludwig (0.8 on) writes it: the series plus how often they were
// evaluated ({"frequency": 1.0, "period": "epoch"}; steps_per_checkpoint N: every N steps;
// checkpoints_per_epoch K: every 1/K epoch), which Ludwig's visualizations read for their x axis.
json WithEvaluationFrequency(json statistics, const json& config) {
  const json trainer = config.value("trainer", json::object());
  const auto positive = [&trainer](const char* key) {
    return trainer.contains(key) && trainer[key].is_number() && trainer[key].get<double>() > 0;
  };
  json frequency = {{"frequency", 1.0}, {"period", "epoch"}};
  if (positive("steps_per_checkpoint")) {
    frequency = {{"frequency", trainer["steps_per_checkpoint"].get<double>()}, {"period", "step"}};
  } else if (positive("checkpoints_per_epoch")) {
    frequency = {{"frequency", 1.0 / trainer["checkpoints_per_epoch"].get<double>()},
                 {"period", "epoch"}};
  }
  statistics["evaluation_frequency"] = std::move(frequency);
  return statistics;
}

// A distributed run's data: rank 0 prepares it (from the cache or the files) and sends it; the
// others wait for word on the store (preprocessing may take long), then receive it.
absl::StatusOr<preprocessing::TrainingData> ShareData(const json& config,
                                                      const TrainOptions& options,
                                                      distributed::ProcessGroup& group) {
  constexpr char kReady[] = "tristage/data";
  if (group.rank() == 0) {
    absl::StatusOr<preprocessing::TrainingData> data = PrepareData(config, options);
    TRISTAGE_RETURN_IF_ERROR(group.Publish(
        kReady, data.ok() ? "ok" : absl::StrCat("error: ", data.status().message())));
    if (!data.ok()) return data.status();
    TRISTAGE_RETURN_IF_ERROR(
        group.BroadcastBytes(preprocessing::EncodeTrainingData(*data), "sending the preprocessed data")
            .status());
    return data;
  }
  // Preprocessing a large file can outlast the collective timeout; an hour at least.
  const auto wait = std::chrono::seconds(std::max(options.world.timeout_seconds, 3600));
  TRISTAGE_ASSIGN_OR_RETURN(
      std::string word, group.Await(kReady, wait, "waiting for rank 0 to preprocess the data"));
  if (word != "ok") {
    // Aborted: this rank fails because another did (the launcher blames rank 0).
    return absl::AbortedError(
        absl::StrCat(group.Name(), ": rank 0 could not prepare the data: ", word.substr(7)));
  }
  TRISTAGE_ASSIGN_OR_RETURN(std::string bytes,
                            group.BroadcastBytes("", "receiving the preprocessed data"));
  return preprocessing::DecodeTrainingData(bytes);
}

}  // namespace

struct Model::State {
  json config;
  uint64_t random_seed = 42;  // of the training run, for SelectSplit
  json metadata = json::object();
  std::optional<torch::jit::Module> module;
  // Set by Train for Experiment: the processed splits it trained on.
  std::optional<preprocessing::TrainingData> data;
};

Model::Model(std::unique_ptr<State> state) : state_(std::move(state)) {}
Model::~Model() = default;

const json& Model::config() const {
  return state_->config;
}
const json& Model::training_set_metadata() const {
  return state_->metadata;
}
bool Model::trained() const {
  return state_->module.has_value();
}

absl::StatusOr<std::unique_ptr<Model>> Model::FromConfig(const json& user_config) {
  auto state = std::make_unique<State>();
  TRISTAGE_ASSIGN_OR_RETURN(state->config, config::ResolveConfig(user_config));
  return std::unique_ptr<Model>(new Model(std::move(state)));
}

absl::StatusOr<std::unique_ptr<Model>> Model::Load(const std::string& path) {
  fs::path dir(path);
  if (!fs::exists(dir / kHyperparameters) && fs::exists(dir / "model" / kHyperparameters)) {
    dir /= "model";
  }
  if (!fs::is_directory(dir)) {
    return absl::NotFoundError(absl::StrCat("no model directory at '", path, "'"));
  }
  auto state = std::make_unique<State>();
  TRISTAGE_ASSIGN_OR_RETURN(state->config, ReadJsonFile(dir / kHyperparameters));
  TRISTAGE_ASSIGN_OR_RETURN(state->metadata, ReadJsonFile(dir / kMetadata));
  try {
    state->module = torch::jit::load((dir / kWeights).string());
  } catch (const std::exception& e) {
    return absl::DataLossError(
        absl::StrCat("cannot load ", (dir / kWeights).string(), ": ", e.what()));
  }
  state->module->eval();
  if (auto progress = ReadJsonFile(dir / "training_progress.json"); progress.ok()) {
    state->random_seed = progress->value("random_seed", uint64_t{42});
  }
  return std::unique_ptr<Model>(new Model(std::move(state)));
}

absl::Status Model::Save(const std::string& model_directory) const {
  if (!trained()) return absl::FailedPreconditionError("the model has not been trained");
  const fs::path dir(model_directory);
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec)
    return absl::InternalError(absl::StrCat("cannot create ", dir.string(), ": ", ec.message()));
  TRISTAGE_RETURN_IF_ERROR(WriteJsonFile((dir / kHyperparameters).string(), state_->config));
  TRISTAGE_RETURN_IF_ERROR(WriteJsonFile((dir / kMetadata).string(), state_->metadata));
  try {
    state_->module->save((dir / kWeights).string());
  } catch (const std::exception& e) {
    return absl::InternalError(
        absl::StrCat("cannot write ", (dir / kWeights).string(), ": ", e.what()));
  }
  return absl::OkStatus();
}

absl::StatusOr<TrainResults> Model::Train(const TrainOptions& given) {
  std::unique_ptr<distributed::ProcessGroup> group;
  if (given.world.distributed()) {
    TRISTAGE_ASSIGN_OR_RETURN(group, distributed::ProcessGroup::Join(given.world));
  }
  const bool leader = group == nullptr || group->rank() == 0;
  TrainOptions options = given;
  if (!leader) {  // rank 0 speaks for the run
    options.log = nullptr;
    options.job_events = nullptr;
    options.on_epoch_end = nullptr;
  }
  TrainResults results;
  const bool resume = !options.model_resume_path.empty();
  fs::path run = resume                           ? fs::path(options.model_resume_path)
                 : !options.run_directory.empty() ? fs::path(options.run_directory)
                                                  : NewRunDirectory(options);
  if (resume && run.filename() == "model") run = run.parent_path();
  if (leader && resume && !fs::exists(run / "model" / "training_checkpoints" / "latest.json")) {
    return absl::NotFoundError(absl::StrCat("--model_resume_path: no checkpoint under '",
                                            (run / "model" / "training_checkpoints").string(),
                                            "'"));
  }
  if (leader) {
    std::error_code ec;
    fs::create_directories(run / "model", ec);
    if (ec)
      return absl::InternalError(absl::StrCat("cannot create ", run.string(), ": ", ec.message()));
    // Written first (as Ludwig does), so that an interrupted run can be resumed from the CLI,
    // which reads the config back from here; Save rewrites it with "auto" values resolved.
    if (!resume && !options.skip_save_progress) {
      TRISTAGE_RETURN_IF_ERROR(
          WriteJsonFile((run / "model" / kHyperparameters).string(), state_->config));
    }
  }
  if (group != nullptr) {  // the others learn where rank 0 writes; they never write there
    TRISTAGE_ASSIGN_OR_RETURN(
        std::string where, group->BroadcastBytes(run.string(), "agreeing on the run directory"));
    run = where;
  }
  results.run_directory = run.string();
  results.model_directory = (run / "model").string();

  preprocessing::TrainingData data;
  if (group != nullptr) {
    TRISTAGE_ASSIGN_OR_RETURN(data, ShareData(state_->config, options, *group));
  } else {
    TRISTAGE_ASSIGN_OR_RETURN(data, PrepareData(state_->config, options));
  }
  state_->metadata = data.metadata;
  if (options.log) {
    options.log(absl::StrCat("training on ", data.training.num_rows, " rows, validating on ",
                             data.validation.num_rows, ", testing on ", data.test.num_rows, "\n"));
    if (group != nullptr) {
      const json& trainer_section = state_->config["trainer"];
      options.log(absl::StrCat(
          "distributed: ", group->size(),
          " workers (torch.distributed, Gloo); each trains on its share of the rows, "
          "trainer.batch_size rows per worker per step; learning rate ",
          trainer_section.value("learning_rate", 0.001), " scaled to ",
          training::ScaledLearningRate(state_->config, group->size()), " (learning_rate_scaling: ",
          trainer_section.value("learning_rate_scaling", std::string("linear")), ")\n"));
    }
  }
  torch::manual_seed(options.random_seed);
  TRISTAGE_ASSIGN_OR_RETURN(torch::jit::Module module,
                            model::BuildEcd(state_->config, state_->metadata));
  training::TrainerOptions trainer;
  trainer.random_seed = options.random_seed;
  if (!options.skip_save_progress) {
    trainer.checkpoint_dir = (run / "model" / "training_checkpoints").string();
  }
  trainer.resume = resume;
  trainer.on_progress = ProgressReporter(options, state_->config);
  trainer.should_stop = options.should_stop;
  trainer.group = group.get();
  if (options.on_epoch_end) {
    trainer.continue_after_epoch = [&options](const training::ProgressEvent& event) {
      return options.on_epoch_end(event.epoch, event.metrics);
    };
  }
  TRISTAGE_ASSIGN_OR_RETURN(training::TrainResult trained,
                            training::Train(module, state_->config, data, trainer));
  state_->module = std::move(module);
  state_->config["trainer"]["batch_size"] = trained.batch_size;
  results.training_statistics = trained.training_statistics;
  results.progress = trained.progress;
  results.progress["random_seed"] = options.random_seed;
  if (group != nullptr) {
    results.progress["distributed"] = {
        {"world_size", group->size()},
        {"batch_size_per_step", trained.batch_size * group->size()},
        {"allreduce_exposed_seconds", trained.allreduce_exposed_seconds}};
  }
  state_->random_seed = options.random_seed;
  state_->data = std::move(data);
  if (!leader) return results;  // rank 0 writes the run directory

  if (!options.skip_save_model) TRISTAGE_RETURN_IF_ERROR(Save(results.model_directory));
  if (!options.skip_save_progress) {
    TRISTAGE_RETURN_IF_ERROR(
        WriteJsonFile((run / "model" / "training_progress.json").string(), results.progress));
  }
  if (!options.skip_save_training_statistics) {
    TRISTAGE_RETURN_IF_ERROR(WriteJsonFile((run / "training_statistics.json").string(),
                                           WithEvaluationFrequency(trained.training_statistics,
                                                                   state_->config)));
  }
  if (!options.skip_save_training_description) {
    TRISTAGE_RETURN_IF_ERROR(
        WriteJsonFile((run / "description.json").string(), Description(options, state_->config)));
  }
  return results;
}

absl::StatusOr<ExperimentResults> Model::Experiment(const TrainOptions& options,
                                                    const ExperimentOptions& experiment) {
  ExperimentResults results;
  TRISTAGE_ASSIGN_OR_RETURN(results.train, Train(options));
  if (options.world.distributed() && options.world.rank != 0) return results;  // rank 0 evaluates
  const preprocessing::TrainingData& data = *state_->data;
  const preprocessing::ProcessedSplit* split = &data.test;
  if (experiment.eval_split == "training") split = &data.training;
  if (experiment.eval_split == "validation") split = &data.validation;
  if (split->num_rows == 0) {
    if (options.log)
      options.log("no rows in the " + experiment.eval_split + " split; skipping evaluation\n");
    return results;
  }
  TRISTAGE_ASSIGN_OR_RETURN(
      training::Evaluation evaluation,
      training::Evaluate(*state_->module, state_->config, state_->metadata, *split, 1024,
                         !experiment.skip_collect_overall_stats));
  results.evaluation.test_statistics = evaluation.statistics;
  if (!experiment.skip_save_eval_stats) {
    TRISTAGE_RETURN_IF_ERROR(
        WriteJsonFile((fs::path(results.train.run_directory) / "test_statistics.json").string(),
                      evaluation.statistics));
  }
  if (!experiment.skip_collect_predictions) {
    TRISTAGE_ASSIGN_OR_RETURN(
        data::Table predictions,
        PostprocessOutputs(state_->config, state_->metadata, evaluation.outputs));
    if (!experiment.skip_save_predictions) {
      TRISTAGE_RETURN_IF_ERROR(
          WritePredictions(state_->config, predictions, results.train.run_directory));
    }
    results.evaluation.predictions = std::move(predictions);
  }
  return results;
}

absl::Status Model::TrainOnline(const data::Table& table, int64_t batch_size) {
  if (!trained()) return absl::FailedPreconditionError("the model has not been trained");
  preprocessing::TrainingData data;
  data.metadata = state_->metadata;
  TRISTAGE_ASSIGN_OR_RETURN(
      data.training, preprocessing::TransformTable(state_->config, state_->metadata, table, true));
  json config = state_->config;
  config["trainer"]["epochs"] = 1;
  config["trainer"]["train_steps"] = nullptr;
  config["trainer"]["batch_size"] = batch_size;
  training::TrainerOptions options;
  options.random_seed = state_->random_seed;
  TRISTAGE_ASSIGN_OR_RETURN(training::TrainResult ignored,
                            training::Train(*state_->module, config, data, options));
  (void)ignored;
  return absl::OkStatus();
}

absl::StatusOr<data::Table> Model::SelectSplit(const data::Table& table,
                                               const std::string& split) const {
  if (split == "full") return table;
  TRISTAGE_ASSIGN_OR_RETURN(
      preprocessing::DatasetSplits splits,
      preprocessing::SplitDataset(state_->config, table, state_->random_seed));
  if (split == "training") return splits.training;
  if (split == "validation") return *splits.validation;
  if (split == "test") return *splits.test;
  return absl::InvalidArgumentError(absl::StrCat(
      "--split: unknown split '", split, "' (choose from full, training, validation, test)"));
}

absl::StatusOr<EvaluateResults> Model::Evaluate(const data::Table& table,
                                                const EvaluateOptions& options) {
  if (!trained()) return absl::FailedPreconditionError("the model has not been trained");
  TRISTAGE_ASSIGN_OR_RETURN(
      preprocessing::ProcessedSplit split,
      preprocessing::TransformTable(state_->config, state_->metadata, table, true));
  TRISTAGE_ASSIGN_OR_RETURN(
      training::Evaluation evaluation,
      training::Evaluate(*state_->module, state_->config, state_->metadata, split,
                         options.batch_size, options.collect_overall_stats));
  EvaluateResults results;
  results.test_statistics = evaluation.statistics;
  if (options.collect_predictions) {
    TRISTAGE_ASSIGN_OR_RETURN(
        results.predictions,
        PostprocessOutputs(state_->config, state_->metadata, evaluation.outputs));
  }
  return results;
}

absl::StatusOr<data::Table> Model::Predict(const data::Table& table, int64_t batch_size) {
  if (!trained()) return absl::FailedPreconditionError("the model has not been trained");
  TRISTAGE_ASSIGN_OR_RETURN(
      preprocessing::ProcessedSplit split,
      preprocessing::TransformTable(state_->config, state_->metadata, table, false));
  TRISTAGE_ASSIGN_OR_RETURN(training::Outputs outputs,
                            training::RunModel(*state_->module, state_->config, split, batch_size));
  return PostprocessOutputs(state_->config, state_->metadata, outputs);
}

absl::StatusOr<std::unique_ptr<exporting::InferenceModule>> Model::ToTorchscript(
    const std::string& device) const {
  if (!trained()) return absl::FailedPreconditionError("the model has not been trained");
  TRISTAGE_ASSIGN_OR_RETURN(
      exporting::InferenceStages stages,
      exporting::BuildStages(state_->config, state_->metadata, *state_->module, device));
  return std::make_unique<exporting::InferenceModule>(
      std::make_unique<exporting::InferenceStages>(std::move(stages)));
}

absl::Status Model::SaveTorchscript(const std::string& path, bool model_only,
                                    const std::string& device) const {
  TRISTAGE_ASSIGN_OR_RETURN(std::unique_ptr<exporting::InferenceModule> module,
                            ToTorchscript(device));
  TRISTAGE_RETURN_IF_ERROR(exporting::SaveStages(module->stages(), path, model_only));
  const fs::path dir(path);
  TRISTAGE_RETURN_IF_ERROR(WriteJsonFile((dir / kHyperparameters).string(), state_->config));
  return WriteJsonFile((dir / kMetadata).string(), state_->metadata);
}

json Model::Summary() const {
  json summary = {{"trained", trained()}, {"parameters", json::array()}};
  if (!trained()) return summary;
  int64_t total = 0;
  for (const auto& p : state_->module->named_parameters()) {
    summary["parameters"].push_back(
        {{"name", p.name}, {"shape", p.value.sizes().vec()}, {"count", p.value.numel()}});
    total += p.value.numel();
  }
  summary["total_parameters"] = total;
  return summary;
}

std::vector<std::pair<std::string, Model::TensorValues>> Model::Weights() const {
  std::vector<std::pair<std::string, TensorValues>> weights;
  if (!trained()) return weights;
  auto add = [&weights](const std::string& name, const torch::Tensor& tensor) {
    const torch::Tensor values = tensor.detach().to(torch::kFloat).contiguous();
    weights.push_back(
        {name,
         {values.sizes().vec(), std::vector<float>(values.data_ptr<float>(),
                                                   values.data_ptr<float>() + values.numel())}});
  };
  for (const auto& p : state_->module->named_parameters()) add(p.name, p.value);
  for (const auto& b : state_->module->named_buffers()) add(b.name, b.value);
  return weights;
}

absl::StatusOr<std::string> Model::Preprocess(const TrainOptions& options) {
  TrainOptions saving = options;
  saving.skip_save_processed_input = false;
  TRISTAGE_ASSIGN_OR_RETURN(preprocessing::TrainingData data, PrepareData(state_->config, saving));
  state_->metadata = data.metadata;
  const std::string first =
      !options.data.dataset.empty() ? options.data.dataset : options.data.training_set;
  return preprocessing::CachePrefix(first) + ".meta.json";
}

absl::StatusOr<std::vector<std::pair<std::string, Model::TensorValues>>> Model::Activations(
    const data::Table& table, const std::vector<std::string>& layers) {
  if (!trained()) return absl::FailedPreconditionError("the model has not been trained");
  TRISTAGE_ASSIGN_OR_RETURN(
      preprocessing::ProcessedSplit split,
      preprocessing::TransformTable(state_->config, state_->metadata, table, false));
  std::vector<std::pair<std::string, torch::Tensor>> all;
  try {
    torch::NoGradGuard no_grad;
    torch::jit::Module& ecd = *state_->module;
    ecd.eval();
    std::vector<torch::Tensor> encoded;
    const json& inputs = state_->config.at("input_features");
    for (size_t i = 0; i < inputs.size(); ++i) {
      const std::string name = absl::StrCat("encoder_", i);
      encoded.push_back(
          ecd.attr(name).toModule().forward({split.inputs.at(inputs[i].at("name"))}).toTensor());
      all.emplace_back(name, encoded.back());
    }
    const torch::Tensor hidden = ecd.attr("combiner").toModule().forward({encoded}).toTensor();
    all.emplace_back("combiner", hidden);
    for (size_t j = 0; j < state_->config.at("output_features").size(); ++j) {
      const std::string name = absl::StrCat("decoder_", j);
      all.emplace_back(name, ecd.attr(name).toModule().forward({hidden}).toTensor());
    }
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("running the model's layers: ", e.what()));
  }
  std::vector<std::pair<std::string, TensorValues>> out;
  std::vector<std::string> known;
  for (const auto& [name, tensor] : all) {
    known.push_back(name);
    if (!layers.empty() && std::find(layers.begin(), layers.end(), name) == layers.end()) continue;
    const torch::Tensor values = tensor.to(torch::kFloat).contiguous();
    out.push_back(
        {name,
         {values.sizes().vec(), std::vector<float>(values.data_ptr<float>(),
                                                   values.data_ptr<float>() + values.numel())}});
  }
  for (const std::string& wanted : layers) {
    if (std::find(known.begin(), known.end(), wanted) == known.end()) {
      return absl::NotFoundError(
          absl::StrCat("no layer '", wanted, "' (known: ", absl::StrJoin(known, ", "), ")"));
    }
  }
  return out;
}

absl::StatusOr<data::Table> ReadDataset(const std::string& path, const std::string& data_format) {
  TRISTAGE_ASSIGN_OR_RETURN(data::DataFormat format, data::ParseDataFormat(data_format));
  return data::ReadTable(path, format);
}

absl::Status WritePredictions(const json& config, const data::Table& predictions,
                              const std::string& directory) {
  for (const json& feature : config.at("output_features")) {
    const std::string name = feature.at("name");
    data::Table predicted, probabilities;
    for (const std::string& column : predictions.column_names()) {
      if (column.rfind(name + "_", 0) != 0) continue;
      const data::Column* values = predictions.Find(column);
      if (column == name + "_predictions") {
        TRISTAGE_RETURN_IF_ERROR(predicted.AddColumn(column, *values));
      } else if (column.rfind(name + "_probabilit", 0) == 0) {
        TRISTAGE_RETURN_IF_ERROR(probabilities.AddColumn(column, *values));
      }
    }
    const fs::path dir(directory);
    TRISTAGE_RETURN_IF_ERROR(data::WriteTable(
        predicted, (dir / (name + "_predictions.csv")).string(), data::DataFormat::kCsv));
    if (!probabilities.column_names().empty()) {
      TRISTAGE_RETURN_IF_ERROR(data::WriteTable(
          probabilities, (dir / (name + "_probabilities.csv")).string(), data::DataFormat::kCsv));
    }
  }
  return data::WriteTable(predictions, (fs::path(directory) / "predictions.csv").string(),
                          data::DataFormat::kCsv);
}

absl::Status WriteJsonFile(const std::string& path, const json& value) {
  std::ofstream out(path);
  out << Sanitize(value).dump(2) << "\n";
  out.close();
  if (!out) return absl::InternalError(absl::StrCat("cannot write '", path, "'"));
  return absl::OkStatus();
}

}  // namespace tristage
