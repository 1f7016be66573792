#include "server/metrics/metrics.h"

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
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
#include "server/http/listener.h"

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

}  // namespace

MetricsExporter::MetricsExporter() = default;

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
  exporter->http_ = std::make_unique<httplib::Server>();
  Configure(*exporter->http_);
  exporter->Route();
  http::HttpListener::Options listen;
  listen.what = "metrics";
  listen.bind_address = options.bind_address;
  listen.port = options.port;
  listen.workers = kWorkers;
  TRISTAGE_ASSIGN_OR_RETURN(exporter->listener_,
                            http::HttpListener::Start(*exporter->http_, listen));
  return exporter;
}

int MetricsExporter::port() const {
  return listener_ == nullptr ? 0 : listener_->port();
}

MetricsExporter::~MetricsExporter() {
  if (listener_ != nullptr) listener_->Stop();
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
