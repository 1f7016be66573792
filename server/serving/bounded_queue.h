// BoundedQueue: the one queue type of the serving pipeline. Every queue in the daemon is bounded;
// a producer either blocks (pipeline stages: backpressure) or is refused at once (request
// admission: RESOURCE_EXHAUSTED). Close() wakes everyone: pushes fail, pops drain what is left
// and then return nullopt. PopUntil's deadline is on the queue's Clock (clock.h).
//
// Thread safety: all methods may be called from any thread.
#ifndef TRISTAGE_SERVER_SERVING_BOUNDED_QUEUE_H_
#define TRISTAGE_SERVER_SERVING_BOUNDED_QUEUE_H_

#include <cstddef>
#include <deque>
#include <optional>
#include <utility>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/serving/clock.h"

namespace tristage::server {

template <typename T>
class BoundedQueue {
 public:
  // `clock` (not owned) outlives the queue.
  explicit BoundedQueue(size_t capacity, const Clock& clock = RealClock())
      : capacity_(capacity == 0 ? 1 : capacity), clock_(clock) {}

  // False when full or closed; `item` is left untouched then.
  bool TryPush(T& item) {
    absl::MutexLock lock(&mu_);
    if (closed_ || items_.size() >= capacity_) return false;
    items_.push_back(std::move(item));
    return true;
  }

  // Blocks while full; false when closed.
  bool Push(T item) {
    absl::MutexLock lock(&mu_);
    mu_.Await(absl::Condition(this, &BoundedQueue::CanPush));
    if (closed_) return false;
    items_.push_back(std::move(item));
    return true;
  }

  // Blocks until an item or Close(); nullopt only when closed and drained.
  std::optional<T> Pop() { return PopUntil(absl::InfiniteFuture()); }

  // As Pop, but gives up at `deadline` (nullopt).
  std::optional<T> PopUntil(absl::Time deadline) {
    absl::MutexLock lock(&mu_);
    if (deadline == absl::InfiniteFuture()) {
      mu_.Await(absl::Condition(this, &BoundedQueue::CanPop));
    } else {
      clock_.AwaitWithDeadline(mu_, absl::Condition(this, &BoundedQueue::CanPop), deadline);
    }
    if (items_.empty()) return std::nullopt;
    T item = std::move(items_.front());
    items_.pop_front();
    return item;
  }

  void Close() {
    absl::MutexLock lock(&mu_);
    closed_ = true;
  }

  size_t size() const {
    absl::MutexLock lock(&mu_);
    return items_.size();
  }
  size_t capacity() const { return capacity_; }

 private:
  bool CanPush() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return closed_ || items_.size() < capacity_;
  }
  bool CanPop() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return closed_ || !items_.empty(); }

  const size_t capacity_;
  const Clock& clock_;
  mutable absl::Mutex mu_;
  std::deque<T> items_ ABSL_GUARDED_BY(mu_);
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace tristage::server

#endif  // TRISTAGE_SERVER_SERVING_BOUNDED_QUEUE_H_
