// End-to-end tests of the real tristage-server binary: ports, health, reflection, metrics,
// GetServerInfo, signals and exit codes.
#include "tests/testing/daemon.h"

#include <signal.h>

#include <filesystem>
#include <fstream>

#include "absl/strings/match.h"
#include "client/lib/client.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "tests/testing/http_get.h"
#include "tests/testing/proto/reflection.grpc.pb.h"

namespace tristage {
namespace {

using ::tristage::client::ServingStatus;
using ::tristage::client::TristageClient;
using ::tristage::testing::Daemon;

class DaemonTest : public ::testing::Test {
 protected:
  std::unique_ptr<Daemon> StartDaemon(const std::vector<std::string>& flags) {
    auto daemon = Daemon::Start(TRISTAGE_SERVER_BINARY, flags);
    EXPECT_TRUE(daemon.ok()) << daemon.status();
    return daemon.ok() ? std::move(*daemon) : nullptr;
  }

  std::unique_ptr<TristageClient> Client(const Daemon& daemon) {
    TristageClient::Options options;
    options.timeout = absl::Seconds(5);
    auto client = TristageClient::Create(daemon.grpc_address(), options);
    EXPECT_TRUE(client.ok());
    return std::move(*client);
  }
};

TEST_F(DaemonTest, PrintsTheBoundPortsOnStartup) {
  auto daemon = StartDaemon({});
  ASSERT_NE(daemon, nullptr);
  EXPECT_GT(daemon->grpc_port(), 0);
  EXPECT_GT(daemon->metrics_port(), 0);
  EXPECT_NE(daemon->grpc_port(), daemon->metrics_port());
}

TEST_F(DaemonTest, HealthIsServingForTheServerAndItsServices) {
  auto daemon = StartDaemon({});
  ASSERT_NE(daemon, nullptr);
  auto client = Client(*daemon);
  EXPECT_EQ(client->CheckHealth("").value(), ServingStatus::kServing);
  EXPECT_EQ(client->CheckHealth("tristage.v1.Admin").value(), ServingStatus::kServing);
  auto unknown = client->CheckHealth("no.such.Service");
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kNotFound);
}

TEST_F(DaemonTest, GetServerInfoReportsVersionAndPlatform) {
  auto daemon = StartDaemon({});
  ASSERT_NE(daemon, nullptr);
  auto info = Client(*daemon)->GetServerInfo();
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_FALSE(info->version().empty());
  EXPECT_GT(info->start_time_unix_s(), 0);
  EXPECT_NE(info->system().blas_kind(), "");
  EXPECT_GE(info->system().intra_op_threads(), 1);
  EXPECT_TRUE(info->system().library_versions().contains("libtorch"));
#ifdef TRISTAGE_SERVER_LINKS_JEMALLOC
  EXPECT_TRUE(absl::StartsWith(info->system().memory_allocator(), "jemalloc "))
      << info->system().memory_allocator();
#else
  EXPECT_EQ(info->system().memory_allocator(), "glibc");
#endif
}

TEST_F(DaemonTest, ReflectionListsAndDescribesTheServices) {
  auto daemon = StartDaemon({});
  ASSERT_NE(daemon, nullptr);
  auto channel = grpc::CreateChannel(daemon->grpc_address(), grpc::InsecureChannelCredentials());
  auto stub = grpc::reflection::v1alpha::ServerReflection::NewStub(channel);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  auto stream = stub->ServerReflectionInfo(&context);

  grpc::reflection::v1alpha::ServerReflectionRequest list;
  list.set_list_services("");
  ASSERT_TRUE(stream->Write(list));
  grpc::reflection::v1alpha::ServerReflectionResponse response;
  ASSERT_TRUE(stream->Read(&response));
  std::vector<std::string> names;
  for (const auto& service : response.list_services_response().service()) {
    names.push_back(service.name());
  }
  for (const char* wanted :
       {"tristage.v1.Admin", "grpc.health.v1.Health", "grpc.reflection.v1alpha.ServerReflection"}) {
    EXPECT_NE(std::find(names.begin(), names.end(), wanted), names.end()) << wanted;
  }

  grpc::reflection::v1alpha::ServerReflectionRequest describe;
  describe.set_file_containing_symbol("tristage.v1.Admin");
  ASSERT_TRUE(stream->Write(describe));
  ASSERT_TRUE(stream->Read(&response));
  EXPECT_GT(response.file_descriptor_response().file_descriptor_proto_size(), 0)
      << response.DebugString();
  stream->WritesDone();
  EXPECT_TRUE(stream->Finish().ok());
}

TEST_F(DaemonTest, MetricsAreScrapedAsPrometheusText) {
  auto daemon = StartDaemon({});
  ASSERT_NE(daemon, nullptr);
  auto response = testing::HttpGet("127.0.0.1", daemon->metrics_port(), "/metrics");
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->status_code, 200);
  EXPECT_TRUE(absl::StrContains(response->headers, "text/plain; version=0.0.4"));
  EXPECT_TRUE(absl::StrContains(response->body, "# TYPE tristage_build_info gauge"));
  EXPECT_TRUE(absl::StrContains(response->body, "tristage_build_info{version=\""));
  EXPECT_TRUE(absl::StrContains(response->body, "process_cpu_seconds_total "));
  EXPECT_TRUE(absl::StrContains(response->body, "process_resident_memory_bytes "));
}

TEST_F(DaemonTest, MetricsAnswerUnknownPathsWith404) {
  auto daemon = StartDaemon({});
  ASSERT_NE(daemon, nullptr);
  auto response = testing::HttpGet("127.0.0.1", daemon->metrics_port(), "/nope");
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->status_code, 404);
}

TEST_F(DaemonTest, SigtermExitsZeroWithinFiveSeconds) {
  auto daemon = StartDaemon({});
  ASSERT_NE(daemon, nullptr);
  daemon->process().Signal(SIGTERM);
  auto code = daemon->process().Wait(absl::Seconds(5));
  ASSERT_TRUE(code.ok()) << code.status();
  EXPECT_EQ(*code, 0) << daemon->process().stderr_text();
  EXPECT_TRUE(absl::StrContains(daemon->process().stderr_text(), "shutdown complete"));
}

TEST_F(DaemonTest, SigintExitsZero) {
  auto daemon = StartDaemon({});
  ASSERT_NE(daemon, nullptr);
  daemon->process().Signal(SIGINT);
  auto code = daemon->process().Wait(absl::Seconds(5));
  ASSERT_TRUE(code.ok()) << code.status();
  EXPECT_EQ(*code, 0);
}

// A Health/Watch stream is in flight when SIGTERM arrives: it sees NOT_SERVING before the daemon
// goes away, and the daemon still exits 0 once the drain timeout cancels the stream.
TEST_F(DaemonTest, ShutdownTurnsReadinessNotServingBeforeExiting) {
  auto daemon = StartDaemon({"--exit-timeout-secs", "1"});
  ASSERT_NE(daemon, nullptr);
  auto channel = grpc::CreateChannel(daemon->grpc_address(), grpc::InsecureChannelCredentials());
  auto stub = grpc::health::v1::Health::NewStub(channel);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  grpc::health::v1::HealthCheckRequest request;
  auto reader = stub->Watch(&context, request);
  grpc::health::v1::HealthCheckResponse response;
  ASSERT_TRUE(reader->Read(&response));
  EXPECT_EQ(response.status(), grpc::health::v1::HealthCheckResponse::SERVING);

  daemon->process().Signal(SIGTERM);
  ASSERT_TRUE(reader->Read(&response));
  EXPECT_EQ(response.status(), grpc::health::v1::HealthCheckResponse::NOT_SERVING);
  auto code = daemon->process().Wait(absl::Seconds(5));
  ASSERT_TRUE(code.ok()) << code.status();
  EXPECT_EQ(*code, 0) << daemon->process().stderr_text();
}

TEST_F(DaemonTest, ConfigFileSetsOptionsAndFlagsWin) {
  const std::string path = (std::filesystem::temp_directory_path() /
                            ("tristage_daemon_test_" + std::to_string(::getpid()) + ".yaml"))
                               .string();
  std::ofstream(path) << "metrics-port: -1\nlog-level: error\n";
  // Daemon::Start passes --metrics-port 0 on the command line, which must win over the file.
  auto daemon = StartDaemon({"--config", path});
  std::filesystem::remove(path);
  ASSERT_NE(daemon, nullptr);
  EXPECT_GT(daemon->metrics_port(), 0);
  EXPECT_EQ(Client(*daemon)->CheckHealth().value(), ServingStatus::kServing);
}

TEST_F(DaemonTest, MetricsCanBeDisabled) {
  auto process = testing::Subprocess::Start(
      {TRISTAGE_SERVER_BINARY, "--grpc-port", "0", "--metrics-port", "-1", "--http-port", "-1"});
  ASSERT_TRUE(process.ok());
  ASSERT_TRUE((*process)->ReadStdoutLine(absl::Seconds(30)).ok());
  EXPECT_EQ((*process)->ReadStdoutLine(absl::Seconds(5)).value(), "metrics disabled");
}

TEST_F(DaemonTest, UnknownFlagExitsTwoNamingItAndTheClosestFlag) {
  auto result = testing::RunCommand({TRISTAGE_SERVER_BINARY, "--grpc-prot", "0"});
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->exit_code, 2);
  EXPECT_TRUE(absl::StrContains(result->err, "unknown flag '--grpc-prot'")) << result->err;
  EXPECT_TRUE(absl::StrContains(result->err, "did you mean '--grpc-port'?")) << result->err;
}

TEST_F(DaemonTest, PortInUseExitsOneWithTheReason) {
  auto daemon = StartDaemon({});
  ASSERT_NE(daemon, nullptr);
  auto result = testing::RunCommand({TRISTAGE_SERVER_BINARY, "--grpc-port",
                                     std::to_string(daemon->grpc_port()), "--metrics-port", "-1",
                                     "--http-port", "-1"});
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->exit_code, 1);
  EXPECT_TRUE(absl::StrContains(result->err, "cannot listen on")) << result->err;

  result = testing::RunCommand({TRISTAGE_SERVER_BINARY, "--grpc-port", "0", "--http-port", "-1",
                                "--metrics-port", std::to_string(daemon->metrics_port())});
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->exit_code, 1);
  EXPECT_TRUE(absl::StrContains(result->err, "metrics: cannot listen on")) << result->err;

  // The HTTP/REST port too: never shared (SO_REUSEPORT is off), a clear start-up failure.
  ASSERT_GT(daemon->http_port(), 0);
  result = testing::RunCommand({TRISTAGE_SERVER_BINARY, "--grpc-port", "0", "--metrics-port", "-1",
                                "--http-port", std::to_string(daemon->http_port())});
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->exit_code, 1);
  EXPECT_TRUE(absl::StrContains(result->err, "http: cannot listen on")) << result->err;
}

TEST_F(DaemonTest, HelpAndVersionExitZero) {
  auto help = testing::RunCommand({TRISTAGE_SERVER_BINARY, "--help"});
  ASSERT_TRUE(help.ok());
  EXPECT_EQ(help->exit_code, 0);
  EXPECT_TRUE(absl::StrContains(help->out, "--exit-timeout-secs"));
  auto version = testing::RunCommand({TRISTAGE_SERVER_BINARY, "--version"});
  ASSERT_TRUE(version.ok());
  EXPECT_EQ(version->exit_code, 0);
  EXPECT_TRUE(absl::StartsWith(version->out, "tristage-server "));
}

}  // namespace
// --check-config: the flags and the config file are validated and nothing is served.
TEST_F(DaemonTest, CheckConfigValidatesWithoutServing) {
  const std::filesystem::path dir = std::filesystem::temp_directory_path() /
                                    ("tristage_check_config_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "good.yaml") << "grpc-port: 8001\nhttp-port: 8000\ndrain-delay-secs: 5\n";
  std::ofstream(dir / "typo.yaml") << "grpc-prot: 8001\n";
  std::ofstream(dir / "tls.yaml") << "tls-cert: /nonexistent.pem\ntls-key: /nonexistent.key\n";
  auto good = testing::RunCommand(
      {TRISTAGE_SERVER_BINARY, "--config", (dir / "good.yaml").string(), "--check-config"});
  ASSERT_TRUE(good.ok());
  EXPECT_EQ(good->exit_code, 0) << good->err;
  EXPECT_EQ(good->out, "config OK\n");
  auto typo = testing::RunCommand(
      {TRISTAGE_SERVER_BINARY, "--config", (dir / "typo.yaml").string(), "--check-config"});
  ASSERT_TRUE(typo.ok());
  EXPECT_EQ(typo->exit_code, 2);
  EXPECT_TRUE(absl::StrContains(typo->err, "unknown key 'grpc-prot'")) << typo->err;
  auto tls = testing::RunCommand(
      {TRISTAGE_SERVER_BINARY, "--config", (dir / "tls.yaml").string(), "--check-config"});
  ASSERT_TRUE(tls.ok());
  EXPECT_EQ(tls->exit_code, 2);
  EXPECT_TRUE(absl::StrContains(tls->err, "/nonexistent.pem")) << tls->err;
  auto bad_delay =
      testing::RunCommand({TRISTAGE_SERVER_BINARY, "--drain-delay-secs", "-1", "--check-config"});
  ASSERT_TRUE(bad_delay.ok());
  EXPECT_EQ(bad_delay->exit_code, 2);
  std::filesystem::remove_all(dir);
}

// --drain-delay-secs: after SIGTERM readiness is off at once, but work is still accepted for the
// delay; then the drain refuses it and the process exits 0.
TEST_F(DaemonTest, DrainDelayKeepsAcceptingWorkAfterReadinessGoesOff) {
  auto daemon = StartDaemon({"--drain-delay-secs", "3"});
  ASSERT_NE(daemon, nullptr);
  ASSERT_GT(daemon->http_port(), 0);
  auto client = Client(*daemon);
  auto ready = [&] {
    auto page = testing::HttpGet("127.0.0.1", daemon->http_port(), "/v2/health/ready");
    return page.ok() ? page->status_code : 0;
  };
  EXPECT_EQ(ready(), 200);
  const absl::Time sent = absl::Now();
  daemon->process().Signal(SIGTERM);
  while (ready() != 400) ASSERT_LT(absl::Now() - sent, absl::Seconds(3));
  EXPECT_TRUE(client->GetServerInfo().ok());  // within the delay: still served
  auto code = daemon->process().Wait(absl::Seconds(30));
  ASSERT_TRUE(code.ok()) << code.status();
  EXPECT_EQ(*code, 0);
  EXPECT_GE(absl::Now() - sent, absl::Seconds(3));
}

}  // namespace tristage
