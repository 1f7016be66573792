// MetricsExporter: the daemon's Prometheus registry and its HTTP `/metrics` endpoint.
//
// Lifecycle: Create() binds and listens, then starts one HTTP thread, owned by the exporter and
// joined by its destructor. The registry lives as long as the exporter; components add families to
// registry() at start-up. prometheus-cpp builds and serializes the metrics; the HTTP side is ours
// because prometheus-cpp's civetweb starts threads with a fixed 100 KiB stack, smaller than the
// static TLS of libtorch + OpenBLAS + glog, so pthread_create fails in any process linking torch.
// Scrapes are served one at a time with a 2 s read timeout, which bounds a slow or idle client.
// Thread safety: registry() families are thread-safe; the exporter itself is immutable after
// Create.
#ifndef TRISTAGE_SERVER_METRICS_METRICS_H_
#define TRISTAGE_SERVER_METRICS_METRICS_H_

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"

namespace prometheus {
class Collectable;
class Registry;
}  // namespace prometheus

namespace tristage::server {

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
  int port() const { return port_; }
  prometheus::Registry& registry() { return *registry_; }
  // Adds families collected at each scrape (e.g. the model pipelines'). Call before serving
  // traffic that could scrape concurrently; the collectable must outlive the exporter's use.
  void AddCollectable(std::shared_ptr<prometheus::Collectable> collectable);

 private:
  MetricsExporter() = default;
  void ServeLoop();  // body of http_thread_.
  void ServeConnection(int fd) const;
  std::string Scrape() const;  // the text exposition of every family.

  // Constant after Create.
  std::shared_ptr<prometheus::Registry> registry_;
  std::shared_ptr<class ProcessCollector> process_collector_;
  mutable absl::Mutex collectables_mu_;
  std::vector<std::shared_ptr<prometheus::Collectable>> collectables_
      ABSL_GUARDED_BY(collectables_mu_);
  int listen_fd_ = -1;
  int stop_fd_ = -1;  // eventfd; written once by the destructor to stop ServeLoop.
  int port_ = 0;
  // Started last in Create, joined first in the destructor.
  std::thread http_thread_;
};

}  // namespace tristage::server

#endif  // TRISTAGE_SERVER_METRICS_METRICS_H_
