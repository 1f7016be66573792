#include "server/serving/model_manager.h"

#include <algorithm>
#include <optional>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/util/log.h"
#include "core/util/names.h"
#include "core/util/status_macros.h"

namespace tristage::server {
absl::StatusOr<std::unique_ptr<exporting::Servable>> LoadExportServable(
    const std::string& directory, const ServingConfig& config) {
  exporting::ServableDevices devices;
  devices.preprocessor = config.preprocessor.device;
  devices.predictor = config.predictor.device;
  devices.postprocessor = config.postprocessor.device;
  return exporting::LoadServable(directory, devices);
}

absl::StatusOr<std::unique_ptr<ModelManager>> ModelManager::Create(
    const ModelManagerOptions& options) {
  const std::string& mode = options.control_mode;
  if (mode != "none" && mode != "poll" && mode != "explicit") {
    return absl::InvalidArgumentError(
        absl::StrCat("--model-control-mode: unknown '", mode, "' (known: none, poll, explicit)"));
  }
  if (!options.repository.empty() && !std::filesystem::is_directory(options.repository)) {
    return absl::NotFoundError(
        absl::StrCat("--model-repository: no directory at '", options.repository, "'"));
  }
  std::unique_ptr<ModelManager> manager(new ModelManager(options));
  manager->controller_ = std::thread([self = manager.get()] { self->RunControl(); });
  if (options.repository.empty()) return manager;
  if (mode != "explicit") manager->Poll();
  if (mode == "poll") {
    ModelManager* self = manager.get();
    manager->poller_ = std::thread([self] {
      while (!self->stop_.WaitForNotificationWithTimeout(self->options_.poll_interval)) {
        self->Poll();
      }
    });
  }
  return manager;
}

ModelManager::~ModelManager() {
  Shutdown();
}

void ModelManager::Shutdown() {
  if (!stop_.HasBeenNotified()) stop_.Notify();
  control_.Close();  // what still waits is answered Unavailable by the control thread
  if (controller_.joinable()) controller_.join();
  if (poller_.joinable()) poller_.join();
  std::map<std::string, std::map<int64_t, Entry>> models;
  {
    absl::MutexLock lock(&mu_);
    models.swap(models_);
  }
  for (auto& [name, versions] : models) {
    std::vector<std::pair<int64_t, std::shared_ptr<ModelPipeline>>> pipelines;
    for (auto& [version, entry] : versions) {
      if (entry.pipeline != nullptr) pipelines.emplace_back(version, std::move(entry.pipeline));
    }
    Retire(name, std::move(pipelines));
  }
}

void ModelManager::LoadAsync(const std::string& model, std::function<void(absl::Status)> done) {
  Enqueue({model, true, std::move(done)});
}

void ModelManager::UnloadAsync(const std::string& model, std::function<void(absl::Status)> done) {
  Enqueue({model, false, std::move(done)});
}

void ModelManager::Enqueue(ControlRequest request) {
  if (control_.TryPush(request)) return;
  request.done(stop_.HasBeenNotified()
                   ? absl::UnavailableError("the server is shutting down")
                   : absl::ResourceExhaustedError(absl::StrCat(
                         kMaxQueuedControl, " repository load/unload requests already wait")));
}

void ModelManager::RunControl() {
  while (std::optional<ControlRequest> request = control_.Pop()) {
    if (stop_.HasBeenNotified()) {
      request->done(absl::UnavailableError("the server is shutting down"));
      continue;
    }
    request->done(request->load ? Load(request->model) : Unload(request->model));
  }
}

std::vector<std::string> ModelManager::RepositoryModels() const {
  return repository_.Models();
}

absl::Status ModelManager::Load(const std::string& model) {
  absl::MutexLock serial(&load_mu_);
  absl::Status status = LoadLocked(model, /*retry_failed=*/true);
  NotifyReadinessLocked(model);
  return status;
}

void ModelManager::SetReadinessListener(ReadinessListener listener) {
  absl::MutexLock serial(&load_mu_);
  listener_ = std::move(listener);
  std::vector<std::string> known;
  {
    absl::MutexLock lock(&mu_);
    for (const auto& [name, versions] : models_) known.push_back(name);
  }
  for (const std::string& model : known) NotifyReadinessLocked(model);
}

void ModelManager::NotifyReadinessLocked(const std::string& model) {
  if (!listener_) return;
  bool ready = false;
  {
    absl::MutexLock lock(&mu_);
    auto it = models_.find(model);
    if (it == models_.end()) return;  // never loaded (not in the repository): nothing to say
    for (const auto& [version, entry] : it->second) {
      ready = ready || entry.state == VersionState::kAvailable;
    }
  }
  listener_(model, ready);
}

absl::Status ModelManager::LoadLocked(const std::string& model, bool retry_failed) {
  // Every caller's name passed the same check at its edge; this keeps the repository closed to
  // "..", NUL and '/' whoever calls.
  TRISTAGE_RETURN_IF_ERROR(CheckName("model", model));
  if (!repository_.Has(model)) {
    return absl::NotFoundError(absl::StrCat("model '", model, "' is not in the repository"));
  }
  absl::StatusOr<ServingConfig> base = repository_.ModelConfig(model);
  const std::vector<int64_t> wanted =
      base.ok() ? SelectVersions(base->version_policy, repository_.Versions(model))
                : std::vector<int64_t>{};
  absl::Status first_error = base.status();
  if (!base.ok()) {
    TRISTAGE_LOG(Error) << "model '" << model << "': " << base.status().message();
  } else if (wanted.empty()) {
    first_error = absl::NotFoundError(
        absl::StrCat("model '", model, "': no version directory matches its version_policy"));
  }
  std::vector<std::pair<int64_t, std::shared_ptr<ModelPipeline>>> retired;
  for (int64_t version : wanted) {
    const std::string model_id = repository_.ModelId(model, version);
    const std::string signature = repository_.Signature(model, version);
    {
      absl::MutexLock lock(&mu_);
      std::map<int64_t, Entry>& versions = models_[model];
      auto existing = versions.find(version);
      if (existing != versions.end()) {
        const Entry& entry = existing->second;
        if (entry.state == VersionState::kAvailable && entry.model_id == model_id) {
          continue;  // serving this very export already
        }
        if (!retry_failed && entry.failed_signature == signature) {
          if (first_error.ok()) first_error = absl::UnavailableError(entry.reason);
          continue;  // failed as it is on disk now: said once, retried when it changes
        }
      }
      // A version not serving yet is LOADING; one that serves keeps serving while its new export
      // loads beside it.
      if (existing == versions.end() || existing->second.state != VersionState::kAvailable) {
        Entry& entry = versions[version];
        entry.state = VersionState::kLoading;
        entry.pipeline = nullptr;
      }
    }
    Entry entry;
    entry.model_id = model_id;
    absl::StatusOr<ServingConfig> config = repository_.VersionConfig(model, version, *base);
    absl::StatusOr<std::unique_ptr<exporting::Servable>> servable =
        config.ok() ? options_.loader(repository_.VersionDirectory(model, version), *config)
                    : absl::StatusOr<std::unique_ptr<exporting::Servable>>(config.status());
    if (servable.ok()) {
      entry.state = VersionState::kAvailable;
      entry.pipeline = ModelPipeline::Create(std::move(*servable), *config, *options_.clock);
      TRISTAGE_LOG(Info) << "model '" << model << "' version " << version << ": available";
    } else {
      entry.state = VersionState::kFailed;
      entry.reason = std::string(servable.status().message());
      entry.failed_signature = signature;
      if (first_error.ok()) first_error = servable.status();
      TRISTAGE_LOG(Error) << "model '" << model << "' version " << version
                          << ": load failed: " << entry.reason;
    }
    absl::MutexLock lock(&mu_);
    std::map<int64_t, Entry>& versions = models_[model];
    Entry& current = versions[version];
    if (entry.state == VersionState::kFailed && current.state == VersionState::kAvailable) {
      current.reason = entry.reason;  // a failed reload keeps the old export serving
      current.failed_signature = entry.failed_signature;
      continue;
    }
    // The new pipeline takes traffic from here on; a replaced one drains below.
    if (current.pipeline != nullptr) retired.emplace_back(version, std::move(current.pipeline));
    current = std::move(entry);
  }
  {
    // Versions the policy no longer selects go, once a selected one is available.
    absl::MutexLock lock(&mu_);
    std::map<int64_t, Entry>& versions = models_[model];
    bool any_available = false;
    for (int64_t version : wanted) {
      auto it = versions.find(version);
      any_available =
          any_available || (it != versions.end() && it->second.state == VersionState::kAvailable);
    }
    if (any_available) {
      for (auto it = versions.begin(); it != versions.end();) {
        if (std::find(wanted.begin(), wanted.end(), it->first) == wanted.end()) {
          if (it->second.pipeline != nullptr) {
            retired.emplace_back(it->first, std::move(it->second.pipeline));
          }
          it = versions.erase(it);
        } else {
          ++it;
        }
      }
    }
  }
  Retire(model, std::move(retired));
  return first_error;
}

void ModelManager::Retire(
    const std::string& model,
    std::vector<std::pair<int64_t, std::shared_ptr<ModelPipeline>>> pipelines) {
  if (pipelines.empty()) return;
  {
    absl::MutexLock lock(&mu_);
    for (const auto& [version, pipeline] : pipelines) {
      draining_.emplace(std::make_pair(model, version), pipeline);
    }
  }
  for (const auto& [version, pipeline] : pipelines) pipeline->Shutdown();  // drains what it took
  absl::MutexLock lock(&mu_);
  for (const auto& [version, pipeline] : pipelines) {
    auto [begin, end] = draining_.equal_range(std::make_pair(model, version));
    for (auto it = begin; it != end; ++it) {
      if (it->second == pipeline) {
        draining_.erase(it);
        break;
      }
    }
  }
}

absl::Status ModelManager::Unload(const std::string& model) {
  absl::MutexLock serial(&load_mu_);
  std::map<int64_t, Entry> versions;
  {
    absl::MutexLock lock(&mu_);
    auto it = models_.find(model);
    if (it == models_.end()) {
      return absl::NotFoundError(absl::StrCat("model '", model, "' is not loaded"));
    }
    versions.swap(it->second);
    models_.erase(it);
  }
  if (listener_) listener_(model, false);  // from here on; in-flight requests still finish
  std::vector<std::pair<int64_t, std::shared_ptr<ModelPipeline>>> pipelines;
  for (auto& [version, entry] : versions) {
    if (entry.pipeline != nullptr) pipelines.emplace_back(version, std::move(entry.pipeline));
  }
  Retire(model, std::move(pipelines));
  TRISTAGE_LOG(Info) << "model '" << model << "': unloaded";
  return absl::OkStatus();
}

void ModelManager::Poll() {
  const std::vector<std::string> present = RepositoryModels();
  for (const std::string& model : present) {
    absl::MutexLock serial(&load_mu_);
    (void)LoadLocked(model, /*retry_failed=*/false);
    NotifyReadinessLocked(model);
  }
  std::vector<std::string> gone;
  {
    absl::MutexLock lock(&mu_);
    for (const auto& [name, versions] : models_) {
      if (std::find(present.begin(), present.end(), name) == present.end()) gone.push_back(name);
    }
  }
  for (const std::string& model : gone) (void)Unload(model);
}

absl::StatusOr<std::shared_ptr<ModelPipeline>> ModelManager::Get(const std::string& model,
                                                                 const std::string& version,
                                                                 int64_t* resolved_version) const {
  absl::MutexLock lock(&mu_);
  auto it = models_.find(model);
  if (it == models_.end() || it->second.empty()) {
    auto draining = draining_.lower_bound(std::make_pair(model, int64_t{0}));
    if (draining != draining_.end() && draining->first.first == model) {
      return absl::UnavailableError(absl::StrCat("model '", model, "' is unloading"));
    }
    // Only a name that is not served is checked: a request's name (any bytes, any length) is
    // then refused by what is wrong with it, and never echoed whole.
    if (absl::Status checked = CheckName("model_name", model); !checked.ok()) return checked;
    std::vector<std::string> known;
    for (const auto& [name, versions] : models_) known.push_back(name);
    return absl::NotFoundError(
        absl::StrCat("unknown model '", model, "'",
                     known.empty() ? " (no models are loaded)"
                                   : absl::StrCat(" (loaded: ", absl::StrJoin(known, ", "), ")")));
  }
  const std::map<int64_t, Entry>& versions = it->second;
  int64_t wanted = 0;
  if (!version.empty() && !absl::SimpleAtoi(version, &wanted)) {
    return absl::InvalidArgumentError(
        absl::StrCat("model_version ", QuoteForError(version), " is not a version number"));
  }
  if (wanted == 0) {
    for (auto v = versions.rbegin(); v != versions.rend(); ++v) {
      if (v->second.state == VersionState::kAvailable) {
        if (resolved_version != nullptr) *resolved_version = v->first;
        return v->second.pipeline;
      }
    }
    const Entry& latest = versions.rbegin()->second;
    return absl::UnavailableError(
        latest.state == VersionState::kLoading
            ? absl::StrCat("model '", model, "' is loading")
            : absl::StrCat("model '", model, "' has no ready version: ", latest.reason));
  }
  auto found = versions.find(wanted);
  if (found == versions.end()) {
    return absl::NotFoundError(
        absl::StrCat("model '", model, "' has no version ", wanted, " loaded"));
  }
  if (found->second.state == VersionState::kLoading) {
    return absl::UnavailableError(
        absl::StrCat("model '", model, "' version ", wanted, " is loading"));
  }
  if (found->second.state != VersionState::kAvailable) {
    return absl::UnavailableError(absl::StrCat("model '", model, "' version ", wanted,
                                               " failed to load: ", found->second.reason));
  }
  if (resolved_version != nullptr) *resolved_version = wanted;
  return found->second.pipeline;
}

std::vector<VersionStatus> ModelManager::Index() const {
  std::map<std::pair<std::string, int64_t>, VersionStatus> index;
  absl::MutexLock lock(&mu_);
  for (const auto& [key, pipeline] : draining_) {
    index[key] = {key.first, key.second, VersionState::kUnloading, ""};
  }
  // A version that drains an old export while its new one serves is shown by its new state.
  for (const auto& [name, versions] : models_) {
    for (const auto& [version, entry] : versions) {
      index[{name, version}] = {name, version, entry.state, entry.reason};
    }
  }
  std::vector<VersionStatus> sorted;
  sorted.reserve(index.size());
  for (auto& [key, status] : index) sorted.push_back(std::move(status));
  return sorted;
}

bool ModelManager::Ready(const std::string& model) const {
  absl::MutexLock lock(&mu_);
  auto it = models_.find(model);
  if (it == models_.end()) return false;
  for (const auto& [version, entry] : it->second) {
    if (entry.state == VersionState::kAvailable) return true;
  }
  return false;
}

}  // namespace tristage::server
