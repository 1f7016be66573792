// ServingCollector: the model pipelines' counters as Prometheus families, read at scrape time,
// with Triton's meanings under a tristage_ prefix:
//   tristage_inference_request_success / _failure{reason}   requests answered, by outcome
//   tristage_inference_count / tristage_inference_exec_count  rows inferred / batches executed
//   tristage_inference_request_duration_us, _queue_duration_us, _compute_input_duration_us,
//   _compute_infer_duration_us, _compute_output_duration_us   cumulative microseconds
//   tristage_inference_pending_request_count                  requests accepted, not yet answered
//   tristage_inference_batch_size                             histogram of executed batch sizes
// every one labelled {model, version}. Failure reasons: REJECTED (queue full), INVALID (bad
// input), TIMEOUT (deadline), CANCELED (client), BACKEND (a stage failed).
//
// Thread safety: Collect() may run concurrently with serving; it only reads atomics.
#ifndef TRISTAGE_SERVER_METRICS_SERVING_METRICS_H_
#define TRISTAGE_SERVER_METRICS_SERVING_METRICS_H_

#include <vector>

#include "prometheus/collectable.h"
#include "server/serving/model_manager.h"

namespace tristage::server {

class ServingCollector : public prometheus::Collectable {
 public:
  explicit ServingCollector(const ModelManager* models) : models_(models) {}
  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  const ModelManager* const models_;
};

}  // namespace tristage::server

#endif  // TRISTAGE_SERVER_METRICS_SERVING_METRICS_H_
