#include "server/rpc/decode.h"

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"

namespace tristage::server {
namespace {

using inference::ModelInferRequest;

template <typename T>
T Read(const char* bytes) {
  T value;
  std::memcpy(&value, bytes, sizeof(T));  // the protocol's raw data is little-endian, as this CPU
  return value;
}

// Appends `count` little-endian elements of T from `bytes` as doubles.
template <typename T>
void AppendNumbers(const char* bytes, int64_t count, std::vector<double>& into) {
  into.reserve(into.size() + static_cast<size_t>(count));
  for (int64_t e = 0; e < count; ++e) {
    into.push_back(static_cast<double>(Read<T>(bytes + e * static_cast<int64_t>(sizeof(T)))));
  }
}

// The datatype is looked at once per tensor, not once per element (a remote predictor's batch
// carries tens of thousands of elements).
void AppendRawNumbers(const std::string& datatype, const char* bytes, int64_t count,
                      std::vector<double>& into) {
  if (datatype == "BOOL") {
    into.reserve(into.size() + static_cast<size_t>(count));
    for (int64_t e = 0; e < count; ++e) into.push_back(bytes[e] != 0 ? 1.0 : 0.0);
  } else if (datatype == "INT8") {
    AppendNumbers<int8_t>(bytes, count, into);
  } else if (datatype == "UINT8") {
    AppendNumbers<uint8_t>(bytes, count, into);
  } else if (datatype == "INT16") {
    AppendNumbers<int16_t>(bytes, count, into);
  } else if (datatype == "UINT16") {
    AppendNumbers<uint16_t>(bytes, count, into);
  } else if (datatype == "INT32") {
    AppendNumbers<int32_t>(bytes, count, into);
  } else if (datatype == "UINT32") {
    AppendNumbers<uint32_t>(bytes, count, into);
  } else if (datatype == "INT64") {
    AppendNumbers<int64_t>(bytes, count, into);
  } else if (datatype == "UINT64") {
    AppendNumbers<uint64_t>(bytes, count, into);
  } else if (datatype == "FP32") {
    AppendNumbers<float>(bytes, count, into);
  } else {
    AppendNumbers<double>(bytes, count, into);
  }
}

absl::Status TensorError(const std::string& name, const std::string& reason) {
  return absl::InvalidArgumentError(absl::StrCat("input tensor '", name, "': ", reason));
}

}  // namespace

int KServeElementSize(const std::string& datatype) {
  if (datatype == "BOOL" || datatype == "INT8" || datatype == "UINT8") return 1;
  if (datatype == "INT16" || datatype == "UINT16") return 2;
  if (datatype == "INT32" || datatype == "UINT32" || datatype == "FP32") return 4;
  if (datatype == "INT64" || datatype == "UINT64" || datatype == "FP64") return 8;
  return 0;
}

absl::StatusOr<exporting::InputColumns> InputsFromProto(
    const tristage::v1::PredictRequest& request) {
  exporting::InputColumns columns;
  for (const auto& [name, proto] : request.inputs()) {
    exporting::InputColumn& column = columns[name];
    column.width = proto.width() > 0 ? proto.width() : 1;
    switch (proto.values_case()) {
      case tristage::v1::InputColumn::kStrings:
        column.strings.assign(proto.strings().values().begin(), proto.strings().values().end());
        break;
      case tristage::v1::InputColumn::kDoubles:
        column.is_strings = false;
        column.numbers.assign(proto.doubles().values().begin(), proto.doubles().values().end());
        break;
      case tristage::v1::InputColumn::kInt64S:
        column.is_strings = false;
        for (int64_t v : proto.int64s().values()) column.numbers.push_back(static_cast<double>(v));
        break;
      case tristage::v1::InputColumn::kBools:
        column.is_strings = false;
        for (bool v : proto.bools().values()) column.numbers.push_back(v ? 1.0 : 0.0);
        break;
      default: return absl::InvalidArgumentError(absl::StrCat("input '", name, "' has no values"));
    }
  }
  return columns;
}

absl::StatusOr<exporting::InputColumns> InputsFromInferRequest(const ModelInferRequest& request) {
  const bool raw = request.raw_input_contents_size() > 0;
  if (raw && request.raw_input_contents_size() != request.inputs_size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("raw_input_contents has ", request.raw_input_contents_size(), " entries for ",
                     request.inputs_size(), " inputs"));
  }
  exporting::InputColumns columns;
  for (int i = 0; i < request.inputs_size(); ++i) {
    const ModelInferRequest::InferInputTensor& tensor = request.inputs(i);
    const std::string& name = tensor.name();
    if (columns.count(name) != 0) return TensorError(name, "given twice");
    // As in KServe and Triton: with raw_input_contents, a tensor's values are there and only there
    // (the request would otherwise carry two sets of values, one of them silently dropped).
    if (raw && tensor.has_contents()) {
      return TensorError(name, "contents must not be set when the request has raw_input_contents");
    }
    if (tensor.shape_size() < 1 || tensor.shape_size() > 2) {
      return TensorError(name, "shape must be [rows] or [rows, n]");
    }
    int64_t elements = 1;
    for (int64_t d : tensor.shape()) {
      if (d < 0) return TensorError(name, "negative dimension in shape");
      // No request holds 2^63 values: the element count must not wrap (fuzz/corpus regression).
      if (__builtin_mul_overflow(elements, d, &elements)) {
        return TensorError(name, "shape has more elements than a request can hold");
      }
    }
    const int64_t width = tensor.shape_size() == 2 ? tensor.shape(1) : 1;
    exporting::InputColumn& column = columns[name];
    const std::string& datatype = tensor.datatype();
    if (datatype == "BYTES") {
      if (width != 1) return TensorError(name, "BYTES tensors must be [rows] or [rows, 1]");
      if (raw) {
        const std::string& bytes = request.raw_input_contents(i);
        size_t at = 0;
        while (at < bytes.size()) {
          // Stop at the shape's count: 4 bytes make an element, 32 hold one as a string.
          if (static_cast<int64_t>(column.strings.size()) == elements) {
            return TensorError(name,
                               absl::StrCat("more raw BYTES elements than the shape's ", elements));
          }
          if (at + 4 > bytes.size()) return TensorError(name, "truncated raw BYTES element");
          const uint32_t length = Read<uint32_t>(bytes.data() + at);
          at += 4;
          if (at + length > bytes.size()) return TensorError(name, "truncated raw BYTES element");
          column.strings.emplace_back(bytes.substr(at, length));
          at += length;
        }
      } else {
        column.strings.assign(tensor.contents().bytes_contents().begin(),
                              tensor.contents().bytes_contents().end());
      }
      if (static_cast<int64_t>(column.strings.size()) != elements) {
        return TensorError(
            name, absl::StrCat(column.strings.size(), " elements for shape with ", elements));
      }
      continue;
    }
    const int size = KServeElementSize(datatype);
    if (size == 0) return TensorError(name, absl::StrCat("unsupported datatype '", datatype, "'"));
    column.is_strings = false;
    column.width = width;
    if (raw) {
      const std::string& bytes = request.raw_input_contents(i);
      // Divided, not multiplied: elements * size may not fit in int64.
      if (bytes.size() % size != 0 || static_cast<int64_t>(bytes.size() / size) != elements) {
        return TensorError(name, absl::StrCat(bytes.size(), " raw bytes for ", elements, " ",
                                              datatype, " elements"));
      }
      AppendRawNumbers(datatype, bytes.data(), elements, column.numbers);
    } else {
      const inference::InferTensorContents& c = tensor.contents();
      auto take = [&column](const auto& values) {
        for (const auto& v : values) column.numbers.push_back(static_cast<double>(v));
      };
      if (datatype == "FP32")
        take(c.fp32_contents());
      else if (datatype == "FP64")
        take(c.fp64_contents());
      else if (datatype == "INT64")
        take(c.int64_contents());
      else if (datatype == "UINT64")
        take(c.uint64_contents());
      else if (datatype == "BOOL")
        take(c.bool_contents());
      else if (datatype == "UINT8" || datatype == "UINT16" || datatype == "UINT32")
        take(c.uint_contents());
      else
        take(c.int_contents());
      if (static_cast<int64_t>(column.numbers.size()) != elements) {
        return TensorError(name, absl::StrCat(column.numbers.size(), " ", datatype,
                                              " values for shape with ", elements, " elements"));
      }
    }
  }
  return columns;
}

}  // namespace tristage::server
