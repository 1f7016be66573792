// ParseConfigText and LoadConfigFile: YAML/JSON text to typed JSON.
#include <cmath>
#include <string>

#include "absl/status/status.h"
#include "core/config/config.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace tristage::config {
namespace {

using ::testing::HasSubstr;
using Json = nlohmann::json;

Json Parse(const std::string& text) {
  absl::StatusOr<Json> parsed = ParseConfigText(text);
  EXPECT_TRUE(parsed.ok()) << parsed.status();
  return parsed.ok() ? *parsed : Json();
}

std::string ParseError(const std::string& text) {
  absl::StatusOr<Json> parsed = ParseConfigText(text);
  EXPECT_FALSE(parsed.ok()) << "parsed: " << parsed->dump();
  if (parsed.ok()) return "";
  EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(parsed.status().message());
}

TEST(ParseConfigTextTest, PlainScalarsBecomeTypedValues) {
  const Json parsed = Parse(R"(
int: 42
negative: -7
hex: 0x1F
octal: 0o17
float: 0.5
exponent: 1e-3
no_leading_digit: .5
big_exponent: 2.5E+3
infinity: .inf
minus_infinity: -.inf
yes_bool: true
capital_bool: False
upper_bool: TRUE
tilde: ~
null_word: null
empty:
word: relu
)");
  EXPECT_EQ(parsed["int"], 42);
  EXPECT_TRUE(parsed["int"].is_number_integer());
  EXPECT_EQ(parsed["negative"], -7);
  EXPECT_EQ(parsed["hex"], 31);
  EXPECT_EQ(parsed["octal"], 15);
  EXPECT_TRUE(parsed["float"].is_number_float());
  EXPECT_DOUBLE_EQ(parsed["float"].get<double>(), 0.5);
  EXPECT_TRUE(parsed["exponent"].is_number_float());
  EXPECT_DOUBLE_EQ(parsed["exponent"].get<double>(), 0.001);
  EXPECT_DOUBLE_EQ(parsed["no_leading_digit"].get<double>(), 0.5);
  EXPECT_DOUBLE_EQ(parsed["big_exponent"].get<double>(), 2500.0);
  EXPECT_TRUE(std::isinf(parsed["infinity"].get<double>()));
  EXPECT_LT(parsed["minus_infinity"].get<double>(), 0);
  EXPECT_EQ(parsed["yes_bool"], true);
  EXPECT_EQ(parsed["capital_bool"], false);
  EXPECT_EQ(parsed["upper_bool"], true);
  EXPECT_TRUE(parsed["tilde"].is_null());
  EXPECT_TRUE(parsed["null_word"].is_null());
  EXPECT_TRUE(parsed["empty"].is_null());
  EXPECT_EQ(parsed["word"], "relu");
}

TEST(ParseConfigTextTest, NanParsesAsNan) {
  EXPECT_TRUE(std::isnan(Parse("x: .nan")["x"].get<double>()));
}

TEST(ParseConfigTextTest, QuotedAndBlockScalarsStayStrings) {
  const Json parsed = Parse(R"(
single: '1'
double: "true"
null_text: 'null'
empty_text: ""
tagged: !!str 5
block: |
  two
  lines
)");
  EXPECT_EQ(parsed["single"], "1");
  EXPECT_EQ(parsed["double"], "true");
  EXPECT_EQ(parsed["null_text"], "null");
  EXPECT_EQ(parsed["empty_text"], "");
  EXPECT_EQ(parsed["tagged"], "5");
  EXPECT_EQ(parsed["block"], "two\nlines\n");
}

TEST(ParseConfigTextTest, Yaml11BooleanWordsStayStrings) {
  // YAML 1.2: only true/false are booleans, so `lowercase: yes` becomes a clear type error later
  // instead of a silent true.
  const Json parsed = Parse("a: yes\nb: no\nc: on\nd: off\ne: y");
  EXPECT_EQ(parsed, Json({{"a", "yes"}, {"b", "no"}, {"c", "on"}, {"d", "off"}, {"e", "y"}}));
}

TEST(ParseConfigTextTest, NumberLikeStringsStayStrings) {
  const Json parsed = Parse("a: 1.2.3\nb: 1e\nc: '-'\nd: 0x\ne: 12abc\nf: 1_000");
  EXPECT_EQ(
      parsed,
      Json({{"a", "1.2.3"}, {"b", "1e"}, {"c", "-"}, {"d", "0x"}, {"e", "12abc"}, {"f", "1_000"}}));
}

TEST(ParseConfigTextTest, IntegersBeyond64BitsBecomeFloats) {
  const Json parsed = Parse("x: 123456789012345678901234567890");
  EXPECT_TRUE(parsed["x"].is_number_float());
  EXPECT_DOUBLE_EQ(parsed["x"].get<double>(), 1.2345678901234568e29);
}

TEST(ParseConfigTextTest, StandardTagsAreChecked) {
  EXPECT_EQ(Parse("x: !!int 7")["x"], 7);
  EXPECT_TRUE(Parse("x: !!float 7")["x"].is_number_float());
  EXPECT_EQ(ParseError("x: !!int seven"),
            "line 1, column 4: 'seven' is not a valid tag:yaml.org,2002:int");
  EXPECT_EQ(ParseError("x: !custom 3"), "line 1, column 4: unsupported tag '!custom'");
}

TEST(ParseConfigTextTest, ListsAndNestedMappings) {
  const Json parsed = Parse(R"(
input_features:
  - name: x
    type: number
  - {name: y, type: binary}
probabilities: [0.7, 0.1, 0.2]
)");
  EXPECT_EQ(parsed["input_features"][1], Json({{"name", "y"}, {"type", "binary"}}));
  EXPECT_EQ(parsed["probabilities"], Json::array({0.7, 0.1, 0.2}));
}

TEST(ParseConfigTextTest, JsonInputParses) {
  const Json parsed = Parse(
      "{\"input_features\":\t[{\"name\": \"x\", \"type\": \"number\", \"n\": 3}],\n"
      " \"flag\": true, \"none\": null, \"text\": \"1\", \"escaped\": \"a\\\"b\\u00e9\"}");
  EXPECT_EQ(parsed["input_features"][0]["n"], 3);
  EXPECT_EQ(parsed["flag"], true);
  EXPECT_TRUE(parsed["none"].is_null());
  EXPECT_EQ(parsed["text"], "1");
  EXPECT_EQ(parsed["escaped"], "a\"b\xc3\xa9");
}

TEST(ParseConfigTextTest, MergeKeysApplyWithExplicitKeysWinning) {
  const Json parsed = Parse(R"(
base: &base {epochs: 5, batch_size: 32}
trainer:
  <<: *base
  epochs: 10
)");
  EXPECT_EQ(parsed["trainer"], Json({{"epochs", 10}, {"batch_size", 32}}));
}

TEST(ParseConfigTextTest, AliasesExpand) {
  const Json parsed = Parse("a: &x [1, 2]\nb: *x");
  EXPECT_EQ(parsed["b"], Json::array({1, 2}));
}

TEST(ParseConfigTextTest, EmptyTextIsNull) {
  EXPECT_TRUE(Parse("").is_null());
  EXPECT_TRUE(Parse("# only a comment\n").is_null());
}

TEST(ParseConfigTextTest, SyntaxErrorNamesLineAndColumn) {
  EXPECT_EQ(ParseError("a: [1, 2\nb: 3\n"), "line 2, column 2: end of sequence flow not found");
}

TEST(ParseConfigTextTest, DuplicateKeyIsAnError) {
  EXPECT_EQ(ParseError("trainer:\n  epochs: 1\n  epochs: 2\n"),
            "line 3, column 3: duplicate key 'epochs'");
}

TEST(ParseConfigTextTest, MoreThanOneDocumentIsAnError) {
  EXPECT_THAT(ParseError("a: 1\n---\nb: 2\n"), HasSubstr("one YAML document"));
}

// Found by fuzz/config_fuzzer: yaml-cpp's LoadAll never returned on a ',' where a document starts.
TEST(ParseConfigTextTest, CommaWhereADocumentStartsIsAnErrorNotAHang) {
  EXPECT_EQ(ParseError(","), "line 1, column 1: unexpected ','");
  EXPECT_EQ(ParseError("# a config\n,\ntrainer: {}\n"), "line 2, column 1: unexpected ','");
}

// Found by fuzz/config_fuzzer: such bytes were kept and came back as U+FFFD from RenderConfig*.
TEST(ParseConfigTextTest, InvalidUtf8IsAnErrorNamingTheLine) {
  EXPECT_EQ(ParseError("trainer:\n  optimizer: \"ad\xefm\"\n"),
            "line 2, column 14: not valid UTF-8 (byte 3 of this value)");
  EXPECT_EQ(ParseError("trainer:\n  \xc0\xaf: 1\n"),  // an overlong '/' in a key
            "line 2, column 3: not valid UTF-8 (byte 1 of this value)");
  EXPECT_EQ(Parse("name: \"caf\xc3\xa9 \xf0\x9f\x98\x80\"")["name"], "caf\xc3\xa9 \xf0\x9f\x98\x80");
}

TEST(ParseConfigTextTest, BadMergeSourceIsAnError) {
  EXPECT_EQ(ParseError("a:\n  <<: 3\n"),
            "line 2, column 3: '<<' must merge a mapping or a list of mappings");
}

TEST(LoadConfigFileTest, ReadsAFile) {
  absl::StatusOr<Json> loaded = LoadConfigFile(TESTDATA_DIR "/titanic.yaml");
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ((*loaded)["input_features"].size(), 7u);
  EXPECT_EQ((*loaded)["output_features"][0]["name"], "Survived");
}

TEST(LoadConfigFileTest, MissingFileIsNotFoundNamingThePath) {
  absl::StatusOr<Json> loaded = LoadConfigFile(TESTDATA_DIR "/nope.yaml");
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(loaded.status().message()), HasSubstr("nope.yaml"));
}

TEST(LoadConfigFileTest, SyntaxErrorNamesFileLineAndColumn) {
  absl::StatusOr<Json> loaded = LoadConfigFile(TESTDATA_DIR "/broken.yaml");
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(loaded.status().message()), HasSubstr("broken.yaml: line 4, column"));
}

TEST(LoadConfigFileTest, DirectoryIsAnError) {
  absl::StatusOr<Json> loaded = LoadConfigFile(TESTDATA_DIR);
  ASSERT_FALSE(loaded.ok());
  EXPECT_THAT(std::string(loaded.status().message()), HasSubstr("is a directory"));
}

}  // namespace
}  // namespace tristage::config
