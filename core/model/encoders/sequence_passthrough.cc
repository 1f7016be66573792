// The passthrough encoder for text and sequence inputs, as Ludwig's SequencePassthroughEncoder:
// the token ids themselves, as floats, one number per position, reduced by `reduce_output`
// (Ludwig's default null keeps every position: [batch, length]). No parameters are learned.
#include "core/model/encoders/sequence_common.h"
#include "core/model/params.h"

namespace tristage::model {
namespace {

absl::StatusOr<Built> Passthrough(const EncoderArgs& args) {
  // The schema refuses encoding_size (Ludwig's, for sequences of vectors): token ids are scalars.
  const nlohmann::json& params = Section(args.feature, "encoder");
  if (auto it = params.find("encoding_size"); it != params.end() && !it->is_null()) {
    return absl::InvalidArgumentError("encoder.encoding_size: not supported for token ids");
  }
  auto length = SequenceLength(args);
  if (!length.ok()) return length.status();
  Built built{args.builder.NewModule("SequencePassthroughEncoder"), 0};
  std::string source =
      "    mask = torch.ne(x, 0).float().unsqueeze(-1)\n"
      "    h = x.float().unsqueeze(-1)\n";
  return FinishSequenceEncoder(args, std::move(built), std::move(source), 1, *length,
                               {"none", 0, nlohmann::json::object()}, "passthrough encoder");
}

const bool kRegistered = [] {
  for (const char* type : {"text", "sequence"}) RegisterEncoder(type, "passthrough", Passthrough);
  return true;
}();

}  // namespace
}  // namespace tristage::model
