// The embed encoder for date inputs. Input: int64 [batch, 9] with the components the date feature
// extracts: year, month (1-12), day (1-31), weekday (0-6), yearday (1-366), hour, minute, second,
// second_of_day. Each cyclic component has its own embedding; year and second_of_day enter as
// scaled numbers; all are concatenated, then an optional fully connected stack.
#include "absl/strings/str_cat.h"
#include "core/model/embedding.h"
#include "core/model/fc_stack.h"
#include "core/model/params.h"
#include "core/model/registry.h"
#include "core/util/status_macros.h"

namespace tristage::model {
namespace {

struct Component {
  const char* name;
  int column;
  int64_t rows;  // embedding rows; indices are used as they are (month 12 -> row 12).
};
constexpr Component kComponents[] = {{"month", 1, 13},    {"day", 2, 32},  {"weekday", 3, 7},
                                     {"yearday", 4, 367}, {"hour", 5, 24}, {"minute", 6, 60},
                                     {"second", 7, 60}};

absl::StatusOr<Built> Embed(const EncoderArgs& args) {
  const nlohmann::json& params = Section(args.feature, "encoder");
  TRISTAGE_ASSIGN_OR_RETURN(int64_t dim, GetInt(params, "embedding_size", 10));
  TRISTAGE_ASSIGN_OR_RETURN(std::string init, GetString(params, "embedding_initializer", ""));
  TRISTAGE_ASSIGN_OR_RETURN(double dropout, GetDouble(params, "dropout", 0.0));
  TRISTAGE_ASSIGN_OR_RETURN(std::vector<FcLayerSpec> layers, FcLayersFromParams(params, "", ""));
  Built built{args.builder.NewModule("DateEmbedEncoder"), 0};
  std::string source =
      "def forward(self, x: Tensor) -> Tensor:\n"
      "    x = x.long()\n"
      "    parts: List[Tensor] = []\n"
      // Years are centred on 2000 and scaled to about [-1, 1] for the usual range of data.
      "    parts.append(((x[:, 0].float() - 2000.0) / 100.0).unsqueeze(-1))\n"
      "    parts.append((x[:, 8].float() / 86400.0).unsqueeze(-1))\n";
  for (const Component& c : kComponents) {
    const std::string table = absl::StrCat(c.name, "_embeddings");
    // Date tables keep torch's N(0, 1) unless an initializer is given (unmeasured; Ludwig uses
    // the encoder's weights_initializer).
    TRISTAGE_RETURN_IF_ERROR(
        AddEmbedding(built.module, table, c.rows, dim, init.empty() ? "normal" : init, true));
    absl::StrAppend(&source, "    parts.append(torch.embedding(self.", table, ", torch.clamp(x[:, ",
                    c.column, "], 0, ", c.rows - 1, "), -1, False, False))\n");
  }
  absl::StrAppend(&source, "    h = torch.cat(parts, 1)\n");
  if (dropout > 0) {
    absl::StrAppend(&source, "    h = torch.dropout(h, ", FloatLiteral(dropout),
                    ", self.training)\n");
  }
  const int64_t concat_size = 2 + dim * static_cast<int64_t>(std::size(kComponents));
  TRISTAGE_ASSIGN_OR_RETURN(FcCode fc, AddFcStack(built.module, layers, concat_size, "h", "fc"));
  built.output_size = fc.output_size;
  absl::StrAppend(&source, fc.statements, "    return h\n");
  TRISTAGE_RETURN_IF_ERROR(Define(built.module, source, "date embed encoder"));
  return built;
}

const bool kRegistered = RegisterEncoder("date", "embed", Embed);

}  // namespace
}  // namespace tristage::model
