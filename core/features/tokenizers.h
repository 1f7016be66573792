// Tokenizers for text, sequence, set and bag features, by Ludwig's config names:
//   space        runs of whitespace separate tokens
//   space_punct  words (letters, digits, '_' and any non-ASCII byte) and single punctuation marks
//   characters   each UTF-8 character (whitespace skipped)
//   comma        ',' separates tokens, which are trimmed
//   underscore   '_' separates tokens, which are trimmed
// ASCII-only rules on bytes, with every non-ASCII byte part of a word, so that UTF-8 text is never
// split inside a character and the same rules are easy to mirror in the exported TorchScript.
#ifndef TRISTAGE_CORE_FEATURES_TOKENIZERS_H_
#define TRISTAGE_CORE_FEATURES_TOKENIZERS_H_

#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace tristage::features {

using Tokenizer = std::function<std::vector<std::string>(absl::string_view)>;

// InvalidArgument listing the known names for an unknown one.
absl::StatusOr<Tokenizer> FindTokenizer(absl::string_view name);

// ASCII lowercase (non-ASCII bytes unchanged), as the `lowercase` preprocessing option applies.
std::string LowercaseAscii(absl::string_view text);

}  // namespace tristage::features

#endif  // TRISTAGE_CORE_FEATURES_TOKENIZERS_H_
