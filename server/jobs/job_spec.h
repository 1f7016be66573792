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

// What a spec is checked against: the daemon's side of the job.
struct SubmitLimits {
  bool have_repository = false;  // publish_model has somewhere to go
  int threads_per_job = 1;       // the job's CPU budget: world_size may not exceed it
};

// The checks of JobManager::Submit (its header): InvalidArgument naming the field or option,
// NotFound for a missing dataset or model, FailedPrecondition for publish_model without a
// repository. world_size: from 0 to 1024 and at most `threads_per_job`; above 1 only for train
// and experiment, and not with k_fold.
absl::Status ValidateJobSpec(const JobSpec& spec, const SubmitLimits& limits);

// `cli_binary <verb> [-c <job_dir>/config.yaml] --dataset D [-m M] -od <job_dir>/output
// [--nproc_per_node N] [--<option> <value>]...`: the options are already validated. Train and
// experiment always get --nproc_per_node (1 for world_size 0 or 1), so that a config's
// `backend` section cannot start more workers than the job's budget was checked for.
std::vector<std::string> JobArgv(const JobSpec& spec, const std::string& cli_binary,
                                 const std::filesystem::path& job_dir);

}  // namespace tristage::server::jobs

#endif  // TRISTAGE_SERVER_JOBS_JOB_SPEC_H_
