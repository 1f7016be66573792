// Output losses that change the output head: each trains briefly and its exported stages predict
// like the engine (tests/core/export/parity.h).
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/core/export/parity.h"
#include "tests/testing/scratch_dir.h"

namespace tristage::exporting {
namespace {

using nlohmann::json;

struct LossCase {
  const char* name;
  const char* outputs;  // the config's output_features, JSON
};

class LossParityTest : public ::testing::TestWithParam<LossCase> {};

TEST_P(LossParityTest, ExportedStagesPredictLikeTheEngine) {
  json config = json::parse(R"({
    "input_features": [{"name": "n1", "type": "number"}, {"name": "n2", "type": "number"},
                       {"name": "c", "type": "category"}],
    "trainer": {"epochs": 3, "batch_size": 32}})");
  config["output_features"] = json::parse(GetParam().outputs);
  testing::ScratchDir dir("tristage_loss_parity");
  data::Table table;
  std::unique_ptr<Model> model = TrainSynthesized(config, 400, dir.path(), &table);
  ASSERT_NE(model, nullptr);
  ExpectExportPredictsLikeTheEngine(*model, table, dir.path());
}

const LossCase kCases[] = {
    // classes - 1 ordinal logits; predictions and per-class probabilities from the cumulative
    // probabilities, in the predictor's head.
    {"CategoryCorn", R"([{"name": "y", "type": "category", "loss": {"type": "corn"}}])"},
    // 4 synthesized classes and <UNK>: a 5 x 5 matrix.
    {"CategorySoftTargets",
     R"([{"name": "y", "type": "category",
          "loss": {"class_similarities_temperature": 1,
                   "class_similarities": [[1, 0, 0, 0, 0], [0, 1, 0.5, 0, 0], [0, 0.5, 1, 0.5, 0],
                                          [0, 0, 0.5, 1, 0], [0, 0, 0, 0, 1]]}}])"},
    {"NumberPercentageErrors",
     R"([{"name": "z", "type": "number", "loss": {"type": "mean_absolute_percentage_error"}},
         {"name": "w", "type": "number",
          "loss": {"type": "root_mean_squared_percentage_error"}}])"},
};

INSTANTIATE_TEST_SUITE_P(Losses, LossParityTest, ::testing::ValuesIn(kCases),
                         [](const ::testing::TestParamInfo<LossCase>& info) {
                           return std::string(info.param.name);
                         });

}  // namespace
}  // namespace tristage::exporting
