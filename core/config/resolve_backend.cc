// Ludwig's top-level `backend` section, mapped onto tristage's data-parallel training
// (docs/distributed.md): `local` is one process; `ray` with trainer.num_workers N runs N worker
// processes on torch.distributed (rank 0 preprocesses, gradients are all-reduced as DDP does).
// Everything else a Ludwig backend can say is refused here, naming the key, rather than accepted
// and ignored.
#include "absl/strings/str_cat.h"
#include "core/config/resolve.h"
#include "core/util/status_macros.h"

namespace tristage::config {
namespace {

const std::vector<Param>& RayTrainerParams() {
  static const auto* const kParams = new std::vector<Param>{
      Int("num_workers", 1).InRange(1, 1024),
      Choice("strategy", "ddp", {"ddp", "horovod"}),
      Bool("use_gpu", false),
      Object("resources_per_worker"),
  };
  return *kParams;
}

const std::vector<Param>& ResourceParams() {
  static const auto* const kParams = new std::vector<Param>{
      Number("CPU", Json()).Above(0).OrNull(),
      Number("GPU", Json()).AtLeast(0).OrNull(),
  };
  return *kParams;
}

// Ludwig backend keys that have no meaning here, with what to do instead.
absl::Status RefuseLudwigOnly(const Json& backend) {
  static const auto* const kRefused = new std::vector<std::pair<const char*, const char*>>{
      {"processor",
       "tristage preprocesses once, on rank 0, and broadcasts the result to the other workers; "
       "there is no Dask processor to configure: remove this key"},
      {"cache_dir",
       "the preprocessed cache is written beside the dataset file (--skip_save_processed_input "
       "turns it off); remove this key"},
      {"cache_credentials", "no remote cache is used; remove this key"},
      {"loader",
       "each worker reads its shard of the preprocessed tensors in memory; there is no Ray "
       "Datasets loader to configure: remove this key"},
  };
  for (const auto& [key, reason] : *kRefused) {
    if (Find(backend, key) != nullptr) {
      return ConfigError(Child("backend", key), absl::StrCat("not supported: ", reason));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<Json> ResolveBackend(const Json* backend) {
  if (backend == nullptr || backend->is_null()) return Json();
  TRISTAGE_RETURN_IF_ERROR(ExpectObject(*backend, "backend"));
  const std::vector<std::string> known = {"type",     "trainer",   "processor",
                                          "cache_dir", "loader",   "cache_credentials"};
  for (const auto& [key, unused] : backend->items()) {
    if (std::find(known.begin(), known.end(), key) == known.end()) {
      return UnknownKeyError("backend", key, known);
    }
  }
  const Json* type = Find(*backend, "type");
  std::string name = "local";
  if (type != nullptr && !type->is_null()) {
    if (!type->is_string()) return TypeError("backend.type", "a string", *type);
    name = type->get<std::string>();
  }
  TRISTAGE_RETURN_IF_ERROR(RefuseLudwigOnly(*backend));
  if (name == "local") {
    if (Find(*backend, "trainer") != nullptr) {
      return ConfigError("backend.trainer",
                         "only the ray backend takes trainer settings (type: ray with "
                         "trainer.num_workers N trains on N worker processes)");
    }
    return Json{{"type", "local"}};
  }
  if (name != "ray") {
    return ConfigError(
        "backend.type",
        absl::StrCat("'", name,
                     "' is not supported (known: local, ray); tristage trains data-parallel on "
                     "torch.distributed: use type: ray with trainer.num_workers N, or "
                     "`tristage train --nproc_per_node N`"));
  }
  Json trainer = DefaultsOf(RayTrainerParams());
  trainer.erase("resources_per_worker");
  if (const Json* user = Find(*backend, "trainer"); user != nullptr && !user->is_null()) {
    TRISTAGE_RETURN_IF_ERROR(ExpectObject(*user, "backend.trainer"));
    TRISTAGE_RETURN_IF_ERROR(OverlayParams(RayTrainerParams(), *user, "backend.trainer", &trainer));
  }
  if (trainer.contains("resources_per_worker")) {
    if (trainer["resources_per_worker"].is_null()) {
      trainer.erase("resources_per_worker");
    } else {
      Json resources = Json::object();
      TRISTAGE_RETURN_IF_ERROR(OverlayParams(ResourceParams(), trainer["resources_per_worker"],
                                             "backend.trainer.resources_per_worker", &resources));
      for (auto it = resources.begin(); it != resources.end();) {
        it = it->is_null() ? resources.erase(it) : std::next(it);
      }
      trainer["resources_per_worker"] = std::move(resources);
    }
  }
  return Json{{"type", "ray"}, {"trainer", std::move(trainer)}};
}

}  // namespace tristage::config
