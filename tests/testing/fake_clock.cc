#include "tests/testing/fake_clock.h"

#include <vector>

namespace tristage::testing {
namespace {

struct Wait {
  const absl::Condition* condition;
  const FakeClock* clock;
  absl::Time deadline;
};

bool Done(Wait* wait) {
  return wait->condition->Eval() || wait->clock->Now() >= wait->deadline;
}

}  // namespace

absl::Time FakeClock::Now() const {
  absl::MutexLock lock(&mu_);
  return now_;
}

bool FakeClock::AwaitWithDeadline(absl::Mutex& mu, const absl::Condition& condition,
                                  absl::Time deadline) const {
  {
    absl::MutexLock lock(&mu_);
    ++waiting_[&mu];
    ++waiters_;
  }
  Wait wait{&condition, this, deadline};
  // Re-evaluated whenever `mu` is released: by a producer, or by Advance poking it.
  mu.Await(absl::Condition(&Done, &wait));
  {
    absl::MutexLock lock(&mu_);
    if (--waiting_[&mu] == 0) waiting_.erase(&mu);
    --waiters_;
  }
  return condition.Eval();
}

void FakeClock::Advance(absl::Duration by) {
  std::vector<absl::Mutex*> poke;
  {
    absl::MutexLock lock(&mu_);
    now_ += by;
    for (const auto& [mu, count] : waiting_) poke.push_back(mu);
  }
  // Taking and releasing each waited-on mutex makes absl re-evaluate its waiters' conditions.
  // A wait that registers after the copy above reads the new time when it first evaluates.
  for (absl::Mutex* mu : poke) {
    mu->Lock();
    mu->Unlock();
  }
}

void FakeClock::AwaitWaiters(int count) const {
  absl::MutexLock lock(&mu_);
  auto enough = [this, count]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return waiters_ >= count; };
  mu_.Await(absl::Condition(&enough));
}

}  // namespace tristage::testing
