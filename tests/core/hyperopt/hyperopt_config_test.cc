// The hyperopt section resolved against its model config, and the per-trial configs.
#include "core/hyperopt/hyperopt_config.h"

#include <string>

#include "absl/strings/match.h"
#include "gtest/gtest.h"

namespace tristage::hyperopt {
namespace {

using nlohmann::json;

json Config(const char* hyperopt) {
  json config = json::parse(R"({
    "input_features": [{"name": "title", "type": "text", "encoder": "rnn"},
                       {"name": "x", "type": "number"}],
    "output_features": [{"name": "label", "type": "category"}]
  })");
  config["hyperopt"] = json::parse(hyperopt);
  return config;
}

TEST(HyperoptConfigTest, LudwigsDefaultsAreFilledIn) {
  auto settings =
      ResolveHyperopt(Config(R"({"parameters": {"trainer.learning_rate": {"space": "loguniform",
                                                         "lower": 0.0001, "upper": 0.1}}})"),
                      /*cores=*/2);
  ASSERT_TRUE(settings.ok()) << settings.status();
  EXPECT_FALSE(settings->maximize);
  EXPECT_EQ(settings->metric, "loss");
  EXPECT_EQ(settings->split, "validation");
  EXPECT_EQ(settings->output_feature, "combined");
  EXPECT_EQ(settings->num_samples, 10);
  EXPECT_EQ(settings->max_concurrent_trials, 2);  // auto: cores / cpu_resources_per_trial
  EXPECT_EQ(settings->time_budget_s, 3600);
  EXPECT_EQ(settings->resolved["search_alg"], (json{{"type", "variant_generator"}}));
  EXPECT_EQ(settings->resolved["scheduler"], (json{{"type", "fifo"}}));
  EXPECT_EQ(settings->resolved["executor"]["type"], "ray");
  EXPECT_EQ(settings->resolved["executor"]["max_concurrent_trials"], "auto");
}

TEST(HyperoptConfigTest, GridSearchDefaultsToOneSampleAndAutoConcurrencyFollowsCpus) {
  auto settings = ResolveHyperopt(
      Config(R"({"goal": "maximize", "metric": "accuracy", "output_feature": "label",
                 "executor": {"cpu_resources_per_trial": 2},
                 "parameters": {"x.encoder.type": {"space": "grid_search",
                                                   "values": ["passthrough", "dense"]}}})"),
      /*cores=*/8);
  ASSERT_TRUE(settings.ok()) << settings.status();
  EXPECT_TRUE(settings->maximize);
  EXPECT_EQ(settings->num_samples, 1);
  EXPECT_EQ(settings->max_concurrent_trials, 4);
}

TEST(HyperoptConfigTest, TrialConfigWritesIntoFeaturesAndSectionsAndWatchesTheMetric) {
  auto settings = ResolveHyperopt(Config(R"({"metric": "accuracy", "output_feature": "label",
                 "parameters": {"title.encoder.cell_type": {"space": "choice",
                                                            "categories": ["gru", "lstm"]}}})"),
                                  2);
  ASSERT_TRUE(settings.ok()) << settings.status();
  const json user = Config("{}");
  auto trial = TrialConfig(user, *settings,
                           json{{"title.encoder.cell_type", "gru"},
                                {"trainer.learning_rate", 0.01},
                                {"combiner", {{"num_fc_layers", 2}}},
                                {"defaults.number.preprocessing.normalization", "minmax"}});
  ASSERT_TRUE(trial.ok()) << trial.status();
  EXPECT_FALSE(trial->contains("hyperopt"));
  // The encoder shorthand `rnn` became an object that keeps its type.
  EXPECT_EQ((*trial)["input_features"][0]["encoder"],
            (json{{"type", "rnn"}, {"cell_type", "gru"}}));
  EXPECT_EQ((*trial)["trainer"]["learning_rate"], 0.01);
  EXPECT_EQ((*trial)["trainer"]["validation_field"], "label");
  EXPECT_EQ((*trial)["trainer"]["validation_metric"], "accuracy");
  EXPECT_EQ((*trial)["combiner"]["num_fc_layers"], 2);
  EXPECT_EQ((*trial)["defaults"]["number"]["preprocessing"]["normalization"], "minmax");
  EXPECT_EQ(user["input_features"][0]["encoder"], "rnn");  // the user's config is untouched
}

TEST(HyperoptConfigTest, ErrorsNameTheKey) {
  struct Case {
    const char* hyperopt;
    const char* message;
  };
  const Case cases[] = {
      {R"("grid")", "hyperopt: expected an object, got \"grid\""},
      {R"({})", "hyperopt.parameters: missing: nothing to search"},
      {R"({"split": "valid", "parameters": {"x.encoder.type": {"space": "choice",
                                                               "categories": ["dense"]}}})",
       "hyperopt.split: unknown value 'valid' (known: training, validation, test)"},
      {R"({"metric": "accuracy", "parameters": {"x.encoder.type": {"space": "choice",
                                                                   "categories": ["dense"]}}})",
       "hyperopt.metric: unknown metric 'accuracy' for the combined output (known: loss)"},
      {R"({"executor": {"max_concurrent_trials": 0}, "parameters": {"x.encoder.type":
            {"space": "choice", "categories": ["dense"]}}})",
       "hyperopt.executor.max_concurrent_trials: expected 'auto' or an integer >= 1, got 0"},
      {R"({"parameters": {"x.encoder.size": {"space": "choice", "categories": [3]}}})",
       "hyperopt.parameters.x.encoder.size: not a config key: "},
  };
  for (const Case& c : cases) {
    json config = Config("{}");
    config["hyperopt"] = json::parse(c.hyperopt);
    auto settings = ResolveHyperopt(config, 2);
    EXPECT_EQ(settings.status().code(), absl::StatusCode::kInvalidArgument) << c.hyperopt;
    EXPECT_TRUE(absl::StartsWith(settings.status().message(), c.message)) << c.hyperopt << "\n"
                                                                          << settings.status();
  }
}

}  // namespace
}  // namespace tristage::hyperopt
