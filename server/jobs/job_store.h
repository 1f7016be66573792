// The job records on disk: <state_dir>/jobs/<id>/job.json, each replaced atomically on every
// change, and the lock that keeps a second daemon off the same state directory.
//
// job.json is the JobRecord as JSON (the pid is not kept). Reading tolerates missing optional
// fields (records written by older daemons) and refuses a file that is not a record, naming it.
// Thread safety: functions over files; the caller serialises writes of one job.
#ifndef TRISTAGE_SERVER_JOBS_JOB_STORE_H_
#define TRISTAGE_SERVER_JOBS_JOB_STORE_H_

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "nlohmann/json.hpp"
#include "server/jobs/job_manager.h"

namespace tristage::server::jobs {

// "j000042" for 42.
std::string FormatJobId(int64_t number);
// The number in "j000042"; 0 when `id` is not a job id.
int64_t JobIdNumber(absl::string_view id);

nlohmann::json RecordToJson(const JobRecord& record);
// InvalidArgument naming what is missing or wrong.
absl::StatusOr<JobRecord> RecordFromJson(const nlohmann::json& json);

// Writes <job_dir>/job.json atomically.
absl::Status SaveRecord(const std::filesystem::path& job_dir, const JobRecord& record);

struct StoredJob {
  int64_t number = 0;
  std::filesystem::path dir;
  JobRecord record;
};

// Every saved job under `jobs_dir` (created when missing), in no particular order; directories
// that are not jobs, or jobs never saved, are skipped. DataLoss naming a job.json that is not a
// record; Internal when the directory cannot be created or listed.
absl::StatusOr<std::vector<StoredJob>> LoadRecords(const std::filesystem::path& jobs_dir);

// Holds an exclusive flock on <state_dir>/lock, returning its descriptor (the caller closes it to
// release the lock). FailedPrecondition naming the holder's pid when another process holds it.
absl::StatusOr<int> LockStateDir(const std::filesystem::path& state_dir);

}  // namespace tristage::server::jobs

#endif  // TRISTAGE_SERVER_JOBS_JOB_STORE_H_
