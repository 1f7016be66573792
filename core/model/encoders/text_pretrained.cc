// The text encoders Ludwig only offers as pretrained Hugging Face models (bert, roberta, t5, ...).
// They are known names, so a Ludwig config that uses one fails with the reason rather than
// "unknown encoder": tristage cannot download pretrained weights, and training them from scratch
// would not be the model the config describes.
#include "absl/strings/str_cat.h"
#include "core/model/registry.h"

namespace tristage::model {
namespace {

constexpr const char* kPretrained[] = {
    "albert",   "auto_transformer", "bert",       "camembert", "deberta", "distilbert",
    "electra",  "flaubert",         "gpt",        "gpt2",      "longformer", "roberta",
    "t5",       "transformer_xl",   "xlmroberta", "xlnet"};

const bool kRegistered = [] {
  for (const char* name : kPretrained) {
    const std::string encoder = name;
    RegisterEncoder("text", name, [encoder](const EncoderArgs&) -> absl::StatusOr<Built> {
      return absl::UnimplementedError(absl::StrCat(
          "encoder.type: '", encoder,
          "' is a pretrained Hugging Face model and no pretrained weights can be downloaded "
          "here; use transformer, stacked_cnn, parallel_cnn, rnn, cnnrnn, embed or tf_idf, which "
          "train from the data"));
    });
  }
  return true;
}();

}  // namespace
}  // namespace tristage::model
