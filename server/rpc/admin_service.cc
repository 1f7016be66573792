#include "server/rpc/admin_service.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <memory>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "core/util/names.h"
#include "core/util/sha256.h"
#include "server/jobs/paths.h"
#include "server/jobs/tar.h"
#include "server/rpc/auth.h"
#include "server/rpc/status.h"

namespace tristage::server {
namespace {

namespace fs = std::filesystem;
using jobs::JobKind;
using jobs::JobRecord;
using jobs::JobState;

constexpr char kUploadPrefix[] = "upload:";
constexpr size_t kChunkBytes = 1 << 20;
constexpr size_t kMaxArtifactsListed = 1000;

int64_t UnixMillis(absl::Time time) {
  return time == absl::InfinitePast() ? 0 : absl::ToUnixMillis(time);
}

tristage::v1::JobKind ToProto(JobKind kind) {
  switch (kind) {
    case JobKind::kTrain: return tristage::v1::TRAIN;
    case JobKind::kEvaluate: return tristage::v1::EVALUATE;
    case JobKind::kExperiment: return tristage::v1::EXPERIMENT;
    case JobKind::kHyperopt: return tristage::v1::HYPEROPT;
    case JobKind::kBatchPredict: return tristage::v1::BATCH_PREDICT;
  }
  return tristage::v1::JOB_KIND_UNSPECIFIED;
}

absl::StatusOr<JobKind> FromProto(tristage::v1::JobKind kind) {
  switch (kind) {
    case tristage::v1::TRAIN: return JobKind::kTrain;
    case tristage::v1::EVALUATE: return JobKind::kEvaluate;
    case tristage::v1::EXPERIMENT: return JobKind::kExperiment;
    case tristage::v1::HYPEROPT: return JobKind::kHyperopt;
    case tristage::v1::BATCH_PREDICT: return JobKind::kBatchPredict;
    default:
      return absl::InvalidArgumentError(
          "kind: required (train, evaluate, experiment, hyperopt, batch_predict)");
  }
}

tristage::v1::JobState ToProto(JobState state) {
  switch (state) {
    case JobState::kQueued: return tristage::v1::QUEUED;
    case JobState::kRunning: return tristage::v1::RUNNING;
    case JobState::kSucceeded: return tristage::v1::SUCCEEDED;
    case JobState::kFailed: return tristage::v1::FAILED;
    case JobState::kCancelled: return tristage::v1::CANCELLED;
  }
  return tristage::v1::JOB_STATE_UNSPECIFIED;
}

void ToProto(const JobRecord& record, tristage::v1::Job& job) {
  job.set_id(record.id);
  job.set_kind(ToProto(record.spec.kind));
  job.set_state(ToProto(record.state));
  job.set_reason(record.reason);
  job.set_created_unix_ms(UnixMillis(record.created));
  job.set_started_unix_ms(UnixMillis(record.started));
  job.set_finished_unix_ms(UnixMillis(record.finished));
  job.set_publish_model(record.spec.publish_model);
  job.set_published_version(record.published_version);
  job.set_world_size(std::max(1, record.spec.world_size));
  job.set_epoch(record.epoch);
  job.set_step(record.step);
  for (const auto& [name, value] : record.metrics) (*job.mutable_metrics())[name] = value;
  if (!jobs::IsFinal(record.state)) return;
  std::error_code ec;
  if (!fs::is_directory(record.output_dir, ec)) return;
  for (auto it = fs::recursive_directory_iterator(record.output_dir, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (static_cast<size_t>(job.artifacts_size()) >= kMaxArtifactsListed) break;
    const std::string relative = fs::relative(it->path(), record.output_dir, ec).string();
    if (it->is_directory(ec) && it->path().filename() == "model") {
      job.add_artifacts(relative + ".tar");  // the whole model directory, as one archive
    } else if (it->is_regular_file(ec)) {
      job.add_artifacts(relative);
    }
  }
}

}  // namespace

absl::Status AdminService::Allowed(const grpc::ServerContext& context, bool needs_jobs,
                                   Drain::Call* call) const {
  if (absl::Status auth = CheckBearerToken(context, options_.auth_token); !auth.ok()) return auth;
  if (call != nullptr) {
    *call = drain_->Begin();
    if (!*call) return absl::UnavailableError(Drain::kShuttingDown);
  }
  if (needs_jobs && jobs_ == nullptr) {
    return absl::FailedPreconditionError(
        "this daemon runs no jobs: start tristage-server with --state-dir");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> AdminService::ResolveDataset(const std::string& dataset) const {
  if (absl::StartsWith(dataset, kUploadPrefix)) {
    if (absl::Status checked =
            CheckRelativePath("dataset", absl::StripPrefix(dataset, kUploadPrefix));
        !checked.ok()) {
      return checked;
    }
    if (options_.uploads_dir.empty()) {
      return absl::FailedPreconditionError("dataset: this daemon keeps no uploads");
    }
    std::error_code ec;
    if (!fs::is_directory(options_.uploads_dir, ec)) {
      return absl::NotFoundError(absl::StrCat("dataset '", dataset, "': no such upload"));
    }
    return jobs::ResolveUnder(options_.uploads_dir,
                              std::string(absl::StripPrefix(dataset, kUploadPrefix)), "dataset");
  }
  if (absl::Status checked = CheckPath("dataset", dataset); !checked.ok()) return checked;
  return jobs::ResolveUnder(options_.data_root, dataset, "dataset");
}

absl::StatusOr<std::string> AdminService::ResolveModel(const std::string& model) const {
  if (absl::StartsWith(model, "job:")) {
    const std::string id(absl::StripPrefix(model, "job:"));
    if (absl::Status checked = CheckName("model (job id)", id); !checked.ok()) return checked;
    absl::StatusOr<JobRecord> record = jobs_->Get(id);
    if (!record.ok()) return record.status();
    if (record->model_dir.empty()) {
      return absl::FailedPreconditionError(absl::StrCat("model 'job:", id,
                                                        "': that job has no trained model (",
                                                        jobs::JobStateName(record->state), ")"));
    }
    return record->model_dir;
  }
  if (absl::Status checked = CheckPath("model", model); !checked.ok()) return checked;
  return jobs::ResolveUnder(options_.data_root, model, "model");
}

grpc::Status AdminService::GetServerInfo(grpc::ServerContext* context,
                                         const tristage::v1::GetServerInfoRequest* /*request*/,
                                         tristage::v1::ServerInfo* response) {
  Drain::Call call;
  if (absl::Status allowed = Allowed(*context, false, &call); !allowed.ok()) {
    return ToGrpcStatus(allowed);
  }
  *response = info_;
  return grpc::Status::OK;
}

grpc::Status AdminService::SubmitJob(grpc::ServerContext* context,
                                     const tristage::v1::SubmitJobRequest* request,
                                     tristage::v1::SubmitJobResponse* response) {
  Drain::Call call;
  if (absl::Status allowed = Allowed(*context, true, &call); !allowed.ok()) {
    return ToGrpcStatus(allowed);
  }
  jobs::JobSpec spec;
  absl::StatusOr<JobKind> kind = FromProto(request->kind());
  if (!kind.ok()) return ToGrpcStatus(kind.status());
  spec.kind = *kind;
  spec.config = request->config();
  if (!request->dataset().empty()) {
    absl::StatusOr<std::string> dataset = ResolveDataset(request->dataset());
    if (!dataset.ok()) return ToGrpcStatus(dataset.status());
    spec.dataset = *dataset;
  }
  if (!request->model().empty()) {
    absl::StatusOr<std::string> model = ResolveModel(request->model());
    if (!model.ok()) return ToGrpcStatus(model.status());
    spec.model_path = *model;
  }
  for (const auto& [name, value] : request->options()) {
    if (absl::Status checked = CheckName("options (a key)", name); !checked.ok()) {
      return ToGrpcStatus(checked);
    }
    if (absl::Status checked = CheckName(absl::StrCat("options.", name), value); !checked.ok()) {
      return ToGrpcStatus(checked);
    }
  }
  spec.options.insert(request->options().begin(), request->options().end());
  if (!request->publish_model().empty()) {
    if (absl::Status checked = CheckName("publish_model", request->publish_model());
        !checked.ok()) {
      return ToGrpcStatus(checked);
    }
  }
  spec.publish_model = request->publish_model();
  spec.world_size = request->world_size();  // checked with the rest of the spec by Submit
  absl::StatusOr<std::string> id = jobs_->Submit(std::move(spec));
  if (!id.ok()) return ToGrpcStatus(id.status());
  response->set_job_id(*id);
  return grpc::Status::OK;
}

grpc::Status AdminService::GetJob(grpc::ServerContext* context,
                                  const tristage::v1::GetJobRequest* request,
                                  tristage::v1::Job* response) {
  Drain::Call call;
  if (absl::Status allowed = Allowed(*context, true, &call); !allowed.ok()) {
    return ToGrpcStatus(allowed);
  }
  if (absl::Status checked = CheckName("job_id", request->job_id()); !checked.ok()) {
    return ToGrpcStatus(checked);
  }
  absl::StatusOr<JobRecord> record = jobs_->Get(request->job_id());
  if (!record.ok()) return ToGrpcStatus(record.status());
  ToProto(*record, *response);
  return grpc::Status::OK;
}

grpc::Status AdminService::ListJobs(grpc::ServerContext* context,
                                    const tristage::v1::ListJobsRequest* request,
                                    tristage::v1::ListJobsResponse* response) {
  Drain::Call call;
  if (absl::Status allowed = Allowed(*context, true, &call); !allowed.ok()) {
    return ToGrpcStatus(allowed);
  }
  std::optional<JobState> filter;
  if (request->state() != tristage::v1::JOB_STATE_UNSPECIFIED) {
    absl::StatusOr<JobState> state =
        jobs::ParseJobState(tristage::v1::JobState_Name(request->state()));
    if (!state.ok()) return ToGrpcStatus(state.status());
    filter = *state;
  }
  for (const JobRecord& record : jobs_->List(filter)) ToProto(record, *response->add_jobs());
  return grpc::Status::OK;
}

grpc::Status AdminService::WatchJob(grpc::ServerContext* context,
                                    const tristage::v1::WatchJobRequest* request,
                                    grpc::ServerWriter<tristage::v1::JobEvent>* writer) {
  // A watch holds no Drain::Call: it only waits; it ends when the server drains.
  if (absl::Status allowed = Allowed(*context, true, nullptr); !allowed.ok()) {
    return ToGrpcStatus(allowed);
  }
  if (absl::Status checked = CheckName("job_id", request->job_id()); !checked.ok()) {
    return ToGrpcStatus(checked);
  }
  int64_t after = request->after_sequence();
  bool ended = false;
  while (!ended) {
    // Wakes at least every 200 ms to notice a client that went away.
    absl::StatusOr<std::vector<jobs::JobEvent>> events =
        jobs_->WaitEvents(request->job_id(), after, absl::Now() + absl::Milliseconds(200), &ended);
    if (!events.ok()) return ToGrpcStatus(events.status());
    if (context->IsCancelled()) return grpc::Status(grpc::StatusCode::CANCELLED, "watch cancelled");
    if (drain_->draining()) {
      return grpc::Status(grpc::StatusCode::UNAVAILABLE,
                          absl::StrCat(Drain::kShuttingDown, "; the job's record is kept, watch "
                                                             "it again after the restart"));
    }
    for (const jobs::JobEvent& event : *events) {
      tristage::v1::JobEvent out;
      out.set_sequence(event.sequence);
      out.set_time_unix_ms(UnixMillis(event.time));
      out.set_state(ToProto(event.state));
      switch (event.type) {
        case jobs::JobEvent::Type::kState: out.set_state_reason(event.text); break;
        case jobs::JobEvent::Type::kLog: out.set_log_line(event.text); break;
        case jobs::JobEvent::Type::kProgress: {
          tristage::v1::JobProgress* progress = out.mutable_progress();
          progress->set_epoch(event.epoch);
          progress->set_step(event.step);
          for (const auto& [name, value] : event.metrics) {
            (*progress->mutable_metrics())[name] = value;
          }
          break;
        }
      }
      if (!writer->Write(out)) {
        return grpc::Status(grpc::StatusCode::CANCELLED, "the watcher went away");
      }
      after = event.sequence;
    }
  }
  return grpc::Status::OK;
}

grpc::Status AdminService::CancelJob(grpc::ServerContext* context,
                                     const tristage::v1::CancelJobRequest* request,
                                     tristage::v1::Job* response) {
  Drain::Call call;
  if (absl::Status allowed = Allowed(*context, true, &call); !allowed.ok()) {
    return ToGrpcStatus(allowed);
  }
  if (absl::Status checked = CheckName("job_id", request->job_id()); !checked.ok()) {
    return ToGrpcStatus(checked);
  }
  if (absl::Status cancelled = jobs_->Cancel(request->job_id()); !cancelled.ok()) {
    return ToGrpcStatus(cancelled);
  }
  absl::StatusOr<JobRecord> record = jobs_->Get(request->job_id());
  if (!record.ok()) return ToGrpcStatus(record.status());
  ToProto(*record, *response);
  return grpc::Status::OK;
}

grpc::Status AdminService::UploadDataset(
    grpc::ServerContext* context, grpc::ServerReader<tristage::v1::UploadDatasetRequest>* reader,
    tristage::v1::UploadDatasetResponse* response) {
  Drain::Call call;
  if (absl::Status allowed = Allowed(*context, true, &call); !allowed.ok()) {
    return ToGrpcStatus(allowed);
  }
  tristage::v1::UploadDatasetRequest part;
  if (!reader->Read(&part) || !part.has_header()) {
    return ToGrpcStatus(absl::InvalidArgumentError(
        "UploadDataset: the first message must be the header (filename, size_bytes, sha256)"));
  }
  const tristage::v1::UploadDatasetRequest::Header header = part.header();
  if (absl::Status checked = CheckName("header.filename", header.filename()); !checked.ok()) {
    return ToGrpcStatus(checked);
  }
  const std::string& filename = header.filename();
  if (header.size_bytes() < 0) {
    return ToGrpcStatus(absl::InvalidArgumentError(
        absl::StrCat("header.size_bytes: ", header.size_bytes(), " is negative")));
  }
  if (header.size_bytes() > options_.max_upload_bytes) {
    return ToGrpcStatus(absl::ResourceExhaustedError(
        absl::StrCat("header.size_bytes: ", header.size_bytes(), " is over this daemon's limit of ",
                     options_.max_upload_bytes, " bytes (--max-upload-bytes)")));
  }
  const std::string id =
      absl::StrCat("u", absl::ToUnixMicros(absl::Now()), "-", next_upload_.fetch_add(1));
  const fs::path dir = fs::path(options_.uploads_dir) / id;
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) {
    return ToGrpcStatus(
        absl::InternalError(absl::StrCat("uploads: ", dir.string(), ": ", ec.message())));
  }
  // Removes the partial upload on every failure path.
  struct Cleanup {
    fs::path dir;
    bool keep = false;
    ~Cleanup() {
      std::error_code ignored;
      if (!keep) fs::remove_all(dir, ignored);
    }
  } cleanup{dir};
  std::ofstream out(dir / filename, std::ios::binary);
  Sha256 sha;
  int64_t received = 0;
  while (reader->Read(&part)) {
    if (!part.has_chunk()) {
      return ToGrpcStatus(absl::InvalidArgumentError("UploadDataset: a second header"));
    }
    received += static_cast<int64_t>(part.chunk().size());
    if (received > header.size_bytes()) {
      return ToGrpcStatus(absl::InvalidArgumentError(absl::StrCat(
          "UploadDataset: more bytes than header.size_bytes (", header.size_bytes(), ")")));
    }
    sha.Update(part.chunk());
    out.write(part.chunk().data(), static_cast<std::streamsize>(part.chunk().size()));
  }
  out.close();
  if (context->IsCancelled()) return grpc::Status(grpc::StatusCode::CANCELLED, "upload cancelled");
  if (!out) {
    return ToGrpcStatus(absl::InternalError(absl::StrCat("uploads: cannot write ", filename)));
  }
  if (received != header.size_bytes()) {
    return ToGrpcStatus(
        absl::DataLossError(absl::StrCat("UploadDataset: received ", received,
                                         " bytes, header.size_bytes said ", header.size_bytes())));
  }
  const std::string digest = sha.HexDigest();
  if (!header.sha256().empty() && header.sha256() != digest) {
    return ToGrpcStatus(absl::DataLossError(absl::StrCat(
        "UploadDataset: sha256 mismatch: header.sha256 ", header.sha256(), ", received ", digest)));
  }
  cleanup.keep = true;
  response->set_dataset(absl::StrCat(kUploadPrefix, id, "/", filename));
  response->set_size_bytes(received);
  response->set_sha256(digest);
  return grpc::Status::OK;
}

grpc::Status AdminService::GetArtifact(grpc::ServerContext* context,
                                       const tristage::v1::GetArtifactRequest* request,
                                       grpc::ServerWriter<tristage::v1::ArtifactChunk>* writer) {
  Drain::Call call;
  if (absl::Status allowed = Allowed(*context, true, &call); !allowed.ok()) {
    return ToGrpcStatus(allowed);
  }
  if (absl::Status checked = CheckName("job_id", request->job_id()); !checked.ok()) {
    return ToGrpcStatus(checked);
  }
  if (absl::Status checked = CheckRelativePath("path", request->path()); !checked.ok()) {
    return ToGrpcStatus(checked);
  }
  std::error_code ec;
  if (absl::EndsWith(request->path(), ".tar")) {
    // A directory of the output (the model) as a ustar archive, streamed as it is read.
    absl::StatusOr<std::string> dir = jobs_->ArtifactPath(
        request->job_id(), std::string(absl::StripSuffix(request->path(), ".tar")));
    if (dir.ok() && fs::is_directory(*dir, ec)) {
      std::string pending;
      auto flush = [&](bool last) {
        if (pending.empty() || (!last && pending.size() < kChunkBytes)) return true;
        tristage::v1::ArtifactChunk chunk;
        chunk.set_data(std::move(pending));
        pending.clear();
        return writer->Write(chunk);
      };
      absl::Status written = jobs::WriteTar(*dir, [&](const std::string& bytes) {
        pending += bytes;
        return flush(false);
      });
      if (written.ok() && !flush(true)) written = absl::CancelledError("the client went away");
      return ToGrpcStatus(written);
    }
  }
  absl::StatusOr<std::string> path = jobs_->ArtifactPath(request->job_id(), request->path());
  if (!path.ok()) return ToGrpcStatus(path.status());
  if (!fs::is_regular_file(*path, ec)) {
    return ToGrpcStatus(absl::InvalidArgumentError(
        absl::StrCat("path '", request->path(), "': not a file (Job.artifacts lists the files)")));
  }
  const int64_t total = static_cast<int64_t>(fs::file_size(*path, ec));
  std::ifstream in(*path, std::ios::binary);
  std::string buffer(kChunkBytes, '\0');
  int64_t sent = 0;
  do {
    in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    tristage::v1::ArtifactChunk chunk;
    chunk.set_data(buffer.data(), static_cast<size_t>(in.gcount()));
    chunk.set_total_bytes(total);
    sent += in.gcount();
    if (!writer->Write(chunk)) {
      return grpc::Status(grpc::StatusCode::CANCELLED, "the client went away");
    }
  } while (in && sent < total);
  return grpc::Status::OK;
}

}  // namespace tristage::server
