// Building off-policy evaluation data (OpeData) from a real OBD log, with its true logged
// propensities, for a uniform, LinUCB, linear-TS or epsilon-greedy evaluation policy; and from the
// simulator's synthetic log (sim/synthetic_ope.h), where the true value is known.
#pragma once

#include <cstdint>
#include <string>

#include "common/status.h"
#include "data/obd.h"
#include "models/bandit.h"
#include "shadow/ope.h"
#include "sim/synthetic_ope.h"

namespace steward::shadow {

// The simulator's synthetic log as estimator input.
OpeData FromSyntheticLog(sim::SyntheticLog log);

// How a slate's positions enter the importance weights (OBD logs carry one row per shown position,
// with the logging policy's probability of that item at that position):
//  per-position    w = pi_e(a at k | x) / pi_0(a at k | x): each position is its own decision, as in
//                  the Open Bandit Pipeline. Unbiased for any click model; uses only rows whose
//                  position the evaluated policy would also have filled with a.
//  position-based  a position-based examination model, P(click) = theta_k * alpha(a) (Craswell et
//                  al. 2008): a click at position k also tells what a at position j would earn, so
//                  w r / theta_k with w = sum_j pi_e(a at j | x) theta_j / (L pi_0(a at k | x))
//                  pools the positions (Li et al. 2018, "Offline evaluation of ranking policies
//                  with click models"); stored as a mean-1 weight times the reward scaled by
//                  theta_bar / theta_k, so SNIPS and the diagnostics apply unchanged. theta is estimated from the log by importance weighting: the uniform
//                  policy's click rate per position, relative to position 1. The reward model is
//                  then theta_k * alpha(a) so that DR stays unbiased under the model.
enum class SlateModel { kPerPosition, kPositionBased };
StatusOr<SlateModel> ParseSlateModel(const std::string& name);  // "per-position" | "position-based"

struct ObdOpeOptions {
  std::string policy = "uniform";  // uniform, linucb, lints, egreedy
  SlateModel slate = SlateModel::kPerPosition;
  uint64_t seed = 1;
};

struct ObdOpe {
  OpeData data;
  int64_t rows_evaluated = 0;
  int positions = 0;
  std::vector<double> examination;  // theta_k / theta_1 per position (estimated from the log)
  std::string note;
};

// pi_e "uniform" evaluates every row; learned policies are fitted on the first half of the log and
// evaluated on the second. A learned policy fills the slate in score order (position k gets the
// k-th best item); linear TS by 64 posterior draws (a documented Monte-Carlo propensity); epsilon-
// greedy puts a uniform item at each position with probability epsilon.
StatusOr<ObdOpe> BuildObdOpe(const data::ObdLog& log, const ObdOpeOptions& options);
StatusOr<ObdOpe> BuildObdOpe(const data::ObdLog& log, const std::string& policy, uint64_t seed);

}  // namespace steward::shadow
