// One process's membership of a data-parallel training run: c10d's TCPStore for the rendezvous
// (rank 0 hosts it on MASTER_ADDR:MASTER_PORT) and a Gloo process group for the collectives, on
// CPU tensors. The engine trains on CPU, so Gloo is the backend; NCCL would replace it where
// training runs on CUDA.
//
// Every collective must be called by every rank in the same order. A collective that fails (a
// peer died: its connection closes at once; a peer hangs: after WorldInfo::timeout_seconds)
// returns Unavailable naming this rank, the operation and what Gloo said, instead of throwing.
// Internal to core; includes torch.
// Thread safety: one thread (the training loop's) calls the collectives; the store calls may come
// from any thread.
#ifndef TRISTAGE_CORE_DISTRIBUTED_PROCESS_GROUP_H_
#define TRISTAGE_CORE_DISTRIBUTED_PROCESS_GROUP_H_

#include <torch/csrc/distributed/c10d/FileStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#include <torch/torch.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/api/distributed.h"

namespace tristage::distributed {

class ProcessGroup {
 public:
  // Rendezvous of world.world_size ranks at master_addr:master_port (or in world.rendezvous_file:
  // c10d's FileStore, for workers of one machine), then Gloo connects every pair. Unavailable naming the address when the other ranks do not arrive within the timeout.
  // Gloo binds to 127.0.0.1 when MASTER_ADDR is a loopback address, to GLOO_SOCKET_IFNAME's
  // interface when that is set, and otherwise to the address this host's name resolves to.
  static absl::StatusOr<std::unique_ptr<ProcessGroup>> Join(const WorldInfo& world);

  int rank() const { return world_.rank; }
  int size() const { return world_.world_size; }
  const WorldInfo& world() const { return world_; }
  // "rank 1/2": how messages name this process.
  std::string Name() const;

  // In place, from rank 0 to every rank.
  absl::Status Broadcast(torch::Tensor tensor, const std::string& what);
  // In place: the element-wise sum over the ranks.
  absl::Status AllReduceSum(torch::Tensor tensor, const std::string& what);
  // Every rank's `rows` (dimension 0 may differ between ranks; the rest must agree), concatenated
  // in rank order.
  absl::StatusOr<torch::Tensor> GatherRows(const torch::Tensor& rows, const std::string& what);
  // Rank 0's `bytes` on every rank (the others' argument is ignored).
  absl::StatusOr<std::string> BroadcastBytes(const std::string& bytes, const std::string& what);

  // The asynchronous all-reduce (sum) the gradient reducer overlaps with backward; wait with Wait.
  c10::intrusive_ptr<c10d::Work> StartAllReduce(torch::Tensor tensor);
  absl::Status Wait(const c10::intrusive_ptr<c10d::Work>& work, const std::string& what);

  // The rendezvous store: Publish sets a key for every rank to read; Await blocks until the key
  // exists (Unavailable after `timeout`, or when rank 0, which hosts the store, is gone).
  absl::Status Publish(const std::string& key, const std::string& value);
  absl::StatusOr<std::string> Await(const std::string& key, std::chrono::seconds timeout,
                                    const std::string& what);

  // Unavailable "<Name()>: <what> failed: <cause>; ..." for an exception from c10d or Gloo.
  absl::Status Failure(const std::string& what, const std::exception& error) const;

 private:
  ProcessGroup(WorldInfo world, c10::intrusive_ptr<c10d::Store> store,
               c10::intrusive_ptr<c10d::ProcessGroupGloo> group)
      : world_(std::move(world)), store_(std::move(store)), group_(std::move(group)) {}

  absl::Status InPlace(
      torch::Tensor tensor, const std::string& what,
      const std::function<c10::intrusive_ptr<c10d::Work>(std::vector<torch::Tensor>&)>& collective);

  const WorldInfo world_;
  c10::intrusive_ptr<c10d::Store> store_;
  c10::intrusive_ptr<c10d::ProcessGroupGloo> group_;
};

}  // namespace tristage::distributed

#endif  // TRISTAGE_CORE_DISTRIBUTED_PROCESS_GROUP_H_
