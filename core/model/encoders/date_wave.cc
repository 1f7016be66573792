// The wave encoder for date inputs, as Ludwig's DateWave. Input: int64 [batch, 9] (year, month,
// day, weekday, yearday, hour, minute, second, second_of_day; see date.cc). The year, centred and
// scaled (a departure: Ludwig feeds the raw year), goes through a learned 1 -> 1 linear layer
// (with the encoder's dropout), every other component becomes
// cos(2 pi value / period) (periods 12, 31, 7, 366, 24, 60, 60, 86400), and the 9 values feed the
// fully connected stack (num_fc_layers 1 of output_size 10 by default).
#include "absl/strings/str_cat.h"
#include "core/model/fc_stack.h"
#include "core/model/params.h"
#include "core/model/registry.h"
#include "core/util/status_macros.h"

namespace tristage::model {
namespace {

absl::StatusOr<Built> Wave(const EncoderArgs& args) {
  const nlohmann::json& params = Section(args.feature, "encoder");
  TRISTAGE_ASSIGN_OR_RETURN(double dropout, GetDouble(params, "dropout", 0.0));
  TRISTAGE_ASSIGN_OR_RETURN(bool use_bias, GetBool(params, "use_bias", true));
  TRISTAGE_ASSIGN_OR_RETURN(std::string weights_init,
                            GetString(params, "weights_initializer", "xavier_uniform"));
  TRISTAGE_ASSIGN_OR_RETURN(std::string bias_init, GetString(params, "bias_initializer", "zeros"));
  TRISTAGE_ASSIGN_OR_RETURN(std::vector<FcLayerSpec> layers, FcLayersFromParams(params, "", ""));
  Built built{args.builder.NewModule("DateWaveEncoder"), 0};
  // Ludwig's year_fc: one linear unit, no activation, no norm.
  FcLayerSpec year;
  year.output_size = 1;
  year.activation = "linear";
  year.dropout = dropout;
  year.use_bias = use_bias;
  year.weights_initializer = weights_init;
  year.bias_initializer = bias_init;
  TRISTAGE_ASSIGN_OR_RETURN(FcCode year_fc, AddFcStack(built.module, {year}, 1, "y", "year"));
  std::string source =
      "def forward(self, x: Tensor) -> Tensor:\n"
      "    v = x.float()\n"
      // Centred on 2000 and scaled as the embed encoder's year (date.cc), before the learned
      // linear unit: the same functions as Ludwig's raw year, but a 2019 no longer enters a
      // xavier-initialized layer as 2019 and saturates the fully connected stack.
      "    y = (v[:, 0:1] - 2000.0) / 100.0\n" +
      year_fc.statements +
      "    periods = torch.tensor([12.0, 31.0, 7.0, 366.0, 24.0, 60.0, 60.0, 86400.0], "
      "dtype=6, device=x.device)\n"
      "    h = torch.cat([y, torch.cos(v[:, 1:9] * 6.283185307179586 / periods)], 1)\n";
  TRISTAGE_ASSIGN_OR_RETURN(FcCode fc, AddFcStack(built.module, layers, 9, "h", "fc"));
  built.output_size = fc.output_size;
  absl::StrAppend(&source, fc.statements, "    return h\n");
  TRISTAGE_RETURN_IF_ERROR(Define(built.module, source, "date wave encoder"));
  return built;
}

const bool kRegistered = RegisterEncoder("date", "wave", Wave);

}  // namespace
}  // namespace tristage::model
