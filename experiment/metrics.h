// ExperimentMetrics: streaming per-arm metrics at user level (the randomisation unit). Each
// metric is a ratio of per-user sums (numerator / exposures), kept as RatioSums so the delta
// method gives its variance. A user's sums change as they return; the running sums are updated by
// removing the user's old contribution and adding the new one, so memory is one small record per
// user and an update is O(number of metrics).
#pragma once

#include <array>
#include <cstdint>
#include <unordered_map>
#include <vector>

#include "experiment/experiment_config.h"
#include "experiment/stats.h"

namespace steward::experiment {

struct RequestOutcome {
  double clicks = 0;
  double conversions = 0;
  double latency_ms = 0;
  bool error = false;
};

class ExperimentMetrics {
 public:
  explicit ExperimentMetrics(int num_arms);
  // One served request of `user_id` in arm `arm`.
  void Record(int arm, int64_t user_id, const RequestOutcome& outcome);
  const RatioSums& Sums(int arm, Metric metric) const { return arms_[static_cast<size_t>(arm)].sums[static_cast<size_t>(metric)]; }
  int64_t Users(int arm) const {
    const Arm& a = arms_[static_cast<size_t>(arm)];
    return a.aggregated_users >= 0 ? a.aggregated_users : static_cast<int64_t>(a.users.size());
  }
  int64_t Exposures(int arm) const { return arms_[static_cast<size_t>(arm)].exposures; }
  int num_arms() const { return static_cast<int>(arms_.size()); }
  // Sets arm `arm` to totals aggregated elsewhere (e.g. SQL over every replica's events in
  // ClickHouse): its exposures, users and per-metric unit sums. The arm then keeps no per-user
  // records, so it must not be Record()ed into afterwards (the totals are replaced, not updated).
  void SetArmTotals(int arm, int64_t exposures, int64_t users, const std::array<RatioSums, kNumMetrics>& sums);

 private:
  struct UserTotals {
    double exposures = 0;
    std::array<double, kNumMetrics> numerators{};
  };
  struct Arm {
    std::unordered_map<int64_t, UserTotals> users;
    std::array<RatioSums, kNumMetrics> sums;
    int64_t exposures = 0;
    int64_t aggregated_users = -1;  // >= 0 once SetArmTotals set the arm
  };
  std::vector<Arm> arms_;
};

// Removes the contribution (x, y) of one unit from the sums (the inverse of RatioSums::Add).
void RemoveUnit(RatioSums& sums, double x, double y);

}  // namespace steward::experiment
