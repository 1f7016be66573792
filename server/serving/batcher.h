// DynamicBatcher: the request queue and the batching policy of a served model (Triton's dynamic
// batcher semantics), generic over its task and timed by a Clock given from outside.
//
// A consumer (a pipeline worker) asks Next() for a batch when it is free: the oldest task, then
// what else is queued, up to max_batch_size rows, dispatched at once when the rows reach a
// preferred size, and otherwise waiting at most max_queue_delay after the oldest task was enqueued
// for company. Tasks that queued while every consumer was busy go together at once (their delay
// has run). A task that would overflow the batch is carried to that consumer's next batch.
//
// Task: any type with `int64_t rows` and `absl::Time enqueued` (set by the producer, on the same
// clock) members.
// Ownership: the batcher owns the queued tasks; Next hands them to the caller.
// Thread safety: TryPush, Close and size from any thread; Next from any number of consumers, each
// with its own Cursor.
#ifndef TRISTAGE_SERVER_SERVING_BATCHER_H_
#define TRISTAGE_SERVER_SERVING_BATCHER_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "server/serving/bounded_queue.h"
#include "server/serving/clock.h"

namespace tristage::server {

struct BatchPolicy {
  int64_t max_batch_size = 1;
  std::vector<int64_t> preferred_batch_sizes;
  absl::Duration max_queue_delay = absl::ZeroDuration();
  size_t max_queue_size = 1;  // tasks; TryPush refuses beyond it
};

template <typename Task>
class DynamicBatcher {
 public:
  using TaskPtr = std::unique_ptr<Task>;
  // One consumer's state between its batches.
  struct Cursor {
    TaskPtr carry;  // the task that did not fit the consumer's last batch
  };

  // `clock` (not owned) outlives the batcher.
  DynamicBatcher(BatchPolicy policy, const Clock& clock)
      : policy_(std::move(policy)), clock_(clock), queue_(policy_.max_queue_size, clock) {}

  // False when the queue is full or closed; `task` is left untouched then.
  bool TryPush(TaskPtr& task) { return queue_.TryPush(task); }
  // Stops admission; Next drains what is queued, then returns an empty batch.
  void Close() { queue_.Close(); }
  size_t size() const { return queue_.size(); }

  // The next batch (see the file comment); empty once closed and drained. `keep` is asked about
  // each task as it is taken: false means it was answered by `keep` (expired, cancelled) and is
  // dropped. `on_first` runs once the batch's first task is in hand, before it waits for company.
  std::vector<TaskPtr> Next(Cursor& cursor, const std::function<bool(TaskPtr&)>& keep,
                            const std::function<void()>& on_first) {
    while (true) {
      TaskPtr first = std::move(cursor.carry);
      if (first == nullptr) {
        std::optional<TaskPtr> popped = queue_.Pop();
        if (!popped.has_value()) return {};  // closed and drained
        first = std::move(*popped);
      }
      if (!keep(first)) continue;
      if (on_first) on_first();
      std::vector<TaskPtr> batch;
      int64_t rows = first->rows;
      const absl::Time dispatch_by = first->enqueued + policy_.max_queue_delay;
      batch.push_back(std::move(first));
      while (rows < policy_.max_batch_size && !Preferred(rows)) {
        std::optional<TaskPtr> next = queue_.PopUntil(dispatch_by);
        if (!next.has_value()) break;  // the oldest task has waited long enough, or closed
        if (!keep(*next)) continue;
        if (rows + (*next)->rows > policy_.max_batch_size) {
          cursor.carry = std::move(*next);
          break;
        }
        rows += (*next)->rows;
        batch.push_back(std::move(*next));
      }
      return batch;
    }
  }

  const BatchPolicy& policy() const { return policy_; }
  const Clock& clock() const { return clock_; }

 private:
  bool Preferred(int64_t rows) const {
    for (int64_t size : policy_.preferred_batch_sizes) {
      if (rows == size) return true;
    }
    return false;
  }

  const BatchPolicy policy_;
  const Clock& clock_;
  BoundedQueue<TaskPtr> queue_;
};

}  // namespace tristage::server

#endif  // TRISTAGE_SERVER_SERVING_BATCHER_H_
