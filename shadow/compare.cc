#include "shadow/compare.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "fairness/metrics.h"

namespace steward::shadow {

double JaccardAtK(std::span<const int64_t> a, std::span<const int64_t> b, int k) {
  const size_t ka = std::min(a.size(), static_cast<size_t>(std::max(k, 0)));
  const size_t kb = std::min(b.size(), static_cast<size_t>(std::max(k, 0)));
  std::vector<int64_t> sa(a.begin(), a.begin() + static_cast<std::ptrdiff_t>(ka));
  std::vector<int64_t> sb(b.begin(), b.begin() + static_cast<std::ptrdiff_t>(kb));
  std::sort(sa.begin(), sa.end());
  sa.erase(std::unique(sa.begin(), sa.end()), sa.end());
  std::sort(sb.begin(), sb.end());
  sb.erase(std::unique(sb.begin(), sb.end()), sb.end());
  if (sa.empty() && sb.empty()) return 1.0;
  std::vector<int64_t> common;
  std::set_intersection(sa.begin(), sa.end(), sb.begin(), sb.end(), std::back_inserter(common));
  const double uni = static_cast<double>(sa.size() + sb.size() - common.size());
  return static_cast<double>(common.size()) / uni;
}

double RankBiasedOverlap(std::span<const int64_t> a, std::span<const int64_t> b, double p) {
  const size_t k = std::min(a.size(), b.size());
  if (k == 0) return a.empty() && b.empty() ? 1.0 : 0.0;
  std::vector<int64_t> seen_a, seen_b;
  double sum = 0.0, overlap = 0.0, pd = 1.0;
  for (size_t d = 1; d <= k; ++d) {
    const int64_t x = a[d - 1], y = b[d - 1];
    // X_d = X_{d-1} + [x in B[:d]] + [y in A[:d]] - [x == y]
    if (x == y) {
      overlap += 1;
    } else {
      if (std::find(seen_b.begin(), seen_b.end(), x) != seen_b.end()) overlap += 1;
      if (std::find(seen_a.begin(), seen_a.end(), y) != seen_a.end()) overlap += 1;
    }
    seen_a.push_back(x);
    seen_b.push_back(y);
    pd *= p;
    sum += overlap / static_cast<double>(d) * pd;
  }
  return overlap / static_cast<double>(k) * pd + (1 - p) / p * sum;
}

double KendallTauOnIntersection(std::span<const int64_t> a, std::span<const int64_t> b) {
  std::vector<std::pair<size_t, size_t>> ranks;  // (rank in a, rank in b) of common items
  for (size_t i = 0; i < a.size(); ++i) {
    const auto it = std::find(b.begin(), b.end(), a[i]);
    if (it != b.end()) ranks.emplace_back(i, static_cast<size_t>(it - b.begin()));
  }
  if (ranks.size() < 2) return 0.0;
  int64_t concordant = 0, discordant = 0;
  for (size_t i = 0; i < ranks.size(); ++i) {
    for (size_t j = i + 1; j < ranks.size(); ++j) {
      const bool same = (ranks[i].first < ranks[j].first) == (ranks[i].second < ranks[j].second);
      (same ? concordant : discordant) += 1;
    }
  }
  // No ties within a ranking, so tau-b equals tau-a here.
  return static_cast<double>(concordant - discordant) / static_cast<double>(concordant + discordant);
}

double Novelty(std::span<const double> popularity_share) {
  if (popularity_share.empty()) return 0.0;
  double s = 0.0;
  for (double q : popularity_share) s += fairness::SelfInformation(std::max(q, 1e-12));
  return s / static_cast<double>(popularity_share.size());
}

double IntraListDiversity(std::span<const int> categories) { return fairness::CategoricalIld(categories); }

void OverlapTracker::Add(std::span<const int64_t> served, std::span<const int64_t> shadow) {
  sum_ += JaccardAtK(served, shadow, k_);
  ++count_;
}

}  // namespace steward::shadow
