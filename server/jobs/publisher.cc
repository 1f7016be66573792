#include "server/jobs/publisher.h"

#include <algorithm>
#include <filesystem>
#include <system_error>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "core/util/status_macros.h"

namespace tristage::server::jobs {
namespace {

namespace fs = std::filesystem;

// The highest numeric version directory under `dir`, 0 when none.
int64_t HighestVersion(const fs::path& dir) {
  int64_t highest = 0;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    int64_t version = 0;
    if (entry.is_directory() && absl::SimpleAtoi(entry.path().filename().string(), &version)) {
      highest = std::max(highest, version);
    }
  }
  return highest;
}

}  // namespace

absl::StatusOr<int64_t> Publisher::Publish(const std::string& job_id, const std::string& model,
                                           const std::string& model_dir,
                                           const RunChild& run_child,
                                           const std::function<void(int64_t)>& on_written) {
  if (model_dir.empty()) {
    return absl::FailedPreconditionError(
        "publishing: the job saved no model (was skip_save_model set?)");
  }
  const fs::path model_root = fs::path(repository_) / model;
  const fs::path tmp = model_root / absl::StrCat(".", job_id, ".tmp");
  std::error_code ec;
  fs::create_directories(model_root, ec);
  if (ec) {
    return absl::InternalError(
        absl::StrCat("publishing: cannot create '", model_root.string(), "': ", ec.message()));
  }
  fs::remove_all(tmp, ec);
  JobProcessSpec spec;
  spec.verb = "export_torchscript";
  spec.argv = {cli_binary_, "export_torchscript", "-m", model_dir, "-op", tmp.string()};
  TRISTAGE_ASSIGN_OR_RETURN(JobProcessResult exported, run_child(spec));
  if (absl::Status checked = CheckJobProcess(spec.verb, exported); !checked.ok()) {
    fs::remove_all(tmp, ec);
    return absl::InternalError(absl::StrCat("publishing: ", checked.message()));
  }
  int64_t version = 0;
  {
    absl::MutexLock lock(&version_mu_);
    version = HighestVersion(model_root) + 1;
    const fs::path target = model_root / std::to_string(version);
    fs::rename(tmp, target, ec);
    if (ec) {
      fs::remove_all(tmp, ec);
      return absl::InternalError(absl::StrCat("publishing: cannot rename '", tmp.string(), "' to '",
                                              target.string(), "': ", ec.message()));
    }
  }
  if (on_written) on_written(version);
  if (load_model_) {
    absl::Status loaded = load_model_(model);
    if (!loaded.ok()) {
      return absl::Status(loaded.code(),
                          absl::StrCat("publishing: loading model '", model, "' version ", version,
                                       " into serving: ", loaded.message()));
    }
  }
  return version;
}

}  // namespace tristage::server::jobs
