// Encoders for binary, number and vector inputs: passthrough and dense.
// Inputs: binary and number float32 [batch]; vector float32 [batch, vector_size].
#include "absl/strings/str_cat.h"
#include "core/model/fc_stack.h"
#include "core/model/params.h"
#include "core/model/registry.h"
#include "core/util/status_macros.h"

namespace tristage::model {
namespace {

// Rows become [batch, width] float32: scalars gain a trailing dimension.
absl::StatusOr<int64_t> InputWidth(const EncoderArgs& args, bool is_vector) {
  if (!is_vector) return 1;
  TRISTAGE_ASSIGN_OR_RETURN(int64_t size, GetInt(args.metadata, "vector_size", 0));
  if (size <= 0) return absl::InvalidArgumentError("vector feature metadata has no vector_size");
  return size;
}

std::string AsMatrix(bool is_vector) {
  return is_vector ? "    x = x.float()\n" : "    x = x.float().unsqueeze(-1)\n";
}

absl::StatusOr<Built> Passthrough(const EncoderArgs& args, bool is_vector) {
  Built built{args.builder.NewModule("PassthroughEncoder"), 0};
  TRISTAGE_ASSIGN_OR_RETURN(built.output_size, InputWidth(args, is_vector));
  TRISTAGE_RETURN_IF_ERROR(Define(built.module,
                                  absl::StrCat("def forward(self, x: Tensor) -> Tensor:\n",
                                               AsMatrix(is_vector), "    return x\n"),
                                  "passthrough encoder"));
  return built;
}

absl::StatusOr<Built> Dense(const EncoderArgs& args, bool is_vector) {
  const nlohmann::json& params = Section(args.feature, "encoder");
  TRISTAGE_ASSIGN_OR_RETURN(int64_t width, InputWidth(args, is_vector));
  TRISTAGE_ASSIGN_OR_RETURN(std::vector<FcLayerSpec> layers,
                            FcLayersFromParams(params, "", "num_layers"));
  Built built{args.builder.NewModule("DenseEncoder"), 0};
  TRISTAGE_ASSIGN_OR_RETURN(FcCode fc, AddFcStack(built.module, layers, width, "x", "fc"));
  built.output_size = fc.output_size;
  TRISTAGE_RETURN_IF_ERROR(
      Define(built.module,
             absl::StrCat("def forward(self, x: Tensor) -> Tensor:\n", AsMatrix(is_vector),
                          fc.statements, "    return x\n"),
             "dense encoder"));
  return built;
}

const bool kRegistered = [] {
  for (const char* type : {"binary", "number", "vector"}) {
    const bool is_vector = std::string(type) == "vector";
    RegisterEncoder(type, "passthrough",
                    [is_vector](const EncoderArgs& a) { return Passthrough(a, is_vector); });
    RegisterEncoder(type, "dense",
                    [is_vector](const EncoderArgs& a) { return Dense(a, is_vector); });
  }
  return true;
}();

}  // namespace
}  // namespace tristage::model
