// A request with more rows than max_batch_size is split into batches inside the pipeline and
// answered whole, up to max_request_rows (fake servables: y = the length of x).
#include <atomic>
#include <future>
#include <thread>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "server/serving/pipeline.h"
#include "server/serving/serving_config.h"
#include "tests/testing/fake_servable.h"

namespace tristage::server {
namespace {

class PipelineSplitTest : public ::testing::Test {
 protected:
  std::unique_ptr<ModelPipeline> Make(const ServingConfig& config) {
    auto servable = fakes_.Loader()("fake/1", config);
    EXPECT_TRUE(servable.ok()) << servable.status();
    return ModelPipeline::Create(std::move(*servable), config);
  }
  // Rows whose x has length row % 7 (or is "bad" at `bad_row`).
  static std::unique_ptr<InferRequest> Rows(int64_t rows, int64_t bad_row,
                                            std::promise<absl::StatusOr<exporting::OutputMap>>* out) {
    auto request = std::make_unique<InferRequest>();
    for (int64_t row = 0; row < rows; ++row) {
      request->inputs["x"].strings.push_back(row == bad_row ? "bad" : std::string(row % 7, 'a'));
    }
    request->done = [out](absl::StatusOr<exporting::OutputMap> outputs) {
      out->set_value(std::move(outputs));
    };
    return request;
  }
  testing::FakeModels fakes_;
};

TEST_F(PipelineSplitTest, ARequestOverMaxBatchSizeIsAnsweredWholeInRowOrder) {
  ServingConfig config;
  config.max_batch_size = 64;
  auto pipeline = Make(config);
  std::promise<absl::StatusOr<exporting::OutputMap>> answer;
  ASSERT_TRUE(pipeline->Submit(Rows(200, -1, &answer)).ok());
  absl::StatusOr<exporting::OutputMap> outputs = answer.get_future().get();
  ASSERT_TRUE(outputs.ok()) << outputs.status();
  const std::vector<float>& y = outputs->front().second.numbers;
  ASSERT_EQ(y.size(), 200u);
  for (size_t row = 0; row < y.size(); ++row) EXPECT_EQ(y[row], row % 7) << row;
  EXPECT_GE(pipeline->stats().batches.load(), 4);  // 64 + 64 + 64 + 8 rows at most per batch
  EXPECT_EQ(pipeline->pending(), 0);
}

// Split requests racing each other (and whole ones) from many threads: each answered once, with
// its own rows in order, whatever pieces of other requests shared its batches.
TEST_F(PipelineSplitTest, SplitRequestsRacingEachOtherEachGetTheirOwnRows) {
  ServingConfig config;
  config.max_batch_size = 16;
  config.max_queue_delay_us = 200;  // let pieces of different requests meet in one batch
  auto pipeline = Make(config);
  std::vector<std::thread> clients;
  std::atomic<int> wrong{0};
  for (int client = 0; client < 8; ++client) {
    clients.emplace_back([&, client] {
      for (int i = 0; i < 20; ++i) {
        const int64_t rows = 1 + (client * 37 + i * 11) % 70;  // 1..70 rows: 1 to 5 pieces
        std::promise<absl::StatusOr<exporting::OutputMap>> answer;
        if (!pipeline->Submit(Rows(rows, -1, &answer)).ok()) {
          ++wrong;
          continue;
        }
        absl::StatusOr<exporting::OutputMap> outputs = answer.get_future().get();
        if (!outputs.ok() || outputs->front().second.numbers.size() != static_cast<size_t>(rows)) {
          ++wrong;
          continue;
        }
        for (int64_t row = 0; row < rows; ++row) {
          if (outputs->front().second.numbers[row] != row % 7) ++wrong;
        }
      }
    });
  }
  for (std::thread& client : clients) client.join();
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_EQ(pipeline->pending(), 0);
}

TEST_F(PipelineSplitTest, OverMaxRequestRowsIsRefusedNamingBothLimits) {
  ServingConfig config;
  config.max_batch_size = 8;
  config.max_request_rows = 100;
  auto pipeline = Make(config);
  std::promise<absl::StatusOr<exporting::OutputMap>> answer;
  const absl::Status status = pipeline->Submit(Rows(101, -1, &answer));
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(status.message(), "101 rows")) << status;
  EXPECT_TRUE(absl::StrContains(status.message(), "at most 100 (max_request_rows")) << status;
  EXPECT_TRUE(absl::StrContains(status.message(), "max_batch_size of 8")) << status;
  std::promise<absl::StatusOr<exporting::OutputMap>> exact;
  ASSERT_TRUE(pipeline->Submit(Rows(100, -1, &exact)).ok());
  EXPECT_TRUE(exact.get_future().get().ok());
}

TEST_F(PipelineSplitTest, ABadRowFailsTheWholeRequestOnceNamingItsPiecesRows) {
  ServingConfig config;
  config.max_batch_size = 64;
  auto pipeline = Make(config);
  std::promise<absl::StatusOr<exporting::OutputMap>> answer;
  ASSERT_TRUE(pipeline->Submit(Rows(200, 130, &answer)).ok());
  absl::StatusOr<exporting::OutputMap> outputs = answer.get_future().get();
  EXPECT_EQ(outputs.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(outputs.status().message(),
            "rows 128-191 of the request: feature 'x': 'bad' is refused");
  // The pipeline goes on serving.
  std::promise<absl::StatusOr<exporting::OutputMap>> next;
  ASSERT_TRUE(pipeline->Submit(Rows(3, -1, &next)).ok());
  EXPECT_TRUE(next.get_future().get().ok());
}

TEST_F(PipelineSplitTest, AFullQueueRefusesTheRequestWhenNoPieceGotIn) {
  ServingConfig config;
  config.max_batch_size = 4;
  config.max_queue_size = 1;
  auto pipeline = Make(config);
  fakes_.HoldPredicts();
  // One request held in Predict (an idle predictor lets the preprocessor thread run Predict
  // itself, so that thread is the one held) and one waiting in the queue: the queue is full.
  std::promise<absl::StatusOr<exporting::OutputMap>> first, second, split;
  auto held = Rows(1, -1, &first);
  held->may_run_inline = false;
  ASSERT_TRUE(pipeline->Submit(std::move(held)).ok());
  fakes_.AwaitPredictsWaiting(1);
  auto queued = Rows(1, -1, &second);
  queued->may_run_inline = false;
  ASSERT_TRUE(pipeline->Submit(std::move(queued)).ok());
  const absl::Status status = pipeline->Submit(Rows(10, -1, &split));
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted) << status;
  fakes_.ReleasePredicts();
  EXPECT_TRUE(first.get_future().get().ok());
  EXPECT_TRUE(second.get_future().get().ok());
}

}  // namespace
}  // namespace tristage::server
