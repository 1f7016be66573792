#include "server/rpc/inference_service.h"

#include <deque>
#include <memory>
#include <optional>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "core/export/output_types.h"
#include "server/rpc/status.h"
#include "server/rpc/submit.h"
#include "server/rpc/wire.h"

namespace tristage::server {

namespace {

// The OutputValues fields in `fields` (exporting::OutputField bits) -> `out`.
void CopyFields(const exporting::OutputValues& values, uint32_t fields,
                tristage::v1::OutputFeature& out) {
  if (fields & exporting::kLabels) {
    out.mutable_labels()->Add(values.labels.begin(), values.labels.end());
  }
  if (fields & exporting::kNumbers) {
    out.mutable_numbers()->Add(values.numbers.begin(), values.numbers.end());
  }
  if (fields & exporting::kVectors) {
    for (const auto& row : values.vectors) {
      out.add_vectors()->mutable_values()->Add(row.begin(), row.end());
    }
  }
  if (fields & exporting::kItems) {
    for (const auto& row : values.items) {
      out.add_items()->mutable_values()->Add(row.begin(), row.end());
    }
  }
  if (fields & exporting::kClassNames) {
    out.mutable_class_names()->Add(values.class_names.begin(), values.class_names.end());
  }
  if (fields & exporting::kProbabilities) {
    out.mutable_probabilities()->Add(values.probabilities.begin(), values.probabilities.end());
  }
  if (fields & exporting::kItemProbabilities) {
    for (const auto& row : values.item_probabilities) {
      out.add_item_probabilities()->mutable_values()->Add(row.begin(), row.end());
    }
  }
  if (fields & exporting::kProbability) {
    out.mutable_probability()->Add(values.probability.begin(), values.probability.end());
  }
}

}  // namespace

absl::Status OutputsToProto(const exporting::OutputMap& outputs,
                            const google::protobuf::RepeatedPtrField<std::string>& wanted,
                            tristage::v1::PredictResponse& response) {
  std::set<std::string> names(wanted.begin(), wanted.end());
  for (const auto& [name, values] : outputs) {
    // Filtered by the request's list while it has one (not by what is left of it: once every
    // wanted output was found, the rest must still be left out).
    if (!wanted.empty() && names.erase(name) == 0) continue;
    tristage::v1::OutputFeature& out = (*response.mutable_outputs())[name];
    out.set_type(values.type);
    // The fields the type's entry names; all of them for a type this build does not know.
    const exporting::OutputType* type = exporting::FindOutputType(values.type);
    CopyFields(values, type != nullptr ? type->fields : ~uint32_t{0}, out);
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
      models, request.model_name(), request.model_version(), inputs, CallDeadline(*context),
      may_run_inline, std::move(cancelled),
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

  PredictStreamReactor(ModelManager* models, Drain* drain, grpc::CallbackServerContext* context)
      : models_(models), drain_(drain), context_(context), state_(std::make_shared<State>()) {
    state_->reactor = this;
    // Runs at once, here, when the server already drains.
    drain_listener_ = drain_->AddListener([state = state_] {
      absl::MutexLock lock(&state->mu);
      if (state->reactor != nullptr) state->reactor->StopTakingRequestsLocked();
    });
    absl::MutexLock lock(&state_->mu);
    if (!finished_) StartRead(&request_);
  }

  void OnReadDone(bool ok) override {
    // A request read after the server began to drain is not taken: the stream ends after the
    // answers to those it accepted.
    Drain::Call call = ok ? drain_->Begin() : Drain::Call();
    if (!ok || !call) {
      absl::MutexLock lock(&state_->mu);
      if (ok) StopTakingRequestsLocked();
      reads_done_ = true;  // the client closed its side, or we stopped reading
      MaybeFinishLocked();
      return;
    }
    auto slot = std::make_shared<Slot>();
    slot->call = std::move(call);
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
    drain_->RemoveListener(drain_listener_);  // waits for a listener that is running
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
    Drain::Call call;  // held until the answer is written (or the stream ended)
  };

  // Drain: no more reads; what was accepted is answered, then the stream ends UNAVAILABLE.
  void StopTakingRequestsLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(state_->mu) {
    end_status_ = grpc::Status(grpc::StatusCode::UNAVAILABLE, Drain::kShuttingDown);
    reads_done_ = true;
    MaybeFinishLocked();
  }
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
    if (reads_done_ && slots_.empty() && !writing_ && !finished_) FinishLocked(end_status_);
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
  Drain* const drain_;
  grpc::CallbackServerContext* const context_;
  const std::shared_ptr<State> state_;
  int64_t drain_listener_ = 0;            // set in the constructor, before any reaction
  tristage::v1::PredictRequest request_;  // the read buffer
  std::deque<std::shared_ptr<Slot>> slots_ ABSL_GUARDED_BY(state_->mu);
  bool reads_done_ ABSL_GUARDED_BY(state_->mu) = false;
  bool read_paused_ ABSL_GUARDED_BY(state_->mu) = false;
  bool writing_ ABSL_GUARDED_BY(state_->mu) = false;
  bool finished_ ABSL_GUARDED_BY(state_->mu) = false;
  std::optional<grpc::Status> pending_finish_ ABSL_GUARDED_BY(state_->mu);
  grpc::Status end_status_ ABSL_GUARDED_BY(state_->mu) = grpc::Status::OK;
};

}  // namespace

grpc::ServerBidiReactor<tristage::v1::PredictRequest, tristage::v1::PredictResponse>*
InferenceService::PredictStream(grpc::CallbackServerContext* context) {
  return new PredictStreamReactor(models_, drain_, context);
}

grpc::ServerUnaryReactor* InferenceService::Predict(grpc::CallbackServerContext* context,
                                                    const grpc::ByteBuffer* request_bytes,
                                                    grpc::ByteBuffer* response_bytes) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  auto call = std::make_shared<Drain::Call>(drain_->Begin());
  if (!*call) {
    reactor->Finish(grpc::Status(grpc::StatusCode::UNAVAILABLE, Drain::kShuttingDown));
    return reactor;
  }
  // Parsed here, used only until SubmitPredict returns (it keeps what it needs).
  tristage::v1::PredictRequest request;
  if (absl::Status parsed = ParseRequest(*request_bytes, request); !parsed.ok()) {
    reactor->Finish(ToGrpcStatus(parsed));
    return reactor;
  }
  auto inputs = InputsFromProto(request);
  if (!inputs.ok()) {
    reactor->Finish(ToGrpcStatus(inputs.status()));
    return reactor;
  }
  SubmitPredict(
      models_, request, *inputs, context, /*may_run_inline=*/true,
      [context] { return context->IsCancelled(); },
      [reactor, response_bytes, call](absl::StatusOr<tristage::v1::PredictResponse> answer) {
        absl::Status status = answer.status();
        if (status.ok()) status = SerializeResponse(*answer, *response_bytes);
        reactor->Finish(ToGrpcStatus(status));
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
