#include "server/rpc/kserve_service.h"

#include <algorithm>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/export/output_types.h"
#include "core/util/names.h"
#include "core/version.h"
#include "server/rpc/auth.h"
#include "server/rpc/status.h"
#include "server/rpc/submit.h"
#include "server/rpc/wire.h"

namespace tristage::server {
namespace {

using inference::ModelInferRequest;
using inference::ModelInferResponse;

grpc::ServerUnaryReactor* Answer(grpc::CallbackServerContext* context, const absl::Status& status) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(ToGrpcStatus(status));
  return reactor;
}

// The UNAUTHENTICATED answer when the call lacks the configured token; nullptr when it may go on.
grpc::ServerUnaryReactor* Unauthorized(grpc::CallbackServerContext* context,
                                       const std::string& token) {
  absl::Status auth = CheckBearerToken(*context, token);
  return auth.ok() ? nullptr : Answer(context, auth);
}

void AddOutput(const std::string& name, const std::string& datatype, std::vector<int64_t> shape,
               std::string raw, const std::set<std::string>& wanted, ModelInferResponse& response) {
  if (!wanted.empty() && wanted.count(name) == 0) return;
  ModelInferResponse::InferOutputTensor* tensor = response.add_outputs();
  tensor->set_name(name);
  tensor->set_datatype(datatype);
  tensor->mutable_shape()->Add(shape.begin(), shape.end());
  response.add_raw_output_contents(std::move(raw));
}

}  // namespace

absl::Status OutputsToInferResponse(const exporting::OutputMap& outputs,
                                    const ModelInferRequest& request,
                                    ModelInferResponse& response) {
  std::set<std::string> wanted;
  for (const auto& output : request.outputs()) wanted.insert(output.name());
  std::set<std::string> known;
  for (const auto& [name, values] : outputs) {
    const exporting::OutputType* type = exporting::FindOutputType(values.type);
    if (type == nullptr) {  // no tensors, but asking for its predictions is not an error
      known.insert(name + "::predictions");
      continue;
    }
    for (exporting::OutputTensor& tensor : type->tensors(values)) {
      const std::string tensor_name = name + "::" + tensor.what;
      known.insert(tensor_name);
      AddOutput(tensor_name, tensor.datatype, std::move(tensor.shape), std::move(tensor.raw),
                wanted, response);
    }
  }
  for (const std::string& name : wanted) {
    if (known.count(name) == 0) {
      return absl::InvalidArgumentError(absl::StrCat("unknown requested output '", name, "'"));
    }
  }
  return absl::OkStatus();
}

void KServeServerMetadata(inference::ServerMetadataResponse& response) {
  response.set_name("tristage");
  response.set_version(kTristageVersion);
  response.add_extensions("model_repository");
  response.add_extensions("statistics");
  response.add_extensions("binary_tensor_data");
}

absl::StatusOr<bool> KServeModelReady(ModelManager& models, const std::string& name,
                                      const std::string& version) {
  auto pipeline = models.Get(name, version);
  if (pipeline.status().code() == absl::StatusCode::kNotFound) {
    // In the repository but not loaded (explicit mode, or unloaded): known, not ready.
    const std::vector<std::string> known = models.RepositoryModels();
    if (version.empty() && std::find(known.begin(), known.end(), name) != known.end()) return false;
    return pipeline.status();
  }
  if (pipeline.status().code() == absl::StatusCode::kInvalidArgument) return pipeline.status();
  return pipeline.ok();
}

absl::Status KServeModelMetadata(ModelManager& models, const std::string& name,
                                 const std::string& version,
                                 inference::ModelMetadataResponse& response) {
  auto pipeline = models.Get(name, version);
  if (!pipeline.ok()) return pipeline.status();
  response.set_name(name);
  for (const VersionStatus& status : models.Index()) {
    if (status.model == name && status.state == VersionState::kAvailable) {
      response.add_versions(std::to_string(status.version));
    }
  }
  const exporting::Manifest& manifest = (*pipeline)->manifest();
  if (manifest.model_only) {
    // A tensor model (a predictor alone): its inputs are the predictor's tensors; its outputs are
    // whatever the predictor returns per output feature ("<feature>::logits", ...), known only
    // once it ran, so none are listed.
    response.set_platform("tristage_torchscript_predictor");
    for (const exporting::InputSpec& spec : manifest.inputs) {
      auto* input = response.add_inputs();
      input->set_name(spec.name);
      input->set_datatype(spec.dtype == "int64"     ? "INT64"
                          : spec.dtype == "float64" ? "FP64"
                          : spec.dtype == "bool"    ? "BOOL"
                                                    : "FP32");
      input->mutable_shape()->Add(spec.shape.begin(), spec.shape.end());
    }
    return absl::OkStatus();
  }
  response.set_platform("tristage_torchscript");
  for (const exporting::InputSpec& spec : manifest.inputs) {
    auto* input = response.add_inputs();
    input->set_name(spec.name);
    input->set_datatype("BYTES");
    input->add_shape(-1);
  }
  for (const exporting::OutputSpec& spec : manifest.outputs) {
    for (const auto& [key, kind] : spec.keys) {
      auto* output = response.add_outputs();
      output->set_name(key);
      const bool text = kind != "Tensor";
      output->set_datatype(text ? "BYTES" : "FP32");
      output->add_shape(-1);
      if (absl::EndsWith(key, "::probabilities") && !text) {
        output->add_shape(static_cast<int64_t>(spec.class_names.size()));
      }
    }
  }
  return absl::OkStatus();
}

absl::Status KServeModelStatistics(ModelManager& models, const std::string& name,
                                   const std::string& version,
                                   inference::ModelStatisticsResponse& response) {
  for (const VersionStatus& status : models.Index()) {
    if (!name.empty() && status.model != name) continue;
    if (!version.empty() && std::to_string(status.version) != version) continue;
    auto pipeline = models.Get(status.model, std::to_string(status.version));
    if (!pipeline.ok()) continue;
    const PipelineStats& stats = (*pipeline)->stats();
    inference::ModelStatistics* out = response.add_model_stats();
    out->set_name(status.model);
    out->set_version(std::to_string(status.version));
    out->set_last_inference(static_cast<uint64_t>(stats.last_inference_ms.load()));
    out->set_inference_count(static_cast<uint64_t>(stats.rows.load()));
    out->set_execution_count(static_cast<uint64_t>(stats.batches.load()));
    inference::InferStatistics* infer = out->mutable_inference_stats();
    auto set = [](inference::StatisticDuration* d, int64_t count, int64_t us) {
      d->set_count(static_cast<uint64_t>(count));
      d->set_ns(static_cast<uint64_t>(us) * 1000);
    };
    const int64_t ok = stats.requests_ok.load();
    const int64_t batches = stats.batches.load();
    set(infer->mutable_success(), ok, stats.request_us.load());
    set(infer->mutable_fail(), stats.requests_failed.load(), stats.failed_us.load());
    set(infer->mutable_queue(), ok, stats.queue_us.load());
    set(infer->mutable_compute_input(), batches, stats.preprocess_us.load());
    set(infer->mutable_compute_infer(), batches, stats.predict_us.load());
    set(infer->mutable_compute_output(), batches, stats.postprocess_us.load());
  }
  if (!name.empty() && response.model_stats_size() == 0) {
    return models.Get(name, version).status();
  }
  return absl::OkStatus();
}

void KServeRepositoryIndex(ModelManager& models, bool ready_only,
                           inference::RepositoryIndexResponse& response) {
  std::set<std::string> listed;
  for (const VersionStatus& status : models.Index()) {
    listed.insert(status.model);
    if (ready_only && status.state != VersionState::kAvailable) continue;
    auto* model = response.add_models();
    model->set_name(status.model);
    model->set_version(std::to_string(status.version));
    model->set_state(TritonStateName(status.state));
    model->set_reason(status.reason);
  }
  if (!ready_only) {
    for (const std::string& name : models.RepositoryModels()) {
      if (listed.count(name) != 0) continue;
      auto* model = response.add_models();
      model->set_name(name);
      model->set_state("UNAVAILABLE");
      model->set_reason("unloaded");
    }
  }
}

grpc::ServerUnaryReactor* KServeService::ServerLive(grpc::CallbackServerContext* context,
                                                    const inference::ServerLiveRequest*,
                                                    inference::ServerLiveResponse* response) {
  response->set_live(true);
  return Answer(context, absl::OkStatus());
}

grpc::ServerUnaryReactor* KServeService::ServerReady(grpc::CallbackServerContext* context,
                                                     const inference::ServerReadyRequest*,
                                                     inference::ServerReadyResponse* response) {
  response->set_ready(drain_->ready());
  return Answer(context, absl::OkStatus());
}

grpc::ServerUnaryReactor* KServeService::ModelReady(grpc::CallbackServerContext* context,
                                                    const inference::ModelReadyRequest* request,
                                                    inference::ModelReadyResponse* response) {
  absl::StatusOr<bool> ready = KServeModelReady(*models_, request->name(), request->version());
  if (!ready.ok()) return Answer(context, ready.status());
  response->set_ready(*ready);
  return Answer(context, absl::OkStatus());
}

grpc::ServerUnaryReactor* KServeService::ServerMetadata(
    grpc::CallbackServerContext* context, const inference::ServerMetadataRequest*,
    inference::ServerMetadataResponse* response) {
  KServeServerMetadata(*response);
  return Answer(context, absl::OkStatus());
}

grpc::ServerUnaryReactor* KServeService::ModelMetadata(
    grpc::CallbackServerContext* context, const inference::ModelMetadataRequest* request,
    inference::ModelMetadataResponse* response) {
  return Answer(context,
                KServeModelMetadata(*models_, request->name(), request->version(), *response));
}

grpc::ServerUnaryReactor* KServeService::ModelInfer(grpc::CallbackServerContext* context,
                                                    const grpc::ByteBuffer* request_bytes,
                                                    grpc::ByteBuffer* response_bytes) {
  auto call = std::make_shared<Drain::Call>(drain_->Begin());
  if (!*call) return Answer(context, absl::UnavailableError(Drain::kShuttingDown));
  // Kept until the answer is built (its id and requested outputs shape the response).
  auto request = std::make_shared<ModelInferRequest>();
  if (absl::Status parsed = ParseRequest(*request_bytes, *request); !parsed.ok()) {
    return Answer(context, parsed);
  }
  auto inputs = InputsFromInferRequest(*request);
  if (!inputs.ok()) return Answer(context, inputs.status());
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  SubmitToModel(
      models_, request->model_name(), request->model_version(), *inputs, CallDeadline(*context),
      /*may_run_inline=*/true, [context] { return context->IsCancelled(); },
      [reactor, request, response_bytes, call](absl::StatusOr<exporting::OutputMap> outputs,
                                               int64_t version) {
        if (!outputs.ok()) {
          reactor->Finish(ToGrpcStatus(outputs.status()));
          return;
        }
        ModelInferResponse response;
        response.set_model_name(request->model_name());
        response.set_model_version(std::to_string(version));
        response.set_id(request->id());
        absl::Status status = OutputsToInferResponse(*outputs, *request, response);
        if (status.ok()) status = SerializeResponse(response, *response_bytes);
        reactor->Finish(ToGrpcStatus(status));
      });
  return reactor;
}

grpc::ServerUnaryReactor* KServeService::ModelStatistics(
    grpc::CallbackServerContext* context, const inference::ModelStatisticsRequest* request,
    inference::ModelStatisticsResponse* response) {
  return Answer(context,
                KServeModelStatistics(*models_, request->name(), request->version(), *response));
}

grpc::ServerUnaryReactor* KServeService::RepositoryIndex(
    grpc::CallbackServerContext* context, const inference::RepositoryIndexRequest* request,
    inference::RepositoryIndexResponse* response) {
  if (auto* denied = Unauthorized(context, auth_token_)) return denied;
  KServeRepositoryIndex(*models_, request->ready(), *response);
  return Answer(context, absl::OkStatus());
}

grpc::ServerUnaryReactor* KServeService::RepositoryModelLoad(
    grpc::CallbackServerContext* context, const inference::RepositoryModelLoadRequest* request,
    inference::RepositoryModelLoadResponse*) {
  if (auto* denied = Unauthorized(context, auth_token_)) return denied;
  if (absl::Status checked = CheckName("model_name", request->model_name()); !checked.ok()) {
    return Answer(context, checked);
  }
  // Loading builds and warms pipelines (seconds): the manager's control thread does it, and
  // answers, so that this callback thread goes back to serving traffic at once.
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  models_->LoadAsync(request->model_name(),
                     [reactor](absl::Status status) { reactor->Finish(ToGrpcStatus(status)); });
  return reactor;
}

grpc::ServerUnaryReactor* KServeService::RepositoryModelUnload(
    grpc::CallbackServerContext* context, const inference::RepositoryModelUnloadRequest* request,
    inference::RepositoryModelUnloadResponse*) {
  if (auto* denied = Unauthorized(context, auth_token_)) return denied;
  if (absl::Status checked = CheckName("model_name", request->model_name()); !checked.ok()) {
    return Answer(context, checked);
  }
  // Unloading drains the model's in-flight requests: the control thread waits for that.
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  models_->UnloadAsync(request->model_name(),
                       [reactor](absl::Status status) { reactor->Finish(ToGrpcStatus(status)); });
  return reactor;
}

}  // namespace tristage::server
