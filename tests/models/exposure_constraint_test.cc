#include <gtest/gtest.h>

#include <cmath>
#include <thread>

#include "fairness/metrics.h"
#include "models/exposure_constraint.h"

namespace steward::models {
namespace {

ExposureConstraint Make(std::vector<double> targets, double tolerance) {
  auto c = ExposureConstraint::Create({std::move(targets), tolerance});
  EXPECT_TRUE(c.ok()) << c.status().ToString();
  return std::move(*c);
}

// Two groups, targets 0.5 / 0.5, candidates by score: 0.9 (g0), 0.8 (g0), 0.7 (g0), 0.6 (g1), 0.5 (g1).
// Position weights: w(1) = 1, w(2) = 1/log2(3) = 0.6309, w(3) = 1/log2(4) = 0.5.
const std::vector<double> kScores = {0.9, 0.8, 0.7, 0.6, 0.5};
const std::vector<int> kGroups = {0, 0, 0, 1, 1};

// Tolerance 0, first request, k = 3. Position 1: no exposure yet, so no group is under: the best,
// item 0 (g0). Position 2: running shares g0 = 1, g1 = 0; g1's deficit 0.5 > 0, the best (item 1)
// is g0; total at the end T = 1 + 0.6309 + 0.5 = 2.1309, g1 needs 0.5 T = 1.0655 > R = w(3) = 0.5,
// so it cannot wait: g1's best, item 3. Position 3: shares 0.613 / 0.387, need 1.0655 - 0.6309 =
// 0.4345 > R = 0: item 4. List [0, 3, 4], positions 2 and 3 adjusted.
TEST(ExposureConstraint, ToleranceZeroCorrectsEveryPosition) {
  ExposureConstraint c = Make({0.5, 0.5}, 0.0);
  EXPECT_EQ(c.Rerank(7, kScores, kGroups, 3), (std::vector<size_t>{0, 3, 4}));
  const ExposureDecision d = c.last_decision();
  EXPECT_EQ(d.request_id, 7);
  EXPECT_EQ(d.adjusted_positions, (std::vector<int>{2, 3}));
  EXPECT_EQ(d.adjusted_groups, (std::vector<int>{1, 1}));
  EXPECT_EQ(d.served_groups, (std::vector<int>{0, 1, 1}));
  EXPECT_EQ(d.shares_before, (std::vector<double>{0.0, 0.0}));
  const ExposureSnapshot s = c.snapshot();
  EXPECT_NEAR(s.exposure[0], 1.0, 1e-12);
  EXPECT_NEAR(s.exposure[1], 1.0 / std::log2(3.0) + 0.5, 1e-12);  // 1.1309
  EXPECT_NEAR(s.shares[0], 1.0 / 2.1309298, 1e-6);                // 0.4693
  EXPECT_NEAR(s.disparity, 0.5 - 1.0 / 2.1309298, 1e-6);          // 0.0307
  EXPECT_EQ(s.lists, 1);
  EXPECT_EQ(s.lists_adjusted, 1);
  EXPECT_EQ(s.positions_adjusted, 2);
}

// Tolerance 0.2: position 2: deficit 0.5 > 0.2, need 0.3 T = 0.639 > R = 0.5: item 3. Position 3:
// g1's deficit 0.113 and g0's excess 0.113 are inside the band, so the best, item 1, stands.
// List [0, 3, 1].
TEST(ExposureConstraint, InsideTheBandTheRankingStands) {
  ExposureConstraint c = Make({0.5, 0.5}, 0.2);
  EXPECT_EQ(c.Rerank(1, kScores, kGroups, 3), (std::vector<size_t>{0, 3, 1}));
  EXPECT_EQ(c.last_decision().adjusted_positions, (std::vector<int>{2}));
}

// A tolerance wider than any possible deficit never intervenes: the score order.
TEST(ExposureConstraint, WideToleranceIsTheUnconstrainedRanking) {
  ExposureConstraint c = Make({0.5, 0.5}, 0.9);
  EXPECT_EQ(c.Rerank(1, kScores, kGroups, 3), (std::vector<size_t>{0, 1, 2}));
  EXPECT_TRUE(c.last_decision().adjusted_positions.empty());
  EXPECT_EQ(c.snapshot().lists_adjusted, 0);
}

// A group with no candidates left cannot be forced: the next-most under-exposed one, or the ranking.
TEST(ExposureConstraint, GroupsWithoutCandidatesAreSkipped) {
  ExposureConstraint c = Make({0.5, 0.5}, 0.0);
  const std::vector<double> scores = {0.9, 0.8, 0.7};
  const std::vector<int> groups = {0, 0, 0};
  EXPECT_EQ(c.Rerank(1, scores, groups, 3), (std::vector<size_t>{0, 1, 2}));
  EXPECT_TRUE(c.last_decision().adjusted_positions.empty());
}

// The over-exposure rule. A committed list [g0, g0, g1, g2] leaves exposure g0 = 1 + 0.6309 =
// 1.6309, g1 = w(3) = 0.5, g2 = w(4) = 1/log2(5) = 0.4307; shares 0.637 / 0.195 / 0.168. Against
// targets 0.5 / 0.25 / 0.25 with tolerance 0.1: g0 is 0.137 over; g1 (deficit 0.055) and g2 (0.082)
// are not under. Planning a list of 1: placing g0 would leave it at (1.6309 + 1) / 3.5616 = 0.739
// > 0.6, so an unconstrained g0 pick yields to {g1, g2}; a g1 pick stands; and when only g0 has
// candidates nothing can be corrected.
TEST(ExposureConstraint, OverExposedGroupYieldsToTheOthers) {
  ExposureConstraint c = Make({0.5, 0.25, 0.25}, 0.1);
  const std::vector<int> list = {0, 0, 1, 2};
  c.Commit(c.Begin(1, 4), list);
  const ExposurePlan plan = c.Begin(2, 1);
  EXPECT_NEAR(plan.decision().shares_before[0], 1.6309298 / 2.5616, 1e-4);
  const std::vector<char> all = {1, 1, 1};
  EXPECT_EQ(plan.Allowed(0, all), (std::vector<char>{0, 1, 1}));
  EXPECT_EQ(plan.Allowed(1, all), (std::vector<char>{1, 1, 1}));
  const std::vector<char> only_g0 = {1, 0, 0};
  EXPECT_EQ(plan.Allowed(0, only_g0), (std::vector<char>{1, 1, 1}));
}

// Corrections wait for later positions when those can still make them. Same state, a list of 10:
// R = w(2) + ... + w(10) = 3.5436, T = 2.5616 + 1 + 3.5436 = 7.1052; g0 at position 1 ends at most
// at 2.6309 / 7.1052 = 0.370 <= 0.6, so position 1 keeps the unconstrained g0 pick.
TEST(ExposureConstraint, CorrectionsWaitForLaterPositions) {
  ExposureConstraint c = Make({0.5, 0.25, 0.25}, 0.1);
  const std::vector<int> list = {0, 0, 1, 2};
  c.Commit(c.Begin(1, 4), list);
  EXPECT_EQ(c.Begin(2, 10).Allowed(0, std::vector<char>{1, 1, 1}), (std::vector<char>{1, 1, 1}));
  // Two groups, targets 0.5/0.5, tolerance 0.1, after a served [g0]: g1 is under (share 0). In a
  // list of 10 (w = 1, .6309, .5, .4307, .3869, .3562, .3333, .3155, .3010, .2891; sum 4.5436),
  // T = 5.5436 and g1 needs 0.4 T = 2.2174. Positions 1-3 wait (R = 3.5436, 2.9127, 2.4127 >= the
  // need): g0's items 0, 1, 2. Position 4: R = 1.982 < 2.2174: g1 (item 10). Positions 5-9 likewise
  // (need 1.787 > R 1.595, 1.400 > 1.239, 1.044 > 0.906, 0.710 > 0.590, 0.395 > 0.289): items
  // 11-15. Position 10: g1's share 2.1236 / 5.2545 = 0.404 is back inside the band: g0's item 3.
  ExposureConstraint two = Make({0.5, 0.5}, 0.1);
  const std::vector<int> first = {0};
  two.Commit(two.Begin(1, 1), first);
  std::vector<double> scores;
  std::vector<int> groups;
  for (int i = 0; i < 20; ++i) {
    scores.push_back(100.0 - i);
    groups.push_back(i < 10 ? 0 : 1);
  }
  EXPECT_EQ(two.Rerank(2, scores, groups, 10), (std::vector<size_t>{0, 1, 2, 10, 11, 12, 13, 14, 15, 3}));
  EXPECT_EQ(two.last_decision().adjusted_positions, (std::vector<int>{4, 5, 6, 7, 8, 9}));
}

// Under-exposed groups: the largest deficit takes the position. After a committed [g0]: shares
// 1 / 0 / 0 against 0.2 / 0.3 / 0.5 (tolerance 0.05): g2's deficit 0.5 beats g1's 0.3.
TEST(ExposureConstraint, LargestDeficitFirst) {
  ExposureConstraint c = Make({0.2, 0.3, 0.5}, 0.05);
  const std::vector<int> list = {0};
  c.Commit(c.Begin(1, 1), list);
  const ExposurePlan plan = c.Begin(2, 1);
  EXPECT_EQ(plan.Allowed(0, std::vector<char>{1, 1, 1}), (std::vector<char>{0, 0, 1}));
  EXPECT_EQ(plan.Allowed(0, std::vector<char>{1, 1, 0}), (std::vector<char>{0, 1, 0}));
  // The unconstrained choice already serves an under-exposed group (g1): it stands.
  EXPECT_EQ(plan.Allowed(1, std::vector<char>{1, 1, 1}), (std::vector<char>{1, 1, 1}));
}

// Amortised: 20 candidates, the 10 of g0 all scored above the 10 of g1, k = 10, targets 0.5/0.5.
// Unconstrained every list is all g0 (disparity 0.5). With tolerance 0.02 the rule corrects the
// running share whenever it leaves [0.48, 0.52]; one list moves the cumulative share by at most
// its own weight (sum of w(1..10) = 4.54) over the total, so after 200 lists (total 908) the
// overshoot beyond the band is below 0.005.
TEST(ExposureConstraint, CumulativeSharesConvergeWithinTolerance) {
  std::vector<double> scores;
  std::vector<int> groups;
  for (int i = 0; i < 20; ++i) {
    scores.push_back(100.0 - i);
    groups.push_back(i < 10 ? 0 : 1);
  }
  ExposureConstraint free = Make({0.5, 0.5}, 0.99);
  ExposureConstraint fair = Make({0.5, 0.5}, 0.02);
  for (int r = 0; r < 200; ++r) {
    (void)free.Rerank(r, scores, groups, 10);
    (void)fair.Rerank(r, scores, groups, 10);
  }
  EXPECT_NEAR(free.snapshot().disparity, 0.5, 1e-12);
  const ExposureSnapshot s = fair.snapshot();
  EXPECT_LE(s.disparity, 0.02 + 0.005);
  EXPECT_EQ(s.lists, 200);
  EXPECT_GT(s.lists_adjusted, 150);
  // The snapshot's disparity is the fairness library's over its shares (one definition).
  EXPECT_DOUBLE_EQ(s.disparity, fairness::ExposureDisparity(s.shares, s.targets));
}

TEST(ExposureConstraint, OptionsAreValidatedByField) {
  auto sum = ExposureConstraint::Create({{0.5, 0.4}, 0.03});
  ASSERT_FALSE(sum.ok());
  EXPECT_NE(sum.status().message().find("targets must sum to 1"), std::string::npos) << sum.status().message();
  auto range = ExposureConstraint::Create({{1.1, -0.1}, 0.03});
  ASSERT_FALSE(range.ok());
  EXPECT_NE(range.status().message().find("targets[0]"), std::string::npos) << range.status().message();
  auto tol = ExposureConstraint::Create({{0.5, 0.5}, 1.0});
  ASSERT_FALSE(tol.ok());
  EXPECT_NE(tol.status().message().find("tolerance"), std::string::npos);
  EXPECT_FALSE(ExposureConstraint::Create({{}, 0.03}).ok());
}

TEST(ExposureConstraint, ConcurrentListsAreAllCommitted) {
  ExposureConstraint c = Make({0.5, 0.5}, 0.02);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&c, t] {
      for (int r = 0; r < 250; ++r) (void)c.Rerank(t * 1000 + r, kScores, kGroups, 3);
    });
  }
  for (auto& th : threads) th.join();
  const ExposureSnapshot s = c.snapshot();
  EXPECT_EQ(s.lists, 1000);
  EXPECT_NEAR(s.exposure[0] + s.exposure[1], 1000 * (1.0 + 1.0 / std::log2(3.0) + 0.5), 1e-6);
}

TEST(GroupShares, CatalogSharesPerGroup) {
  const std::vector<int> groups = {0, 0, 1, 2, -1};
  EXPECT_EQ(GroupShares(groups), (std::vector<double>{0.5, 0.25, 0.25}));
  EXPECT_TRUE(GroupShares(std::vector<int>{}).empty());
}

}  // namespace
}  // namespace steward::models
