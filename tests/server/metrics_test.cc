// MetricsExporter in process: the /metrics endpoint (cpp-httplib), its 404/405 answers and bind
// errors, and that stalled clients neither block a scrape for long nor keep the exporter from
// stopping. The binary links libtorch (through tristage_server), so every scrape here also shows
// that the exporter's threads start in a torch-linked process (the civetweb stack problem).
#include "server/metrics/metrics.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "prometheus/collectable.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/metric_family.h"
#include "prometheus/registry.h"
#include "tests/testing/http_get.h"

namespace tristage::server {
namespace {

// A loopback connection for requests testing::HttpGet does not make (other methods, partial
// requests, silence).
class RawConnection {
 public:
  explicit RawConnection(int port) : fd_(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<uint16_t>(port));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ =
        fd_ >= 0 && connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0;
  }
  ~RawConnection() {
    if (fd_ >= 0) close(fd_);
  }
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  bool connected() const { return connected_; }
  bool Send(const std::string& data) {
    return send(fd_, data.data(), data.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(data.size());
  }
  // Everything the server sends until it closes the connection; nullopt if it is still open
  // after `timeout`.
  std::optional<std::string> ReadUntilClosed(absl::Duration timeout) {
    std::string received;
    const absl::Time deadline = absl::Now() + timeout;
    while (true) {
      const int64_t left = absl::ToInt64Milliseconds(deadline - absl::Now());
      pollfd pfd{fd_, POLLIN, 0};
      if (left <= 0 || poll(&pfd, 1, static_cast<int>(left)) <= 0) return std::nullopt;
      char buffer[4096];
      const ssize_t n = recv(fd_, buffer, sizeof(buffer), 0);
      if (n <= 0) return received;
      received.append(buffer, static_cast<size_t>(n));
    }
  }

 private:
  const int fd_;
  bool connected_ = false;
};

// A request line without the blank line that ends the request: the server waits for more.
constexpr char kStalledRequest[] = "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n";

class OneFamily : public prometheus::Collectable {
 public:
  std::vector<prometheus::MetricFamily> Collect() const override {
    prometheus::MetricFamily family;
    family.name = "test_collected";
    family.help = "Collected at scrape time.";
    family.type = prometheus::MetricType::Gauge;
    prometheus::ClientMetric metric;
    metric.gauge.value = 42;
    family.metric.push_back(metric);
    return {family};
  }
};

class MetricsExporterTest : public ::testing::Test {
 protected:
  std::unique_ptr<MetricsExporter> Start() {
    auto exporter = MetricsExporter::Create({"127.0.0.1", 0, "1.2.3-test"});
    EXPECT_TRUE(exporter.ok()) << exporter.status();
    return exporter.ok() ? std::move(*exporter) : nullptr;
  }
};

TEST_F(MetricsExporterTest, ScrapeAnswersTheTextExpositionOfEveryFamily) {
  auto exporter = Start();
  ASSERT_NE(exporter, nullptr);
  EXPECT_GT(exporter->port(), 0);
  prometheus::BuildCounter()
      .Name("test_registered_total")
      .Help("Registered at start-up.")
      .Register(exporter->registry())
      .Add({})
      .Increment(3);
  exporter->AddCollectable(std::make_shared<OneFamily>());

  auto response = testing::HttpGet("127.0.0.1", exporter->port(), "/metrics?ignored=1");
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->status_code, 200);
  EXPECT_TRUE(absl::StrContains(response->headers, "text/plain; version=0.0.4"))
      << response->headers;
  EXPECT_TRUE(absl::StrContains(response->headers, "Connection: close")) << response->headers;
  EXPECT_TRUE(absl::StrContains(response->body, "tristage_build_info{version=\"1.2.3-test\"} 1"));
  EXPECT_TRUE(absl::StrContains(response->body, "test_registered_total 3"));
  EXPECT_TRUE(absl::StrContains(response->body, "test_collected 42"));
  EXPECT_TRUE(absl::StrContains(response->body, "process_threads "));
}

TEST_F(MetricsExporterTest, HeadAnswersTheHeadersOnly) {
  auto exporter = Start();
  ASSERT_NE(exporter, nullptr);
  RawConnection connection(exporter->port());
  ASSERT_TRUE(connection.connected());
  ASSERT_TRUE(connection.Send("HEAD /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"));
  std::optional<std::string> answer = connection.ReadUntilClosed(absl::Seconds(5));
  ASSERT_TRUE(answer.has_value());
  EXPECT_TRUE(absl::StartsWith(*answer, "HTTP/1.1 200 ")) << *answer;
  EXPECT_TRUE(absl::EndsWith(*answer, "\r\n\r\n")) << *answer;
}

TEST_F(MetricsExporterTest, AnUnknownPathIs404AndAnotherMethodOnMetricsIs405) {
  auto exporter = Start();
  ASSERT_NE(exporter, nullptr);
  auto unknown = testing::HttpGet("127.0.0.1", exporter->port(), "/nope");
  ASSERT_TRUE(unknown.ok()) << unknown.status();
  EXPECT_EQ(unknown->status_code, 404);
  EXPECT_EQ(unknown->body, "metrics are at /metrics\n");

  RawConnection connection(exporter->port());
  ASSERT_TRUE(connection.connected());
  ASSERT_TRUE(
      connection.Send("POST /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 2\r\n"
                      "\r\n{}"));
  std::optional<std::string> answer = connection.ReadUntilClosed(absl::Seconds(5));
  ASSERT_TRUE(answer.has_value());
  EXPECT_TRUE(absl::StartsWith(*answer, "HTTP/1.1 405 ")) << *answer;
  EXPECT_TRUE(absl::StrContains(*answer, "Allow: GET, HEAD")) << *answer;
}

TEST_F(MetricsExporterTest, AScrapeIsAnsweredAtOnceWhileAStalledClientHoldsAConnection) {
  auto exporter = Start();
  ASSERT_NE(exporter, nullptr);
  // Accepted first (the kernel's accept queue is in order), so it holds a worker.
  RawConnection stalled(exporter->port());
  ASSERT_TRUE(stalled.connected());
  ASSERT_TRUE(stalled.Send(kStalledRequest));
  const absl::Time start = absl::Now();
  // Well under the 2 s read timeout that would free the stalled client's worker.
  auto response = testing::HttpGet("127.0.0.1", exporter->port(), "/metrics", absl::Seconds(1));
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->status_code, 200);
  EXPECT_LT(absl::Now() - start, absl::Seconds(1));
}

TEST_F(MetricsExporterTest, AScrapeQueuedBehindStalledClientsIsAnsweredWhenTheyTimeOut) {
  auto exporter = Start();
  ASSERT_NE(exporter, nullptr);
  std::vector<std::unique_ptr<RawConnection>> stalled;
  for (int i = 0; i < 4; ++i) {  // more than the workers
    stalled.push_back(std::make_unique<RawConnection>(exporter->port()));
    ASSERT_TRUE(stalled.back()->connected());
    ASSERT_TRUE(stalled.back()->Send(kStalledRequest));
  }
  auto response = testing::HttpGet("127.0.0.1", exporter->port(), "/metrics", absl::Seconds(8));
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->status_code, 200);
}

TEST_F(MetricsExporterTest, StalledAndSilentClientsAreDisconnectedAfterTheReadTimeout) {
  auto exporter = Start();
  ASSERT_NE(exporter, nullptr);
  RawConnection stalled(exporter->port());
  RawConnection silent(exporter->port());
  ASSERT_TRUE(stalled.connected());
  ASSERT_TRUE(silent.connected());
  ASSERT_TRUE(stalled.Send(kStalledRequest));
  const absl::Time start = absl::Now();
  EXPECT_TRUE(stalled.ReadUntilClosed(absl::Seconds(5)).has_value());
  EXPECT_TRUE(silent.ReadUntilClosed(absl::Seconds(5)).has_value());
  const absl::Duration elapsed = absl::Now() - start;
  EXPECT_GE(elapsed, absl::Milliseconds(1500));
  EXPECT_LT(elapsed, absl::Seconds(4));
}

TEST_F(MetricsExporterTest, ConcurrentScrapesAreAllAnswered) {
  auto exporter = Start();
  ASSERT_NE(exporter, nullptr);
  constexpr size_t kScrapers = 8;
  constexpr size_t kScrapesEach = 5;
  std::vector<int> codes(kScrapers * kScrapesEach, 0);
  std::vector<std::thread> scrapers;
  scrapers.reserve(kScrapers);
  for (size_t t = 0; t < kScrapers; ++t) {
    scrapers.emplace_back([&exporter, &codes, t] {
      for (size_t i = 0; i < kScrapesEach; ++i) {
        auto response = testing::HttpGet("127.0.0.1", exporter->port(), "/metrics");
        codes[t * kScrapesEach + i] = response.ok() ? response->status_code : -1;
      }
    });
  }
  for (std::thread& scraper : scrapers) scraper.join();
  for (int code : codes) EXPECT_EQ(code, 200);
}

TEST_F(MetricsExporterTest, DestroyingTheExporterWithAStalledClientJoinsWithinTheReadTimeout) {
  auto exporter = Start();
  ASSERT_NE(exporter, nullptr);
  RawConnection stalled(exporter->port());
  ASSERT_TRUE(stalled.connected());
  ASSERT_TRUE(stalled.Send(kStalledRequest));
  const int port = exporter->port();
  const absl::Time start = absl::Now();
  exporter.reset();
  EXPECT_LT(absl::Now() - start, absl::Seconds(4));
  EXPECT_TRUE(stalled.ReadUntilClosed(absl::Seconds(1)).has_value());
  EXPECT_FALSE(RawConnection(port).connected());  // nothing listens any more
}

TEST_F(MetricsExporterTest, APortInUseIsUnavailableNamingTheAddress) {
  auto first = Start();
  ASSERT_NE(first, nullptr);
  auto second = MetricsExporter::Create({"127.0.0.1", first->port(), "test"});
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(absl::StartsWith(second.status().message(),
                               absl::StrCat("metrics: cannot listen on 127.0.0.1:", first->port())))
      << second.status();
  // The first exporter still serves.
  auto response = testing::HttpGet("127.0.0.1", first->port(), "/metrics");
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->status_code, 200);
}

TEST_F(MetricsExporterTest, ABindAddressThatIsNotAnIpAddressIsInvalidArgument) {
  auto exporter = MetricsExporter::Create({"localhost", 0, "test"});
  ASSERT_FALSE(exporter.ok());
  EXPECT_EQ(exporter.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(exporter.status().message(), "metrics: 'localhost' is not an IP address");
}

}  // namespace
}  // namespace tristage::server
