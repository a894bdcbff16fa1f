#include <gtest/gtest.h>

#include <vector>

#include "fairness/group_metrics.h"

namespace steward::fairness {
namespace {

// Fairlearn's documented 18-sample example (fairlearn.org, user guide "Assessment" / "Advanced usage
// of MetricFrame", v0.10):
//   y_true  = [0,1,1,1,1,0,1,0,1,0,0,0,1,1,1,1,1,1]
//   y_pred  = [0,0,1,0,1,1,1,0,0,1,1,1,1,0,0,1,1,0]
//   sf_data = [b,b,a,b,b,c,c,c,a,a,c,a,b,c,c,b,c,c]
// MetricFrame(recall_score): overall 0.5; by group a 0.5, b 0.6, c 0.4; difference() 0.2,
// ratio() 0.666667, difference(method='to_overall') 0.1, ratio(method='to_overall') 0.8.
// By hand: group a = samples 2,8,9,11 (true 1,1,0,0; pred 1,0,1,1): recall 1/2, selection 3/4,
// FPR 2/2; b = 0,1,3,4,12,15 (true 0,1,1,1,1,1; pred 0,0,0,1,1,1): recall 3/5, selection 3/6,
// FPR 0/1; c = 5,6,7,10,13,14,16,17 (true 0,1,0,0,1,1,1,1; pred 1,1,0,1,0,0,1,0): recall 2/5,
// selection 4/8, FPR 2/3.
const std::vector<int> kTrue = {0, 1, 1, 1, 1, 0, 1, 0, 1, 0, 0, 0, 1, 1, 1, 1, 1, 1};
const std::vector<int> kPred = {0, 0, 1, 0, 1, 1, 1, 0, 0, 1, 1, 1, 1, 0, 0, 1, 1, 0};
// a = 0, b = 1, c = 2
const std::vector<int> kGroup = {1, 1, 0, 1, 1, 2, 2, 2, 0, 0, 2, 0, 1, 2, 2, 1, 2, 2};

TEST(MetricFrame, FairlearnRecallExample) {
  const BinaryOutcomes o{kTrue, kPred};
  const GroupMetric m = ComputeMetricFrame(kGroup, 3, [&](std::span<const size_t> s) { return TruePositiveRate(o, s); });
  EXPECT_DOUBLE_EQ(m.overall, 0.5);
  EXPECT_DOUBLE_EQ(m.by_group[0], 0.5);
  EXPECT_DOUBLE_EQ(m.by_group[1], 0.6);
  EXPECT_DOUBLE_EQ(m.by_group[2], 0.4);
  EXPECT_NEAR(m.Difference(), 0.2, 1e-12);
  EXPECT_NEAR(m.Ratio(), 0.666667, 1e-6);
  EXPECT_NEAR(m.Difference(Aggregate::kToOverall), 0.1, 1e-12);
  EXPECT_NEAR(m.Ratio(Aggregate::kToOverall), 0.8, 1e-12);
}

TEST(MetricFrame, FairlearnParitySummaries) {
  const BinaryOutcomes o{kTrue, kPred};
  // Selection rates a 0.75, b 0.5, c 0.5 (hand values above).
  EXPECT_DOUBLE_EQ(DemographicParityDifference(o, kGroup, 3), 0.25);
  EXPECT_DOUBLE_EQ(DemographicParityRatio(o, kGroup, 3), 0.5 / 0.75);
  EXPECT_NEAR(EqualOpportunityDifference(o, kGroup, 3), 0.2, 1e-12);
  EXPECT_NEAR(EqualOpportunityRatio(o, kGroup, 3), 2.0 / 3.0, 1e-12);
  // FPR a 1, b 0, c 2/3: difference 1 beats the TPR's 0.2; ratio 0 is below the TPR's 2/3.
  EXPECT_DOUBLE_EQ(EqualizedOddsDifference(o, kGroup, 3), 1.0);
  EXPECT_DOUBLE_EQ(EqualizedOddsRatio(o, kGroup, 3), 0.0);
}

TEST(MetricFrame, EmptyGroupsAreLeftOutAndAllZeroIsParity) {
  const std::vector<int> y = {0, 0, 0, 0};
  const std::vector<int> g = {0, 0, 2, 2};  // group 1 has no samples
  const BinaryOutcomes o{y, y};
  const GroupMetric m = ComputeMetricFrame(g, 3, [&](std::span<const size_t> s) { return SelectionRate(o, s); });
  EXPECT_FALSE(m.present[1]);
  EXPECT_EQ(m.Difference(), 0.0);
  EXPECT_EQ(m.Ratio(), 1.0);  // every group at 0: equal, not NaN
  EXPECT_EQ(m.Ratio(Aggregate::kToOverall), 1.0);
}

}  // namespace
}  // namespace steward::fairness
