// Summaries over seeds for the paper benchmarks (`steward bench feedback-loop`, `bench cold-start`):
// the mean of one figure over independent seeds with a Student-t 95% interval.
#pragma once

#include <string>
#include <vector>

namespace steward::app {

struct SeedSummary {
  double mean = 0.0, low = 0.0, high = 0.0;  // low = high = mean with fewer than 2 seeds
  std::vector<double> values;                // per seed, in the order given
};

// mean ± t(0.975, n-1) · sd / sqrt(n), sd the sample standard deviation (n - 1).
SeedSummary SummarizeSeeds(const std::vector<double>& values);
// "0.123 [0.100, 0.146]" with `digits` decimals (just the mean with one seed).
std::string FormatSummary(const SeedSummary& s, int digits);
// "0.121 / 0.130 / 0.118" with `digits` decimals.
std::string FormatPerSeed(const SeedSummary& s, int digits);
std::string FormatFixed(double v, int digits);

}  // namespace steward::app
