// Bootstrap over users (docs/metrics.md): every audited figure is a function of per-user sums, so
// a replicate is the same figure computed with each user weighted by how often a resample with
// replacement drew them (multinomial counts). Seeded: the same seed gives the same intervals.
#pragma once

#include <cstdint>
#include <vector>

#include "common/rng.h"

namespace steward::fairness {

// Multinomial counts of a resample with replacement of `units` units (sums to `units`).
std::vector<double> ResampleWeights(size_t units, Rng& rng);

struct Interval {
  double low = 0.0, high = 0.0;
};
// Percentile interval of bootstrap replicates at confidence `level` (Default 0.95): the
// nearest-rank (1-level)/2 and (1+level)/2 quantiles (common/percentile.h). {0, 0} for none.
Interval PercentileInterval(std::vector<double> replicates, double level = 0.95);
// The same shifted by the resampling bias, point - mean(replicates): a figure whose bootstrap is
// biased (Gini, coverage: a resample repeats users, which concentrates exposure) keeps its interval
// around its value; for an unbiased figure the shift is about zero. {point, point} for none.
Interval BiasShiftedInterval(const std::vector<double>& replicates, double point, double level = 0.95);

// Ordinary least-squares slope of y over x (0 with fewer than two distinct x).
double OlsSlope(const std::vector<double>& x, const std::vector<double>& y);

// `pairs` distinct unordered pairs (a < b) of [0, n), drawn uniformly with `rng`; all pairs when
// there are no more than `pairs` of them. Sorted.
std::vector<std::pair<uint32_t, uint32_t>> SampleUserPairs(size_t n, size_t pairs, Rng& rng);

}  // namespace steward::fairness
