#include "shadow/slate_ope.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "common/rng.h"

namespace steward::shadow {
namespace {

TEST(SlateOpe, PositionBasedWeightByHand) {
  // 0.5 * 1 / (0.8 * 0.25) = 2.5; crediting half of the mass to this position halves it.
  EXPECT_DOUBLE_EQ(PositionBasedWeight(0.5, 0.8, 0.25, 1.0), 2.5);
  EXPECT_DOUBLE_EQ(PositionBasedWeight(0.5, 0.8, 0.25, 0.5), 1.25);
  EXPECT_DOUBLE_EQ(PositionBasedWeight(0.5, 0.0, 0.25, 1.0), 0.0);
}

// Two lists of two positions, with a hand-set click model: theta = (1, 0.5), attraction 1: 0.2,
// 2: 0.1, 3: 0.4, every other item 0.05 (the global prior).
TEST(SlateOpe, EstimatesMatchHandComputations) {
  PositionBasedModel m;
  m.examination = {1.0, 0.5};
  m.attraction = {{1, 0.2}, {2, 0.1}, {3, 0.4}};
  m.global_attraction = 0.05;
  std::vector<LoggedSlate> logs(2);
  logs[0] = {{1, 2}, {1.0, 0.5}, {1, 0}, {2, 3}};
  logs[1] = {{3, 4}, {0.9, 1e-4}, {0, 1}, {3, 4}};
  SlateOpeOptions o;  // tau 100
  auto e = EstimateSlateValue(logs, m, o);
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  // List 0: DM = 1 * 0.1 + 0.5 * 0.4 = 0.3. Item 1 is not in the target (weight 0); item 2 is the
  // target's position 1: G = 1, w = 1 / (0.5 * 0.5) = 4, no click: DR = 0.3 + 4 (0 - 0.5 * 0.1) = 0.1.
  // List 1: DM = 1 * 0.4 + 0.5 * 0.05 = 0.425. Item 3: G = 1, w = 1 / 0.9, no click:
  // DR = 0.425 - 0.4 / 0.9 = -0.0194444. Item 4 (explored, p 1e-4): G = 0.5, w = 0.5 / (1e-4 * 0.5)
  // = 10000 > tau, so DR leaves it to the model; IPS takes its click: 10000.
  EXPECT_DOUBLE_EQ(e->logged.value, 1.0);
  EXPECT_NEAR(e->dm.value, (0.3 + 0.425) / 2, 1e-12);
  EXPECT_NEAR(e->ips.value, 5000.0, 1e-9);
  const double dr0 = 0.1, dr1 = 0.425 - 0.4 / 0.9;
  EXPECT_NEAR(e->dr.value, (dr0 + dr1) / 2, 1e-12);
  // CLT interval: sample sd of {dr0, dr1} / sqrt(2) = |dr0 - dr1| / 2.
  const double se = std::fabs(dr0 - dr1) / 2;
  EXPECT_NEAR(e->dr.ci_low, (dr0 + dr1) / 2 - 1.959963984540054 * se, 1e-9);
  EXPECT_NEAR(e->dr.ci_high, (dr0 + dr1) / 2 + 1.959963984540054 * se, 1e-9);
  // Lift: sum DR / sum logged - 1.
  EXPECT_NEAR(e->lift.value, (dr0 + dr1) / 2 - 1, 1e-12);
  // Target examination mass 3 (1.5 per list); supported: item 2 (1) and item 3 (1).
  EXPECT_NEAR(e->supported_share, 2.0 / 3.0, 1e-12);
  EXPECT_EQ(e->switched_rows, 1);
  EXPECT_EQ(e->supported_clicks, 0);
  EXPECT_DOUBLE_EQ(e->max_weight, 10000.0);
  EXPECT_TRUE(e->logged.ci_undefined.size() > 0);  // both lists had one click: no variance
}

TEST(SlateOpe, RejectsBadInput) {
  SlateOpeOptions o;
  EXPECT_FALSE(FitPositionBasedModel({}, o).ok());
  std::vector<LoggedSlate> logs = {{{1}, {0.0}, {0}, {1}}};
  EXPECT_FALSE(FitPositionBasedModel(logs, o).ok());
  logs = {{{1, 2}, {1.0}, {0, 0}, {1}}};
  EXPECT_FALSE(FitPositionBasedModel(logs, o).ok());
}

// A synthetic log whose true value is known. 50 items with attraction alpha(a); examination theta =
// (1, 0.6, 0.4, 0.3, 0.25). Each request's greedy list is 5 of the items 0..19 in random order; an
// epsilon-greedy logger (epsilon 0.2) replaces each position by a uniform item of the 50 with the
// propensities baseline-egreedy logs. The evaluated policy re-ranks the greedy list by true
// attraction, so every target item has support; its true value is sum_j theta_j alpha(h_j),
// averaged over requests (exact, no clicks drawn).
struct Synthetic {
  std::vector<LoggedSlate> logs;
  double truth = 0;
  std::vector<double> theta = {1.0, 0.6, 0.4, 0.3, 0.25};
  std::vector<double> alpha;
};

// With `contexts`, half the requests come from users who like the items twice as much as the
// others do (context 1: attraction x 1.5, context 0: x 0.5), and their greedy lists hold the same
// items: context explains part of the clicks that a context-free model would give to the items.
Synthetic MakeSynthetic(int requests, uint64_t seed, bool contexts = false) {
  Synthetic s;
  Rng rng(seed);
  for (int a = 0; a < 50; ++a) s.alpha.push_back(0.02 + 0.3 * rng.Uniform());
  const double eps = 0.2;
  std::vector<int64_t> pool(20);
  double truth = 0;
  for (int r = 0; r < requests; ++r) {
    std::iota(pool.begin(), pool.end(), 0);
    for (size_t i = 0; i < 5; ++i) std::swap(pool[i], pool[i + rng.UniformInt(pool.size() - i)]);
    std::vector<int64_t> greedy(pool.begin(), pool.begin() + 5);
    LoggedSlate log;
    const uint8_t context = contexts ? static_cast<uint8_t>(rng.Bernoulli(0.5)) : 0;
    const double factor = contexts ? (context ? 1.5 : 0.5) : 1.0;
    for (size_t k = 0; k < 5; ++k) {
      int64_t item = greedy[k];
      if (rng.Bernoulli(eps)) {
        do {
          item = static_cast<int64_t>(rng.UniformInt(50));
        } while (std::find(log.items.begin(), log.items.end(), item) != log.items.end() ||
                 std::find(greedy.begin() + static_cast<long>(k), greedy.end(), item) != greedy.end());
      }
      log.items.push_back(item);
      log.propensity.push_back((item == greedy[k] ? 1 - eps : 0.0) + eps / 50);
      log.clicks.push_back(rng.Bernoulli(s.theta[k] * s.alpha[static_cast<size_t>(item)] * factor) ? 1 : 0);
      if (contexts) log.item_context.push_back(context);
    }
    if (contexts) log.target_context.assign(5, context);
    log.target = greedy;
    std::sort(log.target.begin(), log.target.end(),
              [&](int64_t x, int64_t y) { return s.alpha[static_cast<size_t>(x)] > s.alpha[static_cast<size_t>(y)]; });
    for (size_t j = 0; j < 5; ++j) truth += s.theta[j] * s.alpha[static_cast<size_t>(log.target[j])] * factor;
    s.logs.push_back(std::move(log));
  }
  s.truth = truth / requests;
  return s;
}

TEST(SlateOpe, RecoversKnownValueOnSyntheticLog) {
  const Synthetic s = MakeSynthetic(30000, 7);
  SlateOpeOptions o;
  auto m = FitPositionBasedModel(s.logs, o);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  // EM recovers the examination curve (theta_1 = 1 by construction).
  ASSERT_EQ(m->examination.size(), 5u);
  for (size_t k = 0; k < 5; ++k) EXPECT_NEAR(m->examination[k], s.theta[k], 0.05) << "position " << k + 1;
  auto e = EstimateSlateValue(s.logs, *m, o);
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  // Over seeds 1-7 of this log DR's error was +3.1%, +0.6%, -1.3%, -0.4%, -2.6%, +1.4%, -2.4% (seed 7,
  // this one): no visible bias, but its CLT interval (+-2.2%) missed the truth on 2 of 7 seeds,
  // since it treats the fitted click model as fixed (slate_ope.h says so).
  EXPECT_NEAR(e->dr.value, s.truth, 0.04 * s.truth);
  EXPECT_LT(e->dr.ci_low, e->dr.value);
  EXPECT_GT(e->dr.ci_high, e->dr.value);
  EXPECT_NEAR(e->dm.value, s.truth, 0.05 * s.truth);
  EXPECT_GT(e->supported_share, 0.75);  // the greedy items, shown with probability 0.8
  // The re-ranking by attraction beats the logged random order.
  EXPECT_GT(e->lift.value, 0.0);

  // Doubly robust: with a reward model that doubles every attraction, DM is far off but DR, whose
  // target items are all supported, stays close.
  PositionBasedModel wrong = *m;
  for (auto& [item, a] : wrong.attraction) a *= 2;
  auto w = EstimateSlateValue(s.logs, wrong, o);
  ASSERT_TRUE(w.ok());
  EXPECT_GT(w->dm.value, 1.6 * s.truth);
  EXPECT_NEAR(w->dr.value, s.truth, 0.04 * s.truth);
}

TEST(SlateOpe, ContextFactorsOnSyntheticLog) {
  const Synthetic s = MakeSynthetic(30000, 11, /*contexts=*/true);
  SlateOpeOptions o;
  auto m = FitPositionBasedModel(s.logs, o);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  ASSERT_EQ(m->context_factor.size(), 2u);
  // True factors 0.5 and 1.5 (mean 1 over impressions): their ratio is 3.
  EXPECT_NEAR(m->context_factor[1] / m->context_factor[0], 3.0, 0.3);
  for (size_t k = 0; k < 5; ++k) EXPECT_NEAR(m->examination[k], s.theta[k], 0.05) << "position " << k + 1;
  auto e = EstimateSlateValue(s.logs, *m, o);
  ASSERT_TRUE(e.ok());
  EXPECT_NEAR(e->dr.value, s.truth, 0.04 * s.truth);
  EXPECT_NEAR(e->dm.value, s.truth, 0.05 * s.truth);
  ASSERT_EQ(e->context_factor.size(), 2u);
}

}  // namespace
}  // namespace steward::shadow
