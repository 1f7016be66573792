// Each combiner learns: trained a few epochs on a small separable data set, its test accuracy is
// clearly above chance. And tabnet's sparsity loss reaches train_forward, not the predictor.
#include <cmath>
#include <fstream>
#include <random>

#include "absl/strings/str_cat.h"
#include "core/api/model.h"
#include "core/config/config.h"
#include "core/model/ecd.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/testing/scratch_dir.h"

namespace tristage::model {
namespace {

using nlohmann::json;

// y = [a + b + effect(c) > 0] for numbers a, b ~ N(0, 1) and a category c whose four values move
// the sum by +-1; d and the three-word text t are noise. Linear in the encodings, so every combiner
// can separate it (t is an input only where a sequence combiner needs it).
std::string WriteSeparableCsv(const std::filesystem::path& dir, int rows) {
  std::mt19937 rng(11);
  std::normal_distribution<double> normal(0, 1);
  std::uniform_int_distribution<int> pick(0, 3);
  std::uniform_int_distribution<int> word(0, 5);
  const char* categories[] = {"up", "high", "down", "low"};
  const char* words[] = {"red", "green", "blue", "cyan", "pink", "gray"};
  const std::string path = (dir / "separable.csv").string();
  std::ofstream out(path);
  out << "a,b,c,d,t,y\n";
  for (int i = 0; i < rows; ++i) {
    const double a = normal(rng), b = normal(rng), d = normal(rng);
    const int c = pick(rng);
    const double sum = a + b + (c < 2 ? 1.0 : -1.0);
    out << a << "," << b << "," << categories[c] << "," << d << "," << words[word(rng)] << " "
        << words[word(rng)] << " " << words[word(rng)] << "," << (sum > 0 ? "1" : "0") << "\n";
  }
  return path;
}

json ConfigWith(const std::string& combiner, const char* text_encoder = nullptr) {
  json config = json::parse(R"({
    "input_features": [{"name": "a", "type": "number"}, {"name": "b", "type": "number"},
                       {"name": "c", "type": "category"}, {"name": "d", "type": "number"}],
    "output_features": [{"name": "y", "type": "binary"}],
    "trainer": {"epochs": 12, "batch_size": 32, "learning_rate": 0.003}})");
  config["combiner"] = json::parse(combiner);
  if (text_encoder != nullptr) {
    config["input_features"].push_back(
        {{"name", "t"}, {"type", "text"}, {"encoder", json::parse(text_encoder)}});
  }
  return config;
}

struct LearnCase {
  const char* name;
  const char* combiner;
  const char* text_encoder = nullptr;  // adds the text input t with this encoder
  const char* reduce_input = nullptr;  // the output's reduce_input, when not the default
};

class CombinerLearnsTest : public ::testing::TestWithParam<LearnCase> {};

TEST_P(CombinerLearnsTest, TestAccuracyIsClearlyAboveChance) {
  testing::ScratchDir dir("tristage_combiner_learns");
  const std::string data = WriteSeparableCsv(dir.path(), 1200);
  json config = ConfigWith(GetParam().combiner, GetParam().text_encoder);
  if (GetParam().reduce_input != nullptr) {
    config["output_features"][0]["reduce_input"] = GetParam().reduce_input;
  }
  auto model = Model::FromConfig(config);
  ASSERT_TRUE(model.ok()) << model.status();
  TrainOptions options;
  options.data.dataset = data;
  options.output_directory = (dir.path() / "results").string();
  options.skip_save_processed_input = true;
  options.skip_save_progress = true;
  auto results = (*model)->Experiment(options, ExperimentOptions{});
  ASSERT_TRUE(results.ok()) << results.status();
  const double accuracy = results->evaluation.test_statistics.at("y").at("accuracy");
  // Classes are balanced (about half the rows are positive); the rule is exact, so 0.85 is far
  // above chance while leaving room for a few epochs of training.
  EXPECT_GT(accuracy, 0.85) << GetParam().name;
  RecordProperty("test_accuracy", absl::StrCat(accuracy));
  std::cout << GetParam().name << " test accuracy " << accuracy << "\n";
}

const LearnCase kLearnCases[] = {
    {"TabNet", R"({"type": "tabnet"})"},
    {"TabNetEntmax15", R"({"type": "tabnet", "entmax_mode": "entmax15", "bn_virtual_bs": 16})"},
    {"Transformer", R"({"type": "transformer", "hidden_size": 32, "num_heads": 4,
                       "transformer_output_size": 32, "num_fc_layers": 1, "output_size": 32})"},
    {"TabTransformer", R"({"type": "tabtransformer", "hidden_size": 32, "num_heads": 4,
                          "transformer_output_size": 32, "num_fc_layers": 1,
                          "output_size": 32})"},
    {"Comparator", R"({"type": "comparator", "entity_1": ["a", "c"], "entity_2": ["b", "d"],
                      "output_size": 32})"},
    {"ProjectAggregate", R"({"type": "project_aggregate"})"},
    {"SequenceConcatMean", R"({"type": "sequence_concat", "reduce_output": "mean"})",
     R"({"type": "embed", "embedding_size": 8, "reduce_output": null})"},
    {"SequenceConcatUnreducedThenReduceInputMax", R"({"type": "sequence_concat"})",
     R"({"type": "embed", "embedding_size": 8, "reduce_output": null})", "max"},
};

std::string CaseName(const ::testing::TestParamInfo<LearnCase>& info) {
  return info.param.name;
}

INSTANTIATE_TEST_SUITE_P(Combiners, CombinerLearnsTest, ::testing::ValuesIn(kLearnCases), CaseName);

// Inputs for BuildEcd without training: numbers need no metadata.
c10::Dict<std::string, torch::Tensor> NumberInputs(int64_t rows) {
  c10::Dict<std::string, torch::Tensor> inputs;
  torch::manual_seed(1);
  for (const char* name : {"a", "b", "d"}) inputs.insert(name, torch::randn({rows}));
  return inputs;
}

// `passthrough`: each number reaches the combiner as one column (else a 256-wide dense encoding).
torch::jit::Module BuildNumbersOnly(const std::string& combiner, bool passthrough = false) {
  json config = ConfigWith(combiner);
  config["input_features"].erase(2);  // c, the category
  if (passthrough) {
    for (json& feature : config["input_features"]) feature["encoder"] = {{"type", "passthrough"}};
  }
  auto resolved = config::ResolveConfig(config);
  EXPECT_TRUE(resolved.ok()) << resolved.status();
  auto ecd = BuildEcd(*resolved, json::object());
  EXPECT_TRUE(ecd.ok()) << ecd.status();
  return *ecd;
}

TEST(TabNetCombinerTest, SparsityLossIsTrainForwardsAuxLossScaledBySparsity) {
  torch::jit::Module small = BuildNumbersOnly(R"({"type": "tabnet", "sparsity": 0.001})", true);
  small.train(true);
  auto out = small.get_method("train_forward")({NumberInputs(64)}).toGenericDict();
  ASSERT_TRUE(out.contains(kAuxLossKey));
  const double loss = out.at(kAuxLossKey).toTensor().item<double>();
  // The mean entropy of attention masks (sparsemax: they sum to 1) over 3 columns is in [0, log 3].
  EXPECT_GE(loss, 0.0);
  EXPECT_LE(loss, 0.001 * std::log(3.0) + 1e-9);
  EXPECT_TRUE(out.at(kAuxLossKey).toTensor().requires_grad());
  // The predictor's outputs are the features' only.
  small.eval();
  auto predicted = small.forward({NumberInputs(4)}).toGenericDict();
  EXPECT_FALSE(predicted.contains(kAuxLossKey));
  EXPECT_TRUE(predicted.contains(OutputKey("y", "predictions")));
}

TEST(TabNetCombinerTest, WithoutSparsityThereIsNoAuxLoss) {
  torch::jit::Module model = BuildNumbersOnly(R"({"type": "tabnet", "sparsity": 0})");
  auto out = model.get_method("train_forward")({NumberInputs(8)}).toGenericDict();
  EXPECT_FALSE(out.contains(kAuxLossKey));
}

// A batch of one row in training mode normalizes with the running statistics, as Ludwig's
// GhostBatchNormalization does, instead of failing.
TEST(TabNetCombinerTest, TrainsOnABatchOfOneRow) {
  torch::jit::Module model = BuildNumbersOnly(R"({"type": "tabnet"})");
  model.train(true);
  auto out = model.get_method("train_forward")({NumberInputs(1)}).toGenericDict();
  EXPECT_TRUE(torch::isfinite(out.at(OutputKey("y", "logits")).toTensor()).all().item<bool>());
}

// The attentive transformer's map: sparsemax projects onto the simplex (known values), entmax15
// gives a distribution that is sparse too.
TEST(TabNetCombinerTest, SparseAttentionMapsAreDistributions) {
  const torch::Tensor z = torch::tensor({{1.0f, 0.5f, -1.0f}, {0.0f, 0.0f, 0.0f}});
  torch::jit::Module sparsemax = BuildNumbersOnly(R"({"type": "tabnet"})", true);
  const torch::Tensor p =
      sparsemax.attr("combiner").toModule().get_method("attend")({z}).toTensor();
  EXPECT_TRUE(
      torch::allclose(p, torch::tensor({{0.75f, 0.25f, 0.0f}, {1.0f / 3, 1.0f / 3, 1.0f / 3}})))
      << p;
  torch::jit::Module entmax =
      BuildNumbersOnly(R"({"type": "tabnet", "entmax_mode": "entmax15"})", true);
  const torch::Tensor q = entmax.attr("combiner").toModule().get_method("attend")({z}).toTensor();
  EXPECT_TRUE(torch::allclose(q.sum(1), torch::ones({2}))) << q;
  EXPECT_TRUE((q >= 0).all().item<bool>()) << q;
  EXPECT_EQ(q[0][2].item<float>(), 0.0f) << q;  // far below the others: outside the support
  EXPECT_GT(q[0][0].item<float>(), q[0][1].item<float>()) << q;
}

// Without category inputs tabtransformer attends over nothing: the layer-normalized numbers alone
// reach the fc stack, as in Ludwig.
TEST(TransformerCombinerTest, TabTransformerWithNumbersOnlyUsesTheNumericPart) {
  torch::jit::Module model = BuildNumbersOnly(
      R"({"type": "tabtransformer", "hidden_size": 8, "num_heads": 2, "num_fc_layers": 1,
          "output_size": 4})",
      true);
  model.eval();
  auto out = model.forward({NumberInputs(6)}).toGenericDict();
  EXPECT_EQ(out.at(OutputKey("y", "logits")).toTensor().size(0), 6);
  EXPECT_FALSE(model.attr("combiner").toModule().hasattr("tr_0_q_w"));
}

TEST(TransformerCombinerTest, EveryReductionBuildsAndRuns) {
  for (const char* how : {"sum", "mean", "avg", "max", "concat", "last", "attention"}) {
    torch::jit::Module model =
        BuildNumbersOnly(absl::StrCat(R"({"type": "transformer", "hidden_size": 8, "num_heads": 2,
                         "reduce_output": ")",
                                      how, "\"}"));
    model.eval();
    auto out = model.forward({NumberInputs(5)}).toGenericDict();
    EXPECT_EQ(out.at(OutputKey("y", "logits")).toTensor().size(0), 5) << how;
  }
}

}  // namespace
}  // namespace tristage::model

namespace tristage::model {
namespace {

// tabnet's `sparsity` acts in training: the trainer adds train_forward's combiner::aux_loss, so
// the same run with a large sparsity weight reaches other weights and a sparser training loss
// cannot be told apart from the unregularized one without it.
TEST(TabNetCombinerTest, SparsityChangesWhatTrainingReaches) {
  ::tristage::testing::ScratchDir dir("tristage_tabnet_sparsity");
  const std::string data = WriteSeparableCsv(dir.path(), 300);
  std::vector<torch::Tensor> weights;
  for (const char* sparsity : {"0.0", "1.0"}) {
    json config = ConfigWith(absl::StrCat(R"({"type": "tabnet", "sparsity": )", sparsity, "}"));
    config["trainer"]["epochs"] = 2;
    auto model = Model::FromConfig(config);
    ASSERT_TRUE(model.ok()) << model.status();
    TrainOptions options;
    options.data.dataset = data;
    options.output_directory = (dir.path() / absl::StrCat("s", sparsity)).string();
    options.skip_save_processed_input = true;
    options.skip_save_progress = true;
    auto results = (*model)->Train(options);
    ASSERT_TRUE(results.ok()) << results.status();
    torch::jit::Module saved = torch::jit::load(
        (std::filesystem::path(results->model_directory) / "model_weights.pt").string());
    std::vector<torch::Tensor> values;
    for (const auto& p : saved.named_parameters()) values.push_back(p.value.flatten());
    weights.push_back(torch::cat(values));
  }
  ASSERT_EQ(weights[0].numel(), weights[1].numel());
  EXPECT_GT((weights[0] - weights[1]).abs().max().item<double>(), 1e-6);
}

}  // namespace
}  // namespace tristage::model
