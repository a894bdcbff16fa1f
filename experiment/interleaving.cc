#include "experiment/interleaving.h"

#include <algorithm>

#include "experiment/stats.h"

namespace steward::experiment {

InterleavedList TeamDraftInterleave(std::span<const int32_t> a, std::span<const int32_t> b, int k, Rng& rng) {
  InterleavedList out;
  size_t ia = 0, ib = 0;
  int picks_a = 0, picks_b = 0;
  auto in_list = [&](int32_t item) { return std::find(out.items.begin(), out.items.end(), item) != out.items.end(); };
  while (static_cast<int>(out.items.size()) < k) {
    while (ia < a.size() && in_list(a[ia])) ++ia;
    while (ib < b.size() && in_list(b[ib])) ++ib;
    const bool a_left = ia < a.size(), b_left = ib < b.size();
    if (!a_left && !b_left) break;
    bool pick_a;
    if (!b_left) pick_a = true;
    else if (!a_left) pick_a = false;
    else pick_a = picks_a < picks_b || (picks_a == picks_b && rng.Bernoulli(0.5));
    if (pick_a) {
      out.items.push_back(a[ia++]);
      out.team.push_back(0);
      ++picks_a;
    } else {
      out.items.push_back(b[ib++]);
      out.team.push_back(1);
      ++picks_b;
    }
  }
  return out;
}

void InterleavingTally::Add(const InterleavedList& list, std::span<const int> clicked_positions) {
  ++impressions_;
  int clicks_a = 0, clicks_b = 0;
  for (int p : clicked_positions) {
    if (p < 0 || p >= static_cast<int>(list.team.size())) continue;
    (list.team[static_cast<size_t>(p)] == 0 ? clicks_a : clicks_b) += 1;
  }
  if (clicks_a > clicks_b) ++wins_a_;
  else if (clicks_b > clicks_a) ++wins_b_;
  else ++ties_;
}

StatusOr<InterleavingResult> InterleavingTally::Result() const {
  InterleavingResult r;
  r.impressions = impressions_;
  r.wins_a = wins_a_;
  r.wins_b = wins_b_;
  r.ties = ties_;
  if (impressions_ > 0) r.delta = static_cast<double>(wins_b_ - wins_a_) / static_cast<double>(impressions_);
  const int64_t decided = wins_a_ + wins_b_;
  if (decided > 0) {
    ASSIGN_OR_RETURN(r.p_value, BinomialTestTwoSided(wins_b_, decided, 0.5));
  }
  return r;
}

}  // namespace steward::experiment
