// AdminService: tristage.v1.Admin: GetServerInfo and the job RPCs (SubmitJob, GetJob, ListJobs,
// WatchJob, CancelJob, UploadDataset, GetArtifact) over gRPC's synchronous API: WatchJob,
// uploads and downloads block on job events and files, so they run on gRPC's sync-server threads,
// never on the callback threads that serve inference.
//
// Every RPC requires the bearer token when one is configured (rpc/auth.h). Dataset and model
// paths in requests resolve under the data root (jobs/paths.h); uploads land under
// <state_dir>/uploads/<id>/.
// Thread safety: safe for concurrent calls; the job manager does the locking.
#ifndef TRISTAGE_SERVER_RPC_ADMIN_SERVICE_H_
#define TRISTAGE_SERVER_RPC_ADMIN_SERVICE_H_

#include <atomic>
#include <cstdint>
#include <string>

#include "server/jobs/job_manager.h"
#include "server/rpc/drain.h"
#include "tristage/v1/admin.grpc.pb.h"

namespace tristage::server {

struct AdminOptions {
  std::string auth_token;   // required on every call when not empty
  std::string data_root;    // empty: only uploaded datasets
  std::string uploads_dir;  // empty: no uploads (no --state-dir)
  int64_t max_upload_bytes = int64_t{1} << 30;
};

class AdminService final : public tristage::v1::Admin::Service {
 public:
  // `info` is what GetServerInfo answers. `jobs` may be null (no --state-dir): the job RPCs then
  // answer FAILED_PRECONDITION saying so. Not owned; outlives the service.
  // `drain` (not owned, outlives the service): every call but WatchJob holds a Drain::Call while
  // it works and is UNAVAILABLE once the server drains; a WatchJob then ends within 200 ms.
  AdminService(tristage::v1::ServerInfo info, AdminOptions options, jobs::JobManager* jobs,
               Drain* drain)
      : info_(std::move(info)), options_(std::move(options)), jobs_(jobs), drain_(drain) {}

  grpc::Status GetServerInfo(grpc::ServerContext* context,
                             const tristage::v1::GetServerInfoRequest* request,
                             tristage::v1::ServerInfo* response) override;
  grpc::Status SubmitJob(grpc::ServerContext* context,
                         const tristage::v1::SubmitJobRequest* request,
                         tristage::v1::SubmitJobResponse* response) override;
  grpc::Status GetJob(grpc::ServerContext* context, const tristage::v1::GetJobRequest* request,
                      tristage::v1::Job* response) override;
  grpc::Status ListJobs(grpc::ServerContext* context, const tristage::v1::ListJobsRequest* request,
                        tristage::v1::ListJobsResponse* response) override;
  grpc::Status WatchJob(grpc::ServerContext* context, const tristage::v1::WatchJobRequest* request,
                        grpc::ServerWriter<tristage::v1::JobEvent>* writer) override;
  grpc::Status CancelJob(grpc::ServerContext* context,
                         const tristage::v1::CancelJobRequest* request,
                         tristage::v1::Job* response) override;
  grpc::Status UploadDataset(grpc::ServerContext* context,
                             grpc::ServerReader<tristage::v1::UploadDatasetRequest>* reader,
                             tristage::v1::UploadDatasetResponse* response) override;
  grpc::Status GetArtifact(grpc::ServerContext* context,
                           const tristage::v1::GetArtifactRequest* request,
                           grpc::ServerWriter<tristage::v1::ArtifactChunk>* writer) override;

 private:
  // OK when the call may go on: token checked, (for job RPCs) jobs are enabled, and (with `call`)
  // the server is not draining: `*call` is then held for the call's duration.
  absl::Status Allowed(const grpc::ServerContext& context, bool needs_jobs,
                       Drain::Call* call) const;
  // A request's dataset: "upload:<id>/<file>" under uploads_dir, else a path under data_root.
  absl::StatusOr<std::string> ResolveDataset(const std::string& dataset) const;
  absl::StatusOr<std::string> ResolveModel(const std::string& model) const;

  const tristage::v1::ServerInfo info_;
  const AdminOptions options_;
  jobs::JobManager* const jobs_;
  Drain* const drain_;
  std::atomic<int64_t> next_upload_{0};
};

}  // namespace tristage::server

#endif  // TRISTAGE_SERVER_RPC_ADMIN_SERVICE_H_
