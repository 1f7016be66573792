#include "server/rpc/submit.h"

#include <chrono>
#include <memory>

namespace tristage::server {

void SubmitToModel(
    ModelManager* models, const std::string& model, const std::string& version,
    const exporting::InputColumns& inputs, absl::Time deadline, bool may_run_inline,
    std::function<bool()> cancelled,
    std::function<void(absl::StatusOr<exporting::OutputMap>, int64_t version)> done) {
  auto shared_done = std::make_shared<decltype(done)>(std::move(done));
  absl::Status submitted;
  for (int attempt = 0; attempt < 2; ++attempt) {
    int64_t resolved = 0;
    auto pipeline = models->Get(model, version, &resolved);
    if (!pipeline.ok()) {
      submitted = pipeline.status();
      break;
    }
    auto infer = std::make_unique<InferRequest>();
    infer->inputs = inputs;
    infer->may_run_inline = may_run_inline;
    infer->deadline = deadline;
    infer->cancelled = cancelled;
    infer->done = [shared_done, resolved](absl::StatusOr<exporting::OutputMap> outputs) {
      (*shared_done)(std::move(outputs), resolved);
    };
    submitted = (*pipeline)->Submit(std::move(infer));
    if (submitted.code() != absl::StatusCode::kUnavailable) break;
  }
  if (!submitted.ok()) (*shared_done)(submitted, 0);
}

absl::Time CallDeadline(const grpc::ServerContextBase& context) {
  if (context.deadline() == std::chrono::system_clock::time_point::max()) {
    return absl::InfiniteFuture();
  }
  return absl::FromChrono(context.deadline());
}

}  // namespace tristage::server
