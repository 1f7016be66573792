// ModelManager with fake servables (tests/testing/fake_servable.h): a failed load keeps the old
// version, a reload under traffic loses no request, an unload drains what was accepted, and every
// lifecycle state (LOADING, AVAILABLE, UNLOADING, FAILED) is seen through Index(), Get() and the
// readiness listener, and through the daemon's RPCs (KServe ModelReady and RepositoryIndex, gRPC
// health, the tristage_model_state metric).
#include "server/serving/model_manager.h"

#include <atomic>
#include <filesystem>
#include <fstream>
#include <future>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/synchronization/notification.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "inference/grpc_service.grpc.pb.h"
#include "server/server.h"
#include "tests/testing/fake_servable.h"
#include "tests/testing/http_get.h"

namespace tristage::server {
namespace {

namespace fs = std::filesystem;

class ModelManagerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    repo_ = fs::temp_directory_path() /
            ("tristage_model_manager_" + std::to_string(::getpid()) + "_" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(repo_);
    fs::create_directories(repo_);
  }
  void TearDown() override {
    fakes_.ReleaseLoads();
    fakes_.ReleasePredicts();
    manager_.reset();
    fs::remove_all(repo_);
  }

  void AddVersion(const std::string& model, int version, const std::string& model_id = "") {
    fs::create_directories(repo_ / model / std::to_string(version));
    if (!model_id.empty()) {
      std::ofstream(repo_ / model / std::to_string(version) / "manifest.json")
          << "{\"model_id\": \"" << model_id << "\"}\n";
    }
  }
  void Start(const std::string& mode = "explicit") {
    ModelManagerOptions options;
    options.repository = repo_.string();
    options.control_mode = mode;
    options.loader = fakes_.Loader();
    auto manager = ModelManager::Create(options);
    ASSERT_TRUE(manager.ok()) << manager.status();
    manager_ = std::move(*manager);
  }
  VersionStatus StatusOf(const std::string& model, int64_t version) {
    for (const VersionStatus& status : manager_->Index()) {
      if (status.model == model && status.version == version) return status;
    }
    return {model, version, VersionState::kEnd, "not in the index"};
  }
  // Submits one row; the future gets y (the length of `x`) or the error. As the RPCs do
  // (rpc/submit.h): a version being replaced refuses new work (Unavailable) once the manager
  // points at its successor, so one retry lands there.
  std::future<absl::StatusOr<float>> Predict(const std::string& model, const std::string& x) {
    auto promise = std::make_shared<std::promise<absl::StatusOr<float>>>();
    auto future = promise->get_future();
    absl::Status submitted;
    for (int attempt = 0; attempt < 2; ++attempt) {
      auto pipeline = manager_->Get(model, "");
      if (!pipeline.ok()) {
        promise->set_value(pipeline.status());
        return future;
      }
      auto request = std::make_unique<InferRequest>();
      request->inputs["x"].strings = {x};
      request->may_run_inline = false;  // a held Predict must not hold the submitting test thread
      request->done = [promise](absl::StatusOr<exporting::OutputMap> outputs) {
        if (!outputs.ok()) {
          promise->set_value(outputs.status());
        } else {
          promise->set_value(outputs->front().second.numbers.at(0));
        }
      };
      submitted = (*pipeline)->Submit(std::move(request));
      if (submitted.code() != absl::StatusCode::kUnavailable) break;
    }
    if (!submitted.ok()) promise->set_value(submitted);
    return future;
  }

  fs::path repo_;
  testing::FakeModels fakes_;
  std::unique_ptr<ModelManager> manager_;
};

TEST_F(ModelManagerTest, AFailedLoadKeepsTheServingVersionAndShowsTheReason) {
  AddVersion("m", 1);
  Start();
  ASSERT_TRUE(manager_->Load("m").ok());
  EXPECT_EQ(StatusOf("m", 1).state, VersionState::kAvailable);

  AddVersion("m", 2);
  fakes_.FailLoads("m/2", absl::InvalidArgumentError("m/2: a truncated stage"));
  const absl::Status load = manager_->Load("m");
  EXPECT_EQ(load.code(), absl::StatusCode::kInvalidArgument) << load;
  EXPECT_EQ(StatusOf("m", 2).state, VersionState::kFailed);
  EXPECT_EQ(StatusOf("m", 2).reason, "m/2: a truncated stage");
  EXPECT_EQ(StatusOf("m", 1).state, VersionState::kAvailable);  // kept: 2 never became available
  int64_t version = 0;
  ASSERT_TRUE(manager_->Get("m", "", &version).ok());
  EXPECT_EQ(version, 1);
  EXPECT_EQ(Predict("m", "abc").get().value(), 3.0f);
  const auto failed = manager_->Get("m", "2");
  EXPECT_EQ(failed.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(absl::StrContains(failed.status().message(), "a truncated stage")) << failed.status();

  // Fixed: version 2 serves and version 1 (no longer selected by latest: 1) ends.
  fakes_.FailLoads("m/2", absl::OkStatus());
  ASSERT_TRUE(manager_->Load("m").ok());
  EXPECT_EQ(StatusOf("m", 2).state, VersionState::kAvailable);
  EXPECT_EQ(StatusOf("m", 1).state, VersionState::kEnd);
}

TEST_F(ModelManagerTest, AVersionIsLoadingUntilItsServableIsMadeAndServesOnlyThen) {
  AddVersion("m", 1);
  Start();
  std::vector<std::pair<std::string, bool>> readiness;
  absl::Mutex mu;
  manager_->SetReadinessListener([&](const std::string& model, bool ready) {
    absl::MutexLock lock(&mu);
    readiness.emplace_back(model, ready);
  });
  fakes_.HoldLoads();
  std::thread loader([this] { EXPECT_TRUE(manager_->Load("m").ok()); });
  fakes_.AwaitLoadsWaiting(1);
  EXPECT_EQ(StatusOf("m", 1).state, VersionState::kLoading);
  EXPECT_FALSE(manager_->Ready("m"));
  const auto loading = manager_->Get("m", "");
  EXPECT_EQ(loading.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(loading.status().message(), "model 'm' is loading");
  fakes_.ReleaseLoads();
  loader.join();
  EXPECT_EQ(StatusOf("m", 1).state, VersionState::kAvailable);
  EXPECT_TRUE(manager_->Ready("m"));
  absl::MutexLock lock(&mu);
  ASSERT_FALSE(readiness.empty());
  EXPECT_EQ(readiness.back(), std::make_pair(std::string("m"), true));
}

TEST_F(ModelManagerTest, UnloadDrainsWhatWasAcceptedAndIsUnloadingMeanwhile) {
  AddVersion("m", 1);
  Start();
  ASSERT_TRUE(manager_->Load("m").ok());
  std::vector<bool> readiness;
  manager_->SetReadinessListener(
      [&](const std::string&, bool ready) { readiness.push_back(ready); });
  fakes_.HoldPredicts();
  auto accepted = Predict("m", "four");
  fakes_.AwaitPredictsWaiting(1);
  std::thread unloader([this] { EXPECT_TRUE(manager_->Unload("m").ok()); });
  // The unload waits for the accepted request; meanwhile the version is UNLOADING, takes no new
  // request and the model is not ready.
  for (;;) {
    if (StatusOf("m", 1).state == VersionState::kUnloading) break;
    std::this_thread::yield();  // the unloader thread gets there without any other event
  }
  EXPECT_EQ(manager_->Get("m", "").status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(manager_->Get("m", "").status().message(), "model 'm' is unloading");
  EXPECT_FALSE(manager_->Ready("m"));
  fakes_.ReleasePredicts();
  unloader.join();
  EXPECT_EQ(accepted.get().value(), 4.0f);  // answered, not dropped
  EXPECT_EQ(StatusOf("m", 1).state, VersionState::kEnd);
  EXPECT_EQ(manager_->Get("m", "").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(readiness, std::vector<bool>({true, false}));
}

TEST_F(ModelManagerTest, AReloadUnderTrafficLosesNoRequest) {
  AddVersion("m", 1, "first");
  Start();
  ASSERT_TRUE(manager_->Load("m").ok());
  std::atomic<bool> stop{false};
  std::atomic<int> ok{0};
  std::vector<std::string> failures;
  absl::Mutex mu;
  std::vector<std::thread> clients;
  for (int c = 0; c < 4; ++c) {
    clients.emplace_back([&] {
      while (!stop.load()) {
        absl::StatusOr<float> y = Predict("m", "xy").get();
        if (y.ok() && *y == 2.0f) {
          ok.fetch_add(1);
        } else {
          absl::MutexLock lock(&mu);
          failures.push_back(y.ok() ? "wrong answer" : std::string(y.status().message()));
        }
      }
    });
  }
  for (int reload = 0; reload < 20; ++reload) {
    // A new export of the same version (another model_id) replaces the serving one.
    AddVersion("m", 1, "export" + std::to_string(reload));
    ASSERT_TRUE(manager_->Load("m").ok());
    EXPECT_EQ(StatusOf("m", 1).state, VersionState::kAvailable);
  }
  stop.store(true);
  for (std::thread& client : clients) client.join();
  EXPECT_EQ(fakes_.loads(), 21);
  EXPECT_GT(ok.load(), 0);
  absl::MutexLock lock(&mu);
  EXPECT_TRUE(failures.empty()) << failures.size() << " failed, first: " << failures.front();
}

TEST_F(ModelManagerTest, ThePollRetriesAFailedVersionOnlyWhenItsFilesChange) {
  AddVersion("m", 1);
  fakes_.FailLoads("m/1", absl::InternalError("broken"));
  Start("none");  // loads everything once at start
  EXPECT_EQ(StatusOf("m", 1).state, VersionState::kFailed);
  EXPECT_EQ(fakes_.loads(), 1);
  manager_->Poll();
  EXPECT_EQ(fakes_.loads(), 1);  // unchanged on disk: not retried, not logged again
  std::ofstream(repo_ / "m" / "1" / "manifest.json") << "{\"model_id\": \"new\"}\n";
  fakes_.FailLoads("m/1", absl::OkStatus());
  manager_->Poll();
  EXPECT_EQ(fakes_.loads(), 2);
  EXPECT_EQ(StatusOf("m", 1).state, VersionState::kAvailable);
}

// The lifecycle through the daemon's RPCs: KServe ModelReady (gRPC and REST) and RepositoryIndex,
// gRPC health per model and the tristage_model_state metric.
TEST_F(ModelManagerTest, TheDaemonShowsEachStateThroughItsRpcsHealthAndMetrics) {
  AddVersion("m", 1);
  ServerOptions options;
  options.grpc_port = 0;
  options.metrics_port = 0;
  options.http_port = 0;
  options.model_repository = repo_.string();
  options.model_control_mode = "explicit";
  auto server = Server::Create(options, fakes_.Loader());
  ASSERT_TRUE(server.ok()) << server.status();
  auto channel = grpc::CreateChannel("127.0.0.1:" + std::to_string((*server)->grpc_port()),
                                     grpc::InsecureChannelCredentials());
  auto kserve = inference::GRPCInferenceService::NewStub(channel);
  auto health = grpc::health::v1::Health::NewStub(channel);
  auto index = [&]() {
    grpc::ClientContext context;
    inference::RepositoryIndexResponse response;
    EXPECT_TRUE(kserve->RepositoryIndex(&context, {}, &response).ok());
    std::string states;
    for (const auto& model : response.models()) {
      states += model.name() + "/" + model.version() + ":" + model.state() + ";";
    }
    return states;
  };
  auto ready = [&]() {
    grpc::ClientContext context;
    inference::ModelReadyRequest request;
    request.set_name("m");
    inference::ModelReadyResponse response;
    const grpc::Status status = kserve->ModelReady(&context, request, &response);
    if (!status.ok()) return "code " + std::to_string(status.error_code());
    return std::string(response.ready() ? "ready" : "not ready");
  };
  // REST readiness: 200 when ready, 400 when not (KServe v2 REST), 404 when unknown.
  auto rest_ready = [&]() {
    auto page = testing::HttpGet("127.0.0.1", (*server)->http_port(), "/v2/models/m/ready");
    EXPECT_TRUE(page.ok()) << page.status();
    return page.ok() ? page->status_code : 0;
  };
  auto serving = [&]() {
    grpc::ClientContext context;
    grpc::health::v1::HealthCheckRequest request;
    request.set_service("m");
    grpc::health::v1::HealthCheckResponse response;
    const grpc::Status status = health->Check(&context, request, &response);
    return status.ok()
               ? grpc::health::v1::HealthCheckResponse::ServingStatus_Name(response.status())
               : "code " + std::to_string(status.error_code());
  };
  auto metric = [&](const std::string& state) {
    auto page = testing::HttpGet("127.0.0.1", (*server)->metrics_port(), "/metrics");
    EXPECT_TRUE(page.ok()) << page.status();
    const std::string line =
        "tristage_model_state{model=\"m\",version=\"1\",state=\"" + state + "\"} 1";
    return page.ok() && absl::StrContains(page->body, line);
  };
  auto load = [&](const std::string& verb) {
    grpc::ClientContext context;
    inference::RepositoryModelLoadRequest request;
    request.set_model_name("m");
    inference::RepositoryModelLoadResponse response;
    inference::RepositoryModelUnloadRequest unload_request;
    unload_request.set_model_name("m");
    inference::RepositoryModelUnloadResponse unload_response;
    return verb == "load"
               ? kserve->RepositoryModelLoad(&context, request, &response)
               : kserve->RepositoryModelUnload(&context, unload_request, &unload_response);
  };

  // Not loaded: listed UNAVAILABLE (unloaded), unknown to ModelReady and health (NOT_FOUND).
  // Not loaded: listed UNAVAILABLE (unloaded), not ready (in the repository), unknown to health.
  EXPECT_EQ(index(), "m/:UNAVAILABLE;");
  EXPECT_EQ(ready(), "not ready");
  EXPECT_EQ(rest_ready(), 400);
  EXPECT_EQ(serving(), "code 5");

  // LOADING while the servable is being made.
  fakes_.HoldLoads();
  std::thread loading([&] { EXPECT_TRUE(load("load").ok()); });
  fakes_.AwaitLoadsWaiting(1);
  EXPECT_EQ(index(), "m/1:LOADING;");
  EXPECT_EQ(ready(), "not ready");
  EXPECT_EQ(rest_ready(), 400);
  EXPECT_TRUE(metric("LOADING"));
  fakes_.ReleaseLoads();
  loading.join();

  // AVAILABLE.
  EXPECT_EQ(index(), "m/1:READY;");
  EXPECT_EQ(ready(), "ready");
  EXPECT_EQ(rest_ready(), 200);
  EXPECT_EQ(serving(), "SERVING");
  EXPECT_TRUE(metric("AVAILABLE"));

  // UNLOADING while an accepted request drains.
  fakes_.HoldPredicts();
  std::thread request([&] {
    grpc::ClientContext context;
    inference::ModelInferRequest infer;
    infer.set_model_name("m");
    auto* input = infer.add_inputs();
    input->set_name("x");
    input->set_datatype("BYTES");
    input->add_shape(1);
    input->mutable_contents()->add_bytes_contents("abc");
    inference::ModelInferResponse response;
    EXPECT_TRUE(kserve->ModelInfer(&context, infer, &response).ok());
  });
  fakes_.AwaitPredictsWaiting(1);
  std::thread unloading([&] { EXPECT_TRUE(load("unload").ok()); });
  while (index() != "m/1:UNLOADING;") std::this_thread::yield();
  EXPECT_EQ(ready(), "not ready");
  EXPECT_EQ(rest_ready(), 400);
  EXPECT_EQ(serving(), "NOT_SERVING");
  EXPECT_TRUE(metric("UNLOADING"));
  fakes_.ReleasePredicts();
  request.join();
  unloading.join();
  EXPECT_EQ(index(), "m/:UNAVAILABLE;");  // END: gone from the index, listed as unloaded

  // FAILED, with its reason.
  fakes_.FailLoads("m/1", absl::InvalidArgumentError("m/1: no manifest.json"));
  EXPECT_FALSE(load("load").ok());
  EXPECT_EQ(index(), "m/1:UNAVAILABLE;");
  {
    grpc::ClientContext context;
    inference::RepositoryIndexResponse response;
    ASSERT_TRUE(kserve->RepositoryIndex(&context, {}, &response).ok());
    ASSERT_EQ(response.models_size(), 1);
    EXPECT_EQ(response.models(0).reason(), "m/1: no manifest.json");
  }
  EXPECT_EQ(ready(), "not ready");
  EXPECT_EQ(serving(), "NOT_SERVING");
  EXPECT_TRUE(metric("FAILED"));
  (*server)->Shutdown(absl::Seconds(5));
}

// SIGTERM's drain over REST: readiness goes 400 at once, a request already working is answered
// 200, a new one is refused 503, and the listener closes when the drain is over.
TEST_F(ModelManagerTest, TheDrainTurnsRestReadinessOffAndFinishesRestRequestsInFlight) {
  AddVersion("m", 1);
  ServerOptions options;
  options.grpc_port = 0;
  options.metrics_port = -1;
  options.http_port = 0;
  options.model_repository = repo_.string();
  auto server = Server::Create(options, fakes_.Loader());
  ASSERT_TRUE(server.ok()) << server.status();
  const int port = (*server)->http_port();
  const std::string body =
      R"({"inputs": [{"name": "x", "datatype": "BYTES", "shape": [1], "data": ["abcd"]}]})";
  auto infer = [port, &body]() {
    httplib::Client http("127.0.0.1", port);
    http.set_read_timeout(30, 0);
    auto res = http.Post("/v2/models/m/infer", body, "application/json");
    return res ? res->status : 0;
  };
  auto ready = [port]() {
    auto page = testing::HttpGet("127.0.0.1", port, "/v2/health/ready");
    return page.ok() ? page->status_code : 0;
  };
  EXPECT_EQ(ready(), 200);
  EXPECT_EQ(infer(), 200);

  fakes_.HoldPredicts();
  std::atomic<int> in_flight_status{0};
  std::thread working([&] { in_flight_status = infer(); });
  fakes_.AwaitPredictsWaiting(1);
  std::thread shutting_down([&] { (*server)->Shutdown(absl::Seconds(30)); });
  while (ready() != 400) std::this_thread::yield();
  EXPECT_EQ(infer(), 503);
  auto live = testing::HttpGet("127.0.0.1", port, "/v2/health/live");
  ASSERT_TRUE(live.ok());
  EXPECT_EQ(live->status_code, 200);
  fakes_.ReleasePredicts();
  working.join();
  EXPECT_EQ(in_flight_status.load(), 200);
  shutting_down.join();
  EXPECT_FALSE(testing::HttpGet("127.0.0.1", port, "/v2/health/live").ok());
}

}  // namespace
}  // namespace tristage::server
