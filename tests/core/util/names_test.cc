#include "core/util/names.h"

#include <string>

#include "absl/strings/match.h"
#include "gtest/gtest.h"

namespace tristage {
namespace {

TEST(NamesTest, AcceptsPlainNamesAndRelativePaths) {
  for (const char* name : {"churn", "a", "model-2.v1_final", "experiment", "j000001", "data.csv"}) {
    EXPECT_TRUE(CheckName("f", name).ok()) << name;
    EXPECT_TRUE(CheckRelativePath("f", name).ok()) << name;
  }
  EXPECT_TRUE(CheckRelativePath("f", "experiment_run/model/model_hyperparameters.json").ok());
  EXPECT_TRUE(CheckPath("f", "/srv/data/train.csv").ok());
  EXPECT_TRUE(CheckName("f", std::string(kMaxNameBytes, 'a')).ok());
}

TEST(NamesTest, RefusesEveryHostileValueNamingTheFieldAndTheReason) {
  const std::string nul("churn\0evil", 10);
  struct Case {
    std::string value;
    const char* reason;
  };
  for (const Case& c : {Case{"", "is empty"}, Case{nul, "NUL"}, Case{"..", "'..'"},
                        Case{".", "'.'"}, Case{".hidden", "starts with '.'"},
                        Case{"a/b", "'/'"}, Case{"/etc/passwd", "'/'"},
                        Case{"../../x/escaped", "'/'"}, Case{"a b", "0x20"},
                        Case{"\xff\xfe", "0xff"}, Case{"tab\there", "0x09"},
                        Case{"caf\xc3\xa9", "0xc3"},
                        Case{std::string(kMaxNameBytes + 1, 'a'), "bytes long"},
                        Case{std::string(50 << 20, 'a'), "bytes long"}}) {
    const absl::Status status = CheckName("publish_model", c.value);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << c.value.substr(0, 20);
    EXPECT_TRUE(absl::StartsWith(status.message(), "publish_model: ")) << status.message();
    EXPECT_TRUE(absl::StrContains(status.message(), c.reason)) << status.message();
    // The message stays small and printable whatever the value was.
    EXPECT_LT(status.message().size(), 400u);
    for (char ch : status.message()) EXPECT_TRUE(ch >= 0x20 && ch < 0x7f) << status.message();
  }
}

TEST(NamesTest, PathsRefuseTraversalEmptyPartsNulAndLength) {
  for (const std::string& path :
       {std::string("../x"), std::string("a/../../b"), std::string("a//b"), std::string("a/"),
        std::string("/"), std::string("./a"), std::string("a/.ssh/key"),
        std::string("a\0/b", 4), std::string(kMaxPathBytes + 1, 'a'), std::string("//etc")}) {
    EXPECT_EQ(CheckPath("dataset", path).code(), absl::StatusCode::kInvalidArgument) << path;
    EXPECT_EQ(CheckRelativePath("path", path).code(), absl::StatusCode::kInvalidArgument) << path;
  }
  EXPECT_EQ(CheckRelativePath("path", "/abs/file").code(), absl::StatusCode::kInvalidArgument);
}

TEST(NamesTest, QuoteForErrorEscapesAndShortens) {
  EXPECT_EQ(QuoteForError(std::string("a\0b", 3)), "'a\\x00b'");
  EXPECT_EQ(QuoteForError(std::string(100, 'x')), "'" + std::string(64, 'x') + "' (100 bytes)");
}

}  // namespace
}  // namespace tristage
