// Averages gradients over the ranks of a ProcessGroup the way PyTorch's DistributedDataParallel
// does: the parameters are put in buckets in reverse order (the order backward produces their
// gradients), the first bucket small (1 MiB) so that communication starts early and the others up
// to 25 MiB; a hook on each parameter notes its gradient, and as soon as a bucket's gradients are
// all there the bucket is flattened and its all-reduce starts on Gloo's threads while backward goes
// on. Buckets start strictly in order on every rank (so the collectives match); Finish starts those
// whose parameters got no gradient (as zeros), waits, divides by the world size and writes each
// parameter's averaged gradient into its .grad.
//
// libtorch's own c10d::Reducer needs headers that Debian's libtorch-dev does not ship
// (torch/csrc/distributed/autograd), so this is the same scheme in a few lines.
// Internal to core; includes torch. Thread safety: the training thread only (CPU autograd runs the
// hooks on the thread that calls backward).
#ifndef TRISTAGE_CORE_DISTRIBUTED_GRADIENT_REDUCER_H_
#define TRISTAGE_CORE_DISTRIBUTED_GRADIENT_REDUCER_H_

#include <torch/torch.h>

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "core/distributed/process_group.h"

namespace tristage::distributed {

class GradientReducer {
 public:
  static constexpr int64_t kBucketBytes = int64_t{25} << 20;
  static constexpr int64_t kFirstBucketBytes = int64_t{1} << 20;

  // `parameters` must be the same list, in the same order, on every rank.
  GradientReducer(ProcessGroup& group, std::vector<torch::Tensor> parameters,
                  int64_t bucket_bytes = kBucketBytes,
                  int64_t first_bucket_bytes = kFirstBucketBytes);
  ~GradientReducer();  // removes the hooks
  GradientReducer(const GradientReducer&) = delete;
  GradientReducer& operator=(const GradientReducer&) = delete;

  // Before each backward.
  void Prepare();
  // After backward; `what` names the step in errors.
  absl::Status Finish(const std::string& what);

  int64_t buckets() const { return static_cast<int64_t>(buckets_.size()); }
  // Seconds Finish spent waiting for all-reduces that backward did not hide, summed.
  double exposed_seconds() const { return exposed_seconds_; }

 private:
  struct Bucket {
    std::vector<size_t> parameters;  // indices into parameters_
    std::vector<int64_t> offsets;    // of each parameter in `flat`
    int64_t numel = 0;
    torch::Tensor flat;
    size_t pending = 0;  // gradients not yet noted this step
    bool started = false;
    c10::intrusive_ptr<c10d::Work> work;
  };

  void OnGradient(size_t parameter, const torch::Tensor& gradient);
  void Start(Bucket& bucket);
  void StartReady();

  ProcessGroup& group_;
  std::vector<torch::Tensor> parameters_;
  std::vector<unsigned> hooks_;
  std::vector<torch::Tensor> gradients_;  // this step's, by parameter
  std::vector<size_t> bucket_of_;         // by parameter
  std::vector<Bucket> buckets_;
  size_t next_ = 0;  // the first bucket not started
  absl::Status error_;
  double exposed_seconds_ = 0;
};

}  // namespace tristage::distributed

#endif  // TRISTAGE_CORE_DISTRIBUTED_GRADIENT_REDUCER_H_
