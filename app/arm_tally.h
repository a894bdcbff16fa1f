// ArmTally: what a demo driver counts per arm while it sends traffic (exposures, users, clicks,
// the exposure metrics of the served lists, latencies), turned into the summary's ArmSummary.
// One implementation for the in-process demo and the demo over HTTP.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "app/demo.h"
#include "fairness/metrics.h"
#include "models/recommender.h"

namespace steward::app {

class ArmTally {
 public:
  ArmTally(std::string name, std::string model, std::shared_ptr<const models::Catalog> catalog);
  // One served list (catalog indices in position order) to the user with index `user_index`.
  void AddList(const std::vector<int32_t>& items, size_t user_index, double latency_us);
  void AddClick() { ++summary_.clicks; }
  void AddConversion() { ++summary_.conversions; }
  const ArmSummary& summary() const { return summary_; }
  // CTR, exposure metrics and latency percentiles filled in.
  ArmSummary Finish() const;

 private:
  ArmSummary summary_;
  std::shared_ptr<const models::Catalog> catalog_;
  std::unique_ptr<fairness::ExposureAccumulator> exposure_;
  std::vector<double> latencies_us_;
  std::vector<char> seen_user_;
  std::vector<int> categories_, groups_;  // scratch
};

}  // namespace steward::app
