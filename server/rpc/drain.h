// Drain: what the RPC services and Server::Shutdown share to end calls in order at SIGTERM.
//
// Until Start(), every call that does work (a unary inference call, each request a stream
// accepted, an Admin call other than a watch) holds a Drain::Call for as long as it works.
// Start() (Server::Shutdown, first thing) makes Begin() refuse new work, tells every registered
// stream or watch to stop taking requests (they finish what they accepted, then end), and
// WaitIdle(deadline) returns once the calls holding a Call are done or at the deadline, after
// which the server cancels whatever is left (health watches, idle streams, late work).
//
// Lock order: the listeners' mutex, then whatever a listener locks, then the counter's mutex; so
// a listener may call Begin() and a stream may call Begin() under its own lock.
// Thread safety: every method from any thread.
#ifndef TRISTAGE_SERVER_RPC_DRAIN_H_
#define TRISTAGE_SERVER_RPC_DRAIN_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace tristage::server {

class Drain {
 public:
  // Held by a call while it works; released by destruction (movable, shareable through
  // std::shared_ptr when a callback carries it).
  class Call {
   public:
    Call() = default;
    Call(Call&& other) noexcept : drain_(other.drain_) { other.drain_ = nullptr; }
    Call& operator=(Call&& other) noexcept;
    Call(const Call&) = delete;
    Call& operator=(const Call&) = delete;
    ~Call() { Release(); }
    explicit operator bool() const { return drain_ != nullptr; }
    void Release();

   private:
    friend class Drain;
    explicit Call(Drain* drain) : drain_(drain) {}
    Drain* drain_ = nullptr;
  };

  // An empty (false) Call once draining started: the caller answers UNAVAILABLE (kShuttingDown).
  Call Begin();
  bool draining() const { return draining_.load(std::memory_order_acquire); }
  // False from the first step of shutdown (health NOT_SERVING), which may precede the drain by
  // --drain-delay-secs: readiness answers "not ready" while work is still accepted.
  bool ready() const { return ready_.load(std::memory_order_acquire) && !draining(); }
  void MarkNotReady() { ready_.store(false, std::memory_order_release); }

  // `stop` runs once, when draining starts (at once, here, if it already did). The id removes it;
  // Remove waits for a `stop` that is running, so after it returns `stop` never runs.
  int64_t AddListener(std::function<void()> stop);
  void RemoveListener(int64_t id);

  void Start();
  // True when no call holds a Call; false at `deadline` with calls still working.
  bool WaitIdle(absl::Time deadline);
  int64_t in_flight() const;

  static constexpr char kShuttingDown[] = "the server is shutting down";

 private:
  std::atomic<bool> draining_{false};
  std::atomic<bool> ready_{true};
  absl::Mutex listeners_mu_;
  std::map<int64_t, std::function<void()>> listeners_ ABSL_GUARDED_BY(listeners_mu_);
  int64_t next_listener_ ABSL_GUARDED_BY(listeners_mu_) = 1;
  mutable absl::Mutex count_mu_;
  int64_t in_flight_ ABSL_GUARDED_BY(count_mu_) = 0;
};

}  // namespace tristage::server

#endif  // TRISTAGE_SERVER_RPC_DRAIN_H_
