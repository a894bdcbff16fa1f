#include "fairness/group_metrics.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace steward::fairness {
namespace {

double SafeDivide(double num, double den) { return den > 0.0 ? num / den : 0.0; }

// a / b for ratios of metric values: 1 when both are 0 (equal), 0 when only b is.
double RatioOf(double a, double b) {
  if (b == 0.0) return a == 0.0 ? 1.0 : 0.0;
  return a / b;
}

std::vector<double> PresentValues(const GroupMetric& m) {
  std::vector<double> out;
  for (size_t g = 0; g < m.by_group.size(); ++g) {
    if (m.present[g]) out.push_back(m.by_group[g]);
  }
  return out;
}

GroupMetric Frame(const BinaryOutcomes& o, std::span<const int> group_of, int num_groups,
                  double (*rate)(const BinaryOutcomes&, std::span<const size_t>)) {
  return ComputeMetricFrame(group_of, num_groups, [&](std::span<const size_t> s) { return rate(o, s); });
}

}  // namespace

double GroupMetric::GroupMin() const {
  const auto v = PresentValues(*this);
  return v.empty() ? 0.0 : *std::min_element(v.begin(), v.end());
}

double GroupMetric::GroupMax() const {
  const auto v = PresentValues(*this);
  return v.empty() ? 0.0 : *std::max_element(v.begin(), v.end());
}

double GroupMetric::Difference(Aggregate how) const {
  if (how == Aggregate::kBetweenGroups) return GroupMax() - GroupMin();
  double worst = 0.0;
  for (double v : PresentValues(*this)) worst = std::max(worst, std::fabs(v - overall));
  return worst;
}

double GroupMetric::Ratio(Aggregate how) const {
  const auto values = PresentValues(*this);
  if (values.empty()) return 1.0;
  if (how == Aggregate::kBetweenGroups) return RatioOf(GroupMin(), GroupMax());
  double worst = 1.0;
  for (double v : values) worst = std::min(worst, std::min(RatioOf(v, overall), RatioOf(overall, v)));
  return worst;
}

GroupMetric ComputeMetricFrame(std::span<const int> group_of, int num_groups,
                               const std::function<double(std::span<const size_t>)>& metric) {
  GroupMetric out;
  std::vector<size_t> all(group_of.size());
  std::iota(all.begin(), all.end(), size_t{0});
  out.overall = metric(all);
  std::vector<std::vector<size_t>> members(static_cast<size_t>(std::max(num_groups, 0)));
  for (size_t i = 0; i < group_of.size(); ++i) {
    const int g = group_of[i];
    if (g >= 0 && g < num_groups) members[static_cast<size_t>(g)].push_back(i);
  }
  out.by_group.assign(members.size(), 0.0);
  out.present.assign(members.size(), false);
  for (size_t g = 0; g < members.size(); ++g) {
    if (members[g].empty()) continue;
    out.present[g] = true;
    out.by_group[g] = metric(members[g]);
  }
  return out;
}

double SelectionRate(const BinaryOutcomes& o, std::span<const size_t> samples) {
  double selected = 0.0;
  for (size_t i : samples) selected += o.y_pred[i] != 0 ? 1.0 : 0.0;
  return SafeDivide(selected, static_cast<double>(samples.size()));
}

double TruePositiveRate(const BinaryOutcomes& o, std::span<const size_t> samples) {
  double positives = 0.0, hits = 0.0;
  for (size_t i : samples) {
    if (o.y_true[i] == 0) continue;
    positives += 1.0;
    hits += o.y_pred[i] != 0 ? 1.0 : 0.0;
  }
  return SafeDivide(hits, positives);
}

double FalsePositiveRate(const BinaryOutcomes& o, std::span<const size_t> samples) {
  double negatives = 0.0, alarms = 0.0;
  for (size_t i : samples) {
    if (o.y_true[i] != 0) continue;
    negatives += 1.0;
    alarms += o.y_pred[i] != 0 ? 1.0 : 0.0;
  }
  return SafeDivide(alarms, negatives);
}

double DemographicParityDifference(const BinaryOutcomes& o, std::span<const int> group_of, int num_groups) {
  return Frame(o, group_of, num_groups, SelectionRate).Difference();
}
double DemographicParityRatio(const BinaryOutcomes& o, std::span<const int> group_of, int num_groups) {
  return Frame(o, group_of, num_groups, SelectionRate).Ratio();
}
double EqualOpportunityDifference(const BinaryOutcomes& o, std::span<const int> group_of, int num_groups) {
  return Frame(o, group_of, num_groups, TruePositiveRate).Difference();
}
double EqualOpportunityRatio(const BinaryOutcomes& o, std::span<const int> group_of, int num_groups) {
  return Frame(o, group_of, num_groups, TruePositiveRate).Ratio();
}
double EqualizedOddsDifference(const BinaryOutcomes& o, std::span<const int> group_of, int num_groups) {
  return std::max(Frame(o, group_of, num_groups, TruePositiveRate).Difference(),
                  Frame(o, group_of, num_groups, FalsePositiveRate).Difference());
}
double EqualizedOddsRatio(const BinaryOutcomes& o, std::span<const int> group_of, int num_groups) {
  return std::min(Frame(o, group_of, num_groups, TruePositiveRate).Ratio(),
                  Frame(o, group_of, num_groups, FalsePositiveRate).Ratio());
}

}  // namespace steward::fairness
