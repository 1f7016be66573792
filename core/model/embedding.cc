#include "core/model/embedding.h"

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
  torch::Tensor table = torch::randn({rows, dim});
  if (!initializer.empty()) TRISTAGE_RETURN_IF_ERROR(Initialize(table, initializer));
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
                                               int64_t default_dim) {
  const nlohmann::json& params = Section(args.feature, "encoder");
  TRISTAGE_ASSIGN_OR_RETURN(int64_t vocab, VocabSize(args.metadata));
  TRISTAGE_ASSIGN_OR_RETURN(int64_t dim, GetInt(params, "embedding_size", default_dim));
  TRISTAGE_ASSIGN_OR_RETURN(bool trainable, GetBool(params, "embeddings_trainable", true));
  TRISTAGE_ASSIGN_OR_RETURN(std::string init, GetString(params, "embedding_initializer", ""));
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
