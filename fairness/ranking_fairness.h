// Fairness of single rankings and of ranking policies (docs/metrics.md). Pure functions.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace steward::fairness {

// Binomial CDF P(X <= x) for X ~ Binomial(n, p).
double BinomialCdf(int x, int n, double p);

// FA*IR's ranked group fairness table (Zehlike et al. 2017, "FA*IR: A Fair Top-k Ranking
// Algorithm", CIKM, Definition 3.1, unadjusted alpha): m[i-1] = the minimum number of protected
// items the prefix of length i must hold: the inverse binomial CDF F^-1(alpha; i, p), the smallest
// m with F(m; i, p) >= alpha (scipy's binom.ppf, as the reference implementation fairsearchcore
// computes it). i = 1..k.
std::vector<int> FairMTable(int k, double p, double alpha);

struct PrefixTestResult {
  bool fair = true;
  int first_failing_prefix = 0;  // 1-based length of the first prefix below the table; 0 when fair
};
// Tests a ranking (protected[i] = whether the item at position i+1 is protected) against
// FairMTable(size, p, alpha).
PrefixTestResult FairPrefixTest(const std::vector<bool>& is_protected, double p, double alpha);

// Expected exposure (Diaz, Mitra, Ekstrand, Biega, Carterette 2020, "Evaluating Stochastically
// Ranked Retrieval Systems", CIKM), RBP browsing model with patience gamma: an item at 1-based
// rank i is exposed gamma^(i-1). `rankings` are samples of a stochastic policy for one query (item
// indices < num_items); the result is each item's mean exposure over the samples.
std::vector<double> ExpectedExposure(const std::vector<std::vector<int32_t>>& rankings, int num_items, double gamma);
// The ideal exposure: items ranked by relevance grade (descending), items of one grade sharing the
// exposure of the ranks they occupy equally (every ranking consistent with the grades equally likely).
std::vector<double> TargetExposure(std::span<const int> relevance, double gamma);
struct ExpectedExposureLoss {
  double ee_l = 0.0;  // ||e - e*||^2
  double ee_d = 0.0;  // ||e||^2 (disparity)
  double ee_r = 0.0;  // 2 e . e* (relevance)
};
ExpectedExposureLoss CompareExposure(std::span<const double> exposure, std::span<const double> target);

// Attention-weighted rank fairness (TREC Fair Ranking 2021; Sapiezynski et al. 2019): the
// attention-weighted distribution of a ranking over groups (attention w(p) = 1/log2(1+p)),
// compared with a target distribution by the Jensen-Shannon divergence (base 2, in [0, 1]); 0 =
// the ranking gives each group its target share of attention. `group_of_position[i]` is the group
// of the item at position i+1.
double AttentionWeightedRankFairness(std::span<const int> group_of_position, std::span<const double> target);
// Jensen-Shannon divergence in bits between two distributions of equal length.
double JensenShannon(std::span<const double> p, std::span<const double> q);

}  // namespace steward::fairness
