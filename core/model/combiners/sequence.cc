// The sequence_concat combiner, as Ludwig's SequenceConcatCombiner: the main sequence input
// (main_sequence_feature, else the first input whose encoder keeps the sequence: text or sequence
// with reduce_output null) sets the length L; other kept sequences must have the
// same L and are concatenated step by step, vector inputs are repeated at every step; steps past
// the main input's length are zeroed; then reduce_output (null: the [batch, L, width] sequence
// goes on, and each output feature reduces it with its reduce_input).
//
// The sequence combiner (a sequence encoder run over that concatenation) is refused by the config
// (CheckCombiner); it is registered so that the schema and the registry name the same combiners.
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/model/combiners/blocks.h"
#include "core/model/params.h"
#include "core/model/registry.h"
#include "core/util/status_macros.h"

namespace tristage::model {
namespace {

using nlohmann::json;

absl::StatusOr<size_t> MainSequence(const CombinerArgs& args) {
  TRISTAGE_ASSIGN_OR_RETURN(std::string main,
                            GetString(args.combiner, "main_sequence_feature", ""));
  for (size_t i = 0; i < args.inputs.size(); ++i) {
    const CombinerInput& input = args.inputs[i];
    if (main.empty() ? input.sequence_length > 0 : input.name == main) {
      if (input.sequence_length > 0) return i;
      break;
    }
  }
  return absl::InvalidArgumentError(absl::StrCat(
      main.empty() ? "no input" : absl::StrCat("main_sequence_feature '", main, "'"),
      " keeps its sequence: sequence_concat needs a text or sequence input whose encoder has "
      "reduce_output: null"));
}

absl::StatusOr<Built> SequenceConcat(const CombinerArgs& args) {
  TRISTAGE_ASSIGN_OR_RETURN(size_t main, MainSequence(args));
  const int64_t length = args.inputs[main].sequence_length;
  std::vector<size_t> order = {main};
  for (size_t i = 0; i < args.inputs.size(); ++i) {
    if (i != main) order.push_back(i);
  }
  std::string source =
      "def forward(self, xs: List[Tensor]) -> Tensor:\n"
      "    n = xs[0].size(0)\n";
  std::vector<std::string> parts;
  int64_t width = 0;
  for (size_t i : order) {
    const CombinerInput& input = args.inputs[i];
    const std::string part = absl::StrCat("r", i);
    if (input.sequence_length > 0) {
      if (input.sequence_length != length) {
        return absl::InvalidArgumentError(absl::StrCat(
            "the sequence of input '", input.name, "' has length ", input.sequence_length,
            ", the main sequence '", args.inputs[main].name, "' ", length,
            ": give both the same preprocessing max_sequence_length, or reduce '", input.name,
            "' (encoder reduce_output)"));
      }
      if (input.size % length != 0) {
        return absl::InternalError(absl::StrCat("input '", input.name, "': encoding size ",
                                                input.size, " is not a multiple of its length ",
                                                length));
      }
      const int64_t step = input.size / length;
      width += step;
      absl::StrAppend(&source, "    ", part, " = torch.reshape(xs[", i, "], [n, ", length, ", ",
                      step, "])\n");
    } else {
      width += input.size;
      absl::StrAppend(&source, "    ", part, " = xs[", i, "].unsqueeze(1).expand(-1, ", length,
                      ", -1)\n");
    }
    parts.push_back(part);
  }
  // Ludwig's sequence_length_3D: steps of the main sequence that are not all zeros.
  absl::StrAppend(&source, "    h = torch.cat([", absl::StrJoin(parts, ", "), "], 2)\n",
                  "    used = torch.sum(torch.sign(torch.amax(torch.abs(r", main, "), [2])), 1)\n",
                  "    mask = torch.lt(torch.arange(", length,
                  ").unsqueeze(0).float(), used.unsqueeze(1)).float().unsqueeze(-1)\n",
                  "    h = h * mask\n");
  Built built{args.builder.NewModule("SequenceConcatCombiner"), width};
  const json& reduce = args.combiner.value("reduce_output", json());
  if (reduce.is_null() || reduce == "none" || reduce == "None") {
    built.sequence_length = length;
  } else {
    int64_t reduced = width;
    TRISTAGE_ASSIGN_OR_RETURN(std::string reduction,
                              AddSequenceReduction(built.module, reduce.get<std::string>(), length,
                                                   &reduced, "h", "red"));
    absl::StrAppend(&source, reduction);
    built.output_size = reduced;
  }
  absl::StrAppend(&source, "    return h\n");
  TRISTAGE_RETURN_IF_ERROR(Define(built.module, source, "sequence_concat combiner"));
  return built;
}

absl::StatusOr<Built> Sequence(const CombinerArgs&) {
  return absl::UnimplementedError(
      "the sequence combiner runs a sequence encoder over the concatenated sequence, which "
      "tristage's encoders cannot take yet; use sequence_concat");
}

const bool kRegistered =
    RegisterCombiner("sequence_concat", SequenceConcat) && RegisterCombiner("sequence", Sequence);

}  // namespace
}  // namespace tristage::model
