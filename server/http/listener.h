// HttpListener: runs a configured httplib::Server (Debian's cpp-httplib) on a port with threads it
// owns; the one way the daemon serves HTTP (the REST binding, http_server.h, and /metrics,
// metrics/metrics.h).
//
// Binding: SO_REUSEADDR only (the library's default adds SO_REUSEPORT, with which a second daemon
// would silently share the port instead of failing to start) and an accept backlog of 64 (the
// library's listen() asks for 5, fixed when Debian compiled it, which drops connections that
// arrive together and makes their clients retry a second later).
//
// Threads: the library's accept loop runs on one listener thread; it hands each connection to a
// BoundedQueue of `workers` connections that `workers` worker threads pop; when every worker is
// busy and the queue is full the listener waits, and new connections wait in the kernel's
// backlog. A worker serves one connection at a time, as long as the server's keep-alive settings
// let it. Plain std::threads with the default stack: the problem prometheus-cpp's civetweb had in
// a torch-linked process (metrics.h) does not arise.
//
// Lifecycle: Start binds and returns once the accept loop runs, so that a Stop cannot be lost.
// Stop (or the destructor) stops accepting, closes the queue (connections not yet taken by a
// worker are closed unanswered), lets each worker finish the request it is in, and joins every
// thread. The httplib::Server must outlive the listener.
// Thread safety: port() from any thread; Stop() from one.
#ifndef TRISTAGE_SERVER_HTTP_LISTENER_H_
#define TRISTAGE_SERVER_HTTP_LISTENER_H_

#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "server/serving/bounded_queue.h"

namespace httplib {
class Server;
}  // namespace httplib

namespace tristage::server::http {

class HttpListener {
 public:
  struct Options {
    std::string what = "http";  // starts error messages: "metrics: cannot listen on ..."
    std::string bind_address = "127.0.0.1";
    int port = 0;  // 0 picks a free port
    int workers = 1;
  };

  // InvalidArgument when bind_address is not an IP address; Unavailable naming the address and
  // the reason when the port cannot be bound.
  static absl::StatusOr<std::unique_ptr<HttpListener>> Start(httplib::Server& server,
                                                             const Options& options);
  ~HttpListener();

  int port() const { return port_; }
  void Stop();

 private:
  explicit HttpListener(httplib::Server& server) : server_(server) {}

  httplib::Server& server_;
  int port_ = 0;
  std::unique_ptr<BoundedQueue<std::function<void()>>> connections_;
  // Owned here and joined by Stop.
  std::vector<std::thread> workers_;
  std::thread listener_;
  bool stopped_ = false;
};

}  // namespace tristage::server::http

#endif  // TRISTAGE_SERVER_HTTP_LISTENER_H_
