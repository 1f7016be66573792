// Tests of model serving: the pipeline (batching, isolation of bad rows, deadlines, a full queue,
// draining on shutdown), serving.yaml, the model manager (versions, reload, failed loads), and
// tristage.v1.Inference end to end on a real gRPC server with a real exported model.
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/synchronization/notification.h"
#include "client/lib/client.h"
#include "core/api/model.h"
#include "core/api/synthesize.h"
#include "core/data/io.h"
#include "core/platform/system_info.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "inference/grpc_service.grpc.pb.h"
#include "server/options.h"
#include "server/server.h"
#include "server/serving/model_manager.h"
#include "server/serving/pipeline.h"
#include "server/serving/serving_config.h"
#include "tests/testing/daemon.h"
#include "tests/testing/http_get.h"
#include "tristage/v1/inference.grpc.pb.h"

namespace tristage::server {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

// One trained model exported once for the whole suite (training is the slow part).
class ServingEnvironment {
 public:
  static ServingEnvironment& Get() {
    static ServingEnvironment* env = new ServingEnvironment();
    // The environment outlives every test (servers may still hold its files), so its directory
    // goes when the process exits; each ctest process would otherwise leave one behind.
    static const struct RemoveAtExit {
      fs::path dir;
      ~RemoveAtExit() {
        std::error_code ignored;
        fs::remove_all(dir, ignored);
      }
    } remove_at_exit{env->dir};
    return *env;
  }
  fs::path dir;
  std::string export_dir;  // a version directory's contents
  data::Table table;       // 300 rows with the input and output columns
  data::Table expected;    // Model::Predict on `table`
  std::unique_ptr<Model> model;

 private:
  ServingEnvironment() {
    dir = fs::temp_directory_path() / ("tristage_serving_test_" + std::to_string(::getpid()));
    fs::remove_all(dir);
    fs::create_directories(dir);
    const json config = json::parse(R"({
      "input_features": [{"name": "x", "type": "number"}, {"name": "c", "type": "category"},
                         {"name": "t", "type": "text"}],
      "output_features": [{"name": "y", "type": "binary"}, {"name": "k", "type": "category"}],
      "trainer": {"epochs": 1, "batch_size": 32}})");
    SynthesizeOptions synth;
    synth.rows = 300;
    table = *SynthesizeDataset(config, synth);
    const std::string data = (dir / "data.csv").string();
    EXPECT_TRUE(data::WriteTable(table, data).ok());
    table = *ReadDataset(data);
    model = std::move(*Model::FromConfig(config));
    TrainOptions options;
    options.data.dataset = data;
    options.output_directory = (dir / "results").string();
    options.skip_save_processed_input = true;
    EXPECT_TRUE(model->Train(options).ok());
    expected = *model->Predict(table);
    export_dir = (dir / "export").string();
    EXPECT_TRUE(model->SaveTorchscript(export_dir).ok());
  }
};

// The columns of rows [begin, end) of the test table, as a request's inputs.
exporting::InputColumns Inputs(int64_t begin, int64_t end) {
  const data::Table& table = ServingEnvironment::Get().table;
  exporting::InputColumns columns;
  for (const char* name : {"x", "c", "t"}) {
    const data::Column& column = **table.Get(name);
    columns[name].strings.assign(column.values.begin() + begin, column.values.begin() + end);
  }
  return columns;
}

// Checks decoded outputs for rows [begin, end) against Model::Predict's columns.
void ExpectPredictions(const exporting::OutputMap& outputs, int64_t begin) {
  auto table = exporting::PredictionsTable(outputs);
  ASSERT_TRUE(table.ok()) << table.status();
  const data::Table& expected = ServingEnvironment::Get().expected;
  ASSERT_EQ(table->column_names(), expected.column_names());
  for (const std::string& name : expected.column_names()) {
    const data::Column& want = **expected.Get(name);
    const data::Column& got = **table->Get(name);
    for (int64_t row = 0; row < table->num_rows(); ++row) {
      // Batches of other sizes than Model::Predict's sum in another order: numbers may differ
      // in the last float bit; labels may not.
      double a = 0, b = 0;
      if (absl::SimpleAtod(got.values[row], &a) && absl::SimpleAtod(want.values[begin + row], &b)) {
        ASSERT_LE(std::abs(a - b), 1e-6 * std::max(1.0, std::abs(b)))
            << name << " row " << begin + row;
      } else {
        ASSERT_EQ(got.values[row], want.values[begin + row]) << name << " row " << begin + row;
      }
    }
  }
}

// Collects one request's result.
struct Result {
  absl::Notification done;
  absl::StatusOr<exporting::OutputMap> outputs = absl::UnknownError("not done");
};

std::unique_ptr<InferRequest> MakeRequest(exporting::InputColumns inputs, Result* result) {
  auto request = std::make_unique<InferRequest>();
  request->inputs = std::move(inputs);
  request->done = [result](absl::StatusOr<exporting::OutputMap> outputs) {
    result->outputs = std::move(outputs);
    result->done.Notify();
  };
  return request;
}

// The example export served by a pipeline, as the ModelManager would serve it.
absl::StatusOr<std::unique_ptr<ModelPipeline>> ServeExport(const ServingConfig& config) {
  auto servable = LoadExportServable(ServingEnvironment::Get().export_dir, config);
  if (!servable.ok()) return servable.status();
  return ModelPipeline::Create(std::move(*servable), config);
}

TEST(PipelineTest, BatchesManyRequestsAndAnswersEachWithItsOwnRows) {
  ServingConfig config;
  config.max_batch_size = 64;
  config.max_queue_delay_us = 20000;
  auto pipeline = ServeExport(config);
  ASSERT_TRUE(pipeline.ok()) << pipeline.status();
  constexpr int kRequests = 60;
  std::vector<Result> results(kRequests);
  std::vector<std::thread> clients;
  for (int c = 0; c < 3; ++c) {
    clients.emplace_back([&, c] {
      for (int i = c; i < kRequests; i += 3) {
        const int64_t begin = i * 5;
        ASSERT_TRUE(
            (*pipeline)->Submit(MakeRequest(Inputs(begin, begin + 1 + i % 5), &results[i])).ok());
      }
    });
  }
  for (std::thread& t : clients) t.join();
  for (int i = 0; i < kRequests; ++i) {
    results[i].done.WaitForNotification();
    ASSERT_TRUE(results[i].outputs.ok()) << results[i].outputs.status();
    EXPECT_EQ(results[i].outputs->front().second.rows(), 1 + i % 5);
    ExpectPredictions(*results[i].outputs, i * 5);
  }
  EXPECT_EQ((*pipeline)->stats().requests_ok.load(), kRequests);
  EXPECT_LT((*pipeline)->stats().batches.load(), kRequests) << "requests were not batched";
}

TEST(PipelineTest, FusedStagesAnswerTheSame) {
  ServingConfig config;
  config.fused = true;
  auto pipeline = ServeExport(config);
  ASSERT_TRUE(pipeline.ok()) << pipeline.status();
  std::vector<Result> results(10);
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE((*pipeline)->Submit(MakeRequest(Inputs(i * 10, i * 10 + 4), &results[i])).ok());
  }
  for (int i = 0; i < 10; ++i) {
    results[i].done.WaitForNotification();
    ASSERT_TRUE(results[i].outputs.ok()) << results[i].outputs.status();
    ExpectPredictions(*results[i].outputs, i * 10);
  }
}

TEST(PipelineTest, ABadRowFailsOnlyItsOwnRequest) {
  ServingConfig config;
  config.max_queue_delay_us = 200000;  // both requests land in one batch
  config.preferred_batch_sizes = {4};
  config.max_batch_size = 8;
  auto pipeline = ServeExport(config);
  ASSERT_TRUE(pipeline.ok()) << pipeline.status();
  Result good, bad;
  exporting::InputColumns broken = Inputs(10, 12);
  broken["x"].strings[1] = "twelve";
  ASSERT_TRUE((*pipeline)->Submit(MakeRequest(Inputs(0, 2), &good)).ok());
  ASSERT_TRUE((*pipeline)->Submit(MakeRequest(broken, &bad)).ok());
  good.done.WaitForNotification();
  bad.done.WaitForNotification();
  ASSERT_TRUE(good.outputs.ok()) << good.outputs.status();
  ExpectPredictions(*good.outputs, 0);
  EXPECT_EQ(bad.outputs.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(bad.outputs.status().message(), "feature 'x': 'twelve' is not a number");
  EXPECT_EQ((*pipeline)->stats().batches.load(), 1);
}

TEST(PipelineTest, RefusesBadRequestsAtOnce) {
  auto pipeline = ServeExport(ServingConfig{});
  ASSERT_TRUE(pipeline.ok()) << pipeline.status();
  Result unused;
  exporting::InputColumns missing = Inputs(0, 2);
  missing.erase("c");
  absl::Status status = (*pipeline)->Submit(MakeRequest(missing, &unused));
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(status.message(), "missing input feature 'c'")) << status;

  exporting::InputColumns numbers = Inputs(0, 2);
  numbers["c"] = exporting::InputColumn{false, {}, {1.0, 2.0}, 1};
  status = (*pipeline)->Submit(MakeRequest(numbers, &unused));
  EXPECT_EQ(status.message(), "feature 'c' (category) takes strings, not numbers");

  exporting::InputColumns ragged = Inputs(0, 2);
  ragged["t"].strings.pop_back();
  EXPECT_TRUE(absl::StrContains((*pipeline)->Submit(MakeRequest(ragged, &unused)).message(),
                                "has 1 rows but"));

  exporting::InputColumns utf8 = Inputs(0, 2);
  utf8["t"].strings[1] = "caf\xc3";
  EXPECT_EQ((*pipeline)->Submit(MakeRequest(utf8, &unused)).message(),
            "feature 't' row 1: not valid UTF-8 at byte 3");

  EXPECT_EQ((*pipeline)->Submit(MakeRequest(Inputs(0, 0), &unused)).message(),
            "the request has no rows");
  // More rows than max_batch_size (64): split into batches and answered whole (they were refused).
  Result split;
  ASSERT_TRUE((*pipeline)->Submit(MakeRequest(Inputs(0, 65), &split)).ok());
  split.done.WaitForNotification();
  ASSERT_TRUE(split.outputs.ok()) << split.outputs.status();
  EXPECT_EQ(split.outputs->front().second.rows(), 65);
  // NaN sent as a number is a missing value, filled as trained.
  exporting::InputColumns nan = Inputs(0, 2);
  nan["x"] = exporting::InputColumn{false, {}, {std::nan(""), 1.5}, 1};
  Result filled;
  ASSERT_TRUE((*pipeline)->Submit(MakeRequest(nan, &filled)).ok());
  filled.done.WaitForNotification();
  EXPECT_TRUE(filled.outputs.ok()) << filled.outputs.status();
  EXPECT_FALSE(unused.done.HasBeenNotified());
}

// The outside probe's fourth defect: one 50 MB text value took the daemon from 206 MB to 4.8 GB
// and held the model for 16 s. A cell over max_cell_bytes is refused before it is queued; one
// under a raised limit costs a few copies of itself, because the preprocessor stops tokenizing at
// the tokens the text feature keeps.
TEST(PipelineTest, ACellOverMaxCellBytesIsRefusedNamingTheFeatureAndRaisingTheLimitWorks) {
  auto pipeline = ServeExport(ServingConfig{});
  ASSERT_TRUE(pipeline.ok()) << pipeline.status();
  Result unused;
  exporting::InputColumns huge = Inputs(0, 2);
  huge["t"].strings[1] = std::string(50 << 20, 'a');
  absl::Status status = (*pipeline)->Submit(MakeRequest(huge, &unused));
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(),
            "feature 't' row 1: 52428800 bytes, over this model's limit of 65536 bytes per cell "
            "(max_cell_bytes in serving.yaml)");
  exporting::InputColumns category = Inputs(0, 1);
  category["c"].strings[0] = std::string(65537, 'c');
  EXPECT_TRUE(absl::StrContains((*pipeline)->Submit(MakeRequest(category, &unused)).message(),
                                "feature 'c' row 0: 65537 bytes"));
  EXPECT_FALSE(unused.done.HasBeenNotified());

  ServingConfig raised;
  raised.max_cell_bytes = 8 << 20;
  auto roomy = ServeExport(raised);
  ASSERT_TRUE(roomy.ok()) << roomy.status();
  exporting::InputColumns long_text = Inputs(0, 1);
  std::string words;
  while (words.size() < (4u << 20)) words += "the cat sat on the mat ";
  long_text["t"].strings[0] = words;
  Result answered;
  ASSERT_TRUE((*roomy)->Submit(MakeRequest(long_text, &answered)).ok());
  answered.done.WaitForNotification();
  EXPECT_TRUE(answered.outputs.ok()) << answered.outputs.status();
  EXPECT_EQ(ParseServingConfig("max_cell_bytes: 0", "s.yaml").status().message(),
            "s.yaml: max_cell_bytes: must be >= 1");
  EXPECT_EQ(ParseServingConfig("max_cell_bytes: 1024", "s.yaml")->max_cell_bytes, 1024);
}

TEST(PipelineTest, AFullQueueRefusesAtOnceAndExpiredRequestsAreDropped) {
  ServingConfig config;
  config.max_queue_size = 2;
  // A non-zero delay keeps the first request off the inline path (an idle pipeline runs a lone
  // request on the submitting thread), so a batcher thread is the one held below.
  config.max_queue_delay_us = 1;
  auto pipeline = ServeExport(config);
  ASSERT_TRUE(pipeline.ok()) << pipeline.status();
  // The batcher asks the first request whether it was cancelled; holding that answer holds the
  // batcher, so the next requests wait in the (bounded) queue.
  absl::Notification batcher_holding, release;
  Result first, queued[2], refused, expired;
  auto held = MakeRequest(Inputs(0, 1), &first);
  held->cancelled = [&] {
    if (!batcher_holding.HasBeenNotified()) batcher_holding.Notify();
    release.WaitForNotification();
    return false;
  };
  ASSERT_TRUE((*pipeline)->Submit(std::move(held)).ok());
  batcher_holding.WaitForNotification();
  auto late = MakeRequest(Inputs(1, 2), &expired);
  late->deadline = absl::Now() - absl::Seconds(1);
  ASSERT_TRUE((*pipeline)->Submit(std::move(late)).ok());
  ASSERT_TRUE((*pipeline)->Submit(MakeRequest(Inputs(2, 3), &queued[0])).ok());
  absl::Status full = (*pipeline)->Submit(MakeRequest(Inputs(3, 4), &refused));
  EXPECT_EQ(full.code(), absl::StatusCode::kResourceExhausted) << full;
  EXPECT_FALSE(refused.done.HasBeenNotified());
  release.Notify();
  first.done.WaitForNotification();
  expired.done.WaitForNotification();
  queued[0].done.WaitForNotification();
  EXPECT_TRUE(first.outputs.ok()) << first.outputs.status();
  EXPECT_EQ(expired.outputs.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_TRUE(queued[0].outputs.ok()) << queued[0].outputs.status();
}

TEST(PipelineTest, AnIdlePipelineAnswersOnTheSubmittingThreadWithinItsInstances) {
  // Default config: one preprocessor instance, max_queue_delay_us 0.
  auto pipeline = ServeExport(ServingConfig{});
  ASSERT_TRUE(pipeline.ok()) << pipeline.status();
  // Idle: the answer comes on this thread, before Submit returns.
  Result alone;
  std::thread::id answered_on;
  auto request = MakeRequest(Inputs(0, 1), &alone);
  request->done = [&](absl::StatusOr<exporting::OutputMap> outputs) {
    answered_on = std::this_thread::get_id();
    alone.outputs = std::move(outputs);
    alone.done.Notify();
  };
  ASSERT_TRUE((*pipeline)->Submit(std::move(request)).ok());
  ASSERT_TRUE(alone.done.HasBeenNotified());
  EXPECT_EQ(answered_on, std::this_thread::get_id());
  ASSERT_TRUE(alone.outputs.ok()) << alone.outputs.status();
  ExpectPredictions(*alone.outputs, 0);
  // A request that may not run inline (a stream's) is answered by the workers.
  Result queued;
  auto no_inline = MakeRequest(Inputs(0, 1), &queued);
  no_inline->may_run_inline = false;
  no_inline->done = [&](absl::StatusOr<exporting::OutputMap> outputs) {
    answered_on = std::this_thread::get_id();
    queued.outputs = std::move(outputs);
    queued.done.Notify();
  };
  ASSERT_TRUE((*pipeline)->Submit(std::move(no_inline)).ok());
  queued.done.WaitForNotification();
  EXPECT_NE(answered_on, std::this_thread::get_id());

  // While an inline request holds the only preprocessing slot, the next request queues and its
  // worker waits for the slot: it is asked whether it was cancelled once by the batcher, and
  // again only when its batch starts, which is after the held request was answered.
  Result held, next;
  absl::Notification holding, release, next_popped;
  auto first = MakeRequest(Inputs(1, 2), &held);
  first->cancelled = [&] {
    if (!holding.HasBeenNotified()) {
      holding.Notify();
      release.WaitForNotification();
    }
    return false;
  };
  std::thread submitter([&] { ASSERT_TRUE((*pipeline)->Submit(std::move(first)).ok()); });
  holding.WaitForNotification();
  std::atomic<int> asked{0};
  bool held_answered_before_next_started = false;
  auto second = MakeRequest(Inputs(2, 3), &next);
  second->cancelled = [&] {
    if (asked.fetch_add(1) == 0) {
      next_popped.Notify();
    } else if (asked.load() == 2) {
      held_answered_before_next_started = held.done.HasBeenNotified();
    }
    return false;
  };
  ASSERT_TRUE((*pipeline)->Submit(std::move(second)).ok());
  next_popped.WaitForNotification();
  EXPECT_FALSE(next.done.HasBeenNotified());
  release.Notify();
  submitter.join();
  next.done.WaitForNotification();
  EXPECT_TRUE(held_answered_before_next_started);
  ASSERT_TRUE(held.outputs.ok()) << held.outputs.status();
  ASSERT_TRUE(next.outputs.ok()) << next.outputs.status();
  ExpectPredictions(*next.outputs, 2);
}

TEST(PipelineTest, ShutdownFinishesEverythingAccepted) {
  ServingConfig config;
  config.max_queue_delay_us = 5000;
  auto pipeline = ServeExport(config);
  ASSERT_TRUE(pipeline.ok()) << pipeline.status();
  std::vector<Result> results(40);
  for (int i = 0; i < 40; ++i) {
    ASSERT_TRUE((*pipeline)->Submit(MakeRequest(Inputs(i, i + 3), &results[i])).ok());
  }
  (*pipeline)->Shutdown();
  for (int i = 0; i < 40; ++i) {
    ASSERT_TRUE(results[i].done.HasBeenNotified()) << i;
    EXPECT_TRUE(results[i].outputs.ok()) << results[i].outputs.status();
  }
  Result after;
  EXPECT_EQ((*pipeline)->Submit(MakeRequest(Inputs(0, 1), &after)).code(),
            absl::StatusCode::kUnavailable);
}

TEST(ServingConfigTest, ParsesEveryKeyAndNamesBadOnes) {
  auto config = ParseServingConfig(R"(
predictor: {device: cpu, instances: 2}
max_batch_size: 32
max_request_rows: 500
max_queue_delay_us: 100
preferred_batch_sizes: [8, 32]
max_queue_size: 10
default_timeout_ms: 250
version_policy: {specific: [1, 3]}
)",
                                   "serving.yaml");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->predictor.instances, 2);
  EXPECT_EQ(config->max_batch_size, 32);
  EXPECT_EQ(config->max_request_rows, 500);
  EXPECT_EQ(config->preferred_batch_sizes, (std::vector<int64_t>{8, 32}));
  EXPECT_EQ(SelectVersions(config->version_policy, {1, 2, 3, 4}), (std::vector<int64_t>{1, 3}));
  EXPECT_EQ(SelectVersions(VersionPolicy{}, {3, 1, 2}), (std::vector<int64_t>{3}));
  EXPECT_EQ(ParseServingConfig("max_batch: 3", "s.yaml").status().message(),
            "s.yaml: max_batch: unknown key (known: preprocessor, predictor, postprocessor, "
            "max_batch_size, max_request_rows, max_queue_delay_us, preferred_batch_sizes, "
            "max_queue_size, "
            "default_timeout_ms, max_cell_bytes, version_policy, fused)");
  EXPECT_EQ(ParseServingConfig("max_request_rows: 0", "s.yaml").status().message(),
            "s.yaml: max_request_rows: must be >= 1");
  EXPECT_EQ(ParseServingConfig("max_request_rows: -5", "s.yaml").status().message(),
            "s.yaml: max_request_rows: must be >= 1");
  for (const char* hostile : {"max_request_rows: 99999999999999999999", "max_request_rows: abc",
                              "max_request_rows: [1]", "max_request_rows: 1.5"}) {
    const absl::Status status = ParseServingConfig(hostile, "s.yaml").status();
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << hostile;
    EXPECT_TRUE(absl::StrContains(status.message(), "s.yaml: max_request_rows")) << status;
  }
  EXPECT_EQ(ParseServingConfig("predictor: {instances: 0}", "s.yaml").status().message(),
            "s.yaml: predictor.instances: must be >= 1");
  EXPECT_EQ(ParseServingConfig("max_batch_size: 4\npreferred_batch_sizes: [8]", "s.yaml")
                .status()
                .message(),
            "s.yaml: preferred_batch_sizes: 8 exceeds max_batch_size 4");
}

// A repository <dir>/repo/m/<versions>, each a copy of the export.
class RepositoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    repo_ =
        ServingEnvironment::Get().dir /
        ("repo_" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
    fs::remove_all(repo_);
  }
  void AddVersion(const std::string& model, int version) {
    const fs::path target = repo_ / model / std::to_string(version);
    fs::create_directories(target);
    fs::copy(ServingEnvironment::Get().export_dir, target, fs::copy_options::recursive);
  }
  fs::path repo_;
};

TEST_F(RepositoryTest, ServesTheLatestVersionAndKeepsServingWhenAReloadFails) {
  AddVersion("m", 1);
  AddVersion("m", 2);
  auto manager = ModelManager::Create({repo_.string(), "explicit"});
  ASSERT_TRUE(manager.ok()) << manager.status();
  EXPECT_TRUE((*manager)->Index().empty());
  ASSERT_TRUE((*manager)->Load("m").ok());
  int64_t version = 0;
  ASSERT_TRUE((*manager)->Get("m", "", &version).ok());
  EXPECT_EQ(version, 2);
  EXPECT_EQ((*manager)->Get("m", "1").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ((*manager)->Get("nope", "").status().message(), "unknown model 'nope' (loaded: m)");

  // A broken version 3 fails to load; version 2 keeps serving and the reason is visible.
  AddVersion("m", 3);
  fs::resize_file(repo_ / "m" / "3" / "inference_predictor_cpu.pt", 100);
  EXPECT_FALSE((*manager)->Load("m").ok());
  ASSERT_TRUE((*manager)->Get("m", "", &version).ok());
  EXPECT_EQ(version, 2);
  bool saw_failure = false;
  for (const VersionStatus& status : (*manager)->Index()) {
    if (status.version == 3) {
      saw_failure = true;
      EXPECT_EQ(status.state, VersionState::kFailed);
      EXPECT_TRUE(absl::StrContains(status.reason, "truncated or corrupt")) << status.reason;
    }
  }
  EXPECT_TRUE(saw_failure);

  // Fixed on disk: the next load serves version 3 and retires version 2.
  fs::remove_all(repo_ / "m" / "3");
  AddVersion("m", 3);
  ASSERT_TRUE((*manager)->Load("m").ok());
  ASSERT_TRUE((*manager)->Get("m", "", &version).ok());
  EXPECT_EQ(version, 3);
  EXPECT_EQ((*manager)->Index().size(), 1u);
  ASSERT_TRUE((*manager)->Unload("m").ok());
  EXPECT_EQ((*manager)->Get("m", "").status().code(), absl::StatusCode::kNotFound);
}

// The outside probe saw a corrupt version reloaded, and logged, on every poll.
TEST_F(RepositoryTest, ThePollRetriesACorruptVersionOnlyWhenItsFilesChange) {
  AddVersion("m", 1);
  fs::resize_file(repo_ / "m" / "1" / "inference_predictor_cpu.pt", 100);
  auto manager = ModelManager::Create({repo_.string(), "explicit"});
  ASSERT_TRUE(manager.ok()) << manager.status();
  auto failures = [](const std::string& log) {
    int count = 0;
    for (size_t at = log.find("load failed"); at != std::string::npos;
         at = log.find("load failed", at + 1)) {
      ++count;
    }
    return count;
  };
  ::testing::internal::CaptureStderr();
  (*manager)->Poll();
  (*manager)->Poll();
  (*manager)->Poll();
  EXPECT_EQ(failures(::testing::internal::GetCapturedStderr()), 1);
  EXPECT_EQ((*manager)->Get("m", "").status().code(), absl::StatusCode::kUnavailable);
  // Changed on disk (still corrupt): tried once more. Load (the RPC) always tries.
  fs::resize_file(repo_ / "m" / "1" / "inference_predictor_cpu.pt", 200);
  ::testing::internal::CaptureStderr();
  (*manager)->Poll();
  (*manager)->Poll();
  EXPECT_FALSE((*manager)->Load("m").ok());
  EXPECT_EQ(failures(::testing::internal::GetCapturedStderr()), 2);
  // Fixed: the next poll serves it.
  fs::remove_all(repo_ / "m" / "1");
  AddVersion("m", 1);
  (*manager)->Poll();
  EXPECT_TRUE((*manager)->Get("m", "").ok());
}

TEST_F(RepositoryTest, LoadAsyncAndUnloadAsyncAnswerFromTheControlThread) {
  AddVersion("m", 1);
  auto manager = ModelManager::Create({repo_.string(), "explicit"});
  ASSERT_TRUE(manager.ok()) << manager.status();
  std::vector<std::pair<std::string, bool>> readiness;
  (*manager)->SetReadinessListener(
      [&](const std::string& model, bool ready) { readiness.emplace_back(model, ready); });
  struct Answer {
    absl::Notification done;
    absl::Status status;
    std::thread::id thread;
  } loaded, missing, unloaded, after_shutdown;
  auto into = [](Answer& answer) {
    return [&answer](absl::Status status) {
      answer.status = std::move(status);
      answer.thread = std::this_thread::get_id();
      answer.done.Notify();
    };
  };
  (*manager)->LoadAsync("m", into(loaded));
  (*manager)->LoadAsync("nope", into(missing));
  loaded.done.WaitForNotification();
  missing.done.WaitForNotification();
  EXPECT_TRUE(loaded.status.ok()) << loaded.status;
  EXPECT_NE(loaded.thread, std::this_thread::get_id());
  EXPECT_EQ(missing.status.code(), absl::StatusCode::kNotFound) << missing.status;
  EXPECT_TRUE((*manager)->Get("m", "").ok());
  (*manager)->UnloadAsync("m", into(unloaded));
  unloaded.done.WaitForNotification();
  EXPECT_TRUE(unloaded.status.ok()) << unloaded.status;
  EXPECT_EQ((*manager)->Get("m", "").status().code(), absl::StatusCode::kNotFound);
  const std::vector<std::pair<std::string, bool>> expected = {
      {"m", true}, {"m", false}};
  EXPECT_EQ(readiness, expected);
  (*manager)->SetReadinessListener(nullptr);
  (*manager)->Shutdown();
  (*manager)->LoadAsync("m", into(after_shutdown));
  ASSERT_TRUE(after_shutdown.done.HasBeenNotified());
  EXPECT_EQ(after_shutdown.status.code(), absl::StatusCode::kUnavailable);
}

TEST_F(RepositoryTest, AnUnavailableDeviceIsALoadErrorNotACrash) {
  if (CollectSystemInfo().cuda_available) GTEST_SKIP() << "CUDA is available here";
  AddVersion("m", 1);
  std::ofstream(repo_ / "m" / "serving.yaml") << "predictor: {device: cuda:0}\n";
  auto manager = ModelManager::Create({repo_.string(), "none"});
  ASSERT_TRUE(manager.ok()) << manager.status();
  auto pipeline = (*manager)->Get("m", "");
  EXPECT_EQ(pipeline.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(absl::StrContains(pipeline.status().message(), "not available")) << pipeline.status();
}

// tristage.v1.Inference on a real server over loopback.
class InferenceRpcTest : public RepositoryTest {
 protected:
  void SetUp() override {
    RepositoryTest::SetUp();
    AddVersion("churn", 1);
    ServerOptions options;
    options.grpc_port = 0;
    options.metrics_port = 0;
    options.http_port = -1;
    options.model_repository = repo_.string();
    auto server = Server::Create(options);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    client_ = std::move(
        *client::TristageClient::Create("127.0.0.1:" + std::to_string(server_->grpc_port()), {}));
  }
  void TearDown() override { server_->Shutdown(absl::Seconds(5)); }

  tristage::v1::PredictRequest Request(int64_t begin, int64_t end) {
    tristage::v1::PredictRequest request;
    request.set_model_name("churn");
    for (const auto& [name, column] : Inputs(begin, end)) {
      auto* values = (*request.mutable_inputs())[name].mutable_strings()->mutable_values();
      for (const std::string& cell : column.strings) values->Add(std::string(cell));
    }
    return request;
  }

  std::unique_ptr<Server> server_;
  std::unique_ptr<client::TristageClient> client_;
};

// The outside probe: a body that is not the method's message was answered UNIMPLEMENTED with an
// empty message by gRPC's own parse (the method exists: the client was sent looking elsewhere).
// Predict and ModelInfer parse raw bodies themselves (rpc/wire.h).
TEST_F(InferenceRpcTest, ABodyThatIsNotTheRequestMessageIsInvalidArgumentNamingIt) {
  auto channel = grpc::CreateChannel("127.0.0.1:" + std::to_string(server_->grpc_port()),
                                     grpc::InsecureChannelCredentials());
  grpc::GenericStub stub(channel);
  auto call = [&](const std::string& method, const std::string& body) {
    grpc::Slice slice(body);
    grpc::ByteBuffer request(&slice, 1), response;
    grpc::ClientContext context;
    absl::Notification done;
    grpc::Status status;
    stub.UnaryCall(&context, method, grpc::StubOptions(), &request, &response,
                   [&](grpc::Status s) {
                     status = std::move(s);
                     done.Notify();
                   });
    done.WaitForNotification();
    return status;
  };
  const std::string garbage("\xff\xff\xff\xff\x0f garbage", 14);
  grpc::Status status = call("/tristage.v1.Inference/Predict", garbage);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << status.error_message();
  EXPECT_TRUE(absl::StrContains(status.error_message(), "not a valid tristage.v1.PredictRequest"))
      << status.error_message();
  status = call("/inference.GRPCInferenceService/ModelInfer", garbage);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << status.error_message();
  EXPECT_TRUE(absl::StrContains(status.error_message(), "not a valid inference.ModelInferRequest"))
      << status.error_message();
  // Field 1 (model_name), length 2, invalid UTF-8: named, and logged at the debug level only.
  status = call("/tristage.v1.Inference/Predict", std::string("\x0a\x02\xff\xfe", 4));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << status.error_message();
  EXPECT_EQ(status.error_message(),
            "tristage.v1.PredictRequest.model_name: not valid UTF-8 (string fields must be UTF-8)");
  // A valid body still answers.
  tristage::v1::PredictRequest good = Request(0, 2);
  EXPECT_TRUE(call("/tristage.v1.Inference/Predict", good.SerializeAsString()).ok());
}

TEST_F(InferenceRpcTest, PredictAnswersLikeTheEngine) {
  auto response = client_->Predict(Request(20, 30));
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->model_version(), "1");
  EXPECT_EQ(response->rows(), 10);
  const auto& y = response->outputs().at("y");
  ASSERT_EQ(y.labels_size(), 10);
  const data::Table& expected = ServingEnvironment::Get().expected;
  for (int row = 0; row < 10; ++row) {
    EXPECT_EQ(y.labels(row), (**expected.Get("y_predictions")).values[20 + row]);
  }
  EXPECT_EQ(response->outputs().at("k").class_names(0), "<UNK>");

  // Asking for some outputs answers those only (the first of two used to bring both).
  for (const char* only : {"y", "k"}) {
    tristage::v1::PredictRequest request = Request(0, 2);
    request.add_outputs(only);
    auto filtered = client_->Predict(request);
    ASSERT_TRUE(filtered.ok()) << filtered.status();
    EXPECT_EQ(filtered->outputs_size(), 1) << only;
    EXPECT_EQ(filtered->outputs().count(only), 1u) << only;
  }

  auto metadata = client_->ModelMetadata("churn");
  ASSERT_TRUE(metadata.ok()) << metadata.status();
  EXPECT_EQ(metadata->inputs_size(), 3);
  EXPECT_EQ(metadata->max_batch_size(), 64);
}

TEST_F(InferenceRpcTest, PredictStreamAnswersEveryRequestInOrder) {
  auto stub = tristage::v1::Inference::NewStub(grpc::CreateChannel(
      "127.0.0.1:" + std::to_string(server_->grpc_port()), grpc::InsecureChannelCredentials()));
  grpc::ClientContext context;
  auto stream = stub->PredictStream(&context);
  constexpr int kRequests = 100;
  std::thread writer([&] {
    for (int i = 0; i < kRequests; ++i) {
      tristage::v1::PredictRequest request = Request(i, i + 2);
      request.set_id(std::to_string(i));
      ASSERT_TRUE(stream->Write(request));
    }
    stream->WritesDone();
  });
  const data::Table& expected = ServingEnvironment::Get().expected;
  tristage::v1::PredictResponse response;
  int received = 0;
  while (stream->Read(&response)) {
    ASSERT_EQ(response.id(), std::to_string(received));
    EXPECT_EQ(response.outputs().at("y").labels(1),
              (**expected.Get("y_predictions")).values[received + 1]);
    ++received;
  }
  writer.join();
  EXPECT_TRUE(stream->Finish().ok());
  EXPECT_EQ(received, kRequests);

  // A bad request ends the stream with its status after the answers before it.
  grpc::ClientContext bad_context;
  auto bad_stream = stub->PredictStream(&bad_context);
  ASSERT_TRUE(bad_stream->Write(Request(0, 1)));
  tristage::v1::PredictRequest bad = Request(1, 2);
  bad.set_model_name("nope");
  ASSERT_TRUE(bad_stream->Write(bad));
  bad_stream->WritesDone();
  int answered = 0;
  while (bad_stream->Read(&response)) ++answered;
  EXPECT_EQ(answered, 1);
  EXPECT_EQ(bad_stream->Finish().error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(InferenceRpcTest, ClientPredictStreamMatchesAnswersToRequestsAcrossThreads) {
  // Two threads send on one stream; every answer reaches its own request's callback.
  auto stream = client_->OpenPredictStream(/*max_in_flight=*/8);
  constexpr int kRequests = 120;
  std::vector<Result> results(kRequests);
  std::vector<std::string> ids(kRequests);
  std::vector<std::thread> senders;
  for (int t = 0; t < 2; ++t) {
    senders.emplace_back([&, t] {
      for (int i = t; i < kRequests; i += 2) {
        tristage::v1::PredictRequest request = Request(i, i + 2);
        request.set_id(std::to_string(i));
        stream->Send(request, [&, i](absl::StatusOr<tristage::v1::PredictResponse> response) {
          if (response.ok()) {
            ids[i] = response->id();
            exporting::OutputValues y;
            y.labels.assign(response->outputs().at("y").labels().begin(),
                            response->outputs().at("y").labels().end());
            results[i].outputs = exporting::OutputMap{{"y", std::move(y)}};
          } else {
            results[i].outputs = response.status();
          }
          results[i].done.Notify();
        });
      }
    });
  }
  for (std::thread& t : senders) t.join();
  EXPECT_TRUE(stream->Finish().ok());
  const data::Table& expected = ServingEnvironment::Get().expected;
  for (int i = 0; i < kRequests; ++i) {
    ASSERT_TRUE(results[i].done.HasBeenNotified()) << i;
    ASSERT_TRUE(results[i].outputs.ok()) << results[i].outputs.status();
    EXPECT_EQ(ids[i], std::to_string(i));
    EXPECT_EQ(results[i].outputs->front().second.labels[1],
              (**expected.Get("y_predictions")).values[i + 1]);
  }
  Result late;
  stream->Send(Request(0, 1), [&](absl::StatusOr<tristage::v1::PredictResponse> response) {
    late.outputs = response.status();
    late.done.Notify();
  });
  ASSERT_TRUE(late.done.HasBeenNotified());
  EXPECT_EQ(late.outputs.status().code(), absl::StatusCode::kFailedPrecondition);

  // The failing request and every one after it get its status; the ones before it, answers.
  auto failing = client_->OpenPredictStream();
  std::vector<absl::StatusCode> codes(3, absl::StatusCode::kUnknown);
  absl::Notification last;
  for (int i = 0; i < 3; ++i) {
    tristage::v1::PredictRequest request = Request(i, i + 1);
    if (i == 1) request.set_model_name("nope");
    failing->Send(request, [&, i](absl::StatusOr<tristage::v1::PredictResponse> response) {
      codes[i] = response.status().code();
      if (i == 2) last.Notify();
    });
  }
  EXPECT_EQ(failing->Finish().code(), absl::StatusCode::kNotFound);
  ASSERT_TRUE(last.HasBeenNotified());
  EXPECT_EQ(codes[0], absl::StatusCode::kOk);
  EXPECT_EQ(codes[1], absl::StatusCode::kNotFound);
  EXPECT_EQ(codes[2], absl::StatusCode::kNotFound);
}

TEST_F(InferenceRpcTest, MetricsCountRequestsRowsBatchesAndFailures) {
  ASSERT_TRUE(client_->Predict(Request(0, 3)).ok());
  ASSERT_TRUE(client_->Predict(Request(3, 5)).ok());
  tristage::v1::PredictRequest bad = Request(0, 1);
  (*bad.mutable_inputs())["x"].mutable_strings()->set_values(0, "zzz");
  ASSERT_FALSE(client_->Predict(bad).ok());
  auto scraped =
      testing::HttpGet("127.0.0.1", server_->metrics_port(), "/metrics", absl::Seconds(5));
  ASSERT_TRUE(scraped.ok()) << scraped.status();
  const std::string& text = scraped->body;
  for (const char* line :
       {"tristage_inference_request_success{model=\"churn\",version=\"1\"} 2",
        "tristage_inference_count{model=\"churn\",version=\"1\"} 5",
        "tristage_inference_request_failure{model=\"churn\",version=\"1\",reason=\"INVALID\"} 1",
        "tristage_inference_batch_size_count{model=\"churn\",version=\"1\"} 2",
        "tristage_inference_pending_request_count{model=\"churn\",version=\"1\"} 0",
        "process_resident_memory_bytes"}) {
    EXPECT_TRUE(absl::StrContains(text, line)) << line << "\n" << text;
  }
}

TEST_F(InferenceRpcTest, BadRequestsGetTheRightStatusAndTheServerKeepsServing) {
  tristage::v1::PredictRequest unknown = Request(0, 2);
  unknown.set_model_name("nope");
  EXPECT_EQ(client_->Predict(unknown).status().code(), absl::StatusCode::kNotFound);

  tristage::v1::PredictRequest missing = Request(0, 2);
  missing.mutable_inputs()->erase("x");
  EXPECT_EQ(client_->Predict(missing).status().code(), absl::StatusCode::kInvalidArgument);

  tristage::v1::PredictRequest dtype = Request(0, 2);
  (*dtype.mutable_inputs())["c"].mutable_doubles()->add_values(1);
  EXPECT_EQ(client_->Predict(dtype).status().code(), absl::StatusCode::kInvalidArgument);

  tristage::v1::PredictRequest ragged = Request(0, 2);
  (*ragged.mutable_inputs())["t"].mutable_strings()->add_values("one more");
  EXPECT_EQ(client_->Predict(ragged).status().code(), absl::StatusCode::kInvalidArgument);

  tristage::v1::PredictRequest utf8 = Request(0, 2);
  (*utf8.mutable_inputs())["t"].mutable_strings()->set_values(0, "\xff");
  auto bad_utf8 = client_->Predict(utf8);
  EXPECT_EQ(bad_utf8.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(bad_utf8.status().message(), "not valid UTF-8"));

  tristage::v1::PredictRequest not_a_number = Request(0, 2);
  (*not_a_number.mutable_inputs())["x"].mutable_strings()->set_values(1, "n/a!");
  auto bad_number = client_->Predict(not_a_number);
  EXPECT_EQ(bad_number.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(bad_number.status().message(), "feature 'x'"));

  tristage::v1::PredictRequest nan = Request(0, 2);
  auto* doubles = (*nan.mutable_inputs())["x"].mutable_doubles();
  doubles->add_values(std::nan(""));
  doubles->add_values(3);
  EXPECT_TRUE(client_->Predict(nan).ok());

  tristage::v1::PredictRequest empty = Request(0, 0);
  EXPECT_EQ(client_->Predict(empty).status().code(), absl::StatusCode::kInvalidArgument);

  tristage::v1::PredictRequest wrong_output = Request(0, 2);
  wrong_output.add_outputs("zzz");
  EXPECT_EQ(client_->Predict(wrong_output).status().code(), absl::StatusCode::kInvalidArgument);

  EXPECT_TRUE(client_->Predict(Request(0, 5)).ok());
}

TEST_F(InferenceRpcTest, HotReloadUnderLoadFailsNoRequest) {
  // A second server in poll mode over the same repository, scanning every second.
  server_->Shutdown(absl::Seconds(5));
  ServerOptions options;
  options.grpc_port = 0;
  options.metrics_port = -1;
  options.http_port = -1;
  options.model_repository = repo_.string();
  options.model_control_mode = "poll";
  options.repository_poll_secs = 1;
  auto server = Server::Create(options);
  ASSERT_TRUE(server.ok()) << server.status();
  server_ = std::move(*server);
  client_ = std::move(
      *client::TristageClient::Create("127.0.0.1:" + std::to_string(server_->grpc_port()), {}));
  std::atomic<bool> stop{false};
  std::atomic<int64_t> ok{0}, failed{0}, on_version_2{0};
  absl::Notification switched;  // 50 answers from version 2
  std::vector<std::thread> load;
  for (int t = 0; t < 3; ++t) {
    load.emplace_back([&, t] {
      for (int64_t i = 0; !stop.load(); ++i) {
        const int64_t begin = (i * 7 + t * 50) % 290;
        auto response = client_->Predict(Request(begin, begin + 3));
        if (!response.ok()) {
          ADD_FAILURE() << response.status();
          failed.fetch_add(1);
          continue;
        }
        ok.fetch_add(1);
        if (response->model_version() == "2" && on_version_2.fetch_add(1) + 1 == 50) {
          switched.Notify();
        }
      }
    });
  }
  AddVersion("churn", 2);  // the poller loads it, warms it, switches, drains version 1
  switched.WaitForNotificationWithTimeout(absl::Seconds(60));
  stop.store(true);
  for (std::thread& t : load) t.join();
  EXPECT_EQ(failed.load(), 0);
  EXPECT_GE(on_version_2.load(), 50) << "version 2 never took traffic";
  EXPECT_GT(ok.load(), on_version_2.load()) << "version 1 never answered";
}

TEST_F(RepositoryTest, SigtermUnderLoadAnswersEveryAcceptedRequestAndExitsZero) {
  AddVersion("churn", 1);
  // Requests wait up to 2 s for batch-mates, so they are surely in flight at SIGTERM.
  std::ofstream(repo_ / "churn" / "serving.yaml") << "max_queue_delay_us: 2000000\n";
  auto daemon =
      testing::Daemon::Start(TRISTAGE_SERVER_BINARY, {"--model-repository", repo_.string()});
  ASSERT_TRUE(daemon.ok()) << daemon.status();
  auto client = *client::TristageClient::Create((*daemon)->grpc_address(), {});
  constexpr int kRequests = 10;
  absl::Mutex mu;
  int answered = 0, succeeded = 0;
  for (int i = 0; i < kRequests; ++i) {
    tristage::v1::PredictRequest request;
    request.set_model_name("churn");
    for (const auto& [name, column] : Inputs(i, i + 1)) {
      (*request.mutable_inputs())[name].mutable_strings()->add_values(column.strings[0]);
    }
    client->PredictAsync(request, [&](absl::StatusOr<tristage::v1::PredictResponse> response) {
      absl::MutexLock lock(&mu);
      ++answered;
      if (response.ok()) {
        ++succeeded;
      } else {
        ADD_FAILURE() << response.status();
      }
    });
  }
  // Observe the daemon from outside: its metrics say when all ten are accepted.
  const absl::Time give_up = absl::Now() + absl::Seconds(30);
  bool accepted = false;
  while (!accepted && absl::Now() < give_up) {
    auto scraped = testing::HttpGet("127.0.0.1", (*daemon)->metrics_port(), "/metrics");
    accepted = scraped.ok() &&
               absl::StrContains(scraped->body,
                                 "tristage_inference_pending_request_count{model=\"churn\","
                                 "version=\"1\"} 10");
    if (!accepted) absl::SleepFor(absl::Milliseconds(20));  // paces the scrapes
  }
  ASSERT_TRUE(accepted) << "the requests never reached the daemon";
  (*daemon)->process().Signal(SIGTERM);
  auto code = (*daemon)->process().Wait(absl::Seconds(30));
  ASSERT_TRUE(code.ok()) << code.status();
  EXPECT_EQ(*code, 0) << (*daemon)->process().stderr_text();
  absl::MutexLock lock(&mu);
  mu.Await(absl::Condition(
      +[](int* n) { return *n == kRequests; }, &answered));
  EXPECT_EQ(succeeded, kRequests);
}

// The outside probe: an open health Watch or PredictStream held exit for the full exit timeout,
// and a PredictStream kept taking requests after SIGTERM (11,250) until it was cut. Now streams
// stop taking requests at SIGTERM, answer what they accepted and end UNAVAILABLE, and what only
// waits (a watch, an idle stream) is cancelled as soon as the accepted work is done.
TEST_F(RepositoryTest, SigtermEndsStreamsAndWatchesPromptlyAndStreamsStopTakingRequests) {
  AddVersion("churn", 1);
  auto daemon = testing::Daemon::Start(
      TRISTAGE_SERVER_BINARY,
      {"--model-repository", repo_.string(), "--exit-timeout-secs", "60"});
  ASSERT_TRUE(daemon.ok()) << daemon.status();
  auto channel = grpc::CreateChannel((*daemon)->grpc_address(), grpc::InsecureChannelCredentials());
  auto health = grpc::health::v1::Health::NewStub(channel);
  grpc::ClientContext watch_context;
  auto watch = health->Watch(&watch_context, grpc::health::v1::HealthCheckRequest());
  grpc::health::v1::HealthCheckResponse seen;
  ASSERT_TRUE(watch->Read(&seen));
  auto inference = tristage::v1::Inference::NewStub(channel);
  // An idle stream: one answer, then nothing.
  grpc::ClientContext idle_context;
  auto idle = inference->PredictStream(&idle_context);
  tristage::v1::PredictRequest request;
  request.set_model_name("churn");
  for (const auto& [name, column] : Inputs(0, 1)) {
    (*request.mutable_inputs())[name].mutable_strings()->add_values(column.strings[0]);
  }
  ASSERT_TRUE(idle->Write(request));
  tristage::v1::PredictResponse response;
  ASSERT_TRUE(idle->Read(&response));
  // A busy stream: a writer that never stops, and a reader that counts answers.
  grpc::ClientContext busy_context;
  auto busy = inference->PredictStream(&busy_context);
  std::atomic<bool> signalled{false};
  std::atomic<int64_t> answers_after_signal{0}, answers{0};
  std::thread writer([&] {
    while (busy->Write(request)) {
    }
  });
  std::thread reader([&] {
    tristage::v1::PredictResponse answer;
    while (busy->Read(&answer)) {
      answers.fetch_add(1);
      if (signalled.load()) answers_after_signal.fetch_add(1);
    }
  });
  while (answers.load() < 100) std::this_thread::yield();
  const absl::Time signalled_at = absl::Now();
  signalled.store(true);
  (*daemon)->process().Signal(SIGTERM);
  auto code = (*daemon)->process().Wait(absl::Seconds(90));
  const absl::Duration exit_took = absl::Now() - signalled_at;
  writer.join();
  reader.join();
  ASSERT_TRUE(code.ok()) << code.status();
  EXPECT_EQ(*code, 0) << (*daemon)->process().stderr_text();
  // Idle, this exit takes well under a second; before, it took the whole 60 s exit timeout.
  EXPECT_LT(exit_took, absl::Seconds(30)) << (*daemon)->process().stderr_text();
  const grpc::Status busy_status = busy->Finish();
  EXPECT_EQ(busy_status.error_code(), grpc::StatusCode::UNAVAILABLE) << busy_status.error_message();
  // What was accepted before the drain began: at most the 64 outstanding of the stream plus what
  // it read in the moment between the signal and the drain.
  EXPECT_LT(answers_after_signal.load(), 2000);
  idle->WritesDone();
  EXPECT_FALSE(idle->Finish().ok());
  while (watch->Read(&seen)) {
  }
  EXPECT_FALSE(watch->Finish().ok());
}

// Security: a bearer token on repository and admin RPCs, the message size limit, TLS.
class SecureServerTest : public RepositoryTest {
 protected:
  std::unique_ptr<Server> Start(ServerOptions options) {
    AddVersion("churn", 1);
    options.grpc_port = 0;
    options.metrics_port = -1;
    options.http_port = -1;
    options.model_repository = repo_.string();
    auto server = Server::Create(options);
    EXPECT_TRUE(server.ok()) << server.status();
    return server.ok() ? std::move(*server) : nullptr;
  }
  static std::string Address(const Server& server) {
    return "127.0.0.1:" + std::to_string(server.grpc_port());
  }
};

TEST_F(SecureServerTest, TokenGuardsAdminAndRepositoryButNotInference) {
  ServerOptions options;
  options.auth_token = "s3cret";
  std::unique_ptr<Server> server = Start(options);
  ASSERT_NE(server, nullptr);
  auto anonymous = *client::TristageClient::Create(Address(*server), {});
  EXPECT_EQ(anonymous->GetServerInfo().status().code(), absl::StatusCode::kUnauthenticated);
  client::TristageClient::Options with_token;
  with_token.auth_token = "s3cret";
  auto authorized = *client::TristageClient::Create(Address(*server), with_token);
  EXPECT_TRUE(authorized->GetServerInfo().ok());
  client::TristageClient::Options wrong;
  wrong.auth_token = "s3cres";
  EXPECT_EQ(
      (*client::TristageClient::Create(Address(*server), wrong))->GetServerInfo().status().code(),
      absl::StatusCode::kUnauthenticated);
  auto stub = inference::GRPCInferenceService::NewStub(
      grpc::CreateChannel(Address(*server), grpc::InsecureChannelCredentials()));
  grpc::ClientContext context;
  inference::RepositoryIndexResponse index;
  EXPECT_EQ(stub->RepositoryIndex(&context, {}, &index).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  grpc::ClientContext with_header;
  with_header.AddMetadata("authorization", "Bearer s3cret");
  EXPECT_TRUE(stub->RepositoryIndex(&with_header, {}, &index).ok());
  // Inference needs no token.
  tristage::v1::PredictRequest request;
  request.set_model_name("churn");
  for (const auto& [name, column] : Inputs(0, 1)) {
    (*request.mutable_inputs())[name].mutable_strings()->add_values(column.strings[0]);
  }
  EXPECT_TRUE(anonymous->Predict(request).ok());
  server->Shutdown(absl::Seconds(5));
}

TEST_F(SecureServerTest, OversizeRequestIsResourceExhausted) {
  ServerOptions options;
  options.max_message_bytes = 4096;
  std::unique_ptr<Server> server = Start(options);
  ASSERT_NE(server, nullptr);
  auto client = *client::TristageClient::Create(Address(*server), {});
  tristage::v1::PredictRequest request;
  request.set_model_name("churn");
  for (const auto& [name, column] : Inputs(0, 1)) {
    (*request.mutable_inputs())[name].mutable_strings()->add_values(
        name == "t" ? std::string(8000, 'a') : column.strings[0]);
  }
  EXPECT_EQ(client->Predict(request).status().code(), absl::StatusCode::kResourceExhausted);
  (*request.mutable_inputs())["t"].mutable_strings()->set_values(0, "short");
  EXPECT_TRUE(client->Predict(request).ok());
  server->Shutdown(absl::Seconds(5));
}

TEST_F(SecureServerTest, TlsAndMutualTls) {
  if (std::system("command -v openssl >/dev/null 2>&1") != 0) GTEST_SKIP() << "no openssl CLI";
  const fs::path pki = repo_ / "pki";
  fs::create_directories(pki);
  const std::string d = pki.string();
  // A CA, a server certificate for 127.0.0.1/localhost and a client certificate, all from it.
  const std::string script =
      "cd " + d +
      " && "
      "openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 1 "
      "-subj /CN=tristage-test-ca >/dev/null 2>&1 && "
      "openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr "
      "-subj /CN=localhost >/dev/null 2>&1 && "
      "printf 'subjectAltName=IP:127.0.0.1,DNS:localhost' > san.ext && "
      "openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial "
      "-out server.pem -days 1 -extfile san.ext >/dev/null 2>&1 && "
      "openssl req -newkey rsa:2048 -nodes -keyout client.key -out client.csr "
      "-subj /CN=client >/dev/null 2>&1 && "
      "openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial "
      "-out client.pem -days 1 >/dev/null 2>&1";
  ASSERT_EQ(std::system(script.c_str()), 0);
  auto read = [&](const char* name) {
    std::ifstream in(pki / name);
    return std::string(std::istreambuf_iterator<char>(in), {});
  };
  ServerOptions options;
  options.tls_cert = (pki / "server.pem").string();
  options.tls_key = (pki / "server.key").string();
  options.tls_client_ca = (pki / "ca.pem").string();
  std::unique_ptr<Server> server = Start(options);
  ASSERT_NE(server, nullptr);
  client::TristageClient::Options tls;
  tls.tls_root_certs = read("ca.pem");
  tls.tls_client_cert = read("client.pem");
  tls.tls_client_key = read("client.key");
  tls.timeout = absl::Seconds(5);
  EXPECT_TRUE((*client::TristageClient::Create(Address(*server), tls))->GetServerInfo().ok());
  client::TristageClient::Options no_client_cert = tls;
  no_client_cert.tls_client_cert.clear();
  no_client_cert.tls_client_key.clear();
  EXPECT_FALSE(
      (*client::TristageClient::Create(Address(*server), no_client_cert))->GetServerInfo().ok());
  client::TristageClient::Options plaintext;
  plaintext.timeout = absl::Seconds(5);
  EXPECT_FALSE(
      (*client::TristageClient::Create(Address(*server), plaintext))->GetServerInfo().ok());
  server->Shutdown(absl::Seconds(5));
}

// inference.GRPCInferenceService (KServe v2) on the same server.
class KServeTest : public InferenceRpcTest {
 protected:
  void SetUp() override {
    InferenceRpcTest::SetUp();
    stub_ = inference::GRPCInferenceService::NewStub(grpc::CreateChannel(
        "127.0.0.1:" + std::to_string(server_->grpc_port()), grpc::InsecureChannelCredentials()));
  }
  inference::ModelInferRequest KRequest(int64_t begin, int64_t end, bool raw) {
    inference::ModelInferRequest request;
    request.set_model_name("churn");
    request.set_id("r1");
    for (const auto& [name, column] : Inputs(begin, end)) {
      auto* tensor = request.add_inputs();
      tensor->set_name(name);
      tensor->set_datatype("BYTES");
      tensor->add_shape(end - begin);
      std::string bytes;
      for (const std::string& cell : column.strings) {
        if (raw) {
          const uint32_t length = static_cast<uint32_t>(cell.size());
          bytes.append(reinterpret_cast<const char*>(&length), 4);
          bytes.append(cell);
        } else {
          tensor->mutable_contents()->add_bytes_contents(cell);
        }
      }
      if (raw) request.add_raw_input_contents(bytes);
    }
    return request;
  }
  grpc::Status Infer(const inference::ModelInferRequest& request,
                     inference::ModelInferResponse* response) {
    grpc::ClientContext context;
    return stub_->ModelInfer(&context, request, response);
  }
  std::unique_ptr<inference::GRPCInferenceService::Stub> stub_;
};

// The BYTES elements of raw output `index`.
std::vector<std::string> RawStrings(const inference::ModelInferResponse& response, int index) {
  std::vector<std::string> out;
  const std::string& bytes = response.raw_output_contents(index);
  for (size_t at = 0; at + 4 <= bytes.size();) {
    uint32_t length = 0;
    std::memcpy(&length, bytes.data() + at, 4);
    out.push_back(bytes.substr(at + 4, length));
    at += 4 + length;
  }
  return out;
}

TEST_F(KServeTest, ModelInferWithContentsAndRawContentsAnswersLikeTheEngine) {
  const data::Table& expected = ServingEnvironment::Get().expected;
  for (bool raw : {false, true}) {
    SCOPED_TRACE(raw ? "raw_input_contents" : "contents");
    inference::ModelInferResponse response;
    grpc::Status status = Infer(KRequest(40, 47, raw), &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_EQ(response.model_version(), "1");
    EXPECT_EQ(response.id(), "r1");
    ASSERT_EQ(response.outputs_size(), response.raw_output_contents_size());
    bool found = false;
    for (int i = 0; i < response.outputs_size(); ++i) {
      if (response.outputs(i).name() != "k::predictions") continue;
      found = true;
      EXPECT_EQ(response.outputs(i).datatype(), "BYTES");
      const std::vector<std::string> labels = RawStrings(response, i);
      ASSERT_EQ(labels.size(), 7u);
      for (int row = 0; row < 7; ++row) {
        EXPECT_EQ(labels[row], (**expected.Get("k_predictions")).values[40 + row]);
      }
    }
    EXPECT_TRUE(found);
  }
  // Only the requested output; numbers as FP64 for the number feature.
  inference::ModelInferRequest request = KRequest(0, 2, false);
  request.add_outputs()->set_name("y::probability");
  for (auto& tensor : *request.mutable_inputs()) {
    if (tensor.name() != "x") continue;
    tensor.set_datatype("FP64");
    tensor.clear_contents();
    for (int row = 0; row < 2; ++row) {
      double value = 0;
      ASSERT_TRUE(
          absl::SimpleAtod((**ServingEnvironment::Get().table.Get("x")).values[row], &value));
      tensor.mutable_contents()->add_fp64_contents(value);
    }
  }
  inference::ModelInferResponse response;
  ASSERT_TRUE(Infer(request, &response).ok());
  ASSERT_EQ(response.outputs_size(), 1);
  EXPECT_EQ(response.outputs(0).datatype(), "FP32");
  EXPECT_EQ(response.raw_output_contents(0).size(), 2 * sizeof(float));
}

// 200 rows against max_batch_size 64: split into batches inside the daemon and answered whole
// (it was INVALID_ARGUMENT, and every client had to chunk by hand).
TEST_F(KServeTest, ARequestOverMaxBatchSizeIsAnsweredWhole) {
  const data::Table& expected = ServingEnvironment::Get().expected;
  inference::ModelInferResponse response;
  grpc::Status status = Infer(KRequest(0, 200, true), &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  bool found = false;
  for (int i = 0; i < response.outputs_size(); ++i) {
    if (response.outputs(i).name() != "k::predictions") continue;
    found = true;
    EXPECT_EQ(response.outputs(i).shape(0), 200);
    const std::vector<std::string> labels = RawStrings(response, i);
    ASSERT_EQ(labels.size(), 200u);
    for (int row = 0; row < 200; ++row) {
      EXPECT_EQ(labels[row], (**expected.Get("k_predictions")).values[row]) << row;
    }
  }
  EXPECT_TRUE(found);
}

TEST_F(KServeTest, BadTensorsAreInvalidArgument) {
  inference::ModelInferRequest short_tensor = KRequest(0, 3, false);
  short_tensor.mutable_inputs(0)->set_shape(0, 4);
  inference::ModelInferResponse response;
  EXPECT_EQ(Infer(short_tensor, &response).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  inference::ModelInferRequest truncated = KRequest(0, 3, true);
  truncated.mutable_raw_input_contents(0)->pop_back();
  EXPECT_EQ(Infer(truncated, &response).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  inference::ModelInferRequest unknown = KRequest(0, 3, false);
  unknown.set_model_name("nope");
  EXPECT_EQ(Infer(unknown, &response).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_TRUE(Infer(KRequest(0, 3, true), &response).ok());
}

TEST_F(KServeTest, MetadataReadinessRepositoryAndStatistics) {
  grpc::ClientContext c1, c2, c3, c4, c5, c6;
  inference::ServerLiveResponse live;
  ASSERT_TRUE(stub_->ServerLive(&c1, {}, &live).ok());
  EXPECT_TRUE(live.live());
  inference::ModelReadyRequest ready_request;
  ready_request.set_name("churn");
  inference::ModelReadyResponse ready;
  ASSERT_TRUE(stub_->ModelReady(&c2, ready_request, &ready).ok());
  EXPECT_TRUE(ready.ready());
  inference::ModelMetadataRequest metadata_request;
  metadata_request.set_name("churn");
  inference::ModelMetadataResponse metadata;
  ASSERT_TRUE(stub_->ModelMetadata(&c3, metadata_request, &metadata).ok());
  EXPECT_EQ(metadata.inputs_size(), 3);
  EXPECT_EQ(metadata.versions(0), "1");
  inference::RepositoryIndexResponse index;
  ASSERT_TRUE(stub_->RepositoryIndex(&c4, {}, &index).ok());
  ASSERT_EQ(index.models_size(), 1);
  EXPECT_EQ(index.models(0).state(), "READY");
  inference::ModelInferResponse response;
  ASSERT_TRUE(Infer(KRequest(0, 4, false), &response).ok());
  inference::ModelStatisticsRequest stats_request;
  stats_request.set_name("churn");
  inference::ModelStatisticsResponse stats;
  ASSERT_TRUE(stub_->ModelStatistics(&c5, stats_request, &stats).ok());
  ASSERT_EQ(stats.model_stats_size(), 1);
  EXPECT_EQ(stats.model_stats(0).inference_count(), 4u);
  EXPECT_EQ(stats.model_stats(0).inference_stats().success().count(), 1u);
  inference::RepositoryModelUnloadRequest unload;
  unload.set_model_name("churn");
  inference::RepositoryModelUnloadResponse unloaded;
  // grpc.health.v1 per model follows loads and unloads.
  EXPECT_EQ(client_->CheckHealth("churn").value(), client::ServingStatus::kServing);
  ASSERT_TRUE(stub_->RepositoryModelUnload(&c6, unload, &unloaded).ok());
  EXPECT_EQ(Infer(KRequest(0, 1, false), &response).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(client_->CheckHealth("churn").value(), client::ServingStatus::kNotServing);
  grpc::ClientContext c7;
  inference::RepositoryModelLoadRequest load;
  load.set_model_name("churn");
  inference::RepositoryModelLoadResponse loaded;
  ASSERT_TRUE(stub_->RepositoryModelLoad(&c7, load, &loaded).ok());
  EXPECT_TRUE(Infer(KRequest(0, 1, false), &response).ok());
  EXPECT_EQ(client_->CheckHealth("churn").value(), client::ServingStatus::kServing);
}

}  // namespace
}  // namespace tristage::server
