// The embed encoder for set and bag inputs: float32 [batch, vocab_size] (set: multi-hot, bag:
// counts) times an embedding table is the (weighted) sum of the present tokens' embeddings, then
// an optional fully connected stack.
#include "absl/strings/str_cat.h"
#include "core/model/embedding.h"
#include "core/model/fc_stack.h"
#include "core/model/params.h"
#include "core/model/registry.h"
#include "core/util/status_macros.h"

namespace tristage::model {
namespace {

absl::StatusOr<Built> Embed(const EncoderArgs& args) {
  const nlohmann::json& params = Section(args.feature, "encoder");
  TRISTAGE_ASSIGN_OR_RETURN(std::vector<FcLayerSpec> layers, FcLayersFromParams(params, "", ""));
  Built built{args.builder.NewModule("BagEmbedEncoder"), 0};
  TRISTAGE_ASSIGN_OR_RETURN(int64_t dim,
                            AddVocabularyEmbedding(built.module, args, 50, "weights_initializer"));
  TRISTAGE_ASSIGN_OR_RETURN(std::string dropout, DropoutStatement(params, "h"));
  TRISTAGE_ASSIGN_OR_RETURN(FcCode fc, AddFcStack(built.module, layers, dim, "h", "fc"));
  built.output_size = fc.output_size;
  TRISTAGE_RETURN_IF_ERROR(Define(built.module,
                                  absl::StrCat("def forward(self, x: Tensor) -> Tensor:\n"
                                               "    h = torch.matmul(x.float(), self.embeddings)\n",
                                               dropout, fc.statements, "    return h\n"),
                                  "set/bag embed encoder"));
  return built;
}

const bool kRegistered = [] {
  RegisterEncoder("set", "embed", Embed);
  RegisterEncoder("bag", "embed", Embed);
  return true;
}();

}  // namespace
}  // namespace tristage::model
