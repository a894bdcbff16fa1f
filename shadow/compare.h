// Comparison of a served list with the shadow model's list for the same request. Pure functions.
#pragma once

#include <cstdint>
#include <span>

namespace steward::shadow {

// Jaccard overlap of the top-k of two lists: |A ∩ B| / |A ∪ B| over the first k items of each.
// 1 when both are empty.
double JaccardAtK(std::span<const int64_t> a, std::span<const int64_t> b, int k);

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
