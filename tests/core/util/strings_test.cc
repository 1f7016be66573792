#include "core/util/strings.h"

#include "gtest/gtest.h"

namespace tristage {
namespace {

TEST(CutUtf8Test, KeepsShortTextAndCutsLongTextAtACharacterBoundary) {
  EXPECT_EQ(CutUtf8("abc", 3), "abc");
  EXPECT_EQ(CutUtf8("abcdef", 3), "abc [3 more bytes]");
  // "é" is two bytes: a cut inside it moves back to its start.
  EXPECT_EQ(CutUtf8("ab\xc3\xa9z", 3), "ab [3 more bytes]");
  EXPECT_EQ(CutUtf8("", 0), "");
  EXPECT_EQ(CutUtf8("x", 0), " [1 more bytes]");
}

TEST(StringsTest, EditDistanceCountsInsertionsDeletionsSubstitutions) {
  EXPECT_EQ(EditDistance("", ""), 0);
  EXPECT_EQ(EditDistance("abc", ""), 3);
  EXPECT_EQ(EditDistance("train", "trian"), 2);
  EXPECT_EQ(EditDistance("kitten", "sitting"), 3);
}

TEST(StringsTest, ClosestMatchFindsPlausibleTypos) {
  const std::vector<std::string> verbs = {"train", "predict", "evaluate", "experiment"};
  EXPECT_EQ(ClosestMatch("trian", verbs), "train");
  EXPECT_EQ(ClosestMatch("expriment", verbs), "experiment");
  EXPECT_EQ(ClosestMatch("pred", verbs), "predict");  // a prefix
  EXPECT_EQ(ClosestMatch("banana", verbs), "");
}

TEST(StringsTest, DidYouMeanFormatsTheHint) {
  EXPECT_EQ(DidYouMean("evalute", {"evaluate"}), " (did you mean 'evaluate'?)");
  EXPECT_EQ(DidYouMean("x", {"evaluate"}), "");
}

}  // namespace
}  // namespace tristage
