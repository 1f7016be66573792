// The job manager's queue and orchestration: Submit, the runner threads, each job's run (its
// child, then publishing), Cancel, Shutdown and the event history. The record store, the child
// processes, the kinds and publishing are in job_store, job_process, job_spec and publisher.
#include "server/jobs/job_manager.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <deque>
#include <filesystem>
#include <fstream>
#include <system_error>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "core/util/files.h"
#include "core/util/log.h"
#include "core/util/status_macros.h"
#include "core/util/strings.h"
#include "server/jobs/job_process.h"
#include "server/jobs/job_spec.h"
#include "server/jobs/job_store.h"
#include "server/jobs/publisher.h"

namespace tristage::server::jobs {
namespace {

namespace fs = std::filesystem;

constexpr char kDaemonStopped[] = "the daemon stopped while the job was running";
constexpr char kCancelledByRequest[] = "cancelled by request";
constexpr absl::Duration kCancelGrace = absl::Seconds(1);
constexpr absl::Duration kReapAfterKill = absl::Seconds(10);
// A log event's text: a job's event history then holds at most max_events_per_job x 4 KiB of
// lines (about 40 MiB by default), however long the lines its child prints.
constexpr size_t kLogEventBytes = 4096;

bool IsInside(const fs::path& path, const fs::path& base) {
  auto [base_end, path_it] = std::mismatch(base.begin(), base.end(), path.begin(), path.end());
  return base_end == base.end();
}

}  // namespace

// One job: its record and event history, plus what the runner and Cancel share about its child;
// all guarded by Impl::mu, except `dir`, `record.id` and `record.spec`, constant after Submit
// (or Restore), which the runner reads without it.
struct Job {
  JobRecord record;
  fs::path dir;
  std::deque<JobEvent> events;
  int64_t last_sequence = 0;
  bool child_running = false;     // record.pid is a live (unreaped) child
  bool cancel_requested = false;  // Cancel: the outcome is CANCELLED
  bool shutdown_killed = false;   // Shutdown: the outcome is FAILED, kDaemonStopped
};

struct JobManager::Impl {
  explicit Impl(JobManagerOptions o)
      : options(std::move(o)),
        jobs_dir(fs::path(options.state_dir) / "jobs"),
        publisher(options.model_repository, options.cli_binary, options.load_model) {}
  ~Impl() {
    if (lock_fd >= 0) close(lock_fd);
  }

  int lock_fd = -1;  // LockStateDir's, set by Create before anything reads the directory

  // Constant after construction.
  const JobManagerOptions options;
  const fs::path jobs_dir;

  mutable absl::Mutex mu;
  // Keyed by the id's number: oldest first. Jobs are never removed, so Job* stay valid.
  std::map<int64_t, std::unique_ptr<Job>> jobs ABSL_GUARDED_BY(mu);
  std::deque<Job*> queue ABSL_GUARDED_BY(mu);  // QUEUED jobs in order, at most max_queued_jobs
  int64_t next_id ABSL_GUARDED_BY(mu) = 1;
  bool shutting_down ABSL_GUARDED_BY(mu) = false;

  Publisher publisher;

  // Started by Create, joined by Shutdown (once: shutdown_mu).
  absl::Mutex shutdown_mu;
  std::vector<std::thread> runners ABSL_GUARDED_BY(shutdown_mu);

  Job* Find(const std::string& id) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    auto it = jobs.find(JobIdNumber(id));
    return it == jobs.end() ? nullptr : it->second.get();
  }

  void AddEvent(Job& job, JobEvent event) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    event.sequence = ++job.last_sequence;
    event.time = absl::Now();
    if (event.type != JobEvent::Type::kState) event.state = job.record.state;
    job.events.push_back(std::move(event));
    if (job.events.size() <= static_cast<size_t>(options.max_events_per_job)) return;
    auto oldest_log = std::find_if(job.events.begin(), job.events.end(), [](const JobEvent& e) {
      return e.type == JobEvent::Type::kLog;
    });
    job.events.erase(oldest_log != job.events.end() ? oldest_log : job.events.begin());
  }

  absl::Status Save(const Job& job) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    return SaveRecord(job.dir, job.record);
  }

  void SaveOrLog(const Job& job) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    if (absl::Status s = Save(job); !s.ok()) {
      TRISTAGE_LOG(Error) << "job " << job.record.id << ": " << s.message();
    }
  }

  // Saved before announced (the header's promise).
  void SetState(Job& job, JobState state, std::string reason) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    job.record.state = state;
    job.record.reason = std::move(reason);
    if (state == JobState::kRunning) job.record.started = absl::Now();
    if (IsFinal(state)) job.record.finished = absl::Now();
    SaveOrLog(job);
    JobEvent event;
    event.type = JobEvent::Type::kState;
    event.state = state;
    event.text = job.record.reason;
    AddEvent(job, std::move(event));
    TRISTAGE_LOG(Info) << "job " << job.record.id << " (" << JobKindName(job.record.spec.kind)
                       << ") " << JobStateName(state) << (job.record.reason.empty() ? "" : ": ")
                       << job.record.reason;
  }

  // What a spec is validated against, at Submit and again when the job starts.
  SubmitLimits Limits() const {
    SubmitLimits limits;
    limits.have_repository = !options.model_repository.empty();
    limits.threads_per_job = options.threads_per_job;
    return limits;
  }

  absl::Status Restore() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);
  void RunnerLoop();
  void RunJob(Job& job);
  // Runs `spec` as the job's child: its output lines go to the log and to watchers, its progress
  // events to the record. Cancelled when the job was cancelled or shut down before it started.
  absl::StatusOr<JobProcessResult> RunChild(Job& job, const JobProcessSpec& spec,
                                            std::ofstream& log);
  // The model directory of a train, experiment or hyperopt child's result: inside the job's
  // output directory and holding a model, else empty (nothing to publish).
  std::string ResultModelDir(const Job& job, const JobProcessResult& result) const;
  void Shutdown();
};

absl::Status JobManager::Impl::Restore() {
  TRISTAGE_ASSIGN_OR_RETURN(std::vector<StoredJob> stored, LoadRecords(jobs_dir));
  for (StoredJob& entry : stored) {
    auto job = std::make_unique<Job>();
    job->record = std::move(entry.record);
    job->dir = std::move(entry.dir);
    next_id = std::max(next_id, entry.number + 1);
    jobs[entry.number] = std::move(job);
  }
  for (auto& [number, job] : jobs) {
    if (job->record.state == JobState::kRunning) {
      SetState(*job, JobState::kFailed, kDaemonStopped);
      continue;
    }
    // Watchers of a restored job start from its current state.
    JobEvent event;
    event.type = JobEvent::Type::kState;
    event.state = job->record.state;
    event.text = job->record.reason;
    AddEvent(*job, std::move(event));
    if (job->record.state == JobState::kQueued) queue.push_back(job.get());
  }
  return absl::OkStatus();
}

void JobManager::Impl::RunnerLoop() {
  while (true) {
    Job* job = nullptr;
    {
      absl::MutexLock lock(&mu);
      auto ready = [this]() { return shutting_down || !queue.empty(); };
      mu.Await(absl::Condition(&ready));
      if (shutting_down) return;  // QUEUED jobs stay queued on disk for the next start
      job = queue.front();
      queue.pop_front();
      SetState(*job, JobState::kRunning, "");
    }
    RunJob(*job);
  }
}

absl::StatusOr<JobProcessResult> JobManager::Impl::RunChild(Job& job, const JobProcessSpec& spec,
                                                            std::ofstream& log) {
  {
    absl::MutexLock lock(&mu);
    if (job.cancel_requested || job.shutdown_killed) return absl::CancelledError();
  }
  TRISTAGE_LOG(Info) << "job " << job.record.id << ": " << absl::StrJoin(spec.argv, " ");
  JobProcessHooks hooks;
  hooks.on_started = [&](pid_t pid) {
    absl::MutexLock lock(&mu);
    job.record.pid = pid;
    job.child_running = true;
    // A Cancel or Shutdown that came while the child was starting found no pid to signal.
    if (job.cancel_requested) SignalJobProcess(pid, SIGTERM);
    if (job.shutdown_killed) SignalJobProcess(pid, SIGKILL);
  };
  hooks.on_log_line = [&](absl::string_view line) {
    log << line << '\n' << std::flush;
    absl::MutexLock lock(&mu);
    JobEvent event;
    event.type = JobEvent::Type::kLog;
    // The log file keeps the whole line; the event history (kept in memory, up to
    // max_events_per_job events) keeps its first kLogEventBytes.
    event.text = CutUtf8(line, kLogEventBytes);
    AddEvent(job, std::move(event));
  };
  hooks.on_progress = [&](const job_protocol::Progress& progress) {
    absl::MutexLock lock(&mu);
    job.record.epoch = progress.epoch;
    job.record.step = progress.step;
    job.record.metrics = JobMetrics(progress);
    SaveOrLog(job);
    JobEvent event;
    event.type = JobEvent::Type::kProgress;
    event.epoch = progress.epoch;
    event.step = progress.step;
    event.metrics = job.record.metrics;
    AddEvent(job, std::move(event));
  };
  auto result = RunJobProcess(spec, hooks);
  {
    // The zombie kept the pid reserved until the reap, so no signal reached a reused pid.
    absl::MutexLock lock(&mu);
    job.child_running = false;
    job.record.pid = 0;
  }
  return result;
}

std::string JobManager::Impl::ResultModelDir(const Job& job,
                                             const JobProcessResult& result) const {
  if (!result.result.has_value() || result.result->model_dir.empty()) return "";
  std::error_code ec;
  const fs::path output = fs::weakly_canonical(job.dir / "output", ec);
  const fs::path model = fs::weakly_canonical(result.result->model_dir, ec);
  if (ec || !IsInside(model, output) || !fs::exists(model / "model_hyperparameters.json")) {
    TRISTAGE_LOG(Warning) << "job " << job.record.id << ": the reported model directory '"
                          << result.result->model_dir
                          << "' is not a model inside the job's output directory";
    return "";
  }
  return model.string();
}

void JobManager::Impl::RunJob(Job& job) {
  JobSpec spec;
  {
    absl::MutexLock lock(&mu);
    spec = job.record.spec;
  }
  JobProcessSpec child;
  child.verb = JobVerb(spec.kind);
  child.threads = options.threads_per_job;
  child.argv = JobArgv(spec, options.cli_binary, job.dir);
  std::ofstream log(job.dir / "log.txt", std::ios::app);
  // Checked again: a job queued before a restart may no longer fit this daemon's options (fewer
  // --job-threads than its world_size, no repository to publish into, its dataset gone).
  const absl::Status still_valid = ValidateJobSpec(spec, Limits());
  absl::StatusOr<JobProcessResult> result =
      still_valid.ok() ? RunChild(job, child, log) : absl::StatusOr<JobProcessResult>(still_valid);
  absl::Status outcome = result.status();
  std::string model_dir;
  if (result.ok()) {
    outcome = CheckJobProcess(child.verb, *result);
    if (outcome.ok() && KindTrains(spec.kind)) {
      model_dir = ResultModelDir(job, *result);
      absl::MutexLock lock(&mu);
      job.record.model_dir = model_dir;
    }
  }
  if (outcome.ok() && !spec.publish_model.empty()) {
    auto published = publisher.Publish(
        job.record.id, spec.publish_model, model_dir,
        [&](const JobProcessSpec& export_spec) {
          JobProcessSpec with_threads = export_spec;
          with_threads.threads = options.threads_per_job;
          return RunChild(job, with_threads, log);
        },
        [&](int64_t version) {
          {
            absl::MutexLock lock(&mu);
            job.record.published_version = version;
            SaveOrLog(job);
          }
          log << "published " << model_dir << " as " << spec.publish_model << " version "
              << version << "\n"
              << std::flush;
        });
    outcome = published.status();
  }

  absl::MutexLock lock(&mu);
  if (job.cancel_requested) {
    SetState(job, JobState::kCancelled, kCancelledByRequest);
  } else if (job.shutdown_killed) {
    SetState(job, JobState::kFailed, kDaemonStopped);
  } else if (!outcome.ok()) {
    SetState(job, JobState::kFailed, std::string(outcome.message()));
  } else {
    SetState(job, JobState::kSucceeded, "");
  }
}

void JobManager::Impl::Shutdown() {
  absl::MutexLock shutdown_lock(&shutdown_mu);
  {
    absl::MutexLock lock(&mu);
    shutting_down = true;
    for (auto& [number, job] : jobs) {
      if (job->record.state != JobState::kRunning) continue;
      job->shutdown_killed = true;
      if (job->child_running) SignalJobProcess(job->record.pid, SIGKILL);
    }
  }
  for (std::thread& runner : runners) runner.join();
  runners.clear();
}

JobManager::JobManager(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

JobManager::~JobManager() {
  Shutdown();
}

absl::StatusOr<std::unique_ptr<JobManager>> JobManager::Create(JobManagerOptions options) {
  if (options.state_dir.empty()) return absl::InvalidArgumentError("state_dir: required");
  if (options.cli_binary.empty()) return absl::InvalidArgumentError("cli_binary: required");
  if (access(options.cli_binary.c_str(), X_OK) != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("cli_binary: '", options.cli_binary, "' is not an executable file"));
  }
  for (const auto& [name, value] :
       {std::pair<const char*, int>{"max_concurrent_jobs", options.max_concurrent_jobs},
        {"max_queued_jobs", options.max_queued_jobs},
        {"threads_per_job", options.threads_per_job},
        {"max_events_per_job", options.max_events_per_job}}) {
    if (value < 1) {
      return absl::InvalidArgumentError(absl::StrCat(name, ": must be at least 1, not ", value));
    }
  }
  std::error_code ec;
  fs::create_directories(options.state_dir, ec);
  if (ec) {
    return absl::InternalError(
        absl::StrCat("state_dir: cannot create '", options.state_dir, "': ", ec.message()));
  }
  TRISTAGE_ASSIGN_OR_RETURN(const int lock_fd, LockStateDir(options.state_dir));
  auto impl = std::make_unique<Impl>(std::move(options));
  impl->lock_fd = lock_fd;
  {
    absl::MutexLock lock(&impl->mu);
    TRISTAGE_RETURN_IF_ERROR(impl->Restore());
  }
  Impl* raw = impl.get();
  {
    absl::MutexLock lock(&raw->shutdown_mu);
    for (int i = 0; i < raw->options.max_concurrent_jobs; ++i) {
      raw->runners.emplace_back([raw] { raw->RunnerLoop(); });
    }
  }
  return std::unique_ptr<JobManager>(new JobManager(std::move(impl)));
}

absl::StatusOr<std::string> JobManager::Submit(JobSpec spec) {
  TRISTAGE_RETURN_IF_ERROR(ValidateJobSpec(spec, impl_->Limits()));
  absl::MutexLock lock(&impl_->mu);
  if (impl_->shutting_down) return absl::UnavailableError("the job manager is shutting down");
  if (impl_->queue.size() >= static_cast<size_t>(impl_->options.max_queued_jobs)) {
    return absl::ResourceExhaustedError(absl::StrCat(
        impl_->queue.size(), " jobs are already queued (max_queued_jobs); try again later"));
  }
  const int64_t number = impl_->next_id++;
  auto job = std::make_unique<Job>();
  job->dir = impl_->jobs_dir / FormatJobId(number);
  job->record.id = FormatJobId(number);
  job->record.spec = std::move(spec);
  job->record.created = absl::Now();
  job->record.output_dir = (job->dir / "output").string();
  job->record.log_path = (job->dir / "log.txt").string();
  std::error_code ec;
  fs::create_directories(job->dir, ec);
  if (ec) {
    return absl::InternalError(
        absl::StrCat("cannot create '", job->dir.string(), "': ", ec.message()));
  }
  if (!job->record.spec.config.empty()) {
    TRISTAGE_RETURN_IF_ERROR(
        WriteFileAtomically((job->dir / "config.yaml").string(), job->record.spec.config));
  }
  TRISTAGE_RETURN_IF_ERROR(impl_->Save(*job));
  Job* raw = job.get();
  impl_->jobs[number] = std::move(job);
  JobEvent event;
  event.type = JobEvent::Type::kState;
  event.state = JobState::kQueued;
  impl_->AddEvent(*raw, std::move(event));
  impl_->queue.push_back(raw);
  TRISTAGE_LOG(Info) << "job " << raw->record.id << " (" << JobKindName(raw->record.spec.kind)
                     << ") QUEUED";
  return raw->record.id;
}

absl::StatusOr<JobRecord> JobManager::Get(const std::string& id) const {
  absl::MutexLock lock(&impl_->mu);
  const Job* job = impl_->Find(id);
  if (job == nullptr) return absl::NotFoundError(absl::StrCat("no job '", id, "'"));
  return job->record;
}

std::vector<JobRecord> JobManager::List(std::optional<JobState> state) const {
  absl::MutexLock lock(&impl_->mu);
  std::vector<JobRecord> records;
  for (const auto& [number, job] : impl_->jobs) {
    if (!state.has_value() || job->record.state == *state) records.push_back(job->record);
  }
  return records;
}

absl::Status JobManager::Cancel(const std::string& id) {
  absl::MutexLock lock(&impl_->mu);
  Job* job = impl_->Find(id);
  if (job == nullptr) return absl::NotFoundError(absl::StrCat("no job '", id, "'"));
  if (IsFinal(job->record.state)) {
    return absl::FailedPreconditionError(
        absl::StrCat("job ", id, " already ended (", JobStateName(job->record.state), ")"));
  }
  if (job->cancel_requested) {
    return absl::FailedPreconditionError(absl::StrCat("job ", id, " is already being cancelled"));
  }
  if (job->record.state == JobState::kQueued) {
    auto& queue = impl_->queue;
    queue.erase(std::remove(queue.begin(), queue.end(), job), queue.end());
    impl_->SetState(*job, JobState::kCancelled, kCancelledByRequest);
    return absl::OkStatus();
  }
  job->cancel_requested = true;
  if (job->child_running) SignalJobProcess(job->record.pid, SIGTERM);
  auto ended = [job]() { return IsFinal(job->record.state); };
  if (impl_->mu.AwaitWithDeadline(absl::Condition(&ended), absl::Now() + kCancelGrace)) {
    return absl::OkStatus();
  }
  if (job->child_running) {
    TRISTAGE_LOG(Warning) << "job " << id << ": the child ignored SIGTERM for "
                          << absl::FormatDuration(kCancelGrace) << "; SIGKILL";
    SignalJobProcess(job->record.pid, SIGKILL);
  }
  if (!impl_->mu.AwaitWithDeadline(absl::Condition(&ended), absl::Now() + kReapAfterKill)) {
    return absl::DeadlineExceededError(
        absl::StrCat("job ", id, " was signalled but has not ended yet"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<JobEvent>> JobManager::WaitEvents(const std::string& id, int64_t after,
                                                             absl::Time deadline,
                                                             bool* ended) const {
  absl::MutexLock lock(&impl_->mu);
  const Job* job = impl_->Find(id);
  if (job == nullptr) return absl::NotFoundError(absl::StrCat("no job '", id, "'"));
  auto ready = [job, after]() { return job->last_sequence > after || IsFinal(job->record.state); };
  impl_->mu.AwaitWithDeadline(absl::Condition(&ready), deadline);
  std::vector<JobEvent> events;
  for (const JobEvent& event : job->events) {
    if (event.sequence > after) events.push_back(event);
  }
  if (ended != nullptr) *ended = IsFinal(job->record.state);
  return events;
}

absl::StatusOr<std::string> JobManager::ArtifactPath(const std::string& id,
                                                     const std::string& relative) const {
  std::string output_dir;
  {
    absl::MutexLock lock(&impl_->mu);
    const Job* job = impl_->Find(id);
    if (job == nullptr) return absl::NotFoundError(absl::StrCat("no job '", id, "'"));
    output_dir = job->record.output_dir;
  }
  if (fs::path(relative).is_absolute()) {
    return absl::PermissionDeniedError(
        absl::StrCat("artifact '", relative, "': must be relative to the job's output directory"));
  }
  std::error_code ec;
  const fs::path base = fs::weakly_canonical(output_dir, ec);
  if (ec || !fs::exists(base)) {
    return absl::NotFoundError(absl::StrCat("job ", id, " has no output directory yet"));
  }
  const fs::path path = fs::weakly_canonical(base / relative, ec);
  if (ec) {
    return absl::NotFoundError(absl::StrCat("artifact '", relative, "': ", ec.message()));
  }
  if (!IsInside(path, base)) {
    return absl::PermissionDeniedError(
        absl::StrCat("artifact '", relative, "' is outside job ", id, "'s output directory"));
  }
  if (!fs::exists(path)) {
    return absl::NotFoundError(
        absl::StrCat("artifact '", relative, "' does not exist in job ", id, "'s output"));
  }
  return path.string();
}

void JobManager::Shutdown() {
  impl_->Shutdown();
}

}  // namespace tristage::server::jobs
