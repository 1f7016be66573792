#include "server/metrics/serving_metrics.h"

#include <map>
#include <string>

#include "prometheus/metric_family.h"

namespace tristage::server {
namespace {

prometheus::ClientMetric Labelled(const std::string& model, int64_t version) {
  prometheus::ClientMetric metric;
  metric.label = {{"model", model}, {"version", std::to_string(version)}};
  return metric;
}

}  // namespace

std::vector<prometheus::MetricFamily> ServingCollector::Collect() const {
  struct Family {
    const char* name;
    const char* help;
    prometheus::MetricType type;
  };
  static const Family kFamilies[] = {
      {"tristage_inference_request_success", "Requests answered successfully.",
       prometheus::MetricType::Counter},
      {"tristage_inference_request_failure", "Requests that failed, by reason.",
       prometheus::MetricType::Counter},
      {"tristage_inference_count", "Rows inferred (a request carries one or more).",
       prometheus::MetricType::Counter},
      {"tristage_inference_exec_count", "Batches executed.", prometheus::MetricType::Counter},
      {"tristage_inference_request_duration_us",
       "Cumulative end-to-end time of successful requests.", prometheus::MetricType::Counter},
      {"tristage_inference_queue_duration_us", "Cumulative time requests waited for a batch.",
       prometheus::MetricType::Counter},
      {"tristage_inference_compute_input_duration_us",
       "Cumulative preprocessor stage compute time.", prometheus::MetricType::Counter},
      {"tristage_inference_compute_infer_duration_us", "Cumulative predictor stage compute time.",
       prometheus::MetricType::Counter},
      {"tristage_inference_compute_output_duration_us",
       "Cumulative postprocessor stage compute time.", prometheus::MetricType::Counter},
      {"tristage_inference_pending_request_count", "Requests accepted and not yet answered.",
       prometheus::MetricType::Gauge},
      {"tristage_inference_batch_size", "Rows per executed batch.",
       prometheus::MetricType::Histogram},
      {"tristage_model_state",
       "1 for each model version's lifecycle state (LOADING, AVAILABLE, UNLOADING, FAILED), 0 for "
       "the others.",
       prometheus::MetricType::Gauge},
  };
  std::vector<prometheus::MetricFamily> families;
  for (const Family& f : kFamilies) {
    prometheus::MetricFamily family;
    family.name = f.name;
    family.help = f.help;
    family.type = f.type;
    families.push_back(std::move(family));
  }
  auto counter = [](prometheus::ClientMetric metric, double value) {
    metric.counter.value = value;
    return metric;
  };
  const std::vector<VersionStatus> index = models_->Index();
  for (const VersionStatus& status : index) {
    for (VersionState state : kVersionStates) {
      if (state == VersionState::kEnd) continue;  // an ended version is not listed
      prometheus::ClientMetric metric = Labelled(status.model, status.version);
      metric.label.push_back({"state", VersionStateName(state)});
      metric.gauge.value = state == status.state ? 1 : 0;
      families[11].metric.push_back(std::move(metric));
    }
  }
  for (const VersionStatus& status : index) {
    if (status.state != VersionState::kAvailable) continue;
    auto pipeline = models_->Get(status.model, std::to_string(status.version));
    if (!pipeline.ok()) continue;
    const PipelineStats& s = (*pipeline)->stats();
    const prometheus::ClientMetric base = Labelled(status.model, status.version);
    families[0].metric.push_back(counter(base, s.requests_ok.load()));
    const std::pair<const char*, int64_t> reasons[] = {{"REJECTED", s.rejected.load()},
                                                       {"INVALID", s.failed_invalid.load()},
                                                       {"TIMEOUT", s.failed_timeout.load()},
                                                       {"CANCELED", s.failed_cancelled.load()},
                                                       {"BACKEND", s.failed_internal.load()}};
    for (const auto& [reason, count] : reasons) {
      prometheus::ClientMetric metric = base;
      metric.label.push_back({"reason", reason});
      families[1].metric.push_back(counter(metric, static_cast<double>(count)));
    }
    families[2].metric.push_back(counter(base, s.rows.load()));
    families[3].metric.push_back(counter(base, s.batches.load()));
    families[4].metric.push_back(counter(base, s.request_us.load()));
    families[5].metric.push_back(counter(base, s.queue_us.load()));
    families[6].metric.push_back(counter(base, s.preprocess_us.load()));
    families[7].metric.push_back(counter(base, s.predict_us.load()));
    families[8].metric.push_back(counter(base, s.postprocess_us.load()));
    prometheus::ClientMetric pending = base;
    pending.gauge.value = static_cast<double>((*pipeline)->pending());
    families[9].metric.push_back(pending);
    prometheus::ClientMetric histogram = base;
    uint64_t cumulative = 0;
    for (int b = 0; b < PipelineStats::kBuckets; ++b) {
      cumulative += static_cast<uint64_t>(s.batch_size_buckets[b].load());
      prometheus::ClientMetric::Bucket bucket;
      bucket.cumulative_count = cumulative;
      bucket.upper_bound = b < PipelineStats::kBuckets - 1
                               ? static_cast<double>(PipelineStats::kBatchBuckets[b])
                               : std::numeric_limits<double>::infinity();
      histogram.histogram.bucket.push_back(bucket);
    }
    histogram.histogram.sample_count = cumulative;
    histogram.histogram.sample_sum = static_cast<double>(s.batch_size_sum.load());
    families[10].metric.push_back(histogram);
  }
  return families;
}

}  // namespace tristage::server
