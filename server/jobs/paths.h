// Where the Admin job RPCs may read files: dataset and model paths from a request resolve under
// the daemon's --data-root and may not leave it.
#ifndef TRISTAGE_SERVER_JOBS_PATHS_H_
#define TRISTAGE_SERVER_JOBS_PATHS_H_

#include <string>

#include "absl/status/statusor.h"

namespace tristage::server::jobs {

// The canonical absolute path of `path` (relative to `root`, or absolute) after resolving every
// symlink. `what` names the request field in errors. PermissionDenied when `path` has a ".."
// component or resolves outside `root`; FailedPrecondition when `root` is empty; NotFound when
// it does not exist.
absl::StatusOr<std::string> ResolveUnder(const std::string& root, const std::string& path,
                                         const std::string& what);

// The `tristage` CLI that jobs run: `configured` when set (NotFound if it is not an executable
// file), else `tristage` beside `server_binary`, in ../client/ from it (the build tree), or on
// PATH.
absl::StatusOr<std::string> FindCliBinary(const std::string& configured,
                                          const std::string& server_binary);

}  // namespace tristage::server::jobs

#endif  // TRISTAGE_SERVER_JOBS_PATHS_H_
