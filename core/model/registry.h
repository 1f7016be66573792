// Registries of the model's components by config name: encoders (per input feature type),
// combiners and decoders (per output feature type). Each component registers itself from a
// static initializer in its own file, so adding one touches that file, its config schema entry and
// its test.
//
// A factory gets the resolved config of its feature (or the combiner section), the feature's
// training-set metadata (vocabulary size, vector size, ...), and the model's ScriptBuilder; it
// returns a TorchScript module whose forward maps tensors to tensors:
//   encoder:  forward(x: Tensor) -> Tensor [batch, output_size], x as the feature type produces it
//   combiner: forward(xs: List[Tensor]) -> Tensor [batch, output_size]; a combiner with a training
//             loss of its own (Built::has_aux_loss, e.g. tabnet's sparsity) also defines
//             forward_with_loss(xs: List[Tensor]) -> Tuple[Tensor, Tensor] (output, scalar loss)
//   decoder:  forward(h: Tensor) -> Tensor logits ([batch] for binary/number, else [batch, size])
// Internal to core/model; includes torch. Thread safety: registration happens during static
// initialisation; lookups afterwards are read-only.
#ifndef TRISTAGE_CORE_MODEL_REGISTRY_H_
#define TRISTAGE_CORE_MODEL_REGISTRY_H_

#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/model/script.h"
#include "nlohmann/json.hpp"

namespace tristage::model {

struct Built {
  torch::jit::Module module;
  int64_t output_size = 0;
  bool has_aux_loss = false;  // combiners only: see forward_with_loss above
  // > 0 when the output keeps a sequence: an encoder's [batch, sequence_length * width] is the
  // row-major flattening of [batch, sequence_length, width] (Ludwig's reduce_output: null); a
  // combiner's output is [batch, sequence_length, output_size], reduced by each output feature's
  // reduce_input before its decoder.
  int64_t sequence_length = 0;
  // Decoders only: the width of hidden(h), the fc stack's output that project(hidden) turns into
  // logits; output features that depend on this one take it as input too (Ludwig's dependencies).
  int64_t hidden_size = 0;
};

struct EncoderArgs {
  const nlohmann::json& feature;   // resolved input feature config
  const nlohmann::json& metadata;  // its training-set metadata
  ScriptBuilder& builder;
};

// One encoded input as a combiner sees it: xs[i] is input_features[i]'s encoder output.
struct CombinerInput {
  std::string name;  // input feature name
  std::string type;  // input feature type (tabtransformer embeds non-number, non-binary ones)
  int64_t size = 0;  // encoder output size
  int64_t sequence_length = 0;  // the encoder's Built::sequence_length
};

struct CombinerArgs {
  const nlohmann::json& combiner;  // resolved combiner config (CheckCombiner has passed)
  std::vector<int64_t> input_sizes;
  ScriptBuilder& builder;
  std::vector<CombinerInput> inputs;  // same order and sizes as input_sizes
};

struct DecoderArgs {
  const nlohmann::json& feature;   // resolved output feature config
  const nlohmann::json& metadata;  // its training-set metadata
  int64_t input_size = 0;          // the combiner's output size
  int64_t output_size = 1;         // logits per row: 1, number of classes, or vector size
  ScriptBuilder& builder;
};

using EncoderFactory = std::function<absl::StatusOr<Built>(const EncoderArgs&)>;
using CombinerFactory = std::function<absl::StatusOr<Built>(const CombinerArgs&)>;
using DecoderFactory = std::function<absl::StatusOr<Built>(const DecoderArgs&)>;

bool RegisterEncoder(const std::string& feature_type, const std::string& name, EncoderFactory f);
bool RegisterCombiner(const std::string& name, CombinerFactory f);
bool RegisterDecoder(const std::string& feature_type, const std::string& name, DecoderFactory f);

// NotFound naming the type and name and listing the registered ones.
absl::StatusOr<EncoderFactory> FindEncoder(const std::string& feature_type,
                                           const std::string& name);
absl::StatusOr<CombinerFactory> FindCombiner(const std::string& name);
absl::StatusOr<DecoderFactory> FindDecoder(const std::string& feature_type,
                                           const std::string& name);

// Registered names, sorted, for tests that hold the config schema and the registry equal.
std::vector<std::string> RegisteredEncoders(const std::string& feature_type);
std::vector<std::string> RegisteredDecoders(const std::string& feature_type);
std::vector<std::string> RegisteredCombiners();

}  // namespace tristage::model

#endif  // TRISTAGE_CORE_MODEL_REGISTRY_H_
