#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "fairness/ranking_fairness.h"

namespace steward::fairness {
namespace {

// The reference implementation's fixtures (fair-search/fairsearch-fair-java,
// src/test/resources/mtable_fixtures): mtable1 = n 80, p 0.6, alpha 0.1; mtable2 = n 100, p 0.5,
// alpha 0.3 (unadjusted alpha, FA*IR Definition 3.1).
const std::vector<int> kMTable1 = {0,  0,  1,  1,  2,  2,  3,  3,  4,  4,  5,  5,  6,  6,  7,  7,  8,  8,  9,  9,
                                   10, 10, 11, 11, 12, 12, 13, 13, 14, 15, 15, 16, 16, 17, 17, 18, 18, 19, 19, 20,
                                   21, 21, 22, 22, 23, 23, 24, 24, 25, 26, 26, 27, 27, 28, 28, 29, 29, 30, 31, 31,
                                   32, 32, 33, 33, 34, 34, 35, 36, 36, 37, 37, 38, 38, 39, 40, 40, 41, 41, 42, 42};
const std::vector<int> kMTable2 = {0,  1,  1,  1,  2,  2,  3,  3,  4,  4,  5,  5,  6,  6,  6,  7,  7,  8,  8,  9,
                                   9,  10, 10, 11, 11, 12, 12, 13, 13, 14, 14, 15, 15, 15, 16, 16, 17, 17, 18, 18,
                                   19, 19, 20, 20, 21, 21, 22, 22, 23, 23, 24, 24, 25, 25, 26, 26, 27, 27, 27, 28,
                                   28, 29, 29, 30, 30, 31, 31, 32, 32, 33, 33, 34, 34, 35, 35, 36, 36, 37, 37, 38,
                                   38, 39, 39, 40, 40, 41, 41, 42, 42, 43, 43, 43, 44, 44, 45, 45, 46, 46, 47, 47};

TEST(FairMTable, MatchesFairsearchFixtures) {
  EXPECT_EQ(FairMTable(80, 0.6, 0.1), kMTable1);
  EXPECT_EQ(FairMTable(100, 0.5, 0.3), kMTable2);
}

TEST(FairPrefixTest, FindsTheFirstPrefixBelowTheTable) {
  // p 0.5, alpha 0.3: prefixes of length 2..4 need one protected item (kMTable2).
  EXPECT_TRUE(FairPrefixTest(std::vector<bool>{false, true, false, false}, 0.5, 0.3).fair);
  const auto r = FairPrefixTest(std::vector<bool>{false, false, true}, 0.5, 0.3);
  EXPECT_FALSE(r.fair);
  EXPECT_EQ(r.first_failing_prefix, 2);
}

TEST(BinomialCdf, HandValues) {
  EXPECT_NEAR(BinomialCdf(1, 3, 0.6), 0.064 + 0.288, 1e-12);  // 0.4^3 + 3 * 0.6 * 0.4^2
  EXPECT_EQ(BinomialCdf(-1, 3, 0.5), 0.0);
  EXPECT_EQ(BinomialCdf(3, 3, 0.5), 1.0);
}

TEST(ExpectedExposure, HandComputedRbp) {
  // gamma 0.5; two equally likely rankings [0,1,2] and [1,0,2]: items 0 and 1 get (1 + 0.5) / 2,
  // item 2 gets 0.25. Relevance [1,1,0]: the ideal shares ranks 1-2 between items 0 and 1 -> the same.
  const auto e = ExpectedExposure({{0, 1, 2}, {1, 0, 2}}, 3, 0.5);
  EXPECT_EQ(e, (std::vector<double>{0.75, 0.75, 0.25}));
  const auto t = TargetExposure(std::vector<int>{1, 1, 0}, 0.5);
  EXPECT_EQ(t, (std::vector<double>{0.75, 0.75, 0.25}));
  const auto loss = CompareExposure(e, t);
  EXPECT_DOUBLE_EQ(loss.ee_l, 0.0);
  EXPECT_DOUBLE_EQ(loss.ee_d, 0.5625 * 2 + 0.0625);
  EXPECT_DOUBLE_EQ(loss.ee_r, 2 * (0.5625 * 2 + 0.0625));
  // The deterministic ranking [0,1,2] over-exposes item 0: EE-L = 0.25^2 + 0.25^2.
  EXPECT_DOUBLE_EQ(CompareExposure(ExpectedExposure({{0, 1, 2}}, 3, 0.5), t).ee_l, 0.125);
}

TEST(AttentionWeightedRankFairness, JensenShannonToTarget) {
  EXPECT_DOUBLE_EQ(JensenShannon(std::vector<double>{1, 0}, std::vector<double>{0, 1}), 1.0);
  EXPECT_DOUBLE_EQ(JensenShannon(std::vector<double>{0.3, 0.7}, std::vector<double>{0.3, 0.7}), 0.0);
  // Groups [0, 1] at ranks 1, 2: attention 1 and 1/log2(3), shares 0.613147, 0.386853; JSD to
  // [0.5, 0.5] = 0.009376049 bits (computed by hand with the definition in docs/metrics.md).
  EXPECT_NEAR(AttentionWeightedRankFairness(std::vector<int>{0, 1}, std::vector<double>{0.5, 0.5}), 0.009376049493, 1e-10);
}

}  // namespace
}  // namespace steward::fairness
