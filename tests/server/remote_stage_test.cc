// End-to-end tests of a staged deployment on loopback: a front tristage-server that preprocesses
// and postprocesses, its predictor served by a second tristage-server from a predictor-only
// export (serving.yaml `predictor: {remote: ...}`). Against one daemon serving the whole export:
// identical predictions for a model with every input type; a killed remote is UNAVAILABLE at once
// and a restarted one is used again; SIGTERM of the front loses no accepted request.
//
// Registered as one ctest (the model is trained once).
#include <signal.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "core/api/model.h"
#include "core/api/synthesize.h"
#include "core/data/io.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "inference/grpc_service.grpc.pb.h"
#include "nlohmann/json.hpp"
#include "tests/testing/daemon.h"
#include "tests/testing/http_get.h"
#include "tests/testing/scratch_dir.h"

namespace tristage {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

// A model with every input type, exported whole and predictor-only.
class Environment {
 public:
  static Environment& Get() {
    static Environment* env = new Environment();
    return *env;
  }
  fs::path dir;
  data::Table table;
  std::vector<std::string> inputs;
  std::string full_export;
  std::string predictor_export;

 private:
  Environment() {
    dir = testing::ProcessScratchDir("tristage_remote_stage_test");
    const json config = json::parse(R"({
      "input_features": [
        {"name": "n", "type": "number"}, {"name": "b", "type": "binary"},
        {"name": "c", "type": "category"}, {"name": "s", "type": "set"},
        {"name": "g", "type": "bag"}, {"name": "v", "type": "vector"},
        {"name": "d", "type": "date"},
        {"name": "t", "type": "text", "encoder": {"type": "parallel_cnn", "num_filters": 8,
                                                  "embedding_size": 8, "output_size": 8}},
        {"name": "q", "type": "sequence", "encoder": {"type": "rnn", "cell_type": "gru",
                                                      "state_size": 8, "embedding_size": 8}}],
      "output_features": [
        {"name": "yb", "type": "binary"}, {"name": "yn", "type": "number"},
        {"name": "yc", "type": "category"}, {"name": "ys", "type": "set"},
        {"name": "yv", "type": "vector"}],
      "trainer": {"epochs": 1, "batch_size": 64}})");
    for (const json& feature : config["input_features"]) inputs.push_back(feature["name"]);
    SynthesizeOptions synth;
    synth.rows = 300;
    synth.seed = 11;
    synth.missing_rate = 0.05;
    const std::string data = (dir / "data.csv").string();
    EXPECT_TRUE(data::WriteTable(*SynthesizeDataset(config, synth), data).ok());
    table = *ReadDataset(data);
    auto model = Model::FromConfig(config);
    EXPECT_TRUE(model.ok()) << model.status();
    TrainOptions options;
    options.data.dataset = data;
    options.output_directory = (dir / "results").string();
    options.skip_save_processed_input = true;
    EXPECT_TRUE((*model)->Train(options).ok());
    full_export = (dir / "full").string();
    predictor_export = (dir / "predictor").string();
    EXPECT_TRUE((*model)->SaveTorchscript(full_export).ok());
    EXPECT_TRUE((*model)->SaveTorchscript(predictor_export, /*model_only=*/true).ok());
  }
};

inference::ModelInferRequest Rows(const std::string& model, int64_t begin, int64_t end) {
  const Environment& env = Environment::Get();
  inference::ModelInferRequest request;
  request.set_model_name(model);
  for (const std::string& name : env.inputs) {
    const data::Column& column = **env.table.Get(name);
    auto* tensor = request.add_inputs();
    tensor->set_name(name);
    tensor->set_datatype("BYTES");
    tensor->add_shape(end - begin);
    for (int64_t row = begin; row < end; ++row) {
      tensor->mutable_contents()->add_bytes_contents(column.values[row]);
    }
  }
  return request;
}

class RemoteStageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const Environment& env = Environment::Get();
    root_ = env.dir / ::testing::UnitTest::GetInstance()->current_test_info()->name();
    fs::remove_all(root_);
    Copy(env.predictor_export, root_ / "remote" / "m_predictor" / "1");
    Copy(env.full_export, root_ / "single" / "m" / "1");
    Copy(env.full_export, root_ / "front" / "m" / "1");
    StartRemote("0");
    std::ofstream(root_ / "front" / "m" / "serving.yaml")
        << "predictor:\n  remote: {address: \"" << remote_->grpc_address()
        << "\", model: m_predictor, timeout_ms: 20000}\n";
    front_ = StartDaemon(root_ / "front", {});
  }
  void TearDown() override {
    for (auto* daemon : {&front_, &remote_, &single_}) {
      if (*daemon == nullptr) continue;
      (*daemon)->process().Signal(SIGTERM);
      EXPECT_EQ((*daemon)->process().Wait(absl::Seconds(30)).value_or(-1), 0);
    }
    std::error_code ignored;
    fs::remove_all(root_, ignored);
  }
  static void Copy(const std::string& from, const fs::path& to) {
    fs::create_directories(to);
    fs::copy(from, to, fs::copy_options::recursive);
  }
  std::unique_ptr<testing::Daemon> StartDaemon(const fs::path& repo,
                                               std::vector<std::string> flags) {
    flags.insert(flags.end(), {"--model-repository", repo.string(), "--log-level", "warning"});
    auto daemon = testing::Daemon::Start(TRISTAGE_SERVER_BINARY, flags);
    EXPECT_TRUE(daemon.ok()) << daemon.status();
    return daemon.ok() ? std::move(*daemon) : nullptr;
  }
  // The remote on `port` ("0": a free one).
  void StartRemote(const std::string& port) {
    remote_ = StartDaemon(root_ / "remote", {"--grpc-port", port});
    ASSERT_NE(remote_, nullptr);
  }
  static grpc::Status Infer(const testing::Daemon& daemon,
                            const inference::ModelInferRequest& request,
                            inference::ModelInferResponse* response,
                            absl::Duration timeout = absl::Seconds(30)) {
    auto stub = inference::GRPCInferenceService::NewStub(
        grpc::CreateChannel(daemon.grpc_address(), grpc::InsecureChannelCredentials()));
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
    return stub->ModelInfer(&context, request, response);
  }

  fs::path root_;
  std::unique_ptr<testing::Daemon> remote_;
  std::unique_ptr<testing::Daemon> front_;
  std::unique_ptr<testing::Daemon> single_;
};

TEST_F(RemoteStageTest, FrontAndRemoteAnswerLikeOneDaemonForEveryInputType) {
  ASSERT_NE(front_, nullptr);
  single_ = StartDaemon(root_ / "single", {});
  ASSERT_NE(single_, nullptr);
  for (auto [begin, end] : std::vector<std::pair<int64_t, int64_t>>{{0, 1}, {3, 40}, {0, 200}}) {
    SCOPED_TRACE(absl::StrCat("rows ", begin, "..", end));
    inference::ModelInferResponse staged, whole;
    grpc::Status status = Infer(*front_, Rows("m", begin, end), &staged);
    ASSERT_TRUE(status.ok()) << status.error_message();
    status = Infer(*single_, Rows("m", begin, end), &whole);
    ASSERT_TRUE(status.ok()) << status.error_message();
    ASSERT_EQ(staged.outputs_size(), whole.outputs_size());
    ASSERT_GT(staged.outputs_size(), 5);
    for (int i = 0; i < staged.outputs_size(); ++i) {
      EXPECT_EQ(staged.outputs(i).name(), whole.outputs(i).name());
      EXPECT_EQ(staged.raw_output_contents(i), whole.raw_output_contents(i))
          << staged.outputs(i).name();
    }
  }
  // The remote serves the predictor as a tensor model: its metadata lists the tensors.
  auto page = testing::HttpGet("127.0.0.1", remote_->http_port(), "/v2/models/m_predictor");
  ASSERT_TRUE(page.ok());
  const json metadata = json::parse(page->body);
  EXPECT_EQ(metadata["platform"], "tristage_torchscript_predictor");
  EXPECT_EQ(metadata["inputs"].size(), Environment::Get().inputs.size());
}

TEST_F(RemoteStageTest, AKilledRemoteIsUnavailableAtOnceAndARestartedOneIsUsedAgain) {
  ASSERT_NE(front_, nullptr);
  inference::ModelInferResponse response;
  ASSERT_TRUE(Infer(*front_, Rows("m", 0, 4), &response).ok());
  const std::string port = std::to_string(remote_->grpc_port());
  remote_->process().Signal(SIGKILL);
  ASSERT_TRUE(remote_->process().Wait(absl::Seconds(10)).ok());
  remote_.reset();

  const absl::Time sent = absl::Now();
  grpc::Status status = Infer(*front_, Rows("m", 0, 4), &response, absl::Seconds(10));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE) << status.error_message();
  EXPECT_TRUE(absl::StrContains(status.error_message(), "predictor stage at 127.0.0.1:" + port))
      << status.error_message();
  EXPECT_LT(absl::Now() - sent, absl::Seconds(5));  // no waiting for the 10 s deadline

  StartRemote(port);
  const absl::Time give_up = absl::Now() + absl::Seconds(20);
  do {
    status = Infer(*front_, Rows("m", 0, 4), &response);
  } while (!status.ok() && status.error_code() == grpc::StatusCode::UNAVAILABLE &&
           absl::Now() < give_up);
  EXPECT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.outputs(0).shape(0), 4);
}

TEST_F(RemoteStageTest, SigtermOfTheFrontUnderLoadLosesNoAcceptedRequest) {
  ASSERT_NE(front_, nullptr);
  std::atomic<bool> stop{false};
  std::atomic<int> ok{0};
  absl::Mutex mu;
  std::vector<std::string> lost;
  std::vector<std::thread> clients;
  for (int c = 0; c < 6; ++c) {
    clients.emplace_back([&, c] {
      auto stub = inference::GRPCInferenceService::NewStub(
          grpc::CreateChannel(front_->grpc_address(), grpc::InsecureChannelCredentials()));
      for (int i = 0; !stop.load(); ++i) {
        grpc::ClientContext context;
        context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(30)));
        inference::ModelInferResponse response;
        const int64_t begin = (c * 17 + i) % 250;
        const grpc::Status status =
            stub->ModelInfer(&context, Rows("m", begin, begin + 16), &response);
        if (status.ok()) {
          ++ok;
        } else if (status.error_code() == grpc::StatusCode::UNAVAILABLE) {
          // Refused (shutting down): never accepted.
          if (absl::StrContains(status.error_message(), "predictor stage")) {
            absl::MutexLock lock(&mu);
            lost.push_back(status.error_message());
          }
          break;
        } else {
          absl::MutexLock lock(&mu);
          lost.push_back(absl::StrCat(status.error_code(), ": ", status.error_message()));
          break;
        }
      }
    });
  }
  const absl::Time give_up = absl::Now() + absl::Seconds(60);
  while (ok.load() < 20) {
    ASSERT_LT(absl::Now(), give_up) << "the front never answered 20 requests";
    std::this_thread::yield();
  }
  // No request starts after SIGTERM (gRPC may cancel a call that reaches the server while it
  // shuts down, before any handler saw it); every one in flight by then must be answered, or
  // refused as the drain refuses new work.
  stop = true;
  front_->process().Signal(SIGTERM);
  auto code = front_->process().Wait(absl::Seconds(60));
  for (std::thread& client : clients) client.join();
  ASSERT_TRUE(code.ok()) << code.status();
  EXPECT_EQ(*code, 0) << front_->process().stderr_text();
  front_.reset();
  absl::MutexLock lock(&mu);
  EXPECT_TRUE(lost.empty()) << lost.front();
  EXPECT_GE(ok.load(), 20);
}

}  // namespace
}  // namespace tristage
