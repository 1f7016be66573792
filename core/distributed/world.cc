// WorldFromEnvironment and PlanBackend (core/api/distributed.h): torch-free.
#include <cstdlib>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "core/api/distributed.h"

namespace tristage {
namespace {

// The integer in environment variable `name` within [low, high], or `fallback` when unset.
absl::StatusOr<int> IntFromEnv(const char* name, int fallback, int low, int high) {
  const char* text = std::getenv(name);
  if (text == nullptr || *text == '\0') return fallback;
  int value = 0;
  if (!absl::SimpleAtoi(text, &value) || value < low || value > high) {
    return absl::InvalidArgumentError(absl::StrCat("environment variable ", name, "='",
                                                   std::string(text).substr(0, 64),
                                                   "': expected an integer in [", low, ", ",
                                                   high, "]"));
  }
  return value;
}

}  // namespace

absl::StatusOr<WorldInfo> WorldFromEnvironment() {
  WorldInfo world;
  constexpr int kMaxWorld = 65536;
  auto world_size = IntFromEnv("WORLD_SIZE", 1, 1, kMaxWorld);
  if (!world_size.ok()) return world_size.status();
  world.world_size = *world_size;
  if (world.world_size == 1) return world;
  if (std::getenv("RANK") == nullptr) {
    return absl::InvalidArgumentError(
        "environment variable WORLD_SIZE is set but RANK is not: every worker of a distributed "
        "run needs its RANK (0 .. WORLD_SIZE-1)");
  }
  auto rank = IntFromEnv("RANK", 0, 0, world.world_size - 1);
  if (!rank.ok()) return rank.status();
  world.rank = *rank;
  auto local_world = IntFromEnv("LOCAL_WORLD_SIZE", 1, 1, world.world_size);
  if (!local_world.ok()) return local_world.status();
  world.local_world_size = *local_world;
  auto local_rank = IntFromEnv("LOCAL_RANK", 0, 0, world.local_world_size - 1);
  if (!local_rank.ok()) return local_rank.status();
  world.local_rank = *local_rank;
  auto port = IntFromEnv("MASTER_PORT", 29500, 1, 65535);
  if (!port.ok()) return port.status();
  world.master_port = *port;
  if (const char* addr = std::getenv("MASTER_ADDR"); addr != nullptr) {
    world.master_addr = addr;
    if (world.master_addr.empty() || world.master_addr.size() > 253) {
      return absl::InvalidArgumentError(
          "environment variable MASTER_ADDR: expected rank 0's host name or address (1 to 253 "
          "characters)");
    }
  } else if (world.local_world_size < world.world_size) {
    return absl::InvalidArgumentError(
        "environment variable MASTER_ADDR is not set: a run across machines needs rank 0's host");
  }
  if (const char* file = std::getenv("TRISTAGE_RENDEZVOUS_FILE"); file != nullptr && *file) {
    world.rendezvous_file = file;
    if (world.rendezvous_file.front() != '/' || world.rendezvous_file.size() > 4096) {
      return absl::InvalidArgumentError(
          "environment variable TRISTAGE_RENDEZVOUS_FILE: expected an absolute path");
    }
    if (world.local_world_size != world.world_size) {
      return absl::InvalidArgumentError(
          "environment variable TRISTAGE_RENDEZVOUS_FILE: a file rendezvous needs every worker on "
          "this machine (LOCAL_WORLD_SIZE = WORLD_SIZE)");
    }
  }
  return world;
}

BackendPlan PlanBackend(const nlohmann::json& config) {
  BackendPlan plan;
  const auto backend = config.find("backend");
  if (backend == config.end() || !backend->is_object() || backend->value("type", "") != "ray") {
    return plan;
  }
  const nlohmann::json trainer = backend->value("trainer", nlohmann::json::object());
  plan.num_workers = trainer.value("num_workers", 1);
  if (trainer.contains("resources_per_worker") &&
      trainer["resources_per_worker"].contains("CPU")) {
    plan.threads_per_worker =
        std::max(1, static_cast<int>(trainer["resources_per_worker"]["CPU"].get<double>()));
  }
  plan.notice = absl::StrCat(
      "backend: ray with trainer.num_workers ", plan.num_workers, " runs as ", plan.num_workers,
      " local worker process", plan.num_workers == 1 ? "" : "es",
      " of torch.distributed (Gloo, data parallel as DDP; no Ray cluster is used)");
  if (trainer.value("strategy", "ddp") == "horovod") {
    absl::StrAppend(&plan.notice,
                    "; strategy horovod runs as the same averaged all-reduce of gradients");
  }
  if (trainer.value("use_gpu", false)) {
    absl::StrAppend(&plan.notice,
                    "; use_gpu: the engine trains on CPU, so the workers run on CPU");
  }
  return plan;
}

}  // namespace tristage
