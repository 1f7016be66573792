// RenderConfigYaml and RenderConfigJson.
#include <cmath>
#include <string>

#include "core/config/config.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/core/config/config_test_util.h"

namespace tristage::config {
namespace {

using testing::Resolve;
using Json = nlohmann::json;

Json RoundTrip(const Json& value) {
  const std::string yaml = RenderConfigYaml(value);
  absl::StatusOr<Json> parsed = ParseConfigText(yaml);
  EXPECT_TRUE(parsed.ok()) << parsed.status() << "\n" << yaml;
  return parsed.ok() ? *parsed : Json();
}

class RenderRoundTripTest : public ::testing::TestWithParam<std::string> {};

TEST_P(RenderRoundTripTest, ParsingTheRenderedYamlGivesTheResolvedConfig) {
  absl::StatusOr<Json> loaded = LoadConfigFile(std::string(TESTDATA_DIR "/") + GetParam());
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  absl::StatusOr<Json> resolved = ResolveConfig(*loaded);
  ASSERT_TRUE(resolved.ok()) << resolved.status();
  EXPECT_EQ(RoundTrip(*resolved), *resolved);
}

TEST_P(RenderRoundTripTest, ParsingTheRenderedJsonGivesTheResolvedConfig) {
  absl::StatusOr<Json> loaded = LoadConfigFile(std::string(TESTDATA_DIR "/") + GetParam());
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  absl::StatusOr<Json> resolved = ResolveConfig(*loaded);
  ASSERT_TRUE(resolved.ok()) << resolved.status();
  absl::StatusOr<Json> parsed = ParseConfigText(RenderConfigJson(*resolved));
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(*parsed, *resolved);
  EXPECT_EQ(Json::parse(RenderConfigJson(*resolved)), *resolved);
}

INSTANTIATE_TEST_SUITE_P(Examples, RenderRoundTripTest,
                         ::testing::Values("titanic.yaml", "text_classification.yaml",
                                           "every_type.yaml"));

TEST(RenderConfigYamlTest, MinimalConfigRoundTrips) {
  const Json config = Resolve(testing::WithFeatures("text", "set"));
  EXPECT_EQ(RoundTrip(config), config);
}

TEST(RenderConfigYamlTest, StringsYamlWouldRetypeAreQuoted) {
  for (const char* text :
       {"true",        "False",     "null",        "~",        "",           "1",       "-2",
        "0.5",         "1e-3",      ".inf",        "0x10",     "yes",        "No",      "on",
        "y",           "<<",        " lead",       "trail ",   "a: b",       "a #b",    "#c",
        "- x",         "[x]",       "{x}",         "x, y",     "*star",      "&anchor", "!tag",
        "%p",          "@at",       "`tick",       "'single'", "\"double\"", "|",       ">",
        "line\nbreak", "tab\there", "caf\xc3\xa9", "2nd",      "1_000",      "12:30"}) {
    const Json value = {{"key", text}};
    EXPECT_EQ(RoundTrip(value), value) << "'" << text << "' rendered as\n"
                                       << RenderConfigYaml(value);
  }
}

TEST(RenderConfigYamlTest, PlainStringsStayPlain) {
  const std::string yaml = RenderConfigYaml(
      {{"a", "<UNK>"}, {"b", "xavier_uniform"}, {"c", "two words"}, {"d", "trainer.epochs"}});
  EXPECT_EQ(yaml, "a: <UNK>\nb: xavier_uniform\nc: two words\nd: trainer.epochs\n");
}

TEST(RenderConfigYamlTest, QuotesWhatPyYamlWouldRead11Style) {
  EXPECT_EQ(RenderConfigYaml({{"name", "y"}}), "name: \"y\"\n");
  EXPECT_EQ(RenderConfigYaml({{"name", "off"}}), "name: \"off\"\n");
}

TEST(RenderConfigYamlTest, KeysAreQuotedLikeValues) {
  const Json value = {{"1", 1}, {"true", true}, {"a b", nullptr}, {"", "empty"}};
  EXPECT_EQ(RoundTrip(value), value);
}

TEST(RenderConfigYamlTest, NumbersKeepTheirType) {
  const Json value = {
      {"float", 1.0},   {"small", 1e-8}, {"int", 3},        {"neg", -0.25},
      {"big", 1.5e300}, {"zero", 0.0},   {"inf", HUGE_VAL}, {"uint", 18446744073709551615ull}};
  const Json back = RoundTrip(value);
  EXPECT_EQ(back, value);
  EXPECT_TRUE(back["float"].is_number_float());
  EXPECT_TRUE(back["zero"].is_number_float());
  EXPECT_TRUE(back["int"].is_number_integer());
  EXPECT_EQ(RenderConfigYaml({{"x", 1.0}}), "x: 1.0\n");
}

TEST(RenderConfigYamlTest, ContainersRoundTrip) {
  const Json value = Json::parse(R"({
      "empty_list": [], "empty_object": {}, "flat": [1, "a", null, true],
      "nested": [[1, 2], [], [{"a": 1}], {"b": [3]}],
      "objects": [{"name": "x", "type": "number", "z": {}}]})");
  EXPECT_EQ(RoundTrip(value), value);
}

TEST(RenderConfigYamlTest, NonObjectRootsRender) {
  EXPECT_EQ(RoundTrip(Json::array({1, 2})), Json::array({1, 2}));
  EXPECT_EQ(RoundTrip(Json("text")), Json("text"));
  EXPECT_EQ(RenderConfigYaml(Json::object()), "{}\n");
}

TEST(RenderConfigYamlTest, BlockStyleWithListsOfObjects) {
  const std::string yaml = RenderConfigYaml(Json::parse(R"({
      "input_features": [{"type": "number", "name": "x", "encoder": {"type": "dense"}}],
      "trainer": {"optimizer": {"betas": [0.9, 0.999], "type": "adam"}}})"));
  EXPECT_EQ(yaml,
            "input_features:\n"
            "  - name: x\n"
            "    type: number\n"
            "    encoder:\n"
            "      type: dense\n"
            "trainer:\n"
            "  optimizer:\n"
            "    type: adam\n"
            "    betas: [0.9, 0.999]\n");
}

TEST(RenderConfigYamlTest, SectionsComeInCanonicalOrder) {
  const std::string yaml = RenderConfigYaml(
      Resolve(testing::WithFeatures("number", "binary", "hyperopt: {goal: minimize}")));
  size_t last = 0;
  for (const char* section :
       {"model_type:", "\ninput_features:", "\noutput_features:", "\ncombiner:", "\ntrainer:",
        "\npreprocessing:", "\ndefaults:", "\nhyperopt:"}) {
    const size_t at = yaml.find(section);
    ASSERT_NE(at, std::string::npos) << section;
    EXPECT_GE(at, last) << section;
    last = at;
  }
}

TEST(RenderConfigJsonTest, IndentsTwoAndKeepsCanonicalOrder) {
  const std::string json =
      RenderConfigJson(Json::parse(R"({"trainer": {"epochs": 1}, "model_type": "ecd"})"));
  EXPECT_EQ(json, "{\n  \"model_type\": \"ecd\",\n  \"trainer\": {\n    \"epochs\": 1\n  }\n}\n");
}

}  // namespace
}  // namespace tristage::config
