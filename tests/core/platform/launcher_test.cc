// LaunchWorkers with shell workers: the environment each gets, the leader's extras, and how a
// failure stops the others and is reported.
#include "core/platform/launcher.h"

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/testing/scratch_dir.h"

namespace tristage::platform {
namespace {

std::string Read(const std::filesystem::path& path) {
  std::ifstream in(path);
  return std::string((std::istreambuf_iterator<char>(in)), {});
}

WorkerLaunch Shell(const std::string& script) {
  WorkerLaunch launch;
  launch.argv = {"/bin/sh", "-c", script, "sh"};
  launch.grace = std::chrono::seconds(10);
  return launch;
}

TEST(LaunchWorkersTest, EachWorkerGetsItsPlaceAndOnlyRankZeroTheLeaderExtras) {
  testing::ScratchDir dir("tristage_launcher");
  int fds[2];
  ASSERT_EQ(pipe2(fds, O_CLOEXEC), 0);
  WorkerLaunch launch = Shell(absl::StrCat(
      "echo $RANK $WORLD_SIZE $LOCAL_RANK $LOCAL_WORLD_SIZE $MASTER_ADDR $OMP_NUM_THREADS "
      "$TRISTAGE_RENDEZVOUS_FILE \"$@\" "
      "> ",
      dir.path().string(), "/$RANK; [ -e /proc/self/fd/", fds[1], " ] && echo kept >> ",
      dir.path().string(), "/$RANK; exit 0"));
  launch.nproc_per_node = 3;
  launch.threads_per_worker = 2;
  launch.leader_args = {"--lead", "x"};
  launch.leader_fd = fds[1];
  launch.rendezvous_file = "/run/r/store";
  auto outcome = LaunchWorkers(launch);
  close(fds[0]);
  close(fds[1]);
  ASSERT_TRUE(outcome.ok()) << outcome.status();
  EXPECT_TRUE(outcome->ok) << outcome->message;
  EXPECT_EQ(Read(dir / "0"), "0 3 0 3 127.0.0.1 2 /run/r/store --lead x\nkept\n");
  EXPECT_EQ(Read(dir / "1"), "1 3 1 3 127.0.0.1 2 /run/r/store\n");
  EXPECT_EQ(Read(dir / "2"), "2 3 2 3 127.0.0.1 2 /run/r/store\n");
}

TEST(LaunchWorkersTest, ASecondMachinesWorkersTakeTheRanksAfterTheFirstsAndTheGivenPort) {
  testing::ScratchDir dir("tristage_launcher");
  WorkerLaunch launch =
      Shell(absl::StrCat("echo $RANK $WORLD_SIZE $LOCAL_RANK $MASTER_ADDR $MASTER_PORT > ",
                         dir.path().string(), "/$LOCAL_RANK"));
  launch.nproc_per_node = 2;
  launch.nnodes = 3;
  launch.node_rank = 1;
  launch.master_addr = "trainer-0.trainers";
  launch.master_port = 29400;
  auto outcome = LaunchWorkers(launch);
  ASSERT_TRUE(outcome.ok()) << outcome.status();
  EXPECT_EQ(Read(dir / "0"), "2 6 0 trainer-0.trainers 29400\n");
  EXPECT_EQ(Read(dir / "1"), "3 6 1 trainer-0.trainers 29400\n");
}

TEST(LaunchWorkersTest, AFailingWorkerStopsTheOthersAtOnceAndIsNamedFirst) {
  WorkerLaunch launch = Shell("if [ $RANK = 1 ]; then exit 7; fi; exec sleep 60");
  launch.nproc_per_node = 3;
  const auto start = std::chrono::steady_clock::now();
  auto outcome = LaunchWorkers(launch);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ASSERT_TRUE(outcome.ok()) << outcome.status();
  EXPECT_FALSE(outcome->ok);
  EXPECT_LT(seconds, 9);  // SIGTERM ended the sleepers; no wait for the grace period
  EXPECT_TRUE(absl::StartsWith(
      outcome->message, absl::StrCat("rank 1 (pid ", outcome->workers[1].pid, ") exited with status 7; the launcher stopped rank ")))
      << outcome->message;
  EXPECT_TRUE(outcome->workers[0].stopped);
  EXPECT_FALSE(outcome->workers[1].stopped);
  EXPECT_TRUE(outcome->workers[2].stopped);
}

TEST(LaunchWorkersTest, AWorkerThatOnlyLostAPeerIsNotBlamed) {
  // Rank 0 gives up first (as when a collective breaks); rank 1 is the one that failed.
  WorkerLaunch launch = Shell(absl::StrCat("if [ $RANK = 0 ]; then exit ", kExitPeerLost,
                                           "; fi; sleep 0.5; exit 5"));
  launch.nproc_per_node = 2;
  auto outcome = LaunchWorkers(launch);
  ASSERT_TRUE(outcome.ok()) << outcome.status();
  EXPECT_TRUE(absl::StartsWith(outcome->message,
                               absl::StrCat("rank 1 (pid ", outcome->workers[1].pid,
                                            ") exited with status 5; rank 0 (pid ",
                                            outcome->workers[0].pid,
                                            ") stopped: a peer was lost")))
      << outcome->message;
}

TEST(LaunchWorkersTest, InconsistentOptionsAreRefused) {
  WorkerLaunch launch = Shell("exit 0");
  launch.nproc_per_node = 0;
  EXPECT_EQ(LaunchWorkers(launch).status().code(), absl::StatusCode::kInvalidArgument);
  launch.nproc_per_node = 1;
  launch.nnodes = 2;
  EXPECT_TRUE(absl::StrContains(LaunchWorkers(launch).status().message(), "--master_port"));
  launch.master_port = 1234;
  launch.node_rank = 2;
  EXPECT_EQ(LaunchWorkers(launch).status().code(), absl::StatusCode::kInvalidArgument);
  launch.argv.clear();
  EXPECT_EQ(LaunchWorkers(launch).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace tristage::platform
