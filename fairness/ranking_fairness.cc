#include "fairness/ranking_fairness.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "fairness/metrics.h"

namespace steward::fairness {

double BinomialCdf(int x, int n, double p) {
  if (x < 0) return 0.0;
  if (x >= n) return 1.0;
  // Sum of pmf terms in log space (lgamma), stable for the sizes rankings have.
  double cdf = 0.0;
  for (int j = 0; j <= x; ++j) {
    double log_pmf = std::lgamma(n + 1.0) - std::lgamma(j + 1.0) - std::lgamma(n - j + 1.0);
    if (p <= 0.0) log_pmf = j == 0 ? 0.0 : -INFINITY;
    else if (p >= 1.0) log_pmf = j == n ? 0.0 : -INFINITY;
    else log_pmf += j * std::log(p) + (n - j) * std::log1p(-p);
    cdf += std::exp(log_pmf);
  }
  return std::min(cdf, 1.0);
}

std::vector<int> FairMTable(int k, double p, double alpha) {
  std::vector<int> table;
  for (int i = 1; i <= k; ++i) {
    int m = 0;
    while (m < i && BinomialCdf(m, i, p) < alpha) ++m;
    table.push_back(m);
  }
  return table;
}

PrefixTestResult FairPrefixTest(const std::vector<bool>& is_protected, double p, double alpha) {
  const std::vector<int> table = FairMTable(static_cast<int>(is_protected.size()), p, alpha);
  PrefixTestResult out;
  int seen = 0;
  for (size_t i = 0; i < is_protected.size(); ++i) {
    seen += is_protected[i] ? 1 : 0;
    if (seen < table[i]) {
      out.fair = false;
      out.first_failing_prefix = static_cast<int>(i) + 1;
      return out;
    }
  }
  return out;
}

std::vector<double> ExpectedExposure(const std::vector<std::vector<int32_t>>& rankings, int num_items, double gamma) {
  std::vector<double> exposure(static_cast<size_t>(std::max(num_items, 0)), 0.0);
  if (rankings.empty()) return exposure;
  for (const auto& ranking : rankings) {
    double w = 1.0;
    for (int32_t item : ranking) {
      exposure[static_cast<size_t>(item)] += w;
      w *= gamma;
    }
  }
  for (double& e : exposure) e /= static_cast<double>(rankings.size());
  return exposure;
}

std::vector<double> TargetExposure(std::span<const int> relevance, double gamma) {
  std::vector<size_t> order(relevance.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return relevance[a] > relevance[b]; });
  std::vector<double> target(relevance.size(), 0.0);
  size_t start = 0;
  while (start < order.size()) {
    size_t end = start;
    while (end < order.size() && relevance[order[end]] == relevance[order[start]]) ++end;
    double sum = 0.0;
    for (size_t r = start; r < end; ++r) sum += std::pow(gamma, static_cast<double>(r));
    for (size_t r = start; r < end; ++r) target[order[r]] = sum / static_cast<double>(end - start);
    start = end;
  }
  return target;
}

ExpectedExposureLoss CompareExposure(std::span<const double> exposure, std::span<const double> target) {
  ExpectedExposureLoss out;
  for (size_t i = 0; i < exposure.size() && i < target.size(); ++i) {
    out.ee_l += (exposure[i] - target[i]) * (exposure[i] - target[i]);
    out.ee_d += exposure[i] * exposure[i];
    out.ee_r += 2.0 * exposure[i] * target[i];
  }
  return out;
}

double JensenShannon(std::span<const double> p, std::span<const double> q) {
  double js = 0.0;
  for (size_t i = 0; i < p.size() && i < q.size(); ++i) {
    const double m = 0.5 * (p[i] + q[i]);
    if (p[i] > 0.0) js += 0.5 * p[i] * std::log2(p[i] / m);
    if (q[i] > 0.0) js += 0.5 * q[i] * std::log2(q[i] / m);
  }
  return std::max(0.0, js);
}

double AttentionWeightedRankFairness(std::span<const int> group_of_position, std::span<const double> target) {
  std::vector<double> attention(target.size(), 0.0);
  for (size_t i = 0; i < group_of_position.size(); ++i) {
    const int g = group_of_position[i];
    if (g >= 0 && static_cast<size_t>(g) < attention.size()) attention[static_cast<size_t>(g)] += PositionWeight(static_cast<int>(i) + 1);
  }
  return JensenShannon(ExposureShares(attention), target);
}

}  // namespace steward::fairness
