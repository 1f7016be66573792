#include "core/distributed/process_group.h"

#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/match.h"
#include "core/util/status_macros.h"

namespace tristage::distributed {
namespace {

// c10::Error's message without the C++ backtrace that follows it.
std::string Cause(const std::exception& error) {
  if (const auto* c10_error = dynamic_cast<const c10::Error*>(&error)) {
    std::string message = c10_error->what_without_backtrace();
    const size_t frames = message.find("\nException raised from");
    if (frames != std::string::npos) message.resize(frames);
    return message;
  }
  return error.what();
}

bool IsLoopback(const std::string& address) {
  return address == "localhost" || address == "::1" || absl::StartsWith(address, "127.");
}

// Gloo moves numbers; booleans travel as bytes.
torch::Tensor Transportable(const torch::Tensor& tensor) {
  torch::Tensor contiguous = tensor.contiguous();
  return contiguous.scalar_type() == torch::kBool ? contiguous.to(torch::kUInt8) : contiguous;
}

}  // namespace

absl::StatusOr<std::unique_ptr<ProcessGroup>> ProcessGroup::Join(const WorldInfo& world) {
  const std::chrono::milliseconds timeout(int64_t{world.timeout_seconds} * 1000);
  const std::string where = absl::StrCat(world.master_addr, ":", world.master_port);
  c10::intrusive_ptr<c10d::Store> store;
  try {
    if (!world.rendezvous_file.empty()) {
      store = c10::make_intrusive<c10d::FileStore>(world.rendezvous_file, world.world_size);
      store->setTimeout(timeout);  // Gloo's rendezvous below waits for every rank's address
    } else {
      c10d::TCPStoreOptions options;
      options.port = static_cast<uint16_t>(world.master_port);
      options.isServer = world.rank == 0;
      options.numWorkers = static_cast<size_t>(world.world_size);
      options.waitWorkers = true;
      options.timeout = timeout;
      store = c10::make_intrusive<c10d::TCPStore>(world.master_addr, options);
    }
  } catch (const std::exception& e) {
    const std::string at =
        world.rendezvous_file.empty() ? where : absl::StrCat("file ", world.rendezvous_file);
    return absl::UnavailableError(absl::StrCat(
        "rank ", world.rank, "/", world.world_size, ": the rendezvous at ", at,
        (world.rank == 0 ? " (this rank hosts it)" : ""), " did not complete within ",
        world.timeout_seconds, " s: ", Cause(e),
        "; check that every rank was started with the same MASTER_ADDR, MASTER_PORT and "
        "WORLD_SIZE"));
  }
  try {
    auto options = c10d::ProcessGroupGloo::Options::create(timeout);
    const char* interface = std::getenv("GLOO_SOCKET_IFNAME");
    if (IsLoopback(world.master_addr)) {
      options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1"));
    } else if (interface != nullptr && *interface != '\0') {
      options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(interface));
    } else {
      options->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
    }
    auto group = c10::make_intrusive<c10d::ProcessGroupGloo>(store, world.rank, world.world_size,
                                                             options);
    return std::unique_ptr<ProcessGroup>(new ProcessGroup(world, store, group));
  } catch (const std::exception& e) {
    return absl::UnavailableError(absl::StrCat("rank ", world.rank, "/", world.world_size,
                                               ": connecting the workers (Gloo) failed: ",
                                               Cause(e)));
  }
}

std::string ProcessGroup::Name() const {
  return absl::StrCat("rank ", world_.rank, "/", world_.world_size);
}

absl::Status ProcessGroup::Failure(const std::string& what, const std::exception& error) const {
  return absl::UnavailableError(absl::StrCat(
      Name(), ": ", what, " failed: ", Cause(error),
      " (another worker stopped, died or hung; its own log says why; a hung worker fails the run "
      "after --dist_timeout, ",
      world_.timeout_seconds, " s)"));
}

absl::Status ProcessGroup::Wait(const c10::intrusive_ptr<c10d::Work>& work,
                                const std::string& what) {
  try {
    work->wait();
  } catch (const std::exception& e) {
    return Failure(what, e);
  }
  return absl::OkStatus();
}

c10::intrusive_ptr<c10d::Work> ProcessGroup::StartAllReduce(torch::Tensor tensor) {
  std::vector<torch::Tensor> tensors{std::move(tensor)};
  return group_->allreduce(tensors);
}

// Runs `collective` on `tensor` in place, through a transportable copy when it needs one.
absl::Status ProcessGroup::InPlace(
    torch::Tensor tensor, const std::string& what,
    const std::function<c10::intrusive_ptr<c10d::Work>(std::vector<torch::Tensor>&)>& collective) {
  try {
    torch::NoGradGuard no_grad;
    torch::Tensor moved = Transportable(tensor.detach());
    std::vector<torch::Tensor> tensors{moved};
    collective(tensors)->wait();
    if (moved.data_ptr() != tensor.data_ptr()) tensor.detach().copy_(moved);
  } catch (const std::exception& e) {
    return Failure(what, e);
  }
  return absl::OkStatus();
}

absl::Status ProcessGroup::Broadcast(torch::Tensor tensor, const std::string& what) {
  return InPlace(tensor, what, [this](std::vector<torch::Tensor>& t) {
    return group_->broadcast(t);
  });
}

absl::Status ProcessGroup::AllReduceSum(torch::Tensor tensor, const std::string& what) {
  return InPlace(tensor, what, [this](std::vector<torch::Tensor>& t) {
    return group_->allreduce(t);
  });
}

absl::StatusOr<torch::Tensor> ProcessGroup::GatherRows(const torch::Tensor& rows,
                                                       const std::string& what) {
  try {
    torch::NoGradGuard no_grad;
    const torch::Tensor local = Transportable(rows.detach());
    // Row counts first: Gloo gathers equal shapes, so every rank pads to the longest.
    std::vector<torch::Tensor> count{torch::tensor({local.size(0)}, torch::kLong)};
    std::vector<std::vector<torch::Tensor>> counts(1);
    for (int r = 0; r < size(); ++r) counts[0].push_back(torch::empty({1}, torch::kLong));
    group_->allgather(counts, count)->wait();
    int64_t longest = 0;
    for (const torch::Tensor& c : counts[0]) longest = std::max(longest, c.item<int64_t>());
    std::vector<int64_t> shape = local.sizes().vec();
    shape[0] = longest;
    torch::Tensor padded = torch::zeros(shape, local.options());
    padded.slice(0, 0, local.size(0)).copy_(local);
    std::vector<torch::Tensor> input{padded};
    std::vector<std::vector<torch::Tensor>> gathered(1);
    for (int r = 0; r < size(); ++r) gathered[0].push_back(torch::empty(shape, local.options()));
    group_->allgather(gathered, input)->wait();
    std::vector<torch::Tensor> pieces;
    for (int r = 0; r < size(); ++r) {
      pieces.push_back(gathered[0][r].slice(0, 0, counts[0][r].item<int64_t>()));
    }
    torch::Tensor all = torch::cat(pieces, 0);
    return rows.scalar_type() == torch::kBool ? all.to(torch::kBool) : all;
  } catch (const std::exception& e) {
    return Failure(what, e);
  }
}

absl::StatusOr<std::string> ProcessGroup::BroadcastBytes(const std::string& bytes,
                                                         const std::string& what) {
  torch::Tensor length = torch::tensor({static_cast<int64_t>(bytes.size())}, torch::kLong);
  TRISTAGE_RETURN_IF_ERROR(Broadcast(length, what));
  const int64_t n = length.item<int64_t>();
  torch::Tensor buffer = torch::empty({n}, torch::kUInt8);
  if (rank() == 0 && n > 0) std::memcpy(buffer.data_ptr(), bytes.data(), bytes.size());
  if (n > 0) TRISTAGE_RETURN_IF_ERROR(Broadcast(buffer, what));
  return std::string(static_cast<const char*>(buffer.data_ptr()), static_cast<size_t>(n));
}

absl::Status ProcessGroup::Publish(const std::string& key, const std::string& value) {
  try {
    store_->set(key, std::vector<uint8_t>(value.begin(), value.end()));
  } catch (const std::exception& e) {
    return Failure(absl::StrCat("publishing '", key, "' on the rendezvous store"), e);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> ProcessGroup::Await(const std::string& key,
                                                std::chrono::seconds timeout,
                                                const std::string& what) {
  try {
    store_->wait({key}, std::chrono::duration_cast<std::chrono::milliseconds>(timeout));
    const std::vector<uint8_t> value = store_->get(key);
    return std::string(value.begin(), value.end());
  } catch (const std::exception& e) {
    return Failure(what, e);
  }
}

}  // namespace tristage::distributed
