// The project_aggregate combiner, as Ludwig's: each input is projected to projection_size by its
// own linear layer (torch's initialization, as Ludwig's projectors), the projections are averaged,
// then a fully connected stack (residual and layer norm by default).
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/model/combiners/blocks.h"
#include "core/model/fc_stack.h"
#include "core/model/params.h"
#include "core/model/registry.h"
#include "core/util/status_macros.h"

namespace tristage::model {
namespace {

absl::StatusOr<Built> ProjectAggregate(const CombinerArgs& args) {
  TRISTAGE_ASSIGN_OR_RETURN(int64_t projection, GetInt(args.combiner, "projection_size", 128));
  TRISTAGE_ASSIGN_OR_RETURN(std::vector<FcLayerSpec> layers,
                            FcLayersFromParams(args.combiner, "", ""));
  TRISTAGE_ASSIGN_OR_RETURN(bool residual, GetBool(args.combiner, "residual", true));
  Built built{args.builder.NewModule("ProjectAggregateCombiner"), 0};
  std::vector<std::string> projected;
  for (size_t i = 0; i < args.inputs.size(); ++i) {
    projected.push_back(AddTorchLinear(built.module, absl::StrCat("proj_", i), args.inputs[i].size,
                                       projection, true, absl::StrCat("xs[", i, "]")));
  }
  TRISTAGE_ASSIGN_OR_RETURN(FcCode fc,
                            AddFcStack(built.module, layers, projection, "h", "fc", residual));
  built.output_size = fc.output_size;
  const std::string source = absl::StrCat(
      "def forward(self, xs: List[Tensor]) -> Tensor:\n"
      "    h = torch.mean(torch.stack([",
      absl::StrJoin(projected, ", "), "], 1), 1)\n", fc.statements, "    return h\n");
  TRISTAGE_RETURN_IF_ERROR(Define(built.module, source, "project_aggregate combiner"));
  return built;
}

const bool kRegistered = RegisterCombiner("project_aggregate", ProjectAggregate);

}  // namespace
}  // namespace tristage::model
