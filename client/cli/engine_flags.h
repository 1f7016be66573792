// Flags and files shared by the engine verbs (train_verbs.cc, predict_verbs.cc,
// engine_verbs.cc): the config, the seed, the training options, the dataset and model flags.
// Internal to the CLI.
#ifndef TRISTAGE_CLIENT_CLI_ENGINE_FLAGS_H_
#define TRISTAGE_CLIENT_CLI_ENGINE_FLAGS_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "client/cli/verbs.h"
#include "core/api/model.h"
#include "core/data/table.h"
#include "nlohmann/json.hpp"

namespace tristage::cli {

// -c/--config (file) or -cs/--config_str (YAML or JSON text).
absl::StatusOr<nlohmann::json> UserConfig(const ParsedFlags& flags);
// --random_seed (default 42); InvalidArgument naming the flag.
absl::StatusOr<uint64_t> Seed(const ParsedFlags& flags);
// The training flags; human progress goes to context.err, and with --job_events_fd progress
// events to JobEvents().
absl::StatusOr<TrainOptions> ReadTrainOptions(const VerbContext& context);
// A flag mistake the API reports (InvalidArgument naming a --flag) exits 2 like other usage
// errors; anything else is a failure of the command (exit 1).
int FailOrUsage(const VerbContext& context, const char* verb, const absl::Status& status);
// The model to train: from --model_resume_path's stored config, else from the config flags.
absl::StatusOr<std::unique_ptr<Model>> ModelForTraining(const ParsedFlags& flags);
// --dataset read in --data_format.
absl::StatusOr<data::Table> DatasetFlag(const ParsedFlags& flags);
// --dataset, restricted to --split as the model's training run split it.
absl::StatusOr<data::Table> DatasetSplitFlag(const ParsedFlags& flags, const Model& model);
// -m/--model_path loaded.
absl::StatusOr<std::unique_ptr<Model>> LoadModelFlag(const ParsedFlags& flags);
absl::Status MakeDirectory(const std::string& dir);
absl::Status WriteText(const std::string& path, const std::string& text);
// Writes a little-endian float32 .npy file (NumPy format 1.0).
absl::Status WriteNpy(const std::string& path, const std::vector<int64_t>& shape,
                      const std::vector<float>& values);

}  // namespace tristage::cli

#endif  // TRISTAGE_CLIENT_CLI_ENGINE_FLAGS_H_
