// JobManager: train, evaluate, experiment, hyperopt and batch_predict jobs run by the daemon.
//
// Each job runs the `tristage` CLI (the same core engine and the same verbs and flags a user
// runs) in a child process: a job that crashes or is OOM-killed becomes FAILED with the reason
// while the daemon keeps serving. The child gets its own process group (a cancel reaches
// everything it started), dies with the daemon (PR_SET_PDEATHSIG), runs at a lower CPU priority
// with `threads_per_job` intra-op/BLAS threads (the CPU budget that keeps inference responsive;
// a job of `world_size` N workers shares it out, threads_per_job / N each, the CLI's launcher
// dividing it), and writes its stdout and stderr to the job's log. Progress, the result (the model
// directory) and the child's error come only from the job protocol's JSON lines on a descriptor of
// their own (core/util/job_protocol.h, docs/jobs.md); the log is shown to users and never
// interpreted. A child that exits 0 without a result event is FAILED saying so. The workers of a
// data-parallel job are the child's children, in its process group.
//
// State machine (each transition has a reason, and is saved before it is announced):
//   QUEUED -> RUNNING -> SUCCEEDED | FAILED | CANCELLED;  QUEUED -> CANCELLED.
//
// On disk, under `state_dir`/jobs/<id>/: job.json (the record, replaced atomically on every
// change), config.yaml (the submitted config text), log.txt (the child's output), output/ (the
// CLI's -od: statistics, predictions, the model directory). Create() reads every job.json back:
// history survives restarts; a job that was RUNNING when the daemon stopped is FAILED ("the
// daemon stopped while the job was running"), a QUEUED one is queued again.
//
// Publishing (server/jobs/publisher.h): a train, experiment or hyperopt job (the best trial's
// model) with `publish_model` set exports the model its result event named (the CLI's
// export_torchscript, in a child like the job) into <model_repository>/<model>/<N>, N one past
// the highest numeric version there (written under a dot-name and renamed into place), then calls
// `load_model` so serving loads, warms and switches to it. A failed export or load makes the job
// FAILED with that reason.
//
// Ownership: the manager owns `max_concurrent_jobs` runner threads and a bounded queue of jobs
// (`max_queued_jobs`); Shutdown() (also the destructor) stops taking jobs, SIGKILLs running
// children (their jobs: FAILED, "the daemon stopped while the job was running", the same reason
// a restart gives after a crash), leaves QUEUED jobs queued on disk, and joins the runners. A
// child's PR_SET_PDEATHSIG follows the runner thread that started it, which lives until then.
// Thread safety: every method from any thread.
#ifndef TRISTAGE_SERVER_JOBS_JOB_MANAGER_H_
#define TRISTAGE_SERVER_JOBS_JOB_MANAGER_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace tristage::server::jobs {

enum class JobKind { kTrain, kEvaluate, kExperiment, kHyperopt, kBatchPredict };
enum class JobState { kQueued, kRunning, kSucceeded, kFailed, kCancelled };

// "train", "evaluate", "experiment", "hyperopt", "batch_predict" (the CLI verb is "predict").
const char* JobKindName(JobKind kind);
// InvalidArgument naming the value and the known kinds.
absl::StatusOr<JobKind> ParseJobKind(std::string_view name);
// "QUEUED", "RUNNING", "SUCCEEDED", "FAILED", "CANCELLED".
const char* JobStateName(JobState state);
absl::StatusOr<JobState> ParseJobState(std::string_view name);
bool IsFinal(JobState state);

struct JobSpec {
  JobKind kind = JobKind::kTrain;
  // Model config, YAML or JSON text: required for train, experiment and hyperopt; unused by
  // evaluate and batch_predict (they use `model_path`).
  std::string config;
  // Absolute path of the dataset on the server (the caller confined it to the data root).
  std::string dataset;
  // evaluate and batch_predict: absolute path of a model directory (a finished job's model, or
  // one under the data root).
  std::string model_path;
  // Extra CLI flags by their long names without dashes, from an allowlist: experiment_name,
  // model_name, random_seed, data_format, batch_size, split, k_fold (experiment), skip_save_*
  // ("true"). Anything else is InvalidArgument naming it and the allowed ones.
  std::map<std::string, std::string> options;
  // Non-empty: publish the trained model into serving under this model name.
  std::string publish_model;
  // train and experiment: 0 or 1, one process; N > 1, N data-parallel worker processes (the CLI's
  // `--nproc_per_node N`), which share the job's `threads_per_job` (so N is at most that).
  int world_size = 0;
};

struct JobRecord {
  std::string id;  // "j000001", increasing
  JobSpec spec;
  JobState state = JobState::kQueued;
  std::string reason;  // why the job is in its state (empty for QUEUED/RUNNING/SUCCEEDED)
  absl::Time created = absl::InfinitePast();
  absl::Time started = absl::InfinitePast();   // InfinitePast until RUNNING
  absl::Time finished = absl::InfinitePast();  // InfinitePast until final
  std::string output_dir;  // <state_dir>/jobs/<id>/output
  std::string log_path;    // <state_dir>/jobs/<id>/log.txt
  // The trained model's directory (train, experiment), once the child finished successfully.
  std::string model_dir;
  int64_t published_version = 0;  // the repository version publishing wrote, 0: none
  // Latest progress from the child's progress events (0 before the first one).
  int64_t epoch = 0;
  int64_t step = 0;
  // From the progress events: "<split>_loss" (validation_loss, test_loss, training_loss when the
  // trainer reports it) and "<split>_<feature>_<metric>" for the trainer's validation metric,
  // e.g. "validation_churned_roc_auc" (JobMetrics in job_process.h).
  std::map<std::string, double> metrics;
  // The running child's pid (also its process group), 0 when no child runs. Not persisted.
  int64_t pid = 0;
};

// What WatchJob streams: every state change, progress update and log line, numbered from 1.
struct JobEvent {
  enum class Type { kState, kProgress, kLog };
  int64_t sequence = 0;
  absl::Time time;
  Type type = Type::kLog;
  JobState state = JobState::kQueued;  // kState: the new state; else the state at the time
  std::string text;                    // kState: the reason; kLog: the line (no '\n')
  int64_t epoch = 0;                   // kProgress
  int64_t step = 0;                    // kProgress
  std::map<std::string, double> metrics;  // kProgress
};

struct JobManagerOptions {
  std::string state_dir;   // created if missing
  std::string cli_binary;  // the `tristage` executable
  int max_concurrent_jobs = 1;
  int max_queued_jobs = 16;
  int threads_per_job = 1;
  // Publishing target; empty: publish_model is refused at Submit (FailedPrecondition).
  std::string model_repository;
  std::function<absl::Status(const std::string& model)> load_model;
  // A job's in-memory event history keeps at most this many events (the oldest log lines go
  // first; the whole log stays in log.txt).
  int max_events_per_job = 10000;
};

class JobManager {
 public:
  // InvalidArgument for bad options (no cli_binary, counts < 1); errors reading the state
  // directory name the file.
  static absl::StatusOr<std::unique_ptr<JobManager>> Create(JobManagerOptions options);
  ~JobManager();

  // Validates the spec (kind needs; option allowlist; files exist; world_size within
  // threads_per_job), records the job QUEUED and returns its id. ResourceExhausted when
  // max_queued_jobs wait; Unavailable after Shutdown.
  absl::StatusOr<std::string> Submit(JobSpec spec);

  absl::StatusOr<JobRecord> Get(const std::string& id) const;  // NotFound naming the id
  // Oldest first; only those in `state` when given.
  std::vector<JobRecord> List(std::optional<JobState> state = std::nullopt) const;

  // QUEUED: CANCELLED at once. RUNNING: SIGTERM to the child's process group, SIGKILL 1 s later
  // if it is still there; the job is CANCELLED once the child is reaped (no stray process).
  // Blocks until then (normally under 1 s; DeadlineExceeded if the job is still not final 10 s
  // after the SIGKILL). FailedPrecondition when the job already ended; NotFound for an unknown id.
  absl::Status Cancel(const std::string& id);

  // Events of job `id` with sequence > `after`, waiting until there is one, the job has ended
  // (then what is left, possibly none), or `deadline`. `*ended` tells whether the job is final
  // and every event was returned. NotFound for an unknown id.
  absl::StatusOr<std::vector<JobEvent>> WaitEvents(const std::string& id, int64_t after,
                                                   absl::Time deadline, bool* ended) const;

  // Absolute path of `relative` inside the job's output directory, after resolving symlinks;
  // PermissionDenied if it leaves it; NotFound if it does not exist.
  absl::StatusOr<std::string> ArtifactPath(const std::string& id,
                                           const std::string& relative) const;

  void Shutdown();

 private:
  struct Impl;
  explicit JobManager(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace tristage::server::jobs

#endif  // TRISTAGE_SERVER_JOBS_JOB_MANAGER_H_
