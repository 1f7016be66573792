#include "server/metrics/metrics.h"

#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <fstream>
#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/notification.h"
#include "core/util/log.h"
#include "core/util/status_macros.h"
#include "core/util/strings.h"
#include "httplib.h"
#include "prometheus/collectable.h"
#include "prometheus/family.h"
#include "prometheus/gauge.h"
#include "prometheus/metric_family.h"
#include "prometheus/registry.h"
#include "prometheus/text_serializer.h"
#include "server/serving/bounded_queue.h"

namespace tristage::server {

// The standard process_* families (Prometheus client conventions), read from /proc at scrape time.
class ProcessCollector : public prometheus::Collectable {
 public:
  std::vector<prometheus::MetricFamily> Collect() const override {
    std::vector<prometheus::MetricFamily> families;
    std::ifstream stat_file("/proc/self/stat");
    std::string stat((std::istreambuf_iterator<char>(stat_file)), std::istreambuf_iterator<char>());
    // Fields after the ")" that closes the command name; see proc(5).
    const size_t close = stat.rfind(')');
    if (close == std::string::npos) return families;
    const std::vector<std::string> fields =
        absl::StrSplit(stat.substr(close + 2), ' ', absl::SkipEmpty());
    if (fields.size() < 22) return families;
    const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
    const double page = static_cast<double>(sysconf(_SC_PAGESIZE));
    const double utime = std::stod(fields[11]);
    const double stime = std::stod(fields[12]);
    const double threads = std::stod(fields[17]);
    const double vsize = std::stod(fields[20]);
    const double rss_pages = std::stod(fields[21]);
    families.push_back(Single("process_cpu_seconds_total", "User and system CPU time spent.",
                              prometheus::MetricType::Counter, (utime + stime) / ticks));
    families.push_back(Single("process_resident_memory_bytes", "Resident memory size in bytes.",
                              prometheus::MetricType::Gauge, rss_pages * page));
    families.push_back(Single("process_virtual_memory_bytes", "Virtual memory size in bytes.",
                              prometheus::MetricType::Gauge, vsize));
    families.push_back(Single("process_threads", "Number of OS threads in the process.",
                              prometheus::MetricType::Gauge, threads));
    families.push_back(Single("process_open_fds", "Number of open file descriptors.",
                              prometheus::MetricType::Gauge, CountOpenFds()));
    return families;
  }

 private:
  static prometheus::MetricFamily Single(const std::string& name, const std::string& help,
                                         prometheus::MetricType type, double value) {
    prometheus::MetricFamily family;
    family.name = name;
    family.help = help;
    family.type = type;
    prometheus::ClientMetric metric;
    if (type == prometheus::MetricType::Counter) {
      metric.counter.value = value;
    } else {
      metric.gauge.value = value;
    }
    family.metric.push_back(std::move(metric));
    return family;
  }

  static double CountOpenFds() {
    std::error_code ec;
    double count = 0;
    for (std::filesystem::directory_iterator it("/proc/self/fd", ec), end; !ec && it != end;
         it.increment(ec)) {
      ++count;
    }
    return count > 0 ? count - 1 : 0;  // the descriptor the iterator itself holds.
  }
};

namespace {

constexpr int kWorkers = 2;
constexpr time_t kReadTimeoutSeconds = 2;
constexpr time_t kWriteTimeoutSeconds = 5;
constexpr size_t kMaxBodyBytes = 8192;  // a scrape has no body; larger ones are refused (413)
// The kernel's accept queue. The library's listen() asks for 5 (fixed when Debian compiled it),
// which drops connections (the client retries after 1 s) when a few scrapers arrive together.
constexpr int kBacklog = 64;

using ConnectionQueue = BoundedQueue<std::function<void()>>;

// The library's task queue, made by its listen loop: hands connections to the exporter's queue.
// Once the queue is closed (the exporter is stopping) the listener runs the connection itself:
// the library then only closes it, as its server socket is already gone.
class QueueAdapter : public httplib::TaskQueue {
 public:
  explicit QueueAdapter(ConnectionQueue* queue) : queue_(queue) {}
  void enqueue(std::function<void()> fn) override {
    if (!queue_->Push(fn)) fn();
  }
  void shutdown() override {}  // the workers are the exporter's; its destructor joins them

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

void Configure(httplib::Server& http) {
  http.set_tcp_nodelay(true);
  // The keep-alive timeout is also the wait for a request's first byte; one request per
  // connection frees the worker as soon as the scrape is answered.
  http.set_keep_alive_max_count(1);
  http.set_keep_alive_timeout(kReadTimeoutSeconds);
  http.set_read_timeout(kReadTimeoutSeconds, 0);
  http.set_write_timeout(kWriteTimeoutSeconds, 0);
  http.set_payload_max_length(kMaxBodyBytes);
}

// Binds and listens on host:port (0: a free port); returns the port bound.
absl::StatusOr<int> Bind(httplib::Server& http, const std::string& host, int port) {
  // SO_REUSEADDR only: the library's default adds SO_REUSEPORT, with which a second daemon would
  // share the port instead of failing to start. The socket is kept to widen its backlog below.
  auto listen_fd = std::make_shared<int>(-1);
  http.set_socket_options([listen_fd](int fd) {
    const int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    *listen_fd = fd;
  });
  const int flags = AI_PASSIVE | AI_NUMERICHOST;
  errno = 0;
  int bound = 0;
  if (port == 0) {
    bound = std::max(0, http.bind_to_any_port(host, flags));
  } else if (http.bind_to_port(host, port, flags)) {
    bound = port;
  }
  if (bound == 0) {
    const int saved_errno = errno;  // set by the bind or listen that failed
    return absl::UnavailableError(
        absl::StrCat("metrics: cannot listen on ", host, ":", port, ": ",
                     saved_errno != 0 ? ErrnoText(saved_errno) : "cannot bind"));
  }
  listen(*listen_fd, kBacklog);  // on a listening socket, only sets the backlog (Linux)
  return bound;
}

}  // namespace

MetricsExporter::MetricsExporter() = default;

absl::StatusOr<std::unique_ptr<MetricsExporter>> MetricsExporter::Create(const Options& options) {
  if (!IsIpAddress(options.bind_address)) {
    return absl::InvalidArgumentError(
        absl::StrCat("metrics: '", options.bind_address, "' is not an IP address"));
  }
  std::unique_ptr<MetricsExporter> exporter(new MetricsExporter());
  exporter->registry_ = std::make_shared<prometheus::Registry>();
  exporter->process_collector_ = std::make_shared<ProcessCollector>();
  prometheus::BuildGauge()
      .Name("tristage_build_info")
      .Help("Always 1; the labels name the tristage release.")
      .Register(*exporter->registry_)
      .Add({{"version", options.version}})
      .Set(1);
  exporter->http_ = std::make_unique<httplib::Server>();
  Configure(*exporter->http_);
  exporter->Route();
  TRISTAGE_ASSIGN_OR_RETURN(exporter->port_,
                            Bind(*exporter->http_, options.bind_address, options.port));
  exporter->Serve();
  return exporter;
}

void MetricsExporter::Serve() {
  connections_ = std::make_unique<ConnectionQueue>(kWorkers);
  ConnectionQueue* queue = connections_.get();
  // The library's listen loop marks itself running, then makes its task queue: from then on its
  // stop() ends the loop, so Serve returns only once the loop got that far (a stop is not lost).
  auto listening = std::make_shared<absl::Notification>();
  http_->new_task_queue = [queue, listening] {
    if (!listening->HasBeenNotified()) listening->Notify();
    return new QueueAdapter(queue);
  };
  // Default std::thread stacks (see the header on civetweb's).
  for (int i = 0; i < kWorkers; ++i) {
    workers_.emplace_back([queue] {
      while (std::optional<std::function<void()>> connection = queue->Pop()) (*connection)();
    });
  }
  listener_ = std::thread([http = http_.get()] {
    if (!http->listen_after_bind()) {
      TRISTAGE_LOG(Error) << "metrics: accept failed; /metrics is no longer served";
    }
  });
  listening->WaitForNotification();
}

MetricsExporter::~MetricsExporter() {
  if (http_ != nullptr) http_->stop();
  if (connections_ != nullptr) connections_->Close();
  if (listener_.joinable()) listener_.join();
  for (std::thread& worker : workers_) worker.join();
}

void MetricsExporter::Route() {
  http_->Get("/metrics", [this](const httplib::Request&, httplib::Response& response) {
    response.set_content(Scrape(), "text/plain; version=0.0.4; charset=utf-8");
  });
  // No route matched (404), a body over kMaxBodyBytes (413) or a malformed request (400).
  http_->set_error_handler([](const httplib::Request& request, httplib::Response& response) {
    if (response.status == 404 && request.path == "/metrics") {
      response.status = 405;
      response.set_header("Allow", "GET, HEAD");
      response.set_content("only GET and HEAD\n", "text/plain");
    } else if (response.status == 404) {
      response.set_content("metrics are at /metrics\n", "text/plain");
    }
  });
}

void MetricsExporter::AddCollectable(std::shared_ptr<prometheus::Collectable> collectable) {
  absl::MutexLock lock(&collectables_mu_);
  collectables_.push_back(std::move(collectable));
}

std::string MetricsExporter::Scrape() const {
  std::vector<prometheus::MetricFamily> families = registry_->Collect();
  std::vector<std::shared_ptr<prometheus::Collectable>> collectables;
  {
    absl::MutexLock lock(&collectables_mu_);
    collectables = collectables_;
  }
  collectables.push_back(process_collector_);
  for (const auto& collectable : collectables) {
    std::vector<prometheus::MetricFamily> more = collectable->Collect();
    families.insert(families.end(), std::make_move_iterator(more.begin()),
                    std::make_move_iterator(more.end()));
  }
  return prometheus::TextSerializer().Serialize(families);
}

}  // namespace tristage::server
