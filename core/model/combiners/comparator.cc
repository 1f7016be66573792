// The comparator combiner, as Ludwig's: the encodings of entity_1's inputs and of entity_2's are
// concatenated apart and each goes through its own fully connected stack (same layer specs,
// separate weights); the output is [e1.e2, e1*e2, |e1-e2|, e1 W e2] (2 * last layer size + 2), W a
// fixed N(0, 1) matrix (a buffer in Ludwig, so not trained).
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/model/fc_stack.h"
#include "core/model/params.h"
#include "core/model/registry.h"
#include "core/util/status_macros.h"

namespace tristage::model {
namespace {

using nlohmann::json;

// xs indices of the inputs named in combiner[entity], and their total width.
absl::StatusOr<std::vector<size_t>> Entity(const CombinerArgs& args, const char* entity,
                                           int64_t* width) {
  std::vector<size_t> indices;
  *width = 0;
  for (const json& name : args.combiner.at(entity)) {
    size_t i = 0;
    while (i < args.inputs.size() && args.inputs[i].name != name.get<std::string>()) ++i;
    if (i == args.inputs.size()) {
      return absl::InvalidArgumentError(
          absl::StrCat(entity, ": '", name.get<std::string>(), "' is not an input feature"));
    }
    indices.push_back(i);
    *width += args.inputs[i].size;
  }
  if (indices.empty()) return absl::InvalidArgumentError(absl::StrCat(entity, " is empty"));
  return indices;
}

std::string Concatenated(const std::vector<size_t>& indices) {
  std::vector<std::string> parts;
  for (size_t i : indices) parts.push_back(absl::StrCat("xs[", i, "]"));
  return absl::StrCat("torch.cat([", absl::StrJoin(parts, ", "), "], 1)");
}

absl::StatusOr<Built> Comparator(const CombinerArgs& args) {
  TRISTAGE_ASSIGN_OR_RETURN(std::vector<FcLayerSpec> layers,
                            FcLayersFromParams(args.combiner, "", ""));
  if (layers.empty()) return absl::InvalidArgumentError("the comparator needs at least one layer");
  int64_t w1 = 0, w2 = 0;
  TRISTAGE_ASSIGN_OR_RETURN(std::vector<size_t> e1, Entity(args, "entity_1", &w1));
  TRISTAGE_ASSIGN_OR_RETURN(std::vector<size_t> e2, Entity(args, "entity_2", &w2));
  Built built{args.builder.NewModule("ComparatorCombiner"), 0};
  TRISTAGE_ASSIGN_OR_RETURN(FcCode fc1, AddFcStack(built.module, layers, w1, "e1", "e1_fc"));
  TRISTAGE_ASSIGN_OR_RETURN(FcCode fc2, AddFcStack(built.module, layers, w2, "e2", "e2_fc"));
  const int64_t d = fc1.output_size;
  AddBuffer(built.module, "bilinear", torch::randn({d, d}));
  built.output_size = 2 * d + 2;
  const std::string source = absl::StrCat(
      "def forward(self, xs: List[Tensor]) -> Tensor:\n"
      "    e1 = ",
      Concatenated(e1), "\n", fc1.statements, "    e2 = ", Concatenated(e2), "\n", fc2.statements,
      "    product = e1 * e2\n"
      "    dot = torch.sum(product, 1, keepdim=True)\n"
      "    bilinear = torch.sum(torch.mm(e1, self.bilinear) * e2, 1, keepdim=True)\n"
      "    return torch.cat([dot, product, torch.abs(e1 - e2), bilinear], 1)\n");
  TRISTAGE_RETURN_IF_ERROR(Define(built.module, source, "comparator combiner"));
  return built;
}

const bool kRegistered = RegisterCombiner("comparator", Comparator);

}  // namespace
}  // namespace tristage::model
