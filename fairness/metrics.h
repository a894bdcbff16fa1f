// Exposure, diversity and novelty metrics, one definition each (docs/metrics.md). Pure functions
// over plain data, no I/O. Conventions shared by every function here:
//   - positions are 1-based; the position weight is w(p) = 1 / log2(1 + p);
//   - a quantity with no evidence (no exposure, an empty list) is 0, never NaN;
//   - a min/max ratio is 1 when every value is equal, including all zero (no group is behind).
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
// All zero when the total is zero.
std::vector<double> ExposureShares(std::span<const double> group_weights);

// Exposure disparity: max over groups of |share - target|. `shares` and `targets` have one entry
// per group (same order). 0 for no groups.
double ExposureDisparity(std::span<const double> shares, std::span<const double> targets);

// Exposure ratio: min over groups of (share / target) divided by the max over groups of the same.
// Groups with target 0 have no share to reach and are left out (they still count in
// ExposureDisparity). 1 when no group has a positive target or every ratio is 0.
double ExposureRatio(std::span<const double> shares, std::span<const double> targets);

// min(values) / max(values) (Fairlearn's between-groups ratio). 1 when empty or max == 0.
double MinMaxRatio(std::span<const double> values);
// max(values) - min(values) (Fairlearn's between-groups difference). 0 when empty.
double MaxMinDifference(std::span<const double> values);

// Share of catalog items exposed at least once: #(counts > 0) / counts.size(). 0 for no items.
double Coverage(std::span<const double> counts);

// Self-information of an item with popularity share q in (0, 1]: -log2(q) bits (Zhou et al. 2010,
// "Solving the apparent diversity-accuracy dilemma", PNAS; novelty as in RecBole/MS Recommenders).
double SelfInformation(double share);

// Intra-list diversity over categories: the share of item pairs of the list in different
// categories (ILD with the 0/1 category distance). 0 for lists shorter than 2.
double CategoricalIld(std::span<const int> categories);

// Jaccard similarity |A ∩ B| / |A ∪ B| of two sets given as sorted, duplicate-free vectors. 1 when
// both are empty.
double SortedJaccard(std::span<const int64_t> a, std::span<const int64_t> b);

// Cosine similarity of two count vectors of equal length; 0 when either is all zero.
double Cosine(std::span<const double> a, std::span<const double> b);

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
