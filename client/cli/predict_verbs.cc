// The verbs that predict with a trained model or export it: predict (a model directory, exported
// TorchScript stages, or a daemon's served model), export_torchscript and export_triton.
#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <ostream>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "client/cli/engine_flags.h"
#include "client/cli/verbs.h"
#include "client/lib/client.h"
#include "core/api/model.h"
#include "core/export/triton.h"
#include "core/export/values.h"
#include "core/util/status_macros.h"

namespace tristage::cli {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

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
  return Succeed("", dir);
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

}  // namespace

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
  const bool model_only =
      context.flags.GetBool("model_only") || context.flags.GetOr("stage", "all") == "predictor";
  absl::Status saved =
      (*model)->SaveTorchscript(output, model_only, context.flags.GetOr("device", "cpu"));
  if (!saved.ok()) return Fail(context, "export_torchscript", saved);
  context.out << (model_only ? "predictor" : "preprocessor, predictor and postprocessor")
              << " saved to " << output << "\n";
  return Succeed("", output);
}

namespace {

// A flag's integer value in [minimum, maximum]; InvalidArgument "--<name>: '<text>' is not
// <what>" (a usage error).
absl::StatusOr<int64_t> IntegerFlag(const ParsedFlags& flags, const std::string& name,
                                    const std::string& fallback, int64_t minimum, int64_t maximum,
                                    const std::string& what) {
  const std::string text = flags.GetOr(name, fallback);
  int64_t value = 0;
  if (!absl::SimpleAtoi(text, &value) || value < minimum || value > maximum) {
    return absl::InvalidArgumentError(absl::StrCat("--", name, ": '", text, "' is not ", what));
  }
  return value;
}

absl::StatusOr<exporting::TritonExportOptions> TritonOptions(const ParsedFlags& flags) {
  exporting::TritonExportOptions options;
  if (!flags.Has("model_path")) {
    return absl::InvalidArgumentError("--model_path: -m DIR is required");
  }
  options.output_path = flags.GetOr("output_path", "");
  if (options.output_path.empty()) {
    return absl::InvalidArgumentError("--output_path: -op DIR (the repository) is required");
  }
  options.model_name = flags.GetOr("model_name", options.model_name);
  options.device = flags.GetOr("device", options.device);
  TRISTAGE_ASSIGN_OR_RETURN(options.model_version,
                            IntegerFlag(flags, "model_version", "1", 1, INT64_MAX,
                                        "a positive integer (Triton's versions are 1, 2, ...)"));
  TRISTAGE_ASSIGN_OR_RETURN(
      int64_t batch,
      IntegerFlag(flags, "max_batch_size", "64", 0, INT32_MAX,
                  absl::StrCat("an integer from 0 (Triton does not batch) to ", INT32_MAX)));
  options.max_batch_size = static_cast<int32_t>(batch);
  TRISTAGE_ASSIGN_OR_RETURN(int64_t delay, IntegerFlag(flags, "max_queue_delay_microseconds", "0",
                                                       0, INT64_MAX, "a non-negative integer"));
  options.max_queue_delay_microseconds = static_cast<uint64_t>(delay);
  return options;
}

}  // namespace

int RunExportTriton(const VerbContext& context) {
  auto options = TritonOptions(context.flags);
  if (!options.ok()) return FailOrUsage(context, "export_triton", options.status());
  // Flags and destination are checked before the model is loaded and its stages compiled.
  if (absl::Status s = exporting::CheckTritonExport(*options); !s.ok()) {
    return FailOrUsage(context, "export_triton", s);
  }
  const std::string model_path = *context.flags.Get("model_path");
  auto model = Model::Load(model_path);
  if (!model.ok()) {
    return Fail(
        context, "export_triton",
        absl::Status(model.status().code(), absl::StrCat("-m/--model_path '", model_path,
                                                         "' is not a trained model directory: ",
                                                         model.status().message())));
  }
  auto module = (*model)->ToTorchscript("cpu");
  if (!module.ok()) return Fail(context, "export_triton", module.status());
  auto written = exporting::ExportTriton(**module, *options);
  if (!written.ok()) return FailOrUsage(context, "export_triton", written.status());
  context.out << "Triton model '" << options->model_name << "' version " << options->model_version
              << " (pytorch_libtorch, " << written->config.inputs.size() << " inputs, "
              << written->config.outputs.size() << " outputs) written to "
              << written->version_directory << "\n";
  return Succeed("", written->version_directory);
}

}  // namespace tristage::cli
