#include "core/export/values.h"

#include <algorithm>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/export/output_types.h"
#include "core/util/status_macros.h"
#include "core/util/strings.h"

namespace tristage::exporting {

absl::StatusOr<int64_t> ValidateInputs(const Manifest& manifest, const InputColumns& columns) {
  std::set<std::string> known;
  int64_t rows = -1;
  std::string first;
  for (const InputSpec& spec : manifest.inputs) {
    known.insert(spec.name);
    auto it = columns.find(spec.name);
    if (it == columns.end()) {
      std::vector<std::string> names;
      for (const InputSpec& s : manifest.inputs) names.push_back(s.name);
      return absl::InvalidArgumentError(absl::StrCat("missing input feature '", spec.name,
                                                     "' (the model needs ",
                                                     absl::StrJoin(names, ", "), ")"));
    }
    const InputColumn& column = it->second;
    if (manifest.model_only && column.is_strings) {  // a tensor model: the predictor's tensors
      return absl::InvalidArgumentError(absl::StrCat("input '", spec.name,
                                                     "' of a predictor-only model takes a ",
                                                     spec.dtype, " tensor (numbers), not strings"));
    }
    if (column.is_strings) {
      for (size_t row = 0; row < column.strings.size(); ++row) {
        const size_t at = InvalidUtf8At(column.strings[row]);
        if (at != absl::string_view::npos) {
          return absl::InvalidArgumentError(absl::StrCat("feature '", spec.name, "' row ", row,
                                                         ": not valid UTF-8 at byte ", at));
        }
      }
    } else {
      if (!manifest.model_only &&
          std::find(spec.accepts.begin(), spec.accepts.end(), "Tensor") == spec.accepts.end()) {
        return absl::InvalidArgumentError(
            absl::StrCat("feature '", spec.name, "' (", spec.type, ") takes strings, not numbers"));
      }
      int64_t width = spec.shape.size() == 2 ? spec.shape[1] : 1;
      if (manifest.model_only) {  // every dimension after the rows
        width = 1;
        for (size_t d = 1; d < spec.shape.size(); ++d) width *= std::max<int64_t>(spec.shape[d], 1);
      }
      if (column.width != width) {
        return absl::InvalidArgumentError(absl::StrCat("feature '", spec.name, "': ", column.width,
                                                       " values per row, the model ", "takes ",
                                                       width));
      }
      if (static_cast<int64_t>(column.numbers.size()) % width != 0) {
        return absl::InvalidArgumentError(absl::StrCat("feature '", spec.name,
                                                       "': ", column.numbers.size(),
                                                       " values are not whole rows of ", width));
      }
    }
    if (rows < 0) {
      rows = column.rows();
      first = spec.name;
    } else if (column.rows() != rows) {
      return absl::InvalidArgumentError(absl::StrCat(
          "feature '", spec.name, "' has ", column.rows(), " rows but '", first, "' has ", rows));
    }
  }
  for (const auto& [name, column] : columns) {
    if (known.count(name) == 0) {
      return absl::InvalidArgumentError(absl::StrCat("unknown input '", name, "'"));
    }
  }
  return rows < 0 ? 0 : rows;
}

void AppendRows(InputColumns& into, const InputColumns& more) {
  auto as_strings = [](InputColumn& column) {
    if (column.is_strings) return;
    for (size_t start = 0; start < column.numbers.size();
         start += static_cast<size_t>(column.width)) {
      std::vector<std::string> parts;
      for (int64_t k = 0; k < column.width; ++k)
        parts.push_back(FormatNumber(column.numbers[start + k]));
      column.strings.push_back(absl::StrJoin(parts, " "));
    }
    column.numbers.clear();
    column.is_strings = true;
  };
  for (const auto& [name, column] : more) {
    auto [it, inserted] = into.emplace(name, column);
    if (inserted) continue;
    InputColumn& target = it->second;
    if (target.is_strings == column.is_strings && target.width == column.width) {
      if (column.is_strings) {
        target.strings.insert(target.strings.end(), column.strings.begin(), column.strings.end());
      } else {
        target.numbers.insert(target.numbers.end(), column.numbers.begin(), column.numbers.end());
      }
      continue;
    }
    InputColumn copy = column;
    as_strings(target);
    as_strings(copy);
    target.strings.insert(target.strings.end(), copy.strings.begin(), copy.strings.end());
  }
}

int64_t OutputValues::rows() const {
  if (!tensors.empty()) return tensors.front().rows();
  return static_cast<int64_t>(
      std::max({labels.size(), numbers.size(), vectors.size(), items.size(), probability.size()}));
}

RawTensor RawTensor::Slice(int64_t begin, int64_t end) const {
  RawTensor out;
  out.name = name;
  out.datatype = datatype;
  out.shape = shape;
  const int64_t total = rows();
  if (total <= 0) return out;
  const size_t row_bytes = data.size() / static_cast<size_t>(total);
  out.shape[0] = end - begin;
  out.data = data.substr(static_cast<size_t>(begin) * row_bytes,
                         static_cast<size_t>(end - begin) * row_bytes);
  return out;
}

OutputValues OutputValues::Slice(int64_t begin, int64_t end) const {
  OutputValues out;
  out.type = type;
  out.class_names = class_names;
  auto take = [begin, end](const auto& values, auto& into) {
    if (values.empty()) return;
    into.assign(values.begin() + begin, values.begin() + end);
  };
  take(labels, out.labels);
  take(numbers, out.numbers);
  take(vectors, out.vectors);
  take(items, out.items);
  take(item_probabilities, out.item_probabilities);
  take(probability, out.probability);
  for (const RawTensor& tensor : tensors) out.tensors.push_back(tensor.Slice(begin, end));
  if (!probabilities.empty() && !class_names.empty()) {
    const int64_t width = static_cast<int64_t>(class_names.size());
    out.probabilities.assign(probabilities.begin() + begin * width,
                             probabilities.begin() + end * width);
  }
  return out;
}

OutputMap SliceOutputs(const OutputMap& outputs, int64_t begin, int64_t end) {
  OutputMap out;
  for (const auto& [name, values] : outputs) out.emplace_back(name, values.Slice(begin, end));
  return out;
}

OutputMap ConcatOutputs(const std::vector<OutputMap>& parts) {
  if (parts.empty()) return {};
  OutputMap out = parts.front();
  for (size_t p = 1; p < parts.size(); ++p) {
    for (size_t f = 0; f < out.size(); ++f) {
      OutputValues& into = out[f].second;
      const OutputValues& more = parts[p][f].second;
      auto append = [](auto& a, const auto& b) { a.insert(a.end(), b.begin(), b.end()); };
      append(into.labels, more.labels);
      append(into.numbers, more.numbers);
      append(into.vectors, more.vectors);
      append(into.items, more.items);
      append(into.probabilities, more.probabilities);
      append(into.item_probabilities, more.item_probabilities);
      append(into.probability, more.probability);
      for (size_t t = 0; t < into.tensors.size() && t < more.tensors.size(); ++t) {
        into.tensors[t].data += more.tensors[t].data;
        into.tensors[t].shape[0] += more.tensors[t].rows();
      }
    }
  }
  return out;
}

absl::StatusOr<data::Table> PredictionsTable(const OutputMap& outputs) {
  data::Table table;
  for (const auto& [name, values] : outputs) {
    const OutputType* type = FindOutputType(values.type);
    SuffixColumns columns;
    if (type != nullptr) {
      columns = type->columns(values);
    } else {  // a type this build does not know (e.g. from a newer daemon): its labels, if any
      data::Column predicted;
      for (const std::string& label : values.labels) predicted.Append(label, false);
      columns.emplace_back("_predictions", std::move(predicted));
    }
    for (auto& [suffix, column] : columns) {
      TRISTAGE_RETURN_IF_ERROR(table.AddColumn(name + suffix, std::move(column)));
    }
  }
  return table;
}

}  // namespace tristage::exporting
