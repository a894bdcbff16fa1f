#include "experiment/assigner.h"

namespace steward::experiment {

Assigner::Assigner(const ExperimentConfig& config) : config_(config) { SetCoverage(config.coverage); }

void Assigner::SetCoverage(double coverage) {
  config_.coverage = coverage;
  std::vector<double> weights;
  for (const ArmConfig& arm : config_.arms) weights.push_back(arm.weight);
  ranges_ = BucketRanges(static_cast<int>(weights.size()), coverage, weights);
}

Assignment Assigner::Assign(std::string_view user_id) const {
  Assignment a;
  a.hash = GrowthBookHash(config_.seed, user_id, config_.hash_version).value_or(0.0);
  if (config_.namespace_ &&
      !InNamespace(user_id, config_.namespace_->name, config_.namespace_->start, config_.namespace_->end)) {
    return a;
  }
  a.arm_index = ChooseVariation(a.hash, ranges_);
  a.in_experiment = a.arm_index >= 0;
  return a;
}

}  // namespace steward::experiment
