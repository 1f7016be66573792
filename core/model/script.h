// Building blocks for models that are TorchScript from the start.
//
// Every encoder, combiner and decoder is a torch::jit::Module whose parameters are registered from
// C++ and whose forward is TorchScript source compiled with Module::define. All modules of one
// model share one CompilationUnit (ScriptBuilder), so the saved predictor is self-contained.
//
// TorchScript compiled by define cannot resolve Python-side names (torch.nn.functional.*,
// torch.long): sources use aten builtins (torch.linear, torch.relu, torch.dropout(x, p, train),
// ...), and call submodules as self.sub.forward(x).
//
// Internal to core/model; includes torch.
#ifndef TRISTAGE_CORE_MODEL_SCRIPT_H_
#define TRISTAGE_CORE_MODEL_SCRIPT_H_

#include <torch/script.h>

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace tristage::model {

// Owns the CompilationUnit of one model. Not thread-safe; used while building a model.
class ScriptBuilder {
 public:
  ScriptBuilder() : unit_(std::make_shared<torch::jit::CompilationUnit>()) {}
  // A new empty module of class __torch__.tristage.<class_name> (mangled to stay unique).
  torch::jit::Module NewModule(absl::string_view class_name);

 private:
  std::shared_ptr<torch::jit::CompilationUnit> unit_;
};

// Registers a trainable parameter (requires_grad is set on `value`).
void AddParameter(torch::jit::Module& module, const std::string& name, torch::Tensor value);
// Registers a buffer (saved with the module, not trained), e.g. batch-norm running statistics.
void AddBuffer(torch::jit::Module& module, const std::string& name, torch::Tensor value);

// Compiles `source` into `module`. InternalError naming `what` and quoting the compiler's message
// when it fails (a bug in the generator, not a user error).
absl::Status Define(torch::jit::Module& module, const std::string& source, absl::string_view what);

// Initializes a weight in place by Ludwig's initializer name: xavier_uniform, xavier_normal,
// kaiming_uniform, kaiming_normal, normal, uniform, zeros, ones, orthogonal. InvalidArgument for
// other names.
absl::Status Initialize(torch::Tensor& weight, absl::string_view initializer);

// Formats a double as a TorchScript float literal ("0.5", "1e-05", "0.0").
std::string FloatLiteral(double value);

}  // namespace tristage::model

#endif  // TRISTAGE_CORE_MODEL_SCRIPT_H_
