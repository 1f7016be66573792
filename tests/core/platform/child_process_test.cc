#include "core/platform/child_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace tristage::platform {
namespace {

// The daemon's shape: a SIGTERM handler that writes to a self-pipe the process reads.
int g_pipe[2] = {-1, -1};
extern "C" void WriteToPipe(int signal_number) {
  const unsigned char byte = static_cast<unsigned char>(signal_number);
  [[maybe_unused]] ssize_t n = write(g_pipe[1], &byte, 1);
}

// A job cancelled a moment after it started: the SIGTERM sent to the child's group used to run
// the parent's handler in the child (forked, not yet exec'd), whose self-pipe is the parent's
// too, so the daemon read "SIGTERM" and shut down (8 of 20 tries in the outside probe), and the
// child ignored the signal. Now the child resets its handlers before it unblocks signals.
TEST(ChildProcessTest, ASignalSentRightAfterStartReachesTheChildNeverTheParentsHandler) {
  ASSERT_EQ(pipe2(g_pipe, O_CLOEXEC | O_NONBLOCK), 0);
  struct sigaction action {}, previous {};
  action.sa_handler = WriteToPipe;
  sigemptyset(&action.sa_mask);
  ASSERT_EQ(sigaction(SIGTERM, &action, &previous), 0);
  int killed_by_term = 0;
  constexpr int kTries = 50;
  for (int i = 0; i < kTries; ++i) {
    ChildSpec spec;
    spec.argv = {"/bin/sleep", "5"};
    auto child = ChildProcess::Start(spec);
    ASSERT_TRUE(child.ok()) << child.status();
    ASSERT_EQ(kill(-(*child)->pid(), SIGTERM), 0);
    (*child)->ReadLines([](absl::string_view) {});
    const int status = (*child)->Reap();
    if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGTERM) {
      ADD_FAILURE() << "try " << i << ": the child " << DescribeWaitStatus(status)
                    << " instead of dying of SIGTERM";
      break;
    }
    ++killed_by_term;
  }
  unsigned char byte = 0;
  const ssize_t read_bytes = read(g_pipe[0], &byte, 1);
  sigaction(SIGTERM, &previous, nullptr);
  close(g_pipe[0]);
  close(g_pipe[1]);
  EXPECT_EQ(read_bytes, -1) << "the parent's SIGTERM handler ran in a child";
  EXPECT_EQ(killed_by_term, kTries);
}

TEST(ChildProcessTest, TheChildStartsWithDefaultSignalDispositionsAndNoneBlocked) {
  struct sigaction ignore {}, previous {};
  ignore.sa_handler = SIG_IGN;
  sigemptyset(&ignore.sa_mask);
  ASSERT_EQ(sigaction(SIGUSR1, &ignore, &previous), 0);
  ChildSpec spec;
  // SigIgn and SigBlk of the child as hex masks: SIGUSR1 (10) ignored would set bit 9.
  spec.argv = {"/bin/sh", "-c", "grep -E '^Sig(Ign|Blk)' /proc/self/status"};
  auto child = ChildProcess::Start(spec);
  ASSERT_TRUE(child.ok()) << child.status();
  std::string out;
  (*child)->ReadLines([&](absl::string_view line) { out += std::string(line) + "\n"; });
  (*child)->Reap();
  sigaction(SIGUSR1, &previous, nullptr);
  EXPECT_NE(out.find("SigBlk:\t0000000000000000"), std::string::npos) << out;
  EXPECT_EQ(out.find("SigIgn:\t0000000000000200"), std::string::npos) << out;
}

// The job protocol's channel: the events pipe is the child's descriptor 3, read apart from its
// output; no other descriptor of the parent leaks into the child, and a human line longer than
// the bound comes in pieces instead of growing the reader.
TEST(ChildProcessTest, TheEventsPipeIsDescriptorThreeAndOutputLinesAreBounded) {
  int leaked[2];
  ASSERT_EQ(pipe(leaked), 0);  // not close-on-exec: still must not reach the child
  ChildSpec spec;
  spec.argv = {"/bin/sh", "-c",
               "echo event-one >&3; head -c 10 /dev/zero | tr '\\000' x; echo;"
               " echo human; echo event-two >&3;"
               " for fd in 4 5 6 7 8 9; do [ -e /proc/self/fd/$fd ] && echo \"open $fd\"; done;"
               " true"};
  spec.events_pipe = true;
  spec.max_line_bytes = 4;
  auto child = ChildProcess::Start(spec);
  close(leaked[0]);
  close(leaked[1]);
  ASSERT_TRUE(child.ok()) << child.status();
  std::vector<std::string> lines;
  std::string events;
  (*child)->Read([&](absl::string_view line) { lines.emplace_back(line); },
                 [&](absl::string_view bytes) { events.append(bytes.data(), bytes.size()); });
  const int status = (*child)->Reap();
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << DescribeWaitStatus(status);
  EXPECT_EQ(events, "event-one\nevent-two\n");
  EXPECT_EQ(lines, (std::vector<std::string>{"xxxx", "xxxx", "xx", "huma", "n"}));
}

}  // namespace
}  // namespace tristage::platform
