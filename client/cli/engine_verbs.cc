// The verbs that run the engine: render_config, train, experiment, evaluate, predict,
// synthesize_dataset, collect_summary, collect_weights, init_config. Each is a thin shell over
// core's public API (core/api, core/config, core/data).
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <ostream>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "client/cli/verbs.h"
#include "client/lib/client.h"
#include "core/api/hyperopt.h"
#include "core/api/init_config.h"
#include "core/api/kfold.h"
#include "core/api/model.h"
#include "core/api/synthesize.h"
#include "core/config/config.h"
#include "core/data/io.h"
#include "core/export/values.h"

namespace tristage::cli {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

// -c/--config (file) or -cs/--config_str (YAML or JSON text).
absl::StatusOr<json> UserConfig(const ParsedFlags& flags) {
  if (auto path = flags.Get("config")) return config::LoadConfigFile(*path);
  if (auto text = flags.Get("config_str")) return config::ParseConfigText(*text);
  return absl::InvalidArgumentError("give a config with -c/--config FILE or -cs/--config_str TEXT");
}

absl::StatusOr<uint64_t> Seed(const ParsedFlags& flags) {
  uint64_t seed = 42;
  const std::string text = flags.GetOr("random_seed", "42");
  if (!absl::SimpleAtoi(text, &seed)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--random_seed: '", text, "' is not a non-negative integer"));
  }
  return seed;
}

absl::StatusOr<TrainOptions> ReadTrainOptions(const VerbContext& context) {
  const ParsedFlags& flags = context.flags;
  // Declared with Ludwig's flags so its configs and scripts parse, but not built: refused rather
  // than silently ignored.
  for (const char* unsupported : {"model_load_path", "training_set_metadata"}) {
    if (flags.Has(unsupported)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--", unsupported, " is not supported by tristage yet; train from the config instead"));
    }
  }
  TrainOptions options;
  options.data.dataset = flags.GetOr("dataset", "");
  options.data.training_set = flags.GetOr("training_set", "");
  options.data.validation_set = flags.GetOr("validation_set", "");
  options.data.test_set = flags.GetOr("test_set", "");
  options.data.data_format = flags.GetOr("data_format", "auto");
  options.output_directory = flags.GetOr("output_directory", "results");
  options.experiment_name = flags.GetOr("experiment_name", "experiment");
  options.model_name = flags.GetOr("model_name", "run");
  auto seed = Seed(flags);
  if (!seed.ok()) return seed.status();
  options.random_seed = *seed;
  options.model_resume_path = flags.GetOr("model_resume_path", "");
  options.skip_save_training_description = flags.GetBool("skip_save_training_description");
  options.skip_save_training_statistics = flags.GetBool("skip_save_training_statistics");
  options.skip_save_model = flags.GetBool("skip_save_model");
  options.skip_save_progress = flags.GetBool("skip_save_progress");
  options.skip_save_processed_input = flags.GetBool("skip_save_processed_input");
  options.progress_bar = isatty(STDERR_FILENO) != 0;
  std::ostream& err = context.err;
  options.log = [&err](const std::string& line) { err << line << std::flush; };
  return options;
}

// A flag mistake the API reports (InvalidArgument naming a --flag) exits 2 like other usage errors;
// anything else is a failure of the command (exit 1).
int FailOrUsage(const VerbContext& context, const char* verb, const absl::Status& status) {
  if (status.code() == absl::StatusCode::kInvalidArgument &&
      absl::StartsWith(status.message(), "--")) {
    return Usage(context, verb, std::string(status.message()));
  }
  return Fail(context, verb, status);
}

// A resumed run continues with the config it was trained with.
absl::StatusOr<std::unique_ptr<Model>> ModelForTraining(const ParsedFlags& flags) {
  if (auto resume = flags.Get("model_resume_path")) {
    fs::path dir(*resume);
    if (fs::exists(dir / "model")) dir /= "model";
    std::ifstream in(dir / "model_hyperparameters.json");
    if (!in)
      return absl::NotFoundError(absl::StrCat(
          "--model_resume_path: no model_hyperparameters.json in '", dir.string(), "'"));
    const json stored = json::parse(in, nullptr, /*allow_exceptions=*/false);
    if (stored.is_discarded()) {
      return absl::DataLossError(absl::StrCat("--model_resume_path: '",
                                              (dir / "model_hyperparameters.json").string(),
                                              "' is not valid JSON"));
    }
    return Model::FromConfig(stored);
  }
  auto user = UserConfig(flags);
  if (!user.ok()) return user.status();
  return Model::FromConfig(*user);
}

absl::StatusOr<data::Table> DatasetFlag(const ParsedFlags& flags) {
  auto dataset = flags.Get("dataset");
  if (!dataset.has_value()) return absl::InvalidArgumentError("--dataset FILE is required");
  return ReadDataset(*dataset, flags.GetOr("data_format", "auto"));
}

// --dataset, restricted to --split as the model's training run split it.
absl::StatusOr<data::Table> DatasetSplitFlag(const ParsedFlags& flags, const Model& model) {
  auto table = DatasetFlag(flags);
  if (!table.ok()) return table.status();
  return model.SelectSplit(*table, flags.GetOr("split", "full"));
}

absl::StatusOr<std::unique_ptr<Model>> LoadModelFlag(const ParsedFlags& flags) {
  auto path = flags.Get("model_path");
  if (!path.has_value()) return absl::InvalidArgumentError("-m/--model_path DIR is required");
  return Model::Load(*path);
}

absl::Status MakeDirectory(const std::string& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return absl::InternalError(absl::StrCat("cannot create '", dir, "': ", ec.message()));
  return absl::OkStatus();
}

absl::Status WriteText(const std::string& path, const std::string& text) {
  std::ofstream out(path);
  out << text;
  out.close();
  if (!out) return absl::InternalError(absl::StrCat("cannot write '", path, "'"));
  return absl::OkStatus();
}

// Writes a little-endian float32 .npy file (NumPy format 1.0).
absl::Status WriteNpy(const std::string& path, const std::vector<int64_t>& shape,
                      const std::vector<float>& values) {
  std::string dims;
  for (int64_t d : shape) absl::StrAppend(&dims, d, ",");
  if (shape.size() > 1) dims.pop_back();
  std::string header =
      absl::StrCat("{'descr': '<f4', 'fortran_order': False, 'shape': (", dims, "), }");
  header.append(64 - (10 + header.size() + 1) % 64, ' ');
  header += '\n';
  std::ofstream out(path, std::ios::binary);
  out.write("\x93NUMPY\x01\x00", 8);
  const uint16_t length = static_cast<uint16_t>(header.size());
  out.put(static_cast<char>(length & 0xff)).put(static_cast<char>(length >> 8));
  out << header;
  out.write(reinterpret_cast<const char*>(values.data()),
            static_cast<std::streamsize>(values.size() * sizeof(float)));
  if (!out) return absl::InternalError(absl::StrCat("cannot write '", path, "'"));
  return absl::OkStatus();
}

}  // namespace

int RunRenderConfig(const VerbContext& context) {
  auto user = UserConfig(context.flags);
  if (!user.ok()) return Usage(context, "render_config", std::string(user.status().message()));
  auto resolved = config::ResolveConfig(*user);
  if (!resolved.ok()) return Fail(context, "render_config", resolved.status());
  const std::string output = context.flags.GetOr("output", "");
  const std::string text = absl::EndsWith(output, ".json")
                               ? config::RenderConfigJson(*resolved) + "\n"
                               : config::RenderConfigYaml(*resolved);
  if (output.empty()) {
    context.out << text;
    return kExitOk;
  }
  std::ofstream out(output);
  out << text;
  out.close();
  if (!out)
    return Fail(context, "render_config", absl::InternalError("cannot write '" + output + "'"));
  return kExitOk;
}

int RunTrain(const VerbContext& context) {
  if (context.flags.Has("server")) return RunRemoteJob(context, "train");
  auto options = ReadTrainOptions(context);
  if (!options.ok()) return Usage(context, "train", std::string(options.status().message()));
  auto model = ModelForTraining(context.flags);
  if (!model.ok()) return Fail(context, "train", model.status());
  auto results = (*model)->Train(*options);
  if (!results.ok()) return Fail(context, "train", results.status());
  context.out << "model saved to " << results->model_directory << "\n";
  return kExitOk;
}

namespace {

// experiment --k_fold K: Ludwig's k-fold cross validation over --dataset. Flag mistakes (bad K,
// no --dataset) exit 2 like other usage errors; a failing fold exits 1.
int RunKfold(const VerbContext& context, const TrainOptions& train,
             const ExperimentOptions& experiment) {
  KfoldOptions options;
  const std::string folds = context.flags.GetOr("k_fold", "");
  if (!absl::SimpleAtoi(folds, &options.num_folds)) {
    return Usage(context, "experiment",
                 absl::StrCat("--k_fold: '", folds, "' is not an integer number of folds"));
  }
  options.train = train;
  options.experiment = experiment;
  options.skip_save_k_fold_split_indices = context.flags.GetBool("skip_save_k_fold_split_indices");
  auto user = UserConfig(context.flags);
  if (!user.ok()) return Usage(context, "experiment", std::string(user.status().message()));
  auto results = KfoldCrossValidate(*user, options);
  if (!results.ok()) return FailOrUsage(context, "experiment", results.status());
  context.out << options.num_folds << "-fold cross validation statistics saved to "
              << results->statistics_path << "\n";
  if (!results->split_indices_path.empty()) {
    context.out << "fold split indices saved to " << results->split_indices_path << "\n";
  }
  for (size_t i = 0; i < results->fold_run_directories.size(); ++i) {
    context.out << "fold " << i + 1 << " results saved to " << results->fold_run_directories[i]
                << "\n";
  }
  return kExitOk;
}

}  // namespace

int RunExperiment(const VerbContext& context) {
  if (context.flags.Has("server")) return RunRemoteJob(context, "experiment");
  auto options = ReadTrainOptions(context);
  if (!options.ok()) return Usage(context, "experiment", std::string(options.status().message()));
  ExperimentOptions experiment;
  experiment.eval_split = context.flags.GetOr("eval_split", "test");
  experiment.skip_save_predictions = context.flags.GetBool("skip_save_predictions");
  experiment.skip_save_eval_stats = context.flags.GetBool("skip_save_eval_stats");
  experiment.skip_collect_predictions = context.flags.GetBool("skip_collect_predictions");
  experiment.skip_collect_overall_stats = context.flags.GetBool("skip_collect_overall_stats");
  if (context.flags.Has("k_fold")) return RunKfold(context, *options, experiment);
  auto model = ModelForTraining(context.flags);
  if (!model.ok()) return Fail(context, "experiment", model.status());
  auto results = (*model)->Experiment(*options, experiment);
  if (!results.ok()) return Fail(context, "experiment", results.status());
  context.out << "results saved to " << results->train.run_directory << "\n";
  return kExitOk;
}

int RunEvaluate(const VerbContext& context) {
  if (context.flags.Has("server")) return RunRemoteJob(context, "evaluate");
  auto model = LoadModelFlag(context.flags);
  if (!model.ok()) return Fail(context, "evaluate", model.status());
  auto table = DatasetSplitFlag(context.flags, **model);
  if (!table.ok()) return Fail(context, "evaluate", table.status());
  EvaluateOptions options;
  options.collect_predictions = !context.flags.GetBool("skip_collect_predictions");
  options.collect_overall_stats = !context.flags.GetBool("skip_collect_overall_stats");
  auto results = (*model)->Evaluate(*table, options);
  if (!results.ok()) return Fail(context, "evaluate", results.status());
  const std::string dir = context.flags.GetOr("output_directory", "results");
  if (absl::Status s = MakeDirectory(dir); !s.ok()) return Fail(context, "evaluate", s);
  if (!context.flags.GetBool("skip_save_eval_stats")) {
    absl::Status s =
        WriteJsonFile((fs::path(dir) / "test_statistics.json").string(), results->test_statistics);
    if (!s.ok()) return Fail(context, "evaluate", s);
  }
  if (options.collect_predictions && !context.flags.GetBool("skip_save_predictions")) {
    absl::Status s = WritePredictions((*model)->config(), results->predictions, dir);
    if (!s.ok()) return Fail(context, "evaluate", s);
  }
  context.out << results->test_statistics.dump(2) << "\n";
  return kExitOk;
}

// Writes predict's files (unless --skip_save_predictions) into --output_directory and reports.
int SavePredictions(const VerbContext& context, const json& config, const data::Table& predictions,
                    const std::string& source) {
  const std::string dir = context.flags.GetOr("output_directory", "results");
  if (absl::Status s = MakeDirectory(dir); !s.ok()) return Fail(context, "predict", s);
  if (!context.flags.GetBool("skip_save_predictions")) {
    absl::Status s = WritePredictions(config, predictions, dir);
    if (!s.ok()) return Fail(context, "predict", s);
  }
  context.out << "predictions for " << predictions.num_rows() << " rows" << source << " saved to "
              << dir << "\n";
  return kExitOk;
}

// predict --torchscript DIR: the exported stages instead of the model directory.
int RunPredictTorchscript(const VerbContext& context) {
  if (context.flags.Has("model_path")) {
    return Usage(context, "predict", "give -m/--model_path or --torchscript, not both");
  }
  if (context.flags.GetOr("split", "full") != "full") {
    return Usage(context, "predict",
                 "--split needs -m/--model_path (the split is the training run's); "
                 "--torchscript predicts the whole dataset");
  }
  auto module = exporting::InferenceModule::FromDirectory(*context.flags.Get("torchscript"));
  if (!module.ok()) return Fail(context, "predict", module.status());
  auto table = DatasetFlag(context.flags);
  if (!table.ok()) return Fail(context, "predict", table.status());
  auto predictions = (*module)->Predict(*table);
  if (!predictions.ok()) return Fail(context, "predict", predictions.status());
  return SavePredictions(context, (*module)->config(), *predictions, "");
}

exporting::OutputValues FromProto(const tristage::v1::OutputFeature& out) {
  exporting::OutputValues values;
  values.type = out.type();
  values.labels.assign(out.labels().begin(), out.labels().end());
  values.numbers.assign(out.numbers().begin(), out.numbers().end());
  for (const auto& row : out.vectors())
    values.vectors.emplace_back(row.values().begin(), row.values().end());
  for (const auto& row : out.items())
    values.items.emplace_back(row.values().begin(), row.values().end());
  values.class_names.assign(out.class_names().begin(), out.class_names().end());
  values.probabilities.assign(out.probabilities().begin(), out.probabilities().end());
  for (const auto& row : out.item_probabilities()) {
    values.item_probabilities.emplace_back(row.values().begin(), row.values().end());
  }
  values.probability.assign(out.probability().begin(), out.probability().end());
  return values;
}

// predict --server ADDR --model NAME: the same files, from a running daemon.
int RunPredictServer(const VerbContext& context) {
  const std::string model = context.flags.GetOr("model", "");
  if (model.empty()) return Usage(context, "predict", "--server needs --model NAME");
  if (context.flags.Has("model_path") || context.flags.Has("torchscript")) {
    return Usage(context, "predict", "give one of -m/--model_path, --torchscript, --server");
  }
  client::TristageClient::Options options;
  options.timeout = absl::Seconds(120);
  auto client = client::TristageClient::Create(*context.flags.Get("server"), options);
  if (!client.ok()) return Fail(context, "predict", client.status());
  const std::string version = context.flags.GetOr("model_version", "");
  auto metadata = (*client)->ModelMetadata(model, version);
  if (!metadata.ok()) return Fail(context, "predict", metadata.status());
  auto table = DatasetFlag(context.flags);
  if (!table.ok()) return Fail(context, "predict", table.status());
  const int64_t rows = table->num_rows();
  const int64_t step = std::max<int64_t>(1, metadata->max_batch_size());
  std::vector<exporting::OutputMap> parts;
  for (int64_t begin = 0; begin < rows; begin += step) {
    const int64_t end = std::min(rows, begin + step);
    tristage::v1::PredictRequest request;
    request.set_model_name(model);
    request.set_model_version(metadata->model_version());
    for (const tristage::v1::ModelInput& input : metadata->inputs()) {
      auto column = table->Get(input.column());
      if (!column.ok()) return Fail(context, "predict", column.status());
      auto* values = (*request.mutable_inputs())[input.name()].mutable_strings()->mutable_values();
      for (int64_t row = begin; row < end; ++row) values->Add(std::string((*column)->values[row]));
    }
    auto response = (*client)->Predict(request);
    if (!response.ok()) {
      return Fail(
          context, "predict",
          absl::Status(response.status().code(), absl::StrCat("rows ", begin, "-", end - 1, ": ",
                                                              response.status().message())));
    }
    exporting::OutputMap part;
    for (const tristage::v1::ModelOutput& output : metadata->outputs()) {
      auto found = response->outputs().find(output.name());
      if (found == response->outputs().end()) {
        return Fail(context, "predict",
                    absl::InternalError(absl::StrCat("no output '", output.name(), "'")));
      }
      part.emplace_back(output.name(), FromProto(found->second));
    }
    parts.push_back(std::move(part));
  }
  auto predictions = exporting::PredictionsTable(exporting::ConcatOutputs(parts));
  if (!predictions.ok()) return Fail(context, "predict", predictions.status());
  json config = {{"output_features", json::array()}};
  for (const tristage::v1::ModelOutput& output : metadata->outputs()) {
    config["output_features"].push_back({{"name", output.name()}, {"type", output.type()}});
  }
  return SavePredictions(context, config, *predictions,
                         absl::StrCat(" from ", model, " version ", metadata->model_version()));
}

int RunPredict(const VerbContext& context) {
  if (context.flags.Has("server")) return RunPredictServer(context);
  if (context.flags.Has("torchscript")) return RunPredictTorchscript(context);
  auto model = LoadModelFlag(context.flags);
  if (!model.ok()) return Fail(context, "predict", model.status());
  auto table = DatasetSplitFlag(context.flags, **model);
  if (!table.ok()) return Fail(context, "predict", table.status());
  int64_t batch_size = 128;
  if (!absl::SimpleAtoi(context.flags.GetOr("batch_size", "128"), &batch_size) || batch_size <= 0) {
    return Usage(context, "predict", "--batch_size must be a positive integer");
  }
  auto predictions = (*model)->Predict(*table, batch_size);
  if (!predictions.ok()) return Fail(context, "predict", predictions.status());
  return SavePredictions(context, (*model)->config(), *predictions, "");
}

int RunExportTorchscript(const VerbContext& context) {
  auto model = LoadModelFlag(context.flags);
  if (!model.ok()) return Fail(context, "export_torchscript", model.status());
  std::string output = context.flags.GetOr("output_path", "");
  if (output.empty()) {
    // Ludwig's default: beside the model's files.
    const fs::path path(*context.flags.Get("model_path"));
    output = (fs::exists(path / "model" / "model_hyperparameters.json") ? path / "model" : path)
                 .string();
  }
  const bool model_only = context.flags.GetBool("model_only");
  absl::Status saved =
      (*model)->SaveTorchscript(output, model_only, context.flags.GetOr("device", "cpu"));
  if (!saved.ok()) return Fail(context, "export_torchscript", saved);
  context.out << (model_only ? "predictor" : "preprocessor, predictor and postprocessor")
              << " saved to " << output << "\n";
  return kExitOk;
}

int RunSynthesizeDataset(const VerbContext& context) {
  json features;
  if (auto text = context.flags.Get("features")) {
    auto parsed = config::ParseConfigText(*text);
    if (!parsed.ok()) return Fail(context, "synthesize_dataset", parsed.status());
    features = *parsed;
  } else if (context.flags.Has("config")) {
    auto parsed = config::LoadConfigFile(*context.flags.Get("config"));
    if (!parsed.ok()) return Fail(context, "synthesize_dataset", parsed.status());
    features = *parsed;
  } else {
    return Usage(context, "synthesize_dataset", "give -f/--features or -c/--config");
  }
  SynthesizeOptions options;
  if (!absl::SimpleAtoi(context.flags.GetOr("dataset_size", "100"), &options.rows) ||
      options.rows <= 0) {
    return Usage(context, "synthesize_dataset", "--dataset_size must be a positive integer");
  }
  auto table = SynthesizeDataset(features, options);
  if (!table.ok()) return Fail(context, "synthesize_dataset", table.status());
  const std::string path = context.flags.GetOr("output_path", "synthetic_data.csv");
  absl::Status written = data::WriteTable(*table, path);
  if (!written.ok()) return Fail(context, "synthesize_dataset", written);
  context.out << table->num_rows() << " rows written to " << path << "\n";
  return kExitOk;
}

int RunCollectSummary(const VerbContext& context) {
  auto model = LoadModelFlag(context.flags);
  if (!model.ok()) return Fail(context, "collect_summary", model.status());
  const json summary = (*model)->Summary();
  context.out << "parameters:\n";
  for (const json& p : summary["parameters"]) {
    context.out << "  " << p["name"].get<std::string>() << " " << p["shape"].dump() << " "
                << p["count"] << "\n";
  }
  context.out << "total parameters: " << summary.value("total_parameters", 0) << "\n";
  return kExitOk;
}

int RunCollectWeights(const VerbContext& context) {
  auto model = LoadModelFlag(context.flags);
  if (!model.ok()) return Fail(context, "collect_weights", model.status());
  const std::vector<std::string> wanted = context.flags.GetList("tensors");
  const std::string dir = context.flags.GetOr("output_directory", "results");
  if (absl::Status s = MakeDirectory(dir); !s.ok()) return Fail(context, "collect_weights", s);
  auto tensors = (*model)->Weights();
  int written = 0;
  for (const auto& [name, tensor] : tensors) {
    if (!wanted.empty() && std::find(wanted.begin(), wanted.end(), name) == wanted.end()) continue;
    absl::Status s =
        WriteNpy((fs::path(dir) / (name + ".npy")).string(), tensor.shape, tensor.values);
    if (!s.ok()) return Fail(context, "collect_weights", s);
    ++written;
  }
  if (written == 0 && !wanted.empty()) {
    return Fail(
        context, "collect_weights",
        absl::NotFoundError("none of the --tensors names a model tensor; see collect_summary"));
  }
  context.out << written << " tensors written to " << dir << "\n";
  return kExitOk;
}

int RunPreprocess(const VerbContext& context) {
  json user;
  if (auto path = context.flags.Get("preprocessing_config")) {
    auto parsed = config::LoadConfigFile(*path);
    if (!parsed.ok()) return Fail(context, "preprocess", parsed.status());
    user = *parsed;
  } else if (auto text = context.flags.Get("preprocessing_config_str")) {
    auto parsed = config::ParseConfigText(*text);
    if (!parsed.ok()) return Fail(context, "preprocess", parsed.status());
    user = *parsed;
  } else {
    return Usage(context, "preprocess", "give -pc/--preprocessing_config FILE or -pcs TEXT");
  }
  auto options = ReadTrainOptions(context);
  if (!options.ok()) return Usage(context, "preprocess", std::string(options.status().message()));
  auto model = Model::FromConfig(user);
  if (!model.ok()) return Fail(context, "preprocess", model.status());
  auto written = (*model)->Preprocess(*options);
  if (!written.ok()) return Fail(context, "preprocess", written.status());
  context.out << "preprocessed data and training set metadata written to " << *written << "\n";
  return kExitOk;
}

int RunInitConfig(const VerbContext& context) {
  auto table = DatasetFlag(context.flags);
  if (!table.ok()) return Fail(context, "init_config", table.status());
  auto inferred = InferConfig(*table, context.flags.GetList("target"));
  if (!inferred.ok()) return Fail(context, "init_config", inferred.status());
  const std::string text = config::RenderConfigYaml(*inferred);
  const std::string output = context.flags.GetOr("output", "");
  if (output.empty()) {
    context.out << text;
    return kExitOk;
  }
  if (absl::Status s = WriteText(output, text); !s.ok()) return Fail(context, "init_config", s);
  return kExitOk;
}

int RunCollectActivations(const VerbContext& context) {
  auto model = LoadModelFlag(context.flags);
  if (!model.ok()) return Fail(context, "collect_activations", model.status());
  auto table = DatasetSplitFlag(context.flags, **model);
  if (!table.ok()) return Fail(context, "collect_activations", table.status());
  auto activations = (*model)->Activations(*table, context.flags.GetList("layers"));
  if (!activations.ok()) return Fail(context, "collect_activations", activations.status());
  const std::string dir = context.flags.GetOr("output_directory", "results");
  if (absl::Status s = MakeDirectory(dir); !s.ok()) return Fail(context, "collect_activations", s);
  for (const auto& [name, tensor] : *activations) {
    absl::Status s =
        WriteNpy((fs::path(dir) / (name + ".npy")).string(), tensor.shape, tensor.values);
    if (!s.ok()) return Fail(context, "collect_activations", s);
  }
  context.out << activations->size() << " activations written to " << dir << "\n";
  return kExitOk;
}

}  // namespace tristage::cli

namespace tristage::cli {

int RunHyperopt(const VerbContext& context) {
  if (context.flags.Has("server")) {
    if (context.flags.Has("resume")) {
      return Usage(context, "hyperopt", "--resume is not available with --server");
    }
    return RunRemoteJob(context, "hyperopt");
  }
  auto train = ReadTrainOptions(context);
  if (!train.ok()) return Usage(context, "hyperopt", std::string(train.status().message()));
  HyperoptOptions options;
  options.train = *std::move(train);
  if (!context.flags.Has("experiment_name")) options.train.experiment_name = "hyperopt";
  options.train.progress_bar = false;  // trials log whole lines, interleaved
  options.skip_save_hyperopt_statistics = context.flags.GetBool("skip_save_hyperopt_statistics");
  const std::string resume = context.flags.GetOr("resume", "auto");
  options.resume = resume == "true"    ? HyperoptOptions::Resume::kAlways
                   : resume == "false" ? HyperoptOptions::Resume::kNever
                                       : HyperoptOptions::Resume::kAuto;
  std::error_code ec;
  options.trial_executable = fs::read_symlink("/proc/self/exe", ec).string();
  auto user = UserConfig(context.flags);
  if (!user.ok()) return Usage(context, "hyperopt", std::string(user.status().message()));
  auto results = Hyperopt(*user, options);
  if (!results.ok()) return FailOrUsage(context, "hyperopt", results.status());
  const json& ranked = results->statistics["hyperopt_results"];
  const json& failed = results->statistics["failed_trials"];
  context.out << ranked.size() + failed.size() << " trial(s): " << ranked.size() << " scored, "
              << failed.size() << " failed; results in " << results->directory << "\n";
  if (!options.skip_save_hyperopt_statistics) {
    context.out << "hyperopt statistics saved to "
                << (fs::path(results->directory) / "hyperopt_statistics.json").string() << "\n";
  }
  if (ranked.empty()) {
    context.out << "no trial succeeded: see failed_trials and each trial's trial.log\n";
    return kExitFailure;
  }
  const json& best = ranked[0];
  context.out << "best trial: " << best["trial_dir"].get<std::string>() << " with "
              << results->statistics["hyperopt_config"]["metric"].get<std::string>() << " "
              << best["metric_score"].dump() << ", parameters " << best["parameters"].dump()
              << "\n";
  if (!results->best_model_path.empty()) {
    context.out << "best model: " << results->best_model_path << "\n";
  }
  return kExitOk;
}

int RunHyperoptTrial(const VerbContext& context) {
  auto spec = context.flags.Get("trial_spec");
  if (!spec) return Usage(context, "hyperopt_trial", "--trial_spec is required");
  std::ostream& err = context.err;
  const absl::Status status = tristage::RunHyperoptTrial(
      *spec, std::cin, context.out, [&err](const std::string& line) { err << line << std::flush; });
  if (!status.ok()) return Fail(context, "hyperopt_trial", status);
  return kExitOk;
}

}  // namespace tristage::cli
