#include "core/export/triton.h"

#include <torch/script.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "core/api/model.h"
#include "core/export/stages.h"
#include "core/model/script.h"
#include "core/util/names.h"
#include "core/util/status_macros.h"
#include "core/version.h"

namespace tristage::exporting {
namespace {

namespace fs = std::filesystem;

// The attribute every stage file carries (stages.cc); the wrapper carries it too.
constexpr char kModelIdAttribute[] = "tristage_model_id";
// Rows of the batch of zeros the predictor is probed with: more than one, so a dimension that is
// not the batch's cannot pass for it.
constexpr int64_t kProbeRows = 2;

std::string ShapeText(const std::vector<int64_t>& shape) {
  return absl::StrCat("[", absl::StrJoin(shape, ", "), "]");
}

// The manifest's and Triton's spelling of a c10 scalar type.
std::string DtypeName(c10::ScalarType type) {
  switch (type) {
    case torch::kBool: return "bool";
    case torch::kUInt8: return "uint8";
    case torch::kInt8: return "int8";
    case torch::kInt16: return "int16";
    case torch::kInt32: return "int32";
    case torch::kInt64: return "int64";
    case torch::kFloat16: return "float16";
    case torch::kFloat32: return "float32";
    case torch::kFloat64: return "float64";
    default: return c10::toString(type);
  }
}

absl::StatusOr<c10::ScalarType> ScalarTypeOf(const InputSpec& spec) {
  for (c10::ScalarType type :
       {torch::kBool, torch::kUInt8, torch::kInt8, torch::kInt16, torch::kInt32, torch::kInt64,
        torch::kFloat16, torch::kFloat32, torch::kFloat64}) {
    if (DtypeName(type) == spec.dtype) return type;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("input '", spec.name, "': the manifest's dtype '", spec.dtype, "' is unknown"));
}

// A batch of zeros shaped as the manifest's inputs, kProbeRows rows.
absl::StatusOr<TensorDict> ProbeInputs(const Manifest& manifest) {
  TensorDict inputs;
  for (const InputSpec& spec : manifest.inputs) {
    TRISTAGE_ASSIGN_OR_RETURN(c10::ScalarType type, ScalarTypeOf(spec));
    std::vector<int64_t> shape = spec.shape.empty() ? std::vector<int64_t>{-1} : spec.shape;
    shape[0] = kProbeRows;
    for (size_t d = 1; d < shape.size(); ++d) shape[d] = std::max<int64_t>(shape[d], 1);
    inputs.insert(spec.name, torch::zeros(shape, torch::TensorOptions().dtype(type)));
  }
  return inputs;
}

// The predictor behind forward(Dict[str, Tensor]) -> Tuple[Tensor, ...]: its outputs in
// `output_names` order, since Triton's PyTorch backend cannot read a dict result.
absl::StatusOr<torch::jit::Module> BuildWrapper(const InferenceStages& stages,
                                                const std::vector<std::string>& output_names) {
  model::ScriptBuilder builder;
  torch::jit::Module wrapper = builder.NewModule("TritonPredictor");
  c10::List<std::string> names;
  for (const std::string& name : output_names) names.push_back(name);
  try {
    wrapper.register_module("predictor", stages.predictor);
    wrapper.register_attribute("output_names", c10::ListType::ofStrings(), names);
    wrapper.register_attribute(kModelIdAttribute, c10::StringType::get(), stages.manifest.model_id);
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("wrapping the predictor: ", e.what()));
  }
  std::vector<std::string> types(output_names.size(), "Tensor");
  std::vector<std::string> items;
  for (size_t i = 0; i < output_names.size(); ++i) {
    items.push_back(absl::StrCat("outputs[self.output_names[", i, "]]"));
  }
  const std::string tuple = items.size() == 1 ? absl::StrCat("(", items[0], ",)")
                                              : absl::StrCat("(", absl::StrJoin(items, ", "), ")");
  const std::string source = absl::StrCat(
      "def forward(self, inputs: Dict[str, Tensor]) -> Tuple[", absl::StrJoin(types, ", "),
      "]:\n    outputs = self.predictor.forward(inputs)\n    return ", tuple, "\n");
  TRISTAGE_RETURN_IF_ERROR(model::Define(wrapper, source, "the Triton predictor wrapper"));
  wrapper.eval();
  return wrapper;
}

// Runs the wrapper file at `path` on `inputs` and checks it gives `expected` (the predictor's
// own outputs) in `names` order.
absl::Status CheckWrapperFile(const fs::path& path, const TensorDict& inputs,
                              const std::vector<std::string>& names, const TensorDict& expected) {
  try {
    torch::jit::Module loaded = torch::jit::load(path.string());
    loaded.eval();
    c10::InferenceMode guard;
    const c10::IValue result = loaded.forward({inputs});
    const auto& elements = result.toTupleRef().elements();
    if (elements.size() != names.size()) {
      return absl::InternalError(absl::StrCat(path.string(), " gives ", elements.size(),
                                              " tensors, the predictor ", names.size()));
    }
    for (size_t i = 0; i < names.size(); ++i) {
      const torch::Tensor got = elements[i].toTensor();
      const torch::Tensor want = expected.at(names[i]);
      if (got.scalar_type() != want.scalar_type() || !got.sizes().equals(want.sizes()) ||
          !torch::allclose(got.to(torch::kFloat64), want.to(torch::kFloat64), 1e-6, 1e-7,
                           /*equal_nan=*/true)) {
        return absl::InternalError(absl::StrCat(path.string(), ": output ", i, " ('", names[i],
                                                "') differs from the predictor's"));
      }
    }
  } catch (const std::exception& e) {
    return absl::InternalError(
        absl::StrCat("checking ", path.string(), ": ", ScriptErrorMessage(e.what())));
  }
  return absl::OkStatus();
}

// config.pbtxt without its comment lines: two exports of the same model shape compare equal.
std::string WithoutComments(const std::string& text) {
  std::vector<std::string> kept;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (!absl::StartsWith(line, "#")) kept.emplace_back(line);
  }
  return absl::StrJoin(kept, "\n");
}

absl::Status WriteFile(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
  out.close();
  if (!out) return absl::InternalError(absl::StrCat("cannot write '", path.string(), "'"));
  return absl::OkStatus();
}

// The deepest of `path` and its parents that exists.
fs::path ExistingAncestor(fs::path path) {
  std::error_code ec;
  path = fs::absolute(path, ec);
  while (!path.empty() && !fs::exists(path, ec)) {
    if (path == path.parent_path()) break;
    path = path.parent_path();
  }
  return path;
}

absl::StatusOr<TritonModelConfig> DescribeForTriton(const InferenceStages& stages,
                                                    const TritonExportOptions& options,
                                                    const std::vector<std::string>& output_names,
                                                    const TensorDict& outputs) {
  TritonModelConfig config;
  config.name = options.model_name;
  config.max_batch_size = options.max_batch_size;
  config.max_queue_delay_microseconds = options.max_queue_delay_microseconds;
  config.instance_kind = options.device == "cuda" ? "KIND_GPU" : "KIND_CPU";
  config.comments = {
      absl::StrCat("Written by tristage ", kTristageVersion, " export_triton (model_id ",
                   stages.manifest.model_id, ")."),
      "The inputs are the tristage predictor's input tensors; a tristage front preprocesses for",
      "them (the tristage export beside model.pt in each version directory: docs/export.md)."};
  for (const InputSpec& spec : stages.manifest.inputs) {
    auto type = TritonDataType(spec.dtype);
    if (!type.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("input '", spec.name, "': ", type.status().message()));
    }
    std::vector<int64_t> shape = spec.shape.empty() ? std::vector<int64_t>{-1} : spec.shape;
    shape[0] = -1;
    for (size_t d = 1; d < shape.size(); ++d) {
      if (shape[d] < 1) shape[d] = -1;
    }
    config.inputs.push_back(TritonTensorFor(spec.name, *type, shape, options.max_batch_size > 0));
  }
  for (const std::string& name : output_names) {
    const torch::Tensor tensor = outputs.at(name);
    if (tensor.dim() == 0 || tensor.size(0) != kProbeRows) {
      return absl::InternalError(
          absl::StrCat("predictor output '", name, "' has shape ", ShapeText(tensor.sizes().vec()),
                       " for a batch of ", kProbeRows, " rows: rows are not its first dimension"));
    }
    auto type = TritonDataType(DtypeName(tensor.scalar_type()));
    if (!type.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("predictor output '", name, "': ", type.status().message()));
    }
    std::vector<int64_t> shape = tensor.sizes().vec();
    shape[0] = -1;
    config.outputs.push_back(TritonTensorFor(name, *type, shape, options.max_batch_size > 0));
  }
  return config;
}

// Writes the version directory's files into `dir` (a fresh temporary directory).
absl::Status WriteVersion(const InferenceStages& stages, const torch::jit::Module& wrapper,
                          const fs::path& dir) {
  try {
    wrapper.save((dir / kTritonModelFile).string());
  } catch (const std::exception& e) {
    return absl::InternalError(
        absl::StrCat("cannot write ", (dir / kTritonModelFile).string(), ": ", e.what()));
  }
  TRISTAGE_RETURN_IF_ERROR(SaveStages(stages, dir.string(), /*model_only=*/false));
  TRISTAGE_RETURN_IF_ERROR(
      WriteJsonFile((dir / "model_hyperparameters.json").string(), stages.config));
  return WriteJsonFile((dir / "training_set_metadata.json").string(), stages.metadata);
}

}  // namespace

absl::Status CheckTritonExport(const TritonExportOptions& options) {
  if (options.output_path.empty()) {
    return absl::InvalidArgumentError("--output_path: the repository directory is required");
  }
  if (options.output_path.find('\0') != std::string::npos) {
    return absl::InvalidArgumentError("--output_path: contains a NUL byte");
  }
  TRISTAGE_RETURN_IF_ERROR(CheckName("--model_name", options.model_name));
  if (options.model_version < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("--model_version: ", options.model_version,
                     " is not a version Triton loads (versions are positive integers: 1, 2, ...)"));
  }
  if (options.max_batch_size < 0) {
    return absl::InvalidArgumentError(absl::StrCat("--max_batch_size: ", options.max_batch_size,
                                                   " is negative (0: Triton does not batch)"));
  }
  if (options.device != "cpu" && options.device != "cuda") {
    return absl::InvalidArgumentError(
        absl::StrCat("--device: '", options.device, "' (choose from cpu, cuda)"));
  }
  const fs::path root(options.output_path);
  const fs::path model_dir = root / options.model_name;
  const fs::path version_dir = model_dir / std::to_string(options.model_version);
  std::error_code ec;
  for (const fs::path& dir : {root, model_dir, version_dir}) {
    if (fs::exists(dir, ec) && !fs::is_directory(dir, ec)) {
      return absl::FailedPreconditionError(
          absl::StrCat("--output_path: '", dir.string(), "' exists and is not a directory"));
    }
  }
  if (fs::exists(version_dir, ec) && !fs::is_empty(version_dir, ec)) {
    return absl::AlreadyExistsError(absl::StrCat(
        "'", version_dir.string(), "' exists and is not empty: choose another --model_version (",
        "Triton serves the latest) or remove it"));
  }
  const fs::path existing = ExistingAncestor(version_dir);
  if (!fs::is_directory(existing, ec)) {
    return absl::FailedPreconditionError(absl::StrCat("--output_path: cannot create '",
                                                      version_dir.string(), "': '",
                                                      existing.string(), "' is not a directory"));
  }
  if (::access(existing.c_str(), W_OK | X_OK) != 0) {
    return absl::PermissionDeniedError(absl::StrCat(
        "--output_path: cannot write into '", existing.string(), "': ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

absl::StatusOr<TritonExport> ExportTriton(const InferenceModule& module,
                                          const TritonExportOptions& options) {
  TRISTAGE_RETURN_IF_ERROR(CheckTritonExport(options));
  const InferenceStages& stages = module.stages();
  if (stages.manifest.model_only || !stages.device.is_cpu()) {
    return absl::FailedPreconditionError(
        "export_triton needs the model's three stages with the predictor on the CPU");
  }
  // Learn the outputs from the predictor itself: their names, types and shapes.
  TRISTAGE_ASSIGN_OR_RETURN(TensorDict probe, ProbeInputs(stages.manifest));
  auto outputs = stages.PredictorForward(probe);
  if (!outputs.ok()) {
    return absl::InternalError(
        absl::StrCat("running the predictor on a batch of zeros: ", outputs.status().message()));
  }
  std::vector<std::string> output_names;
  for (const auto& entry : *outputs) output_names.push_back(entry.key());
  if (output_names.empty()) return absl::InternalError("the predictor gives no outputs");
  TRISTAGE_ASSIGN_OR_RETURN(torch::jit::Module wrapper, BuildWrapper(stages, output_names));

  TritonExport result;
  TRISTAGE_ASSIGN_OR_RETURN(result.config,
                            DescribeForTriton(stages, options, output_names, *outputs));
  const fs::path model_dir = fs::path(options.output_path) / options.model_name;
  const fs::path version_dir = model_dir / std::to_string(options.model_version);
  result.model_directory = model_dir.string();
  result.version_directory = version_dir.string();
  std::error_code ec;
  fs::create_directories(model_dir, ec);
  if (ec) {
    return absl::PermissionDeniedError(
        absl::StrCat("--output_path: cannot create '", model_dir.string(), "': ", ec.message()));
  }
  // One config.pbtxt serves every version of a model.
  const std::string pbtxt = ToPbtxt(result.config);
  const fs::path config_path = model_dir / kTritonConfigFile;
  if (fs::exists(config_path, ec)) {
    std::ifstream in(config_path, std::ios::binary);
    std::stringstream existing;
    existing << in.rdbuf();
    if (WithoutComments(existing.str()) != WithoutComments(pbtxt)) {
      return absl::FailedPreconditionError(absl::StrCat(
          "'", config_path.string(), "' describes other inputs, outputs or settings, and Triton ",
          "applies one config.pbtxt to every version of a model: export under another ",
          "--model_name, or remove that model directory"));
    }
  }

  // The version directory appears whole: written under a name Triton skips, then renamed.
  const fs::path staging =
      model_dir / absl::StrCat(".export_", options.model_version, "_", ::getpid());
  fs::remove_all(staging, ec);
  fs::create_directories(staging, ec);
  if (ec) {
    return absl::PermissionDeniedError(
        absl::StrCat("--output_path: cannot create '", staging.string(), "': ", ec.message()));
  }
  absl::Status written = WriteVersion(stages, wrapper, staging);
  if (written.ok()) {
    written = CheckWrapperFile(staging / kTritonModelFile, probe, output_names, *outputs);
  }
  if (written.ok() && !fs::exists(config_path, ec)) {
    const fs::path temporary = model_dir / absl::StrCat(".config_", ::getpid());
    written = WriteFile(temporary, pbtxt);
    if (written.ok()) {
      fs::rename(temporary, config_path, ec);
      if (ec) {
        written = absl::InternalError(
            absl::StrCat("cannot write '", config_path.string(), "': ", ec.message()));
      }
    }
  }
  if (written.ok()) {
    fs::remove(version_dir, ec);  // an empty directory (CheckTritonExport refuses others)
    fs::rename(staging, version_dir, ec);
    if (ec) {
      written = absl::InternalError(absl::StrCat("cannot move '", staging.string(), "' to '",
                                                 version_dir.string(), "': ", ec.message()));
    }
  }
  if (!written.ok()) {
    fs::remove_all(staging, ec);
    return written;
  }
  return result;
}

}  // namespace tristage::exporting
