#include "server/serving/model_manager.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <optional>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/export/manifest.h"
#include "core/util/log.h"
#include "core/util/names.h"
#include "core/util/status_macros.h"
#include "nlohmann/json.hpp"

namespace tristage::server {
namespace {

namespace fs = std::filesystem;

// Numeric version directories of a model directory.
std::vector<int64_t> VersionsOn(const fs::path& model_dir) {
  std::vector<int64_t> versions;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(model_dir, ec)) {
    int64_t version = 0;
    if (entry.is_directory() && absl::SimpleAtoi(entry.path().filename().string(), &version) &&
        version > 0) {
      versions.push_back(version);
    }
  }
  std::sort(versions.begin(), versions.end());
  return versions;
}

// The export's model_id, "" when its manifest cannot be read.
std::string ModelIdOn(const fs::path& version_dir) {
  std::ifstream in(version_dir / exporting::kManifestFile);
  if (!in) return "";
  try {
    return nlohmann::json::parse(in).value("model_id", std::string());
  } catch (const nlohmann::json::exception&) {
    return "";
  }
}

// What identifies a version's files on disk: every file's path, size and modification time
// (and the model's serving.yaml's). A version whose load failed is not retried by the poll until
// this changes: a corrupt export would otherwise be reloaded, and logged, on every poll.
std::string ExportSignature(const fs::path& version_dir, const fs::path& model_config) {
  std::vector<std::string> parts;
  std::error_code ec;
  auto add = [&](const fs::path& file) {
    std::error_code file_ec;
    const uintmax_t size = fs::file_size(file, file_ec);
    const auto mtime = fs::last_write_time(file, file_ec).time_since_epoch().count();
    parts.push_back(absl::StrCat(file.string(), ":", file_ec ? 0 : size, ":", mtime));
  };
  if (fs::exists(model_config, ec)) add(model_config);
  for (auto it = fs::recursive_directory_iterator(version_dir, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_regular_file(ec)) add(it->path());
  }
  std::sort(parts.begin(), parts.end());
  return absl::StrJoin(parts, "|");
}

}  // namespace

absl::StatusOr<std::unique_ptr<ModelManager>> ModelManager::Create(
    const ModelManagerOptions& options) {
  const std::string& mode = options.control_mode;
  if (mode != "none" && mode != "poll" && mode != "explicit") {
    return absl::InvalidArgumentError(
        absl::StrCat("--model-control-mode: unknown '", mode, "' (known: none, poll, explicit)"));
  }
  if (!options.repository.empty() && !fs::is_directory(options.repository)) {
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
    for (auto& [version, entry] : versions) {
      if (entry.pipeline != nullptr) entry.pipeline->Shutdown();
    }
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
  std::vector<std::string> names;
  if (options_.repository.empty()) return names;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(options_.repository, ec)) {
    if (entry.is_directory() && !VersionsOn(entry.path()).empty()) {
      names.push_back(entry.path().filename().string());
    }
  }
  std::sort(names.begin(), names.end());
  return names;
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
    for (const auto& [version, entry] : it->second) ready = ready || entry.pipeline != nullptr;
  }
  listener_(model, ready);
}

absl::Status ModelManager::LoadLocked(const std::string& model, bool retry_failed) {
  // Every caller's name passed the same check at its edge; this keeps the repository closed to
  // "..", NUL and '/' whoever calls.
  TRISTAGE_RETURN_IF_ERROR(CheckName("model", model));
  const fs::path model_dir = fs::path(options_.repository) / model;
  if (options_.repository.empty() || !fs::is_directory(model_dir)) {
    return absl::NotFoundError(absl::StrCat("model '", model, "' is not in the repository"));
  }
  absl::StatusOr<ServingConfig> base = LoadServingConfig((model_dir / "serving.yaml").string());
  const std::vector<int64_t> wanted =
      base.ok() ? SelectVersions(base->version_policy, VersionsOn(model_dir))
                : std::vector<int64_t>{};
  absl::Status first_error = base.status();
  if (!base.ok()) {
    TRISTAGE_LOG(Error) << "model '" << model << "': " << base.status().message();
  } else if (wanted.empty()) {
    first_error = absl::NotFoundError(
        absl::StrCat("model '", model, "': no version directory matches its version_policy"));
  }
  std::map<int64_t, Entry> loaded;
  for (int64_t version : wanted) {
    const fs::path dir = model_dir / std::to_string(version);
    const std::string model_id = ModelIdOn(dir);
    const std::string signature = ExportSignature(dir, model_dir / "serving.yaml");
    {
      absl::MutexLock lock(&mu_);
      auto found = models_.find(model);
      if (found != models_.end()) {
        auto existing = found->second.find(version);
        if (existing != found->second.end() && existing->second.pipeline != nullptr &&
            existing->second.model_id == model_id) {
          continue;  // serving this very export already
        }
        if (!retry_failed && existing != found->second.end() &&
            existing->second.failed_signature == signature) {
          if (first_error.ok()) first_error = absl::UnavailableError(existing->second.reason);
          continue;  // failed as it is on disk now: said once, retried when it changes
        }
      }
    }
    Entry entry;
    entry.model_id = model_id;
    absl::StatusOr<ServingConfig> config =
        LoadServingConfig((dir / "serving.yaml").string(), *base);
    absl::StatusOr<std::unique_ptr<ModelPipeline>> pipeline =
        config.ok() ? ModelPipeline::Create(dir.string(), *config)
                    : absl::StatusOr<std::unique_ptr<ModelPipeline>>(config.status());
    if (pipeline.ok()) {
      entry.pipeline = std::move(*pipeline);
      TRISTAGE_LOG(Info) << "model '" << model << "' version " << version << ": ready";
    } else {
      entry.reason = std::string(pipeline.status().message());
      entry.failed_signature = signature;
      if (first_error.ok()) first_error = pipeline.status();
      TRISTAGE_LOG(Error) << "model '" << model << "' version " << version
                          << ": load failed: " << entry.reason;
    }
    loaded.emplace(version, std::move(entry));
  }
  // Swap in: new pipelines take traffic; replaced or unselected ones leave and drain below.
  std::vector<std::shared_ptr<ModelPipeline>> retired;
  {
    absl::MutexLock lock(&mu_);
    std::map<int64_t, Entry>& versions = models_[model];
    for (auto& [version, entry] : loaded) {
      auto existing = versions.find(version);
      if (entry.pipeline == nullptr && existing != versions.end() &&
          existing->second.pipeline != nullptr) {
        existing->second.reason = entry.reason;  // a failed reload keeps the old export serving
        existing->second.failed_signature = entry.failed_signature;
        continue;
      }
      if (existing != versions.end() && existing->second.pipeline != nullptr) {
        retired.push_back(std::move(existing->second.pipeline));
      }
      versions[version] = std::move(entry);
    }
    // Versions the policy no longer selects go, once a selected one is ready.
    bool any_ready = false;
    for (int64_t version : wanted) {
      auto it = versions.find(version);
      any_ready = any_ready || (it != versions.end() && it->second.pipeline != nullptr);
    }
    if (any_ready) {
      for (auto it = versions.begin(); it != versions.end();) {
        if (std::find(wanted.begin(), wanted.end(), it->first) == wanted.end()) {
          if (it->second.pipeline != nullptr) retired.push_back(std::move(it->second.pipeline));
          it = versions.erase(it);
        } else {
          ++it;
        }
      }
    }
  }
  for (auto& pipeline : retired) pipeline->Shutdown();  // drains what it accepted
  return first_error;
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
  for (auto& [version, entry] : versions) {
    if (entry.pipeline != nullptr) entry.pipeline->Shutdown();
  }
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
        absl::StrCat("model_version '", version, "' is not a version number"));
  }
  if (wanted == 0) {
    for (auto v = versions.rbegin(); v != versions.rend(); ++v) {
      if (v->second.pipeline != nullptr) {
        if (resolved_version != nullptr) *resolved_version = v->first;
        return v->second.pipeline;
      }
    }
    return absl::UnavailableError(absl::StrCat(
        "model '", model, "' has no ready version: ", versions.rbegin()->second.reason));
  }
  auto found = versions.find(wanted);
  if (found == versions.end()) {
    return absl::NotFoundError(
        absl::StrCat("model '", model, "' has no version ", wanted, " loaded"));
  }
  if (found->second.pipeline == nullptr) {
    return absl::UnavailableError(absl::StrCat("model '", model, "' version ", wanted,
                                               " failed to load: ", found->second.reason));
  }
  if (resolved_version != nullptr) *resolved_version = wanted;
  return found->second.pipeline;
}

std::vector<VersionStatus> ModelManager::Index() const {
  std::vector<VersionStatus> index;
  absl::MutexLock lock(&mu_);
  for (const auto& [name, versions] : models_) {
    for (const auto& [version, entry] : versions) {
      index.push_back(
          {name, version, entry.pipeline != nullptr ? "READY" : "UNAVAILABLE", entry.reason});
    }
  }
  return index;
}

}  // namespace tristage::server
