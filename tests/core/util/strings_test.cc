#include "core/util/strings.h"

#include "gtest/gtest.h"

namespace tristage {
namespace {

TEST(InvalidUtf8AtTest, FindsTheFirstByteThatDoesNotStartAWellFormedSequence) {
  EXPECT_EQ(InvalidUtf8At(""), absl::string_view::npos);
  EXPECT_EQ(InvalidUtf8At("plain \xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"), absl::string_view::npos);
  EXPECT_EQ(InvalidUtf8At("ab\xff"), 2u);                // never a lead byte
  EXPECT_EQ(InvalidUtf8At("a\xc3"), 1u);                 // cut short
  EXPECT_EQ(InvalidUtf8At("a\xc0\xaf"), 1u);             // overlong '/'
  EXPECT_EQ(InvalidUtf8At("\xe0\x80\xaf"), 0u);          // overlong, 3 bytes
  EXPECT_EQ(InvalidUtf8At("x\xed\xa0\x80"), 1u);         // a surrogate
  EXPECT_EQ(InvalidUtf8At("\xf4\x90\x80\x80"), 0u);      // past U+10FFFF
  EXPECT_EQ(InvalidUtf8At("\xe2\x82x"), 0u);             // a continuation byte missing
}

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
