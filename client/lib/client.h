// TristageClient: the C++ client library for a tristage daemon.
//
// Lifecycle: Create() makes a channel (connection is lazy; the first call connects). One client
// may be shared by many threads: gRPC channels and stubs are thread-safe.
// Errors: every call returns the server's status as an absl::Status with the same code; a daemon
// that cannot be reached is UNAVAILABLE, a call past its deadline DEADLINE_EXCEEDED.
#ifndef TRISTAGE_CLIENT_LIB_CLIENT_H_
#define TRISTAGE_CLIENT_LIB_CLIENT_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "tristage/v1/admin.pb.h"
#include "tristage/v1/inference.pb.h"

namespace grpc {
class Channel;
}  // namespace grpc

namespace tristage::client {

class PredictStream;

enum class ServingStatus { kUnknown, kServing, kNotServing, kServiceUnknown };

const char* ServingStatusName(ServingStatus status);

class TristageClient {
 public:
  struct Options {
    // Deadline applied to each call.
    absl::Duration timeout = absl::Seconds(10);
    // TLS: the CA bundle (PEM text) that signed the server's certificate; with a client
    // certificate and key (PEM text) for mTLS. Empty: plaintext.
    std::string tls_root_certs;
    std::string tls_client_cert;
    std::string tls_client_key;
    // Sent as "authorization: Bearer <token>" on every call when not empty.
    std::string auth_token;
  };

  // `address` is "host:port". InvalidArgument when it is empty.
  static absl::StatusOr<std::unique_ptr<TristageClient>> Create(const std::string& address,
                                                                Options options);
  ~TristageClient();

  // grpc.health.v1.Health/Check for `service` ("" is the whole server). A service the server does
  // not know is NOT_FOUND, as the health protocol specifies.
  absl::StatusOr<ServingStatus> CheckHealth(const std::string& service = "");

  absl::StatusOr<tristage::v1::ServerInfo> GetServerInfo();

  // tristage.v1.Inference, synchronous.
  absl::StatusOr<tristage::v1::PredictResponse> Predict(
      const tristage::v1::PredictRequest& request);
  absl::StatusOr<tristage::v1::ModelMetadataResponse> ModelMetadata(
      const std::string& model, const std::string& version = "");

  // Asynchronous Predict: returns at once; `done` runs once, on a gRPC thread, with the response
  // or the error. The request is copied.
  void PredictAsync(const tristage::v1::PredictRequest& request,
                    std::function<void(absl::StatusOr<tristage::v1::PredictResponse>)> done);

  // Opens a tristage.v1.Inference/PredictStream: many requests on one stream, for high-throughput
  // clients (no per-call setup). The stream has no deadline (Options::timeout is per call); at
  // most `max_in_flight` requests are sent and not yet answered (Send blocks beyond that).
  std::unique_ptr<PredictStream> OpenPredictStream(int max_in_flight = 64);

  // tristage.v1.Admin jobs (the daemon runs them when started with --state-dir). Uploads and
  // downloads and WatchJob have no deadline (their length depends on the data and the job).
  //
  // Uploads a local dataset file in chunks with its SHA-256; the answer's `dataset` is what
  // SubmitJobRequest.dataset takes.
  absl::StatusOr<tristage::v1::UploadDatasetResponse> UploadDataset(const std::string& path);
  absl::StatusOr<std::string> SubmitJob(const tristage::v1::SubmitJobRequest& request);
  absl::StatusOr<tristage::v1::Job> GetJob(const std::string& job_id);
  absl::StatusOr<std::vector<tristage::v1::Job>> ListJobs(
      tristage::v1::JobState state = tristage::v1::JOB_STATE_UNSPECIFIED);
  absl::StatusOr<tristage::v1::Job> CancelJob(const std::string& job_id);
  // Calls `on_event` for each event until the job ended, then returns the job as it ended.
  absl::StatusOr<tristage::v1::Job> WatchJob(
      const std::string& job_id, const std::function<void(const tristage::v1::JobEvent&)>& on_event,
      int64_t after_sequence = 0);
  // Writes the job's output file `path` (one of Job.artifacts) to `local_path` (parents made).
  absl::Status DownloadArtifact(const std::string& job_id, const std::string& path,
                                const std::string& local_path);

 private:
  TristageClient(std::shared_ptr<grpc::Channel> channel, Options options);

  const std::shared_ptr<grpc::Channel> channel_;
  const Options options_;
};

// Requests sent on one PredictStream are answered in the order they were sent. The server ends
// the stream at the first request that fails, with that request's status: that request and every
// one sent after it get that status.
// Thread safety: Send and Finish from any thread; `done` runs on a gRPC thread and may call Send.
class PredictStream {
 public:
  virtual ~PredictStream() = default;
  // Queues `request` (copied); `done` runs exactly once with its answer or the stream's error.
  virtual void Send(const tristage::v1::PredictRequest& request,
                    std::function<void(absl::StatusOr<tristage::v1::PredictResponse>)> done) = 0;
  // Closes the sending side, waits until every request sent was answered and the stream ended,
  // and returns the stream's status. Send after Finish fails its request at once. The
  // destructor calls Finish when it was not called.
  virtual absl::Status Finish() = 0;
};

}  // namespace tristage::client

#endif  // TRISTAGE_CLIENT_LIB_CLIENT_H_
