// Exposure and diversity metrics, one definition each (docs/metrics.md). Pure functions over plain
// data, no I/O.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace steward::fairness {

// Position weight of a 1-based rank: 1 / log2(1 + rank). Rank 1 -> 1, rank 3 -> 0.5.
double PositionWeight(int rank);

// Categorical diversity index: Shannon entropy of the category shares divided by
// log(num_categories), in [0, 1]. `counts` has one entry per category (zeros allowed).
// Returns 0 when there is no exposure or num_categories < 2.
double CategoricalDiversityIndex(std::span<const double> counts, int num_categories);

// Gini coefficient of exposure counts over the whole catalog (never-exposed items count as 0):
// G = sum_i (2i - n - 1) x_(i) / (n sum x), x sorted ascending, i 1-based. 0 = equal exposure,
// (n-1)/n = all exposure on one item. Returns 0 when all counts are zero.
double Gini(std::span<const double> counts);

// Shares of position-weighted exposure per group: sum of weights of the group's items / total.
std::vector<double> ExposureShares(std::span<const double> group_weights);

// Accumulates served lists into per-category, per-group and per-item exposure.
class ExposureAccumulator {
 public:
  ExposureAccumulator(int num_items, int num_categories, int num_groups);
  // One served list: item indices in position order, with their categories and groups.
  void AddList(std::span<const int32_t> items, std::span<const int> categories, std::span<const int> groups);
  double DiversityIndex() const;  // over all lists' category counts
  double ItemGini() const;
  double Coverage() const;  // share of catalog items exposed at least once
  std::vector<double> GroupShares() const;  // position-weighted
  int64_t lists() const { return lists_; }

 private:
  std::vector<double> item_counts_;
  std::vector<double> category_counts_;
  std::vector<double> group_weights_;
  int num_categories_;
  int64_t lists_ = 0;
};

}  // namespace steward::fairness
