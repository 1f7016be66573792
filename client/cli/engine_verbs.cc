// The engine verbs that do not run as jobs: render_config, synthesize_dataset, preprocess,
// init_config, collect_summary, collect_weights, collect_activations. Each is a thin shell over
// core's public API (core/api, core/config, core/data).
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <ostream>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "client/cli/engine_flags.h"
#include "client/cli/verbs.h"
#include "core/api/init_config.h"
#include "core/api/model.h"
#include "core/api/synthesize.h"
#include "core/config/config.h"
#include "core/data/io.h"

namespace tristage::cli {

using nlohmann::json;
namespace fs = std::filesystem;

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
