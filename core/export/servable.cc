#include "core/export/servable.h"

#include <cstring>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/export/output_types.h"
#include "core/export/stages.h"
#include "core/util/status_macros.h"

namespace tristage::exporting {
namespace {

// KServe v2 datatypes of the tensors that cross a process boundary.
const std::map<std::string, torch::ScalarType>& Datatypes() {
  static const auto* types = new std::map<std::string, torch::ScalarType>{
      {"FP32", torch::kFloat32}, {"FP64", torch::kFloat64}, {"INT64", torch::kInt64},
      {"INT32", torch::kInt32},  {"INT16", torch::kInt16},  {"INT8", torch::kInt8},
      {"UINT8", torch::kUInt8},  {"BOOL", torch::kBool}};
  return *types;
}

absl::StatusOr<RawTensor> ToRaw(const std::string& name, const torch::Tensor& tensor) {
  for (const auto& [datatype, type] : Datatypes()) {
    if (type != tensor.scalar_type()) continue;
    RawTensor raw;
    raw.name = name;
    raw.datatype = datatype;
    raw.shape = tensor.sizes().vec();
    const torch::Tensor host = tensor.to(torch::kCPU).contiguous();
    raw.data.assign(static_cast<const char*>(host.data_ptr()), host.numel() * host.element_size());
    return raw;
  }
  return absl::InvalidArgumentError(absl::StrCat("tensor '", name, "' has dtype ",
                                                 c10::toString(tensor.scalar_type()),
                                                 ", which no KServe datatype here carries"));
}

absl::StatusOr<torch::Tensor> FromRaw(const RawTensor& raw) {
  auto type = Datatypes().find(raw.datatype);
  if (type == Datatypes().end()) {
    return absl::InvalidArgumentError(
        absl::StrCat("tensor '", raw.name, "': unsupported datatype '", raw.datatype, "'"));
  }
  int64_t elements = 1;
  for (int64_t d : raw.shape) {
    if (d < 0 || __builtin_mul_overflow(elements, d, &elements)) {
      return absl::InvalidArgumentError(absl::StrCat("tensor '", raw.name, "': bad shape"));
    }
  }
  const int64_t size = static_cast<int64_t>(c10::elementSize(type->second));
  if (static_cast<int64_t>(raw.data.size()) != elements * size) {
    return absl::InvalidArgumentError(absl::StrCat("tensor '", raw.name, "': ", raw.data.size(),
                                                   " bytes for ", elements, " ", raw.datatype,
                                                   " elements"));
  }
  torch::Tensor tensor = torch::empty(raw.shape, torch::TensorOptions().dtype(type->second));
  if (!raw.data.empty()) std::memcpy(tensor.data_ptr(), raw.data.data(), raw.data.size());
  return tensor;
}

// The predictor's outputs in a TensorDict as raw tensors, in the dict's order.
absl::StatusOr<RawTensors> ToRawTensors(const TensorDict& tensors) {
  RawTensors raw;
  try {
    for (const auto& entry : tensors) {
      TRISTAGE_ASSIGN_OR_RETURN(RawTensor one, ToRaw(entry.key(), entry.value()));
      raw.push_back(std::move(one));
    }
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("copying tensors to the host: ", e.what()));
  }
  return raw;
}

absl::StatusOr<TensorDict> FromRawTensors(const RawTensors& raw) {
  TensorDict tensors;
  for (const RawTensor& one : raw) {
    TRISTAGE_ASSIGN_OR_RETURN(torch::Tensor tensor, FromRaw(one));
    tensors.insert(one.name, std::move(tensor));
  }
  return tensors;
}

// The tensors between two steps, on the device of the step that made them.
class TensorBatch final : public ServableBatch {
 public:
  TensorDict tensors;
};

// What both servables here share: the predictor step on a TensorBatch, and its tensors handed
// to a remote predictor and back.
class PredictorServable : public Servable {
 public:
  explicit PredictorServable(InferenceStages stages) : stages_(std::move(stages)) {}

  const Manifest& manifest() const override { return stages_.manifest; }

  absl::Status Predict(ServableBatch& batch) const override {
    TensorBatch& tensors = static_cast<TensorBatch&>(batch);
    absl::StatusOr<TensorDict> outputs = stages_.PredictorForward(tensors.tensors);
    if (!outputs.ok()) return absl::InternalError(outputs.status().message());
    tensors.tensors = std::move(*outputs);
    return absl::OkStatus();
  }

  absl::StatusOr<RawTensors> PredictorInputs(const ServableBatch& batch) const override {
    return ToRawTensors(static_cast<const TensorBatch&>(batch).tensors);
  }

  absl::Status SetPredictorOutputs(ServableBatch& batch, const RawTensors& outputs) const override {
    TRISTAGE_ASSIGN_OR_RETURN(TensorDict tensors, FromRawTensors(outputs));
    static_cast<TensorBatch&>(batch).tensors = std::move(tensors);
    return absl::OkStatus();
  }

 protected:
  const InferenceStages stages_;
};

// The three TorchScript stages in this process, each on its own device.
class LocalServable final : public PredictorServable {
 public:
  LocalServable(InferenceStages stages, torch::Device preprocessor, torch::Device postprocessor)
      : PredictorServable(std::move(stages)),
        preprocessor_device_(preprocessor),
        postprocessor_device_(postprocessor) {}

  absl::StatusOr<std::unique_ptr<ServableBatch>> Preprocess(
      const InputColumns& columns) const override {
    TRISTAGE_ASSIGN_OR_RETURN(TensorDict tensors,
                              stages_.PreprocessorForward(ToRawInputs(columns)));
    auto batch = std::make_unique<TensorBatch>();
    try {
      batch->tensors = ToDevice(tensors, preprocessor_device_);
    } catch (const std::exception& e) {
      return absl::InternalError(absl::StrCat("moving the preprocessed batch to ",
                                              preprocessor_device_.str(), ": ", e.what()));
    }
    return batch;
  }

  absl::StatusOr<OutputMap> Postprocess(ServableBatch& batch) const override {
    TensorBatch& tensors = static_cast<TensorBatch&>(batch);
    TensorDict on_device;
    try {
      on_device = ToDevice(tensors.tensors, postprocessor_device_);
    } catch (const std::exception& e) {
      return absl::InternalError(absl::StrCat("moving the predicted batch to ",
                                              postprocessor_device_.str(), ": ", e.what()));
    }
    tensors.tensors = TensorDict();
    TRISTAGE_ASSIGN_OR_RETURN(c10::impl::GenericDict result,
                              stages_.PostprocessorForward(on_device));
    return DecodeOutputs(stages_.manifest, result);
  }

 private:
  const torch::Device preprocessor_device_;
  const torch::Device postprocessor_device_;
};

// A --model_only export: the predictor alone, tensors in and out (see LoadServable).
class TensorServable final : public PredictorServable {
 public:
  explicit TensorServable(InferenceStages stages) : PredictorServable(std::move(stages)) {}

  absl::StatusOr<std::unique_ptr<ServableBatch>> Preprocess(
      const InputColumns& columns) const override {
    auto batch = std::make_unique<TensorBatch>();
    for (const InputSpec& spec : stages_.manifest.inputs) {
      auto it = columns.find(spec.name);
      if (it == columns.end() || it->second.is_strings) {
        return absl::InvalidArgumentError(
            absl::StrCat("input '", spec.name, "': a ", spec.dtype, " tensor is needed"));
      }
      const InputColumn& column = it->second;
      std::vector<int64_t> shape = spec.shape;
      if (shape.empty()) shape = {-1};
      shape[0] = column.rows();
      try {
        const torch::Tensor values =
            torch::from_blob(const_cast<double*>(column.numbers.data()),
                             {static_cast<int64_t>(column.numbers.size())}, torch::kFloat64);
        const torch::ScalarType type = spec.dtype == "int64"     ? torch::kInt64
                                       : spec.dtype == "float64" ? torch::kFloat64
                                       : spec.dtype == "bool"    ? torch::kBool
                                                                 : torch::kFloat32;
        batch->tensors.insert(spec.name, values.to(type).reshape(shape));
      } catch (const std::exception& e) {
        return absl::InvalidArgumentError(
            absl::StrCat("input '", spec.name, "': ", ScriptErrorMessage(e.what())));
      }
    }
    return batch;
  }

  absl::StatusOr<OutputMap> Postprocess(ServableBatch& batch) const override {
    TensorBatch& tensors = static_cast<TensorBatch&>(batch);
    TRISTAGE_ASSIGN_OR_RETURN(RawTensors raw, ToRawTensors(tensors.tensors));
    tensors.tensors = TensorDict();
    OutputMap outputs;
    for (const OutputSpec& spec : stages_.manifest.outputs) {
      OutputValues values;
      values.type = "tensor";
      const std::string prefix = spec.name + "::";
      for (const RawTensor& tensor : raw) {
        if (tensor.name.rfind(prefix, 0) != 0) continue;
        values.tensors.push_back(tensor);
        values.tensors.back().name = tensor.name.substr(prefix.size());
      }
      outputs.emplace_back(spec.name, std::move(values));
    }
    return outputs;
  }

  // One row of zeros, twice (a tensor model has no missing values to send).
  absl::Status WarmUp() const override {
    InputColumns zeros;
    for (const InputSpec& spec : stages_.manifest.inputs) {
      int64_t width = 1;
      for (size_t d = 1; d < spec.shape.size(); ++d) width *= std::max<int64_t>(spec.shape[d], 1);
      InputColumn& column = zeros[spec.name];
      column.is_strings = false;
      column.width = width;
      column.numbers.assign(width, 0.0);
    }
    for (int run = 0; run < 2; ++run) {
      TRISTAGE_ASSIGN_OR_RETURN(std::unique_ptr<ServableBatch> batch, Preprocess(zeros));
      TRISTAGE_RETURN_IF_ERROR(Predict(*batch));
      TRISTAGE_RETURN_IF_ERROR(Postprocess(*batch).status());
    }
    return absl::OkStatus();
  }
};

// Output type "tensor": what a tensor model answers (KServe tensors "<feature>::<what>"; in
// prediction files, a column "<feature>_<what>" with each row's elements).
OutputType TensorOutputType() {
  OutputType type;
  type.name = "tensor";
  type.decode = [](const ScriptResult&, const OutputSpec& spec, OutputValues&) -> absl::Status {
    return absl::InternalError(
        absl::StrCat("output '", spec.name, "': tensor outputs come from a predictor alone"));
  };
  type.columns = [](const OutputValues& values) {
    SuffixColumns columns;
    for (const RawTensor& raw : values.tensors) {
      data::Column column;
      auto tensor = FromRaw(raw);
      const int64_t rows = raw.rows();
      for (int64_t row = 0; row < rows; ++row) {
        std::vector<std::string> cells;
        if (tensor.ok()) {
          const torch::Tensor flat = (*tensor)[row].reshape({-1}).to(torch::kFloat64);
          for (int64_t i = 0; i < flat.numel(); ++i)
            cells.push_back(absl::StrCat(flat[i].item<double>()));
        }
        column.Append(absl::StrJoin(cells, " "), false);
      }
      columns.emplace_back("_" + raw.name, std::move(column));
    }
    return columns;
  };
  type.tensors = [](const OutputValues& values) {
    std::vector<OutputTensor> tensors;
    for (const RawTensor& raw : values.tensors) {
      tensors.push_back({raw.name, raw.datatype, raw.shape, raw.data});
    }
    return tensors;
  };
  return type;
}

TRISTAGE_EARLY_INIT const TypeRegistration kTensorOutput{TensorOutputType()};

}  // namespace

absl::StatusOr<RawTensors> Servable::PredictorInputs(const ServableBatch&) const {
  return absl::UnimplementedError("this servable has no predictor tensors to send elsewhere");
}

absl::Status Servable::SetPredictorOutputs(ServableBatch&, const RawTensors&) const {
  return absl::UnimplementedError("this servable takes no predictor outputs from elsewhere");
}

absl::Status Servable::WarmUp() const {
  InputColumns empty_row;
  for (const InputSpec& input : manifest().inputs) empty_row[input.name].strings = {""};
  for (int run = 0; run < 2; ++run) {
    TRISTAGE_ASSIGN_OR_RETURN(std::unique_ptr<ServableBatch> batch, Preprocess(empty_row));
    TRISTAGE_RETURN_IF_ERROR(Predict(*batch));
    TRISTAGE_RETURN_IF_ERROR(Postprocess(*batch).status());
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<Servable>> LoadServable(const std::string& directory,
                                                       const ServableDevices& devices) {
  auto located = [&directory](const absl::Status& status) {
    return absl::Status(status.code(), absl::StrCat(directory, ": ", status.message()));
  };
  auto preprocessor = ParseDevice(devices.preprocessor);
  if (!preprocessor.ok()) return located(preprocessor.status());
  auto postprocessor = ParseDevice(devices.postprocessor);
  if (!postprocessor.ok()) return located(postprocessor.status());
  absl::StatusOr<InferenceStages> stages = LoadStages(directory, devices.predictor);
  if (!stages.ok()) return stages.status();
  if (stages->manifest.model_only) return std::make_unique<TensorServable>(std::move(*stages));
  return std::make_unique<LocalServable>(std::move(*stages), *preprocessor, *postprocessor);
}

}  // namespace tristage::exporting
