// Hyperopt parameter spaces: the `hyperopt.parameters` section of a Ludwig config, parsed,
// validated and sampled.
//
// Each entry maps a dotted config path to a space, as Ludwig (and Ray Tune under it) define them:
//   trainer.learning_rate: {space: loguniform, lower: 0.0001, upper: 0.1}
//   combiner.num_fc_layers: {space: randint, lower: 1, upper: 4}
//   title.encoder.type: {space: choice, categories: [embed, parallel_cnn]}
//   trainer.batch_size: {space: grid_search, values: [64, 128]}
//
//   space        keys                       sample
//   choice       categories (non-empty)     one category, uniformly (any JSON value)
//   grid_search  values (non-empty)         every value, once per grid pass (see search.h)
//   uniform      lower < upper              float in [lower, upper)
//   quniform     lower < upper, q > 0       round(uniform(lower, upper) / q) * q, within the bounds
//   loguniform   0 < lower < upper,         exp(uniform(log lower, log upper)) (base only names
//                base (10) > 0, not 1       the log; the distribution is the same)
//   qloguniform  as loguniform, q > 0       round(loguniform / q) * q
//   randint      integers lower < upper     integer in [lower, upper) (upper exclusive, as Ray)
//   qrandint     integers lower <= upper,   multiple of q in [lower, upper] (upper inclusive,
//                integer q >= 1 (1)         as Ray)
//   randn        mean (0), sd > 0 (1)       normal(mean, sd)
//   qrandn       as randn, q > 0            round(normal / q) * q
// Integer spaces give JSON integers; float spaces give JSON floats (a q of 1.0 still gives floats).
// A bounded q space must have a multiple of q within its bounds; rounding to a multiple outside
// them takes the nearest one inside instead (Ray rejects bounds that are not multiples of q; this
// accepts them and still never leaves the range). qrandint draws its multiples uniformly.
//
// Errors are InvalidArgument naming `hyperopt.parameters.<path>[.<key>]` and the reason, e.g.
//   hyperopt.parameters.trainer.learning_rate.lower: loguniform needs lower > 0, got 0
//   hyperopt.parameters.trainer.learning_rate.space: unknown space 'log_uniform' (known: ...)
// Unknown keys in a space are errors (did-you-mean as in the config).
//
// Thread safety: pure functions over values.
#ifndef TRISTAGE_CORE_HYPEROPT_SPACE_H_
#define TRISTAGE_CORE_HYPEROPT_SPACE_H_

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

namespace tristage::hyperopt {

enum class SpaceKind {
  kChoice,
  kGridSearch,
  kUniform,
  kQUniform,
  kLogUniform,
  kQLogUniform,
  kRandInt,
  kQRandInt,
  kRandn,
  kQRandn,
};

struct ParameterSpace {
  std::string path;  // "trainer.learning_rate"
  SpaceKind kind = SpaceKind::kChoice;
  std::vector<nlohmann::json> values;  // choice categories, grid_search values
  double lower = 0;
  double upper = 0;
  double q = 0;  // 0 for the unquantized spaces
  double mean = 0;
  double sd = 1;
};

// The space names in the order error messages list them.
const std::vector<std::string>& SpaceNames();

// Parses `hyperopt.parameters` (an object; an empty object is an error: nothing to search). The
// result keeps the object's key order (nlohmann::json sorts keys: so, alphabetical).
absl::StatusOr<std::vector<ParameterSpace>> ParseParameters(const nlohmann::json& parameters);

// One random draw from `space` (a grid_search space draws one of its values uniformly).
nlohmann::json Sample(const ParameterSpace& space, std::mt19937_64& rng);

// The numeric spaces (all but choice and grid_search) seen as one continuous variable, for search
// algorithms that model where good values lie (TPE): Sample draws the variable uniformly on
// [lower, upper) (normally with the space's mean and sd for randn and qrandn, where the range is
// infinite), in log units for the log spaces, and ValueAt turns it into the space's value
// (exponentiated, rounded to a multiple of q or to an integer, kept within the bounds).
// randint's value v comes from [v, v + 1); qrandint's value v from [v - q/2, v + q/2).
struct DrawRange {
  double lower = 0;
  double upper = 0;
  bool log = false;
};
bool IsNumeric(SpaceKind kind);
DrawRange DrawRangeOf(const ParameterSpace& space);  // numeric spaces only
nlohmann::json ValueAt(const ParameterSpace& space, double draw);

}  // namespace tristage::hyperopt

#endif  // TRISTAGE_CORE_HYPEROPT_SPACE_H_
