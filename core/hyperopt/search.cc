#include "core/hyperopt/search.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/hyperopt/checks.h"
#include "core/util/strings.h"

namespace tristage::hyperopt {
namespace {

using Json = nlohmann::json;
using internal::Error;

constexpr char kRoot[] = "hyperopt.search_alg";

uint64_t SplitMix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// The generator of trial `trial`: seeded with a splitmix64 mix of (seed, trial), so a trial's
// draws do not depend on which trials were suggested before it, and neighbouring trials (or seeds)
// do not get correlated streams.
std::mt19937_64 TrialGenerator(uint64_t seed, int64_t trial) {
  return std::mt19937_64(SplitMix64(SplitMix64(seed) ^ static_cast<uint64_t>(trial)));
}

Json RandomParameters(const std::vector<ParameterSpace>& space, std::mt19937_64& rng) {
  Json parameters = Json::object();
  for (const ParameterSpace& parameter : space) parameters[parameter.path] = Sample(parameter, rng);
  return parameters;
}

// Ray's BasicVariantGenerator: the grid combinations, num_samples times over (once for an all-grid
// space), every other parameter drawn at random per trial.
class VariantGenerator : public SearchAlgorithm {
 public:
  VariantGenerator(std::vector<ParameterSpace> space, int64_t grid_size, int64_t repeats,
                   uint64_t seed)
      : space_(std::move(space)), grid_size_(grid_size), repeats_(repeats), seed_(seed) {}

  int64_t TotalTrials() const override { return grid_size_ * repeats_; }

  Json Suggest(int64_t trial_index) override {
    std::mt19937_64 rng = TrialGenerator(seed_, trial_index);
    Json parameters = RandomParameters(space_, rng);
    // Grid values overwrite the random draws; the last grid parameter varies fastest.
    int64_t combination = std::max<int64_t>(trial_index, 0) % grid_size_;
    for (auto it = space_.rbegin(); it != space_.rend(); ++it) {
      if (it->kind != SpaceKind::kGridSearch) continue;
      const int64_t count = static_cast<int64_t>(it->values.size());
      parameters[it->path] = it->values[combination % count];
      combination /= count;
    }
    return parameters;
  }

  void Observe(int64_t, const Json&, std::optional<double>) override {}

 private:
  const std::vector<ParameterSpace> space_;
  const int64_t grid_size_;  // 1 without grid_search parameters
  const int64_t repeats_;
  const uint64_t seed_;
};

struct TpeOptions {
  int64_t n_initial_points = 10;
  double gamma = 0.25;
  int64_t n_ei_candidates = 24;
};

// One observed value of a parameter, in draw units, and its weight in the density.
struct WeightedPoint {
  double x;
  double weight;
};

// A mixture of Gaussians truncated to [lower, upper] (either may be infinite), the Parzen density
// of one numeric parameter over one group of trials, in the parameter's draw units.
class ParzenMixture {
 public:
  // hyperopt's adaptive Parzen estimator: one component per observation, each as wide as the
  // larger gap to its sorted neighbours (the prior's mean counting as a point), clipped to
  // [prior_sigma / min(100, 1 + n), prior_sigma]; plus the prior itself with `prior_weight`.
  ParzenMixture(std::vector<WeightedPoint> points, double prior_mu, double prior_sigma,
                double prior_weight, double lower, double upper)
      : lower_(lower), upper_(upper) {
    std::stable_sort(points.begin(), points.end(),
                     [](const WeightedPoint& a, const WeightedPoint& b) { return a.x < b.x; });
    const size_t prior_index =
        std::lower_bound(points.begin(), points.end(), prior_mu,
                         [](const WeightedPoint& a, double x) { return a.x < x; }) -
        points.begin();
    points.insert(points.begin() + prior_index, WeightedPoint{prior_mu, prior_weight});
    const size_t n = points.size();
    const double min_sigma = prior_sigma / std::min(100.0, 1.0 + static_cast<double>(n));
    for (size_t i = 0; i < n; ++i) {
      double sigma = prior_sigma;
      if (i != prior_index) {
        const double left = i > 0 ? points[i].x - points[i - 1].x : 0;
        const double right = i + 1 < n ? points[i + 1].x - points[i].x : 0;
        sigma = std::clamp(std::max(left, right), min_sigma, prior_sigma);
      }
      Add(points[i].x, sigma, points[i].weight);
    }
    for (size_t k = 0; k < weights_.size(); ++k) {
      log_weights_.push_back(std::log(weights_[k] / total_weight_));
    }
  }

  double Draw(std::mt19937_64& rng) const {
    std::discrete_distribution<size_t> pick(weights_.begin(), weights_.end());
    const size_t k = pick(rng);
    std::normal_distribution<double> normal(mus_[k], sigmas_[k]);
    // Rejection keeps the draw truncated; every component's mean lies within the bounds and its
    // sigma is at most the range, so a third of its mass does too: the clamp is a fallback only.
    for (int attempt = 0; attempt < 64; ++attempt) {
      const double x = normal(rng);
      if (x >= lower_ && x <= upper_) return x;
    }
    return std::clamp(mus_[k], lower_, upper_);
  }

  // log density at x.
  double LogDensity(double x) const {
    double top = -std::numeric_limits<double>::infinity();
    terms_.resize(mus_.size());
    for (size_t k = 0; k < mus_.size(); ++k) {
      const double z = (x - mus_[k]) / sigmas_[k];
      terms_[k] = log_weights_[k] - 0.5 * z * z - log_norm_[k];
      top = std::max(top, terms_[k]);
    }
    if (!std::isfinite(top)) return top;
    double sum = 0;
    for (double term : terms_) sum += std::exp(term - top);
    return top + std::log(sum);
  }

  // log probability of [a, b].
  double LogMass(double a, double b) const {
    double mass = 0;
    for (size_t k = 0; k < mus_.size(); ++k) {
      mass += std::exp(log_weights_[k] - log_mass_[k]) *
              (Phi((b - mus_[k]) / sigmas_[k]) - Phi((a - mus_[k]) / sigmas_[k]));
    }
    return std::log(std::max(mass, 1e-300));
  }

 private:
  static double Phi(double z) { return 0.5 * std::erfc(-z / std::sqrt(2.0)); }

  void Add(double mu, double sigma, double weight) {
    constexpr double kLogSqrt2Pi = 0.91893853320467274;
    mus_.push_back(mu);
    sigmas_.push_back(sigma);
    weights_.push_back(weight);
    total_weight_ += weight;
    const double mass = Phi((upper_ - mu) / sigma) - Phi((lower_ - mu) / sigma);
    log_mass_.push_back(std::log(std::max(mass, 1e-300)));
    log_norm_.push_back(std::log(sigma) + kLogSqrt2Pi + log_mass_.back());
  }

  const double lower_;
  const double upper_;
  std::vector<double> mus_;
  std::vector<double> sigmas_;
  std::vector<double> weights_;
  double total_weight_ = 0;
  std::vector<double> log_weights_;  // normalized
  std::vector<double> log_mass_;     // of each component within [lower, upper]
  std::vector<double> log_norm_;     // log(sigma * sqrt(2 pi) * mass)
  mutable std::vector<double> terms_;
};

// A group (good or bad) of finished trials' parameters, in trial order, with their weights.
struct Group {
  std::vector<const Json*> trials;
  std::vector<double> weights;
};

// The Tree-structured Parzen Estimator, as the hyperopt library runs it: every parameter is
// modelled on its own (so "tree" is trivial here: Ludwig's spaces have no conditional parameters).
class Tpe : public SearchAlgorithm {
 public:
  Tpe(std::vector<ParameterSpace> space, int64_t num_samples, uint64_t seed, TpeOptions options)
      : space_(std::move(space)), num_samples_(num_samples), seed_(seed), options_(options) {}

  int64_t TotalTrials() const override { return num_samples_; }

  Json Suggest(int64_t trial_index) override {
    std::mt19937_64 rng = TrialGenerator(seed_, trial_index);
    if (trial_index < options_.n_initial_points) return RandomParameters(space_, rng);
    Group good;
    Group bad;
    Split(&good, &bad);
    // Nothing scored yet (every finished trial failed, or none finished): nothing to model.
    if (good.trials.empty()) return RandomParameters(space_, rng);
    Json parameters = Json::object();
    for (const ParameterSpace& parameter : space_) {
      parameters[parameter.path] = IsNumeric(parameter.kind)
                                       ? SuggestNumber(parameter, good, bad, rng)
                                       : SuggestCategory(parameter, good, bad, rng);
    }
    return parameters;
  }

  void Observe(int64_t trial_index, const Json& parameters, std::optional<double> score) override {
    if (score.has_value() && std::isnan(*score)) score.reset();
    observations_[trial_index] = Observation{parameters, score};
  }

 private:
  // hyperopt's prior weight: the prior counts as one observation in each group's density.
  static constexpr double kPriorWeight = 1.0;
  // hyperopt's linear forgetting: in a group of more than this many trials, the older ones weigh
  // less (linearly down to 1/n for the oldest). Without it the random trials of the start, bad for
  // reasons other than a given category, hold that category down for the rest of the run.
  static constexpr size_t kForgetAfter = 25;

  struct Observation {
    Json parameters;
    std::optional<double> score;  // nullopt: failed
  };

  static std::vector<double> ForgettingWeights(size_t n) {
    std::vector<double> weights(n, 1.0);
    if (n <= kForgetAfter) return weights;
    const size_t ramp = n - kForgetAfter;
    for (size_t i = 0; i < ramp; ++i) {
      // numpy.linspace(1 / n, 1, ramp)
      const double t = ramp == 1 ? 0 : static_cast<double>(i) / static_cast<double>(ramp - 1);
      weights[i] = 1.0 / static_cast<double>(n) + t * (1 - 1.0 / static_cast<double>(n));
    }
    return weights;
  }

  // The best ceil(gamma * n) scored trials (at least one) are good, the rest bad; failed trials
  // are bad. Ties go to the earlier trial, so the split is deterministic.
  void Split(Group* good, Group* bad) const {
    std::vector<std::pair<double, int64_t>> scored;
    for (const auto& [index, observation] : observations_) {
      if (observation.score.has_value()) scored.emplace_back(*observation.score, index);
    }
    std::sort(scored.begin(), scored.end());
    const size_t wanted =
        static_cast<size_t>(std::ceil(options_.gamma * static_cast<double>(observations_.size())));
    const size_t good_count = std::min(std::max<size_t>(wanted, 1), scored.size());
    std::vector<int64_t> good_indices;
    for (size_t i = 0; i < good_count; ++i) good_indices.push_back(scored[i].second);
    std::sort(good_indices.begin(), good_indices.end());
    for (const auto& [index, observation] : observations_) {
      const bool is_good = std::binary_search(good_indices.begin(), good_indices.end(), index);
      (is_good ? good : bad)->trials.push_back(&observation.parameters);
    }
    good->weights = ForgettingWeights(good->trials.size());
    bad->weights = ForgettingWeights(bad->trials.size());
  }

  // The value of `parameter` in each trial of `group`, in draw units; trials without a usable
  // value (not from this space) are left out.
  static std::vector<WeightedPoint> PointsOf(const ParameterSpace& parameter, const Group& group) {
    const DrawRange range = DrawRangeOf(parameter);
    std::vector<WeightedPoint> points;
    for (size_t i = 0; i < group.trials.size(); ++i) {
      auto it = group.trials[i]->find(parameter.path);
      if (it == group.trials[i]->end() || !it->is_number()) continue;
      double value = it->get<double>();
      if (range.log) {
        if (!(value > 0)) continue;
        value = std::log(value);
      }
      // randint's value v stands for [v, v + 1).
      if (parameter.kind == SpaceKind::kRandInt) value += 0.5;
      if (!std::isfinite(value)) continue;
      points.push_back({std::clamp(value, range.lower, range.upper), group.weights[i]});
    }
    return points;
  }

  // The draw-unit interval whose draws all give `value`, for the spaces with discrete values.
  static std::optional<std::pair<double, double>> BinOf(const ParameterSpace& parameter,
                                                        double value) {
    const DrawRange range = DrawRangeOf(parameter);
    double a = 0;
    double b = 0;
    if (parameter.kind == SpaceKind::kRandInt) {
      a = value;
      b = value + 1;
    } else if (parameter.q > 0) {
      a = value - parameter.q / 2;
      b = value + parameter.q / 2;
      if (range.log) {
        a = a > 0 ? std::log(a) : range.lower;
        b = std::log(b);
      }
    } else {
      return std::nullopt;
    }
    return std::make_pair(std::max(a, range.lower), std::min(b, range.upper));
  }

  Json SuggestNumber(const ParameterSpace& parameter, const Group& good, const Group& bad,
                     std::mt19937_64& rng) const {
    const DrawRange range = DrawRangeOf(parameter);
    const bool bounded = std::isfinite(range.lower) && std::isfinite(range.upper);
    const double prior_mu = bounded ? 0.5 * (range.lower + range.upper) : parameter.mean;
    const double prior_sigma = bounded ? range.upper - range.lower : parameter.sd;
    const ParzenMixture below(PointsOf(parameter, good), prior_mu, prior_sigma, kPriorWeight,
                              range.lower, range.upper);
    const ParzenMixture above(PointsOf(parameter, bad), prior_mu, prior_sigma, kPriorWeight,
                              range.lower, range.upper);
    Json best;
    double best_ratio = -std::numeric_limits<double>::infinity();
    for (int64_t i = 0; i < options_.n_ei_candidates; ++i) {
      const double draw = below.Draw(rng);
      Json value = ValueAt(parameter, draw);
      double ratio = 0;
      if (auto bin = BinOf(parameter, value.get<double>())) {
        ratio = below.LogMass(bin->first, bin->second) - above.LogMass(bin->first, bin->second);
      } else {
        ratio = below.LogDensity(draw) - above.LogDensity(draw);
      }
      if (best.is_null() || ratio > best_ratio) {
        best = std::move(value);
        best_ratio = ratio;
      }
    }
    return best;
  }

  // hyperopt's categorical estimator: weighted counts plus `kPriorWeight` per category.
  Json SuggestCategory(const ParameterSpace& parameter, const Group& good, const Group& bad,
                       std::mt19937_64& rng) const {
    const std::vector<double> below = CategoryWeights(parameter, good);
    const std::vector<double> above = CategoryWeights(parameter, bad);
    double below_total = 0;
    double above_total = 0;
    for (size_t k = 0; k < below.size(); ++k) {
      below_total += below[k];
      above_total += above[k];
    }
    std::discrete_distribution<size_t> pick(below.begin(), below.end());
    size_t best = 0;
    double best_ratio = -std::numeric_limits<double>::infinity();
    for (int64_t i = 0; i < options_.n_ei_candidates; ++i) {
      const size_t k = pick(rng);
      const double ratio = std::log(below[k] / below_total) - std::log(above[k] / above_total);
      if (ratio > best_ratio) {
        best = k;
        best_ratio = ratio;
      }
    }
    return parameter.values[best];
  }

  static std::vector<double> CategoryWeights(const ParameterSpace& parameter, const Group& group) {
    std::vector<double> weights(parameter.values.size(), kPriorWeight);
    for (size_t i = 0; i < group.trials.size(); ++i) {
      auto it = group.trials[i]->find(parameter.path);
      if (it == group.trials[i]->end()) continue;
      auto match = std::find(parameter.values.begin(), parameter.values.end(), *it);
      if (match != parameter.values.end()) {
        weights[match - parameter.values.begin()] += group.weights[i];
      }
    }
    return weights;
  }

  const std::vector<ParameterSpace> space_;
  const int64_t num_samples_;
  const uint64_t seed_;
  const TpeOptions options_;
  std::map<int64_t, Observation> observations_;  // by trial index: order-independent
};

const std::vector<std::string>& AlgorithmNames() {
  static const auto* names =
      new std::vector<std::string>{"hyperopt", "random", "tpe", "variant_generator"};
  return *names;
}

absl::StatusOr<uint64_t> Seed(const Json& config, uint64_t fallback) {
  auto it = config.find("random_state");
  if (it == config.end() || it->is_null()) return fallback;
  const std::string path = absl::StrCat(kRoot, ".random_state");
  absl::StatusOr<int64_t> seed = internal::ReadInteger(*it, path);
  if (!seed.ok()) return seed.status();
  if (*seed < 0) return Error(path, absl::StrCat("must be >= 0, got ", *seed));
  return static_cast<uint64_t>(*seed);
}

absl::StatusOr<std::unique_ptr<SearchAlgorithm>> MakeVariantGenerator(
    const Json& config, std::vector<ParameterSpace> space, int64_t num_samples, uint64_t seed) {
  if (absl::Status status = internal::CheckKeys(config, kRoot, {"type", "random_state"});
      !status.ok()) {
    return status;
  }
  absl::StatusOr<uint64_t> generator_seed = Seed(config, seed);
  if (!generator_seed.ok()) return generator_seed.status();
  // Bounded so that grid_size * num_samples cannot overflow; no run gets near it.
  constexpr int64_t kMaxTrials = int64_t{1} << 40;
  int64_t grid_size = 1;
  bool all_grid = true;
  for (const ParameterSpace& parameter : space) {
    if (parameter.kind != SpaceKind::kGridSearch) {
      all_grid = false;
      continue;
    }
    grid_size *= static_cast<int64_t>(parameter.values.size());
    if (grid_size > kMaxTrials) {
      return Error("hyperopt.parameters",
                   absl::StrCat("grid_search values make more than ", kMaxTrials, " trials"));
    }
  }
  const int64_t repeats = all_grid ? 1 : num_samples;
  if (grid_size > kMaxTrials / repeats) {
    return Error("hyperopt.parameters",
                 absl::StrCat("grid_search values times num_samples make more than ", kMaxTrials,
                              " trials"));
  }
  return std::make_unique<VariantGenerator>(std::move(space), grid_size, repeats, *generator_seed);
}

absl::StatusOr<std::unique_ptr<SearchAlgorithm>> MakeTpe(const Json& config,
                                                         std::vector<ParameterSpace> space,
                                                         int64_t num_samples, uint64_t seed) {
  if (absl::Status status = internal::CheckKeys(
          config, kRoot, {"type", "random_state", "n_initial_points", "gamma", "n_ei_candidates"});
      !status.ok()) {
    return status;
  }
  absl::StatusOr<uint64_t> generator_seed = Seed(config, seed);
  if (!generator_seed.ok()) return generator_seed.status();
  TpeOptions options;
  absl::StatusOr<int64_t> initial =
      internal::OptionalInteger(config, kRoot, "n_initial_points", options.n_initial_points);
  if (!initial.ok()) return initial.status();
  if (*initial < 1) {
    return Error(absl::StrCat(kRoot, ".n_initial_points"),
                 absl::StrCat("must be >= 1, got ", *initial));
  }
  absl::StatusOr<double> gamma = internal::OptionalNumber(config, kRoot, "gamma", options.gamma);
  if (!gamma.ok()) return gamma.status();
  if (!(*gamma > 0 && *gamma < 1)) {
    return Error(absl::StrCat(kRoot, ".gamma"),
                 absl::StrCat("must be in (0, 1), got ", FormatNumber(*gamma)));
  }
  absl::StatusOr<int64_t> candidates =
      internal::OptionalInteger(config, kRoot, "n_ei_candidates", options.n_ei_candidates);
  if (!candidates.ok()) return candidates.status();
  if (*candidates < 1) {
    return Error(absl::StrCat(kRoot, ".n_ei_candidates"),
                 absl::StrCat("must be >= 1, got ", *candidates));
  }
  options.n_initial_points = *initial;
  options.gamma = *gamma;
  options.n_ei_candidates = *candidates;
  for (const ParameterSpace& parameter : space) {
    if (parameter.kind == SpaceKind::kGridSearch) {
      return Error(absl::StrCat("hyperopt.parameters.", parameter.path, ".space"),
                   "grid_search needs search_alg random or variant_generator (tpe samples every "
                   "parameter; use choice)");
    }
  }
  return std::make_unique<Tpe>(std::move(space), num_samples, *generator_seed, options);
}

}  // namespace

absl::StatusOr<std::unique_ptr<SearchAlgorithm>> MakeSearchAlgorithm(
    const Json& search_alg, std::vector<ParameterSpace> space, int64_t num_samples, uint64_t seed) {
  const Json config = search_alg.is_null() ? Json::object() : search_alg;
  if (!config.is_object()) {
    return Error(kRoot, absl::StrCat("expected an object, got ", internal::Describe(config)));
  }
  if (num_samples < 1) {
    return Error("hyperopt.num_samples", absl::StrCat("must be >= 1, got ", num_samples));
  }
  if (space.empty()) {
    return Error("hyperopt.parameters", "is empty (expected at least one parameter to search)");
  }
  absl::StatusOr<std::string> type =
      internal::OptionalString(config, kRoot, "type", "variant_generator");
  if (!type.ok()) return type.status();
  if (*type == "random" || *type == "variant_generator") {
    return MakeVariantGenerator(config, std::move(space), num_samples, seed);
  }
  if (*type == "tpe" || *type == "hyperopt") {
    return MakeTpe(config, std::move(space), num_samples, seed);
  }
  return Error(absl::StrCat(kRoot, ".type"),
               absl::StrCat("unknown search algorithm '", *type,
                            "' (known: ", internal::JoinNames(AlgorithmNames()), ")"));
}

}  // namespace tristage::hyperopt
