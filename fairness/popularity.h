// Popularity bias of recommended lists (docs/metrics.md). Pure functions.
//   Short head: the most popular items, by popularity descending (ties keep catalog order), of the
//   smallest prefix whose popularity sum reaches `head_share` (Default 0.8) of the catalog's total;
//   the rest is the long tail (Abdollahpouri et al. 2019, "Managing popularity bias in recommender
//   systems with personalized re-ranking", FLAIRS: the 80/20 rule on popularity mass).
//   ARP  = mean over lists of the mean popularity of the list's items (Yin et al. 2012)
//   APLT = mean over lists of (long-tail items in the list / items in the list)
//   ACLT = mean over lists of the number of long-tail items in the list
//   PopRSP / PopREO (Zhu, Wang, Caverlee 2021, "Popularity-Opportunity Bias in Collaborative
//   Filtering", WSDM): population std / mean over popularity groups of the recommendation rate
//   P(rec | g) (RSP) or of the hit rate among relevant items P(rec | g, relevant) (REO).
// Items of a list are counted as rows: an item listed twice counts twice.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace steward::fairness {

// is_head[i] for catalog item i (see above). All false when the total popularity is not positive
// (no popularity mass: everything is long tail).
std::vector<bool> ShortHead(std::span<const double> popularity, double head_share = 0.8);

struct PopularityBias {
  double arp = 0.0, aplt = 0.0, aclt = 0.0;  // 0 when there are no lists; empty lists count as 0
};

// `lists` holds catalog item indices; `popularity` and `is_head` are indexed by catalog item.
PopularityBias ComputePopularityBias(const std::vector<std::vector<int32_t>>& lists, std::span<const double> popularity,
                                     const std::vector<bool>& is_head);

// Population standard deviation / mean of `rates` (0 when the mean is 0 or there are none).
double RelativeStd(std::span<const double> rates);
// PopRSP: recommended[g] = recommendations of group g's items, candidates[g] = items of g that could
// have been recommended (summed over users). Groups with no candidates are left out.
double PopRsp(std::span<const double> recommended, std::span<const double> candidates);
// PopREO: hits[g] = relevant items of g that were recommended, relevant[g] = relevant items of g.
double PopReo(std::span<const double> hits, std::span<const double> relevant);

}  // namespace steward::fairness
