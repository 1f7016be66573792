// ModelPipeline: one served model version, the three steps of its Servable (core/export/servable.h)
// pipelined behind a dynamic batcher (batcher.h).
//
//   Submit -> request queue (bounded: max_queue_size; full -> RESOURCE_EXHAUSTED at once)
//          -> preprocessor workers, each batching when it is free (DynamicBatcher: Triton's
//             semantics: up to max_batch_size rows, at once on a preferred size, a lone request
//             waiting at most max_queue_delay_us; what queued while the worker was busy goes
//             together)
//          -> predictor workers -> postprocessor workers
//             (each stage: `instances` threads reading a bounded queue of 2 x instances batches,
//             so a slow stage pushes back upstream, and the request queue fills)
//          -> each request's rows split back out and handed to its `done`.
// An idle pipeline (empty request queue, a free preprocessing slot, max_queue_delay_us 0) runs a
// lone request on the submitting thread instead: no thread hand-off, and what else arrives
// meanwhile queues for the workers as usual. At most `preprocessor.instances` batches preprocess
// at once either way.
// Stages overlap: batch k+1 preprocesses while batch k predicts. Requests whose deadline passed or
// whose client cancelled are dropped before each stage's compute. A row that cannot be
// preprocessed fails its own request (the batch is retried without it), not its batch-mates.
//
// Ownership: the pipeline owns every thread and queue it starts; Shutdown() (also the destructor)
// stops admission, lets everything already accepted finish, and joins them. It never sees a tensor
// or a device: those stay behind the Servable, so tests drive it with a fake one.
// Thread safety: Submit and stats() from any thread; Shutdown from one.
#ifndef TRISTAGE_SERVER_SERVING_PIPELINE_H_
#define TRISTAGE_SERVER_SERVING_PIPELINE_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "core/export/manifest.h"
#include "core/export/servable.h"
#include "core/export/values.h"
#include "server/serving/clock.h"
#include "server/serving/serving_config.h"

namespace tristage::server {

struct InferRequest {
  exporting::InputColumns inputs;
  int64_t rows = 0;  // set by Submit
  absl::Time enqueued;
  absl::Time deadline = absl::InfiniteFuture();
  // False: always queue for the workers, even when the pipeline is idle (see Submit).
  bool may_run_inline = true;
  // Polled before each stage; may be empty.
  std::function<bool()> cancelled;
  // Called exactly once when Submit accepted the request, from a pipeline thread or from the
  // submitting thread before Submit returns (see Submit).
  std::function<void(absl::StatusOr<exporting::OutputMap>)> done;
};

// Counters since the pipeline started, read by ModelStatistics and /metrics (Triton's meanings).
struct PipelineStats {
  // Batch-size histogram bucket bounds (rows); the last bucket is +Inf.
  static constexpr int64_t kBatchBuckets[] = {1, 2, 4, 8, 16, 32, 64, 128, 256};
  static constexpr int kBuckets = 10;

  std::atomic<int64_t> requests_ok{0};
  std::atomic<int64_t> requests_failed{0};
  // Failures by reason: refused at admission (queue full; bad inputs), deadline passed, client
  // cancelled, a row that could not be preprocessed, an internal stage error.
  std::atomic<int64_t> rejected{0};
  std::atomic<int64_t> failed_invalid{0};
  std::atomic<int64_t> failed_timeout{0};
  std::atomic<int64_t> failed_cancelled{0};
  std::atomic<int64_t> failed_internal{0};
  std::atomic<int64_t> batch_size_buckets[kBuckets] = {};
  std::atomic<int64_t> batch_size_sum{0};
  std::atomic<int64_t> batches{0};
  std::atomic<int64_t> rows{0};
  // Summed stage compute time, microseconds.
  std::atomic<int64_t> preprocess_us{0};
  std::atomic<int64_t> predict_us{0};
  std::atomic<int64_t> postprocess_us{0};
  std::atomic<int64_t> queue_us{0};
  // Successful requests' end-to-end time (admission to answer), microseconds, and failed ones'.
  std::atomic<int64_t> request_us{0};
  std::atomic<int64_t> failed_us{0};
  // Unix milliseconds of the last answered request (0: none yet).
  std::atomic<int64_t> last_inference_ms{0};
};

class ModelPipeline {
 public:
  // Serves `servable` (owned from now on) with `config`'s batching, instances and limits: warms
  // it up (a refusal is logged, not fatal) and starts the threads. `clock` (not owned, outlives
  // the pipeline) times the batcher, deadlines and statistics.
  static std::unique_ptr<ModelPipeline> Create(std::unique_ptr<exporting::Servable> servable,
                                               const ServingConfig& config,
                                               const Clock& clock = RealClock());
  ~ModelPipeline();

  const exporting::Manifest& manifest() const;
  const ServingConfig& config() const { return config_; }

  // Validates the inputs and enqueues (or, the pipeline idle, runs the request here). A request
  // with more rows than max_batch_size is split into pieces of max_batch_size rows, each queued
  // and batched as a request of its own, and answered whole: the pieces' outputs in row order, or
  // the first error of a piece, saying which rows it held ("rows 64-127 of the request: ...").
  // InvalidArgument (bad inputs, more rows than max_request_rows), ResourceExhausted (queue
  // full), Unavailable (shutting down): `done` is not called then. OK: `done` is called exactly
  // once, on a pipeline thread or, when the request ran inline, on this one before Submit
  // returns. (A split request whose later piece finds the queue full is accepted; it fails with
  // that status once its accepted pieces are done.)
  absl::Status Submit(std::unique_ptr<InferRequest> request);

  // Stops admission, finishes what was accepted, joins the threads. Idempotent.
  void Shutdown();

  const PipelineStats& stats() const { return stats_; }
  // Requests accepted and not yet answered (queued, batching or computing).
  int64_t pending() const { return in_flight_.load(std::memory_order_relaxed); }

 private:
  struct Impl;
  ModelPipeline(ServingConfig config, std::unique_ptr<Impl> impl);
  // Queues (or runs inline) one validated request of at most max_batch_size rows.
  absl::Status Admit(std::unique_ptr<InferRequest> request);
  absl::Status SubmitInPieces(std::unique_ptr<InferRequest> request);

  const ServingConfig config_;
  PipelineStats stats_;
  std::atomic<int64_t> in_flight_{0};
  std::unique_ptr<Impl> impl_;
};

}  // namespace tristage::server

#endif  // TRISTAGE_SERVER_SERVING_PIPELINE_H_
