// Encoders for category inputs (int64 [batch] indices into the vocabulary; 0 is <UNK>):
// dense (trainable embedding), sparse and onehot (fixed one-hot rows), passthrough (the index).
#include "absl/strings/str_cat.h"
#include "core/model/embedding.h"
#include "core/model/params.h"
#include "core/model/registry.h"
#include "core/util/status_macros.h"

namespace tristage::model {
namespace {

absl::StatusOr<Built> DenseEmbedding(const EncoderArgs& args) {
  Built built{args.builder.NewModule("CategoryEmbedEncoder"), 0};
  TRISTAGE_ASSIGN_OR_RETURN(
      built.output_size, AddVocabularyEmbedding(built.module, args, 50, "embedding_initializer"));
  TRISTAGE_ASSIGN_OR_RETURN(std::string dropout,
                            DropoutStatement(Section(args.feature, "encoder"), "h"));
  TRISTAGE_RETURN_IF_ERROR(
      Define(built.module,
             absl::StrCat("def forward(self, x: Tensor) -> Tensor:\n"
                          "    h = torch.embedding(self.embeddings, x.long(), -1, False, False)\n",
                          dropout, "    return h\n"),
             "category dense encoder"));
  return built;
}

absl::StatusOr<Built> OneHot(const EncoderArgs& args) {
  TRISTAGE_ASSIGN_OR_RETURN(int64_t vocab, VocabSize(args.metadata));
  TRISTAGE_ASSIGN_OR_RETURN(
      bool trainable, GetBool(Section(args.feature, "encoder"), "embeddings_trainable", false));
  Built built{args.builder.NewModule("CategoryOneHotEncoder"), vocab};
  if (trainable) {
    // Ludwig's sparse encoder with trainable embeddings: one-hot rows that training may move.
    AddParameter(built.module, "embeddings", torch::eye(vocab));
    TRISTAGE_RETURN_IF_ERROR(
        Define(built.module,
               "def forward(self, x: Tensor) -> Tensor:\n"
               "    return torch.embedding(self.embeddings, x.long(), -1, False, "
               "False)\n",
               "category sparse encoder"));
    return built;
  }
  TRISTAGE_RETURN_IF_ERROR(Define(built.module,
                                  absl::StrCat("def forward(self, x: Tensor) -> Tensor:\n"
                                               "    return torch.one_hot(x.long(), ",
                                               vocab, ").float()\n"),
                                  "category one-hot encoder"));
  return built;
}

absl::StatusOr<Built> Passthrough(const EncoderArgs& args) {
  Built built{args.builder.NewModule("CategoryPassthroughEncoder"), 1};
  TRISTAGE_RETURN_IF_ERROR(Define(built.module,
                                  "def forward(self, x: Tensor) -> Tensor:\n"
                                  "    return x.float().unsqueeze(-1)\n",
                                  "category passthrough encoder"));
  return built;
}

const bool kRegistered = [] {
  RegisterEncoder("category", "dense", DenseEmbedding);
  RegisterEncoder("category", "sparse", OneHot);
  RegisterEncoder("category", "onehot", OneHot);
  RegisterEncoder("category", "passthrough", Passthrough);
  return true;
}();

}  // namespace
}  // namespace tristage::model
