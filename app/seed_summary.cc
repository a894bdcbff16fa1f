#include "app/seed_summary.h"

#include <cmath>
#include <cstdio>

namespace steward::app {
namespace {

// Two-sided 95% Student-t quantiles t(0.975, df) for df = 1..30; the normal's 1.96 beyond.
double T975(size_t df) {
  static const double kT[] = {12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
                              2.201,  2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
                              2.080,  2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042};
  return df >= 1 && df <= 30 ? kT[df - 1] : 1.96;
}

}  // namespace

SeedSummary SummarizeSeeds(const std::vector<double>& values) {
  SeedSummary s;
  s.values = values;
  if (values.empty()) return s;
  double sum = 0.0;
  for (double v : values) sum += v;
  const auto n = static_cast<double>(values.size());
  s.mean = sum / n;
  s.low = s.high = s.mean;
  if (values.size() < 2) return s;
  double ss = 0.0;
  for (double v : values) ss += (v - s.mean) * (v - s.mean);
  const double half = T975(values.size() - 1) * std::sqrt(ss / (n - 1.0)) / std::sqrt(n);
  s.low = s.mean - half;
  s.high = s.mean + half;
  return s;
}

std::string FormatFixed(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

std::string FormatSummary(const SeedSummary& s, int digits) {
  if (s.values.size() < 2) return FormatFixed(s.mean, digits);
  return FormatFixed(s.mean, digits) + " [" + FormatFixed(s.low, digits) + ", " + FormatFixed(s.high, digits) + "]";
}

std::string FormatPerSeed(const SeedSummary& s, int digits) {
  std::string out;
  for (size_t i = 0; i < s.values.size(); ++i) out += (i ? " / " : "") + FormatFixed(s.values[i], digits);
  return out;
}

}  // namespace steward::app
