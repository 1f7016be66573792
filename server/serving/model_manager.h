// ModelManager: the model repository (repository.h) and the pipelines serving it, with one
// lifecycle per version (lifecycle.h: LOADING -> AVAILABLE -> UNLOADING -> END, or FAILED).
//
// Control modes (--model-control-mode): none (load every model at start, never rescan), poll
// (also rescan every --repository-poll-secs), explicit (load nothing at start; Load/Unload RPCs).
// Loading a model reads <model>/serving.yaml (and <model>/<version>/serving.yaml), picks versions
// by its version_policy, and for each one not yet serving (or whose export changed on disk:
// another model_id) builds and warms a new pipeline before it takes traffic; only then is the old
// one (a replaced or no-longer-selected version) removed and drained (UNLOADING until it has). A
// failed load keeps what was serving and records the reason (Index()); the poll retries a failed
// version only once its files change (Load, the RPC, always retries). Servables come from the
// options' loader (core's LoadServable by default; tests give a fake one).
//
// Ownership: owns the pipelines, a control thread running LoadAsync/UnloadAsync requests from a
// bounded queue, and, in poll mode, one poll thread (all joined by Shutdown).
// Thread safety: every method from any thread; loads of one model are serialized.
#ifndef TRISTAGE_SERVER_SERVING_MODEL_MANAGER_H_
#define TRISTAGE_SERVER_SERVING_MODEL_MANAGER_H_

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "core/export/servable.h"
#include "server/serving/bounded_queue.h"
#include "server/serving/clock.h"
#include "server/serving/lifecycle.h"
#include "server/serving/pipeline.h"
#include "server/serving/repository.h"

namespace tristage::server {

// Makes the servable of one version directory with its effective serving config.
using ServableLoader = std::function<absl::StatusOr<std::unique_ptr<exporting::Servable>>(
    const std::string& directory, const ServingConfig& config)>;

// exporting::LoadServable on the config's stage devices.
absl::StatusOr<std::unique_ptr<exporting::Servable>> LoadExportServable(
    const std::string& directory, const ServingConfig& config);

struct ModelManagerOptions {
  std::string repository;
  std::string control_mode = "none";  // none, poll, explicit
  absl::Duration poll_interval = absl::Seconds(5);
  ServableLoader loader = LoadExportServable;
  const Clock* clock = &RealClock();  // the pipelines'; not owned
};

class ModelManager {
 public:
  static absl::StatusOr<std::unique_ptr<ModelManager>> Create(const ModelManagerOptions& options);
  ~ModelManager();

  // The ready pipeline of `model` at `version` ("" or "0": the highest ready one). NotFound
  // naming the model (and the known ones) or the version; Unavailable with the load error.
  absl::StatusOr<std::shared_ptr<ModelPipeline>> Get(const std::string& model,
                                                     const std::string& version,
                                                     int64_t* resolved_version = nullptr) const;

  // Every model version known (LOADING, AVAILABLE, UNLOADING or FAILED), sorted by name and
  // version.
  std::vector<VersionStatus> Index() const;
  // True when a version of `model` is AVAILABLE.
  bool Ready(const std::string& model) const;
  // Model directories in the repository (whether loaded or not).
  std::vector<std::string> RepositoryModels() const;

  // (Re)loads `model` from the repository as described above. The status is the first version's
  // load error, if any.
  absl::Status Load(const std::string& model);
  // Stops serving every version of `model` (in-flight requests finish).
  absl::Status Unload(const std::string& model);
  // Load or Unload on the control thread, for callers that must not block (RPC handlers): `done`
  // runs exactly once, on the control thread with the result, or at once with ResourceExhausted
  // when kMaxQueuedControl requests already wait, or Unavailable after Shutdown.
  static constexpr size_t kMaxQueuedControl = 16;
  void LoadAsync(const std::string& model, std::function<void(absl::Status)> done);
  void UnloadAsync(const std::string& model, std::function<void(absl::Status)> done);

  // Rescans the whole repository: loads new and changed models, unloads removed ones.
  void Poll();

  // Told whether a model has a ready version: at once for every model known, then after each
  // Load and Unload (serialized with them). Null stops it; the caller must do that before what
  // the listener uses goes away.
  using ReadinessListener = std::function<void(const std::string& model, bool ready)>;
  void SetReadinessListener(ReadinessListener listener);

  void Shutdown();

 private:
  explicit ModelManager(ModelManagerOptions options)
      : options_(std::move(options)), repository_(options_.repository), control_(kMaxQueuedControl) {}

  struct ControlRequest {
    std::string model;
    bool load = true;
    std::function<void(absl::Status)> done;
  };
  void Enqueue(ControlRequest request);
  void RunControl();

  struct Entry {
    VersionState state = VersionState::kLoading;  // LOADING, AVAILABLE or FAILED
    std::shared_ptr<ModelPipeline> pipeline;      // set while AVAILABLE
    std::string model_id;
    std::string reason;
    // The files (ExportSignature) of the export whose load failed last; "" when none did.
    std::string failed_signature;
  };

  // `retry_failed`: also retry versions whose last load failed and whose files have not changed
  // since (Load does; the poll does not).
  absl::Status LoadLocked(const std::string& model, bool retry_failed)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(load_mu_);
  void NotifyReadinessLocked(const std::string& model) ABSL_EXCLUSIVE_LOCKS_REQUIRED(load_mu_);
  // Pipelines that already left routing: listed UNLOADING while they drain what they accepted,
  // then END (gone from the index).
  void Retire(const std::string& model,
              std::vector<std::pair<int64_t, std::shared_ptr<ModelPipeline>>> pipelines);

  const ModelManagerOptions options_;
  const ModelRepository repository_;
  absl::Mutex load_mu_;  // serializes Load/Unload/Poll and the readiness listener
  ReadinessListener listener_ ABSL_GUARDED_BY(load_mu_);
  mutable absl::Mutex mu_;
  std::map<std::string, std::map<int64_t, Entry>> models_ ABSL_GUARDED_BY(mu_);
  // Pipelines that left routing and drain (UNLOADING), by model and version: shown in Index().
  std::multimap<std::pair<std::string, int64_t>, std::shared_ptr<ModelPipeline>> draining_
      ABSL_GUARDED_BY(mu_);
  absl::Notification stop_;
  BoundedQueue<ControlRequest> control_;
  std::thread controller_;
  std::thread poller_;
};

}  // namespace tristage::server

#endif  // TRISTAGE_SERVER_SERVING_MODEL_MANAGER_H_
