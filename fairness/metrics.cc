#include "fairness/metrics.h"

#include <algorithm>
#include <cmath>

namespace steward::fairness {

double PositionWeight(int rank) { return 1.0 / std::log2(1.0 + static_cast<double>(rank)); }

double CategoricalDiversityIndex(std::span<const double> counts, int num_categories) {
  if (num_categories < 2) return 0.0;
  double total = 0.0;
  for (double c : counts) total += c;
  if (total <= 0.0) return 0.0;
  double entropy = 0.0;
  for (double c : counts) {
    if (c <= 0.0) continue;
    const double p = c / total;
    entropy -= p * std::log(p);
  }
  return entropy / std::log(static_cast<double>(num_categories));
}

double Gini(std::span<const double> counts) {
  std::vector<double> x(counts.begin(), counts.end());
  std::sort(x.begin(), x.end());
  const double n = static_cast<double>(x.size());
  double total = 0.0, weighted = 0.0;
  for (size_t i = 0; i < x.size(); ++i) {
    total += x[i];
    weighted += (2.0 * static_cast<double>(i + 1) - n - 1.0) * x[i];
  }
  if (total <= 0.0) return 0.0;
  return weighted / (n * total);
}

std::vector<double> ExposureShares(std::span<const double> group_weights) {
  double total = 0.0;
  for (double w : group_weights) total += w;
  std::vector<double> shares(group_weights.size(), 0.0);
  if (total <= 0.0) return shares;
  for (size_t g = 0; g < shares.size(); ++g) shares[g] = group_weights[g] / total;
  return shares;
}

double ExposureDisparity(std::span<const double> shares, std::span<const double> targets) {
  double worst = 0.0;
  for (size_t g = 0; g < shares.size() && g < targets.size(); ++g) worst = std::max(worst, std::fabs(shares[g] - targets[g]));
  return worst;
}

double ExposureRatio(std::span<const double> shares, std::span<const double> targets) {
  std::vector<double> ratios;
  for (size_t g = 0; g < shares.size() && g < targets.size(); ++g) {
    if (targets[g] > 0.0) ratios.push_back(shares[g] / targets[g]);
  }
  return MinMaxRatio(ratios);
}

double MinMaxRatio(std::span<const double> values) {
  if (values.empty()) return 1.0;
  const auto [lo, hi] = std::minmax_element(values.begin(), values.end());
  if (*hi <= 0.0) return 1.0;
  return *lo / *hi;
}

double MaxMinDifference(std::span<const double> values) {
  if (values.empty()) return 0.0;
  const auto [lo, hi] = std::minmax_element(values.begin(), values.end());
  return *hi - *lo;
}

double Coverage(std::span<const double> counts) {
  if (counts.empty()) return 0.0;
  const auto exposed = std::count_if(counts.begin(), counts.end(), [](double c) { return c > 0.0; });
  return static_cast<double>(exposed) / static_cast<double>(counts.size());
}

double SelfInformation(double share) { return -std::log2(share); }

double CategoricalIld(std::span<const int> categories) {
  const size_t n = categories.size();
  if (n < 2) return 0.0;
  int64_t different = 0;
  for (size_t i = 0; i < n; ++i) {
    for (size_t j = i + 1; j < n; ++j) different += categories[i] != categories[j] ? 1 : 0;
  }
  const double pairs = static_cast<double>(n) * static_cast<double>(n - 1) / 2.0;
  return static_cast<double>(different) / pairs;
}

double SortedJaccard(std::span<const int64_t> a, std::span<const int64_t> b) {
  if (a.empty() && b.empty()) return 1.0;
  size_t i = 0, j = 0, common = 0;
  while (i < a.size() && j < b.size()) {
    if (a[i] == b[j]) {
      ++common;
      ++i;
      ++j;
    } else if (a[i] < b[j]) {
      ++i;
    } else {
      ++j;
    }
  }
  return static_cast<double>(common) / static_cast<double>(a.size() + b.size() - common);
}

double Cosine(std::span<const double> a, std::span<const double> b) {
  double dot = 0.0, na = 0.0, nb = 0.0;
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) {
    dot += a[i] * b[i];
    na += a[i] * a[i];
    nb += b[i] * b[i];
  }
  if (na <= 0.0 || nb <= 0.0) return 0.0;
  return dot / std::sqrt(na * nb);
}

ExposureAccumulator::ExposureAccumulator(int num_items, int num_categories, int num_groups)
    : item_counts_(static_cast<size_t>(num_items), 0.0),
      category_counts_(static_cast<size_t>(num_categories), 0.0),
      group_weights_(static_cast<size_t>(num_groups), 0.0),
      num_categories_(num_categories) {}

void ExposureAccumulator::AddList(std::span<const int32_t> items, std::span<const int> categories,
                                  std::span<const int> groups) {
  ++lists_;
  for (size_t p = 0; p < items.size(); ++p) {
    item_counts_[static_cast<size_t>(items[p])] += 1.0;
    category_counts_[static_cast<size_t>(categories[p])] += 1.0;
    group_weights_[static_cast<size_t>(groups[p])] += PositionWeight(static_cast<int>(p) + 1);
  }
}

double ExposureAccumulator::DiversityIndex() const { return CategoricalDiversityIndex(category_counts_, num_categories_); }
double ExposureAccumulator::ItemGini() const { return Gini(item_counts_); }

double ExposureAccumulator::Coverage() const { return fairness::Coverage(item_counts_); }

std::vector<double> ExposureAccumulator::GroupShares() const { return ExposureShares(group_weights_); }

}  // namespace steward::fairness
