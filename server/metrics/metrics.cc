#include "server/metrics/metrics.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "core/util/status_macros.h"
#include "core/util/strings.h"
#include "prometheus/collectable.h"
#include "prometheus/family.h"
#include "prometheus/gauge.h"
#include "prometheus/metric_family.h"
#include "prometheus/registry.h"
#include "prometheus/text_serializer.h"

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

constexpr size_t kMaxRequestBytes = 8192;
constexpr int kReadTimeoutMs = 2000;

// Binds and listens on host:port (port 0 lets the kernel choose); returns the socket.
absl::StatusOr<int> Listen(const std::string& host, int port, int* bound_port) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICHOST | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  const std::string service = std::to_string(port);
  if (getaddrinfo(host.c_str(), service.c_str(), &hints, &found) != 0 || found == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat("metrics: '", host, "' is not an IP address"));
  }
  const int fd = socket(found->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const int one = 1;
  bool ok = fd >= 0 && setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == 0 &&
            bind(fd, found->ai_addr, found->ai_addrlen) == 0 && listen(fd, 64) == 0;
  const int saved_errno = errno;
  freeaddrinfo(found);
  sockaddr_storage bound{};
  socklen_t length = sizeof(bound);
  ok = ok && getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &length) == 0;
  if (!ok) {
    if (fd >= 0) close(fd);
    return absl::UnavailableError(
        absl::StrCat("metrics: cannot listen on ", host, ":", port, ": ", ErrnoText(saved_errno)));
  }
  *bound_port =
      ntohs(bound.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                                        : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  return fd;
}

void WriteAll(int fd, const std::string& data) {
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = send(fd, data.data() + done, data.size() - done, MSG_NOSIGNAL);
    if (n <= 0 && errno != EINTR) return;  // the scraper went away; nothing to do.
    if (n > 0) done += static_cast<size_t>(n);
  }
}

std::string HttpResponse(absl::string_view status, absl::string_view content_type,
                         absl::string_view body, bool include_body) {
  return absl::StrCat("HTTP/1.1 ", status, "\r\nContent-Type: ", content_type,
                      "\r\nContent-Length: ", body.size(), "\r\nConnection: close\r\n\r\n",
                      include_body ? body : "");
}

}  // namespace

absl::StatusOr<std::unique_ptr<MetricsExporter>> MetricsExporter::Create(const Options& options) {
  std::unique_ptr<MetricsExporter> exporter(new MetricsExporter());
  exporter->registry_ = std::make_shared<prometheus::Registry>();
  exporter->process_collector_ = std::make_shared<ProcessCollector>();
  prometheus::BuildGauge()
      .Name("tristage_build_info")
      .Help("Always 1; the labels name the tristage release.")
      .Register(*exporter->registry_)
      .Add({{"version", options.version}})
      .Set(1);
  TRISTAGE_ASSIGN_OR_RETURN(exporter->listen_fd_,
                            Listen(options.bind_address, options.port, &exporter->port_));
  exporter->stop_fd_ = eventfd(0, EFD_CLOEXEC);
  if (exporter->stop_fd_ < 0) {
    return absl::InternalError(absl::StrCat("metrics: eventfd: ", ErrnoText(errno)));
  }
  exporter->http_thread_ = std::thread([raw = exporter.get()] { raw->ServeLoop(); });
  return exporter;
}

MetricsExporter::~MetricsExporter() {
  if (http_thread_.joinable()) {
    const uint64_t one = 1;
    [[maybe_unused]] ssize_t ignored = write(stop_fd_, &one, sizeof(one));
    http_thread_.join();
  }
  if (stop_fd_ >= 0) close(stop_fd_);
  if (listen_fd_ >= 0) close(listen_fd_);
}

void MetricsExporter::ServeLoop() {
  while (true) {
    pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {stop_fd_, POLLIN, 0}};
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (fds[1].revents != 0) return;
    if ((fds[0].revents & POLLIN) == 0) continue;
    const int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    ServeConnection(fd);
    close(fd);
  }
}

void MetricsExporter::ServeConnection(int fd) const {
  std::string request;
  char buffer[1024];
  while (request.find("\r\n\r\n") == std::string::npos && request.size() < kMaxRequestBytes) {
    pollfd pfd{fd, POLLIN, 0};
    if (poll(&pfd, 1, kReadTimeoutMs) <= 0) return;
    const ssize_t n = recv(fd, buffer, sizeof(buffer), 0);
    if (n <= 0) return;
    request.append(buffer, static_cast<size_t>(n));
  }
  const std::vector<absl::string_view> line =
      absl::StrSplit(absl::string_view(request).substr(0, request.find("\r\n")), ' ');
  const absl::string_view method = line.empty() ? "" : line[0];
  absl::string_view path = line.size() > 1 ? line[1] : "";
  path = path.substr(0, path.find('?'));
  if (method != "GET" && method != "HEAD") {
    WriteAll(fd, HttpResponse("405 Method Not Allowed", "text/plain", "only GET\n", true));
  } else if (path != "/metrics") {
    WriteAll(fd, HttpResponse("404 Not Found", "text/plain", "metrics are at /metrics\n", true));
  } else {
    WriteAll(fd, HttpResponse("200 OK", "text/plain; version=0.0.4; charset=utf-8", Scrape(),
                              method == "GET"));
  }
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
