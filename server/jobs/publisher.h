// Publishing a job's trained model into the serving model repository.
//
// The model is exported (the CLI's export_torchscript, run as one of the job's children so a
// cancel reaches it) into <repository>/<model>/.<job id>.tmp, renamed to <model>/<N> with N one
// past the highest numeric version there, and then `load_model` makes serving load, warm and
// switch to it. Choosing N and renaming are serialised, so concurrent jobs never take one number.
// Thread safety: Publish may be called from several threads at once.
#ifndef TRISTAGE_SERVER_JOBS_PUBLISHER_H_
#define TRISTAGE_SERVER_JOBS_PUBLISHER_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "server/jobs/job_process.h"

namespace tristage::server::jobs {

class Publisher {
 public:
  // Runs a child for the job (RunJobProcess with the job's hooks).
  using RunChild = std::function<absl::StatusOr<JobProcessResult>(const JobProcessSpec& spec)>;

  // `load_model` may be empty (nothing to load into: tests, a daemon without serving).
  Publisher(std::string repository, std::string cli_binary,
            std::function<absl::Status(const std::string& model)> load_model)
      : repository_(std::move(repository)),
        cli_binary_(std::move(cli_binary)),
        load_model_(std::move(load_model)) {}

  // Publishes `model_dir` as `model`; `on_written(N)` is called once version N is in place
  // (before loading). Returns N. FailedPrecondition when `model_dir` is empty (the job saved no
  // model); Internal naming the step for an export or file failure; the load's own code, with
  // the model and version, when serving refused it. Nothing is left under a dot-name on failure.
  absl::StatusOr<int64_t> Publish(const std::string& job_id, const std::string& model,
                                  const std::string& model_dir, const RunChild& run_child,
                                  const std::function<void(int64_t version)>& on_written);

 private:
  // Constant after construction.
  const std::string repository_;
  const std::string cli_binary_;
  const std::function<absl::Status(const std::string&)> load_model_;

  // Serialises choosing a version number and renaming the export into place.
  absl::Mutex version_mu_;
};

}  // namespace tristage::server::jobs

#endif  // TRISTAGE_SERVER_JOBS_PUBLISHER_H_
