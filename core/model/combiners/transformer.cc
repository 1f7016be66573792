// The transformer and tabtransformer combiners, as Ludwig's TransformerCombiner and
// TabTransformerCombiner: each input (all of them; for tabtransformer only the inputs that are
// neither number nor binary) is projected to hidden_size by its own linear layer, the projections
// form a [batch, inputs, hidden] sequence that a TransformerStack attends over, reduce_output
// reduces it, and an optional fully connected stack follows (fc_* keys). tabtransformer
// concatenates the number and binary encodings (layer-normalized when wider than one) after the
// reduction, and can embed each input's position by name (embed_input_feature_name: "add" or a
// number of units).
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/model/combiners/blocks.h"
#include "core/model/fc_stack.h"
#include "core/model/params.h"
#include "core/model/registry.h"
#include "core/util/status_macros.h"

namespace tristage::model {
namespace {

using nlohmann::json;

absl::StatusOr<TransformerSpec> SpecFrom(const json& c) {
  TransformerSpec spec;
  TRISTAGE_ASSIGN_OR_RETURN(spec.hidden_size, GetInt(c, "hidden_size", 256));
  TRISTAGE_ASSIGN_OR_RETURN(spec.num_heads, GetInt(c, "num_heads", 8));
  TRISTAGE_ASSIGN_OR_RETURN(spec.ff_size, GetInt(c, "transformer_output_size", 256));
  TRISTAGE_ASSIGN_OR_RETURN(spec.num_layers, GetInt(c, "num_layers", 1));
  TRISTAGE_ASSIGN_OR_RETURN(spec.dropout, GetDouble(c, "dropout", 0.1));
  if (spec.num_heads <= 0 || spec.hidden_size % spec.num_heads != 0) {
    return absl::InvalidArgumentError("num_heads must divide hidden_size");
  }
  return spec;
}

// The fully connected stack after the reduction: the fc_* keys are its defaults.
absl::StatusOr<FcCode> AddCombinerFc(const json& c, torch::jit::Module& module, int64_t width) {
  json params = c;
  params["activation"] = c.value("fc_activation", json("relu"));
  params["dropout"] = c.value("fc_dropout", json(0.0));
  TRISTAGE_ASSIGN_OR_RETURN(std::vector<FcLayerSpec> layers, FcLayersFromParams(params, "", ""));
  TRISTAGE_ASSIGN_OR_RETURN(bool residual, GetBool(c, "fc_residual", false));
  return AddFcStack(module, layers, width, "h", "fc", residual);
}

// Projects xs[i] for each i in `which` to `size` and stacks them into h [batch, len(which), size].
std::string ProjectAndStack(torch::jit::Module& module, const CombinerArgs& args,
                            const std::vector<size_t>& which, int64_t size) {
  std::vector<std::string> projected;
  for (size_t i : which) {
    projected.push_back(AddTorchLinear(module, absl::StrCat("proj_", i), args.inputs[i].size, size,
                                       true, absl::StrCat("xs[", i, "]")));
  }
  return absl::StrCat("    h = torch.stack([", absl::StrJoin(projected, ", "), "], 1)\n");
}

absl::StatusOr<Built> Transformer(const CombinerArgs& args) {
  const json& c = args.combiner;
  TRISTAGE_ASSIGN_OR_RETURN(TransformerSpec spec, SpecFrom(c));
  TRISTAGE_ASSIGN_OR_RETURN(std::string reduce, GetString(c, "reduce_output", "mean"));
  Built built{args.builder.NewModule("TransformerCombiner"), 0};
  std::vector<size_t> all;
  for (size_t i = 0; i < args.inputs.size(); ++i) all.push_back(i);
  std::string source = "def forward(self, xs: List[Tensor]) -> Tensor:\n" +
                       ProjectAndStack(built.module, args, all, spec.hidden_size) +
                       AddTransformerStack(built.module, spec, "h", "tr");
  int64_t width = spec.hidden_size;
  TRISTAGE_ASSIGN_OR_RETURN(
      std::string reduction,
      AddSequenceReduction(built.module, reduce, static_cast<int64_t>(all.size()), &width, "h",
                           "red"));
  TRISTAGE_ASSIGN_OR_RETURN(FcCode fc, AddCombinerFc(c, built.module, width));
  built.output_size = fc.output_size;
  absl::StrAppend(&source, reduction, fc.statements, "    return h\n");
  TRISTAGE_RETURN_IF_ERROR(Define(built.module, source, "transformer combiner"));
  return built;
}

absl::StatusOr<Built> TabTransformer(const CombinerArgs& args) {
  const json& c = args.combiner;
  TRISTAGE_ASSIGN_OR_RETURN(TransformerSpec spec, SpecFrom(c));
  TRISTAGE_ASSIGN_OR_RETURN(std::string reduce, GetString(c, "reduce_output", "concat"));
  const json embed_name = c.value("embed_input_feature_name", json());
  std::vector<size_t> embeddable, numeric;
  int64_t numeric_width = 0;
  for (size_t i = 0; i < args.inputs.size(); ++i) {
    if (args.inputs[i].type == "number" || args.inputs[i].type == "binary") {
      numeric.push_back(i);
      numeric_width += args.inputs[i].size;
    } else {
      embeddable.push_back(i);
    }
  }
  Built built{args.builder.NewModule("TabTransformerCombiner"), 0};
  std::string source = "def forward(self, xs: List[Tensor]) -> Tensor:\n";
  int64_t width = 0;
  if (!embeddable.empty()) {
    int64_t projector_size = spec.hidden_size;
    int64_t name_size = 0;
    if (embed_name == "add") {
      name_size = spec.hidden_size;
    } else if (embed_name.is_number_integer()) {
      name_size = embed_name.get<int64_t>();
      projector_size = spec.hidden_size - name_size;
    }
    absl::StrAppend(&source, ProjectAndStack(built.module, args, embeddable, projector_size));
    if (name_size > 0) {
      // Ludwig's Embed without an initializer: uniform in [-1, 1]; one row per position.
      AddParameter(
          built.module, "names",
          torch::empty({static_cast<int64_t>(embeddable.size()), name_size}).uniform_(-1.0, 1.0));
      absl::StrAppend(&source,
                      embed_name == "add"
                          ? "    h = h + self.names.unsqueeze(0)\n"
                          : "    h = torch.cat([h, self.names.unsqueeze(0).expand(h.size(0), "
                            "-1, -1)], -1)\n");
    }
    absl::StrAppend(&source, AddTransformerStack(built.module, spec, "h", "tr"));
    width = spec.hidden_size;
    TRISTAGE_ASSIGN_OR_RETURN(
        std::string reduction,
        AddSequenceReduction(built.module, reduce, static_cast<int64_t>(embeddable.size()), &width,
                             "h", "red"));
    absl::StrAppend(&source, reduction);
  } else {
    absl::StrAppend(&source, "    h = torch.zeros([xs[0].size(0), 0])\n");
  }
  if (!numeric.empty()) {
    std::vector<std::string> parts;
    for (size_t i : numeric) parts.push_back(absl::StrCat("xs[", i, "]"));
    absl::StrAppend(&source, "    u = torch.cat([", absl::StrJoin(parts, ", "), "], 1)\n");
    if (numeric_width > 1) {
      AddParameter(built.module, "u_norm_g", torch::ones({numeric_width}));
      AddParameter(built.module, "u_norm_b", torch::zeros({numeric_width}));
      absl::StrAppend(&source, "    u = torch.layer_norm(u, [", numeric_width,
                      "], self.u_norm_g, self.u_norm_b, 1e-05, False)\n");
    }
    absl::StrAppend(&source, "    h = torch.cat([h, u], 1)\n");
    width += numeric_width;
  }
  TRISTAGE_ASSIGN_OR_RETURN(FcCode fc, AddCombinerFc(c, built.module, width));
  built.output_size = fc.output_size;
  if (built.output_size <= 0) {
    return absl::InvalidArgumentError("the combined width is 0: give it inputs or fc layers");
  }
  absl::StrAppend(&source, fc.statements, "    return h\n");
  TRISTAGE_RETURN_IF_ERROR(Define(built.module, source, "tabtransformer combiner"));
  return built;
}

const bool kRegistered = RegisterCombiner("transformer", Transformer) &&
                         RegisterCombiner("tabtransformer", TabTransformer);

}  // namespace
}  // namespace tristage::model
