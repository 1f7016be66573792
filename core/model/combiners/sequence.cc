// The sequence_concat and sequence combiners are refused by the config (CheckCombiner in
// core/config/schema_combiner.cc) before a model is built: they combine unreduced
// [batch, length, hidden] encoder outputs, which tristage's encoders do not produce. They are
// registered so that the schema and the registry name the same combiners.
#include "core/model/registry.h"

namespace tristage::model {
namespace {

absl::StatusOr<Built> NeedsSequences(const CombinerArgs&) {
  return absl::UnimplementedError(
      "sequence_concat and sequence combine unreduced [batch, length, hidden] encoder outputs, "
      "which tristage's encoders do not produce yet");
}

const bool kRegistered = RegisterCombiner("sequence_concat", NeedsSequences) &&
                         RegisterCombiner("sequence", NeedsSequences);

}  // namespace
}  // namespace tristage::model
