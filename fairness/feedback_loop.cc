#include "fairness/feedback_loop.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "common/rng.h"
#include "fairness/bootstrap.h"
#include "fairness/metrics.h"

namespace steward::fairness {

std::vector<double> PairHomogenization(std::span<const std::vector<int64_t>> sets,
                                       std::span<const std::pair<uint32_t, uint32_t>> pairs) {
  std::vector<double> out(pairs.size(), std::numeric_limits<double>::quiet_NaN());
  for (size_t p = 0; p < pairs.size(); ++p) {
    const auto& a = sets[pairs[p].first];
    const auto& b = sets[pairs[p].second];
    if (!a.empty() || !b.empty()) out[p] = SortedJaccard(a, b);
  }
  return out;
}

double MeanSkippingNaN(std::span<const double> values) {
  double sum = 0.0;
  int64_t n = 0;
  for (double v : values) {
    if (std::isnan(v)) continue;
    sum += v;
    ++n;
  }
  return n > 0 ? sum / static_cast<double>(n) : 0.0;
}

HomogenizationTracker::HomogenizationTracker(size_t users, int max_pairs, uint64_t seed) : slot_(users, -1) {
  Rng rng(seed);
  const auto sampled = SampleUserPairs(users, static_cast<size_t>(std::max(max_pairs, 0)), rng);
  for (const auto& [a, b] : sampled) {
    for (uint32_t u : {a, b}) {
      if (slot_[u] < 0) {
        slot_[u] = static_cast<int32_t>(sets_.size());
        sets_.emplace_back();
      }
    }
    pairs_.emplace_back(static_cast<uint32_t>(slot_[a]), static_cast<uint32_t>(slot_[b]));
  }
}

void HomogenizationTracker::AddConsumed(size_t user, int64_t item) {
  if (user >= slot_.size() || slot_[user] < 0) return;
  auto& set = sets_[static_cast<size_t>(slot_[user])];
  const auto it = std::lower_bound(set.begin(), set.end(), item);
  if (it == set.end() || *it != item) set.insert(it, item);
}

double HomogenizationTracker::CloseWindow() {
  const double h = MeanSkippingNaN(PairHomogenization(sets_, pairs_));
  series_.push_back(h);
  return h;
}

}  // namespace steward::fairness
