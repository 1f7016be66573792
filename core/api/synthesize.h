// Synthetic datasets for a config's features (Ludwig's synthesize_dataset), for tests, benchmarks
// and the bundled example. Unlike Ludwig's, the output columns are not independent noise: every
// output is a noisy function of a hidden score computed from the inputs, so a model has something
// to learn and its quality on the data means something.
#ifndef TRISTAGE_CORE_API_SYNTHESIZE_H_
#define TRISTAGE_CORE_API_SYNTHESIZE_H_

#include <cstdint>

#include "absl/status/statusor.h"
#include "core/data/table.h"
#include "nlohmann/json.hpp"

namespace tristage {

struct SynthesizeOptions {
  int64_t rows = 100;
  uint64_t seed = 42;
  double missing_rate = 0.0;  // fraction of input cells left empty
  double noise = 0.1;         // output noise, relative to the score's spread
};

// `features` is a config ({input_features, output_features}) or a plain list of features (all
// treated as inputs, except that a feature with `"output": true` is an output). Per feature, the
// optional keys `vocab_size`, `max_len` and `vector_size` shape the generated values.
// InvalidArgument names an unsupported type.
absl::StatusOr<data::Table> SynthesizeDataset(const nlohmann::json& features,
                                              const SynthesizeOptions& options);

}  // namespace tristage

#endif  // TRISTAGE_CORE_API_SYNTHESIZE_H_
