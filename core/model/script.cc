#include "core/model/script.h"

#include <cstdio>
#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace tristage::model {

torch::jit::Module ScriptBuilder::NewModule(absl::string_view class_name) {
  torch::jit::Module module(c10::QualifiedName(absl::StrCat("__torch__.tristage.", class_name)),
                            unit_, /*shouldMangle=*/true);
  // Python's nn.Module defines `training`; a module built from C++ must declare it for
  // Module::train/eval and for sources that read self.training (dropout, batch norm).
  module.register_attribute("training", c10::BoolType::get(), true);
  return module;
}

void AddParameter(torch::jit::Module& module, const std::string& name, torch::Tensor value) {
  module.register_parameter(name, value.detach().requires_grad_(true), /*is_buffer=*/false);
}

void AddBuffer(torch::jit::Module& module, const std::string& name, torch::Tensor value) {
  module.register_buffer(name, value.detach());
}

absl::Status Define(torch::jit::Module& module, const std::string& source, absl::string_view what) {
  try {
    module.define(source);
  } catch (const std::exception& e) {
    return absl::InternalError(
        absl::StrCat("compiling the TorchScript of ", what, ": ", e.what(), "\nsource:\n", source));
  }
  return absl::OkStatus();
}

absl::Status Initialize(torch::Tensor& tensor, absl::string_view initializer) {
  torch::NoGradGuard no_grad;
  // The fan-based initializers need two dimensions; a bias is initialized as a 1 x n matrix.
  torch::Tensor weight = tensor.dim() >= 2 ? tensor : tensor.view({1, -1});
  if (initializer == "xavier_uniform") {
    torch::nn::init::xavier_uniform_(weight);
  } else if (initializer == "xavier_normal") {
    torch::nn::init::xavier_normal_(weight);
  } else if (initializer == "kaiming_uniform") {
    torch::nn::init::kaiming_uniform_(weight);
  } else if (initializer == "kaiming_normal") {
    torch::nn::init::kaiming_normal_(weight);
  } else if (initializer == "normal") {
    torch::nn::init::normal_(weight);
  } else if (initializer == "uniform") {
    torch::nn::init::uniform_(weight);
  } else if (initializer == "zeros") {
    torch::nn::init::zeros_(weight);
  } else if (initializer == "ones") {
    torch::nn::init::ones_(weight);
  } else if (initializer == "orthogonal") {
    torch::nn::init::orthogonal_(weight);
  } else {
    return absl::InvalidArgumentError(absl::StrCat(
        "unknown initializer '", initializer,
        "' (known: xavier_uniform, xavier_normal, kaiming_uniform, kaiming_normal, normal, "
        "uniform, zeros, ones, orthogonal)"));
  }
  return absl::OkStatus();
}

std::string FloatLiteral(double value) {
  // The shortest text that reads back as the same double: 0.2, not 0.20000000000000001.
  std::string text = absl::StrFormat("%.17g", value);
  for (int precision = 1; precision < 17; ++precision) {
    const std::string shorter = absl::StrFormat("%.*g", precision, value);
    if (std::strtod(shorter.c_str(), nullptr) == value) {
      text = shorter;
      break;
    }
  }
  if (text.find_first_of(".eEn") == std::string::npos) text += ".0";
  return text;
}

}  // namespace tristage::model
