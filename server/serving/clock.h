// Clock: where the serving pipeline's time comes from. The batcher and its queues read the time
// and wait for deadlines through a Clock given from outside, so that their tests run on a fake
// clock (tests/testing/fake_clock.h) deterministically and without sleeps; the daemon uses
// RealClock().
//
// Thread safety: every method from any thread.
#ifndef TRISTAGE_SERVER_SERVING_CLOCK_H_
#define TRISTAGE_SERVER_SERVING_CLOCK_H_

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace tristage::server {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual absl::Time Now() const = 0;
  // With `mu` held: waits (releasing `mu`) until `condition` holds or Now() reaches `deadline`;
  // returns whether `condition` holds.
  virtual bool AwaitWithDeadline(absl::Mutex& mu, const absl::Condition& condition,
                                 absl::Time deadline) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) = 0;
};

// absl::Now() and absl::Mutex's own deadline wait.
const Clock& RealClock();

}  // namespace tristage::server

#endif  // TRISTAGE_SERVER_SERVING_CLOCK_H_
