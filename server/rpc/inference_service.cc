#include "server/rpc/inference_service.h"

#include <chrono>
#include <set>

#include "absl/strings/str_cat.h"
#include "server/rpc/status.h"

namespace tristage::server {

absl::StatusOr<exporting::InputColumns> InputsFromProto(
    const tristage::v1::PredictRequest& request) {
  exporting::InputColumns columns;
  for (const auto& [name, proto] : request.inputs()) {
    exporting::InputColumn& column = columns[name];
    column.width = proto.width() > 0 ? proto.width() : 1;
    switch (proto.values_case()) {
      case tristage::v1::InputColumn::kStrings:
        column.strings.assign(proto.strings().values().begin(), proto.strings().values().end());
        break;
      case tristage::v1::InputColumn::kDoubles:
        column.is_strings = false;
        column.numbers.assign(proto.doubles().values().begin(), proto.doubles().values().end());
        break;
      case tristage::v1::InputColumn::kInt64S:
        column.is_strings = false;
        for (int64_t v : proto.int64s().values()) column.numbers.push_back(static_cast<double>(v));
        break;
      case tristage::v1::InputColumn::kBools:
        column.is_strings = false;
        for (bool v : proto.bools().values()) column.numbers.push_back(v ? 1.0 : 0.0);
        break;
      default:
        return absl::InvalidArgumentError(absl::StrCat("input '", name, "' has no values"));
    }
  }
  return columns;
}

absl::Status OutputsToProto(const exporting::OutputMap& outputs,
                            const google::protobuf::RepeatedPtrField<std::string>& wanted,
                            tristage::v1::PredictResponse& response) {
  std::set<std::string> names(wanted.begin(), wanted.end());
  for (const auto& [name, values] : outputs) {
    if (!names.empty() && names.erase(name) == 0) continue;
    tristage::v1::OutputFeature& out = (*response.mutable_outputs())[name];
    out.set_type(values.type);
    out.mutable_labels()->Add(values.labels.begin(), values.labels.end());
    out.mutable_numbers()->Add(values.numbers.begin(), values.numbers.end());
    for (const auto& row : values.vectors) {
      out.add_vectors()->mutable_values()->Add(row.begin(), row.end());
    }
    for (const auto& row : values.items) {
      out.add_items()->mutable_values()->Add(row.begin(), row.end());
    }
    out.mutable_class_names()->Add(values.class_names.begin(), values.class_names.end());
    out.mutable_probabilities()->Add(values.probabilities.begin(), values.probabilities.end());
    for (const auto& row : values.item_probabilities) {
      out.add_item_probabilities()->mutable_values()->Add(row.begin(), row.end());
    }
    out.mutable_probability()->Add(values.probability.begin(), values.probability.end());
  }
  if (!names.empty() && !wanted.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown output '", *names.begin(), "' in the request's outputs"));
  }
  return absl::OkStatus();
}

grpc::ServerUnaryReactor* InferenceService::Predict(grpc::CallbackServerContext* context,
                                                    const tristage::v1::PredictRequest* request,
                                                    tristage::v1::PredictResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  auto inputs = InputsFromProto(*request);
  if (!inputs.ok()) {
    reactor->Finish(ToGrpcStatus(inputs.status()));
    return reactor;
  }
  // A version being replaced refuses new work (Unavailable) after the manager already points at
  // its successor: one retry lands there.
  absl::Status submitted;
  for (int attempt = 0; attempt < 2; ++attempt) {
    int64_t version = 0;
    auto pipeline = models_->Get(request->model_name(), request->model_version(), &version);
    if (!pipeline.ok()) {
      submitted = pipeline.status();
      break;
    }
    auto infer = std::make_unique<InferRequest>();
    infer->inputs = *inputs;
    if (context->deadline() != std::chrono::system_clock::time_point::max()) {
      infer->deadline = absl::FromChrono(context->deadline());
    }
    infer->cancelled = [context] { return context->IsCancelled(); };
    infer->done = [reactor, request, response,
                   version](absl::StatusOr<exporting::OutputMap> outputs) {
      if (!outputs.ok()) {
        reactor->Finish(ToGrpcStatus(outputs.status()));
        return;
      }
      response->set_model_name(request->model_name());
      response->set_model_version(std::to_string(version));
      response->set_id(request->id());
      response->set_rows(outputs->empty() ? 0 : outputs->front().second.rows());
      reactor->Finish(ToGrpcStatus(OutputsToProto(*outputs, request->outputs(), *response)));
    };
    submitted = (*pipeline)->Submit(std::move(infer));
    if (submitted.code() != absl::StatusCode::kUnavailable) break;
  }
  if (!submitted.ok()) reactor->Finish(ToGrpcStatus(submitted));
  return reactor;
}

grpc::ServerUnaryReactor* InferenceService::ModelMetadata(
    grpc::CallbackServerContext* context, const tristage::v1::ModelMetadataRequest* request,
    tristage::v1::ModelMetadataResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  int64_t version = 0;
  auto pipeline = models_->Get(request->model_name(), request->model_version(), &version);
  if (!pipeline.ok()) {
    reactor->Finish(ToGrpcStatus(pipeline.status()));
    return reactor;
  }
  const exporting::Manifest& manifest = (*pipeline)->manifest();
  response->set_model_name(request->model_name());
  response->set_model_version(std::to_string(version));
  for (const exporting::InputSpec& spec : manifest.inputs) {
    tristage::v1::ModelInput* input = response->add_inputs();
    input->set_name(spec.name);
    input->set_column(spec.column);
    input->set_type(spec.type);
    input->mutable_accepts()->Add(spec.accepts.begin(), spec.accepts.end());
  }
  for (const exporting::OutputSpec& spec : manifest.outputs) {
    tristage::v1::ModelOutput* output = response->add_outputs();
    output->set_name(spec.name);
    output->set_type(spec.type);
    output->mutable_class_names()->Add(spec.class_names.begin(), spec.class_names.end());
  }
  response->set_max_batch_size((*pipeline)->config().max_batch_size);
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

}  // namespace tristage::server
