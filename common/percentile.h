// Nearest-rank percentile: the smallest value with at least a share q of the values at or below it.
#pragma once

#include <algorithm>
#include <cmath>
#include <vector>

namespace steward {

// Returns 0 for an empty input. `values` is taken by value and partially reordered.
inline double Percentile(std::vector<double> values, double q) {
  if (values.empty()) return 0.0;
  const double rank = std::ceil(q * static_cast<double>(values.size()));
  const size_t idx = std::min(values.size() - 1, static_cast<size_t>(std::max(rank, 1.0)) - 1);
  std::nth_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(idx), values.end());
  return values[idx];
}

}  // namespace steward
