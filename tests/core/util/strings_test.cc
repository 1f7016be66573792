#include "core/util/strings.h"

#include "gtest/gtest.h"

namespace tristage {
namespace {

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
