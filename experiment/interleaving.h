// Team-draft interleaving (Radlinski, Kurup, Joachims 2008, "How does clickthrough data reflect
// retrieval quality?"): two rankers' lists are merged for the same user; each position is
// credited to the team whose ranker contributed it; a ranker wins an impression when its team
// gets more clicks. Which ranker is better is judged by a two-sided binomial test on the wins.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "common/rng.h"
#include "common/status.h"

namespace steward::experiment {

struct InterleavedList {
  std::vector<int32_t> items;
  std::vector<int8_t> team;  // 0: ranker A contributed the item, 1: ranker B
};

// Merges up to k items. At each round the team with fewer picks (a coin flip on ties) adds its
// highest-ranked item not yet in the list.
InterleavedList TeamDraftInterleave(std::span<const int32_t> a, std::span<const int32_t> b, int k, Rng& rng);

struct InterleavingResult {
  int64_t impressions = 0, wins_a = 0, wins_b = 0, ties = 0;
  double delta = 0;    // (wins_b - wins_a) / impressions: > 0 favours B
  double p_value = 1;  // two-sided binomial test of wins_b among decided impressions, p = 0.5
};

class InterleavingTally {
 public:
  // One impression: the list's teams and which positions (0-based) were clicked.
  void Add(const InterleavedList& list, std::span<const int> clicked_positions);
  StatusOr<InterleavingResult> Result() const;

 private:
  int64_t impressions_ = 0, wins_a_ = 0, wins_b_ = 0, ties_ = 0;
};

}  // namespace steward::experiment
