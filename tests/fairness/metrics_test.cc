#include <gtest/gtest.h>

#include <cmath>

#include "fairness/metrics.h"

namespace steward::fairness {
namespace {

TEST(PositionWeight, OneOverLog2OnePlusRank) {
  EXPECT_DOUBLE_EQ(PositionWeight(1), 1.0);
  EXPECT_DOUBLE_EQ(PositionWeight(3), 0.5);   // 1/log2(4)
  EXPECT_DOUBLE_EQ(PositionWeight(7), 1.0 / 3.0);  // 1/log2(8)
}

TEST(DiversityIndex, NormalisedShannonEntropy) {
  EXPECT_DOUBLE_EQ(CategoricalDiversityIndex(std::vector<double>{5, 5, 5, 5}, 4), 1.0);
  EXPECT_DOUBLE_EQ(CategoricalDiversityIndex(std::vector<double>{9, 0, 0}, 3), 0.0);
  // By hand: shares 1/4, 1/4, 1/2 -> H = 1.5 ln 2 = 1.0397208; / ln 3 = 0.9463946.
  EXPECT_NEAR(CategoricalDiversityIndex(std::vector<double>{1, 1, 2}, 3), 1.5 * std::log(2.0) / std::log(3.0), 1e-12);
  EXPECT_NEAR(CategoricalDiversityIndex(std::vector<double>{1, 1, 2}, 3), 0.9463946, 1e-7);
  // Categories never shown still count in the denominator: 2 of 4 equally -> ln2/ln4 = 0.5.
  EXPECT_DOUBLE_EQ(CategoricalDiversityIndex(std::vector<double>{3, 3, 0, 0}, 4), 0.5);
  EXPECT_EQ(CategoricalDiversityIndex(std::vector<double>{0, 0}, 2), 0.0);
}

TEST(Gini, MatchesHandValues) {
  EXPECT_DOUBLE_EQ(Gini(std::vector<double>{1, 1, 1, 1}), 0.0);
  EXPECT_DOUBLE_EQ(Gini(std::vector<double>{0, 0, 0, 1}), 0.75);  // (n - 1) / n
  // 1,2,3,4: sum (2i - n - 1) x = -3 - 2 + 3 + 12 = 10; / (4 * 10) = 0.25 (textbook value).
  EXPECT_DOUBLE_EQ(Gini(std::vector<double>{4, 1, 3, 2}), 0.25);
  EXPECT_DOUBLE_EQ(Gini(std::vector<double>{0, 0}), 0.0);
}

TEST(ExposureAccumulator, PositionWeightedGroupShares) {
  ExposureAccumulator acc(4, 2, 2);
  // One list: item 0 (cat 0, group 0) at rank 1 (w=1), item 3 (cat 1, group 1) at rank 3 (w=0.5).
  const std::vector<int32_t> items = {0, 1, 3};
  const std::vector<int> cats = {0, 0, 1};
  const std::vector<int> groups = {0, 0, 1};
  acc.AddList(items, cats, groups);
  const auto shares = acc.GroupShares();
  const double w2 = 1.0 / std::log2(3.0);
  EXPECT_NEAR(shares[0], (1.0 + w2) / (1.0 + w2 + 0.5), 1e-12);
  EXPECT_NEAR(shares[1], 0.5 / (1.0 + w2 + 0.5), 1e-12);
  EXPECT_DOUBLE_EQ(acc.Coverage(), 0.75);
  EXPECT_NEAR(acc.DiversityIndex(), CategoricalDiversityIndex(std::vector<double>{2, 1}, 2), 1e-12);
  EXPECT_DOUBLE_EQ(acc.ItemGini(), Gini(std::vector<double>{1, 1, 0, 1}));
}

}  // namespace
}  // namespace steward::fairness
