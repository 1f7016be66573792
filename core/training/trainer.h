// The trainer: Ludwig's training loop over a TorchScript ECD model.
//
// Per epoch: shuffle the training rows (a permutation derived from the seed and the epoch, so a
// resumed run replays exactly), run train_forward in batches, sum the weighted output losses plus
// regularization, clip gradients, step the optimizer at the scheduled learning rate; then evaluate
// training, validation and test splits, record Ludwig's training statistics, apply early stopping
// on trainer.validation_field / validation_metric and keep the best weights, and checkpoint.
// Evaluation rounds (each: evaluate, record, keep the best, step the plateau scheduler,
// checkpoint) come at every epoch's end and, as in Ludwig, also inside an epoch:
// steps_per_checkpoint every that many optimizer steps; checkpoints_per_epoch N every
// int(steps_per_epoch / N) steps of the epoch, N rounds per epoch with the last at its end (Ludwig
// counts those steps across epoch ends, so the two differ only when N does not divide the epoch).
// early_stop counts rounds, checked at epoch ends. use_mixed_precision is accepted and has no
// effect (a warning): as in Ludwig, AMP needs CUDA and tristage trains on CPU.
// The model ends with the best epoch's weights; an epoch that ties the best metric value counts as
// the new best when the validation field's loss is lower.
//
// Determinism: for a fixed random_seed on CPU, the same data gives the same model. Checkpoints hold
// the module, the optimizer state, torch's generator state and the loop position, so resuming an
// interrupted run reaches the same result as an uninterrupted one.
// Internal to core; includes torch.
#ifndef TRISTAGE_CORE_TRAINING_TRAINER_H_
#define TRISTAGE_CORE_TRAINING_TRAINER_H_

#include <torch/script.h>

#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "core/preprocessing/preprocessing.h"
#include "nlohmann/json.hpp"

namespace tristage::distributed {
class ProcessGroup;
}

namespace tristage::training {

struct ProgressEvent {
  // kEvaluation: a mid-epoch evaluation round (steps_per_checkpoint, checkpoints_per_epoch).
  enum class Kind { kBatch, kEvaluation, kEpochEnd };
  Kind kind = Kind::kBatch;
  int64_t epoch = 0;         // 1-based
  int64_t total_epochs = 0;  // 0 when bounded by train_steps
  int64_t step = 0;          // global optimizer steps so far
  int64_t total_steps = 0;
  double loss = 0;             // running mean training loss of the epoch
  double rows_per_second = 0;  // training throughput of the epoch so far
  // kBatch: the rate the step just taken used; otherwise the rate of the next step.
  double learning_rate = 0;
  nlohmann::json metrics;  // kEvaluation, kEpochEnd: {"training"|"validation"|"test": {...}}
  bool improved = false;   // kEpochEnd: a new best epoch (better metric, or a tie and lower loss)
};

struct TrainerOptions {
  uint64_t random_seed = 42;
  // Where checkpoints go (created); empty for none.
  std::string checkpoint_dir;
  // Continue from checkpoint_dir's latest checkpoint.
  bool resume = false;
  std::function<void(const ProgressEvent&)> on_progress;
  // Polled between batches; true stops training (Cancelled).
  std::function<bool()> should_stop;
  // Called after each epoch's evaluation and checkpoint; false ends training there as early
  // stopping does (the best epoch's weights are kept and the result is returned normally).
  std::function<bool(const ProgressEvent&)> continue_after_epoch;
  // Data-parallel training (not owned; null: this process alone), with DistributedDataParallel's
  // semantics: rank 0's initial weights are broadcast; each epoch's shuffled row order (the same
  // on every rank) is padded to a multiple of the world size and rank r trains on rows r, r+W,
  // ... of it, `batch_size` rows per step (so W * batch_size per optimizer step); gradients are
  // averaged over the ranks (GradientReducer); evaluations are shared out and every rank computes
  // the same metrics, so early stopping and learning-rate decisions agree; rank 0 alone writes
  // checkpoints (with every rank's generator state) and decides continue_after_epoch. Resuming
  // needs the world size that wrote the checkpoint.
  distributed::ProcessGroup* group = nullptr;
};

struct TrainResult {
  nlohmann::json
      training_statistics;  // {"training"|"validation"|"test": {feature: {metric: [..]}}}
  nlohmann::json progress;  // training_progress.json
  int64_t best_epoch = 0;
  int64_t epochs = 0;
  int64_t steps = 0;
  int64_t batch_size = 0;  // after resolving "auto"; per worker in a distributed run
  // Distributed runs: seconds this rank waited for gradient all-reduces after backward (the part
  // backward did not hide).
  double allreduce_exposed_seconds = 0;
};

// trainer.learning_rate for a world of `world_size` workers under trainer.learning_rate_scaling
// (Ludwig's: linear multiplies it by the world size, sqrt by its square root, constant keeps it),
// since each optimizer step averages over world_size times the rows.
double ScaledLearningRate(const nlohmann::json& config, int world_size);

// The batch size "auto" resolves to for `rows` training rows: the smallest power of two that
// gives at most ~128 steps per epoch, within [16, 128].
int64_t AutoBatchSize(int64_t rows);

absl::StatusOr<TrainResult> Train(torch::jit::Module& model, const nlohmann::json& config,
                                  const preprocessing::TrainingData& data,
                                  const TrainerOptions& options);

}  // namespace tristage::training

#endif  // TRISTAGE_CORE_TRAINING_TRAINER_H_
