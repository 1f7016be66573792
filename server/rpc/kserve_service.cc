#include "server/rpc/kserve_service.h"

#include <cstring>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/version.h"
#include "server/rpc/auth.h"
#include "server/rpc/status.h"
#include "server/rpc/submit.h"

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

int ElementSize(const std::string& datatype) {
  if (datatype == "BOOL" || datatype == "INT8" || datatype == "UINT8") return 1;
  if (datatype == "INT16" || datatype == "UINT16") return 2;
  if (datatype == "INT32" || datatype == "UINT32" || datatype == "FP32") return 4;
  if (datatype == "INT64" || datatype == "UINT64" || datatype == "FP64") return 8;
  return 0;
}

template <typename T>
T Read(const char* bytes) {
  T value;
  std::memcpy(&value, bytes, sizeof(T));  // the protocol's raw data is little-endian, as this CPU
  return value;
}

double RawNumber(const std::string& datatype, const char* p) {
  if (datatype == "BOOL") return *p != 0 ? 1.0 : 0.0;
  if (datatype == "INT8") return Read<int8_t>(p);
  if (datatype == "UINT8") return Read<uint8_t>(p);
  if (datatype == "INT16") return Read<int16_t>(p);
  if (datatype == "UINT16") return Read<uint16_t>(p);
  if (datatype == "INT32") return Read<int32_t>(p);
  if (datatype == "UINT32") return Read<uint32_t>(p);
  if (datatype == "INT64") return static_cast<double>(Read<int64_t>(p));
  if (datatype == "UINT64") return static_cast<double>(Read<uint64_t>(p));
  if (datatype == "FP32") return Read<float>(p);
  return Read<double>(p);
}

absl::Status TensorError(const std::string& name, const std::string& reason) {
  return absl::InvalidArgumentError(absl::StrCat("input tensor '", name, "': ", reason));
}

void AppendRawBytes(const std::string& value, std::string& raw) {
  const uint32_t length = static_cast<uint32_t>(value.size());
  raw.append(reinterpret_cast<const char*>(&length), sizeof(length));
  raw.append(value);
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

std::string RawFloats(const std::vector<float>& values) {
  return std::string(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(float));
}

}  // namespace

absl::StatusOr<exporting::InputColumns> InputsFromInferRequest(const ModelInferRequest& request) {
  const bool raw = request.raw_input_contents_size() > 0;
  if (raw && request.raw_input_contents_size() != request.inputs_size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("raw_input_contents has ", request.raw_input_contents_size(), " entries for ",
                     request.inputs_size(), " inputs"));
  }
  exporting::InputColumns columns;
  for (int i = 0; i < request.inputs_size(); ++i) {
    const ModelInferRequest::InferInputTensor& tensor = request.inputs(i);
    const std::string& name = tensor.name();
    if (columns.count(name) != 0) return TensorError(name, "given twice");
    if (tensor.shape_size() < 1 || tensor.shape_size() > 2) {
      return TensorError(name, "shape must be [rows] or [rows, n]");
    }
    int64_t elements = 1;
    for (int64_t d : tensor.shape()) {
      if (d < 0) return TensorError(name, "negative dimension in shape");
      elements *= d;
    }
    const int64_t width = tensor.shape_size() == 2 ? tensor.shape(1) : 1;
    exporting::InputColumn& column = columns[name];
    const std::string& datatype = tensor.datatype();
    if (datatype == "BYTES") {
      if (width != 1) return TensorError(name, "BYTES tensors must be [rows] or [rows, 1]");
      if (raw) {
        const std::string& bytes = request.raw_input_contents(i);
        size_t at = 0;
        while (at < bytes.size()) {
          if (at + 4 > bytes.size()) return TensorError(name, "truncated raw BYTES element");
          const uint32_t length = Read<uint32_t>(bytes.data() + at);
          at += 4;
          if (at + length > bytes.size()) return TensorError(name, "truncated raw BYTES element");
          column.strings.emplace_back(bytes.substr(at, length));
          at += length;
        }
      } else {
        column.strings.assign(tensor.contents().bytes_contents().begin(),
                              tensor.contents().bytes_contents().end());
      }
      if (static_cast<int64_t>(column.strings.size()) != elements) {
        return TensorError(
            name, absl::StrCat(column.strings.size(), " elements for shape with ", elements));
      }
      continue;
    }
    const int size = ElementSize(datatype);
    if (size == 0) return TensorError(name, absl::StrCat("unsupported datatype '", datatype, "'"));
    column.is_strings = false;
    column.width = width;
    if (raw) {
      const std::string& bytes = request.raw_input_contents(i);
      if (static_cast<int64_t>(bytes.size()) != elements * size) {
        return TensorError(name, absl::StrCat(bytes.size(), " raw bytes for ", elements, " ",
                                              datatype, " elements"));
      }
      for (int64_t e = 0; e < elements; ++e) {
        column.numbers.push_back(RawNumber(datatype, bytes.data() + e * size));
      }
    } else {
      const inference::InferTensorContents& c = tensor.contents();
      auto take = [&column](const auto& values) {
        for (const auto& v : values) column.numbers.push_back(static_cast<double>(v));
      };
      if (datatype == "FP32")
        take(c.fp32_contents());
      else if (datatype == "FP64")
        take(c.fp64_contents());
      else if (datatype == "INT64")
        take(c.int64_contents());
      else if (datatype == "UINT64")
        take(c.uint64_contents());
      else if (datatype == "BOOL")
        take(c.bool_contents());
      else if (datatype == "UINT8" || datatype == "UINT16" || datatype == "UINT32")
        take(c.uint_contents());
      else
        take(c.int_contents());
      if (static_cast<int64_t>(column.numbers.size()) != elements) {
        return TensorError(name, absl::StrCat(column.numbers.size(), " ", datatype,
                                              " values for shape with ", elements, " elements"));
      }
    }
  }
  return columns;
}

absl::Status OutputsToInferResponse(const exporting::OutputMap& outputs,
                                    const ModelInferRequest& request,
                                    ModelInferResponse& response) {
  std::set<std::string> wanted;
  for (const auto& output : request.outputs()) wanted.insert(output.name());
  std::set<std::string> known;
  for (const auto& [name, values] : outputs) {
    const int64_t rows = values.rows();
    const std::string predictions = name + "::predictions";
    known.insert(predictions);
    if (values.type == "binary" || values.type == "category") {
      std::string raw;
      for (const std::string& label : values.labels) AppendRawBytes(label, raw);
      AddOutput(predictions, "BYTES", {rows}, std::move(raw), wanted, response);
      known.insert(name + "::probabilities");
      known.insert(name + "::probability");
      AddOutput(name + "::probabilities", "FP32",
                {rows, static_cast<int64_t>(values.class_names.size())},
                RawFloats(values.probabilities), wanted, response);
      AddOutput(name + "::probability", "FP32", {rows}, RawFloats(values.probability), wanted,
                response);
    } else if (values.type == "number") {
      AddOutput(predictions, "FP32", {rows}, RawFloats(values.numbers), wanted, response);
    } else if (values.type == "vector") {
      std::vector<float> flat;
      for (const auto& row : values.vectors) flat.insert(flat.end(), row.begin(), row.end());
      const int64_t width = values.vectors.empty() ? 0 : values.vectors.front().size();
      AddOutput(predictions, "FP32", {rows, width}, RawFloats(flat), wanted, response);
    } else if (values.type == "set") {
      std::string items, probabilities;
      for (const auto& row : values.items) AppendRawBytes(absl::StrJoin(row, " "), items);
      for (const auto& row : values.item_probabilities) {
        AppendRawBytes(absl::StrJoin(row, " "), probabilities);
      }
      known.insert(name + "::probabilities");
      AddOutput(predictions, "BYTES", {rows}, std::move(items), wanted, response);
      AddOutput(name + "::probabilities", "BYTES", {rows}, std::move(probabilities), wanted,
                response);
    }
  }
  for (const std::string& name : wanted) {
    if (known.count(name) == 0) {
      return absl::InvalidArgumentError(absl::StrCat("unknown requested output '", name, "'"));
    }
  }
  return absl::OkStatus();
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
  response->set_ready(true);
  return Answer(context, absl::OkStatus());
}

grpc::ServerUnaryReactor* KServeService::ModelReady(grpc::CallbackServerContext* context,
                                                    const inference::ModelReadyRequest* request,
                                                    inference::ModelReadyResponse* response) {
  auto pipeline = models_->Get(request->name(), request->version());
  if (pipeline.status().code() == absl::StatusCode::kNotFound ||
      pipeline.status().code() == absl::StatusCode::kInvalidArgument) {
    return Answer(context, pipeline.status());
  }
  response->set_ready(pipeline.ok());
  return Answer(context, absl::OkStatus());
}

grpc::ServerUnaryReactor* KServeService::ServerMetadata(
    grpc::CallbackServerContext* context, const inference::ServerMetadataRequest*,
    inference::ServerMetadataResponse* response) {
  response->set_name("tristage");
  response->set_version(kTristageVersion);
  response->add_extensions("model_repository");
  response->add_extensions("statistics");
  return Answer(context, absl::OkStatus());
}

grpc::ServerUnaryReactor* KServeService::ModelMetadata(
    grpc::CallbackServerContext* context, const inference::ModelMetadataRequest* request,
    inference::ModelMetadataResponse* response) {
  int64_t version = 0;
  auto pipeline = models_->Get(request->name(), request->version(), &version);
  if (!pipeline.ok()) return Answer(context, pipeline.status());
  response->set_name(request->name());
  for (const VersionStatus& status : models_->Index()) {
    if (status.model == request->name() && status.state == "READY") {
      response->add_versions(std::to_string(status.version));
    }
  }
  response->set_platform("tristage_torchscript");
  const exporting::Manifest& manifest = (*pipeline)->manifest();
  for (const exporting::InputSpec& spec : manifest.inputs) {
    auto* input = response->add_inputs();
    input->set_name(spec.name);
    input->set_datatype("BYTES");
    input->add_shape(-1);
  }
  for (const exporting::OutputSpec& spec : manifest.outputs) {
    for (const auto& [key, kind] : spec.keys) {
      auto* output = response->add_outputs();
      output->set_name(key);
      const bool text = kind != "Tensor";
      output->set_datatype(text ? "BYTES" : "FP32");
      output->add_shape(-1);
      if (absl::EndsWith(key, "::probabilities") && !text) {
        output->add_shape(static_cast<int64_t>(spec.class_names.size()));
      }
    }
  }
  return Answer(context, absl::OkStatus());
}

grpc::ServerUnaryReactor* KServeService::ModelInfer(grpc::CallbackServerContext* context,
                                                    const ModelInferRequest* request,
                                                    ModelInferResponse* response) {
  auto inputs = InputsFromInferRequest(*request);
  if (!inputs.ok()) return Answer(context, inputs.status());
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  SubmitToModel(
      models_, request->model_name(), request->model_version(), *inputs, context,
      /*may_run_inline=*/true, [context] { return context->IsCancelled(); },
      [reactor, request, response](absl::StatusOr<exporting::OutputMap> outputs, int64_t version) {
        if (!outputs.ok()) {
          reactor->Finish(ToGrpcStatus(outputs.status()));
          return;
        }
        response->set_model_name(request->model_name());
        response->set_model_version(std::to_string(version));
        response->set_id(request->id());
        reactor->Finish(ToGrpcStatus(OutputsToInferResponse(*outputs, *request, *response)));
      });
  return reactor;
}

grpc::ServerUnaryReactor* KServeService::ModelStatistics(
    grpc::CallbackServerContext* context, const inference::ModelStatisticsRequest* request,
    inference::ModelStatisticsResponse* response) {
  for (const VersionStatus& status : models_->Index()) {
    if (!request->name().empty() && status.model != request->name()) continue;
    if (!request->version().empty() && std::to_string(status.version) != request->version()) {
      continue;
    }
    auto pipeline = models_->Get(status.model, std::to_string(status.version));
    if (!pipeline.ok()) continue;
    const PipelineStats& stats = (*pipeline)->stats();
    inference::ModelStatistics* out = response->add_model_stats();
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
  if (!request->name().empty() && response->model_stats_size() == 0) {
    return Answer(context, models_->Get(request->name(), request->version()).status());
  }
  return Answer(context, absl::OkStatus());
}

grpc::ServerUnaryReactor* KServeService::RepositoryIndex(
    grpc::CallbackServerContext* context, const inference::RepositoryIndexRequest* request,
    inference::RepositoryIndexResponse* response) {
  if (auto* denied = Unauthorized(context, auth_token_)) return denied;
  std::set<std::string> listed;
  for (const VersionStatus& status : models_->Index()) {
    listed.insert(status.model);
    if (request->ready() && status.state != "READY") continue;
    auto* model = response->add_models();
    model->set_name(status.model);
    model->set_version(std::to_string(status.version));
    model->set_state(status.state);
    model->set_reason(status.reason);
  }
  if (!request->ready()) {
    for (const std::string& name : models_->RepositoryModels()) {
      if (listed.count(name) != 0) continue;
      auto* model = response->add_models();
      model->set_name(name);
      model->set_state("UNAVAILABLE");
      model->set_reason("unloaded");
    }
  }
  return Answer(context, absl::OkStatus());
}

grpc::ServerUnaryReactor* KServeService::RepositoryModelLoad(
    grpc::CallbackServerContext* context, const inference::RepositoryModelLoadRequest* request,
    inference::RepositoryModelLoadResponse*) {
  if (auto* denied = Unauthorized(context, auth_token_)) return denied;
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
  // Unloading drains the model's in-flight requests: the control thread waits for that.
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  models_->UnloadAsync(request->model_name(),
                       [reactor](absl::Status status) { reactor->Finish(ToGrpcStatus(status)); });
  return reactor;
}

}  // namespace tristage::server
