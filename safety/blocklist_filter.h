// BlocklistFilter: screens candidates before ranking against a reviewed list of items that must not
// be recommended (legal takedowns, policy violations). Loaded from YAML/JSON:
//   items: [123, 456]        # catalog item ids
//   reason: "legal takedown 2026-11"
// Implements models::CandidateFilter, so any recommender can plug it in.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_set>
#include <vector>

#include "common/status.h"
#include "models/recommender.h"

namespace steward::safety {

class BlocklistFilter final : public models::CandidateFilter {
 public:
  // `catalog_ids`: the catalog's item ids in index order (models see indices, lists name ids).
  // Errors (kInvalidArgument) name the file and field: unknown ids, a missing reason, and a list
  // that blocks every catalog item (every list would be empty).
  static StatusOr<BlocklistFilter> Load(const std::string& path, const std::vector<int64_t>& catalog_ids);
  // The same from item ids already read (e.g. a policy recorded in the audit log). Errors name the
  // first id that is not in the catalog.
  static StatusOr<BlocklistFilter> FromIds(const std::vector<int64_t>& item_ids, std::string reason,
                                           const std::vector<int64_t>& catalog_ids);
  BlocklistFilter(std::unordered_set<int32_t> blocked_indices, std::string reason)
      : blocked_(std::move(blocked_indices)), reason_(std::move(reason)) {}

  std::string name() const override { return "blocklist"; }
  bool Allow(const models::RecommendRequest& request, int32_t item) const override;
  size_t size() const { return blocked_.size(); }
  const std::string& reason() const { return reason_; }
  // The blocked catalog ids, ascending (for recording the policy with an experiment).
  const std::vector<int64_t>& item_ids() const { return item_ids_; }

 private:
  std::unordered_set<int32_t> blocked_;
  std::string reason_;
  std::vector<int64_t> item_ids_;
};

}  // namespace steward::safety
