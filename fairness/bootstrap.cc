#include "fairness/bootstrap.h"

#include <algorithm>
#include <set>

#include "common/percentile.h"

namespace steward::fairness {

std::vector<double> ResampleWeights(size_t units, Rng& rng) {
  std::vector<double> w(units, 0.0);
  for (size_t i = 0; i < units; ++i) w[rng.UniformInt(units)] += 1.0;
  return w;
}

Interval PercentileInterval(std::vector<double> replicates, double level) {
  if (replicates.empty()) return {};
  const double tail = (1.0 - level) / 2.0;
  return {Percentile(replicates, tail), Percentile(replicates, 1.0 - tail)};
}

Interval BiasShiftedInterval(const std::vector<double>& replicates, double point, double level) {
  if (replicates.empty()) return {point, point};
  double mean = 0.0;
  for (double r : replicates) mean += r;
  mean /= static_cast<double>(replicates.size());
  const Interval raw = PercentileInterval(replicates, level);
  return {raw.low + (point - mean), raw.high + (point - mean)};
}

double OlsSlope(const std::vector<double>& x, const std::vector<double>& y) {
  const size_t n = std::min(x.size(), y.size());
  if (n < 2) return 0.0;
  double mx = 0.0, my = 0.0;
  for (size_t i = 0; i < n; ++i) {
    mx += x[i];
    my += y[i];
  }
  mx /= static_cast<double>(n);
  my /= static_cast<double>(n);
  double sxy = 0.0, sxx = 0.0;
  for (size_t i = 0; i < n; ++i) {
    sxy += (x[i] - mx) * (y[i] - my);
    sxx += (x[i] - mx) * (x[i] - mx);
  }
  return sxx > 0.0 ? sxy / sxx : 0.0;
}

std::vector<std::pair<uint32_t, uint32_t>> SampleUserPairs(size_t n, size_t pairs, Rng& rng) {
  std::vector<std::pair<uint32_t, uint32_t>> out;
  if (n < 2) return out;
  const double all = static_cast<double>(n) * static_cast<double>(n - 1) / 2.0;
  if (all <= static_cast<double>(pairs)) {
    for (uint32_t a = 0; a < n; ++a) {
      for (uint32_t b = a + 1; b < n; ++b) out.emplace_back(a, b);
    }
    return out;
  }
  std::set<std::pair<uint32_t, uint32_t>> chosen;
  while (chosen.size() < pairs) {
    auto a = static_cast<uint32_t>(rng.UniformInt(n)), b = static_cast<uint32_t>(rng.UniformInt(n));
    if (a == b) continue;
    if (a > b) std::swap(a, b);
    chosen.emplace(a, b);
  }
  return {chosen.begin(), chosen.end()};
}

}  // namespace steward::fairness
