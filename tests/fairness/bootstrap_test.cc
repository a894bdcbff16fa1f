#include <gtest/gtest.h>

#include <numeric>
#include <vector>

#include "fairness/bootstrap.h"

namespace steward::fairness {
namespace {

TEST(Bootstrap, ResampleWeightsAreSeededMultinomialCounts) {
  Rng a(7), b(7);
  const auto wa = ResampleWeights(1000, a), wb = ResampleWeights(1000, b);
  EXPECT_EQ(wa, wb);
  EXPECT_DOUBLE_EQ(std::accumulate(wa.begin(), wa.end(), 0.0), 1000.0);
  // About 1 - 1/e = 63.2% of units are drawn at least once (sd ~ 1.5 points at n = 1000).
  const auto drawn = std::count_if(wa.begin(), wa.end(), [](double w) { return w > 0; });
  EXPECT_NEAR(static_cast<double>(drawn) / 1000.0, 0.632, 0.05);
}

TEST(Bootstrap, NearestRankPercentileInterval) {
  std::vector<double> v(100);
  std::iota(v.begin(), v.end(), 1.0);
  // 2.5%: ceil(2.5) = 3rd value; 97.5%: ceil(97.5) = 98th value.
  const Interval i = PercentileInterval(v);
  EXPECT_EQ(i.low, 3.0);
  EXPECT_EQ(i.high, 98.0);
  EXPECT_EQ(PercentileInterval({}).low, 0.0);
}

TEST(Bootstrap, BiasShiftedInterval) {
  std::vector<double> v(100);
  std::iota(v.begin(), v.end(), 1.0);  // mean 50.5
  // Percentile [3, 98] shifted by 60 - 50.5 = 9.5.
  const Interval i = BiasShiftedInterval(v, 60.0);
  EXPECT_DOUBLE_EQ(i.low, 12.5);
  EXPECT_DOUBLE_EQ(i.high, 107.5);
  EXPECT_EQ(BiasShiftedInterval({}, 4.0).low, 4.0);
}

TEST(Bootstrap, OlsSlopeAndPairs) {
  EXPECT_DOUBLE_EQ(OlsSlope({0, 1, 2}, {1, 3, 5}), 2.0);
  EXPECT_DOUBLE_EQ(OlsSlope({1}, {1}), 0.0);
  Rng rng(1);
  EXPECT_EQ(SampleUserPairs(3, 10, rng).size(), 3u);  // all 3 pairs
  const auto pairs = SampleUserPairs(100, 50, rng);
  EXPECT_EQ(pairs.size(), 50u);
  for (const auto& [a, b] : pairs) EXPECT_LT(a, b);
}

}  // namespace
}  // namespace steward::fairness
