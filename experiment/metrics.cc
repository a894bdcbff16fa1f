#include "experiment/metrics.h"

namespace steward::experiment {

void RemoveUnit(RatioSums& s, double x, double y) {
  s.n -= 1;
  s.sx -= x;
  s.sy -= y;
  s.sxx -= x * x;
  s.syy -= y * y;
  s.sxy -= x * y;
}

ExperimentMetrics::ExperimentMetrics(int num_arms) : arms_(static_cast<size_t>(num_arms)) {}

void ExperimentMetrics::Record(int arm_index, int64_t user_id, const RequestOutcome& outcome) {
  Arm& arm = arms_[static_cast<size_t>(arm_index)];
  ++arm.exposures;
  auto [it, inserted] = arm.users.try_emplace(user_id);
  UserTotals& u = it->second;
  const std::array<double, kNumMetrics> add = {outcome.clicks, outcome.conversions, outcome.latency_ms,
                                               outcome.error ? 1.0 : 0.0};
  for (int m = 0; m < kNumMetrics; ++m) {
    RatioSums& s = arm.sums[static_cast<size_t>(m)];
    if (!inserted) RemoveUnit(s, u.numerators[static_cast<size_t>(m)], u.exposures);
    s.Add(u.numerators[static_cast<size_t>(m)] + add[static_cast<size_t>(m)], u.exposures + 1);
  }
  u.exposures += 1;
  for (int m = 0; m < kNumMetrics; ++m) u.numerators[static_cast<size_t>(m)] += add[static_cast<size_t>(m)];
}

void ExperimentMetrics::SetArmTotals(int arm, int64_t exposures, int64_t users, const std::array<RatioSums, kNumMetrics>& sums) {
  Arm& a = arms_[static_cast<size_t>(arm)];
  a.users.clear();
  a.exposures = exposures;
  a.aggregated_users = users;
  a.sums = sums;
}

}  // namespace steward::experiment
