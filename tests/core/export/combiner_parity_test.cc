// Combiners: each trains briefly and its exported stages predict like the engine
// (tests/core/export/parity.h).
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/core/export/parity.h"
#include "tests/testing/scratch_dir.h"

namespace tristage::exporting {
namespace {

using nlohmann::json;

struct CombinerCase {
  const char* name;
  const char* combiner;                // the config's combiner section, JSON
  const char* text_encoder = nullptr;  // the text input's encoder section, JSON, when not default
};

class CombinerParityTest : public ::testing::TestWithParam<CombinerCase> {};

// Inputs of every kind a combiner meets: numbers, a category, a set and a text.
json ConfigWith(const std::string& combiner, const char* text_encoder) {
  json config = json::parse(R"({
    "input_features": [
      {"name": "n1", "type": "number"}, {"name": "n2", "type": "number"},
      {"name": "c", "type": "category"}, {"name": "s", "type": "set"},
      {"name": "t", "type": "text"}],
    "output_features": [{"name": "y", "type": "category"}, {"name": "z", "type": "number"}],
    "trainer": {"epochs": 2, "batch_size": 32}})");
  config["combiner"] = json::parse(combiner);
  if (text_encoder != nullptr) config["input_features"][4]["encoder"] = json::parse(text_encoder);
  return config;
}

TEST_P(CombinerParityTest, ExportedStagesPredictLikeTheEngine) {
  testing::ScratchDir dir("tristage_combiner_parity");
  data::Table table;
  std::unique_ptr<Model> model = TrainSynthesized(
      ConfigWith(GetParam().combiner, GetParam().text_encoder), 600, dir.path(), &table);
  ASSERT_NE(model, nullptr);
  ExpectExportPredictsLikeTheEngine(*model, table, dir.path());
}

const CombinerCase kCases[] = {
    {"ConcatWithLayersNormAndResidual",
     R"({"type": "concat", "num_fc_layers": 2, "output_size": 16, "norm": "batch",
         "residual": true, "dropout": 0.1})"},
    // Ludwig's defaults: sparsemax, sparsity 1e-4, ghost batch norm over 1024-row chunks.
    {"TabNetDefaults", R"({"type": "tabnet"})"},
    {"TabNetEntmax15GhostChunksSharedBlock",
     R"({"type": "tabnet", "size": 8, "output_size": 16, "num_steps": 2, "num_shared_blocks": 1,
         "entmax_mode": "entmax15", "relaxation_factor": 1.2, "sparsity": 0.01,
         "bn_virtual_bs": 8, "bn_momentum": 0.3, "dropout": 0.2})"},
    {"TabNetWithoutSparsityPlainBatchNorm",
     R"({"type": "tabnet", "size": 8, "output_size": 8, "num_steps": 1, "num_total_blocks": 2,
         "num_shared_blocks": 0, "sparsity": 0, "bn_virtual_bs": null})"},
    {"TransformerDefaults", R"({"type": "transformer"})"},
    {"TransformerConcatWithFcLayers",
     R"({"type": "transformer", "hidden_size": 16, "num_heads": 4, "transformer_output_size": 8,
         "num_layers": 2, "reduce_output": "concat", "num_fc_layers": 2, "output_size": 16,
         "fc_residual": true, "fc_dropout": 0.1, "norm": "batch"})"},
    {"TransformerSum", R"({"type": "transformer", "hidden_size": 8, "num_heads": 2,
                          "reduce_output": "sum"})"},
    {"TransformerMax", R"({"type": "transformer", "hidden_size": 8, "num_heads": 2,
                          "reduce_output": "max"})"},
    {"TransformerLast", R"({"type": "transformer", "hidden_size": 8, "num_heads": 2,
                           "reduce_output": "last"})"},
    {"TransformerAttention", R"({"type": "transformer", "hidden_size": 8, "num_heads": 1,
                                "reduce_output": "attention", "num_fc_layers": 1})"},
    {"TabTransformerDefaults", R"({"type": "tabtransformer"})"},
    {"TabTransformerAddNames",
     R"({"type": "tabtransformer", "hidden_size": 16, "num_heads": 4,
         "embed_input_feature_name": "add", "reduce_output": "mean", "num_fc_layers": 1,
         "output_size": 8})"},
    {"TabTransformerConcatNames",
     R"({"type": "tabtransformer", "hidden_size": 16, "num_heads": 4,
         "embed_input_feature_name": 4, "num_fc_layers": 1, "output_size": 8})"},
    {"Comparator",
     R"({"type": "comparator", "entity_1": ["n1", "c"], "entity_2": ["n2", "s", "t"],
         "num_fc_layers": 2, "output_size": 16, "norm": "batch", "dropout": 0.1})"},
    // The text's embedded tokens stay a sequence; the other inputs repeat along it.
    {"SequenceConcatReducedBySum", R"({"type": "sequence_concat", "reduce_output": "sum"})",
     R"({"type": "embed", "embedding_size": 8, "reduce_output": null})"},
    {"SequenceConcatLast", R"({"type": "sequence_concat", "reduce_output": "last"})",
     R"({"type": "rnn", "state_size": 8, "reduce_output": null})"},
    {"SequenceConcatUnreducedOutputsReduceInput",
     R"({"type": "sequence_concat", "main_sequence_feature": "t"})",
     R"({"type": "embed", "embedding_size": 8, "reduce_output": null})"},
    {"ProjectAggregateDefaults", R"({"type": "project_aggregate"})"},
    {"ProjectAggregateFcLayers",
     R"({"type": "project_aggregate", "projection_size": 16,
         "fc_layers": [{"output_size": 16}, {"output_size": 8, "norm": "batch"}]})"},
};

std::string CaseName(const ::testing::TestParamInfo<CombinerCase>& param_info) {
  return param_info.param.name;
}

INSTANTIATE_TEST_SUITE_P(Combiners, CombinerParityTest, ::testing::ValuesIn(kCases), CaseName);

}  // namespace
}  // namespace tristage::exporting
