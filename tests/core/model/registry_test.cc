// The config schema (what users may write) and the model registry (what the engine can build)
// must name the same components, so adding an encoder, combiner or decoder to one without the
// other fails here rather than at a user's first training run.
#include "core/model/registry.h"

#include <algorithm>

#include "core/config/config.h"
#include "core/features/feature.h"
#include "gtest/gtest.h"

namespace tristage::model {
namespace {

std::vector<std::string> Sorted(std::vector<std::string> names) {
  std::sort(names.begin(), names.end());
  return names;
}

TEST(RegistryTest, EveryInputTypeHasTheEncodersTheSchemaOffers) {
  for (const std::string& type : config::InputFeatureTypes()) {
    EXPECT_EQ(Sorted(config::EncodersFor(type)), Sorted(RegisteredEncoders(type))) << type;
    EXPECT_NE(features::FindFeatureType(type), nullptr) << type;
  }
}

TEST(RegistryTest, EveryOutputTypeHasTheDecodersTheSchemaOffers) {
  for (const std::string& type : config::OutputFeatureTypes()) {
    EXPECT_EQ(Sorted(config::DecodersFor(type)), Sorted(RegisteredDecoders(type))) << type;
    const features::FeatureType* feature = features::FindFeatureType(type);
    ASSERT_NE(feature, nullptr) << type;
    EXPECT_TRUE(feature->can_be_output()) << type;
  }
}

TEST(RegistryTest, EveryCombinerTheSchemaOffersIsRegistered) {
  EXPECT_EQ(config::CombinerTypes(), Sorted(RegisteredCombiners()));
  EXPECT_EQ(RegisteredCombiners(),
            (std::vector<std::string>{"comparator", "concat", "project_aggregate", "sequence",
                                      "sequence_concat", "tabnet", "tabtransformer",
                                      "transformer"}));
}

TEST(RegistryTest, UnknownComponentsAreNotFoundListingTheKnownOnes) {
  auto encoder = FindEncoder("sequence", "bert");
  ASSERT_FALSE(encoder.ok());
  EXPECT_EQ(encoder.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(encoder.status().message(),
            "no encoder 'bert' for sequence (known: cnnrnn, embed, parallel_cnn, passthrough, rnn, "
            "stacked_cnn, stacked_parallel_cnn, tf_idf, transformer)");
  EXPECT_FALSE(FindDecoder("number", "classifier").ok());
  EXPECT_FALSE(FindCombiner("perceiver").ok());
}

}  // namespace
}  // namespace tristage::model
