// The postprocessor's result dict as the output types' decoders (export/output_types.h, `decode`)
// read it. Internal to core (torch).
//
// Thread safety: a view of one result; use it on one thread.
#ifndef TRISTAGE_CORE_EXPORT_SCRIPT_RESULT_H_
#define TRISTAGE_CORE_EXPORT_SCRIPT_RESULT_H_

#include <ATen/core/Dict.h>
#include <ATen/core/ivalue.h>
#include <torch/types.h>

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"

namespace tristage::exporting {

class ScriptResult {
 public:
  // `result` must outlive this view.
  explicit ScriptResult(const c10::impl::GenericDict& result) : result_(result) {}

  // Internal when the postprocessor gave no `key`.
  absl::StatusOr<c10::IValue> Get(const std::string& key) const {
    auto it = result_.find(key);
    if (it == result_.end()) {
      return absl::InternalError(absl::StrCat("postprocessor gave no '", key, "'"));
    }
    return it->value();
  }

  // A tensor's values, flattened, as float32 on the CPU.
  static std::vector<float> Floats(const torch::Tensor& tensor) {
    const torch::Tensor t = tensor.to(torch::kCPU, torch::kFloat).contiguous();
    return std::vector<float>(t.data_ptr<float>(), t.data_ptr<float>() + t.numel());
  }

  // A List[str].
  static std::vector<std::string> Strings(const c10::IValue& list) {
    std::vector<std::string> strings;
    for (const c10::IValue& item : list.toListRef()) strings.push_back(item.toStringRef());
    return strings;
  }

 private:
  const c10::impl::GenericDict& result_;
};

}  // namespace tristage::exporting

#endif  // TRISTAGE_CORE_EXPORT_SCRIPT_RESULT_H_
