// Building off-policy evaluation data (OpeData) from two sources:
//  - a synthetic log from the simulated world, where the evaluated policy's true value is known
//    exactly (users drawn uniformly from the world's users, K actions, click probabilities from the
//    world's click model at position 1);
//  - a real OBD log, with its true logged propensities, for a uniform, LinUCB, linear-TS or
//    epsilon-greedy evaluation policy.
#pragma once

#include <cstdint>
#include <string>

#include "common/status.h"
#include "data/obd.h"
#include "models/bandit.h"
#include "shadow/ope.h"
#include "sim/world.h"

namespace steward::shadow {

struct SyntheticOpeOptions {
  int64_t n = 100000;
  int actions = 20;              // K items, spread over the popularity ranks
  double logging_epsilon = 0.15;  // the logging policy explores uniformly with this probability (the paper's 0.15)
  uint64_t seed = 1;
};

// Two decision problems over the world's users:
//  genre-shelf  which of the K genre shelves opens the home page; the reward is 1 when the user's
//               next book comes from it (rates 0.02-0.6: the world's choice model over the catalogue)
//  item-click   which of `actions` popular items fills a single slot; the reward is a click at
//               position 1 (rates 0.01-0.3)
enum class SyntheticScenario { kGenreShelf, kItemClick };
StatusOr<SyntheticScenario> ParseSyntheticScenario(const std::string& name);
const char* SyntheticScenarioName(SyntheticScenario scenario);

// The world's users and items stay fixed; the seed drives the log (users drawn, actions, rewards).
class SyntheticOpe {
 public:
  SyntheticOpe(const sim::World& world, SyntheticScenario scenario, int actions = 20);
  // True value of the evaluation policy: mean over users of sum_a pi_e(a|u) p(u, a).
  double true_value() const { return true_value_; }
  double logging_value() const { return logging_value_; }
  OpeData Generate(int64_t n, double logging_epsilon, uint64_t seed) const;

 private:
  int users_ = 0, k_ = 0;
  std::vector<double> p_;      // users x K click probabilities
  std::vector<double> pi_e_;   // users x K evaluation policy
  std::vector<double> pi_0_;   // K logging policy before exploration (non-contextual)
  std::vector<double> features_;  // users x K x 6 observable features (bias, age band, activity, genre affinity)
  double true_value_ = 0, logging_value_ = 0;
};

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
