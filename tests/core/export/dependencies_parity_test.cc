// Output feature dependencies (Ludwig's `dependencies`): a dependent output's decoder also takes
// the hidden states of the outputs it depends on. Trained, exported, and compared with the engine;
// and the dependent decoder's input really is wider by those hidden states.
#include <torch/script.h>

#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/core/export/parity.h"
#include "tests/testing/scratch_dir.h"

namespace tristage::exporting {
namespace {

using nlohmann::json;

json DependentConfig(bool with_dependencies) {
  json config = json::parse(R"({
    "input_features": [{"name": "a", "type": "number"}, {"name": "c", "type": "category"},
                       {"name": "t", "type": "text"}],
    "output_features": [
      {"name": "z", "type": "number", "dependencies": ["y", "b"]},
      {"name": "y", "type": "category", "decoder": {"fc_layers": [{"output_size": 12}]}},
      {"name": "b", "type": "binary", "dependencies": ["y"]}],
    "combiner": {"type": "concat", "output_size": 16, "num_fc_layers": 1},
    "trainer": {"epochs": 2, "batch_size": 32}})");
  if (!with_dependencies) {
    for (json& output : config["output_features"]) output["dependencies"] = json::array();
  }
  return config;
}

TEST(DependenciesTest, ExportedStagesPredictLikeTheEngine) {
  testing::ScratchDir dir("tristage_dependencies_parity");
  data::Table table;
  std::unique_ptr<Model> model = TrainSynthesized(DependentConfig(true), 500, dir.path(), &table);
  ASSERT_NE(model, nullptr);
  ExpectExportPredictsLikeTheEngine(*model, table, dir.path());
}

// z's decoder projects the combiner output (16) plus y's hidden state (its fc layer, 12) plus b's
// (b has no fc layer: its hidden state is the combiner-sized input it got, 16 + 12).
TEST(DependenciesTest, TheDependentDecoderTakesTheDependenciesHiddenStates) {
  for (bool with : {false, true}) {
    testing::ScratchDir dir(with ? "tristage_dependencies_on" : "tristage_dependencies_off");
    data::Table table;
    std::unique_ptr<Model> model = TrainSynthesized(DependentConfig(with), 200, dir.path(), &table);
    ASSERT_NE(model, nullptr);
    torch::jit::Module weights = torch::jit::load(
        (dir.path() / "results" / "experiment_run" / "model" / "model_weights.pt").string());
    std::map<std::string, std::vector<int64_t>> shapes;
    for (const auto& p : weights.named_parameters()) shapes[p.name] = p.value.sizes().vec();
    // decoder_0 is z's (config order), a regressor: w is [1, input width].
    ASSERT_TRUE(shapes.count("decoder_0.w"));
    EXPECT_EQ(shapes["decoder_0.w"], (std::vector<int64_t>{1, with ? 16 + 12 + 28 : 16}));
    EXPECT_EQ(shapes["decoder_2.w"], (std::vector<int64_t>{1, with ? 16 + 12 : 16}));
  }
}

}  // namespace
}  // namespace tristage::exporting
