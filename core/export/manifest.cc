#include "core/export/manifest.h"

#include "absl/strings/str_cat.h"
#include "core/export/output_types.h"
#include "core/version.h"

namespace tristage::exporting {
namespace {

using nlohmann::json;

// An input's accepted values and tensor come from its type's entry (output_types.h).
absl::StatusOr<InputSpec> DescribeInput(const json& feature, const json& metadata) {
  InputSpec spec;
  spec.name = feature.at("name").get<std::string>();
  auto column = feature.find("column");
  spec.column =
      column != feature.end() && column->is_string() ? column->get<std::string>() : spec.name;
  spec.type = feature.at("type").get<std::string>();
  spec.accepts = {"List[str]"};
  const InputType* type = FindInputType(spec.type);
  if (type == nullptr) {
    return absl::UnimplementedError(
        absl::StrCat("input feature '", spec.name, "': type '", spec.type, "' cannot be exported"));
  }
  if (type->accepts_tensor) spec.accepts.push_back("Tensor");
  spec.dtype = type->dtype;
  spec.shape = type->shape(metadata);
  return spec;
}

// An output's postprocessor keys and class names come from its type's entry (output_types.h).
absl::StatusOr<OutputSpec> DescribeOutput(const json& feature, const json& metadata) {
  OutputSpec spec;
  spec.name = feature.at("name").get<std::string>();
  spec.type = feature.at("type").get<std::string>();
  const OutputType* type = FindOutputType(spec.type);
  if (type == nullptr) {
    return absl::UnimplementedError(absl::StrCat("output feature '", spec.name, "': type '",
                                                 spec.type, "' cannot be exported"));
  }
  for (const auto& [what, kind] : type->keys) spec.keys.emplace_back(spec.name + "::" + what, kind);
  if (type->class_names) spec.class_names = type->class_names(metadata);
  return spec;
}

}  // namespace

std::string PredictorFile(const std::string& device_type) {
  return absl::StrCat("inference_predictor_", device_type, ".pt");
}

absl::StatusOr<Manifest> DescribeModel(const json& config, const json& metadata) {
  Manifest manifest;
  manifest.tristage_version = kTristageVersion;
  for (const json& feature : config.at("input_features")) {
    auto spec =
        DescribeInput(feature, metadata.value(feature.at("name").get<std::string>(), json()));
    if (!spec.ok()) return spec.status();
    manifest.inputs.push_back(std::move(*spec));
  }
  for (const json& feature : config.at("output_features")) {
    auto spec =
        DescribeOutput(feature, metadata.value(feature.at("name").get<std::string>(), json()));
    if (!spec.ok()) return spec.status();
    manifest.outputs.push_back(std::move(*spec));
  }
  return manifest;
}

json ToJson(const Manifest& manifest) {
  json inputs = json::array();
  for (const InputSpec& in : manifest.inputs) {
    inputs.push_back({{"name", in.name},
                      {"column", in.column},
                      {"type", in.type},
                      {"accepts", in.accepts},
                      {"tensor", {{"dtype", in.dtype}, {"shape", in.shape}}}});
  }
  json outputs = json::array();
  for (const OutputSpec& out : manifest.outputs) {
    json keys = json::object();
    for (const auto& [key, kind] : out.keys) keys[key] = kind;
    json entry = {{"name", out.name}, {"type", out.type}, {"keys", keys}};
    if (!out.class_names.empty()) entry["class_names"] = out.class_names;
    outputs.push_back(std::move(entry));
  }
  json files = {{"predictor", PredictorFile(manifest.device)}};
  if (!manifest.model_only) {
    files["preprocessor"] = kPreprocessorFile;
    files["postprocessor"] = kPostprocessorFile;
  }
  return {{"format", "tristage-torchscript"},
          {"format_version", manifest.format_version},
          {"tristage_version", manifest.tristage_version},
          {"model_id", manifest.model_id},
          {"device", manifest.device},
          {"model_only", manifest.model_only},
          {"files", files},
          {"inputs", inputs},
          {"outputs", outputs}};
}

absl::StatusOr<Manifest> ManifestFromJson(const json& value) {
  auto field = [&value](const char* name, json::value_t type) -> absl::StatusOr<const json*> {
    auto it = value.find(name);
    if (it == value.end()) {
      return absl::InvalidArgumentError(absl::StrCat("manifest: missing field '", name, "'"));
    }
    const bool ok =
        type == json::value_t::number_integer ? it->is_number_integer() : it->type() == type;
    if (!ok) {
      return absl::InvalidArgumentError(
          absl::StrCat("manifest: field '", name, "' has the wrong type (", it->type_name(), ")"));
    }
    return &*it;
  };
  // Every field is type-checked before it is read: json::value() and get() throw on a type
  // mismatch, and a thrown exception here would take the daemon down (fuzz/corpus/manifest).
  if (!value.is_object() || !value.contains("format") || value["format"] != "tristage-torchscript") {
    return absl::InvalidArgumentError("manifest: not a tristage-torchscript manifest");
  }
  Manifest manifest;
  auto version = field("format_version", json::value_t::number_integer);
  if (!version.ok()) return version.status();
  // Compared as JSON, not after get<int>(), which would wrap 4294967297 to 1.
  if (**version != 1) {
    return absl::InvalidArgumentError(absl::StrCat("manifest: format_version ", (*version)->dump(),
                                                   " is not the version this tristage reads (1)"));
  }
  manifest.format_version = 1;
  for (const char* name : {"model_id", "device"}) {
    auto f = field(name, json::value_t::string);
    if (!f.ok()) return f.status();
  }
  for (const auto& [name, type] : {std::pair{"tristage_version", json::value_t::string},
                                   std::pair{"model_only", json::value_t::boolean}}) {
    if (value.contains(name)) {
      auto f = field(name, type);
      if (!f.ok()) return f.status();
    }
  }
  manifest.tristage_version = value.value("tristage_version", std::string());
  manifest.model_id = value["model_id"].get<std::string>();
  manifest.device = value["device"].get<std::string>();
  manifest.model_only = value.value("model_only", false);
  try {
    for (const json& in : value.value("inputs", json::array())) {
      InputSpec spec;
      spec.name = in.at("name").get<std::string>();
      spec.column = in.contains("column") && in["column"].is_string()
                        ? in["column"].get<std::string>()
                        : spec.name;
      spec.type = in.at("type").get<std::string>();
      spec.accepts = in.value("accepts", std::vector<std::string>{"List[str]"});
      const json& tensor = in.value("tensor", json::object());
      spec.dtype = tensor.value("dtype", std::string());
      spec.shape = tensor.value("shape", std::vector<int64_t>{});
      manifest.inputs.push_back(std::move(spec));
    }
    for (const json& out : value.value("outputs", json::array())) {
      OutputSpec spec;
      spec.name = out.at("name").get<std::string>();
      spec.type = out.at("type").get<std::string>();
      const json keys = out.value("keys", json::object());
      for (const auto& [key, kind] : keys.items()) {
        spec.keys.emplace_back(key, kind.get<std::string>());
      }
      spec.class_names = out.value("class_names", std::vector<std::string>{});
      manifest.outputs.push_back(std::move(spec));
    }
  } catch (const json::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("manifest: inputs/outputs: ", e.what()));
  }
  return manifest;
}

}  // namespace tristage::exporting
