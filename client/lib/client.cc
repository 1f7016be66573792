#include "client/lib/client.h"

#include <deque>
#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "core/util/sha256.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "tristage/v1/admin.grpc.pb.h"
#include "tristage/v1/inference.grpc.pb.h"

namespace tristage::client {
namespace {

absl::Status FromGrpc(const grpc::Status& status, const char* what) {
  if (status.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                      absl::StrCat(what, ": ", status.error_message()));
}

// The bearer token, on every call when one is set. Calls that may take as long as the data or
// the job (uploads, downloads, watches, streams) get only this, no deadline.
void PrepareLong(grpc::ClientContext& context, const TristageClient::Options& options) {
  if (!options.auth_token.empty()) {
    context.AddMetadata("authorization", "Bearer " + options.auth_token);
  }
}

// Per-call deadline and the token.
void Prepare(grpc::ClientContext& context, const TristageClient::Options& options) {
  context.set_deadline(absl::ToChronoTime(absl::Now() + options.timeout));
  PrepareLong(context, options);
}

}  // namespace

const char* ServingStatusName(ServingStatus status) {
  switch (status) {
    case ServingStatus::kServing: return "SERVING";
    case ServingStatus::kNotServing: return "NOT_SERVING";
    case ServingStatus::kServiceUnknown: return "SERVICE_UNKNOWN";
    case ServingStatus::kUnknown: break;
  }
  return "UNKNOWN";
}

absl::StatusOr<std::unique_ptr<TristageClient>> TristageClient::Create(const std::string& address,
                                                                       Options options) {
  if (address.empty()) return absl::InvalidArgumentError("server address is empty");
  std::shared_ptr<grpc::ChannelCredentials> credentials = grpc::InsecureChannelCredentials();
  if (!options.tls_root_certs.empty()) {
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = options.tls_root_certs;
    ssl.pem_cert_chain = options.tls_client_cert;
    ssl.pem_private_key = options.tls_client_key;
    credentials = grpc::SslCredentials(ssl);
  }
  auto channel = grpc::CreateChannel(address, credentials);
  return std::unique_ptr<TristageClient>(new TristageClient(std::move(channel), options));
}

TristageClient::TristageClient(std::shared_ptr<grpc::Channel> channel, Options options)
    : channel_(std::move(channel)), options_(options) {}

TristageClient::~TristageClient() = default;

absl::StatusOr<ServingStatus> TristageClient::CheckHealth(const std::string& service) {
  auto stub = grpc::health::v1::Health::NewStub(channel_);
  grpc::ClientContext context;
  Prepare(context, options_);
  grpc::health::v1::HealthCheckRequest request;
  request.set_service(service);
  grpc::health::v1::HealthCheckResponse response;
  const grpc::Status status = stub->Check(&context, request, &response);
  if (!status.ok()) return FromGrpc(status, "health check");
  switch (response.status()) {
    case grpc::health::v1::HealthCheckResponse::SERVING: return ServingStatus::kServing;
    case grpc::health::v1::HealthCheckResponse::NOT_SERVING: return ServingStatus::kNotServing;
    case grpc::health::v1::HealthCheckResponse::SERVICE_UNKNOWN:
      return ServingStatus::kServiceUnknown;
    default: return ServingStatus::kUnknown;
  }
}

absl::StatusOr<tristage::v1::ServerInfo> TristageClient::GetServerInfo() {
  auto stub = tristage::v1::Admin::NewStub(channel_);
  grpc::ClientContext context;
  Prepare(context, options_);
  tristage::v1::ServerInfo info;
  const grpc::Status status = stub->GetServerInfo(&context, {}, &info);
  if (!status.ok()) return FromGrpc(status, "GetServerInfo");
  return info;
}

absl::StatusOr<tristage::v1::PredictResponse> TristageClient::Predict(
    const tristage::v1::PredictRequest& request) {
  auto stub = tristage::v1::Inference::NewStub(channel_);
  grpc::ClientContext context;
  Prepare(context, options_);
  tristage::v1::PredictResponse response;
  const grpc::Status status = stub->Predict(&context, request, &response);
  if (!status.ok()) return FromGrpc(status, "predict");
  return response;
}

absl::StatusOr<tristage::v1::UploadDatasetResponse> TristageClient::UploadDataset(
    const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const auto size = fs::file_size(path, ec);
  if (ec) return absl::NotFoundError(absl::StrCat("dataset '", path, "': ", ec.message()));
  absl::StatusOr<std::string> sha = Sha256OfFile(path);
  if (!sha.ok()) return sha.status();
  auto stub = tristage::v1::Admin::NewStub(channel_);
  grpc::ClientContext context;
  PrepareLong(context, options_);
  tristage::v1::UploadDatasetResponse response;
  auto writer = stub->UploadDataset(&context, &response);
  tristage::v1::UploadDatasetRequest part;
  auto* header = part.mutable_header();
  header->set_filename(fs::path(path).filename().string());
  header->set_size_bytes(static_cast<int64_t>(size));
  header->set_sha256(*sha);
  bool open = writer->Write(part);
  std::ifstream in(path, std::ios::binary);
  std::string buffer(1 << 20, '\0');
  while (open && in) {
    in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    if (in.gcount() == 0) break;
    part.Clear();
    part.set_chunk(buffer.data(), static_cast<size_t>(in.gcount()));
    open = writer->Write(part);
  }
  writer->WritesDone();
  const grpc::Status status = writer->Finish();
  if (!status.ok()) return FromGrpc(status, "upload");
  return response;
}

namespace {
// One unary tristage.v1.Admin call with the per-call deadline and the token.
template <typename Request, typename Response>
absl::StatusOr<Response> AdminCall(const std::shared_ptr<grpc::Channel>& channel,
                                   const TristageClient::Options& options,
                                   grpc::Status (tristage::v1::Admin::Stub::*method)(
                                       grpc::ClientContext*, const Request&, Response*),
                                   const Request& request, const char* what) {
  auto stub = tristage::v1::Admin::NewStub(channel);
  grpc::ClientContext context;
  Prepare(context, options);
  Response response;
  const grpc::Status status = (stub.get()->*method)(&context, request, &response);
  if (!status.ok()) return FromGrpc(status, what);
  return response;
}
}  // namespace

absl::StatusOr<std::string> TristageClient::SubmitJob(
    const tristage::v1::SubmitJobRequest& request) {
  auto response =
      AdminCall(channel_, options_, &tristage::v1::Admin::Stub::SubmitJob, request, "submit job");
  if (!response.ok()) return response.status();
  return response->job_id();
}

absl::StatusOr<tristage::v1::Job> TristageClient::GetJob(const std::string& job_id) {
  tristage::v1::GetJobRequest request;
  request.set_job_id(job_id);
  return AdminCall(channel_, options_, &tristage::v1::Admin::Stub::GetJob, request, "get job");
}

absl::StatusOr<std::vector<tristage::v1::Job>> TristageClient::ListJobs(
    tristage::v1::JobState state) {
  tristage::v1::ListJobsRequest request;
  request.set_state(state);
  auto response =
      AdminCall(channel_, options_, &tristage::v1::Admin::Stub::ListJobs, request, "list jobs");
  if (!response.ok()) return response.status();
  return std::vector<tristage::v1::Job>(response->jobs().begin(), response->jobs().end());
}

absl::StatusOr<tristage::v1::Job> TristageClient::CancelJob(const std::string& job_id) {
  tristage::v1::CancelJobRequest request;
  request.set_job_id(job_id);
  return AdminCall(channel_, options_, &tristage::v1::Admin::Stub::CancelJob, request,
                   "cancel job");
}

absl::StatusOr<tristage::v1::Job> TristageClient::WatchJob(
    const std::string& job_id, const std::function<void(const tristage::v1::JobEvent&)>& on_event,
    int64_t after_sequence) {
  auto stub = tristage::v1::Admin::NewStub(channel_);
  grpc::ClientContext context;
  PrepareLong(context, options_);
  tristage::v1::WatchJobRequest request;
  request.set_job_id(job_id);
  request.set_after_sequence(after_sequence);
  auto reader = stub->WatchJob(&context, request);
  tristage::v1::JobEvent event;
  while (reader->Read(&event)) on_event(event);
  const grpc::Status status = reader->Finish();
  if (!status.ok()) return FromGrpc(status, "watch job");
  return GetJob(job_id);
}

absl::Status TristageClient::DownloadArtifact(const std::string& job_id, const std::string& path,
                                              const std::string& local_path) {
  namespace fs = std::filesystem;
  auto stub = tristage::v1::Admin::NewStub(channel_);
  grpc::ClientContext context;
  PrepareLong(context, options_);
  tristage::v1::GetArtifactRequest request;
  request.set_job_id(job_id);
  request.set_path(path);
  auto reader = stub->GetArtifact(&context, request);
  std::error_code ec;
  if (fs::path(local_path).has_parent_path()) {
    fs::create_directories(fs::path(local_path).parent_path(), ec);
  }
  std::ofstream out(local_path, std::ios::binary);
  if (!out) return absl::PermissionDeniedError(absl::StrCat("cannot write ", local_path));
  tristage::v1::ArtifactChunk chunk;
  while (reader->Read(&chunk))
    out.write(chunk.data().data(), static_cast<std::streamsize>(chunk.data().size()));
  const grpc::Status status = reader->Finish();
  if (!status.ok()) return FromGrpc(status, "download artifact");
  out.close();
  if (!out) return absl::DataLossError(absl::StrCat("error writing ", local_path));
  return absl::OkStatus();
}

absl::StatusOr<tristage::v1::ModelMetadataResponse> TristageClient::ModelMetadata(
    const std::string& model, const std::string& version) {
  auto stub = tristage::v1::Inference::NewStub(channel_);
  grpc::ClientContext context;
  Prepare(context, options_);
  tristage::v1::ModelMetadataRequest request;
  request.set_model_name(model);
  request.set_model_version(version);
  tristage::v1::ModelMetadataResponse response;
  const grpc::Status status = stub->ModelMetadata(&context, request, &response);
  if (!status.ok()) return FromGrpc(status, "model metadata");
  return response;
}

void TristageClient::PredictAsync(
    const tristage::v1::PredictRequest& request,
    std::function<void(absl::StatusOr<tristage::v1::PredictResponse>)> done) {
  // Owns what the call needs until its callback; deleted there.
  struct Call {
    std::unique_ptr<tristage::v1::Inference::Stub> stub;
    grpc::ClientContext context;
    tristage::v1::PredictRequest request;
    tristage::v1::PredictResponse response;
    std::function<void(absl::StatusOr<tristage::v1::PredictResponse>)> done;
  };
  auto* call = new Call;
  call->stub = tristage::v1::Inference::NewStub(channel_);
  call->request = request;
  call->done = std::move(done);
  Prepare(call->context, options_);
  call->stub->async()->Predict(&call->context, &call->request, &call->response,
                               [call](grpc::Status status) {
                                 std::unique_ptr<Call> owned(call);
                                 if (status.ok()) {
                                   owned->done(std::move(owned->response));
                                 } else {
                                   owned->done(FromGrpc(status, "predict"));
                                 }
                               });
}

}  // namespace tristage::client

namespace tristage::client {
namespace {

using PredictDone = std::function<void(absl::StatusOr<tristage::v1::PredictResponse>)>;

// One bidi stream. Writes go out one at a time from `to_write_`; answers arrive in order and are
// matched to `awaiting_`. The reactor stays alive until OnDone; Finish (or the destructor) waits
// for that.
class StreamReactor final
    : public grpc::ClientBidiReactor<tristage::v1::PredictRequest, tristage::v1::PredictResponse> {
 public:
  // The reactor keeps itself alive until gRPC's OnDone has returned (it may be the last owner);
  // the caller's handle owns it too, so Finish can wait on it safely.
  static std::shared_ptr<StreamReactor> Open(const std::shared_ptr<grpc::Channel>& channel,
                                             const TristageClient::Options& options,
                                             int max_in_flight) {
    auto reactor = std::make_shared<StreamReactor>(channel, options, max_in_flight);
    reactor->self_ = reactor;
    // Until Finish, this side may start writes at any time: the hold keeps gRPC from ending the
    // call (OnDone) under a StartWrite, even when the server has already answered its status.
    reactor->AddHold();
    reactor->StartCall();
    return reactor;
  }

  StreamReactor(const std::shared_ptr<grpc::Channel>& channel,
                const TristageClient::Options& options, int max_in_flight)
      : stub_(tristage::v1::Inference::NewStub(channel)),
        max_in_flight_(max_in_flight > 0 ? static_cast<size_t>(max_in_flight) : 1) {
    PrepareLong(context_, options);
    stub_->async()->PredictStream(&context_, this);
    StartRead(&response_);
  }

  void Send(const tristage::v1::PredictRequest& request, PredictDone done) {
    tristage::v1::PredictRequest* to_start = nullptr;
    absl::Status refused;
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(this, &StreamReactor::CanSend));
      if (closing_) refused = absl::FailedPreconditionError("predict stream: Send after Finish");
      if (refused.ok()) {
        // Under one lock: answers are matched to `awaiting_` in the order requests are written.
        // Once the server ended its side, the request only waits for the stream's status.
        awaiting_.push_back(std::move(done));
        if (!reads_done_) to_write_.push_back(request);
        if (!reads_done_ && !writing_) {
          writing_ = true;
          to_start = &to_write_.front();
          ++starting_;  // Finish releases the hold only after this StartWrite was issued
        }
      }
    }
    if (!refused.ok()) {
      done(refused);
      return;
    }
    if (to_start != nullptr) {
      StartWrite(to_start);
      absl::MutexLock lock(&mu_);
      --starting_;
    }
  }

  absl::Status Finish() {
    bool close = false;
    {
      absl::MutexLock lock(&mu_);
      if (!closing_) {
        closing_ = true;
        close = !writing_ && !ended_;
        writes_done_ = close;
      }
    }
    if (close) StartWritesDone();
    bool release = false;
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(this, &StreamReactor::NoneStarting));
      release = !hold_released_;
      hold_released_ = true;
    }
    if (release) RemoveHold();  // no Send starts writes from here on; OnDone may come
    absl::MutexLock lock(&mu_);
    mu_.Await(absl::Condition(&ended_));
    return final_;
  }

  void OnWriteDone(bool ok) override {
    tristage::v1::PredictRequest* next = nullptr;
    bool close = false;
    {
      absl::MutexLock lock(&mu_);
      to_write_.pop_front();
      if (ok && !to_write_.empty()) {
        next = &to_write_.front();
      } else {
        writing_ = false;
        // A failed write means the stream broke: OnDone follows with the status.
        close = ok && closing_ && !writes_done_;
        writes_done_ = writes_done_ || close;
      }
    }
    if (next != nullptr) StartWrite(next);
    if (close) StartWritesDone();
  }

  void OnReadDone(bool ok) override {
    if (!ok) {  // the server ended its side: OnDone follows once Finish released the hold
      absl::MutexLock lock(&mu_);
      reads_done_ = true;
      return;
    }
    PredictDone done;
    {
      absl::MutexLock lock(&mu_);
      if (!awaiting_.empty()) {
        done = std::move(awaiting_.front());
        awaiting_.pop_front();
      }
    }
    tristage::v1::PredictResponse response = std::move(response_);
    response_.Clear();
    StartRead(&response_);
    if (done) done(std::move(response));
  }

  void OnDone(const grpc::Status& status) override {
    std::deque<PredictDone> unanswered;
    absl::Status final = FromGrpc(status, "predict stream");
    {
      absl::MutexLock lock(&mu_);
      unanswered.swap(awaiting_);
    }
    const absl::Status failed =
        final.ok() ? absl::InternalError("predict stream: the server ended the stream unanswered")
                   : final;
    for (PredictDone& done : unanswered) done(failed);
    {
      absl::MutexLock lock(&mu_);
      final_ = final;
      ended_ = true;
    }
    // Dropped on return: if it was the last reference, the reactor goes only now.
    std::shared_ptr<StreamReactor> last = std::move(self_);
  }

 private:
  bool CanSend() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return closing_ || reads_done_ || awaiting_.size() < max_in_flight_;
  }
  bool NoneStarting() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return starting_ == 0; }

  std::shared_ptr<StreamReactor> self_;  // set by Open, released at the end of OnDone
  std::unique_ptr<tristage::v1::Inference::Stub> stub_;
  const size_t max_in_flight_;
  grpc::ClientContext context_;
  tristage::v1::PredictResponse response_;  // the read buffer, touched by reactions only
  absl::Mutex mu_;
  std::deque<tristage::v1::PredictRequest> to_write_ ABSL_GUARDED_BY(mu_);
  std::deque<PredictDone> awaiting_ ABSL_GUARDED_BY(mu_);
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool closing_ ABSL_GUARDED_BY(mu_) = false;
  bool writes_done_ ABSL_GUARDED_BY(mu_) = false;
  bool ended_ ABSL_GUARDED_BY(mu_) = false;
  bool reads_done_ ABSL_GUARDED_BY(mu_) = false;     // the server ended its side
  int starting_ ABSL_GUARDED_BY(mu_) = 0;            // Sends between deciding and StartWrite
  bool hold_released_ ABSL_GUARDED_BY(mu_) = false;  // Finish removed the hold
  absl::Status final_ ABSL_GUARDED_BY(mu_);
};

// The caller's side: Finish (also on destruction) waits for the stream's end.
class StreamHandle final : public PredictStream {
 public:
  explicit StreamHandle(std::shared_ptr<StreamReactor> reactor) : reactor_(std::move(reactor)) {}
  ~StreamHandle() override { (void)reactor_->Finish(); }  // each request already got its status
  void Send(const tristage::v1::PredictRequest& request, PredictDone done) override {
    reactor_->Send(request, std::move(done));
  }
  absl::Status Finish() override { return reactor_->Finish(); }

 private:
  const std::shared_ptr<StreamReactor> reactor_;
};

}  // namespace

std::unique_ptr<PredictStream> TristageClient::OpenPredictStream(int max_in_flight) {
  return std::make_unique<StreamHandle>(StreamReactor::Open(channel_, options_, max_in_flight));
}

}  // namespace tristage::client
