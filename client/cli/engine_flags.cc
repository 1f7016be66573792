#include "client/cli/engine_flags.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <ostream>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "core/config/config.h"
#include "core/data/io.h"
#include "core/util/log.h"

namespace tristage::cli {

using nlohmann::json;
namespace fs = std::filesystem;

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
  // Progress and the other lines are info; -l warning (or above) keeps only warnings and errors.
  if (MinLogLevel() <= LogLevel::kInfo) {
    options.log = [&err](const std::string& line) { err << line << std::flush; };
  }
  options.job_events = JobEvents();
  auto world = WorkerWorld(flags);
  if (!world.ok()) return world.status();
  options.world = *world;
  return options;
}

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

}  // namespace tristage::cli
