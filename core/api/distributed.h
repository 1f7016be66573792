// Data-parallel training across processes: who this process is in a run (WorldInfo, read from the
// environment that torchrun and Kubeflow's PyTorchJob set), and how many workers a config's
// Ludwig `backend:` section asks for. No torch types cross this header; the process group itself
// is internal to core (core/distributed/process_group.h). docs/distributed.md describes the whole.
#ifndef TRISTAGE_CORE_API_DISTRIBUTED_H_
#define TRISTAGE_CORE_API_DISTRIBUTED_H_

#include <string>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

namespace tristage {

struct WorldInfo {
  int rank = 0;              // RANK: 0 .. world_size - 1; rank 0 hosts the rendezvous store
  int world_size = 1;        // WORLD_SIZE
  int local_rank = 0;        // LOCAL_RANK: index among this machine's workers
  int local_world_size = 1;  // LOCAL_WORLD_SIZE
  std::string master_addr = "127.0.0.1";  // MASTER_ADDR: rank 0's host
  int master_port = 29500;                // MASTER_PORT: rank 0's store listens here
  // TRISTAGE_RENDEZVOUS_FILE: a file-based store instead of rank 0's TCP one, for the workers of
  // one machine (the launcher sets it), so that no port is open to the network during the run.
  std::string rendezvous_file;
  // How long a collective (an all-reduce, a broadcast) may wait for the other ranks before this
  // rank fails naming the operation: a rank that hangs fails the run after this long.
  int timeout_seconds = 300;
  bool distributed() const { return world_size > 1; }
};

// The process's place in a run from RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE, MASTER_ADDR,
// MASTER_PORT and TRISTAGE_RENDEZVOUS_FILE. Without WORLD_SIZE (or WORLD_SIZE=1) a single-process world. InvalidArgument naming
// the variable when one is malformed or inconsistent (RANK >= WORLD_SIZE, a port outside 1..65535,
// MASTER_ADDR empty or with a NUL, ...).
absl::StatusOr<WorldInfo> WorldFromEnvironment();

// What a resolved config's `backend` section asks for.
struct BackendPlan {
  int num_workers = 1;    // data-parallel worker processes (1: train in this process)
  int threads_per_worker = 0;  // backend.trainer.resources_per_worker.CPU; 0: unset
  std::string notice;     // how the Ludwig backend maps onto tristage, to show the user; may be empty
};

// The workers of `config`'s backend (absent or `type: local`: one). `ray` runs
// backend.trainer.num_workers local worker processes of torch.distributed (the notice says so);
// what cannot be honoured was refused when the config was resolved.
BackendPlan PlanBackend(const nlohmann::json& resolved_config);

}  // namespace tristage

#endif  // TRISTAGE_CORE_API_DISTRIBUTED_H_
