// Off-policy value of a ranked list (a slate) from logged lists, under a position-based click model:
// what the shadow model's lists would have earned (clicks per list) on requests served by another
// policy. Pure functions over plain data; no I/O.
//
// Assumptions (stated, not checked):
//  A1 Position-based model (Craswell et al. 2008): P(click on item a at position k | request x) =
//     theta_k * alpha(x, a). Examination depends on the position only; attraction on the request
//     and the item, not on the other items of the list (no cascade, no saturation).
//  A2 The logger's probability of showing a at k is the logged propensity p_k; it shows an item at
//     most once per list, so a's logging examination mass is p_k theta_k (the other positions'
//     probability of a, at most eps / n_items each under epsilon-greedy, is ignored).
//  A3 The evaluated policy is deterministic given the request (its logged list is what it would
//     show) and did not change the user's response to the served list (it was never shown).
//  A4 Requests are independent (intervals are CLT intervals over lists; models that learn during the
//     log make consecutive lists weakly dependent, which the intervals ignore). The intervals also
//     treat the fitted click model as fixed, so they are too narrow: on a synthetic log with known
//     value (tests/shadow/slate_ope_test.cc) DR's error was within +-3.1% over 7 seeds but its 95%
//     interval missed the truth on 2 of them.
//
// Estimators, per logged list i with served items a_k (propensity p_k, click c_k) and target list
// h_j, target examination mass G(a) = sum_j 1[h_j = a] theta_j:
//   weight      g_k = G(a_k) / (p_k theta_k)       (PositionBasedWeight with share 1; Li et al. 2018)
//   DM_i        sum_j theta_j q(h_j)               q = the reward model's attraction
//   IPS_i       sum_k g_k c_k                      unbiased under A1-A3 where every target item has
//                                                  p > 0, but an item the logger shows only by
//                                                  uniform exploration gets weights ~ n_items / eps
//   DR_i        DM_i + sum_k 1[g_k <= tau] g_k (c_k - theta_k q(a_k))
//               a switch doubly robust estimator (Wang et al. 2017, per item): target items the
//               logger shows with real probability (its greedy list) are corrected by their clicks;
//               those it reaches only by exploration (g > tau) rest on the reward model alone, so
//               DR is unbiased when, for those items, q is right on average.
// The reward model is fitted on the same logs (FitPositionBasedModel): theta and alpha by EM for
// the position-based model (Chuklin, Markov, de Rijke 2015, "Click Models for Web Search", ch. 4;
// Wang et al. 2018, "Position bias estimation for unbiased learning to rank"), with theta_1 = 1 and
// each item's attraction shrunk towards its group's (e.g. a popularity decile) with `shrinkage`
// pseudo-impressions; with contexts (LoggedSlate::item_context, e.g. the user's affinity to the
// item's category) the attraction is alpha(a) * factor(context), fitted in the same EM. Without
// a context alpha(a) does not depend on the user: the logger's ranking of relevant items on top
// then inflates theta_1 (position and relevance are confounded), and personalisation the evaluated
// policy adds beyond the logged items is credited only through the DR correction on supported items.
#pragma once

#include <cstdint>
#include <unordered_map>
#include <vector>

#include "common/status.h"
#include "shadow/ope.h"

namespace steward::shadow {

// The position-based model's importance weight for a logged click of item a at position k:
//   w = target_mass * share / (logging_probability * theta_k)
// target_mass = sum_j pi_e(a at j) theta_j; share = the part of a's target mass credited to this
// logged position (1 when the logger shows a at one position only; 1 / L when every position is
// credited equally, as the OBD position-based weighting does). 0 when logging_probability or
// theta_k is not positive.
double PositionBasedWeight(double target_mass, double logging_probability, double theta_k, double share);

struct LoggedSlate {
  std::vector<int64_t> items;       // served list, position order (position = index + 1)
  std::vector<double> propensity;   // logging probability of items[k] at position k + 1, in (0, 1]
  std::vector<uint8_t> clicks;      // 1 when items[k] was clicked
  std::vector<int64_t> target;      // the evaluated policy's list for the same request
  // Optional context of each served / target item for this request (e.g. the user's affinity to the
  // item's category, bucketed), 0 .. contexts - 1; empty: context 0 for every item.
  std::vector<uint8_t> item_context, target_context;
};

struct SlateOpeOptions {
  int em_iterations = 2000;    // at most. Default: 2000
  double em_tolerance = 1e-6;  // stop when no theta_k moves more than this. Default: 1e-6
  double shrinkage = 50.0;  // pseudo-impressions pulling an item's attraction to its group's. Default: 50
  double switch_tau = 100.0;  // DR corrects items with weight <= tau, the model takes the rest. Default: 100
  double alpha = 0.05;      // 1 - confidence of the intervals. Default: 0.05
  // Item -> group for the attraction prior (e.g. popularity decile); items not listed share group
  // -1. Default: empty (one group).
  std::unordered_map<int64_t, int> item_group;
};

// Position-based click model fitted on logged lists.
struct PositionBasedModel {
  std::vector<double> examination;                  // theta_k, theta_1 = 1
  std::unordered_map<int64_t, double> attraction;   // alpha(a) for items seen in the log
  // Multiplicative attraction factor per context, alpha(a, b) = alpha(a) * factor[b] (capped below
  // 1), with mean 1 over the logged impressions; {1} without contexts.
  std::vector<double> context_factor = {1.0};
  std::unordered_map<int, double> group_attraction; // the prior of each group
  double global_attraction = 0;                     // for items of groups never seen
  int iterations = 0;                               // EM iterations run
  double Attraction(int64_t item, const std::unordered_map<int64_t, int>& item_group, int context = 0) const;
};

// Errors: kInvalidArgument when there is no list, a list's columns differ in length, a propensity
// is outside (0, 1], or the options are out of range.
StatusOr<PositionBasedModel> FitPositionBasedModel(const std::vector<LoggedSlate>& logs, const SlateOpeOptions& options);

struct SlateEstimate {
  int64_t lists = 0;
  int positions = 0;
  Estimate logged;    // clicks per list of the served lists (on-policy)
  Estimate dm, ips, dr;  // the evaluated policy's clicks per list; dr is the primary estimate
  // DR / logged - 1 with a delta-method interval (paired per list; experiment/stats RatioSums).
  Estimate lift;
  double supported_share = 0;  // target examination mass whose item the logger showed with weight <= tau
  int64_t supported_clicks = 0, switched_rows = 0;  // clicks entering DR's correction; rows switched to the model
  double max_weight = 0;       // largest IPS weight
  double ess = 0;              // (sum g)^2 / sum g^2 over rows with g > 0
  std::vector<double> examination;
  std::vector<double> context_factor;  // the model's attraction factor per context
};

// Errors: as FitPositionBasedModel, and kInvalidArgument when the model has fewer positions than a
// list or fewer than 2 lists are given.
StatusOr<SlateEstimate> EstimateSlateValue(const std::vector<LoggedSlate>& logs, const PositionBasedModel& model,
                                           const SlateOpeOptions& options);

}  // namespace steward::shadow
