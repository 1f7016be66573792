#include "core/model/ecd.h"

#include <map>


#include "absl/strings/str_cat.h"
#include "core/features/feature.h"
#include "core/model/combiners/blocks.h"
#include "core/model/params.h"
#include "core/model/registry.h"
#include "core/util/status_macros.h"

namespace tristage::model {
namespace {

using nlohmann::json;

// A TorchScript string literal for a feature name (names are user text).
std::string Quote(const std::string& text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

absl::Status WithFeature(const absl::Status& status, const std::string& section, size_t index,
                         const std::string& name) {
  if (status.ok()) return status;
  return absl::Status(status.code(),
                      absl::StrCat(section, "[", index, "] '", name, "': ", status.message()));
}

// Config parameters the schema accepts (they are Ludwig's) but this engine does not implement yet:
// refusing them beats silently training something else than the config says.
absl::Status CheckImplemented(const json& encoder) {
  const auto set = [&encoder](const char* key) {
    auto it = encoder.find(key);
    return it != encoder.end() && !it->is_null();
  };
  // pool_size: the convolution encoders' default for layers that name none (conv_stack.cc).
  for (const char* key : {"pretrained_embeddings", "norm_params"}) {
    if (set(key)) {
      return absl::UnimplementedError(
          absl::StrCat("encoder.", key, " is not supported yet (leave it null)"));
    }
  }
  if (encoder.value("representation", std::string("dense")) != "dense") {
    return absl::UnimplementedError(
        "encoder.representation: 'sparse' is not supported yet for this encoder (use dense)");
  }
  if (encoder.value("recurrent_activation", std::string("sigmoid")) != "sigmoid") {
    return absl::UnimplementedError(
        "encoder.recurrent_activation: only sigmoid is supported (the fused recurrent kernels' "
        "gate activation)");
  }
  if (encoder.value("force_embedding_size", false)) {
    return absl::UnimplementedError("encoder.force_embedding_size is not supported yet");
  }
  return absl::OkStatus();
}

// Ludwig's reduce_input: an output feature's reduction of a combiner output that is still a
// sequence [batch, length, width] (sequence_concat with reduce_output null) to [batch, width'].
absl::StatusOr<torch::jit::Module> AddReduceInput(const json& feature, const Built& combiner,
                                                  ScriptBuilder& builder, int64_t* width) {
  auto it = feature.find("reduce_input");
  const std::string how = it == feature.end() ? "sum" : it->is_null() ? "" : it->get<std::string>();
  if (how.empty()) {
    return absl::InvalidArgumentError(
        "reduce_input: null keeps the combiner's sequence for a sequence decoder, which this "
        "output does not have; choose sum, mean, avg, sqrtn, max, concat, last or attention");
  }
  torch::jit::Module module = builder.NewModule("ReduceInput");
  *width = combiner.output_size;
  auto source = AddSequenceReduction(module, how, combiner.sequence_length, width, "h", "red");
  if (!source.ok())
    return absl::InvalidArgumentError(absl::StrCat("reduce_input: ", source.status().message()));
  TRISTAGE_RETURN_IF_ERROR(Define(
      module, absl::StrCat("def forward(self, h: Tensor) -> Tensor:\n", *source, "    return h\n"),
      "reduce_input"));
  return module;
}

}  // namespace

std::string OutputKey(const std::string& feature, const std::string& what) {
  return absl::StrCat(feature, "::", what);
}

absl::StatusOr<torch::jit::Module> BuildEcd(const json& config, const json& metadata) {
  ScriptBuilder builder;
  torch::jit::Module ecd = builder.NewModule("ECD");
  std::string train_source =
      "def train_forward(self, inputs: Dict[str, Tensor]) -> Dict[str, Tensor]:\n"
      "    encoded: List[Tensor] = []\n";
  std::vector<int64_t> sizes;
  std::vector<CombinerInput> combiner_inputs;
  const json& inputs = config.at("input_features");
  for (size_t i = 0; i < inputs.size(); ++i) {
    const json& feature = inputs[i];
    const std::string name = feature.at("name");
    const std::string type = feature.at("type");
    TRISTAGE_ASSIGN_OR_RETURN(std::string encoder,
                              GetString(Section(feature, "encoder"), "type", ""));
    TRISTAGE_RETURN_IF_ERROR(
        WithFeature(CheckImplemented(Section(feature, "encoder")), "input_features", i, name));
    auto factory = FindEncoder(type, encoder);
    TRISTAGE_RETURN_IF_ERROR(WithFeature(factory.status(), "input_features", i, name));
    auto built = (*factory)({feature, metadata.value(name, json::object()), builder});
    TRISTAGE_RETURN_IF_ERROR(WithFeature(built.status(), "input_features", i, name));
    const std::string member = absl::StrCat("encoder_", i);
    ecd.register_module(member, built->module);
    sizes.push_back(built->output_size);
    combiner_inputs.push_back({name, type, built->output_size, built->sequence_length});
    absl::StrAppend(&train_source, "    encoded.append(self.", member, ".forward(inputs[",
                    Quote(name), "]))\n");
  }

  const json& combiner_config = config.at("combiner");
  TRISTAGE_ASSIGN_OR_RETURN(std::string combiner_type,
                            GetString(combiner_config, "type", "concat"));
  TRISTAGE_ASSIGN_OR_RETURN(CombinerFactory combiner_factory, FindCombiner(combiner_type));
  auto combiner = combiner_factory({combiner_config, sizes, builder, combiner_inputs});
  if (!combiner.ok()) {
    return absl::Status(combiner.status().code(), absl::StrCat("combiner (", combiner_type,
                                                               "): ", combiner.status().message()));
  }
  ecd.register_module("combiner", combiner->module);
  if (combiner->has_aux_loss) {
    absl::StrAppend(&train_source,
                    "    hidden, aux_loss = self.combiner.forward_with_loss(encoded)\n"
                    "    out: Dict[str, Tensor] = {",
                    Quote(kAuxLossKey), ": aux_loss}\n");
  } else {
    absl::StrAppend(&train_source,
                    "    hidden = self.combiner.forward(encoded)\n"
                    "    out: Dict[str, Tensor] = {}\n");
  }

  std::string forward_source =
      "def forward(self, inputs: Dict[str, Tensor]) -> Dict[str, Tensor]:\n"
      "    out = self.train_forward(inputs)\n";
  const json& outputs = config.at("output_features");
  // Ludwig's output dependencies: an output listed in another's `dependencies` is decoded first,
  // and its decoder's hidden state (the fc stack's output) joins the combiner output at the
  // dependent's decoder input. The resolver refused cycles, so this order exists.
  std::vector<size_t> order;
  std::vector<bool> placed(outputs.size(), false);
  std::map<std::string, size_t> index_of;
  for (size_t i = 0; i < outputs.size(); ++i) index_of[outputs[i].at("name")] = i;
  while (order.size() < outputs.size()) {
    const size_t before = order.size();
    for (size_t i = 0; i < outputs.size(); ++i) {
      if (placed[i]) continue;
      bool ready = true;
      for (const json& dependency : outputs[i].value("dependencies", json::array())) {
        auto it = index_of.find(dependency.get<std::string>());
        if (it == index_of.end()) {
          return absl::InvalidArgumentError(absl::StrCat(
              "output_features[", i, "].dependencies: unknown output feature ", dependency.dump()));
        }
        ready = ready && placed[it->second];
      }
      if (ready) {
        placed[i] = true;
        order.push_back(i);
      }
    }
    if (order.size() == before) {
      return absl::InvalidArgumentError("output_features: dependencies form a cycle");
    }
  }
  std::vector<int64_t> hidden_sizes(outputs.size(), 0);
  for (size_t i : order) {
    const json& feature = outputs[i];
    const std::string name = feature.at("name");
    const std::string type = feature.at("type");
    const json& meta = metadata.value(name, json::object());
    const features::FeatureType* handler = features::FindFeatureType(type);
    if (handler == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("output_features[", i, "]: unknown type '", type, "'"));
    }
    auto output_size = handler->OutputSizeFor(feature, meta);
    TRISTAGE_RETURN_IF_ERROR(WithFeature(output_size.status(), "output_features", i, name));
    TRISTAGE_ASSIGN_OR_RETURN(std::string decoder,
                              GetString(Section(feature, "decoder"), "type", ""));
    auto factory = FindDecoder(type, decoder);
    TRISTAGE_RETURN_IF_ERROR(WithFeature(factory.status(), "output_features", i, name));
    std::string input = "hidden";
    int64_t input_size = combiner->output_size;
    if (combiner->sequence_length > 0) {
      auto reduced = AddReduceInput(feature, *combiner, builder, &input_size);
      TRISTAGE_RETURN_IF_ERROR(WithFeature(reduced.status(), "output_features", i, name));
      ecd.register_module(absl::StrCat("reduce_input_", i), *reduced);
      input = absl::StrCat("self.reduce_input_", i, ".forward(hidden)");
    }
    const json dependencies = feature.value("dependencies", json::array());
    if (!dependencies.empty()) {
      // reduce_dependencies reduces a dependency's hidden state that is still a sequence; decoder
      // hidden states here are [batch, width], so (as in Ludwig for such states) it has nothing to
      // reduce. Checked to be one of Ludwig's reductions.
      const std::string reduce = feature.value("reduce_dependencies", std::string("sum"));
      if (reduce.empty()) {
        return absl::InvalidArgumentError(absl::StrCat(
            "output_features[", i, "].reduce_dependencies: must name a reduction"));
      }
      std::string joined = absl::StrCat("torch.cat([", input);
      for (const json& dependency : dependencies) {
        const size_t j = index_of.at(dependency.get<std::string>());
        absl::StrAppend(&joined, ", hidden_", j);
        input_size += hidden_sizes[j];
      }
      input = joined + "], dim=-1)";
    }
    auto built = (*factory)({feature, meta, input_size, *output_size, builder});
    TRISTAGE_RETURN_IF_ERROR(WithFeature(built.status(), "output_features", i, name));
    const std::string member = absl::StrCat("decoder_", i);
    ecd.register_module(member, built->module);
    hidden_sizes[i] = built->hidden_size > 0 ? built->hidden_size : built->output_size;
    if (built->hidden_size > 0) {
      absl::StrAppend(&train_source, "    hidden_", i, " = self.", member, ".hidden(", input,
                      ")\n    out[", Quote(OutputKey(name, "logits")), "] = self.", member,
                      ".project(hidden_", i, ")\n");
    } else {
      absl::StrAppend(&train_source, "    hidden_", i, " = self.", member, ".forward(", input,
                      ")\n    out[", Quote(OutputKey(name, "logits")), "] = hidden_", i, "\n");
    }
    auto head = handler->OutputHeadSource(
        feature, absl::StrCat("out[", Quote(OutputKey(name, "logits")), "]"),
        [&](const std::string& what) {
          return absl::StrCat("out[", Quote(OutputKey(name, what)), "]");
        });
    TRISTAGE_RETURN_IF_ERROR(WithFeature(head.status(), "output_features", i, name));
    absl::StrAppend(&forward_source, *head);
  }
  absl::StrAppend(&train_source, "    return out\n");
  // The predictor's outputs are the features' alone.
  if (combiner->has_aux_loss) {
    absl::StrAppend(&forward_source, "    out.pop(", Quote(kAuxLossKey), ")\n");
  }
  absl::StrAppend(&forward_source, "    return out\n");
  TRISTAGE_RETURN_IF_ERROR(Define(ecd, train_source + "\n" + forward_source, "ECD model"));
  return ecd;
}

}  // namespace tristage::model
