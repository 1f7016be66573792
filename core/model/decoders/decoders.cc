// Decoders: an optional fully connected stack (fc_* parameters) then a linear projection to the
// logits: hidden(h) is the stack, project(hidden) the projection, forward(h) both; output
// features that depend on this one read hidden(h). regressor (binary, number): [batch]; classifier (category, set): [batch, classes];
// projector (vector): [batch, vector_size], with an optional activation.
#include "absl/strings/str_cat.h"
#include "core/model/fc_stack.h"
#include "core/model/params.h"
#include "core/model/registry.h"
#include "core/util/status_macros.h"

namespace tristage::model {
namespace {

enum class Kind { kRegressor, kClassifier, kProjector };

absl::StatusOr<Built> Build(const DecoderArgs& args, Kind kind) {
  const nlohmann::json& params = Section(args.feature, "decoder");
  TRISTAGE_ASSIGN_OR_RETURN(std::vector<FcLayerSpec> layers, FcLayersFromParams(params, "fc_", ""));
  TRISTAGE_ASSIGN_OR_RETURN(bool use_bias, GetBool(params, "use_bias", true));
  TRISTAGE_ASSIGN_OR_RETURN(std::string weights_init,
                            GetString(params, "weights_initializer", "xavier_uniform"));
  TRISTAGE_ASSIGN_OR_RETURN(std::string bias_init, GetString(params, "bias_initializer", "zeros"));
  Built built{args.builder.NewModule("Decoder"), args.output_size};
  TRISTAGE_ASSIGN_OR_RETURN(FcCode fc,
                            AddFcStack(built.module, layers, args.input_size, "h", "fc"));
  torch::Tensor weight = torch::empty({args.output_size, fc.output_size});
  TRISTAGE_RETURN_IF_ERROR(Initialize(weight, weights_init));
  AddParameter(built.module, "w", weight);
  std::string bias = "None";
  if (use_bias) {
    torch::Tensor b = torch::empty({args.output_size});
    TRISTAGE_RETURN_IF_ERROR(Initialize(b, bias_init));
    AddParameter(built.module, "b", b);
    bias = "self.b";
  }
  built.hidden_size = fc.output_size;
  std::string source = absl::StrCat("def hidden(self, h: Tensor) -> Tensor:\n", fc.statements,
                                    "    return h\n\n",
                                    "def project(self, h: Tensor) -> Tensor:\n",
                                    "    h = torch.linear(h, self.w, ", bias, ")\n");
  if (kind == Kind::kRegressor) absl::StrAppend(&source, "    h = h.squeeze(-1)\n");
  if (kind == Kind::kProjector) {
    TRISTAGE_ASSIGN_OR_RETURN(std::string activation, GetString(params, "activation", "linear"));
    TRISTAGE_ASSIGN_OR_RETURN(std::string activated, ActivationExpression(activation, "h"));
    if (activated != "h") absl::StrAppend(&source, "    h = ", activated, "\n");
  }
  absl::StrAppend(&source, "    return h\n\n",
                  "def forward(self, h: Tensor) -> Tensor:\n",
                  "    return self.project(self.hidden(h))\n");
  TRISTAGE_RETURN_IF_ERROR(Define(built.module, source, "decoder"));
  return built;
}

const bool kRegistered = [] {
  for (const char* type : {"binary", "number"}) {
    RegisterDecoder(type, "regressor",
                    [](const DecoderArgs& a) { return Build(a, Kind::kRegressor); });
  }
  for (const char* type : {"category", "set"}) {
    RegisterDecoder(type, "classifier",
                    [](const DecoderArgs& a) { return Build(a, Kind::kClassifier); });
  }
  RegisterDecoder("vector", "projector",
                  [](const DecoderArgs& a) { return Build(a, Kind::kProjector); });
  return true;
}();

}  // namespace
}  // namespace tristage::model
