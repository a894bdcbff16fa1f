// Assigner: puts a user in an arm of one experiment, GrowthBook-compatibly (hashing.h).
// Built once from a config; Assign() allocates nothing and is safe to call from many threads.
#pragma once

#include <string_view>
#include <vector>

#include "experiment/experiment_config.h"
#include "experiment/hashing.h"

namespace steward::experiment {

struct Assignment {
  double hash = 0.0;       // the user's hash for the experiment's seed and version, in [0, 1)
  int arm_index = -1;      // -1 when not in the experiment
  bool in_experiment = false;
};

class Assigner {
 public:
  explicit Assigner(const ExperimentConfig& config);
  Assignment Assign(std::string_view user_id) const;
  // Rebuilds ranges for a new coverage (ramping); existing users keep their arm.
  void SetCoverage(double coverage);
  const ExperimentConfig& config() const { return config_; }

 private:
  ExperimentConfig config_;
  std::vector<BucketRange> ranges_;
};

}  // namespace steward::experiment
