// Server: the tristage daemon's top-level object. It wires the gRPC services, health, reflection,
// the HTTP/REST binding (server/http) and the metrics endpoint together and owns their shutdown
// order.
//
// Lifecycle: Create() validates options and binds every port (so a port clash fails start-up, not
// the first request); the server is then serving. Shutdown() is called once, from the thread that
// owns the Server (main, on SIGTERM/SIGINT):
//   1. health goes NOT_SERVING for every service (REST readiness 400), so load balancers stop
//      routing here; with --drain-delay-secs, requests are still accepted for that long;
//   2. the drain starts (rpc/drain.h): new work is UNAVAILABLE, streams stop taking requests
//      and end after answering what they accepted, job watches end; the calls still working get
//      until the exit timeout (and end sooner if they are done sooner);
//   3. gRPC shuts down: health watchers get up to 500 ms (within the timeout) to receive their
//      NOT_SERVING, then what is left (watches, idle streams, work past the timeout) is cancelled;
//   4. running jobs' children are killed (their records say so) and the model pipelines finish
//      what they accepted and stop;
//   5. the HTTP/REST listener stops (it answered /v2/health/ready 400 and new inference 503 from
//      step 2, and its in-flight requests were part of the drain);
//   6. the metrics endpoint stops last, so it can be scraped during the drain.
// A batch already inside a stage cannot be interrupted; main's watchdog bounds the whole exit.
// Thread safety: grpc_port()/metrics_port() are safe from any thread; Shutdown() from one thread.
#ifndef TRISTAGE_SERVER_SERVER_H_
#define TRISTAGE_SERVER_SERVER_H_

#include <memory>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "server/options.h"
#include "server/rpc/drain.h"
#include "server/serving/model_manager.h"

namespace grpc {
class Server;
}  // namespace grpc

namespace tristage::server {

namespace http {
class HttpServer;
}  // namespace http

class AdminService;
class InferenceService;
class KServeService;
class MetricsExporter;
class ModelManager;
namespace jobs {
class JobManager;
}  // namespace jobs

class Server {
 public:
  static absl::StatusOr<std::unique_ptr<Server>> Create(const ServerOptions& options);
  // As above, with the servables of the repository's versions made by `loader` instead of loaded
  // as exports (tests serve fake servables through the real RPCs this way).
  static absl::StatusOr<std::unique_ptr<Server>> Create(const ServerOptions& options,
                                                        ServableLoader loader);
  ~Server();  // Calls Shutdown() with a zero timeout if it was not called.

  int grpc_port() const { return grpc_port_; }
  int metrics_port() const;  // -1 when metrics are disabled.
  int http_port() const;     // -1 when HTTP/REST is disabled.

  // Runs the shutdown sequence above; in-flight RPCs get `drain_timeout`.
  void Shutdown(absl::Duration drain_timeout);

 private:
  Server(ServerOptions options, ServableLoader loader);
  absl::Status Start();

  // Constant after Create. Members are destroyed in reverse order: gRPC first, metrics last.
  const ServerOptions options_;
  const ServableLoader loader_;
  std::unique_ptr<MetricsExporter> metrics_;
  std::unique_ptr<ModelManager> models_;
  std::unique_ptr<jobs::JobManager> jobs_;  // null without --state-dir
  Drain drain_;                             // the services hold it: destroyed after them
  std::unique_ptr<AdminService> admin_service_;
  std::unique_ptr<InferenceService> inference_service_;
  std::unique_ptr<KServeService> kserve_service_;
  std::unique_ptr<grpc::Server> grpc_server_;
  std::unique_ptr<http::HttpServer> http_server_;  // null with --http-port -1
  int grpc_port_ = 0;
  bool shut_down_ = false;
};

}  // namespace tristage::server

#endif  // TRISTAGE_SERVER_SERVER_H_
