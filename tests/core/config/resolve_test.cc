#include <iostream>
#include "core/config/config.h"
#include "gtest/gtest.h"
namespace tristage::config {
TEST(Scratch, Print) {
  auto parsed = ParseConfigText(R"(
input_features:
  - {name: t, type: text, encoder: rnn}
  - {name: c, type: category}
output_features:
  - {name: y, type: binary}
  - {name: v, type: vector}
hyperopt: {parameters: {trainer.learning_rate: {space: loguniform, lower: 1e-5, upper: 0.1}}}
)");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  auto resolved = ResolveConfig(*parsed);
  ASSERT_TRUE(resolved.ok()) << resolved.status();
  std::cout << RenderConfigYaml(*resolved);
  auto again = ParseConfigText(RenderConfigYaml(*resolved));
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(*again, *resolved);
  auto twice = ResolveConfig(*resolved);
  ASSERT_TRUE(twice.ok()) << twice.status();
  EXPECT_EQ(*twice, *resolved);
}
}
