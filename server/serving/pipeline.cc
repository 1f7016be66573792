#include "server/serving/pipeline.h"

#include <algorithm>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/blocking_counter.h"
#include "core/util/log.h"
#include "core/util/status_macros.h"
#include "server/serving/batcher.h"
#include "server/serving/bounded_queue.h"

namespace tristage::server {
namespace {

// How close to its deadline a cancelled request counts as timed out (gRPC's clock and ours).
constexpr absl::Duration kDeadlineSlack = absl::Milliseconds(5);

// A batch travelling through the stages: its requests (each with its row range) and what the
// servable's last step made of them.
struct Batch {
  std::vector<std::unique_ptr<InferRequest>> requests;
  std::unique_ptr<exporting::ServableBatch> data;
};
using BatchPtr = std::unique_ptr<Batch>;

BatchPolicy PolicyOf(const ServingConfig& config) {
  BatchPolicy policy;
  policy.max_batch_size = config.max_batch_size;
  policy.preferred_batch_sizes = config.preferred_batch_sizes;
  policy.max_queue_delay = absl::Microseconds(config.max_queue_delay_us);
  policy.max_queue_size = static_cast<size_t>(config.max_queue_size);
  return policy;
}

}  // namespace

struct ModelPipeline::Impl {
  Impl(std::unique_ptr<exporting::Servable> loaded, const ServingConfig& config,
       PipelineStats& stats, const Clock& clock)
      : servable(std::move(loaded)),
        config(config),
        stats(stats),
        clock(clock),
        requests(PolicyOf(config), clock),
        to_predict(static_cast<size_t>(2 * config.predictor.instances), clock),
        to_postprocess(static_cast<size_t>(2 * config.postprocessor.instances), clock) {}

  int64_t Micros(absl::Time since) const { return absl::ToInt64Microseconds(clock.Now() - since); }

  void Start();
  void Stop();
  // Preprocessing slots: at most `preprocessor.instances` batches preprocess at once, whether on a
  // preprocessor worker or inline on a submitting thread. A worker that popped a request waits for
  // a slot; a submitter only takes a free one, and only when no worker is waiting for one.
  bool TryAcquireSlot() {
    absl::MutexLock lock(&slot_mu);
    if (slots_closed || free_slots == 0 || workers_wanting_slot > 0) return false;
    --free_slots;
    return true;
  }
  void AcquireSlot() {
    absl::MutexLock lock(&slot_mu);
    ++workers_wanting_slot;
    slot_mu.Await(absl::Condition(this, &Impl::SlotFree));
    --workers_wanting_slot;
    --free_slots;
  }
  bool SlotFree() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(slot_mu) { return free_slots > 0; }
  bool AllSlotsFree() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(slot_mu) {
    return free_slots == config.preprocessor.instances;
  }
  void ReleaseSlot() {
    absl::MutexLock lock(&slot_mu);
    ++free_slots;
  }
  // Runs a lone request's batch on the submitting thread when the request queue is empty and a
  // preprocessing slot is free (max_queue_delay_us 0 only: there is nobody to wait for). An idle
  // pipeline then answers without any thread hand-off. False: the caller queues the request.
  bool TryRunInline(std::unique_ptr<InferRequest>& request);
  // The dynamic batcher's next batch for a preprocessor worker, with a preprocessing slot taken
  // (released by RunPreprocessor once the batch is processed). nullptr once the queue is closed
  // and drained.
  BatchPtr NextBatch(DynamicBatcher<InferRequest>::Cursor& cursor);
  void RunPreprocessor();
  // Preprocesses a batch and passes it on (or, downstream idle, runs the rest of the stages).
  void Process(BatchPtr batch);
  void RunPredictor();
  void RunPostprocessor();
  // The predictor and postprocessor steps of one batch (also run back to back when fused).
  bool Predict(Batch& batch);
  void Answer(Batch& batch);
  // Answers here when the postprocessors are idle with nothing queued, else queues the batch.
  void AnswerOrHandOff(BatchPtr batch);
  // True when every worker of a stage waits on its empty queue: handing a batch over would only
  // add a thread wake-up, so the caller runs that stage itself. Under load the stage is busy and
  // batches flow through the queues, overlapping.
  static bool StageIdle(const BoundedQueue<BatchPtr>& queue, const std::atomic<int>& waiting,
                        int instances) {
    return queue.size() == 0 && waiting.load() == instances;
  }

  void Fail(std::unique_ptr<InferRequest>& request, const absl::Status& status) {
    stats.requests_failed.fetch_add(1, std::memory_order_relaxed);
    switch (status.code()) {
      case absl::StatusCode::kInvalidArgument:
        stats.failed_invalid.fetch_add(1, std::memory_order_relaxed);
        break;
      case absl::StatusCode::kDeadlineExceeded:
        stats.failed_timeout.fetch_add(1, std::memory_order_relaxed);
        break;
      case absl::StatusCode::kCancelled:
        stats.failed_cancelled.fetch_add(1, std::memory_order_relaxed);
        break;
      default: stats.failed_internal.fetch_add(1, std::memory_order_relaxed);
    }
    stats.failed_us.fetch_add(Micros(request->enqueued), std::memory_order_relaxed);
    request->done(status);
    request.reset();
  }
  void FailAll(Batch& batch, const absl::Status& status) {
    for (auto& request : batch.requests) {
      if (request != nullptr) Fail(request, status);
    }
    batch.requests.clear();
  }
  // Fails the requests that expired or were cancelled; false when it failed `request`.
  bool StillWanted(std::unique_ptr<InferRequest>& request) {
    const absl::Time now = clock.Now();
    if (request->cancelled && request->cancelled()) {
      // gRPC cancels a call whose deadline passed, at about the same moment: that is a timeout
      // (metrics: TIMEOUT, not CANCELED), unless the deadline is still clearly ahead.
      if (now + kDeadlineSlack >= request->deadline) {
        Fail(request, absl::DeadlineExceededError("the request's deadline passed while it queued"));
      } else {
        Fail(request, absl::CancelledError("the client cancelled the request"));
      }
      return false;
    }
    if (now >= request->deadline) {
      Fail(request, absl::DeadlineExceededError("the request's deadline passed while it queued"));
      return false;
    }
    return true;
  }
  void DropUnwanted(Batch& batch) {
    std::vector<std::unique_ptr<InferRequest>> kept;
    for (auto& request : batch.requests) {
      if (StillWanted(request)) kept.push_back(std::move(request));
    }
    batch.requests = std::move(kept);
  }
  absl::StatusOr<std::unique_ptr<exporting::ServableBatch>> Preprocess(
      const std::vector<std::unique_ptr<InferRequest>>& batch) {
    if (batch.size() == 1) return servable->Preprocess(batch.front()->inputs);
    exporting::InputColumns columns;
    for (const auto& request : batch) exporting::AppendRows(columns, request->inputs);
    return servable->Preprocess(columns);
  }

  const std::unique_ptr<exporting::Servable> servable;
  const ServingConfig& config;
  PipelineStats& stats;
  const Clock& clock;

  DynamicBatcher<InferRequest> requests;
  BoundedQueue<BatchPtr> to_predict;
  BoundedQueue<BatchPtr> to_postprocess;

  // Owned threads, joined by Stop() stage by stage, upstream first.
  std::vector<std::thread> preprocessors;
  std::vector<std::thread> predictors;
  std::vector<std::thread> postprocessors;
  std::atomic<bool> accepting{true};
  std::unique_ptr<absl::BlockingCounter> started;  // Start() waits for every worker once
  absl::Mutex slot_mu;
  int free_slots ABSL_GUARDED_BY(slot_mu) = 0;
  int workers_wanting_slot ABSL_GUARDED_BY(slot_mu) = 0;
  bool slots_closed ABSL_GUARDED_BY(slot_mu) = false;
  std::atomic<int> preprocessors_waiting{0};
  std::atomic<int> predictors_waiting{0};
  std::atomic<int> postprocessors_waiting{0};
  bool stopped = false;
};

void ModelPipeline::Impl::Start() {
  {
    absl::MutexLock lock(&slot_mu);
    free_slots = config.preprocessor.instances;
  }
  // Start returns once every worker waits on its queue, so that an idle pipeline is seen idle
  // (StageIdle) from its first request on.
  const int workers =
      config.preprocessor.instances +
      (config.fused ? 0 : config.predictor.instances + config.postprocessor.instances);
  started = std::make_unique<absl::BlockingCounter>(workers);
  for (int i = 0; i < config.preprocessor.instances; ++i) {
    preprocessors.emplace_back([this] { RunPreprocessor(); });
  }
  if (!config.fused) {  // fused: the preprocessor threads run all three stages
    for (int i = 0; i < config.predictor.instances; ++i) {
      predictors.emplace_back([this] { RunPredictor(); });
    }
    for (int i = 0; i < config.postprocessor.instances; ++i) {
      postprocessors.emplace_back([this] { RunPostprocessor(); });
    }
  }
  started->Wait();
}

void ModelPipeline::Impl::Stop() {
  if (stopped) return;
  stopped = true;
  accepting.store(false);
  // Each stage drains its queue and exits once its upstream has exited and closed it.
  requests.Close();
  for (std::thread& t : preprocessors) t.join();
  {
    // Inline batches still preprocessing on submitting threads finish before the queues behind
    // them close; no new ones start.
    absl::MutexLock lock(&slot_mu);
    slots_closed = true;
    slot_mu.Await(absl::Condition(this, &Impl::AllSlotsFree));
  }
  to_predict.Close();
  for (std::thread& t : predictors) t.join();
  to_postprocess.Close();
  for (std::thread& t : postprocessors) t.join();
}

BatchPtr ModelPipeline::Impl::NextBatch(DynamicBatcher<InferRequest>::Cursor& cursor) {
  auto batch = std::make_unique<Batch>();
  batch->requests = requests.Next(
      cursor, [this](std::unique_ptr<InferRequest>& request) { return StillWanted(request); },
      [this] { AcquireSlot(); });
  if (batch->requests.empty()) return nullptr;
  const absl::Time now = clock.Now();
  for (const auto& request : batch->requests) {
    stats.queue_us.fetch_add(absl::ToInt64Microseconds(now - request->enqueued),
                             std::memory_order_relaxed);
  }
  return batch;
}

void ModelPipeline::Impl::RunPreprocessor() {
  DynamicBatcher<InferRequest>::Cursor cursor;  // this worker's carried request
  bool first = true;
  while (true) {
    preprocessors_waiting.fetch_add(1);
    if (std::exchange(first, false)) started->DecrementCount();
    BatchPtr next = NextBatch(cursor);
    preprocessors_waiting.fetch_sub(1);
    if (next == nullptr) break;
    Process(std::move(next));
    ReleaseSlot();
  }
}

bool ModelPipeline::Impl::TryRunInline(std::unique_ptr<InferRequest>& request) {
  if (!request->may_run_inline || config.max_queue_delay_us != 0 || requests.size() != 0 ||
      !TryAcquireSlot()) {
    return false;
  }
  stats.queue_us.fetch_add(Micros(request->enqueued), std::memory_order_relaxed);
  auto batch = std::make_unique<Batch>();
  batch->requests.push_back(std::move(request));
  Process(std::move(batch));
  ReleaseSlot();
  return true;
}

void ModelPipeline::Impl::Process(BatchPtr next) {
  {
    Batch& batch = *next;
    DropUnwanted(batch);
    if (batch.requests.empty()) return;
    const absl::Time start = clock.Now();
    absl::StatusOr<std::unique_ptr<exporting::ServableBatch>> preprocessed =
        Preprocess(batch.requests);
    if (!preprocessed.ok() && batch.requests.size() > 1) {
      // Find the requests at fault, fail them alone, and run the rest together again.
      std::vector<std::unique_ptr<InferRequest>> good;
      for (auto& request : batch.requests) {
        std::vector<std::unique_ptr<InferRequest>> one;
        one.push_back(std::move(request));
        absl::StatusOr<std::unique_ptr<exporting::ServableBatch>> alone = Preprocess(one);
        if (alone.ok()) {
          good.push_back(std::move(one.front()));
        } else {
          Fail(one.front(), alone.status());
        }
      }
      batch.requests = std::move(good);
      if (batch.requests.empty()) return;
      preprocessed = Preprocess(batch.requests);
    }
    stats.preprocess_us.fetch_add(Micros(start), std::memory_order_relaxed);
    if (!preprocessed.ok()) {
      FailAll(batch, preprocessed.status());
      return;
    }
    batch.data = std::move(*preprocessed);
    if (config.fused || StageIdle(to_predict, predictors_waiting, config.predictor.instances)) {
      // Nothing for the predictor to overlap with: running it here saves two thread hand-offs.
      if (Predict(batch)) AnswerOrHandOff(std::move(next));
      return;
    }
    if (!to_predict.Push(std::move(next))) FailAll(batch, absl::UnavailableError("shutting down"));
  }
}

bool ModelPipeline::Impl::Predict(Batch& batch) {
  DropUnwanted(batch);
  if (batch.requests.empty()) return false;
  const absl::Time start = clock.Now();
  // A predictor that calls out gives up when the last of the batch's requests would.
  absl::Time deadline = absl::InfinitePast();
  for (const auto& request : batch.requests) deadline = std::max(deadline, request->deadline);
  batch.data->deadline = deadline;
  absl::Status predicted = servable->Predict(*batch.data);
  stats.predict_us.fetch_add(Micros(start), std::memory_order_relaxed);
  if (!predicted.ok()) {
    // The servable's code: INTERNAL for a local predictor; a remote one's UNAVAILABLE or
    // DEADLINE_EXCEEDED say what the client can do about it.
    FailAll(batch, predicted);
    return false;
  }
  return true;
}

void ModelPipeline::Impl::Answer(Batch& batch) {
  const absl::Time start = clock.Now();
  absl::StatusOr<exporting::OutputMap> decoded = servable->Postprocess(*batch.data);
  batch.data.reset();
  stats.postprocess_us.fetch_add(Micros(start), std::memory_order_relaxed);
  if (!decoded.ok()) {
    FailAll(batch, decoded.status());
    return;
  }
  stats.batches.fetch_add(1, std::memory_order_relaxed);
  int64_t batch_rows = 0;
  for (const auto& request : batch.requests) batch_rows += request->rows;
  int bucket = 0;
  while (bucket < PipelineStats::kBuckets - 1 &&
         batch_rows > PipelineStats::kBatchBuckets[bucket]) {
    ++bucket;
  }
  stats.batch_size_buckets[bucket].fetch_add(1, std::memory_order_relaxed);
  stats.batch_size_sum.fetch_add(batch_rows, std::memory_order_relaxed);
  int64_t offset = 0;
  for (auto& request : batch.requests) {
    const int64_t rows = request->rows;
    stats.rows.fetch_add(rows, std::memory_order_relaxed);
    stats.requests_ok.fetch_add(1, std::memory_order_relaxed);
    stats.request_us.fetch_add(Micros(request->enqueued), std::memory_order_relaxed);
    stats.last_inference_ms.store(absl::ToUnixMillis(clock.Now()), std::memory_order_relaxed);
    request->done(exporting::SliceOutputs(*decoded, offset, offset + rows));
    offset += rows;
  }
}

void ModelPipeline::Impl::AnswerOrHandOff(BatchPtr batch) {
  if (config.fused ||
      StageIdle(to_postprocess, postprocessors_waiting, config.postprocessor.instances)) {
    Answer(*batch);
    return;
  }
  Batch& ref = *batch;
  if (!to_postprocess.Push(std::move(batch))) FailAll(ref, absl::UnavailableError("shutting down"));
}

void ModelPipeline::Impl::RunPredictor() {
  bool first = true;
  while (true) {
    predictors_waiting.fetch_add(1);
    if (std::exchange(first, false)) started->DecrementCount();
    std::optional<BatchPtr> next = to_predict.Pop();
    predictors_waiting.fetch_sub(1);
    if (!next.has_value()) break;
    if (Predict(**next)) AnswerOrHandOff(std::move(*next));
  }
}

void ModelPipeline::Impl::RunPostprocessor() {
  bool first = true;
  while (true) {
    postprocessors_waiting.fetch_add(1);
    if (std::exchange(first, false)) started->DecrementCount();
    std::optional<BatchPtr> next = to_postprocess.Pop();
    postprocessors_waiting.fetch_sub(1);
    if (!next.has_value()) break;
    Answer(**next);
  }
}

ModelPipeline::ModelPipeline(ServingConfig config, std::unique_ptr<Impl> impl)
    : config_(std::move(config)), impl_(std::move(impl)) {}

std::unique_ptr<ModelPipeline> ModelPipeline::Create(std::unique_ptr<exporting::Servable> servable,
                                                     const ServingConfig& config,
                                                     const Clock& clock) {
  // A model that refuses the warm-up row (drop_row inputs) is logged, not fatal.
  if (absl::Status warm = servable->WarmUp(); !warm.ok()) {
    TRISTAGE_LOG(Warning) << "warm-up skipped: " << warm.message();
  }
  std::unique_ptr<ModelPipeline> pipeline(new ModelPipeline(config, nullptr));
  pipeline->impl_ =
      std::make_unique<Impl>(std::move(servable), pipeline->config_, pipeline->stats_, clock);
  pipeline->impl_->Start();
  return pipeline;
}

ModelPipeline::~ModelPipeline() {
  Shutdown();
}

const exporting::Manifest& ModelPipeline::manifest() const {
  return impl_->servable->manifest();
}

absl::Status ModelPipeline::Submit(std::unique_ptr<InferRequest> request) {
  if (!impl_->accepting.load()) {
    return absl::UnavailableError("the model version is unloading");
  }
  auto invalid = [this](absl::Status status) {
    stats_.requests_failed.fetch_add(1, std::memory_order_relaxed);
    stats_.failed_invalid.fetch_add(1, std::memory_order_relaxed);
    return status;
  };
  for (const auto& [name, column] : request->inputs) {
    for (size_t row = 0; row < column.strings.size(); ++row) {
      const size_t size = column.strings[row].size();
      if (static_cast<int64_t>(size) > config_.max_cell_bytes) {
        return invalid(absl::InvalidArgumentError(absl::StrCat(
            "feature '", name, "' row ", row, ": ", size, " bytes, over this model's limit of ",
            config_.max_cell_bytes, " bytes per cell (max_cell_bytes in serving.yaml)")));
      }
    }
  }
  absl::StatusOr<int64_t> rows = exporting::ValidateInputs(manifest(), request->inputs);
  if (!rows.ok()) return invalid(rows.status());
  request->rows = *rows;
  if (request->rows == 0) return invalid(absl::InvalidArgumentError("the request has no rows"));
  if (request->rows > config_.max_request_rows) {
    return invalid(absl::InvalidArgumentError(absl::StrCat(
        "the request has ", request->rows, " rows; this model takes at most ",
        config_.max_request_rows, " (max_request_rows in serving.yaml; requests over its ",
        "max_batch_size of ", config_.max_batch_size, " are split into batches)")));
  }
  if (request->rows > config_.max_batch_size) return SubmitInPieces(std::move(request));
  return Admit(std::move(request));
}

absl::Status ModelPipeline::SubmitInPieces(std::unique_ptr<InferRequest> request) {
  // Owned by the pieces' callbacks; the last one to finish answers the request.
  struct Gather {
    absl::Mutex mu;
    std::vector<exporting::OutputMap> parts ABSL_GUARDED_BY(mu);
    absl::Status error ABSL_GUARDED_BY(mu);
    int64_t remaining ABSL_GUARDED_BY(mu) = 0;
    std::function<void(absl::StatusOr<exporting::OutputMap>)> done;
  };
  const int64_t rows = request->rows;
  const int64_t size = config_.max_batch_size;
  const int64_t pieces = (rows + size - 1) / size;
  auto gather = std::make_shared<Gather>();
  {
    absl::MutexLock lock(&gather->mu);
    gather->parts.resize(static_cast<size_t>(pieces));
    gather->remaining = pieces;
  }
  gather->done = std::move(request->done);
  auto finish = [gather](int64_t index, absl::StatusOr<exporting::OutputMap> outputs) {
    absl::Status error;
    std::vector<exporting::OutputMap> parts;
    {
      absl::MutexLock lock(&gather->mu);
      if (outputs.ok()) {
        gather->parts[static_cast<size_t>(index)] = std::move(*outputs);
      } else if (gather->error.ok()) {
        gather->error = outputs.status();
      }
      if (--gather->remaining > 0) return;
      error = gather->error;
      parts = std::move(gather->parts);
    }
    if (!error.ok()) {
      gather->done(error);
    } else {
      gather->done(exporting::ConcatOutputs(parts));
    }
  };
  auto located = [](const absl::Status& status, int64_t begin, int64_t end) {
    return absl::Status(status.code(), absl::StrCat("rows ", begin, "-", end - 1,
                                                    " of the request: ", status.message()));
  };
  for (int64_t index = 0; index < pieces; ++index) {
    const int64_t begin = index * size;
    const int64_t end = std::min(rows, begin + size);
    auto piece = std::make_unique<InferRequest>();
    for (const auto& [name, column] : request->inputs) {
      exporting::InputColumn& part = piece->inputs[name];
      part.is_strings = column.is_strings;
      part.width = column.width;
      if (column.is_strings) {
        part.strings.assign(column.strings.begin() + begin, column.strings.begin() + end);
      } else {
        const int64_t width = column.width > 0 ? column.width : 1;
        part.numbers.assign(column.numbers.begin() + begin * width,
                            column.numbers.begin() + end * width);
      }
    }
    piece->rows = end - begin;
    piece->deadline = request->deadline;
    piece->cancelled = request->cancelled;
    piece->may_run_inline = false;  // the pieces queue together and batch with other requests
    piece->done = [finish, located, index, begin, end](absl::StatusOr<exporting::OutputMap> out) {
      if (!out.ok()) out = located(out.status(), begin, end);
      finish(index, std::move(out));
    };
    absl::Status admitted = Admit(std::move(piece));
    if (admitted.ok()) continue;
    if (index == 0) return admitted;  // nothing accepted: `done` is not called
    // Accepted pieces finish; the others fail with this status, and the request with it.
    for (int64_t rest = index; rest < pieces; ++rest) {
      finish(rest, located(admitted, rest * size, std::min(rows, (rest + 1) * size)));
    }
    return absl::OkStatus();
  }
  return absl::OkStatus();
}

absl::Status ModelPipeline::Admit(std::unique_ptr<InferRequest> request) {
  request->enqueued = impl_->clock.Now();
  request->done = [this,
                   done = std::move(request->done)](absl::StatusOr<exporting::OutputMap> outputs) {
    in_flight_.fetch_sub(1, std::memory_order_relaxed);
    done(std::move(outputs));
  };
  in_flight_.fetch_add(1, std::memory_order_relaxed);
  if (config_.default_timeout_ms > 0 && request->deadline == absl::InfiniteFuture()) {
    request->deadline = request->enqueued + absl::Milliseconds(config_.default_timeout_ms);
  }
  if (impl_->TryRunInline(request)) return absl::OkStatus();
  if (!impl_->requests.TryPush(request)) {
    in_flight_.fetch_sub(1, std::memory_order_relaxed);
    if (impl_->accepting.load()) {
      stats_.requests_failed.fetch_add(1, std::memory_order_relaxed);
      stats_.rejected.fetch_add(1, std::memory_order_relaxed);
    }
    return impl_->accepting.load()
               ? absl::ResourceExhaustedError(absl::StrCat("the request queue is full (",
                                                           config_.max_queue_size, " requests)"))
               : absl::UnavailableError("the model version is unloading");
  }
  return absl::OkStatus();
}

void ModelPipeline::Shutdown() {
  if (impl_ != nullptr) impl_->Stop();
}

}  // namespace tristage::server
