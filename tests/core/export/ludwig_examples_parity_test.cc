// Configs from Ludwig's own examples and documentation, written down unchanged: each resolves,
// trains on synthesized rows, and exports stages that predict like the engine. Sources (Ludwig's
// repository, examples/):
//   titanic/model2_config.yaml          tabular, Ludwig's old layout (fc_layers on the output)
//   getting_started/rotten_tomatoes.yaml text with set, category, binary and number inputs
//   class_imbalance/balanced_model_config.yaml  oversample_minority, exponential decay
//   multi_task/config_no_balancing.yaml  two outputs (its `trainer.loss_balancing: none`, added
//                                        after Ludwig 0.8, left out: tristage follows 0.8)
#include <string>

#include "core/config/config.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/core/export/parity.h"
#include "tests/testing/scratch_dir.h"

namespace tristage::exporting {
namespace {

struct LudwigExample {
  const char* name;
  const char* yaml;
};

class LudwigExampleTest : public ::testing::TestWithParam<LudwigExample> {};

TEST_P(LudwigExampleTest, ResolvesTrainsAndExportsUnchanged) {
  testing::ScratchDir dir("tristage_ludwig_example");
  auto config = config::ParseConfigText(GetParam().yaml);
  ASSERT_TRUE(config.ok()) << config.status();
  data::Table table;
  std::unique_ptr<Model> model = TrainSynthesized(*config, 240, dir.path(), &table);
  ASSERT_NE(model, nullptr);
  ExpectExportPredictsLikeTheEngine(*model, table, dir.path());
}

const LudwigExample kExamples[] = {
    {"TitanicModel2", R"(
input_features:
  - name: Pclass
    type: category
  - name: Sex
    type: category
  - name: Age
    type: number
    preprocessing:
      missing_value_strategy: fill_with_mean
      normalization: zscore
  - name: SibSp
    type: number
    preprocessing:
      missing_value_strategy: fill_with_mean
      normalization: zscore
  - name: Parch
    type: number
    preprocessing:
      missing_value_strategy: fill_with_mean
      normalization: zscore
  - name: Fare
    type: number
    preprocessing:
      missing_value_strategy: fill_with_mean
      normalization: zscore
  - name: Embarked
    type: category

output_features:
  - name: Survived
    type: binary
    fc_layers: [{ output_size: 50 }]
)"},
    {"RottenTomatoes", R"(
input_features:
  - name: genres
    type: set
    preprocessing:
      tokenizer: comma
  - name: content_rating
    type: category
  - name: top_critic
    type: binary
  - name: runtime
    type: number
  - name: review_content
    type: text
    encoder:
      type: embed
output_features:
  - name: recommended
    type: binary
trainer:
  epochs: 3
)"},
    {"ClassImbalanceBalanced", R"(
input_features:
  - name: Gender
    type: category
  - name: Age
    type: number
  - name: Driving_License
    type: binary
  - name: Region_Code
    type: number
  - name: Previously_Insured
    type: binary
  - name: Vehicle_Age
    type: category
  - name: Vehicle_Damage
    type: category
  - name: Annual_Premium
    type: number
  - name: Policy_Sales_Channel
    type: number
  - name: Vintage
    type: number
output_features:
  - name: Response
    type: binary
preprocessing:
  oversample_minority: 0.26
trainer:
  learning_rate: 0.0001
  learning_rate_scheduler:
    decay: exponential
    decay_rate: 0.9
    decay_steps: 30000
    staircase: True
  epochs: 50
)"},
    {"MultiTaskWine", R"(
model_type: ecd

input_features:
  - name: fixed_acidity
    type: number
    preprocessing:
      normalization: zscore
  - name: volatile_acidity
    type: number
    preprocessing:
      normalization: zscore
  - name: citric_acid
    type: number
    preprocessing:
      normalization: zscore
  - name: residual_sugar
    type: number
    preprocessing:
      normalization: zscore
  - name: chlorides
    type: number
    preprocessing:
      normalization: zscore
  - name: free_sulfur_dioxide
    type: number
    preprocessing:
      normalization: zscore
  - name: total_sulfur_dioxide
    type: number
    preprocessing:
      normalization: zscore
  - name: density
    type: number
    preprocessing:
      normalization: zscore
  - name: pH
    type: number
    preprocessing:
      normalization: zscore
  - name: sulphates
    type: number
    preprocessing:
      normalization: zscore
  - name: alcohol
    type: number
    preprocessing:
      normalization: zscore

output_features:
  - name: quality_score
    type: number
  - name: quality_binary
    type: binary

combiner:
  type: concat
  num_fc_layers: 2
  output_size: 128
  dropout: 0.1

trainer:
  epochs: 30
  learning_rate: 0.001
  batch_size: 128
)"},
};

std::string CaseName(const ::testing::TestParamInfo<LudwigExample>& param_info) {
  return param_info.param.name;
}

INSTANTIATE_TEST_SUITE_P(LudwigExamples, LudwigExampleTest, ::testing::ValuesIn(kExamples),
                         CaseName);

}  // namespace
}  // namespace tristage::exporting
