// A synthetic bandit log from the simulated world, where the evaluated policy's true value is known
// exactly (users drawn uniformly from the world's users, K actions, click probabilities from the
// world's click model): the ground truth the off-policy estimators (shadow/ope.h) are checked
// against. Lives beside the simulator it draws from; it produces plain columns, which
// shadow::FromSyntheticLog turns into OpeData.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"
#include "sim/world.h"

namespace steward::sim {

// One row per logged decision: the reward, the importance weight pi_e(a|u) / pi_0(a|u), the reward
// model's value of the logged action q(u, a) and of the evaluation policy v_dm(u).
struct SyntheticLog {
  std::vector<double> reward, weight, q_logged, v_dm;
};

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
  SyntheticLog Generate(int64_t n, double logging_epsilon, uint64_t seed) const;

 private:
  int users_ = 0, k_ = 0;
  std::vector<double> p_;      // users x K click probabilities
  std::vector<double> pi_e_;   // users x K evaluation policy
  std::vector<double> pi_0_;   // K logging policy before exploration (non-contextual)
  std::vector<double> features_;  // users x K x 6 observable features (bias, age band, activity, genre affinity)
  double true_value_ = 0, logging_value_ = 0;
};

}  // namespace steward::sim
