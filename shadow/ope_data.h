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

struct ObdOpe {
  OpeData data;
  int64_t rows_evaluated = 0;
  std::string note;
};

// pi_e "uniform" evaluates every row; learned policies are fitted on the first half of the log and
// evaluated on the second. The reward model is the smoothed click rate of each (item, position).
StatusOr<ObdOpe> BuildObdOpe(const data::ObdLog& log, const std::string& policy, uint64_t seed);

}  // namespace steward::shadow
