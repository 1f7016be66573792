#include "server/rpc/drain.h"

#include <utility>
#include <vector>

namespace tristage::server {

Drain::Call& Drain::Call::operator=(Call&& other) noexcept {
  if (this != &other) {
    Release();
    drain_ = other.drain_;
    other.drain_ = nullptr;
  }
  return *this;
}

void Drain::Call::Release() {
  if (drain_ == nullptr) return;
  absl::MutexLock lock(&drain_->count_mu_);
  --drain_->in_flight_;
  drain_ = nullptr;
}

Drain::Call Drain::Begin() {
  absl::MutexLock lock(&count_mu_);
  // Checked under count_mu_: Start() sets the flag and then waits under the same mutex, so no
  // call slips in after WaitIdle saw zero.
  if (draining()) return Call();
  ++in_flight_;
  return Call(this);
}

int64_t Drain::AddListener(std::function<void()> stop) {
  absl::MutexLock lock(&listeners_mu_);
  if (draining()) {
    stop();
    return 0;
  }
  const int64_t id = next_listener_++;
  listeners_.emplace(id, std::move(stop));
  return id;
}

void Drain::RemoveListener(int64_t id) {
  absl::MutexLock lock(&listeners_mu_);
  listeners_.erase(id);
}

void Drain::Start() {
  {
    absl::MutexLock lock(&count_mu_);
    draining_.store(true, std::memory_order_release);
  }
  absl::MutexLock lock(&listeners_mu_);
  for (auto& [id, stop] : listeners_) stop();
  listeners_.clear();
}

bool Drain::WaitIdle(absl::Time deadline) {
  absl::MutexLock lock(&count_mu_);
  auto idle = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(count_mu_) { return in_flight_ == 0; };
  return count_mu_.AwaitWithDeadline(absl::Condition(&idle), deadline);
}

int64_t Drain::in_flight() const {
  absl::MutexLock lock(&count_mu_);
  return in_flight_;
}

}  // namespace tristage::server
