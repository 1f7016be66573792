// DynamicBatcher on a FakeClock: every timing decision (wait for company, dispatch at the delay,
// at once on a preferred size or for tasks that queued while the consumer was busy) is checked
// without a sleep, and without depending on how fast this machine runs.
#include "server/serving/batcher.h"

#include <future>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "tests/testing/fake_clock.h"

namespace tristage::server {
namespace {

struct Task {
  int id = 0;
  int64_t rows = 1;
  absl::Time enqueued;
};
using Batcher = DynamicBatcher<Task>;

class BatcherTest : public ::testing::Test {
 protected:
  std::unique_ptr<Batcher> Make(int64_t max_batch_size, absl::Duration delay,
                                std::vector<int64_t> preferred = {}, size_t queue = 16) {
    BatchPolicy policy;
    policy.max_batch_size = max_batch_size;
    policy.max_queue_delay = delay;
    policy.preferred_batch_sizes = std::move(preferred);
    policy.max_queue_size = queue;
    return std::make_unique<Batcher>(policy, clock_);
  }
  bool Push(Batcher& batcher, int id, int64_t rows = 1) {
    auto task = std::make_unique<Task>();
    task->id = id;
    task->rows = rows;
    task->enqueued = clock_.Now();
    return batcher.TryPush(task);
  }
  // The ids of the next batch, taken on another thread (as a pipeline worker does).
  std::future<std::vector<int>> NextAsync(Batcher& batcher, Batcher::Cursor& cursor,
                                          std::function<bool(Batcher::TaskPtr&)> keep = nullptr) {
    return std::async(std::launch::async, [&batcher, &cursor, keep] {
      std::vector<int> ids;
      auto batch = batcher.Next(
          cursor, [&keep](Batcher::TaskPtr& task) { return keep ? keep(task) : true; }, nullptr);
      for (const auto& task : batch) ids.push_back(task->id);
      return ids;
    });
  }

  testing::FakeClock clock_;
};

TEST_F(BatcherTest, ALoneTaskWaitsForCompanyUntilItsDelayHasRun) {
  auto batcher = Make(8, absl::Milliseconds(10));
  Batcher::Cursor cursor;
  ASSERT_TRUE(Push(*batcher, 1));
  auto batch = NextAsync(*batcher, cursor);
  clock_.AwaitWaiters(1);  // the consumer holds task 1 and waits for company
  clock_.Advance(absl::Milliseconds(10) - absl::Microseconds(1));
  // Still inside the delay: task 2 joins the batch (had the consumer dispatched, it would not).
  ASSERT_TRUE(Push(*batcher, 2));
  clock_.AwaitWaiters(1);
  clock_.Advance(absl::Microseconds(1));  // the delay has run: dispatch
  EXPECT_EQ(batch.get(), (std::vector<int>{1, 2}));
}

TEST_F(BatcherTest, DispatchesAtTheDelayWithWhatItHas) {
  auto batcher = Make(8, absl::Milliseconds(10));
  Batcher::Cursor cursor;
  ASSERT_TRUE(Push(*batcher, 1));
  auto batch = NextAsync(*batcher, cursor);
  clock_.AwaitWaiters(1);
  clock_.Advance(absl::Milliseconds(10));
  EXPECT_EQ(batch.get(), std::vector<int>{1});
  EXPECT_EQ(batcher->size(), 0u);
}

TEST_F(BatcherTest, APreferredSizeDispatchesAtOnce) {
  auto batcher = Make(8, absl::Hours(1), {2});
  Batcher::Cursor cursor;
  ASSERT_TRUE(Push(*batcher, 1));
  ASSERT_TRUE(Push(*batcher, 2));
  ASSERT_TRUE(Push(*batcher, 3));
  // Two rows reach the preferred size: no wait, though the clock never moves.
  EXPECT_EQ(NextAsync(*batcher, cursor).get(), (std::vector<int>{1, 2}));
  EXPECT_EQ(batcher->size(), 1u);
}

TEST_F(BatcherTest, TasksThatQueuedWhileTheConsumerWasBusyGoTogetherAtOnce) {
  auto batcher = Make(8, absl::Milliseconds(10));
  Batcher::Cursor cursor;
  for (int id = 1; id <= 3; ++id) ASSERT_TRUE(Push(*batcher, id));
  clock_.Advance(absl::Milliseconds(25));  // the consumer was busy past the oldest's delay
  EXPECT_EQ(NextAsync(*batcher, cursor).get(), (std::vector<int>{1, 2, 3}));
}

TEST_F(BatcherTest, ATaskThatWouldOverflowTheBatchIsCarriedToTheNext) {
  auto batcher = Make(4, absl::ZeroDuration());
  Batcher::Cursor cursor;
  ASSERT_TRUE(Push(*batcher, 1, 3));
  ASSERT_TRUE(Push(*batcher, 2, 3));
  ASSERT_TRUE(Push(*batcher, 3, 1));
  EXPECT_EQ(NextAsync(*batcher, cursor).get(), std::vector<int>{1});
  ASSERT_NE(cursor.carry, nullptr);
  EXPECT_EQ(cursor.carry->id, 2);
  EXPECT_EQ(NextAsync(*batcher, cursor).get(), (std::vector<int>{2, 3}));
}

TEST_F(BatcherTest, TasksKeepRefusesAreDroppedAndTheBatchGoesOn) {
  auto batcher = Make(8, absl::ZeroDuration());
  Batcher::Cursor cursor;
  for (int id = 1; id <= 4; ++id) ASSERT_TRUE(Push(*batcher, id));
  std::vector<int> dropped;
  auto keep = [&dropped](Batcher::TaskPtr& task) {
    if (task->id % 2 == 1) return true;
    dropped.push_back(task->id);
    return false;
  };
  EXPECT_EQ(NextAsync(*batcher, cursor, keep).get(), (std::vector<int>{1, 3}));
  EXPECT_EQ(dropped, (std::vector<int>{2, 4}));
}

TEST_F(BatcherTest, TheQueueIsBoundedAndCloseDrainsThenEnds) {
  auto batcher = Make(1, absl::ZeroDuration(), {}, /*queue=*/2);
  Batcher::Cursor cursor;
  EXPECT_TRUE(Push(*batcher, 1));
  EXPECT_TRUE(Push(*batcher, 2));
  EXPECT_FALSE(Push(*batcher, 3));  // full
  batcher->Close();
  EXPECT_FALSE(Push(*batcher, 4));  // closed
  EXPECT_EQ(NextAsync(*batcher, cursor).get(), std::vector<int>{1});
  EXPECT_EQ(NextAsync(*batcher, cursor).get(), std::vector<int>{2});
  EXPECT_TRUE(NextAsync(*batcher, cursor).get().empty());
}

TEST_F(BatcherTest, CloseWakesAConsumerWaitingForCompany) {
  auto batcher = Make(8, absl::Hours(1));
  Batcher::Cursor cursor;
  ASSERT_TRUE(Push(*batcher, 1));
  auto batch = NextAsync(*batcher, cursor);
  clock_.AwaitWaiters(1);
  batcher->Close();  // no clock movement: the close alone ends the wait
  EXPECT_EQ(batch.get(), std::vector<int>{1});
}

TEST_F(BatcherTest, OnFirstRunsOnceTheFirstTaskIsInHandBeforeTheWait) {
  auto batcher = Make(8, absl::Milliseconds(5));
  Batcher::Cursor cursor;
  ASSERT_TRUE(Push(*batcher, 1));
  int calls = 0;
  auto batch = std::async(std::launch::async, [&] {
    return batcher->Next(cursor, [](Batcher::TaskPtr&) { return true; }, [&calls] { ++calls; })
        .size();
  });
  clock_.AwaitWaiters(1);
  clock_.Advance(absl::Milliseconds(5));
  EXPECT_EQ(batch.get(), 1u);
  EXPECT_EQ(calls, 1);
}

}  // namespace
}  // namespace tristage::server
