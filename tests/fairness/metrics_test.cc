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

namespace steward::fairness {
namespace {

TEST(ExposureDisparity, MaxAbsoluteGapAndRatio) {
  // Shares 0.7 / 0.3 against catalog 0.5 / 0.5: disparity 0.2; ratio (0.6) / (1.4) = 3/7.
  const std::vector<double> shares = {0.7, 0.3}, targets = {0.5, 0.5};
  EXPECT_NEAR(ExposureDisparity(shares, targets), 0.2, 1e-12);
  EXPECT_NEAR(ExposureRatio(shares, targets), 3.0 / 7.0, 1e-12);
  // A group with target 0 counts in the disparity but not in the ratio.
  const std::vector<double> s3 = {0.5, 0.4, 0.1}, t3 = {0.5, 0.5, 0.0};
  EXPECT_NEAR(ExposureDisparity(s3, t3), 0.1, 1e-12);
  EXPECT_NEAR(ExposureRatio(s3, t3), 0.8, 1e-12);
  EXPECT_EQ(ExposureRatio(std::vector<double>{0, 0}, targets), 1.0);
  EXPECT_EQ(MinMaxRatio(std::vector<double>{}), 1.0);
  EXPECT_EQ(MaxMinDifference(std::vector<double>{0.2, 0.5, 0.3}), 0.3);
}

TEST(ListMetrics, IldJaccardCosineSelfInformation) {
  // Categories [1, 1, 2]: pairs (1,1) same, (1,2) and (1,2) different -> 2/3.
  EXPECT_NEAR(CategoricalIld(std::vector<int>{1, 1, 2}), 2.0 / 3.0, 1e-12);
  EXPECT_EQ(CategoricalIld(std::vector<int>{4}), 0.0);
  // {1,2,3} vs {2,3,4}: 2 common of 4 distinct.
  EXPECT_DOUBLE_EQ(SortedJaccard(std::vector<int64_t>{1, 2, 3}, std::vector<int64_t>{2, 3, 4}), 0.5);
  EXPECT_DOUBLE_EQ(SortedJaccard(std::vector<int64_t>{}, std::vector<int64_t>{}), 1.0);
  EXPECT_DOUBLE_EQ(Cosine(std::vector<double>{1, 0}, std::vector<double>{1, 1}), 1.0 / std::sqrt(2.0));
  EXPECT_DOUBLE_EQ(SelfInformation(0.25), 2.0);
  EXPECT_DOUBLE_EQ(Coverage(std::vector<double>{0, 2, 0, 1}), 0.5);
}

}  // namespace
}  // namespace steward::fairness
