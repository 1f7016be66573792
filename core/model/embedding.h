// Embedding tables shared by the category, set/bag, date and sequence encoders.
// Internal to core/model; includes torch.
#ifndef TRISTAGE_CORE_MODEL_EMBEDDING_H_
#define TRISTAGE_CORE_MODEL_EMBEDDING_H_

#include <string>

#include "absl/status/statusor.h"
#include "core/model/registry.h"
#include "core/model/script.h"
#include "nlohmann/json.hpp"

namespace tristage::model {

// Registers a [rows, dim] table named `name` on `module`, initialized by `initializer` (empty means
// Ludwig's default, uniform in [-1, 1]). A non-trainable table is a buffer.
absl::Status AddEmbedding(torch::jit::Module& module, const std::string& name, int64_t rows,
                          int64_t dim, const std::string& initializer, bool trainable);

// The vocabulary size from a feature's metadata ("vocab_size"); InvalidArgument when absent.
absl::StatusOr<int64_t> VocabSize(const nlohmann::json& metadata);

// Registers the feature's vocabulary table "embeddings" ([vocab_size, embedding_size]) from its
// encoder params (embedding_size, defaulting to `default_dim` and, as in Ludwig, capped at
// vocab_size unless force_embedding_size; embeddings_trainable; the initializer named by the
// param `initializer_key`: Ludwig's category encoder reads embedding_initializer, its set, bag and
// sequence encoders weights_initializer) and returns the embedding size.
absl::StatusOr<int64_t> AddVocabularyEmbedding(torch::jit::Module& module, const EncoderArgs& args,
                                               int64_t default_dim,
                                               const std::string& initializer_key);

// "    <var> = torch.dropout(<var>, p, self.training)\n" for the encoder's `dropout`, or "" when 0.
absl::StatusOr<std::string> DropoutStatement(const nlohmann::json& params, const std::string& var);

}  // namespace tristage::model

#endif  // TRISTAGE_CORE_MODEL_EMBEDDING_H_
