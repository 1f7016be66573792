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
  const char* combiner;  // the config's combiner section, JSON
};

class CombinerParityTest : public ::testing::TestWithParam<CombinerCase> {};

// Inputs of every kind a combiner meets: numbers, a category, a set and a text.
json ConfigWith(const std::string& combiner) {
  json config = json::parse(R"({
    "input_features": [
      {"name": "n1", "type": "number"}, {"name": "n2", "type": "number"},
      {"name": "c", "type": "category"}, {"name": "s", "type": "set"},
      {"name": "t", "type": "text"}],
    "output_features": [{"name": "y", "type": "category"}, {"name": "z", "type": "number"}],
    "trainer": {"epochs": 2, "batch_size": 32}})");
  config["combiner"] = json::parse(combiner);
  return config;
}

TEST_P(CombinerParityTest, ExportedStagesPredictLikeTheEngine) {
  testing::ScratchDir dir("tristage_combiner_parity");
  data::Table table;
  std::unique_ptr<Model> model = TrainSynthesized(ConfigWith(GetParam().combiner), 600, dir.path(),
                                                  &table);
  ASSERT_NE(model, nullptr);
  ExpectExportPredictsLikeTheEngine(*model, table, dir.path());
}

const CombinerCase kCases[] = {
    {"ConcatWithLayersNormAndResidual",
     R"({"type": "concat", "num_fc_layers": 2, "output_size": 16, "norm": "batch",
         "residual": true, "dropout": 0.1})"},
};

std::string CaseName(const ::testing::TestParamInfo<CombinerCase>& param_info) {
  return param_info.param.name;
}

INSTANTIATE_TEST_SUITE_P(Combiners, CombinerParityTest, ::testing::ValuesIn(kCases), CaseName);

}  // namespace
}  // namespace tristage::exporting
