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

double ExposureAccumulator::Coverage() const {
  if (item_counts_.empty()) return 0.0;
  const auto exposed = std::count_if(item_counts_.begin(), item_counts_.end(), [](double c) { return c > 0.0; });
  return static_cast<double>(exposed) / static_cast<double>(item_counts_.size());
}

std::vector<double> ExposureAccumulator::GroupShares() const { return ExposureShares(group_weights_); }

}  // namespace steward::fairness
