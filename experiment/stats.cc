#include "experiment/stats.h"

#include <algorithm>
#include <boost/math/distributions/binomial.hpp>
#include <boost/math/distributions/chi_squared.hpp>
#include <boost/math/distributions/normal.hpp>
#include <boost/math/distributions/students_t.hpp>
#include <cmath>
#include <cstdio>
#include <limits>
#include <numeric>
#include <string>

namespace steward::experiment {
namespace {

// Errors become NaN/inf results (checked by the callers) instead of exceptions.
using NoThrow = boost::math::policies::policy<
    boost::math::policies::domain_error<boost::math::policies::errno_on_error>,
    boost::math::policies::pole_error<boost::math::policies::errno_on_error>,
    boost::math::policies::overflow_error<boost::math::policies::errno_on_error>,
    boost::math::policies::underflow_error<boost::math::policies::ignore_error>,
    boost::math::policies::evaluation_error<boost::math::policies::errno_on_error>,
    boost::math::policies::rounding_error<boost::math::policies::errno_on_error>>;
using Normal = boost::math::normal_distribution<double, NoThrow>;
using StudentsT = boost::math::students_t_distribution<double, NoThrow>;
using ChiSquared = boost::math::chi_squared_distribution<double, NoThrow>;
using Binomial = boost::math::binomial_distribution<double, NoThrow>;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

const Normal& StdNormal() {
  static const Normal n(0.0, 1.0);
  return n;
}

Status CheckAlpha(double alpha) {
  if (!(alpha > 0.0 && alpha < 1.0)) return InvalidArgument("alpha must be in (0, 1), got " + std::to_string(alpha));
  return Status::Ok();
}

double TwoSidedNormalP(double z) { return 2.0 * boost::math::cdf(boost::math::complement(StdNormal(), std::fabs(z))); }

struct Moments {
  double mean = 0, var = 0;  // sample variance (n - 1)
};

Moments MomentsOf(std::span<const double> v) {
  Moments m;
  if (v.empty()) return m;
  m.mean = std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
  if (v.size() > 1) {
    double ss = 0;
    for (double x : v) ss += (x - m.mean) * (x - m.mean);
    m.var = ss / static_cast<double>(v.size() - 1);
  }
  return m;
}

}  // namespace

double NormalCdf(double x) { return boost::math::cdf(StdNormal(), x); }
double NormalQuantile(double p) { return boost::math::quantile(StdNormal(), p); }
double TwoSidedCriticalValue(double alpha) { return boost::math::quantile(boost::math::complement(StdNormal(), alpha / 2)); }

StatusOr<ProportionsResult> TwoProportionTest(int64_t xa, int64_t na, int64_t xb, int64_t nb, double alpha) {
  RETURN_IF_ERROR(CheckAlpha(alpha));
  if (na <= 0 || nb <= 0) return InvalidArgument("each arm needs N > 0 (write X/N with N the number of units)");
  if (xa < 0 || xb < 0 || xa > na || xb > nb) return InvalidArgument("successes X must satisfy 0 <= X <= N in each arm");
  // Counts in double: xa + xb and na + nb overflow int64 for counts near its limit.
  const double fxa = static_cast<double>(xa), fna = static_cast<double>(na);
  const double fxb = static_cast<double>(xb), fnb = static_cast<double>(nb);
  const double pa = fxa / fna, pb = fxb / fnb;
  const double pooled = (fxa + fxb) / (fna + fnb);
  const double se_pooled = std::sqrt(pooled * (1 - pooled) * (1.0 / fna + 1.0 / fnb));
  const double var_a = pa * (1 - pa) / fna;
  const double var_b = pb * (1 - pb) / fnb;
  const double se = std::sqrt(var_a + var_b);
  const double zq = TwoSidedCriticalValue(alpha);
  ProportionsResult r;
  r.diff = pb - pa;
  if (se_pooled > 0) {
    r.z = r.diff / se_pooled;
    r.p_value = TwoSidedNormalP(r.z);
  } else {
    r.z = r.p_value = kNaN;
    r.undefined["z"] = "both arms have the same rate of 0 or 1, so the pooled standard error is 0 and z is 0/0";
  }
  if (se > 0) {
    r.ci_low = r.diff - zq * se;
    r.ci_high = r.diff + zq * se;
  } else {
    r.ci_low = r.ci_high = kNaN;
    r.undefined["ci"] = "both rates are 0 or 1, so the Wald standard error is 0 and the interval would be a single point";
  }
  if (pa > 0) {
    r.rel_lift = pb / pa - 1.0;
    const double se_rel = std::sqrt(var_b / (pa * pa) + pb * pb * var_a / (pa * pa * pa * pa));
    if (se_rel > 0) {
      r.rel_ci_low = r.rel_lift - zq * se_rel;
      r.rel_ci_high = r.rel_lift + zq * se_rel;
    } else {
      r.rel_ci_low = r.rel_ci_high = kNaN;
      r.undefined["rel_ci"] = "both rates are 0 or 1, so the delta-method standard error is 0";
    }
  } else {
    r.rel_lift = r.rel_ci_low = r.rel_ci_high = kNaN;
    r.undefined["rel_lift"] = "the control rate is 0, so the relative lift (b - a) / a is undefined";
  }
  return r;
}

StatusOr<MeansResult> WelchTest(double mean_a, double sd_a, double n_a, double mean_b, double sd_b, double n_b,
                                double alpha) {
  RETURN_IF_ERROR(CheckAlpha(alpha));
  for (double v : {mean_a, sd_a, n_a, mean_b, sd_b, n_b}) {
    if (!std::isfinite(v)) return InvalidArgument("means, standard deviations and N must be finite numbers");
  }
  if (n_a < 2 || n_b < 2) return InvalidArgument("Welch's test needs N >= 2 in each arm");
  if (sd_a < 0 || sd_b < 0) return InvalidArgument("standard deviations must be >= 0");
  const double va = sd_a * sd_a / n_a, vb = sd_b * sd_b / n_b;
  if (!std::isfinite(va + vb) || !std::isfinite(mean_b - mean_a)) {
    return InvalidArgument("means or standard deviations too large: the difference or its variance overflows a double "
                           "(keep |mean| and sd below about 1e150, e.g. by changing the unit)");
  }
  if (va + vb <= 0) {
    if (sd_a > 0 || sd_b > 0) {
      return InvalidArgument("standard deviations too small: sd^2 / N underflows a double; rescale the values (e.g. change the unit)");
    }
    return InvalidArgument("both standard deviations are 0: the test is undefined");
  }
  MeansResult r;
  r.diff = mean_b - mean_a;
  const double se = std::sqrt(va + vb);
  r.t = r.diff / se;
  // Welch-Satterthwaite, scaled by va + vb so that neither squaring overflows nor underflows.
  const double sa = va / (va + vb), sb = vb / (va + vb);
  r.df = 1.0 / (sa * sa / (n_a - 1) + sb * sb / (n_b - 1));
  const StudentsT t(r.df);
  r.p_value = 2.0 * boost::math::cdf(boost::math::complement(t, std::fabs(r.t)));
  const double tq = boost::math::quantile(boost::math::complement(t, alpha / 2));
  r.ci_low = r.diff - tq * se;
  r.ci_high = r.diff + tq * se;
  for (double v : {r.t, r.df, r.p_value, r.ci_low, r.ci_high}) {
    if (!std::isfinite(v)) {
      return InvalidArgument("the t-test cannot be computed in double precision for these values (a result overflows); "
                             "rescale the means and standard deviations");
    }
  }
  return r;
}

StatusOr<SrmResult> SampleRatioMismatch(std::span<const double> counts, std::span<const double> weights,
                                        double threshold, double min_per_arm) {
  if (counts.size() < 2) return InvalidArgument("SRM needs counts for at least two arms");
  if (counts.size() != weights.size()) {
    return InvalidArgument("SRM needs one weight per count (" + std::to_string(counts.size()) + " counts, " +
                           std::to_string(weights.size()) + " weights)");
  }
  double total = 0, wsum = 0;
  for (size_t i = 0; i < counts.size(); ++i) {
    if (counts[i] < 0) return InvalidArgument("counts must be >= 0");
    if (!(weights[i] > 0)) return InvalidArgument("weights must be > 0");
    total += counts[i];
    wsum += weights[i];
  }
  SrmResult r;
  if (total <= 0) return r;
  bool enough = true;
  for (size_t i = 0; i < counts.size(); ++i) {
    const double expected = total * weights[i] / wsum;
    r.chi2 += (counts[i] - expected) * (counts[i] - expected) / expected;
    enough = enough && counts[i] >= min_per_arm;
  }
  const ChiSquared chi(static_cast<double>(counts.size() - 1));
  r.p_value = boost::math::cdf(boost::math::complement(chi, r.chi2));
  r.mismatch = enough && r.p_value < threshold;
  return r;
}

StatusOr<int64_t> SampleSizePerArm(double baseline_rate, double mde_rel, double alpha, double power) {
  RETURN_IF_ERROR(CheckAlpha(alpha));
  if (!(baseline_rate > 0 && baseline_rate < 1)) return InvalidArgument("--baseline must be a rate in (0, 1)");
  if (!(power > 0 && power < 1)) return InvalidArgument("--power must be in (0, 1)");
  const double p1 = baseline_rate, p2 = baseline_rate * (1 + mde_rel);
  if (mde_rel == 0 || !(p2 > 0 && p2 < 1)) {
    return InvalidArgument("--mde must be a non-zero relative change keeping the rate in (0, 1)");
  }
  const double pbar = (p1 + p2) / 2;
  const double za = TwoSidedCriticalValue(alpha), zb = NormalQuantile(power);
  const double num = za * std::sqrt(2 * pbar * (1 - pbar)) + zb * std::sqrt(p1 * (1 - p1) + p2 * (1 - p2));
  const double n = std::ceil(num * num / ((p2 - p1) * (p2 - p1)));
  constexpr double kMaxN = 9007199254740992.0;  // 2^53
  if (!(n <= kMaxN)) {
    char need[96];
    std::snprintf(need, sizeof need, "mde %g needs about %.3g", mde_rel, n);
    return InvalidArgument(std::string(need) +
                           " units per arm, more than 2^53: the effect is too small to detect; use a larger mde");
  }
  return static_cast<int64_t>(n);
}

void RatioSums::Add(double x, double y) {
  n += 1;
  sx += x;
  sy += y;
  sxx += x * x;
  syy += y * y;
  sxy += x * y;
}

double DeltaMethodVariance(const RatioSums& s) {
  if (s.n < 2 || s.sy <= 0) return 0.0;
  const double mx = s.sx / s.n, my = s.sy / s.n;
  const double vxx = (s.sxx - s.n * mx * mx) / (s.n - 1);
  const double vyy = (s.syy - s.n * my * my) / (s.n - 1);
  const double vxy = (s.sxy - s.n * mx * my) / (s.n - 1);
  const double r = mx / my;
  return std::max(0.0, (vxx - 2 * r * vxy + r * r * vyy) / (s.n * my * my));
}

StatusOr<RatioResult> RatioTest(const RatioSums& a, const RatioSums& b, double alpha) {
  RETURN_IF_ERROR(CheckAlpha(alpha));
  if (a.n < 2 || b.n < 2) return InvalidArgument("ratio test needs at least 2 units per arm");
  if (a.sy <= 0 || b.sy <= 0) return InvalidArgument("ratio test needs a positive denominator total in each arm");
  RatioResult r;
  r.ratio_a = a.ratio();
  r.ratio_b = b.ratio();
  const double va = DeltaMethodVariance(a), vb = DeltaMethodVariance(b);
  r.diff = r.ratio_b - r.ratio_a;
  r.se = std::sqrt(va + vb);
  r.z = r.se > 0 ? r.diff / r.se : 0.0;
  r.p_value = r.se > 0 ? TwoSidedNormalP(r.z) : 1.0;
  const double zq = TwoSidedCriticalValue(alpha);
  r.ci_low = r.diff - zq * r.se;
  r.ci_high = r.diff + zq * r.se;
  if (r.ratio_a > 0) {
    const double ra = r.ratio_a, rb = r.ratio_b;
    r.rel_lift = rb / ra - 1;
    const double se_rel = std::sqrt(vb / (ra * ra) + rb * rb * va / (ra * ra * ra * ra));
    r.rel_ci_low = r.rel_lift - zq * se_rel;
    r.rel_ci_high = r.rel_lift + zq * se_rel;
  }
  return r;
}

StatusOr<CupedResult> CupedTest(std::span<const double> y_a, std::span<const double> x_a, std::span<const double> y_b,
                                std::span<const double> x_b, double alpha) {
  if (y_a.size() != x_a.size() || y_b.size() != x_b.size()) {
    return InvalidArgument("CUPED needs one pre-period covariate per unit");
  }
  if (y_a.size() < 2 || y_b.size() < 2) return InvalidArgument("CUPED needs at least 2 units per arm");
  std::vector<double> all_x(x_a.begin(), x_a.end()), all_y(y_a.begin(), y_a.end());
  all_x.insert(all_x.end(), x_b.begin(), x_b.end());
  all_y.insert(all_y.end(), y_b.begin(), y_b.end());
  const Moments mx = MomentsOf(all_x), my = MomentsOf(all_y);
  double cov = 0;
  for (size_t i = 0; i < all_x.size(); ++i) cov += (all_x[i] - mx.mean) * (all_y[i] - my.mean);
  cov /= static_cast<double>(all_x.size() - 1);
  CupedResult r;
  r.theta = mx.var > 0 ? cov / mx.var : 0.0;
  auto adjust = [&](std::span<const double> y, std::span<const double> x) {
    std::vector<double> out(y.size());
    for (size_t i = 0; i < y.size(); ++i) out[i] = y[i] - r.theta * (x[i] - mx.mean);
    return out;
  };
  const auto adj_a = adjust(y_a, x_a), adj_b = adjust(y_b, x_b);
  std::vector<double> adj_all(adj_a);
  adj_all.insert(adj_all.end(), adj_b.begin(), adj_b.end());
  r.variance_reduction = my.var > 0 ? 1.0 - MomentsOf(adj_all).var / my.var : 0.0;
  const Moments ma = MomentsOf(adj_a), mb = MomentsOf(adj_b);
  ASSIGN_OR_RETURN(r.test, WelchTest(ma.mean, std::sqrt(ma.var), static_cast<double>(adj_a.size()), mb.mean,
                                     std::sqrt(mb.var), static_cast<double>(adj_b.size()), alpha));
  return r;
}

std::vector<double> HolmAdjust(std::span<const double> p_values) {
  const size_t m = p_values.size();
  std::vector<size_t> order(m);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return p_values[a] < p_values[b]; });
  std::vector<double> adjusted(m);
  double running = 0.0;
  for (size_t i = 0; i < m; ++i) {
    running = std::max(running, std::min(1.0, static_cast<double>(m - i) * p_values[order[i]]));
    adjusted[order[i]] = running;
  }
  return adjusted;
}

double MsprtLikelihoodRatio(double diff, double variance, double tau2) {
  if (variance <= 0 || tau2 <= 0) return 1.0;
  const double v = variance;
  return std::sqrt(v / (v + tau2)) * std::exp(tau2 * diff * diff / (2 * v * (v + tau2)));
}

double MsprtOneSidedHarmRatio(double diff, double variance, double tau2) {
  if (variance <= 0 || tau2 <= 0) return 1.0;
  const double v = variance;
  const double log_l = 0.5 * std::log(v / (v + tau2)) + tau2 * diff * diff / (2 * v * (v + tau2)) +
                       std::log(2.0 * NormalCdf(-diff * std::sqrt(tau2) / std::sqrt(v * (v + tau2))));
  return std::exp(log_l);
}

bool SequentialMonitor::Update(double diff, double variance) {
  ++looks_;
  if (rejected_) return true;
  const double l = one_sided_ ? MsprtOneSidedHarmRatio(diff, variance, tau2_) : MsprtLikelihoodRatio(diff, variance, tau2_);
  if (l > 0) p_value_ = std::min(p_value_, 1.0 / l);
  rejected_ = p_value_ <= alpha_;
  return rejected_;
}

StatusOr<Interval> WilsonInterval(int64_t k, int64_t n, double alpha) {
  RETURN_IF_ERROR(CheckAlpha(alpha));
  if (n <= 0 || k < 0 || k > n) return InvalidArgument("Wilson interval needs 0 <= k <= n and n > 0");
  const double z = TwoSidedCriticalValue(alpha), nn = static_cast<double>(n), p = static_cast<double>(k) / nn;
  const double centre = p + z * z / (2 * nn);
  const double half = z * std::sqrt(p * (1 - p) / nn + z * z / (4 * nn * nn));
  const double denom = 1 + z * z / nn;
  if (k == 0) return Interval{0.0, std::min(1.0, (centre + half) / denom)};
  if (k == n) return Interval{std::max(0.0, (centre - half) / denom), 1.0};
  return Interval{std::max(0.0, (centre - half) / denom), std::min(1.0, (centre + half) / denom)};
}

StatusOr<double> BinomialTestTwoSided(int64_t k, int64_t n, double p) {
  if (n <= 0 || k < 0 || k > n) return InvalidArgument("binomial test needs 0 <= k <= n and n > 0");
  if (!(p > 0 && p < 1)) return InvalidArgument("binomial test needs p in (0, 1)");
  const Binomial dist(static_cast<double>(n), p);
  const double observed = boost::math::pdf(dist, static_cast<double>(k));
  const double tolerance = 1 + 1e-7;  // as scipy.stats.binomtest
  double total = 0;
  for (int64_t i = 0; i <= n; ++i) {
    const double d = boost::math::pdf(dist, static_cast<double>(i));
    if (d <= observed * tolerance) total += d;
  }
  return std::min(1.0, total);
}

}  // namespace steward::experiment
