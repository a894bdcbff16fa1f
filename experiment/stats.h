// Statistics for experiments: pure functions over plain data (Boost.Math for distributions).
// All tests are two-sided at level alpha unless stated; `diff` is always b - a (treatment minus
// control). Every function validates its input and returns kInvalidArgument naming the problem.
// References for each formula are next to its declaration; tests/experiment/stats_test.cc checks
// them against a scipy-generated table (tests/experiment/data/stats_reference.json).
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "common/status.h"

namespace steward::experiment {

// Standard normal helpers. Boost.Math is used with a policy that never throws: a quantile outside
// (0, 1) is NaN or infinite, which callers check, instead of an exception that aborts a command.
double NormalCdf(double x);
double NormalQuantile(double p);
// z_{1 - alpha/2}, computed from the upper tail so that any alpha in (0, 1) is exact, however small
// (1 - 1e-300 / 2 rounds to 1 in double, where the quantile is infinite; the tail form gives 37.07).
double TwoSidedCriticalValue(double alpha);

// Where a statistic is undefined for the data (e.g. a relative lift over a control rate of 0, or
// an interval whose standard error is 0), its fields hold NaN - JSON null when printed - and
// `undefined` maps a short name of what is undefined ("ci", "rel_lift", "rel_ci", "z") to why.
using Undefined = std::map<std::string, std::string>;

struct ProportionsResult {
  double z = 0, p_value = 1, diff = 0, ci_low = 0, ci_high = 0;
  double rel_lift = 0;                    // (pb - pa) / pa
  double rel_ci_low = 0, rel_ci_high = 0;  // delta-method interval of the relative lift
  Undefined undefined;  // "z" (z and p_value), "ci", "rel_lift" (with rel_ci), "rel_ci"
};
// Two-proportion z-test with the pooled standard error for z and the p-value; the interval of
// the difference uses the unpooled (Wald) standard error. Undefined: z and p when both arms have
// the same rate of 0 or 1 (pooled standard error 0); the interval when both rates are 0 or 1 (Wald
// standard error 0: the interval would be one point); the relative lift when the control rate is 0.
StatusOr<ProportionsResult> TwoProportionTest(int64_t xa, int64_t na, int64_t xb, int64_t nb, double alpha = 0.05);

struct MeansResult {
  double t = 0, df = 0, p_value = 1, diff = 0, ci_low = 0, ci_high = 0;
};
// Welch's unequal-variance t-test from summary statistics (as scipy.stats.ttest_ind_from_stats
// with equal_var=False, called with b first); Welch-Satterthwaite degrees of freedom. Errors
// (kInvalidArgument) for non-finite input and for values so large that the difference or its
// variance overflows a double.
StatusOr<MeansResult> WelchTest(double mean_a, double sd_a, double n_a, double mean_b, double sd_b, double n_b,
                                double alpha = 0.05);

struct SrmResult {
  double chi2 = 0, p_value = 1;
  bool mismatch = false;  // p < threshold and every arm has at least min_per_arm units
};
// Sample-ratio mismatch: Pearson chi-square goodness of fit of observed counts to the configured
// weights (k - 1 degrees of freedom). GrowthBook's rule: flag at p < 0.001 once each arm has >= 8.
StatusOr<SrmResult> SampleRatioMismatch(std::span<const double> counts, std::span<const double> weights,
                                        double threshold = 0.001, double min_per_arm = 8);

// Users per arm for a two-sided two-proportion test to detect a relative change `mde_rel` from
// `baseline_rate` with the given alpha and power (Fleiss' formula without continuity correction):
// n = (z_{1-a/2} sqrt(2 pbar qbar) + z_{power} sqrt(p1 q1 + p2 q2))^2 / (p2 - p1)^2, rounded up.
// Errors when n exceeds 2^53 (an effect too small to detect with any real sample).
StatusOr<int64_t> SampleSizePerArm(double baseline_rate, double mde_rel, double alpha, double power);

// Streaming per-unit sums for a ratio metric (e.g. clicks per exposure with users as the
// randomisation unit): each unit contributes numerator x_u and denominator y_u.
struct RatioSums {
  double n = 0, sx = 0, sy = 0, sxx = 0, syy = 0, sxy = 0;
  void Add(double x, double y);
  double ratio() const { return sy > 0 ? sx / sy : 0.0; }
};

// Delta-method variance of the ratio sum(x)/sum(y) over n units (Deng, Knoblich, Lu 2018,
// "Applying the Delta Method in Metric Analytics", eq. 3):
//   Var(R) ~ (1 / (n mu_y^2)) (s_xx - 2 R s_xy + R^2 s_yy), with sample (co)variances.
double DeltaMethodVariance(const RatioSums& s);

struct RatioResult {
  double ratio_a = 0, ratio_b = 0, diff = 0, se = 0, z = 0, p_value = 1, ci_low = 0, ci_high = 0;
  double rel_lift = 0, rel_ci_low = 0, rel_ci_high = 0;
};
// z-test of the difference of two ratio metrics with delta-method variances; relative lift
// interval by the delta method: Var(Rb/Ra) ~ Var_b/Ra^2 + Rb^2 Var_a / Ra^4.
StatusOr<RatioResult> RatioTest(const RatioSums& a, const RatioSums& b, double alpha = 0.05);

// CUPED (Deng, Xu, Kohavi, Walker 2013): y_adj = y - theta (x - mean(x)) with
// theta = cov(x, y) / var(x) pooled over both arms; then Welch's test on the adjusted values.
struct CupedResult {
  double theta = 0;
  double variance_reduction = 0;  // 1 - var(y_adj) / var(y), pooled
  MeansResult test;
};
StatusOr<CupedResult> CupedTest(std::span<const double> y_a, std::span<const double> x_a, std::span<const double> y_b,
                                std::span<const double> x_b, double alpha = 0.05);

// Holm's step-down adjusted p-values (Holm 1979): sort ascending, p_(i) * (m - i + 1), running max,
// capped at 1; returned in the input order.
std::vector<double> HolmAdjust(std::span<const double> p_values);

// Mixture sequential probability ratio test (Johari, Koomen, Pekelis, Walsh 2017, "Peeking at A/B
// tests"), normal approximation. For an estimate `diff` of the effect with variance `variance`,
// and a N(0, tau^2) mixing prior:
//   two-sided:  L = sqrt(V/(V+tau2)) exp(tau2 diff^2 / (2 V (V+tau2)))
//   one-sided (harm is diff < 0, prior restricted to that half):
//               L = 2 sqrt(V/(V+tau2)) exp(tau2 diff^2 / (2 V (V+tau2))) Phi(-diff tau / sqrt(V (V+tau2)))
// L is a non-negative martingale under the null, so by Ville's inequality rejecting when
// L >= 1/alpha, checked after every observation, keeps the false-alarm rate below alpha however
// often one looks. The always-valid p-value is min over looks of 1/L.
double MsprtLikelihoodRatio(double diff, double variance, double tau2);
double MsprtOneSidedHarmRatio(double diff, double variance, double tau2);

// Running always-valid monitor for one guardrail: feed (diff, variance) at each look.
class SequentialMonitor {
 public:
  // tau2: mixing variance, on the scale of the effect (a good default: the square of the smallest
  // harmful effect worth catching). one_sided: watch for diff < 0 only.
  SequentialMonitor(double alpha, double tau2, bool one_sided) : alpha_(alpha), tau2_(tau2), one_sided_(one_sided) {}
  // Returns true once the null (no harm) is rejected; stays true afterwards.
  bool Update(double diff, double variance);
  double p_value() const { return p_value_; }
  bool rejected() const { return rejected_; }
  int64_t looks() const { return looks_; }

 private:
  double alpha_, tau2_;
  bool one_sided_;
  double p_value_ = 1.0;
  bool rejected_ = false;
  int64_t looks_ = 0;
};

// Wilson score interval for a proportion of k successes in n trials (Wilson 1927), two-sided at
// alpha: (p + z^2/2n +- z sqrt(p(1-p)/n + z^2/4n^2)) / (1 + z^2/n). Good for small counts.
struct Interval {
  double low = 0, high = 0;
};
StatusOr<Interval> WilsonInterval(int64_t k, int64_t n, double alpha = 0.05);

// Two-sided exact binomial test of k successes in n trials against p (as scipy.stats.binomtest):
// the p-value sums the probabilities of all outcomes no more likely than k.
StatusOr<double> BinomialTestTwoSided(int64_t k, int64_t n, double p = 0.5);

}  // namespace steward::experiment
