#include "server/http/rest_codec.h"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/export/output_types.h"
#include "nlohmann/json.hpp"
#include "server/rpc/decode.h"

namespace tristage::server::http {
namespace {

using nlohmann::json;

// Thrown by the parse callback past kMaxJsonDepth; caught in Parse.
struct TooDeep {};

// `text` as JSON, or InvalidArgument naming `what` with the parser's reason (it gives the byte).
absl::StatusOr<json> Parse(absl::string_view text, const std::string& what) {
  try {
    return json::parse(
        text.begin(), text.end(),
        [](int depth, json::parse_event_t, json&) {
          if (depth > kMaxJsonDepth) throw TooDeep{};
          return true;
        },
        /*allow_exceptions=*/true, /*ignore_comments=*/false);
  } catch (const TooDeep&) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " nests deeper than ", kMaxJsonDepth, " levels"));
  } catch (const json::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat(what, " is not valid JSON: ", e.what()));
  }
}

std::string Dump(const json& value) {
  return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

absl::Status Invalid(const std::string& field, const std::string& reason) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", reason));
}

template <typename T>
void AppendRaw(T value, std::string& raw) {
  char bytes[sizeof(T)];
  std::memcpy(bytes, &value, sizeof(T));  // little-endian, as this CPU and the protocol
  raw.append(bytes, sizeof(T));
}

template <typename T>
T ReadRaw(const char* bytes) {
  T value;
  std::memcpy(&value, bytes, sizeof(T));
  return value;
}

// An integer element of a signed or unsigned type of `bits` bits.
absl::Status AppendInteger(const json& value, const std::string& datatype, const std::string& where,
                           std::string& raw) {
  if (!value.is_number_integer()) {
    return Invalid(where, absl::StrCat(datatype, " needs an integer, got ", Dump(value)));
  }
  const bool is_unsigned = datatype[0] == 'U';
  const int bytes = KServeElementSize(datatype);
  const bool negative = value.is_number_unsigned() ? false : value.get<int64_t>() < 0;
  if (is_unsigned) {
    if (negative) return Invalid(where, absl::StrCat(Dump(value), " is out of ", datatype));
    const uint64_t v = value.get<uint64_t>();
    if (bytes < 8 && v > (uint64_t{1} << (8 * bytes)) - 1) {
      return Invalid(where, absl::StrCat(Dump(value), " is out of ", datatype));
    }
    if (bytes == 1) AppendRaw(static_cast<uint8_t>(v), raw);
    if (bytes == 2) AppendRaw(static_cast<uint16_t>(v), raw);
    if (bytes == 4) AppendRaw(static_cast<uint32_t>(v), raw);
    if (bytes == 8) AppendRaw(v, raw);
    return absl::OkStatus();
  }
  if (value.is_number_unsigned() &&
      value.get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
    return Invalid(where, absl::StrCat(Dump(value), " is out of ", datatype));
  }
  const int64_t v = value.get<int64_t>();
  if (bytes < 8) {
    const int64_t limit = int64_t{1} << (8 * bytes - 1);
    if (v < -limit || v >= limit) {
      return Invalid(where, absl::StrCat(Dump(value), " is out of ", datatype));
    }
  }
  if (bytes == 1) AppendRaw(static_cast<int8_t>(v), raw);
  if (bytes == 2) AppendRaw(static_cast<int16_t>(v), raw);
  if (bytes == 4) AppendRaw(static_cast<int32_t>(v), raw);
  if (bytes == 8) AppendRaw(v, raw);
  return absl::OkStatus();
}

absl::Status AppendElement(const json& value, const std::string& datatype, const std::string& where,
                           std::string& raw) {
  if (datatype == "BYTES") {
    if (!value.is_string()) {
      return Invalid(where, absl::StrCat("BYTES needs a string, got ", Dump(value)));
    }
    const std::string& text = value.get_ref<const std::string&>();
    AppendRaw(static_cast<uint32_t>(text.size()), raw);
    raw.append(text);
    return absl::OkStatus();
  }
  if (datatype == "BOOL") {
    if (!value.is_boolean()) {
      return Invalid(where, absl::StrCat("BOOL needs true or false, got ", Dump(value)));
    }
    AppendRaw(static_cast<uint8_t>(value.get<bool>() ? 1 : 0), raw);
    return absl::OkStatus();
  }
  if (datatype == "FP32" || datatype == "FP64") {
    if (!value.is_number()) {
      return Invalid(where, absl::StrCat(datatype, " needs a number, got ", Dump(value)));
    }
    const double v = value.get<double>();
    if (datatype == "FP32") {
      AppendRaw(static_cast<float>(v), raw);
    } else {
      AppendRaw(v, raw);
    }
    return absl::OkStatus();
  }
  return AppendInteger(value, datatype, where, raw);
}

// Appends the elements of `data` (row-major, flat or nested up to `depth_left` more levels).
absl::Status AppendData(const json& data, const std::string& datatype, const std::string& where,
                        int depth_left, int64_t& count, std::string& raw) {
  if (!data.is_array()) return Invalid(where, "must be an array (row-major, flat or nested)");
  for (const json& element : data) {
    if (element.is_array()) {
      if (depth_left <= 0) {
        return Invalid(where, "data is nested deeper than the shape");
      }
      if (absl::Status s = AppendData(element, datatype, where, depth_left - 1, count, raw);
          !s.ok()) {
        return s;
      }
      continue;
    }
    if (absl::Status s =
            AppendElement(element, datatype, absl::StrCat(where, "[", count, "]"), raw);
        !s.ok()) {
      return s;
    }
    ++count;
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> StringField(const json& object, const char* key,
                                        const std::string& where, bool required) {
  auto it = object.find(key);
  if (it == object.end()) {
    if (required) return Invalid(where, absl::StrCat("has no \"", key, "\""));
    return std::string();
  }
  if (!it->is_string()) return Invalid(absl::StrCat(where, ".", key), "must be a string");
  return it->get<std::string>();
}

// The shortest text that parses back to `value`.
std::string NumberText(double value) {
  char buffer[32];
  auto [end, error] = std::to_chars(buffer, buffer + sizeof(buffer), value);
  if (error != std::errc()) return absl::StrCat(value);
  return std::string(buffer, end);
}

// A records cell as the string the preprocessor reads.
absl::StatusOr<std::string> CellText(const json& value, const std::string& where) {
  switch (value.type()) {
    case json::value_t::string: return value.get<std::string>();
    case json::value_t::null: return std::string();
    case json::value_t::boolean: return std::string(value.get<bool>() ? "true" : "false");
    case json::value_t::number_integer: return std::to_string(value.get<int64_t>());
    case json::value_t::number_unsigned: return std::to_string(value.get<uint64_t>());
    case json::value_t::number_float: return NumberText(value.get<double>());
    case json::value_t::array: {
      std::vector<std::string> parts;
      for (size_t i = 0; i < value.size(); ++i) {
        const json& element = value[i];
        if (element.is_array() || element.is_object() || element.is_null()) {
          return Invalid(absl::StrCat(where, "[", i, "]"),
                         "must be a string, a number or a boolean");
        }
        absl::StatusOr<std::string> text = CellText(element, where);
        if (!text.ok()) return text.status();
        parts.push_back(*std::move(text));
      }
      return absl::StrJoin(parts, " ");
    }
    default: return Invalid(where, "must be a string, a number, a boolean, null or an array");
  }
}

// One output tensor's raw contents as a JSON array.
json TensorData(const std::string& datatype, const std::string& raw) {
  json data = json::array();
  if (datatype == "BYTES") {
    size_t at = 0;
    while (at + 4 <= raw.size()) {
      const uint32_t length = ReadRaw<uint32_t>(raw.data() + at);
      at += 4;
      if (at + length > raw.size()) break;
      data.push_back(raw.substr(at, length));
      at += length;
    }
    return data;
  }
  const int size = KServeElementSize(datatype);
  if (size == 0) return data;
  for (size_t at = 0; at + size <= raw.size(); at += size) {
    const char* p = raw.data() + at;
    if (datatype == "FP32") {
      const float v = ReadRaw<float>(p);
      data.push_back(std::isfinite(v) ? json(static_cast<double>(v)) : json(nullptr));
    } else if (datatype == "FP64") {
      const double v = ReadRaw<double>(p);
      data.push_back(std::isfinite(v) ? json(v) : json(nullptr));
    } else if (datatype == "BOOL") {
      data.push_back(*p != 0);
    } else if (datatype == "INT8") {
      data.push_back(ReadRaw<int8_t>(p));
    } else if (datatype == "UINT8") {
      data.push_back(ReadRaw<uint8_t>(p));
    } else if (datatype == "INT16") {
      data.push_back(ReadRaw<int16_t>(p));
    } else if (datatype == "UINT16") {
      data.push_back(ReadRaw<uint16_t>(p));
    } else if (datatype == "INT32") {
      data.push_back(ReadRaw<int32_t>(p));
    } else if (datatype == "UINT32") {
      data.push_back(ReadRaw<uint32_t>(p));
    } else if (datatype == "INT64") {
      data.push_back(ReadRaw<int64_t>(p));
    } else {
      data.push_back(ReadRaw<uint64_t>(p));
    }
  }
  return data;
}

json Number(float value) {
  return std::isfinite(value) ? json(static_cast<double>(value)) : json(nullptr);
}

}  // namespace

int HttpStatus(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kOk: return 200;
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kOutOfRange: return 400;
    case absl::StatusCode::kUnauthenticated: return 401;
    case absl::StatusCode::kPermissionDenied: return 403;
    case absl::StatusCode::kNotFound: return 404;
    case absl::StatusCode::kAlreadyExists:
    case absl::StatusCode::kAborted: return 409;
    case absl::StatusCode::kResourceExhausted: return 429;
    case absl::StatusCode::kCancelled: return 499;
    case absl::StatusCode::kUnimplemented: return 501;
    case absl::StatusCode::kUnavailable: return 503;
    case absl::StatusCode::kDeadlineExceeded: return 504;
    default: return 500;
  }
}

RestAnswer ErrorAnswer(const absl::Status& status) {
  RestAnswer answer;
  answer.status = HttpStatus(status.code());
  answer.body = Dump(json{{"error", std::string(status.message())}});
  return answer;
}

RestAnswer JsonAnswer(int status, const std::string& json_text) {
  RestAnswer answer;
  answer.status = status;
  answer.body = json_text;
  return answer;
}

absl::StatusOr<absl::Duration> ParseTimeoutSeconds(const std::string& field,
                                                   absl::string_view text) {
  double seconds = 0;
  if (!absl::SimpleAtod(text, &seconds) || !std::isfinite(seconds) || seconds <= 0 ||
      seconds > 365.0 * 24 * 3600) {
    return Invalid(field, absl::StrCat("'", text.substr(0, 64),
                                       "' is not a number of seconds in (0, 31536000]"));
  }
  return absl::Seconds(seconds);
}

absl::StatusOr<RestInferRequest> ParseInferRequest(
    absl::string_view body, const std::optional<std::string>& header_length) {
  absl::string_view json_text = body;
  absl::string_view binary;
  if (header_length.has_value()) {
    uint64_t length = 0;
    if (!absl::SimpleAtoi(*header_length, &length)) {
      return Invalid("Inference-Header-Content-Length",
                     absl::StrCat("'", header_length->substr(0, 64), "' is not a byte count"));
    }
    if (length > body.size()) {
      return Invalid("Inference-Header-Content-Length",
                     absl::StrCat(length, " is more than the body's ", body.size(), " bytes"));
    }
    json_text = body.substr(0, length);
    binary = body.substr(length);
  }
  absl::StatusOr<json> parsed = Parse(json_text, "the request body");
  if (!parsed.ok()) return parsed.status();
  const json& root = *parsed;
  if (!root.is_object()) return Invalid("the request body", "must be a JSON object");

  RestInferRequest result;
  inference::ModelInferRequest& request = result.request;
  absl::StatusOr<std::string> id = StringField(root, "id", "the request", false);
  if (!id.ok()) return id.status();
  request.set_id(*id);
  if (auto it = root.find("parameters"); it != root.end()) {
    if (!it->is_object()) return Invalid("parameters", "must be an object");
    if (auto b = it->find("binary_data_output"); b != it->end()) {
      if (!b->is_boolean()) return Invalid("parameters.binary_data_output", "must be a boolean");
      result.binary_output_all = b->get<bool>();
    }
    if (auto t = it->find("timeout"); t != it->end()) {
      if (!t->is_number_integer() || t->get<int64_t>() <= 0 ||
          t->get<int64_t>() > int64_t{365} * 24 * 3600 * 1000000) {
        return Invalid("parameters.timeout",
                       absl::StrCat(Dump(*t).substr(0, 64),
                                    " is not a positive whole number of microseconds"));
      }
      result.timeout = absl::Microseconds(t->get<int64_t>());
    }
  }
  auto inputs = root.find("inputs");
  if (inputs == root.end()) return Invalid("the request", "has no \"inputs\"");
  if (!inputs->is_array()) return Invalid("inputs", "must be an array");
  size_t binary_at = 0;
  for (size_t i = 0; i < inputs->size(); ++i) {
    const json& input = (*inputs)[i];
    const std::string where = absl::StrCat("inputs[", i, "]");
    if (!input.is_object()) return Invalid(where, "must be an object");
    auto* tensor = request.add_inputs();
    absl::StatusOr<std::string> name = StringField(input, "name", where, true);
    if (!name.ok()) return name.status();
    absl::StatusOr<std::string> datatype = StringField(input, "datatype", where, true);
    if (!datatype.ok()) return datatype.status();
    tensor->set_name(*name);
    tensor->set_datatype(*datatype);
    const std::string named = absl::StrCat(where, " ('", name->substr(0, 64), "')");
    if (*datatype != "BYTES" && KServeElementSize(*datatype) == 0) {
      return Invalid(named,
                     absl::StrCat("unsupported datatype '", datatype->substr(0, 64),
                                  "' (BYTES, BOOL, INT8..INT64, UINT8..UINT64, FP32, FP64)"));
    }
    auto shape = input.find("shape");
    if (shape == input.end() || !shape->is_array()) {
      return Invalid(named, "needs \"shape\", an array of dimensions");
    }
    int64_t elements = 1;
    for (const json& d : *shape) {
      if (!d.is_number_integer() || d.get<int64_t>() < 0) {
        return Invalid(absl::StrCat(named, ".shape"), "dimensions must be whole numbers >= 0");
      }
      if (__builtin_mul_overflow(elements, d.get<int64_t>(), &elements)) {
        return Invalid(absl::StrCat(named, ".shape"), "has more elements than a request can hold");
      }
      tensor->add_shape(d.get<int64_t>());
    }
    std::string& raw = *request.add_raw_input_contents();
    std::optional<uint64_t> binary_size;
    if (auto p = input.find("parameters"); p != input.end()) {
      if (!p->is_object()) return Invalid(absl::StrCat(named, ".parameters"), "must be an object");
      if (auto b = p->find("binary_data_size"); b != p->end()) {
        if (!b->is_number_unsigned()) {
          return Invalid(absl::StrCat(named, ".parameters.binary_data_size"),
                         "must be a whole number of bytes");
        }
        binary_size = b->get<uint64_t>();
      }
    }
    auto data = input.find("data");
    if (binary_size.has_value()) {
      if (data != input.end()) {
        return Invalid(named, "has both \"data\" and parameters.binary_data_size");
      }
      if (!header_length.has_value()) {
        return Invalid(named,
                       "gives binary_data_size but the request has no "
                       "Inference-Header-Content-Length header");
      }
      if (*binary_size > binary.size() - binary_at) {
        return Invalid(named, absl::StrCat("binary_data_size ", *binary_size, " is more than the ",
                                           binary.size() - binary_at,
                                           " bytes of binary data left in the body"));
      }
      const absl::string_view bytes = binary.substr(binary_at, *binary_size);
      raw.assign(bytes.data(), bytes.size());
      binary_at += *binary_size;
      continue;
    }
    if (data == input.end()) return Invalid(named, "has no \"data\"");
    int64_t count = 0;
    if (absl::Status s = AppendData(*data, *datatype, absl::StrCat(named, ".data"),
                                    std::max<int>(0, shape->size() - 1), count, raw);
        !s.ok()) {
      return s;
    }
    if (count != elements) {
      return Invalid(named, absl::StrCat("data has ", count, " elements, shape ", Dump(*shape),
                                         " needs ", elements));
    }
  }
  if (binary_at != binary.size()) {
    return Invalid("the request body",
                   absl::StrCat(binary.size() - binary_at,
                                " bytes of binary data after the JSON are not claimed by any "
                                "input's binary_data_size"));
  }
  if (auto outputs = root.find("outputs"); outputs != root.end()) {
    if (!outputs->is_array()) return Invalid("outputs", "must be an array");
    for (size_t i = 0; i < outputs->size(); ++i) {
      const json& output = (*outputs)[i];
      const std::string where = absl::StrCat("outputs[", i, "]");
      if (!output.is_object()) return Invalid(where, "must be an object");
      absl::StatusOr<std::string> name = StringField(output, "name", where, true);
      if (!name.ok()) return name.status();
      request.add_outputs()->set_name(*name);
      if (auto p = output.find("parameters"); p != output.end()) {
        if (!p->is_object())
          return Invalid(absl::StrCat(where, ".parameters"), "must be an object");
        if (auto b = p->find("binary_data"); b != p->end()) {
          if (!b->is_boolean()) {
            return Invalid(absl::StrCat(where, ".parameters.binary_data"), "must be a boolean");
          }
          if (b->get<bool>()) result.binary_outputs.insert(*name);
        }
      }
    }
  }
  return result;
}

RestAnswer InferAnswer(const inference::ModelInferResponse& response,
                       const RestInferRequest& request) {
  json root = json::object();
  root["model_name"] = response.model_name();
  root["model_version"] = response.model_version();
  if (!response.id().empty()) root["id"] = response.id();
  json outputs = json::array();
  std::string binary;
  for (int i = 0; i < response.outputs_size(); ++i) {
    const auto& tensor = response.outputs(i);
    const std::string& raw =
        i < response.raw_output_contents_size() ? response.raw_output_contents(i) : std::string();
    json out = json::object();
    out["name"] = tensor.name();
    out["datatype"] = tensor.datatype();
    out["shape"] = json(std::vector<int64_t>(tensor.shape().begin(), tensor.shape().end()));
    if (request.binary_output_all || request.binary_outputs.count(tensor.name()) != 0) {
      out["parameters"] = json{{"binary_data_size", raw.size()}};
      binary.append(raw);
    } else {
      out["data"] = TensorData(tensor.datatype(), raw);
    }
    outputs.push_back(std::move(out));
  }
  root["outputs"] = std::move(outputs);
  RestAnswer answer;
  answer.body = Dump(root);
  if (request.binary_output_all || !request.binary_outputs.empty()) {
    answer.json_length = answer.body.size();
    answer.content_type = "application/octet-stream";
    answer.body.append(binary);
  }
  return answer;
}

absl::StatusOr<exporting::InputColumns> ParseRecords(absl::string_view body) {
  absl::StatusOr<json> parsed = Parse(body, "the request body");
  if (!parsed.ok()) return parsed.status();
  if (!parsed->is_object()) {
    return Invalid("the request body", "must be a JSON object {\"instances\": [...]}");
  }
  auto instances = parsed->find("instances");
  if (instances == parsed->end()) {
    return Invalid("the request body", "has no \"instances\" (a list of records)");
  }
  if (!instances->is_array()) return Invalid("instances", "must be an array of records");
  if (instances->empty()) return Invalid("instances", "is empty");
  // Every column any record names; a record without it has a missing value there.
  exporting::InputColumns columns;
  for (size_t row = 0; row < instances->size(); ++row) {
    const json& record = (*instances)[row];
    if (!record.is_object()) {
      return Invalid(absl::StrCat("instances[", row, "]"), "must be an object of feature values");
    }
    for (const auto& [name, value] : record.items()) {
      exporting::InputColumn& column = columns[name];
      column.strings.resize(row);  // rows before this one lacked the column
      absl::StatusOr<std::string> text =
          CellText(value, absl::StrCat("instances[", row, "].", name));
      if (!text.ok()) return text.status();
      column.strings.push_back(*std::move(text));
    }
  }
  for (auto& [name, column] : columns) column.strings.resize(instances->size());
  return columns;
}

absl::StatusOr<std::string> RecordsAnswer(const exporting::OutputMap& outputs,
                                          const std::string& model, int64_t version) {
  const int64_t rows = outputs.empty() ? 0 : outputs.front().second.rows();
  std::vector<json> records(rows, json::object());
  for (const auto& [feature, values] : outputs) {
    const exporting::OutputType* type = exporting::FindOutputType(values.type);
    if (type == nullptr) {
      return absl::InternalError(absl::StrCat("output '", feature, "' has type '", values.type,
                                              "', which this build does not know"));
    }
    for (const auto& [suffix, column] : type->columns(values)) {
      const std::string key = feature + suffix;
      const bool predictions = suffix == "_predictions";
      for (int64_t row = 0; row < rows && row < static_cast<int64_t>(column.size()); ++row) {
        json cell;
        if (predictions && (type->fields & exporting::kNumbers) != 0) {
          cell = Number(values.numbers[row]);
        } else if (predictions && (type->fields & exporting::kVectors) != 0) {
          cell = json::array();
          for (float v : values.vectors[row]) cell.push_back(Number(v));
        } else if (predictions && (type->fields & exporting::kItems) != 0) {
          cell = values.items[row];
        } else if (column.null(row)) {
          cell = nullptr;
        } else if (double number = 0;
                   !predictions && absl::SimpleAtod(column.values[row], &number)) {
          cell = std::isfinite(number) ? json(number) : json(nullptr);
        } else {
          cell = column.values[row];
        }
        records[row][key] = std::move(cell);
      }
    }
  }
  json root = json::object();
  root["model_name"] = model;
  root["model_version"] = std::to_string(version);
  root["predictions"] = std::move(records);
  return Dump(root);
}

std::string ServerMetadataJson(const inference::ServerMetadataResponse& response) {
  return Dump(json{{"name", response.name()},
                   {"version", response.version()},
                   {"extensions", std::vector<std::string>(response.extensions().begin(),
                                                           response.extensions().end())}});
}

std::string ModelMetadataJson(const inference::ModelMetadataResponse& response) {
  auto tensors = [](const auto& list) {
    json out = json::array();
    for (const auto& tensor : list) {
      out.push_back(
          {{"name", tensor.name()},
           {"datatype", tensor.datatype()},
           {"shape", std::vector<int64_t>(tensor.shape().begin(), tensor.shape().end())}});
    }
    return out;
  };
  return Dump(json{{"name", response.name()},
                   {"versions", std::vector<std::string>(response.versions().begin(),
                                                         response.versions().end())},
                   {"platform", response.platform()},
                   {"inputs", tensors(response.inputs())},
                   {"outputs", tensors(response.outputs())}});
}

std::string ModelStatisticsJson(const inference::ModelStatisticsResponse& response) {
  json stats = json::array();
  for (const inference::ModelStatistics& model : response.model_stats()) {
    const inference::InferStatistics& infer = model.inference_stats();
    auto duration = [](const inference::StatisticDuration& d) {
      return json{{"count", d.count()}, {"ns", d.ns()}};
    };
    stats.push_back({{"name", model.name()},
                     {"version", model.version()},
                     {"last_inference", model.last_inference()},
                     {"inference_count", model.inference_count()},
                     {"execution_count", model.execution_count()},
                     {"inference_stats",
                      {{"success", duration(infer.success())},
                       {"fail", duration(infer.fail())},
                       {"queue", duration(infer.queue())},
                       {"compute_input", duration(infer.compute_input())},
                       {"compute_infer", duration(infer.compute_infer())},
                       {"compute_output", duration(infer.compute_output())}}}});
  }
  return Dump(json{{"model_stats", std::move(stats)}});
}

std::string RepositoryIndexJson(const inference::RepositoryIndexResponse& response) {
  json models = json::array();
  for (const auto& model : response.models()) {
    json entry = {{"name", model.name()}, {"state", model.state()}, {"reason", model.reason()}};
    if (!model.version().empty()) entry["version"] = model.version();
    models.push_back(std::move(entry));
  }
  return Dump(models);
}

}  // namespace tristage::server::http
