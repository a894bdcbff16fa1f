// Off-policy (counterfactual) evaluation from logged propensities: what an evaluation policy pi_e
// would have earned on traffic logged by pi_0. Pure functions over plain arrays, one row per
// logged decision:
//   reward      r_i              observed reward of the logged action
//   weight      w_i = pi_e(a_i|x_i) / pi_0(a_i|x_i)
//   q_logged    q(x_i, a_i)      the reward model's prediction for the logged action
//   v_dm        sum_a pi_e(a|x_i) q(x_i, a)   the reward model's value of pi_e at x_i
// Estimators (definitions as in the Open Bandit Pipeline, Saito et al. 2020):
//   IPS       mean(min(w, clip) r)
//   SNIPS     sum(w r) / sum(w)
//   DM        mean(v_dm)
//   DR        mean(v_dm + w (r - q_logged))                      (Dudik et al. 2011)
//   Switch-DR mean(v_dm + w (r - q_logged) 1[w <= tau])          (Wang et al. 2017)
//   DRos      mean(v_dm + w_os (r - q_logged)), w_os = lambda w / (w^2 + lambda)   (Su et al. 2020)
// Intervals: CLT (mean +- z sd / sqrt(n) of the per-row terms; SNIPS by the delta method) or a
// percentile bootstrap. Diagnostics: effective sample size (sum w)^2 / sum w^2, the largest weight,
// and a warning when they make importance-weighted estimates unreliable.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/status.h"

namespace steward::shadow {

struct OpeData {
  std::vector<double> reward, weight, q_logged, v_dm;
  size_t size() const { return reward.size(); }
};

struct OpeOptions {
  double ips_clip = 1e9;       // IPS weight clipping. Default: none (1e9)
  double switch_tau = 10.0;    // Switch-DR threshold. Default: 10
  double dros_lambda = 10.0;   // DRos shrinkage. Default: 10
  double alpha = 0.05;         // 1 - confidence. Default: 0.05
  int bootstrap = 0;           // resamples for percentile intervals; 0 = CLT. Default: 0
  uint64_t seed = 1;           // bootstrap resampling
};

struct Estimate {
  double value = 0, ci_low = 0, ci_high = 0;
  // Non-empty when no interval can be estimated (then ci_low and ci_high are NaN, JSON null): every
  // row contributes the same term (e.g. a log without clicks), so the sample shows no variance and
  // an interval of width 0 would claim a certainty the data cannot give.
  std::string ci_undefined;
};

struct OpeDiagnostics {
  double ess = 0;         // effective sample size
  double max_weight = 0;
  double mean_weight = 0;  // should be near 1 when propensities are right
  bool unreliable = false;
  std::string warning;
};

// Names: "ips", "snips", "dm", "dr", "switch-dr", "dros".
const std::vector<std::string>& EstimatorNames();
StatusOr<std::map<std::string, Estimate>> Evaluate(const OpeData& data, const std::vector<std::string>& estimators,
                                                   const OpeOptions& options);
OpeDiagnostics Diagnose(const OpeData& data);

}  // namespace steward::shadow
