// tristage's engine API, shaped like Ludwig's LudwigModel: train, evaluate, predict, experiment,
// load and save. The CLI, the daemon's jobs and the tests all go through it. No torch types cross
// this header.
//
// A model directory (Ludwig's layout) holds:
//   model_hyperparameters.json   the resolved config
//   training_set_metadata.json   each feature's fitted metadata
//   model_weights.pt             the trained ECD as a TorchScript module (the predictor stage)
//   training_progress.json, training_checkpoints/   (written by training)
//
// Errors are statuses whose messages name the file, feature, column or row at fault.
// Thread safety: a Model is not thread-safe; use one per thread.
#ifndef TRISTAGE_CORE_API_MODEL_H_
#define TRISTAGE_CORE_API_MODEL_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "core/api/distributed.h"
#include "core/data/table.h"
#include "core/export/inference.h"
#include "core/util/job_protocol.h"
#include "nlohmann/json.hpp"

namespace tristage {

struct DatasetOptions {
  std::string dataset;  // one file, split by the config's preprocessing.split
  std::string training_set;
  std::string validation_set;
  std::string test_set;
  std::string data_format = "auto";
};

struct TrainOptions {
  DatasetOptions data;
  std::string output_directory = "results";
  std::string experiment_name = "experiment";
  std::string model_name = "run";
  uint64_t random_seed = 42;
  // A run directory or its model/ directory to continue training from its last checkpoint.
  std::string model_resume_path;
  bool skip_save_training_description = false;
  bool skip_save_training_statistics = false;
  bool skip_save_model = false;
  bool skip_save_progress = false;  // no checkpoints
  bool skip_save_processed_input = false;
  // Receives human-readable progress: a carriage-return progress line on a TTY, else log lines.
  std::function<void(const std::string&)> log;
  bool progress_bar = false;
  // Polled between batches; returning true cancels training.
  std::function<bool()> should_stop;
  // Called after each epoch's evaluation with its epoch number (from 1) and metrics
  // ({"training"|"validation"|"test": {feature: {metric: value}}}); returning false ends training
  // after that epoch as early stopping does: the best epoch's weights are kept and every file is
  // written as usual. Hyperopt's schedulers stop trials this way.
  std::function<bool(int64_t epoch, const nlohmann::json& metrics)> on_epoch_end;
  // When set (not owned), each epoch's progress is also written to it as a job protocol progress
  // event, before on_epoch_end is called (docs/jobs.md).
  job_protocol::EventWriter* job_events = nullptr;
  // When set, the run's directory exactly (created when missing; files of an earlier run in it
  // are replaced), instead of <output_directory>/<experiment_name>_<model_name>[_N]. Ignored with
  // model_resume_path. Hyperopt's trials run in their trial_<n> directories this way.
  std::string run_directory;
  // This process's place in a data-parallel run (docs/distributed.md); world_size 1: alone. In a
  // distributed run rank 0 alone reads the data files, preprocesses (and caches) and sends the
  // result to the others; it alone logs, reports job events and writes the run directory; every
  // rank returns the run directory rank 0 wrote. trainer.batch_size is per worker.
  WorldInfo world;
};

struct TrainResults {
  std::string run_directory;  // <output_directory>/<experiment>_<model>[_N]
  std::string model_directory;
  nlohmann::json training_statistics;
  nlohmann::json progress;
};

struct EvaluateOptions {
  int64_t batch_size = 128;
  bool collect_predictions = true;
  bool collect_overall_stats = true;
};

struct EvaluateResults {
  nlohmann::json test_statistics;  // per output feature metrics and statistics, plus combined
  data::Table predictions;         // when collect_predictions
};

struct ExperimentOptions {
  std::string eval_split = "test";  // training, validation, test or full
  bool skip_save_predictions = false;
  bool skip_save_eval_stats = false;
  bool skip_collect_predictions = false;
  bool skip_collect_overall_stats = false;
};

struct ExperimentResults {
  TrainResults train;
  EvaluateResults evaluation;
};

class Model {
 public:
  // Resolves (validates, fills defaults) `user_config`. Untrained until Train.
  static absl::StatusOr<std::unique_ptr<Model>> FromConfig(const nlohmann::json& user_config);
  // Loads a trained model directory (or a run directory containing model/).
  static absl::StatusOr<std::unique_ptr<Model>> Load(const std::string& path);
  ~Model();

  const nlohmann::json& config() const;
  const nlohmann::json& training_set_metadata() const;
  bool trained() const;

  // Trains on the datasets of `options`, writing Ludwig's run directory. Replaces this model's
  // weights and metadata with the trained ones.
  absl::StatusOr<TrainResults> Train(const TrainOptions& options);

  // Train, then evaluate on `experiment.eval_split` of the same data, writing test_statistics.json
  // and the prediction files into the run directory.
  absl::StatusOr<ExperimentResults> Experiment(const TrainOptions& options,
                                               const ExperimentOptions& experiment);

  // Ludwig's train_online: one more epoch over `table` (which has the output columns) with the
  // fitted metadata kept, no evaluation files and no checkpoints. Needs a trained model.
  absl::Status TrainOnline(const data::Table& table, int64_t batch_size = 128);

  // The rows of `table` in `split` ("full", "training", "validation" or "test"), split as the
  // model's training run split its dataset (same config and seed).
  absl::StatusOr<data::Table> SelectSplit(const data::Table& table, const std::string& split) const;

  // Scores a table that has the output columns. Needs a trained model.
  absl::StatusOr<EvaluateResults> Evaluate(const data::Table& table,
                                           const EvaluateOptions& options = {});

  // Predictions for a table that has the input columns: Ludwig's postprocessed columns
  // (<feature>_predictions, _probabilities_<class>, _probability, ...). Needs a trained model.
  absl::StatusOr<data::Table> Predict(const data::Table& table, int64_t batch_size = 128);

  // Writes the model directory files listed above (not checkpoints).
  absl::Status Save(const std::string& model_directory) const;

  // Ludwig's to_torchscript: the three exported stages in memory (see core/export/stages.h),
  // with the predictor on `device` (cpu, cuda or cuda:N). Needs a trained model.
  absl::StatusOr<std::unique_ptr<exporting::InferenceModule>> ToTorchscript(
      const std::string& device = "cpu") const;
  // Ludwig's save_torchscript: writes into `path` inference_preprocessor.pt,
  // inference_predictor_<cpu|cuda>.pt, inference_postprocessor.pt, manifest.json,
  // model_hyperparameters.json and training_set_metadata.json; with `model_only` the predictor
  // (and the JSON files) alone.
  absl::Status SaveTorchscript(const std::string& path, bool model_only = false,
                               const std::string& device = "cpu") const;

  // Layers, parameter names, shapes and counts, as collect_summary prints them.
  nlohmann::json Summary() const;

  struct TensorValues {
    std::vector<int64_t> shape;
    std::vector<float> values;  // row-major
  };
  // Every parameter and buffer by name (collect_weights). Empty when untrained.
  std::vector<std::pair<std::string, TensorValues>> Weights() const;

  // The outputs of the model's layers for `table` (collect_activations): "encoder_<i>" (input
  // feature i's encoding), "combiner", "decoder_<j>" (output j's logits). `layers` empty means
  // all; an unknown name is NotFound listing the known ones.
  absl::StatusOr<std::vector<std::pair<std::string, TensorValues>>> Activations(
      const data::Table& table, const std::vector<std::string>& layers);

  // Preprocesses the datasets of `options` (fit metadata, transform, split) and writes the
  // preprocessed-data cache beside the first dataset; returns the metadata file's path.
  absl::StatusOr<std::string> Preprocess(const TrainOptions& options);

 private:
  struct State;
  explicit Model(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

// Reads a dataset file (format from the extension when "auto").
absl::StatusOr<data::Table> ReadDataset(const std::string& path,
                                        const std::string& data_format = "auto");

// Writes <dir>/<feature>_predictions.csv, <dir>/<feature>_probabilities.csv (when the feature has
// probabilities) and <dir>/predictions.csv with every column.
absl::Status WritePredictions(const nlohmann::json& config, const data::Table& predictions,
                              const std::string& directory);

// Writes `value` as indented JSON (NaN and infinities as null).
absl::Status WriteJsonFile(const std::string& path, const nlohmann::json& value);

}  // namespace tristage

#endif  // TRISTAGE_CORE_API_MODEL_H_
