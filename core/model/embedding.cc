#include "core/model/embedding.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "core/model/params.h"
#include "core/util/status_macros.h"

namespace tristage::model {

absl::Status AddEmbedding(torch::jit::Module& module, const std::string& name, int64_t rows,
                          int64_t dim, const std::string& initializer, bool trainable) {
  if (rows <= 0 || dim <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("embedding '", name, "' needs positive sizes, got ", rows, " x ", dim));
  }
  // Ludwig's embedding_matrix default: uniform in [-1, 1] (variance 1/3, against 1 for torch's
  // N(0, 1)): a smaller random start that training has less to unlearn.
  torch::Tensor table = torch::empty({rows, dim});
  if (initializer.empty()) {
    torch::NoGradGuard no_grad;
    table.uniform_(-1.0, 1.0);
  } else {
    TRISTAGE_RETURN_IF_ERROR(Initialize(table, initializer));
  }
  if (trainable) {
    AddParameter(module, name, table);
  } else {
    AddBuffer(module, name, table);
  }
  return absl::OkStatus();
}

absl::StatusOr<int64_t> VocabSize(const nlohmann::json& metadata) {
  TRISTAGE_ASSIGN_OR_RETURN(int64_t size, GetInt(metadata, "vocab_size", 0));
  if (size <= 0) return absl::InvalidArgumentError("feature metadata has no vocab_size");
  return size;
}

absl::StatusOr<int64_t> AddVocabularyEmbedding(torch::jit::Module& module, const EncoderArgs& args,
                                               int64_t default_dim,
                                               const std::string& initializer_key) {
  const nlohmann::json& params = Section(args.feature, "encoder");
  TRISTAGE_ASSIGN_OR_RETURN(int64_t vocab, VocabSize(args.metadata));
  TRISTAGE_ASSIGN_OR_RETURN(int64_t dim, GetInt(params, "embedding_size", default_dim));
  // As Ludwig's embedding_matrix: a table wider than its vocabulary adds parameters but no
  // capacity, so the width is capped at the vocabulary unless force_embedding_size.
  TRISTAGE_ASSIGN_OR_RETURN(bool force, GetBool(params, "force_embedding_size", false));
  if (!force) dim = std::min(dim, vocab);
  TRISTAGE_ASSIGN_OR_RETURN(bool trainable, GetBool(params, "embeddings_trainable", true));
  TRISTAGE_ASSIGN_OR_RETURN(std::string init, GetString(params, initializer_key, ""));
  TRISTAGE_RETURN_IF_ERROR(AddEmbedding(module, "embeddings", vocab, dim, init, trainable));
  return dim;
}

absl::StatusOr<std::string> DropoutStatement(const nlohmann::json& params, const std::string& var) {
  TRISTAGE_ASSIGN_OR_RETURN(double dropout, GetDouble(params, "dropout", 0.0));
  if (dropout <= 0) return std::string();
  return absl::StrCat("    ", var, " = torch.dropout(", var, ", ", FloatLiteral(dropout),
                      ", self.training)\n");
}

}  // namespace tristage::model
