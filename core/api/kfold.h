// K-fold cross validation, as Ludwig's kfold_cross_validate and `ludwig experiment --k_fold K`.
//
// The dataset's rows are cut into K folds (data::KfoldSplit: a seeded shuffle, reproducible on
// every platform). For each fold a fresh model is built from the config and runs an experiment
// with the other K-1 folds as its training set and the fold as its test set, as Ludwig passes
// them: there is no validation set, so the config's preprocessing.split is not applied and early
// stopping and best-model selection watch the training metrics. The held-out fold is evaluated
// once more after training (Ludwig's fold_eval_stats), and those metrics are averaged over folds.
//
// Files, in options.train.output_directory:
//   kfold_training_statistics.json  fold_<n> (n from 1): the fold's training statistics
//                                   ({training, validation, test}) plus fold_eval_stats (its
//                                   test_statistics); overall: per output feature (and combined)
//                                   <metric>_mean and <metric>_std (population std, as np.std)
//                                   of every numeric metric of fold_eval_stats.
//   kfold_split_indices.json        fold_<n>: {training_indices, test_indices}, rows of the
//                                   dataset numbered from 0 in file order.
//   <experiment_name>_<model_name>_fold_<n>/   each fold's run directory (Ludwig keeps these in
//                                   a temporary directory; tristage keeps them, subject to the
//                                   usual skip_save_* options).
// Both JSON files are overwritten by a later run into the same directory, as in Ludwig.
//
// Thread safety: runs on the calling thread; concurrent calls need distinct output directories.
#ifndef TRISTAGE_CORE_API_KFOLD_H_
#define TRISTAGE_CORE_API_KFOLD_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/api/model.h"
#include "nlohmann/json.hpp"

namespace tristage {

struct KfoldOptions {
  int64_t num_folds = 5;  // Ludwig's --k_fold; at least 2 and at most the dataset's rows.
  // train.data.dataset is the one file holding every row (training_set, validation_set and
  // test_set must be empty); model_resume_path must be empty. output_directory, experiment_name,
  // model_name, random_seed (folds and training), the skip_save_* options and log apply as for
  // Model::Train. The preprocessed-data cache is never written for the per-fold files.
  TrainOptions train;
  // skip_save_predictions, skip_save_eval_stats, skip_collect_* apply to every fold's run;
  // eval_split is ignored (each fold is evaluated on its held-out rows).
  ExperimentOptions experiment;
  bool skip_save_k_fold_split_indices = false;
};

struct KfoldResults {
  nlohmann::json statistics;     // the content of kfold_training_statistics.json
  nlohmann::json split_indices;  // the content of kfold_split_indices.json
  std::string statistics_path;
  std::string split_indices_path;                 // empty when skip_save_k_fold_split_indices
  std::vector<std::string> fold_run_directories;  // fold 1 first
};

// Runs the K experiments and writes the files above. InvalidArgument naming --k_fold when
// num_folds < 2 or exceeds the dataset's rows, naming --dataset when it is not given (or other
// datasets are), --model_resume_path when set; a missing or unreadable dataset file is the
// reader's error prefixed with "--dataset: ". A fold whose training fails stops the run with that
// error prefixed by "fold <n>: "; files of earlier folds' runs stay.
absl::StatusOr<KfoldResults> KfoldCrossValidate(const nlohmann::json& user_config,
                                                const KfoldOptions& options);

// The overall block of kfold_training_statistics.json from the fold_<n> blocks of `statistics`
// (entries not named fold_<n> are ignored). Exposed for tests.
nlohmann::json KfoldOverallStatistics(const nlohmann::json& statistics);

}  // namespace tristage

#endif  // TRISTAGE_CORE_API_KFOLD_H_
