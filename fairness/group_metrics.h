// Disaggregated metrics with Fairlearn's MetricFrame semantics (fairlearn.metrics.MetricFrame,
// fairlearn >= 0.7): a metric computed overall and per group of a sensitive feature, with
//   difference(between_groups) = max_g m_g - min_g m_g
//   difference(to_overall)     = max_g |m_g - m_overall|
//   ratio(between_groups)      = min_g m_g / max_g m_g
//   ratio(to_overall)          = min_g min(m_g / m_overall, m_overall / m_g)
// and the group-fairness summaries built on it (demographic parity, equal opportunity, equalized
// odds) for binary outcomes. Pure functions; a rate with an empty denominator is 0 (scikit-learn's
// zero_division default), a ratio with a zero denominator is 1 when both sides are 0 and 0 otherwise.
// Definitions pinned in docs/metrics.md.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <vector>

namespace steward::fairness {

enum class Aggregate { kBetweenGroups, kToOverall };

struct GroupMetric {
  double overall = 0.0;
  std::vector<double> by_group;  // indexed by group id (0..num_groups-1); groups with no samples are left out below
  std::vector<bool> present;     // whether group g has at least one sample

  double GroupMin() const;
  double GroupMax() const;
  double Difference(Aggregate how = Aggregate::kBetweenGroups) const;
  double Ratio(Aggregate how = Aggregate::kBetweenGroups) const;
};

// Evaluates `metric` (over a list of sample indices) on every sample and on each group's samples.
// `group_of` gives each sample's group id in [0, num_groups).
GroupMetric ComputeMetricFrame(std::span<const int> group_of, int num_groups,
                               const std::function<double(std::span<const size_t>)>& metric);

// Binary outcomes (0/1) per sample.
struct BinaryOutcomes {
  std::span<const int> y_true;
  std::span<const int> y_pred;
};

double SelectionRate(const BinaryOutcomes& o, std::span<const size_t> samples);     // P(pred = 1)
double TruePositiveRate(const BinaryOutcomes& o, std::span<const size_t> samples);  // P(pred = 1 | true = 1), recall
double FalsePositiveRate(const BinaryOutcomes& o, std::span<const size_t> samples); // P(pred = 1 | true = 0)

// Fairlearn's demographic_parity_difference / _ratio: the selection rate's between-groups
// difference / ratio. equal opportunity: the true positive rate's. equalized_odds_difference: the
// larger of the TPR and FPR differences; equalized_odds_ratio: the smaller of their ratios.
double DemographicParityDifference(const BinaryOutcomes& o, std::span<const int> group_of, int num_groups);
double DemographicParityRatio(const BinaryOutcomes& o, std::span<const int> group_of, int num_groups);
double EqualOpportunityDifference(const BinaryOutcomes& o, std::span<const int> group_of, int num_groups);
double EqualOpportunityRatio(const BinaryOutcomes& o, std::span<const int> group_of, int num_groups);
double EqualizedOddsDifference(const BinaryOutcomes& o, std::span<const int> group_of, int num_groups);
double EqualizedOddsRatio(const BinaryOutcomes& o, std::span<const int> group_of, int num_groups);

}  // namespace steward::fairness
