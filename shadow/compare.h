// Comparison of a served list with the shadow model's list for the same request. Pure functions.
#pragma once

#include <cstdint>
#include <span>

namespace steward::shadow {

// Jaccard overlap of the top-k of two lists: |A ∩ B| / |A ∪ B| over the first k items of each.
// 1 when both are empty.
double JaccardAtK(std::span<const int64_t> a, std::span<const int64_t> b, int k);

// Rank-biased overlap, extrapolated (Webber, Moffat, Zobel 2010, "A similarity measure for
// indefinite rankings", eq. 32), for persistence p (0.9 weighs the top ~10 ranks):
//   RBO_ext = (X_k / k) p^k + (1 - p) / p * sum_{d=1..k} (X_d / d) p^d
// where X_d = |A[:d] ∩ B[:d]| and k the common depth. 1 for identical lists, 0 for disjoint ones.
double RankBiasedOverlap(std::span<const int64_t> a, std::span<const int64_t> b, double p = 0.9);

// Kendall's tau-b between the two lists' orders of their common items (1: same order, -1: reversed;
// 0 when fewer than two items are shared).
double KendallTauOnIntersection(std::span<const int64_t> a, std::span<const int64_t> b);

// Mean self-information of the listed items, -log2(share of all exposures), a novelty measure
// (higher = less popular items). `popularity_share` gives each item's share in [0, 1].
double Novelty(std::span<const double> popularity_share);

// Intra-list diversity over categories: the share of item pairs in different categories.
double IntraListDiversity(std::span<const int> categories);

// Running mean of overlap@k over requests.
class OverlapTracker {
 public:
  explicit OverlapTracker(int k) : k_(k) {}
  void Add(std::span<const int64_t> served, std::span<const int64_t> shadow);
  double mean() const { return count_ ? sum_ / static_cast<double>(count_) : 0.0; }
  int64_t count() const { return count_; }

 private:
  int k_;
  double sum_ = 0.0;
  int64_t count_ = 0;
};

}  // namespace steward::shadow
