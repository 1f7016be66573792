#include "server/jobs/paths.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace tristage::server::jobs {
namespace fs = std::filesystem;

absl::StatusOr<std::string> ResolveUnder(const std::string& root, const std::string& path,
                                         const std::string& what) {
  if (root.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat(what, " '", path, "': the daemon has no --data-root, so only uploaded ",
                     "datasets (UploadDataset) can be used"));
  }
  if (path.empty()) return absl::InvalidArgumentError(absl::StrCat(what, ": empty"));
  for (const fs::path& part : fs::path(path)) {
    if (part == "..") {
      return absl::PermissionDeniedError(
          absl::StrCat(what, " '", path, "': '..' is not allowed (paths stay under the data root)"));
    }
  }
  std::error_code ec;
  const fs::path canonical_root = fs::canonical(root, ec);
  if (ec) return absl::FailedPreconditionError(absl::StrCat("--data-root '", root, "': ", ec.message()));
  const fs::path given(path);
  const fs::path candidate = given.is_absolute() ? given : canonical_root / given;
  const fs::path resolved = fs::weakly_canonical(candidate, ec);
  if (ec) return absl::NotFoundError(absl::StrCat(what, " '", path, "': ", ec.message()));
  // Inside the root: the root's components are a prefix of the resolved path's.
  auto r = canonical_root.begin();
  auto p = resolved.begin();
  for (; r != canonical_root.end(); ++r, ++p) {
    if (p == resolved.end() || *p != *r) {
      return absl::PermissionDeniedError(absl::StrCat(
          what, " '", path, "': outside the data root",
          fs::is_symlink(candidate, ec) ? " (a symlink that leads out of it)" : ""));
    }
  }
  if (!fs::exists(resolved, ec)) {
    return absl::NotFoundError(absl::StrCat(what, " '", path, "': no such file under the data root"));
  }
  return resolved.string();
}

absl::StatusOr<std::string> FindCliBinary(const std::string& configured,
                                          const std::string& server_binary) {
  auto executable = [](const fs::path& file) {
    std::error_code ec;
    return fs::is_regular_file(file, ec) && access(file.c_str(), X_OK) == 0;
  };
  if (!configured.empty()) {
    if (executable(configured)) return configured;
    return absl::NotFoundError(
        absl::StrCat("--cli-binary '", configured, "': not an executable file"));
  }
  std::vector<fs::path> candidates;
  if (!server_binary.empty()) {
    const fs::path dir = fs::path(server_binary).parent_path();
    candidates.push_back(dir / "tristage");
    candidates.push_back(dir.parent_path() / "client" / "tristage");
  }
  if (const char* path = std::getenv("PATH")) {
    for (absl::string_view dir : absl::StrSplit(path, ':', absl::SkipEmpty())) {
      candidates.push_back(fs::path(std::string(dir)) / "tristage");
    }
  }
  for (const fs::path& candidate : candidates) {
    if (executable(candidate)) return fs::absolute(candidate).string();
  }
  return absl::NotFoundError(
      "no tristage CLI found beside tristage-server, in ../client/ or on PATH; give --cli-binary");
}

}  // namespace tristage::server::jobs
