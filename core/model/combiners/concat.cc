// The concat combiner: concatenates the encoders' outputs, then an optional fully connected stack
// (num_fc_layers / fc_layers, output_size, activation, dropout, norm, residual).
#include "absl/strings/str_cat.h"
#include "core/model/fc_stack.h"
#include "core/model/params.h"
#include "core/model/registry.h"
#include "core/util/status_macros.h"

namespace tristage::model {
namespace {

absl::StatusOr<Built> Concat(const CombinerArgs& args) {
  TRISTAGE_ASSIGN_OR_RETURN(std::vector<FcLayerSpec> layers,
                            FcLayersFromParams(args.combiner, "", ""));
  TRISTAGE_ASSIGN_OR_RETURN(bool residual, GetBool(args.combiner, "residual", false));
  // flatten_inputs reshapes each encoding to [batch, -1]; every encoder here already outputs
  // [batch, size], so either value builds the same model.
  TRISTAGE_ASSIGN_OR_RETURN(bool flatten, GetBool(args.combiner, "flatten_inputs", false));
  (void)flatten;
  int64_t width = 0;
  for (int64_t size : args.input_sizes) width += size;
  Built built{args.builder.NewModule("ConcatCombiner"), 0};
  TRISTAGE_ASSIGN_OR_RETURN(FcCode fc,
                            AddFcStack(built.module, layers, width, "h", "fc", residual));
  built.output_size = fc.output_size;
  TRISTAGE_RETURN_IF_ERROR(Define(built.module,
                                  absl::StrCat("def forward(self, xs: List[Tensor]) -> Tensor:\n"
                                               "    h = torch.cat(xs, 1)\n",
                                               fc.statements, "    return h\n"),
                                  "concat combiner"));
  return built;
}

const bool kRegistered = RegisterCombiner("concat", Concat);

}  // namespace
}  // namespace tristage::model
