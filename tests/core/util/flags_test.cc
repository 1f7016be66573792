#include "core/util/flags.h"

#include "gtest/gtest.h"

namespace tristage {
namespace {

const std::vector<FlagSpec>& Specs() {
  static const auto* specs = new std::vector<FlagSpec>{
      {"output_directory", "od", FlagKind::kValue, "results dir", "results", {}},
      {"grpc-port", "", FlagKind::kValue, "port", "8001", {}},
      {"skip_save_model", "ssm", FlagKind::kBool, "skip", "", {}},
      {"tensors", "t", FlagKind::kList, "names", "", {}},
      {"data_format", "", FlagKind::kValue, "format", "auto", {"auto", "csv"}},
  };
  return *specs;
}

absl::StatusOr<ParsedFlags> Parse(const std::vector<std::string>& args, bool positional = false) {
  return ParseFlags(Specs(), args, positional);
}

TEST(FlagsTest, ParsesLongShortAndEqualsForms) {
  auto flags = Parse({"--output_directory", "a", "-ssm", "--grpc-port=9"});
  ASSERT_TRUE(flags.ok()) << flags.status();
  EXPECT_EQ(flags->GetOr("output_directory", ""), "a");
  EXPECT_TRUE(flags->GetBool("skip_save_model"));
  EXPECT_EQ(flags->Get("grpc-port"), "9");
  EXPECT_FALSE(flags->Has("tensors"));
}

TEST(FlagsTest, DashesAndUnderscoresMatchAlike) {
  auto flags = Parse({"--output-directory", "x", "--grpc_port", "7"});
  ASSERT_TRUE(flags.ok()) << flags.status();
  EXPECT_EQ(flags->Get("output_directory"), "x");
  EXPECT_EQ(flags->Get("grpc-port"), "7");
}

TEST(FlagsTest, ShortSpellingWithValue) {
  auto flags = Parse({"-od", "out"});
  ASSERT_TRUE(flags.ok()) << flags.status();
  EXPECT_EQ(flags->Get("output_directory"), "out");
}

TEST(FlagsTest, NegativeNumbersAreValuesNotFlags) {
  auto flags = Parse({"--grpc-port", "-1"});
  ASSERT_TRUE(flags.ok()) << flags.status();
  EXPECT_EQ(flags->Get("grpc-port"), "-1");
}

TEST(FlagsTest, ListTakesValuesUntilNextFlag) {
  auto flags = Parse({"-t", "a", "b", "c", "-ssm"});
  ASSERT_TRUE(flags.ok()) << flags.status();
  EXPECT_EQ(flags->GetList("tensors"), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_TRUE(flags->GetBool("skip_save_model"));
}

TEST(FlagsTest, BoolAcceptsExplicitFalse) {
  auto flags = Parse({"--skip_save_model=false"});
  ASSERT_TRUE(flags.ok()) << flags.status();
  EXPECT_TRUE(flags->Has("skip_save_model"));
  EXPECT_FALSE(flags->GetBool("skip_save_model"));
  EXPECT_FALSE(Parse({"--skip_save_model=maybe"}).ok());
}

TEST(FlagsTest, UnknownFlagNamesItAndTheClosestValidOne) {
  auto flags = Parse({"--output_directry", "x"});
  ASSERT_FALSE(flags.ok());
  EXPECT_EQ(flags.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(flags.status().message(),
            "unknown flag '--output_directry' (did you mean '--output_directory'?)");
}

TEST(FlagsTest, UnknownFlagWithNothingCloseHasNoSuggestion) {
  auto flags = Parse({"--zzzzzzzzzzzz"});
  ASSERT_FALSE(flags.ok());
  EXPECT_EQ(flags.status().message(), "unknown flag '--zzzzzzzzzzzz'");
}

TEST(FlagsTest, MissingValueIsAnError) {
  auto flags = Parse({"--output_directory"});
  ASSERT_FALSE(flags.ok());
  EXPECT_EQ(flags.status().message(), "flag --output_directory needs a value");
  EXPECT_FALSE(Parse({"--output_directory", "--skip_save_model"}).ok());
  EXPECT_FALSE(Parse({"--tensors"}).ok());
}

TEST(FlagsTest, ChoicesAreEnforcedAndListed) {
  auto flags = Parse({"--data_format", "parquet"});
  ASSERT_FALSE(flags.ok());
  EXPECT_EQ(flags.status().message(),
            "flag --data_format: invalid choice 'parquet' (choose from auto, csv)");
  EXPECT_TRUE(Parse({"--data_format", "csv"}).ok());
}

TEST(FlagsTest, PositionalArgumentsOnlyWhenAllowed) {
  EXPECT_FALSE(Parse({"stray"}).ok());
  auto flags = Parse({"a", "-ssm", "--", "--not-a-flag"}, /*positional=*/true);
  ASSERT_TRUE(flags.ok()) << flags.status();
  EXPECT_EQ(flags->positional(), (std::vector<std::string>{"a", "--not-a-flag"}));
}

TEST(FlagsTest, SetIfAbsentLayersUnderTheCommandLine) {
  auto flags = Parse({"--grpc-port", "1"});
  ASSERT_TRUE(flags.ok());
  flags->SetIfAbsent("grpc-port", {"2"});
  flags->SetIfAbsent("output_directory", {"from_file"});
  EXPECT_EQ(flags->Get("grpc-port"), "1");
  EXPECT_EQ(flags->Get("output_directory"), "from_file");
}

TEST(FlagsTest, HelpListsEveryFlagWithDefaultsAndChoices) {
  const std::string help = FormatFlagsHelp(Specs());
  EXPECT_NE(help.find("-od, --output_directory VALUE"), std::string::npos) << help;
  EXPECT_NE(help.find("(default: results)"), std::string::npos);
  EXPECT_NE(help.find("{auto,csv}"), std::string::npos);
  EXPECT_NE(help.find("--tensors VALUE [VALUE ...]"), std::string::npos);
}

}  // namespace
}  // namespace tristage
