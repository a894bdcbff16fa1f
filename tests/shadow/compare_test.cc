#include <gtest/gtest.h>

#include "shadow/compare.h"

namespace steward::shadow {
namespace {

TEST(JaccardAtK, HandValues) {
  const std::vector<int64_t> a = {1, 2, 3, 4}, b = {3, 4, 5, 6};
  EXPECT_DOUBLE_EQ(JaccardAtK(a, b, 4), 2.0 / 6.0);
  EXPECT_DOUBLE_EQ(JaccardAtK(a, b, 2), 0.0);  // {1,2} vs {3,4}
  EXPECT_DOUBLE_EQ(JaccardAtK(a, a, 4), 1.0);
  EXPECT_DOUBLE_EQ(JaccardAtK({}, {}, 10), 1.0);
  EXPECT_DOUBLE_EQ(JaccardAtK(a, {}, 10), 0.0);
}

TEST(OverlapTracker, MeanOverRequests) {
  OverlapTracker t(2);
  const std::vector<int64_t> a = {1, 2}, b = {1, 3}, c = {1, 2};
  t.Add(a, b);  // 1/3
  t.Add(a, c);  // 1
  EXPECT_DOUBLE_EQ(t.mean(), (1.0 / 3.0 + 1.0) / 2.0);
  EXPECT_EQ(t.count(), 2);
}

}  // namespace
}  // namespace steward::shadow

namespace steward::shadow {
namespace {

TEST(Rbo, HandValuesAndBounds) {
  const std::vector<int64_t> a = {1, 2, 3}, same = {1, 2, 3}, disjoint = {7, 8, 9};
  EXPECT_NEAR(RankBiasedOverlap(a, same, 0.9), 1.0, 1e-12);
  EXPECT_NEAR(RankBiasedOverlap(a, disjoint, 0.9), 0.0, 1e-12);
  // By hand, p = 0.5, A = [1, 2], B = [2, 1]: X_1 = 0, X_2 = 2;
  // RBO_ext = (2/2) 0.25 + (0.5/0.5) (0 + (2/2) 0.25) = 0.5.
  const std::vector<int64_t> x = {1, 2}, y = {2, 1};
  EXPECT_NEAR(RankBiasedOverlap(x, y, 0.5), 0.5, 1e-12);
  // Top-weighted: agreeing at the top beats agreeing at the bottom.
  const std::vector<int64_t> top = {1, 2, 9, 8}, bottom = {9, 8, 3, 4}, ref = {1, 2, 3, 4};
  EXPECT_GT(RankBiasedOverlap(ref, top), RankBiasedOverlap(ref, bottom));
}

TEST(KendallTau, OrderOfCommonItems) {
  const std::vector<int64_t> a = {1, 2, 3, 4}, b = {1, 2, 3, 4}, r = {4, 3, 2, 1}, c = {2, 1, 5, 3};
  EXPECT_DOUBLE_EQ(KendallTauOnIntersection(a, b), 1.0);
  EXPECT_DOUBLE_EQ(KendallTauOnIntersection(a, r), -1.0);
  // Common {1, 2, 3}: pairs (1,2) discordant, (1,3) concordant, (2,3) concordant -> 1/3.
  EXPECT_NEAR(KendallTauOnIntersection(a, c), 1.0 / 3.0, 1e-12);
  const std::vector<int64_t> one = {9};
  EXPECT_DOUBLE_EQ(KendallTauOnIntersection(a, one), 0.0);
}

TEST(Novelty, SelfInformation) {
  const std::vector<double> shares = {0.5, 0.25};
  EXPECT_DOUBLE_EQ(Novelty(shares), (1.0 + 2.0) / 2.0);  // -log2(0.5) = 1, -log2(0.25) = 2
}

TEST(IntraListDiversity, ShareOfPairsInDifferentCategories) {
  const std::vector<int> cats = {0, 0, 1};  // pairs: (0,0) same, (0,1) x2 different -> 2/3
  EXPECT_NEAR(IntraListDiversity(cats), 2.0 / 3.0, 1e-12);
}

}  // namespace
}  // namespace steward::shadow
