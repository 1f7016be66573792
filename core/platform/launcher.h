// LaunchWorkers: starts this machine's workers of a data-parallel run, as torchrun does, and
// watches them. Each worker is `argv` with RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE,
// MASTER_ADDR and MASTER_PORT in its environment (and, with threads_per_worker, OMP_NUM_THREADS,
// MKL_NUM_THREADS and OPENBLAS_NUM_THREADS), inheriting stdout and stderr.
//
// Faults: when a worker fails (a non-zero exit or a signal), the others get SIGTERM, then SIGKILL
// after `grace`; every worker is reaped before LaunchWorkers returns. Workers die with the thread
// that launched them (PR_SET_PDEATHSIG), and stay in the launcher's process group, so killing
// the launcher or its group (as the daemon cancels a job) leaves nothing running.
// Thread safety: call from one thread; it blocks until every worker has ended.
#ifndef TRISTAGE_CORE_PLATFORM_LAUNCHER_H_
#define TRISTAGE_CORE_PLATFORM_LAUNCHER_H_

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace tristage::platform {

// A worker that ends with this exit code says it failed because another worker was lost (a
// collective failed); the launcher blames the others first.
inline constexpr int kExitPeerLost = 3;

struct WorkerLaunch {
  std::vector<std::string> argv;  // argv[0]: the executable's path
  // Given to the run's rank 0 alone, after argv (e.g. its job events descriptor).
  std::vector<std::string> leader_args;
  int leader_fd = -1;  // a descriptor rank 0 (only) keeps open; -1: none
  int nproc_per_node = 1;
  int nnodes = 1;
  int node_rank = 0;
  std::string master_addr = "127.0.0.1";
  int master_port = 0;  // 0: a free port of this machine (nnodes == 1 only)
  int threads_per_worker = 0;  // 0: leave the thread variables alone
  // Non-empty (one machine only): TRISTAGE_RENDEZVOUS_FILE for the workers, a file-based store in
  // place of rank 0's TCP port (which c10d's TCPStore opens on every interface).
  std::string rendezvous_file;
  std::chrono::seconds grace{10};
};

struct WorkerExit {
  int rank = 0;
  pid_t pid = 0;
  int wait_status = 0;
  bool stopped = false;  // still running when another failed: the launcher stopped it
};

struct LaunchOutcome {
  std::vector<WorkerExit> workers;  // by local rank
  bool ok = true;                   // every worker exited 0
  // Without `ok`: which rank failed and how, and what happened to the others, e.g.
  // "rank 1 (pid 42) was killed by signal 9 (SIGKILL); rank 0 stopped: a peer was lost".
  std::string message;
};

// InvalidArgument for inconsistent options, Internal when a worker cannot be started (the ones
// already started are stopped and reaped).
absl::StatusOr<LaunchOutcome> LaunchWorkers(const WorkerLaunch& launch);

// A TCP port on 127.0.0.1 that was free a moment ago.
absl::StatusOr<int> FreeLocalPort();

}  // namespace tristage::platform

#endif  // TRISTAGE_CORE_PLATFORM_LAUNCHER_H_
