#include "server/rpc/inference_service.h"

#include <deque>
#include <memory>
#include <optional>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "server/rpc/status.h"
#include "server/rpc/submit.h"

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
      default: return absl::InvalidArgumentError(absl::StrCat("input '", name, "' has no values"));
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

namespace {

// Submits a Predict request; `done` gets the filled response or the error, once.
void SubmitPredict(ModelManager* models, const tristage::v1::PredictRequest& request,
                   const exporting::InputColumns& inputs, grpc::CallbackServerContext* context,
                   bool may_run_inline, std::function<bool()> cancelled,
                   std::function<void(absl::StatusOr<tristage::v1::PredictResponse>)> done) {
  SubmitToModel(
      models, request.model_name(), request.model_version(), inputs, context, may_run_inline,
      std::move(cancelled),
      [done = std::move(done), name = request.model_name(), id = request.id(),
       wanted = request.outputs()](absl::StatusOr<exporting::OutputMap> outputs, int64_t version) {
        if (!outputs.ok()) {
          done(outputs.status());
          return;
        }
        tristage::v1::PredictResponse response;
        response.set_model_name(name);
        response.set_model_version(std::to_string(version));
        response.set_id(id);
        response.set_rows(outputs->empty() ? 0 : outputs->front().second.rows());
        absl::Status converted = OutputsToProto(*outputs, wanted, response);
        if (!converted.ok()) {
          done(converted);
        } else {
          done(std::move(response));
        }
      });
}

class PredictStreamReactor
    : public grpc::ServerBidiReactor<tristage::v1::PredictRequest, tristage::v1::PredictResponse> {
 public:
  static constexpr size_t kMaxOutstanding = 64;

  PredictStreamReactor(ModelManager* models, grpc::CallbackServerContext* context)
      : models_(models), context_(context), state_(std::make_shared<State>()) {
    state_->reactor = this;
    StartRead(&request_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) {  // the client closed its side
      absl::MutexLock lock(&state_->mu);
      reads_done_ = true;
      MaybeFinishLocked();
      return;
    }
    auto slot = std::make_shared<Slot>();
    {
      absl::MutexLock lock(&state_->mu);
      slots_.push_back(slot);
    }
    auto inputs = InputsFromProto(request_);
    std::shared_ptr<State> state = state_;
    auto done = [state, slot](absl::StatusOr<tristage::v1::PredictResponse> response) {
      absl::MutexLock lock(&state->mu);
      slot->response = std::move(response);
      slot->ready = true;
      if (state->reactor != nullptr) state->reactor->MaybeWriteLocked();
    };
    if (inputs.ok()) {
      // Queued requests may outlive the call (a failed request ends the stream): once OnDone ran,
      // they count as cancelled and the context is not touched.
      auto cancelled = [state, context = context_] {
        absl::MutexLock lock(&state->mu);
        return state->reactor == nullptr || context->IsCancelled();
      };
      SubmitPredict(models_, request_, *inputs, context_, /*may_run_inline=*/false, cancelled,
                    std::move(done));
    } else {
      done(inputs.status());
    }
    absl::MutexLock lock(&state_->mu);
    if (finished_) return;
    if (slots_.size() < kMaxOutstanding) {
      StartRead(&request_);
    } else {
      read_paused_ = true;
    }
  }

  void OnWriteDone(bool ok) override {
    absl::MutexLock lock(&state_->mu);
    writing_ = false;
    if (pending_finish_.has_value()) {
      FinishLocked(*pending_finish_);
      return;
    }
    if (!ok) {  // the client went away
      FinishLocked(grpc::Status(grpc::StatusCode::CANCELLED, "the stream broke"));
      return;
    }
    slots_.pop_front();
    if (read_paused_ && slots_.size() < kMaxOutstanding && !finished_) {
      read_paused_ = false;
      StartRead(&request_);
    }
    MaybeWriteLocked();
    MaybeFinishLocked();
  }

  void OnDone() override {
    {
      absl::MutexLock lock(&state_->mu);
      state_->reactor = nullptr;  // answers still in the pipelines find no stream
    }
    delete this;
  }

 private:
  struct Slot {
    bool ready = false;
    absl::StatusOr<tristage::v1::PredictResponse> response = absl::UnknownError("pending");
  };
  // Shared with the pipelines' callbacks, which may outlive the reactor.
  struct State {
    absl::Mutex mu;
    PredictStreamReactor* reactor ABSL_GUARDED_BY(mu) = nullptr;
  };

  void MaybeWriteLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(state_->mu) {
    if (writing_ || finished_ || slots_.empty() || !slots_.front()->ready) return;
    if (!slots_.front()->response.ok()) {
      FinishLocked(ToGrpcStatus(slots_.front()->response.status()));
      return;
    }
    writing_ = true;
    StartWrite(&*slots_.front()->response);
  }
  void MaybeFinishLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(state_->mu) {
    if (reads_done_ && slots_.empty() && !writing_ && !finished_) FinishLocked(grpc::Status::OK);
  }
  void FinishLocked(const grpc::Status& status) ABSL_EXCLUSIVE_LOCKS_REQUIRED(state_->mu) {
    if (finished_ || writing_) {
      if (!finished_) pending_finish_ = status;  // after the write in flight
      return;
    }
    finished_ = true;
    Finish(status);
  }

  ModelManager* const models_;
  grpc::CallbackServerContext* const context_;
  const std::shared_ptr<State> state_;
  tristage::v1::PredictRequest request_;  // the read buffer
  std::deque<std::shared_ptr<Slot>> slots_ ABSL_GUARDED_BY(state_->mu);
  bool reads_done_ ABSL_GUARDED_BY(state_->mu) = false;
  bool read_paused_ ABSL_GUARDED_BY(state_->mu) = false;
  bool writing_ ABSL_GUARDED_BY(state_->mu) = false;
  bool finished_ ABSL_GUARDED_BY(state_->mu) = false;
  std::optional<grpc::Status> pending_finish_ ABSL_GUARDED_BY(state_->mu);
};

}  // namespace

grpc::ServerBidiReactor<tristage::v1::PredictRequest, tristage::v1::PredictResponse>*
InferenceService::PredictStream(grpc::CallbackServerContext* context) {
  return new PredictStreamReactor(models_, context);
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
  SubmitPredict(
      models_, *request, *inputs, context, /*may_run_inline=*/true,
      [context] { return context->IsCancelled(); },
      [reactor, response](absl::StatusOr<tristage::v1::PredictResponse> answer) {
        if (!answer.ok()) {
          reactor->Finish(ToGrpcStatus(answer.status()));
          return;
        }
        *response = std::move(*answer);
        reactor->Finish(grpc::Status::OK);
      });
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
