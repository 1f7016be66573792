// MetricsExporter: the daemon's Prometheus registry and its HTTP `/metrics` endpoint.
//
//   GET|HEAD /metrics   the text exposition (text/plain; version=0.0.4) of every family
//   another method on /metrics: 405 (Allow: GET, HEAD); any other path: 404; malformed: 400
//
// prometheus-cpp builds and serializes the metrics; the HTTP side is Debian's cpp-httplib, not
// prometheus-cpp's exposer, because the exposer's civetweb starts threads with a fixed 100 KiB
// stack, smaller than the static TLS of libtorch + OpenBLAS + glog, so pthread_create fails in any
// process linking torch. Our threads are plain std::threads, whose default stack (RLIMIT_STACK,
// 8 MiB on Linux) holds that TLS; tests/server/metrics_test.cc and the daemon tests scrape
// torch-linked processes.
//
// Threads: an HttpListener (server/http/listener.h) with 2 workers: one listener thread accepts and
// hands each connection to them through a queue bounded at 2 connections; when it is full the
// listener stops accepting and new connections wait in the kernel's backlog (64). A connection
// carries one request (the answer says Connection: close; Prometheus scrapes every few seconds, so
// keep-alive would only hold a worker idle). A client silent for 2 s, before or in the middle of
// its request, is dropped: a slow client holds only its own worker, and for at most 2 s without
// progress. Plain HTTP (no TLS).
//
// Lifecycle: Create() binds and listens, then starts the threads, all owned by the exporter. The
// destructor stops accepting, closes the connections still queued unanswered, lets the workers
// finish the ones they are in (about 2 s at most for a stalled client) and joins every thread.
// The registry lives as long as the exporter; components add families to registry() at start-up.
// Thread safety: registry() families are thread-safe; AddCollectable may be called from any
// thread; the rest is immutable after Create.
#ifndef TRISTAGE_SERVER_METRICS_METRICS_H_
#define TRISTAGE_SERVER_METRICS_METRICS_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"

namespace httplib {
class Server;
}  // namespace httplib

namespace prometheus {
class Collectable;
class Registry;
}  // namespace prometheus

namespace tristage::server {

namespace http {
class HttpListener;
}  // namespace http

class MetricsExporter {
 public:
  struct Options {
    std::string bind_address = "127.0.0.1";
    int port = 8002;      // 0 picks a free port.
    std::string version;  // reported by tristage_build_info.
  };

  // Binds the HTTP listener. InvalidArgument when bind_address is not an IP address; Unavailable
  // when the port cannot be bound, naming the address.
  static absl::StatusOr<std::unique_ptr<MetricsExporter>> Create(const Options& options);
  ~MetricsExporter();

  // The port actually bound (differs from Options::port when that was 0).
  int port() const;
  prometheus::Registry& registry() { return *registry_; }
  // Adds families collected at each scrape (e.g. the model pipelines'). Call before serving
  // traffic that could scrape concurrently; the collectable must outlive the exporter's use.
  void AddCollectable(std::shared_ptr<prometheus::Collectable> collectable);

 private:
  MetricsExporter();
  void Route();                // the handlers, on http_.
  std::string Scrape() const;  // the text exposition of every family.

  // Constant after Create.
  std::shared_ptr<prometheus::Registry> registry_;
  std::shared_ptr<class ProcessCollector> process_collector_;
  mutable absl::Mutex collectables_mu_;
  std::vector<std::shared_ptr<prometheus::Collectable>> collectables_
      ABSL_GUARDED_BY(collectables_mu_);
  std::unique_ptr<httplib::Server> http_;
  // Started last in Create; the destructor stops it first (it joins its threads).
  std::unique_ptr<http::HttpListener> listener_;
};

}  // namespace tristage::server

#endif  // TRISTAGE_SERVER_METRICS_METRICS_H_
