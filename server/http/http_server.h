// HttpServer: the daemon's HTTP/REST listener (--http-port): the KServe v2 / Open Inference
// Protocol REST binding with Triton's binary tensor, statistics and repository extensions, and
// the /v1 records endpoint, over the same model manager, admission, batching, deadlines and drain
// as the gRPC services. Bodies are translated by rest_codec.h; the answers are the gRPC ones.
//
//   GET  /v2                                  server metadata
//   GET  /v2/health/live                      200 while the process serves
//   GET  /v2/health/ready                     200 until the drain starts (SIGTERM), then 400
//   GET  /v2/models/{m}[/versions/{v}]        model metadata
//   GET  /v2/models/{m}[/versions/{v}]/ready  200 when that version is AVAILABLE, else 400
//   GET  /v2/models[/{m}[/versions/{v}]]/stats
//   POST /v2/models/{m}[/versions/{v}]/infer  JSON or binary tensors
//   POST /v2/repository/index                 (these three with "Authorization: Bearer <token>"
//   POST /v2/repository/models/{m}/load        when the daemon has --auth-token-file)
//   POST /v2/repository/models/{m}/unload
//   POST /v1/models/{m}[/versions/{v}]:predict  records
// Errors: the gRPC code's HTTP status (rest_codec.h HttpStatus) and {"error": "..."}; an unknown
// path is 404, a known path with another method 405 (with Allow), a body over --max-message-bytes
// 413 before it is read. A deadline comes from a `Timeout: <seconds>` header or the request's
// `parameters.timeout` (microseconds), the earlier one winning.
//
// Threads: an HttpListener (listener.h) with `threads` workers: a worker serves one connection at a
// time (keep-alive: up to 5 s idle between requests, 1000 requests), and a request's inference
// blocks it until the pipeline answers; a slow or silent client holds only its own worker, for at
// most the 5 s read timeout per read.
//
// Lifecycle: Create binds the port (a clash fails start-up) and starts serving. Stop() (Server's
// shutdown, after the drain) stops accepting, lets the workers finish the requests they are in,
// and joins every thread; the destructor calls it.
// Thread safety: port() from any thread; Stop() from one.
#ifndef TRISTAGE_SERVER_HTTP_HTTP_SERVER_H_
#define TRISTAGE_SERVER_HTTP_HTTP_SERVER_H_

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "server/rpc/drain.h"
#include "server/serving/model_manager.h"

namespace httplib {
class Server;
}  // namespace httplib

namespace tristage::server::http {

class HttpListener;

struct HttpServerOptions {
  std::string bind_address = "127.0.0.1";
  int port = 8000;  // 0 picks a free port
  int threads = 16;
  size_t max_body_bytes = 64 << 20;
  // TLS (PEM files) as the gRPC listener's: a certificate and key serve HTTPS; a client CA
  // requires and verifies client certificates.
  std::string tls_cert;
  std::string tls_key;
  std::string tls_client_ca;
  // Required as "Authorization: Bearer <token>" on the repository extension when not empty.
  std::string auth_token;
};

class HttpServer {
 public:
  // `models` and `drain` are not owned and outlive the server. Unavailable naming the address
  // when the port cannot be bound; InvalidArgument when a TLS file cannot be loaded.
  static absl::StatusOr<std::unique_ptr<HttpServer>> Create(const HttpServerOptions& options,
                                                            ModelManager* models, Drain* drain);
  ~HttpServer();

  int port() const;
  void Stop();

 private:
  HttpServer(HttpServerOptions options, ModelManager* models, Drain* drain);
  void Route();

  const HttpServerOptions options_;
  ModelManager* const models_;
  Drain* const drain_;
  std::unique_ptr<httplib::Server> server_;
  std::unique_ptr<HttpListener> listener_;  // after server_: stopped and destroyed first
};

}  // namespace tristage::server::http

#endif  // TRISTAGE_SERVER_HTTP_HTTP_SERVER_H_
