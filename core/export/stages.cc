#include "core/export/stages.h"

#include <torch/cuda.h>

#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "core/export/output_types.h"
#include "core/export/script_result.h"
#include "core/features/feature.h"
#include "core/features/stage_script.h"
#include "core/model/script.h"
#include "core/util/status_macros.h"

namespace tristage::exporting {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr char kModelIdAttribute[] = "tristage_model_id";

// FNV-1a, 64 bits: a stable fingerprint of the export's contents.
uint64_t Fnv1a(absl::string_view bytes, uint64_t hash = 1469598103934665603ull) {
  for (unsigned char c : bytes) {
    hash ^= c;
    hash *= 1099511628211ull;
  }
  return hash;
}

void SetAttribute(torch::jit::Module& module, const std::string& name, const c10::IValue& value) {
  module.register_attribute(name, value.type(), value);
}

absl::StatusOr<const features::FeatureType*> TypeOf(const json& feature) {
  const features::FeatureType* type = features::FindFeatureType(feature.at("type"));
  if (type == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat("feature '", feature.value("name", ""),
                                                   "': unknown type '", feature.value("type", ""),
                                                   "'"));
  }
  return type;
}

absl::Status AddFeatureScript(const absl::StatusOr<features::StageScript>& script,
                              const std::string& name, torch::jit::Module& module,
                              std::string& source) {
  if (!script.ok()) {
    return absl::Status(script.status().code(),
                        absl::StrCat("feature '", name, "': ", script.status().message()));
  }
  for (const auto& [attribute, value] : script->attributes) SetAttribute(module, attribute, value);
  absl::StrAppend(&source, script->source);
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<torch::jit::Module> BuildPreprocessor(const json& config, const json& metadata,
                                                     const std::string& model_id) {
  model::ScriptBuilder builder;
  torch::jit::Module module = builder.NewModule("Preprocessor");
  for (const auto& [name, value] : features::StageLibraryAttributes()) {
    SetAttribute(module, name, value);
  }
  SetAttribute(module, kModelIdAttribute, model_id);
  c10::List<std::string> names;
  std::string forward =
      "\ndef forward(self, inputs: Dict[str, Union[List[str], Tensor]]) -> Dict[str, Tensor]:\n"
      "    out: Dict[str, Tensor] = {}\n";
  std::string source = features::StageLibrarySource();
  absl::StrAppend(&source, R"py(
def column(self, inputs: Dict[str, Union[List[str], Tensor]], name: str) -> Union[List[str], Tensor]:
    if name not in inputs:
        assert False, "missing input feature '" + name + "' (the preprocessor needs " + ", ".join(self.input_names) + ")"
    return inputs[name]

def check_rows(self, out: Dict[str, Tensor]):
    first = self.input_names[0]
    rows = out[first].size(0)
    for name in self.input_names:
        if out[name].size(0) != rows:
            assert False, "input feature '" + name + "' has " + str(out[name].size(0)) + " rows but '" + first + "' has " + str(rows)
)py");
  int index = 0;
  for (const json& feature : config.at("input_features")) {
    const std::string name = feature.at("name").get<std::string>();
    const json& feature_metadata = metadata.value(name, json::object());
    const std::string prefix = absl::StrCat("f", index++, "_");
    TRISTAGE_ASSIGN_OR_RETURN(const features::FeatureType* type, TypeOf(feature));
    for (const auto& [attribute, value] :
         features::FeatureCommonAttributes(feature, feature_metadata, prefix)) {
      SetAttribute(module, attribute, value);
    }
    TRISTAGE_RETURN_IF_ERROR(AddFeatureScript(
        type->PreprocessScript(feature, feature_metadata, prefix), name, module, source));
    absl::StrAppend(&forward, "    out[self.", prefix, "name] = self.", prefix,
                    "preprocess(self.column(inputs, self.", prefix, "name))\n");
    names.push_back(name);
  }
  SetAttribute(module, "input_names", names);
  absl::StrAppend(&forward, "    self.check_rows(out)\n    return out\n");
  absl::StrAppend(&source, forward);
  TRISTAGE_RETURN_IF_ERROR(model::Define(module, source, "the preprocessor stage"));
  module.eval();
  return module;
}

absl::StatusOr<torch::jit::Module> BuildPostprocessor(const json& config, const json& metadata,
                                                      const std::string& model_id) {
  model::ScriptBuilder builder;
  torch::jit::Module module = builder.NewModule("Postprocessor");
  SetAttribute(module, kModelIdAttribute, model_id);
  std::string source;
  std::string forward =
      "\ndef forward(self, outputs: Dict[str, Tensor]) -> Dict[str, Any]:\n"
      "    result: Dict[str, Any] = {}\n";
  int index = 0;
  for (const json& feature : config.at("output_features")) {
    const std::string name = feature.at("name");
    const std::string prefix = absl::StrCat("o", index++, "_");
    TRISTAGE_ASSIGN_OR_RETURN(const features::FeatureType* type, TypeOf(feature));
    TRISTAGE_RETURN_IF_ERROR(AddFeatureScript(
        type->PostprocessScript(feature, metadata.value(name, json::object()), prefix), name,
        module, source));
    absl::StrAppend(&forward, "    self.", prefix, "postprocess(outputs, result)\n");
  }
  absl::StrAppend(&forward, "    return result\n");
  absl::StrAppend(&source, forward);
  TRISTAGE_RETURN_IF_ERROR(model::Define(module, source, "the postprocessor stage"));
  module.eval();
  return module;
}

namespace {

absl::StatusOr<json> ReadJson(const fs::path& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat(path.string(), ": no such file"));
  try {
    return json::parse(in);
  } catch (const json::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat(path.string(), ": ", e.what()));
  }
}

absl::StatusOr<torch::jit::Module> LoadStage(const fs::path& path, const torch::Device& device,
                                             const std::string& model_id) {
  if (!fs::exists(path)) {
    return absl::NotFoundError(absl::StrCat(path.string(), ": no such stage file"));
  }
  torch::jit::Module module;
  try {
    module = torch::jit::load(path.string(), device);
  } catch (const std::exception& e) {
    return absl::DataLossError(
        absl::StrCat(path.string(), ": not a readable TorchScript file (truncated or corrupt?): ",
                     ScriptErrorMessage(e.what())));
  }
  if (!module.hasattr(kModelIdAttribute)) {
    return absl::FailedPreconditionError(
        absl::StrCat(path.string(), ": a TorchScript file, but not a tristage stage (no ",
                     kModelIdAttribute, ")"));
  }
  const std::string id = module.attr(kModelIdAttribute).toStringRef();
  if (id != model_id) {
    return absl::FailedPreconditionError(
        absl::StrCat(path.string(), ": belongs to another export (model_id ", id,
                     ", manifest.json says ", model_id, "); re-export the model"));
  }
  module.eval();
  return module;
}

}  // namespace

std::string ScriptErrorMessage(const std::string& what) {
  constexpr absl::string_view kAssert = "AssertionError: ";
  const size_t at = absl::string_view(what).rfind(kAssert);
  if (at != std::string::npos) {
    return std::string(
        absl::StripAsciiWhitespace(absl::string_view(what).substr(at + kAssert.size())));
  }
  for (absl::string_view line : absl::StrSplit(what, '\n')) {
    line = absl::StripAsciiWhitespace(line);
    if (!line.empty()) return std::string(line);
  }
  return what;
}

c10::impl::GenericDict ToRawInputs(const InputColumns& columns) {
  c10::impl::GenericDict raw(
      c10::StringType::get(),
      c10::UnionType::create({c10::ListType::ofStrings(), c10::TensorType::get()}));
  for (const auto& [name, column] : columns) {
    if (column.is_strings) {
      c10::List<std::string> cells;
      cells.reserve(column.strings.size());
      for (const std::string& cell : column.strings) cells.push_back(cell);
      raw.insert(name, std::move(cells));
      continue;
    }
    torch::Tensor values =
        torch::tensor(column.numbers, torch::kDouble).reshape({column.rows(), column.width});
    raw.insert(name, column.width == 1 ? values.reshape({column.rows()}) : values);
  }
  return raw;
}

absl::StatusOr<OutputMap> DecodeOutputs(const Manifest& manifest,
                                        const c10::impl::GenericDict& result) {
  OutputMap outputs;
  const ScriptResult view(result);
  try {
    for (const OutputSpec& spec : manifest.outputs) {
      const OutputType* type = FindOutputType(spec.type);
      if (type == nullptr) {
        return absl::InternalError(
            absl::StrCat("output '", spec.name, "': type '", spec.type, "' cannot be decoded"));
      }
      OutputValues values;
      values.type = spec.type;
      TRISTAGE_RETURN_IF_ERROR(type->decode(view, spec, values));
      outputs.emplace_back(spec.name, std::move(values));
    }
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("decoding the postprocessor's result: ", e.what()));
  }
  return outputs;
}

TensorDict ToDevice(const TensorDict& tensors, const torch::Device& device) {
  bool all_there = true;
  for (const auto& entry : tensors) all_there = all_there && entry.value().device() == device;
  if (all_there) return tensors;
  TensorDict moved;
  for (const auto& entry : tensors) {
    const torch::Tensor& tensor = entry.value();
    if (device.is_cuda() && tensor.device().is_cpu()) {
      // Host -> GPU from pinned (page-locked) memory: a DMA copy queued on the current stream,
      // without a staging copy; the kernels queued after it on that stream see the data, and
      // the caching host allocator keeps the pinned block until the copy has run.
      moved.insert(entry.key(), tensor.pin_memory().to(device, /*non_blocking=*/true));
    } else {
      moved.insert(entry.key(), tensor.to(device));
    }
  }
  return moved;
}

absl::StatusOr<torch::Device> ParseDevice(const std::string& device) {
  std::optional<torch::Device> parsed;
  try {
    parsed.emplace(device);
  } catch (const std::exception&) {
    return absl::InvalidArgumentError(
        absl::StrCat("device '", device, "': expected cpu, cuda or cuda:N"));
  }
  if (parsed->is_cuda()) {
    if (!torch::cuda::is_available()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "device '", device, "' is not available: this libtorch has no CUDA or sees no GPU"));
    }
    if (parsed->has_index() && parsed->index() >= static_cast<int>(torch::cuda::device_count())) {
      return absl::FailedPreconditionError(absl::StrCat("device '", device, "' is not available (",
                                                        torch::cuda::device_count(), " GPUs)"));
    }
  } else if (!parsed->is_cpu()) {
    return absl::InvalidArgumentError(
        absl::StrCat("device '", device, "': expected cpu, cuda or cuda:N"));
  }
  return *parsed;
}

absl::StatusOr<InferenceStages> BuildStages(const json& config, const json& metadata,
                                            const torch::jit::Module& trained,
                                            const std::string& device) {
  InferenceStages stages;
  TRISTAGE_ASSIGN_OR_RETURN(stages.device, ParseDevice(device));
  TRISTAGE_ASSIGN_OR_RETURN(stages.manifest, DescribeModel(config, metadata));
  stages.config = config;
  stages.metadata = metadata;
  stages.manifest.device = stages.device.is_cuda() ? "cuda" : "cpu";
  // A deep copy through serialization, mapped to the device: the caller's module keeps training.
  std::stringstream bytes;
  try {
    trained.save(bytes);
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("serializing the predictor: ", e.what()));
  }
  const std::string blob = bytes.str();
  const uint64_t id = Fnv1a(metadata.dump(), Fnv1a(config.dump(), Fnv1a(blob)));
  stages.manifest.model_id = absl::StrFormat("%016x", id);
  try {
    std::istringstream in(blob);
    stages.predictor = torch::jit::load(in, stages.device);
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("copying the predictor: ", e.what()));
  }
  for (torch::Tensor parameter : stages.predictor.parameters()) parameter.requires_grad_(false);
  stages.predictor.eval();
  SetAttribute(stages.predictor, kModelIdAttribute, stages.manifest.model_id);
  TRISTAGE_ASSIGN_OR_RETURN(stages.preprocessor,
                            BuildPreprocessor(config, metadata, stages.manifest.model_id));
  TRISTAGE_ASSIGN_OR_RETURN(stages.postprocessor,
                            BuildPostprocessor(config, metadata, stages.manifest.model_id));
  return stages;
}

absl::Status SaveStages(const InferenceStages& stages, const std::string& directory,
                        bool model_only) {
  const fs::path dir(directory);
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return absl::InternalError(absl::StrCat("cannot create ", directory, ": ", ec.message()));
  Manifest manifest = stages.manifest;
  manifest.model_only = model_only;
  auto save = [](const torch::jit::Module& module, const fs::path& path) -> absl::Status {
    try {
      module.save(path.string());
    } catch (const std::exception& e) {
      return absl::InternalError(absl::StrCat("cannot write ", path.string(), ": ", e.what()));
    }
    return absl::OkStatus();
  };
  TRISTAGE_RETURN_IF_ERROR(save(stages.predictor, dir / PredictorFile(manifest.device)));
  if (!model_only) {
    TRISTAGE_RETURN_IF_ERROR(save(stages.preprocessor, dir / kPreprocessorFile));
    TRISTAGE_RETURN_IF_ERROR(save(stages.postprocessor, dir / kPostprocessorFile));
  }
  std::ofstream out(dir / kManifestFile);
  out << ToJson(manifest).dump(2) << "\n";
  out.close();
  if (!out) {
    return absl::InternalError(absl::StrCat("cannot write ", (dir / kManifestFile).string()));
  }
  return absl::OkStatus();
}

absl::StatusOr<InferenceStages> LoadStages(const std::string& directory,
                                           const std::string& device) {
  const fs::path dir(directory);
  if (!fs::is_directory(dir)) {
    return absl::NotFoundError(absl::StrCat("no export directory at '", directory, "'"));
  }
  auto manifest_json = ReadJson(dir / kManifestFile);
  if (!manifest_json.ok()) {
    return absl::Status(manifest_json.status().code(),
                        absl::StrCat(manifest_json.status().message(),
                                     " (write an export with `tristage export_torchscript`)"));
  }
  InferenceStages stages;
  auto manifest = ManifestFromJson(*manifest_json);
  if (!manifest.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat((dir / kManifestFile).string(), ": ", manifest.status().message()));
  }
  stages.manifest = std::move(*manifest);
  TRISTAGE_ASSIGN_OR_RETURN(stages.device,
                            ParseDevice(device.empty() ? stages.manifest.device : device));
  if (auto config = ReadJson(dir / "model_hyperparameters.json"); config.ok()) {
    stages.config = std::move(*config);
  } else {
    // The features as the manifest names them, enough to name the prediction files.
    stages.config = {{"input_features", json::array()}, {"output_features", json::array()}};
    for (const InputSpec& in : stages.manifest.inputs) {
      stages.config["input_features"].push_back(
          {{"name", in.name}, {"type", in.type}, {"column", in.column}});
    }
    for (const OutputSpec& out : stages.manifest.outputs) {
      stages.config["output_features"].push_back({{"name", out.name}, {"type", out.type}});
    }
  }
  if (auto metadata = ReadJson(dir / "training_set_metadata.json"); metadata.ok()) {
    stages.metadata = std::move(*metadata);
  }
  fs::path predictor = dir / PredictorFile(stages.manifest.device);
  const fs::path ludwig_spelling =
      dir / absl::StrCat("inference_predictor-", stages.manifest.device, ".pt");
  if (!fs::exists(predictor) && fs::exists(ludwig_spelling)) predictor = ludwig_spelling;
  TRISTAGE_ASSIGN_OR_RETURN(stages.predictor,
                            LoadStage(predictor, stages.device, stages.manifest.model_id));
  if (!stages.manifest.model_only) {
    TRISTAGE_ASSIGN_OR_RETURN(stages.preprocessor, LoadStage(dir / kPreprocessorFile, torch::kCPU,
                                                             stages.manifest.model_id));
    TRISTAGE_ASSIGN_OR_RETURN(stages.postprocessor, LoadStage(dir / kPostprocessorFile, torch::kCPU,
                                                              stages.manifest.model_id));
  }
  return stages;
}

absl::StatusOr<TensorDict> InferenceStages::PreprocessorForward(
    const c10::impl::GenericDict& raw) const {
  if (manifest.model_only) {
    return absl::FailedPreconditionError("this export has no preprocessor (model_only)");
  }
  c10::InferenceMode guard;
  try {
    torch::jit::Module module = preprocessor;
    return c10::impl::toTypedDict<std::string, torch::Tensor>(
        module.forward({raw}).toGenericDict());
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(ScriptErrorMessage(e.what()));
  }
}

absl::StatusOr<TensorDict> InferenceStages::PredictorForward(const TensorDict& inputs) const {
  c10::InferenceMode guard;
  try {
    const TensorDict on_device = ToDevice(inputs, device);
    torch::jit::Module module = predictor;
    TensorDict outputs = c10::impl::toTypedDict<std::string, torch::Tensor>(
        module.forward({on_device}).toGenericDict());
    if (device.is_cpu()) return outputs;
    return ToDevice(outputs, torch::kCPU);
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("predictor: ", ScriptErrorMessage(e.what())));
  }
}

absl::StatusOr<c10::impl::GenericDict> InferenceStages::PostprocessorForward(
    const TensorDict& outputs) const {
  if (manifest.model_only) {
    return absl::FailedPreconditionError("this export has no postprocessor (model_only)");
  }
  c10::InferenceMode guard;
  try {
    torch::jit::Module module = postprocessor;
    return module.forward({outputs}).toGenericDict();
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("postprocessor: ", ScriptErrorMessage(e.what())));
  }
}

}  // namespace tristage::exporting
