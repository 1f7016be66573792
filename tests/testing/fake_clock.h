// FakeClock: a Clock (server/serving/clock.h) whose time moves only when a test advances it, so
// the batcher's and the pipeline's timing is deterministic without sleeps.
//
// Thread safety: every method from any thread.
#ifndef TRISTAGE_TESTS_TESTING_FAKE_CLOCK_H_
#define TRISTAGE_TESTS_TESTING_FAKE_CLOCK_H_

#include <map>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/serving/clock.h"

namespace tristage::testing {

class FakeClock final : public server::Clock {
 public:
  explicit FakeClock(absl::Time start = absl::FromUnixSeconds(1'000'000)) : now_(start) {}

  absl::Time Now() const override;
  bool AwaitWithDeadline(absl::Mutex& mu, const absl::Condition& condition,
                         absl::Time deadline) const override ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);

  // Moves the time forward and wakes the waits whose deadline it reached.
  void Advance(absl::Duration by);
  // Blocks until `count` threads wait on this clock for a deadline (a test's way of knowing that
  // a worker has reached its timed wait).
  void AwaitWaiters(int count) const;

 private:
  mutable absl::Mutex mu_;
  absl::Time now_ ABSL_GUARDED_BY(mu_);
  // The mutexes that timed waits hold, with how many wait on each.
  mutable std::map<absl::Mutex*, int> waiting_ ABSL_GUARDED_BY(mu_);
  mutable int waiters_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace tristage::testing

#endif  // TRISTAGE_TESTS_TESTING_FAKE_CLOCK_H_
