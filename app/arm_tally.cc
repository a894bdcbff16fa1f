#include "app/arm_tally.h"

#include <algorithm>

#include "common/percentile.h"

namespace steward::app {
namespace {
constexpr int kProviderGroups = 3;  // head, mid, tail
}  // namespace

ArmTally::ArmTally(std::string name, std::string model, std::shared_ptr<const models::Catalog> catalog)
    : catalog_(std::move(catalog)) {
  summary_.name = std::move(name);
  summary_.model = std::move(model);
  exposure_ = std::make_unique<fairness::ExposureAccumulator>(static_cast<int>(catalog_->items.size()), catalog_->num_categories,
                                                               kProviderGroups);
}

void ArmTally::AddList(const std::vector<int32_t>& items, size_t user_index, double latency_us) {
  categories_.clear();
  groups_.clear();
  for (int32_t index : items) {
    const auto& info = catalog_->items[static_cast<size_t>(index)];
    categories_.push_back(info.category);
    groups_.push_back(info.provider_group);
  }
  exposure_->AddList(items, categories_, groups_);
  ++summary_.exposures;
  if (seen_user_.size() <= user_index) seen_user_.resize(user_index + 1, 0);
  if (!seen_user_[user_index]) {
    seen_user_[user_index] = 1;
    ++summary_.users;
  }
  latencies_us_.push_back(latency_us);
}

ArmSummary ArmTally::Finish() const {
  ArmSummary s = summary_;
  s.ctr = s.exposures ? static_cast<double>(s.clicks) / static_cast<double>(s.exposures) : 0.0;
  s.diversity_index = exposure_->DiversityIndex();
  s.gini = exposure_->ItemGini();
  s.coverage = exposure_->Coverage();
  s.provider_shares = exposure_->GroupShares();
  s.p50_latency_us = Percentile(latencies_us_, 0.50);
  s.p99_latency_us = Percentile(latencies_us_, 0.99);
  return s;
}

}  // namespace steward::app
