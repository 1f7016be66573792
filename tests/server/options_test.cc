#include "server/options.h"

#include <filesystem>
#include <fstream>

#include "gtest/gtest.h"

namespace tristage::server {
namespace {

class ServerOptionsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("tristage_options_test_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string WriteConfig(const std::string& text) {
    std::string path = (dir_ / "server.yaml").string();
    std::ofstream(path) << text;
    return path;
  }

  std::filesystem::path dir_;
};

TEST_F(ServerOptionsTest, DefaultsMatchTheDocumentedOnes) {
  auto parsed = ParseServerCommandLine({});
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->options.bind_address, "127.0.0.1");
  EXPECT_EQ(parsed->options.grpc_port, 8001);
  EXPECT_EQ(parsed->options.metrics_port, 8002);
  EXPECT_EQ(parsed->options.exit_timeout_secs, 30);
  EXPECT_EQ(parsed->options.log_level, LogLevel::kInfo);
  EXPECT_FALSE(parsed->help);
}

TEST_F(ServerOptionsTest, FlagsSetEveryOption) {
  auto parsed = ParseServerCommandLine({"--grpc-port", "0", "--metrics-port=-1", "--bind",
                                        "0.0.0.0", "--model-repository", dir_.string(),
                                        "--log-level", "debug", "--exit-timeout-secs", "3"});
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->options.grpc_port, 0);
  EXPECT_EQ(parsed->options.metrics_port, -1);
  EXPECT_EQ(parsed->options.bind_address, "0.0.0.0");
  EXPECT_EQ(parsed->options.model_repository, dir_.string());
  EXPECT_EQ(parsed->options.log_level, LogLevel::kDebug);
  EXPECT_EQ(parsed->options.exit_timeout_secs, 3);
}

TEST_F(ServerOptionsTest, ConfigFileFillsWhatFlagsLeaveAndFlagsWin) {
  const std::string config = WriteConfig(
      "grpc-port: 9100\nmetrics_port: 9101\nlog-level: warning\nexit-timeout-secs: 7\n");
  auto parsed = ParseServerCommandLine({"--config", config, "--grpc-port", "9200"});
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->options.grpc_port, 9200);  // the flag wins
  EXPECT_EQ(parsed->options.metrics_port, 9101);
  EXPECT_EQ(parsed->options.log_level, LogLevel::kWarning);
  EXPECT_EQ(parsed->options.exit_timeout_secs, 7);
}

TEST_F(ServerOptionsTest, ConfigFileUnknownKeyIsNamedWithASuggestion) {
  const std::string config = WriteConfig("grpc-prot: 1\n");
  auto parsed = ParseServerCommandLine({"--config", config});
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(parsed.status().message().find("unknown key 'grpc-prot' (did you mean 'grpc-port'?)"),
            std::string::npos)
      << parsed.status();
}

TEST_F(ServerOptionsTest, ConfigFileMustBeAMappingOfScalars) {
  EXPECT_FALSE(ParseServerCommandLine({"--config", WriteConfig("- a\n- b\n")}).ok());
  EXPECT_FALSE(ParseServerCommandLine({"--config", WriteConfig("bind: [a, b]\n")}).ok());
  EXPECT_FALSE(ParseServerCommandLine({"--config", WriteConfig("bind: [unclosed\n")}).ok());
}

TEST_F(ServerOptionsTest, MissingConfigFileIsNotFound) {
  auto parsed = ParseServerCommandLine({"--config", (dir_ / "nope.yaml").string()});
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.status().code(), absl::StatusCode::kNotFound);
}

TEST_F(ServerOptionsTest, OutOfRangePortIsRejectedNamingTheFlag) {
  auto parsed = ParseServerCommandLine({"--grpc-port", "70000"});
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.status().message(), "--grpc-port: '70000' is not an integer in [0, 65535]");
  EXPECT_FALSE(ParseServerCommandLine({"--metrics-port", "abc"}).ok());
  EXPECT_FALSE(ParseServerCommandLine({"--exit-timeout-secs", "-1"}).ok());
}

TEST_F(ServerOptionsTest, ModelRepositoryMustBeADirectory) {
  auto parsed = ParseServerCommandLine({"--model-repository", (dir_ / "missing").string()});
  ASSERT_FALSE(parsed.ok());
  EXPECT_NE(parsed.status().message().find("is not a directory"), std::string::npos);
}

TEST_F(ServerOptionsTest, BadLogLevelListsTheChoices) {
  auto parsed = ParseServerCommandLine({"--log-level", "loud"});
  ASSERT_FALSE(parsed.ok());
  EXPECT_NE(parsed.status().message().find("debug, info, warning, error"), std::string::npos);
}

TEST_F(ServerOptionsTest, HelpAndVersionShortCircuit) {
  auto help = ParseServerCommandLine({"-h", "--grpc-port", "99999"});
  ASSERT_TRUE(help.ok());
  EXPECT_TRUE(help->help);
  auto version = ParseServerCommandLine({"--version"});
  ASSERT_TRUE(version.ok());
  EXPECT_TRUE(version->version);
}

}  // namespace
}  // namespace tristage::server
