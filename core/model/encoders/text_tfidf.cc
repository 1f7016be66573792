// The tf_idf encoder for text and sequence inputs, as Ludwig's TfIdfEncoder: each row's term
// frequencies over the vocabulary (token counts divided by the padded length, padding counted as
// Ludwig counts it) times the inverse document frequency fitted on the training split,
// log(vocab_size / (1 + rows containing the token)), 0 for tokens no training row contains
// (padding, unknown). Output [batch, vocab_size]; nothing is learned, and the idf table travels
// inside the module, so the exported predictor uses the training split's idf.
#include <cmath>

#include "absl/strings/str_cat.h"
#include "core/model/embedding.h"
#include "core/model/params.h"
#include "core/util/status_macros.h"

namespace tristage::model {
namespace {

absl::StatusOr<Built> TfIdf(const EncoderArgs& args) {
  TRISTAGE_ASSIGN_OR_RETURN(int64_t vocab, VocabSize(args.metadata));
  auto it = args.metadata.find("document_frequency");
  if (it == args.metadata.end() || !it->is_array() || static_cast<int64_t>(it->size()) != vocab) {
    return absl::InvalidArgumentError(
        "feature metadata has no document_frequency for the tf_idf encoder (preprocessed by an "
        "older tristage: delete the preprocessed cache files beside the dataset)");
  }
  torch::Tensor idf = torch::zeros({1, vocab});
  float* data = idf.data_ptr<float>();
  for (int64_t i = 0; i < vocab; ++i) {
    const int64_t documents = (*it)[static_cast<size_t>(i)].get<int64_t>();
    if (documents > 0) {
      data[i] = static_cast<float>(std::log(static_cast<double>(vocab) / (1.0 + documents)));
    }
  }
  Built built{args.builder.NewModule("TfIdfEncoder"), vocab};
  AddBuffer(built.module, "idf", idf);
  const std::string source = absl::StrCat(
      "def forward(self, x: Tensor) -> Tensor:\n"
      "    x = x.long()\n"
      "    counts = torch.zeros([x.size(0), ", vocab, "], dtype=6, device=x.device)\n"
      "    counts = counts.scatter_add(1, x, torch.ones_like(x, dtype=6))\n"
      "    return counts / float(max(x.size(1), 1)) * self.idf\n");
  TRISTAGE_RETURN_IF_ERROR(Define(built.module, source, "tf_idf encoder"));
  return built;
}

const bool kRegistered = [] {
  for (const char* type : {"text", "sequence"}) RegisterEncoder(type, "tf_idf", TfIdf);
  return true;
}();

}  // namespace
}  // namespace tristage::model
