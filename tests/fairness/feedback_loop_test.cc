#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "fairness/feedback_loop.h"
#include "fairness/metrics.h"

namespace steward::fairness {
namespace {

TEST(FeedbackLoop, PairHomogenizationLeavesOutPairsWithNothingConsumed) {
  const std::vector<std::vector<int64_t>> sets = {{1, 2}, {2, 3}, {}, {}};
  const std::vector<std::pair<uint32_t, uint32_t>> pairs = {{0, 1}, {0, 2}, {2, 3}};
  const auto h = PairHomogenization(sets, pairs);
  ASSERT_EQ(h.size(), 3u);
  EXPECT_DOUBLE_EQ(h[0], 1.0 / 3.0);  // {2} / {1, 2, 3}
  EXPECT_DOUBLE_EQ(h[1], 0.0);        // {} / {1, 2}
  EXPECT_TRUE(std::isnan(h[2]));      // both empty: left out
  EXPECT_DOUBLE_EQ(MeanSkippingNaN(h), 1.0 / 6.0);
  EXPECT_DOUBLE_EQ(MeanSkippingNaN(std::vector<double>{std::nan("")}), 0.0);
}

// Four users, so the sample (up to 10 pairs) is all 6 pairs. Hand computation:
// window 1: u0 clicks 1, 2; u1 clicks 2, 3; u2 and u3 nothing.
//   (0,1) = |{2}| / |{1,2,3}| = 1/3; (0,2), (0,3), (1,2), (1,3) = 0; (2,3) both empty, left out.
//   mean over 5 pairs = (1/3) / 5 = 1/15.
// window 2: u2 clicks 2; u3 clicks 1 twice (a set: {1}). Cumulative: u0 {1,2}, u1 {2,3}, u2 {2}, u3 {1}.
//   (0,1) = 1/3; (0,2) = |{2}|/|{1,2}| = 1/2; (0,3) = 1/2; (1,2) = |{2}|/|{2,3}| = 1/2; (1,3) = 0/3 = 0;
//   (2,3) = 0/2 = 0. Mean over 6 pairs = (1/3 + 3/2) / 6 = 11/36.
// window 3: no clicks, the cumulative sets and the value stay: 11/36.
TEST(FeedbackLoop, TrackerSeriesMatchesHandComputation) {
  HomogenizationTracker t(4, 10, /*seed=*/1);
  ASSERT_EQ(t.pairs(), 6u);
  t.AddConsumed(0, 1);
  t.AddConsumed(0, 2);
  t.AddConsumed(1, 3);
  t.AddConsumed(1, 2);
  EXPECT_DOUBLE_EQ(t.CloseWindow(), 1.0 / 15.0);
  t.AddConsumed(2, 2);
  t.AddConsumed(3, 1);
  t.AddConsumed(3, 1);
  t.AddConsumed(7, 1);  // not a sampled user (outside [0, 4)): ignored
  EXPECT_NEAR(t.CloseWindow(), 11.0 / 36.0, 1e-12);
  EXPECT_NEAR(t.CloseWindow(), 11.0 / 36.0, 1e-12);
  const std::vector<double> expected = {1.0 / 15.0, 11.0 / 36.0, 11.0 / 36.0};
  ASSERT_EQ(t.series().size(), expected.size());
  for (size_t w = 0; w < expected.size(); ++w) EXPECT_NEAR(t.series()[w], expected[w], 1e-12) << w;
}

TEST(FeedbackLoop, TrackerSamplesAtMostMaxPairsDeterministically) {
  HomogenizationTracker a(100, 50, 9), b(100, 50, 9);
  EXPECT_EQ(a.pairs(), 50u);
  for (HomogenizationTracker* t : {&a, &b}) {
    for (size_t u = 0; u < 100; ++u) t->AddConsumed(u, static_cast<int64_t>(u % 7));
    t->CloseWindow();
  }
  EXPECT_EQ(a.series(), b.series());
  EXPECT_EQ(HomogenizationTracker(1, 2000, 1).pairs(), 0u);  // one user: no pair; the series is 0
}

// The exposure-Gini series of `steward simulate` is the cumulative item exposure's Gini at each
// window's end (ExposureAccumulator::ItemGini). Hand computation over 4 items:
// window 1: one list {0, 1}: counts 1, 1, 0, 0; sorted 0, 0, 1, 1; sum 2;
//   G = ((2*3-5)*1 + (2*4-5)*1) / (4*2) = (1 + 3) / 8 = 0.5.
// window 2: one more list {0, 2}: counts 2, 1, 1, 0; sorted 0, 1, 1, 2; sum 4;
//   G = ((2*2-5)*1 + (2*3-5)*1 + (2*4-5)*2) / (4*4) = (-1 + 1 + 6) / 16 = 0.375.
TEST(FeedbackLoop, CumulativeExposureGiniPerWindow) {
  ExposureAccumulator exposure(4, 2, 1);
  std::vector<double> series;
  const std::vector<int> cats = {0, 1}, groups = {0, 0};
  exposure.AddList(std::vector<int32_t>{0, 1}, cats, groups);
  series.push_back(exposure.ItemGini());
  exposure.AddList(std::vector<int32_t>{0, 2}, cats, groups);
  series.push_back(exposure.ItemGini());
  EXPECT_DOUBLE_EQ(series[0], 0.5);
  EXPECT_DOUBLE_EQ(series[1], 0.375);
}

}  // namespace
}  // namespace steward::fairness
