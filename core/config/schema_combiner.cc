// Combiners, after Ludwig 0.8's ludwig/schema/combiners/concat.py. Only concat for now; another
// combiner is one more member of the family.
#include "core/config/schema.h"

namespace tristage::config {
namespace {

// Concatenates the encoder outputs, then an optional fully connected stack. fc_layers entries
// keep only the keys the user gave; missing keys take the combiner-level value.
Component Concat() {
  return {"concat",
          {Dropout(), Activation(), Bool("flatten_inputs", false), Bool("residual", false),
           UseBias(), Initializer("bias_initializer", "zeros"),
           Initializer("weights_initializer", "xavier_uniform"), Norm(), NormParams(),
           Int("num_fc_layers", 0).AtLeast(0), Int("output_size", 256).AtLeast(1), FcLayers()}};
}

}  // namespace

const ComponentFamily& CombinerFamily() {
  static const auto* const kFamily = new ComponentFamily{"combiner", "concat", {Concat()}};
  return *kFamily;
}

}  // namespace tristage::config
