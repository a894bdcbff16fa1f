// Feedback-loop signals over time (docs/metrics.md "Feedback loops"), pure: homogenization of what
// a fixed sample of user pairs consumed, one value per window. One implementation, used by the
// stored-exposure audit (fairness/audit.cc, per pair with bootstrap weights) and by the simulator
// (`steward simulate --json`, `homogenization`, through HomogenizationTracker).
#pragma once

#include <cstdint>
#include <span>
#include <utility>
#include <vector>

namespace steward::fairness {

// Per pair (a, b): the Jaccard of sets[a] and sets[b] (each sorted and duplicate-free: a user's
// cumulative consumed items), NaN when both sets are empty (the pair is left out of the mean).
std::vector<double> PairHomogenization(std::span<const std::vector<int64_t>> sets,
                                       std::span<const std::pair<uint32_t, uint32_t>> pairs);

// Mean of the values that are not NaN; 0 when there are none.
double MeanSkippingNaN(std::span<const double> values);

// Homogenization while a run goes on: the sample of user pairs is drawn once, at construction,
// from users [0, users) with Rng(seed) (fairness::SampleUserPairs: up to `max_pairs` distinct
// pairs, all pairs when there are fewer), as the audit draws it. The caller reports every
// consumption (click) and closes each window; CloseWindow() returns the mean over the sampled
// pairs of the Jaccard of their cumulative consumed sets, skipping pairs where both are empty (0
// when every pair is). Not thread-safe.
class HomogenizationTracker {
 public:
  HomogenizationTracker(size_t users, int max_pairs, uint64_t seed);
  // User `user` consumed `item`. Users outside the sample (or >= users) are ignored.
  void AddConsumed(size_t user, int64_t item);
  // Ends a window: appends the homogenization of the cumulative sets to series() and returns it.
  double CloseWindow();
  const std::vector<double>& series() const { return series_; }
  size_t pairs() const { return pairs_.size(); }

 private:
  std::vector<std::pair<uint32_t, uint32_t>> pairs_;  // in slot indices
  std::vector<int32_t> slot_;                         // user -> slot, -1 outside the sample
  std::vector<std::vector<int64_t>> sets_;            // per slot, sorted, distinct
  std::vector<double> series_;
};

}  // namespace steward::fairness
