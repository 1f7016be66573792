// A directory as a POSIX ustar archive, produced in chunks: how GetArtifact hands out a job's
// model directory as one download (`<dir>.tar`). Regular files and directories only (symlinks
// and others are skipped); names longer than ustar's 100 (+155 prefix) bytes are an error.
#ifndef TRISTAGE_SERVER_JOBS_TAR_H_
#define TRISTAGE_SERVER_JOBS_TAR_H_

#include <functional>
#include <string>

#include "absl/status/status.h"

namespace tristage::server::jobs {

// Calls `sink` with consecutive pieces of the archive of `directory` (entries named relative to
// its parent, so `.../model` archives as `model/...`); stops with the sink's first false
// (Cancelled). NotFound / DataLoss name the file that could not be read.
absl::Status WriteTar(const std::string& directory,
                      const std::function<bool(const std::string& bytes)>& sink);

}  // namespace tristage::server::jobs

#endif  // TRISTAGE_SERVER_JOBS_TAR_H_
