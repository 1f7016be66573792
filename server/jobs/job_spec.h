// What each job kind runs and accepts: the CLI verb, whether it trains (needs a config, makes a
// model), the allowlist of options, the checks a spec passes at Submit, and the child's command
// line. The kind and state names (job_manager.h) are defined here too.
// Thread safety: pure functions.
#ifndef TRISTAGE_SERVER_JOBS_JOB_SPEC_H_
#define TRISTAGE_SERVER_JOBS_JOB_SPEC_H_

#include <filesystem>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "server/jobs/job_manager.h"

namespace tristage::server::jobs {

// The CLI verb of a kind: "train", "evaluate", "experiment", "hyperopt", "predict".
const char* JobVerb(JobKind kind);
// train, experiment and hyperopt: a config in, a model out.
bool KindTrains(JobKind kind);

// The checks of JobManager::Submit (its header): InvalidArgument naming the field or option,
// NotFound for a missing dataset or model, FailedPrecondition for publish_model without a
// repository (`have_repository` false).
absl::Status ValidateJobSpec(const JobSpec& spec, bool have_repository);

// `cli_binary <verb> [-c <job_dir>/config.yaml] --dataset D [-m M] -od <job_dir>/output
// [--<option> <value>]...`: the options are already validated.
std::vector<std::string> JobArgv(const JobSpec& spec, const std::string& cli_binary,
                                 const std::filesystem::path& job_dir);

}  // namespace tristage::server::jobs

#endif  // TRISTAGE_SERVER_JOBS_JOB_SPEC_H_
