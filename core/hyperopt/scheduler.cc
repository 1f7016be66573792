#include "core/hyperopt/scheduler.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/hyperopt/checks.h"
#include "core/util/strings.h"

namespace tristage::hyperopt {
namespace {

using Json = nlohmann::json;
using internal::Error;

constexpr char kRoot[] = "hyperopt.scheduler";
// More rungs than any real run has epochs to fill; only a reduction_factor barely above 1 gets
// there, and it would cost memory for nothing.
constexpr int kMaxRungs = 1000;

std::string Key(absl::string_view key) {
  return absl::StrCat(kRoot, ".", key);
}

class FifoScheduler : public TrialScheduler {
 public:
  Decision OnEpoch(int64_t, int64_t, double, double) override { return Decision::kContinue; }
  void OnTrialEnd(int64_t) override {}
};

struct AshaOptions {
  bool use_seconds = false;  // time_attr time_total_s; else training_iteration (epochs)
  double max_t = 100;
  double grace_period = 1;
  double reduction_factor = 4;
};

// numpy.nanpercentile(values, percent) with the default linear interpolation; nullopt when no
// value is a number.
std::optional<double> NanPercentile(std::vector<double> values, double percent) {
  values.erase(std::remove_if(values.begin(), values.end(), [](double v) { return std::isnan(v); }),
               values.end());
  if (values.empty()) return std::nullopt;
  std::sort(values.begin(), values.end());
  const double position = percent / 100 * static_cast<double>(values.size() - 1);
  const size_t below = static_cast<size_t>(std::floor(position));
  const size_t above = std::min(below + 1, values.size() - 1);
  const double fraction = position - static_cast<double>(below);
  if (fraction == 0 || values[below] == values[above]) return values[below];
  return values[below] + fraction * (values[above] - values[below]);
}

// Ray's AsyncHyperBandScheduler with one bracket (s = 0). Ray maximizes a reward; to stay
// comparable to it line by line, this keeps Ray's rewards (-score) and its comparisons.
class AshaScheduler : public TrialScheduler {
 public:
  explicit AshaScheduler(const AshaOptions& options) : options_(options) {
    // Ray's rungs are min_t * rf^k for k below log(max_t / min_t) / log(rf) + 1, visited from the
    // highest; the one at max_t itself never decides anything (max_t stops first), so it is left
    // out.
    for (int k = 0;; ++k) {
      const double milestone = options.grace_period * std::pow(options.reduction_factor, k);
      if (milestone >= options.max_t) break;
      rungs_.push_back(Rung{milestone, {}});
    }
    std::reverse(rungs_.begin(), rungs_.end());
  }

  Decision OnEpoch(int64_t trial, int64_t epoch, double seconds, double score) override {
    const double time = options_.use_seconds ? seconds : static_cast<double>(epoch);
    if (time >= options_.max_t) return Decision::kStop;
    const double reward = -score;
    // The highest rung reached that has no result of this trial yet records it (a trial that
    // jumped over rungs, as time_total_s can, fills the lower ones on its next results).
    for (Rung& rung : rungs_) {
      if (time < rung.milestone || rung.recorded.count(trial) != 0) continue;
      std::vector<double> recorded;
      recorded.reserve(rung.recorded.size());
      for (const auto& [other, other_reward] : rung.recorded) recorded.push_back(other_reward);
      // Continuing needs a reward in the top 1/rf of those recorded here before.
      const std::optional<double> cutoff =
          NanPercentile(std::move(recorded), (1 - 1 / options_.reduction_factor) * 100);
      rung.recorded[trial] = reward;
      return cutoff.has_value() && reward < *cutoff ? Decision::kStop : Decision::kContinue;
    }
    return Decision::kContinue;
  }

  // Ray forgets the trial but keeps its results in the rungs: later trials are still compared
  // with it.
  void OnTrialEnd(int64_t) override {}

 private:
  struct Rung {
    double milestone;
    std::map<int64_t, double> recorded;  // trial -> reward (-score) when it reached the rung
  };

  const AshaOptions options_;
  std::vector<Rung> rungs_;  // highest milestone first
};

absl::StatusOr<AshaOptions> ParseAsha(const Json& config) {
  if (absl::Status status = internal::CheckKeys(
          config, kRoot,
          {"type", "time_attr", "max_t", "grace_period", "reduction_factor", "brackets"});
      !status.ok()) {
    return status;
  }
  AshaOptions options;
  absl::StatusOr<std::string> time_attr =
      internal::OptionalString(config, kRoot, "time_attr", "training_iteration");
  if (!time_attr.ok()) return time_attr.status();
  if (*time_attr != "training_iteration" && *time_attr != "time_total_s") {
    return Error(Key("time_attr"), absl::StrCat("unknown time attribute '", *time_attr,
                                                "' (known: time_total_s, training_iteration)"));
  }
  options.use_seconds = *time_attr == "time_total_s";

  absl::StatusOr<double> max_t = internal::OptionalNumber(config, kRoot, "max_t", options.max_t);
  if (!max_t.ok()) return max_t.status();
  if (*max_t <= 0)
    return Error(Key("max_t"), absl::StrCat("must be > 0, got ", FormatNumber(*max_t)));
  options.max_t = *max_t;

  absl::StatusOr<double> grace =
      internal::OptionalNumber(config, kRoot, "grace_period", options.grace_period);
  if (!grace.ok()) return grace.status();
  if (*grace < 1) {
    return Error(Key("grace_period"), absl::StrCat("must be >= 1, got ", FormatNumber(*grace)));
  }
  if (*grace > options.max_t) {
    return Error(Key("grace_period"),
                 absl::StrCat("must be <= max_t (", FormatNumber(options.max_t), "), got ",
                              FormatNumber(*grace)));
  }
  options.grace_period = *grace;

  absl::StatusOr<double> factor =
      internal::OptionalNumber(config, kRoot, "reduction_factor", options.reduction_factor);
  if (!factor.ok()) return factor.status();
  if (*factor <= 1) {
    return Error(Key("reduction_factor"), absl::StrCat("must be > 1, got ", FormatNumber(*factor)));
  }
  if (std::log(options.max_t / options.grace_period) / std::log(*factor) > kMaxRungs) {
    return Error(Key("reduction_factor"),
                 absl::StrCat(FormatNumber(*factor), " makes more than ", kMaxRungs,
                              " rungs between grace_period and max_t"));
  }
  options.reduction_factor = *factor;

  absl::StatusOr<int64_t> brackets = internal::OptionalInteger(config, kRoot, "brackets", 1);
  if (!brackets.ok()) return brackets.status();
  if (*brackets != 1) {
    return Error(Key("brackets"), absl::StrCat("only 1 bracket is supported, got ", *brackets));
  }
  return options;
}

}  // namespace

absl::StatusOr<std::unique_ptr<TrialScheduler>> MakeScheduler(const Json& scheduler) {
  const Json config = scheduler.is_null() ? Json::object() : scheduler;
  if (!config.is_object()) {
    return Error(kRoot, absl::StrCat("expected an object, got ", internal::Describe(config)));
  }
  // Ray's schedulers take these; here they would disagree with the ones the search uses.
  if (config.contains("metric")) {
    return Error(Key("metric"), "is set by hyperopt.metric, not by the scheduler");
  }
  if (config.contains("mode")) {
    return Error(Key("mode"), "is set by hyperopt.goal, not by the scheduler");
  }
  absl::StatusOr<std::string> type = internal::OptionalString(config, kRoot, "type", "fifo");
  if (!type.ok()) return type.status();
  if (*type == "fifo") {
    if (absl::Status status = internal::CheckKeys(config, kRoot, {"type"}); !status.ok()) {
      return status;
    }
    return std::make_unique<FifoScheduler>();
  }
  if (*type == "async_hyperband" || *type == "asha") {
    absl::StatusOr<AshaOptions> options = ParseAsha(config);
    if (!options.ok()) return options.status();
    return std::make_unique<AshaScheduler>(*options);
  }
  return Error(Key("type"), absl::StrCat("unknown scheduler '", *type,
                                         "' (known: asha, async_hyperband, fifo)"));
}

}  // namespace tristage::hyperopt
