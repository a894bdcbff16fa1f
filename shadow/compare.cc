#include "shadow/compare.h"

#include <algorithm>
#include <vector>

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

void OverlapTracker::Add(std::span<const int64_t> served, std::span<const int64_t> shadow) {
  sum_ += JaccardAtK(served, shadow, k_);
  ++count_;
}

}  // namespace steward::shadow
