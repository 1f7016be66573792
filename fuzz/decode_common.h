// What every decode fuzzer does with columns that decoded: the checks the server runs next
// (exporting::ValidateInputs against a model's manifest) and the batcher's AppendRows, on a fixed
// model with one input of each kind the decoders produce: number and binary (tensors or strings),
// category and text (strings), vector (tensors of width 3 or strings). The seeds in
// fuzz/corpus/decode_*/ use these names.
#ifndef TRISTAGE_FUZZ_DECODE_COMMON_H_
#define TRISTAGE_FUZZ_DECODE_COMMON_H_

#include <string>

#include "absl/strings/str_cat.h"
#include "core/export/manifest.h"
#include "core/export/values.h"
#include "fuzz/fuzz_check.h"

namespace tristage::fuzz {

inline const exporting::Manifest& FuzzManifest() {
  static const exporting::Manifest* manifest = [] {
    auto* m = new exporting::Manifest;
    m->model_id = "fuzz";
    m->device = "cpu";
    auto add = [m](const char* name, const char* type, bool tensor, int64_t width) {
      exporting::InputSpec spec;
      spec.name = spec.column = name;
      spec.type = type;
      spec.accepts = {"List[str]"};
      if (tensor) spec.accepts.push_back("Tensor");
      spec.dtype = "float32";
      spec.shape = width == 1 ? std::vector<int64_t>{-1} : std::vector<int64_t>{-1, width};
      m->inputs.push_back(spec);
    };
    add("age", "number", true, 1);
    add("churned", "binary", true, 1);
    add("plan", "category", false, 1);
    add("notes", "text", false, 1);
    add("emb", "vector", true, 3);
    return m;
  }();
  return *manifest;
}

// Columns that pass ValidateInputs batch with themselves into twice the rows.
inline void CheckDecoded(const exporting::InputColumns& columns) {
  absl::StatusOr<int64_t> rows = exporting::ValidateInputs(FuzzManifest(), columns);
  if (!rows.ok()) return;
  exporting::InputColumns batch = columns;
  exporting::AppendRows(batch, columns);
  for (const auto& [name, column] : batch) {
    FUZZ_CHECK(column.rows() == 2 * *rows,
               absl::StrCat(name, ": ", column.rows(), " rows after batching ", *rows, " twice"));
  }
}

}  // namespace tristage::fuzz

#endif  // TRISTAGE_FUZZ_DECODE_COMMON_H_
