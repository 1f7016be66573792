// The top-level `preprocessing` section, after Ludwig 0.8's ludwig/schema/preprocessing.py and
// split.py. Split types are the four core/data/split.h implements (Ludwig's datetime split is not).
#include "core/config/schema.h"

namespace tristage::config {

const std::vector<Param>& GlobalPreprocessingParams() {
  static const auto* const kParams = new std::vector<Param>{
      Number("sample_ratio", 1.0).InRange(0, 1).Above(0),
      Int("sample_size", nullptr).AtLeast(0),
      // The minority's rows as a share of the majority's: above 1 would make it the majority, and
      // a huge value would draw that many rows (memory).
      Number("oversample_minority", nullptr).InRange(0, 1),
      Number("undersample_majority", nullptr).AtLeast(0)};
  return *kParams;
}

const ComponentFamily& SplitFamily() {
  static const auto* const kFamily = new ComponentFamily{
      "split type",
      "random",
      {{"random", {Probabilities()}},
       {"fixed", {String("column", "split")}},  // rows hold 0 (train), 1 (validation), 2 (test)
       {"stratify", {String("column", nullptr).Required(), Probabilities()}},
       {"hash", {String("column", nullptr).Required(), Probabilities()}}}};
  return *kFamily;
}

}  // namespace tristage::config
