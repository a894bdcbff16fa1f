// Statistics against an independent reference: tests/experiment/data/stats_reference.json was
// generated once with scipy 1.10 by make_stats_reference.py (next to it; seeded, re-runnable).
// Tolerance: 1e-9 relative (absolute 1e-12 near zero).
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "experiment/stats.h"

namespace steward::experiment {
namespace {

const nlohmann::json& Reference() {
  static const nlohmann::json j = [] {
    std::ifstream in(std::string(STEWARD_TEST_DATA_DIR) + "/experiment/data/stats_reference.json");
    return nlohmann::json::parse(in);
  }();
  return j;
}

void ExpectClose(double actual, double expected, const std::string& what) {
  const double tol = std::max(1e-12, 1e-9 * std::fabs(expected));
  EXPECT_NEAR(actual, expected, tol) << what;
}

TEST(StatsReference, TwoProportionZTest) {
  const auto& cases = Reference()["proportions"];
  ASSERT_EQ(cases.size(), 60u);
  for (const auto& c : cases) {
    auto r = TwoProportionTest(c["xa"], c["na"], c["xb"], c["nb"], c["alpha"]);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    const std::string id = c.dump().substr(0, 80);
    ExpectClose(r->z, c["z"], "z " + id);
    ExpectClose(r->p_value, c["p_value"], "p " + id);
    ExpectClose(r->diff, c["diff"], "diff " + id);
    ExpectClose(r->ci_low, c["ci_low"], "ci_low " + id);
    ExpectClose(r->ci_high, c["ci_high"], "ci_high " + id);
    ExpectClose(r->rel_lift, c["rel_lift"], "rel_lift " + id);
  }
}

TEST(StatsReference, WelchTTest) {
  const auto& cases = Reference()["means"];
  ASSERT_EQ(cases.size(), 60u);
  for (const auto& c : cases) {
    auto r = WelchTest(c["a"][0], c["a"][1], c["a"][2], c["b"][0], c["b"][1], c["b"][2], c["alpha"]);
    ASSERT_TRUE(r.ok());
    const std::string id = c.dump().substr(0, 80);
    ExpectClose(r->t, c["t"], "t " + id);
    ExpectClose(r->df, c["df"], "df " + id);
    ExpectClose(r->p_value, c["p_value"], "p " + id);
    ExpectClose(r->ci_low, c["ci_low"], "ci_low " + id);
    ExpectClose(r->ci_high, c["ci_high"], "ci_high " + id);
  }
}

TEST(StatsReference, SrmChiSquare) {
  const auto& cases = Reference()["srm"];
  ASSERT_EQ(cases.size(), 40u);
  for (const auto& c : cases) {
    const auto counts = c["counts"].get<std::vector<double>>();
    const auto weights = c["weights"].get<std::vector<double>>();
    auto r = SampleRatioMismatch(counts, weights);
    ASSERT_TRUE(r.ok());
    ExpectClose(r->chi2, c["chi2"], "chi2 " + c.dump().substr(0, 60));
    ExpectClose(r->p_value, c["p_value"], "p " + c.dump().substr(0, 60));
    EXPECT_EQ(r->mismatch, c["p_value"].get<double>() < 0.001);
  }
}

TEST(StatsReference, SampleSize) {
  const auto& cases = Reference()["sample_size"];
  ASSERT_GT(cases.size(), 30u);
  for (const auto& c : cases) {
    auto n = SampleSizePerArm(c["baseline"], c["mde"], c["alpha"], c["power"]);
    ASSERT_TRUE(n.ok());
    EXPECT_EQ(*n, c["n_per_arm"].get<int64_t>()) << c.dump();
  }
}

TEST(StatsReference, BinomialTest) {
  for (const auto& c : Reference()["binomial"]) {
    auto p = BinomialTestTwoSided(c["k"], c["n"], c["p"]);
    ASSERT_TRUE(p.ok());
    ExpectClose(*p, c["p_value"], c.dump());
  }
}

TEST(StatsReference, DeltaMethodRatio) {
  for (const auto& c : Reference()["ratio"]) {
    RatioSums a, b;
    const auto xa = c["a"]["x"].get<std::vector<double>>(), ya = c["a"]["y"].get<std::vector<double>>();
    const auto xb = c["b"]["x"].get<std::vector<double>>(), yb = c["b"]["y"].get<std::vector<double>>();
    for (size_t i = 0; i < xa.size(); ++i) a.Add(xa[i], ya[i]);
    for (size_t i = 0; i < xb.size(); ++i) b.Add(xb[i], yb[i]);
    // Streaming sums lose a little precision against numpy's two-pass covariance: 1e-7 relative.
    EXPECT_NEAR(DeltaMethodVariance(a), c["var_a"].get<double>(), 1e-7 * c["var_a"].get<double>());
    EXPECT_NEAR(DeltaMethodVariance(b), c["var_b"].get<double>(), 1e-7 * c["var_b"].get<double>());
    auto r = RatioTest(a, b);
    ASSERT_TRUE(r.ok());
    ExpectClose(r->diff, c["diff"], "diff");
    EXPECT_NEAR(r->z, c["z"].get<double>(), 1e-7 * std::fabs(c["z"].get<double>()) + 1e-12);
  }
}

TEST(Stats, SrmNeedsEightPerArmBeforeFlagging) {
  // Counts 7 and 0 against 50/50 are wildly off (p = 0.0082) but not yet flagged: the arm has < 8.
  const std::vector<double> w = {0.5, 0.5};
  EXPECT_FALSE(SampleRatioMismatch(std::vector<double>{7, 0}, w)->mismatch);
  EXPECT_TRUE(SampleRatioMismatch(std::vector<double>{1000, 800}, w)->mismatch);  // chi2 = 22.2
  EXPECT_FALSE(SampleRatioMismatch(std::vector<double>{1000, 990}, w)->mismatch);
}

TEST(Stats, HolmMatchesHandComputation) {
  // m = 4: sorted 0.01, 0.02, 0.03, 0.04 -> 0.04, 0.06, 0.06, 0.06 (running max of 4p, 3p, 2p, 1p).
  const std::vector<double> p = {0.03, 0.01, 0.04, 0.02};
  const auto adj = HolmAdjust(p);
  EXPECT_DOUBLE_EQ(adj[1], 0.04);
  EXPECT_DOUBLE_EQ(adj[3], 0.06);
  EXPECT_DOUBLE_EQ(adj[0], 0.06);
  EXPECT_DOUBLE_EQ(adj[2], 0.06);
  EXPECT_DOUBLE_EQ(HolmAdjust(std::vector<double>{0.5, 0.9})[1], 1.0);
}

TEST(Stats, CupedReducesVarianceWithoutBias) {
  // y = x + small noise: the covariate explains almost everything, theta ~ 1.
  std::vector<double> xa, ya, xb, yb;
  for (int i = 0; i < 400; ++i) {
    const double x = (i * 37 % 101) / 10.0, noise = ((i * 13) % 7 - 3) / 100.0;
    xa.push_back(x);
    ya.push_back(x + noise);
    xb.push_back(x);
    yb.push_back(x + noise + 0.05);
  }
  auto r = CupedTest(ya, xa, yb, xb);
  ASSERT_TRUE(r.ok());
  EXPECT_NEAR(r->theta, 1.0, 0.01);
  EXPECT_GT(r->variance_reduction, 0.99);
  EXPECT_NEAR(r->test.diff, 0.05, 1e-9);
  EXPECT_LT(r->test.p_value, 1e-10);
}

TEST(Stats, MsprtFormulasMatchHandValues) {
  // diff = 0: two-sided L = sqrt(V/(V+tau2)); with V = 1, tau2 = 3 -> 0.5.
  EXPECT_DOUBLE_EQ(MsprtLikelihoodRatio(0, 1, 3), 0.5);
  // diff = 2, V = 1, tau2 = 3: 0.5 * exp(3*4/(2*1*4)) = 0.5 e^1.5.
  EXPECT_NEAR(MsprtLikelihoodRatio(2, 1, 3), 0.5 * std::exp(1.5), 1e-12);
  // One-sided at diff = 0 is 2 * 0.5 * Phi(0) = 0.5; harmful diffs raise it, helpful ones lower it.
  EXPECT_NEAR(MsprtOneSidedHarmRatio(0, 1, 3), 0.5, 1e-12);
  EXPECT_NEAR(MsprtOneSidedHarmRatio(-2, 1, 3), 0.5 * std::exp(1.5) * 2 * NormalCdf(2 * std::sqrt(3.0) / 2), 1e-9);
  EXPECT_LT(MsprtOneSidedHarmRatio(2, 1, 3), MsprtOneSidedHarmRatio(-2, 1, 3));
  // The two halves of the one-sided mixture add up to twice the two-sided one.
  EXPECT_NEAR(MsprtOneSidedHarmRatio(-1.3, 0.7, 2) + MsprtOneSidedHarmRatio(1.3, 0.7, 2),
              2 * MsprtLikelihoodRatio(1.3, 0.7, 2), 1e-12);
}

TEST(Stats, WilsonIntervalMatchesPublishedValues) {
  // Newcombe (1998), "Two-sided confidence intervals for the single proportion", Table I:
  // 81/263 -> 0.2553 to 0.3662; 15/148 -> 0.0624 to 0.1605; 0/20 -> 0 to 0.1611.
  auto a = WilsonInterval(81, 263).value();
  EXPECT_NEAR(a.low, 0.2553, 5e-5);
  EXPECT_NEAR(a.high, 0.3662, 5e-5);
  auto b = WilsonInterval(15, 148).value();
  EXPECT_NEAR(b.low, 0.0624, 5e-5);
  EXPECT_NEAR(b.high, 0.1605, 5e-5);
  auto c = WilsonInterval(0, 20).value();
  EXPECT_NEAR(c.low, 0.0, 1e-12);
  EXPECT_NEAR(c.high, 0.1611, 5e-5);
  EXPECT_FALSE(WilsonInterval(3, 2).ok());
}

TEST(Stats, InputErrorsAreClear) {
  EXPECT_EQ(TwoProportionTest(5, 0, 1, 10).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(TwoProportionTest(11, 10, 1, 10).status().code(), StatusCode::kInvalidArgument);
  EXPECT_FALSE(WelchTest(1, 1, 1, 2, 1, 10).ok());
  EXPECT_FALSE(SampleRatioMismatch(std::vector<double>{1, 2}, std::vector<double>{1}).ok());
  EXPECT_FALSE(SampleSizePerArm(0.1, 0, 0.05, 0.8).ok());
  EXPECT_FALSE(SampleSizePerArm(0.1, 0.1, 1.5, 0.8).ok());
}

// Issue #15 item 5: numeric edges give an error or an answer flagged as undefined, never a wrong
// number or an abort.

// --alpha 1e-300 aborted (Boost.Math overflow: 1 - alpha/2 rounds to 1). The critical value comes
// from the upper tail. Reference: Python 3.11 statistics.NormalDist().inv_cdf(5e-301) = -37.06578788077212
// (Wichura's AS241, an implementation independent of Boost), and inv_cdf(0.025) = -1.9599639845400538.
TEST(Stats, TinyAlphaUsesTheUpperTail) {
  ExpectClose(TwoSidedCriticalValue(1e-300), 37.06578788077212, "z at alpha 1e-300");
  ExpectClose(TwoSidedCriticalValue(0.05), 1.9599639845400538, "z at alpha 0.05");
  auto r = TwoProportionTest(120, 1000, 150, 1000, 1e-300);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const double se = std::sqrt(0.12 * 0.88 / 1000 + 0.15 * 0.85 / 1000);  // Wald, by hand
  ExpectClose(r->ci_high, 0.03 + 37.06578788077212 * se, "ci_high at alpha 1e-300");
  EXPECT_TRUE(WelchTest(10, 3, 100, 11, 3.5, 120, 1e-300).ok());
  EXPECT_TRUE(WilsonInterval(3, 10, 1e-300).ok());
  EXPECT_TRUE(SampleSizePerArm(0.05, 0.1, 1e-300, 0.8).ok());
}

// `--a 0/10 --b 10/10` printed rel_lift 0 with CI [0, 0]; `--a 1/1 --b 0/1` a CI of [-1, -1] beside
// p = 0.157. z and p by hand: pooled 0.5, se = sqrt(0.25 * (1/10 + 1/10)), z = 1 / se = 4.4721...;
// p = erfc(z / sqrt 2) (Python math.erfc: 7.744216431044096e-06, and erfc(1) = 0.15729920705028513).
TEST(Stats, BoundaryProportionsAreFlaggedUndefinedNotZero) {
  auto r = TwoProportionTest(0, 10, 10, 10);
  ASSERT_TRUE(r.ok());
  EXPECT_DOUBLE_EQ(r->diff, 1.0);
  ExpectClose(r->z, 1.0 / std::sqrt(0.25 * 0.2), "z 0/10 vs 10/10");
  ExpectClose(r->p_value, 7.744216431044096e-06, "p 0/10 vs 10/10");
  EXPECT_TRUE(std::isnan(r->rel_lift) && std::isnan(r->rel_ci_low) && std::isnan(r->rel_ci_high));
  EXPECT_TRUE(std::isnan(r->ci_low) && std::isnan(r->ci_high));
  EXPECT_EQ(r->undefined.count("rel_lift"), 1u);
  EXPECT_EQ(r->undefined.count("ci"), 1u);

  auto one = TwoProportionTest(1, 1, 0, 1);
  ASSERT_TRUE(one.ok());
  ExpectClose(one->p_value, 0.15729920705028513, "p 1/1 vs 0/1");
  EXPECT_TRUE(std::isnan(one->ci_low) && std::isnan(one->ci_high));
  EXPECT_DOUBLE_EQ(one->rel_lift, -1.0);  // defined: (0 - 1) / 1
  EXPECT_EQ(one->undefined.count("ci"), 1u);
  EXPECT_EQ(one->undefined.count("rel_lift"), 0u);

  auto same = TwoProportionTest(0, 10, 0, 10);
  ASSERT_TRUE(same.ok());
  EXPECT_TRUE(std::isnan(same->z) && std::isnan(same->p_value));
  EXPECT_EQ(same->undefined.count("z"), 1u);

  auto usual = TwoProportionTest(0, 10, 3, 10);  // one arm at 0: the Wald interval is still defined
  ASSERT_TRUE(usual.ok());
  EXPECT_TRUE(usual->undefined.count("ci") == 0 && usual->ci_high > usual->ci_low);
}

// UBSan: signed overflow at stats.cc:54 (xa + xb) for counts near INT64_MAX.
TEST(Stats, CountsNearInt64MaxDoNotOverflow) {
  const int64_t n = INT64_MAX, x = INT64_MAX / 2;
  auto r = TwoProportionTest(x, n, x, n);
  ASSERT_TRUE(r.ok());
  EXPECT_NEAR(r->diff, 0.0, 1e-12);
}

TEST(Stats, OverflowingMeansAndTinySampleSizesAreErrors) {
  auto huge = WelchTest(1e308, 1, 10, -1e308, 1, 10);
  EXPECT_EQ(huge.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(huge.status().message().find("overflows a double"), std::string::npos) << huge.status().message();
  EXPECT_EQ(WelchTest(1, 1e200, 10, 2, 1, 10).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(WelchTest(1, 1e-200, 10, 2, 1e-200, 10).status().code(), StatusCode::kInvalidArgument);
  EXPECT_FALSE(WelchTest(std::nan(""), 1, 10, 2, 1, 10).ok());
  // --mde 1e-12 printed n_per_arm -9223372036854775808: it needs ~3e26 users per arm.
  auto n = SampleSizePerArm(0.05, 1e-12, 0.05, 0.8);
  ASSERT_FALSE(n.ok());
  EXPECT_EQ(n.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(n.status().message().find("more than 2^53"), std::string::npos) << n.status().message();
}

}  // namespace
}  // namespace steward::experiment
