#include "core/distributed/gradient_reducer.h"

#include <chrono>

namespace tristage::distributed {

GradientReducer::GradientReducer(ProcessGroup& group, std::vector<torch::Tensor> parameters,
                                 int64_t bucket_bytes, int64_t first_bucket_bytes)
    : group_(group), parameters_(std::move(parameters)) {
  gradients_.resize(parameters_.size());
  bucket_of_.resize(parameters_.size());
  int64_t bytes = 0;
  for (size_t k = parameters_.size(); k-- > 0;) {
    const torch::Tensor& p = parameters_[k];
    const int64_t cap = buckets_.size() <= 1 ? first_bucket_bytes : bucket_bytes;
    const bool new_bucket =
        buckets_.empty() || bytes >= cap ||
        parameters_[buckets_.back().parameters.front()].scalar_type() != p.scalar_type();
    if (new_bucket) {
      buckets_.emplace_back();
      bytes = 0;
    }
    Bucket& bucket = buckets_.back();
    bucket.parameters.push_back(k);
    bucket.offsets.push_back(bucket.numel);
    bucket.numel += p.numel();
    bytes += p.numel() * static_cast<int64_t>(p.element_size());
    bucket_of_[k] = buckets_.size() - 1;
  }
  for (Bucket& bucket : buckets_) {
    bucket.flat = torch::zeros({bucket.numel}, parameters_[bucket.parameters.front()].options());
  }
  for (size_t k = 0; k < parameters_.size(); ++k) {
    hooks_.push_back(parameters_[k].register_hook(
        [this, k](const torch::Tensor& gradient) { OnGradient(k, gradient); }));
  }
}

GradientReducer::~GradientReducer() {
  for (size_t k = 0; k < hooks_.size(); ++k) parameters_[k].remove_hook(hooks_[k]);
}

void GradientReducer::Prepare() {
  for (Bucket& bucket : buckets_) {
    bucket.pending = bucket.parameters.size();
    bucket.started = false;
    bucket.work.reset();
  }
  for (torch::Tensor& g : gradients_) g = torch::Tensor();
  next_ = 0;
  error_ = absl::OkStatus();
}

void GradientReducer::OnGradient(size_t parameter, const torch::Tensor& gradient) {
  if (gradients_[parameter].defined()) {
    gradients_[parameter] = gradients_[parameter] + gradient;  // a second path into this leaf
    return;
  }
  gradients_[parameter] = gradient;
  Bucket& bucket = buckets_[bucket_of_[parameter]];
  if (bucket.pending > 0 && --bucket.pending == 0) StartReady();
}

void GradientReducer::Start(Bucket& bucket) {
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < bucket.parameters.size(); ++i) {
    const size_t k = bucket.parameters[i];
    torch::Tensor slot = bucket.flat.slice(0, bucket.offsets[i],
                                           bucket.offsets[i] + parameters_[k].numel());
    if (gradients_[k].defined()) {
      slot.copy_(gradients_[k].reshape({-1}));
    } else {
      slot.zero_();  // no gradient this step: counts as zero, as DDP's find_unused_parameters
    }
  }
  bucket.started = true;
  if (!error_.ok()) return;
  try {
    bucket.work = group_.StartAllReduce(bucket.flat);
  } catch (const std::exception& e) {
    error_ = group_.Failure("starting the all-reduce of gradients", e);
  }
}

void GradientReducer::StartReady() {
  while (next_ < buckets_.size() && buckets_[next_].pending == 0) Start(buckets_[next_++]);
}

absl::Status GradientReducer::Finish(const std::string& what) {
  for (; next_ < buckets_.size(); ++next_) Start(buckets_[next_]);
  const auto start = std::chrono::steady_clock::now();
  for (Bucket& bucket : buckets_) {
    if (!error_.ok()) break;
    if (bucket.work) {
      absl::Status waited = group_.Wait(bucket.work, what);
      if (!waited.ok()) error_ = waited;
    }
  }
  exposed_seconds_ +=
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (!error_.ok()) return error_;
  torch::NoGradGuard no_grad;
  const double world = static_cast<double>(group_.size());
  for (Bucket& bucket : buckets_) {
    bucket.flat.div_(world);
    for (size_t i = 0; i < bucket.parameters.size(); ++i) {
      torch::Tensor& p = parameters_[bucket.parameters[i]];
      torch::Tensor averaged =
          bucket.flat.slice(0, bucket.offsets[i], bucket.offsets[i] + p.numel()).view_as(p);
      if (p.grad().defined()) {
        p.mutable_grad().copy_(averaged);
      } else {
        p.mutable_grad() = averaged.clone();
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace tristage::distributed
