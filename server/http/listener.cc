#include "server/http/listener.h"

#include <netdb.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "core/util/log.h"
#include "core/util/strings.h"
#include "httplib.h"

namespace tristage::server::http {
namespace {

constexpr int kBacklog = 64;

using ConnectionQueue = BoundedQueue<std::function<void()>>;

// The library's task queue, made by its listen loop: hands connections to the listener's queue.
// Once the queue is closed (stopping) the listen loop runs the connection itself: the library then
// only closes it, as its server socket is already gone.
class QueueAdapter : public httplib::TaskQueue {
 public:
  explicit QueueAdapter(ConnectionQueue* queue) : queue_(queue) {}
  void enqueue(std::function<void()> fn) override {
    if (!queue_->Push(fn)) fn();
  }
  void shutdown() override {}  // the workers are the listener's; Stop joins them

 private:
  ConnectionQueue* const queue_;
};

bool IsIpAddress(const std::string& host) {
  addrinfo hints{};
  hints.ai_flags = AI_NUMERICHOST;
  addrinfo* found = nullptr;
  if (getaddrinfo(host.c_str(), nullptr, &hints, &found) != 0) return false;
  freeaddrinfo(found);
  return true;
}

std::string HostPort(const std::string& host, int port) {
  return host.find(':') != std::string::npos ? absl::StrCat("[", host, "]:", port)
                                             : absl::StrCat(host, ":", port);
}

}  // namespace

absl::StatusOr<std::unique_ptr<HttpListener>> HttpListener::Start(httplib::Server& server,
                                                                  const Options& options) {
  if (!IsIpAddress(options.bind_address)) {
    return absl::InvalidArgumentError(
        absl::StrCat(options.what, ": '", options.bind_address, "' is not an IP address"));
  }
  std::unique_ptr<HttpListener> listener(new HttpListener(server));
  auto listen_fd = std::make_shared<int>(-1);
  server.set_socket_options([listen_fd](int fd) {
    const int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    *listen_fd = fd;
  });
  const int flags = AI_PASSIVE | AI_NUMERICHOST;
  errno = 0;
  if (options.port == 0) {
    listener->port_ = std::max(0, server.bind_to_any_port(options.bind_address, flags));
  } else if (server.bind_to_port(options.bind_address, options.port, flags)) {
    listener->port_ = options.port;
  }
  if (listener->port_ == 0) {
    const int saved_errno = errno;  // set by the bind or listen that failed
    return absl::UnavailableError(absl::StrCat(
        options.what, ": cannot listen on ", HostPort(options.bind_address, options.port), ": ",
        saved_errno != 0 ? ErrnoText(saved_errno) : "cannot bind"));
  }
  listen(*listen_fd, kBacklog);  // on a listening socket, only sets the backlog (Linux)

  const int workers = std::max(1, options.workers);
  listener->connections_ = std::make_unique<ConnectionQueue>(workers);
  ConnectionQueue* queue = listener->connections_.get();
  // The library's listen loop marks itself running, then makes its task queue: from then on its
  // stop() ends the loop, so Start returns only once the loop got that far.
  auto listening = std::make_shared<absl::Notification>();
  server.new_task_queue = [queue, listening] {
    if (!listening->HasBeenNotified()) listening->Notify();
    return new QueueAdapter(queue);
  };
  for (int i = 0; i < workers; ++i) {
    listener->workers_.emplace_back([queue] {
      while (std::optional<std::function<void()>> connection = queue->Pop()) (*connection)();
    });
  }
  listener->listener_ = std::thread([&server, what = options.what] {
    if (!server.listen_after_bind()) {
      TRISTAGE_LOG(Error) << what << ": accept failed; no longer serving";
    }
  });
  listening->WaitForNotification();
  return listener;
}

void HttpListener::Stop() {
  if (stopped_) return;
  stopped_ = true;
  server_.stop();
  if (connections_ != nullptr) connections_->Close();
  if (listener_.joinable()) listener_.join();
  for (std::thread& worker : workers_) worker.join();
}

HttpListener::~HttpListener() {
  Stop();
}

}  // namespace tristage::server::http
