// SafetyPolicy: rules every served list must follow (issue #11; paper section 5.2), from YAML/JSON:
//   reason: "content policy 2026-12"        # why these rules (required)
//   blocklist: [123, 456]                   # item ids never to show
//   restricted_categories:                  # categories not to show to a user segment
//     - {attribute: age_band, value: "18-29", categories: [3, 7]}
//   max_impressions_per_user_item: 3        # one item shown to one user at most this often ...
//   cap_window: 1d                          # ... per window of event time. Default: 1d
// `steward audit --policy FILE` counts the served rows that break each rule (fairness/audit.h);
// the blocklist also screens candidates before ranking (safety/blocklist_filter.h).
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "common/status.h"

namespace steward::safety {

struct CategoryRestriction {
  std::string attribute, value;  // the user segment: users whose attribute has this value
  std::set<int> categories;
};

struct SafetyPolicy {
  std::string reason;
  std::set<int64_t> blocklist;
  std::vector<CategoryRestriction> restrictions;
  int64_t max_impressions_per_user_item = 0;  // 0: no cap
  int64_t cap_window_ms = 86'400'000;
};

// Errors (kInvalidArgument) name the file and field: unknown keys, a missing reason, a cap below 0,
// a restriction without attribute, value or categories.
StatusOr<SafetyPolicy> LoadSafetyPolicy(const std::string& path);

// Categories `policy` keeps from a user with these attributes (attribute -> value).
std::set<int> RestrictedCategories(const SafetyPolicy& policy, const std::map<std::string, std::string>& attributes);

// Rule a served row breaks (the first that applies, in this order); kNone when it follows them all.
enum class PolicyRule { kNone, kBlocklist, kRestrictedCategory, kFrequencyCap };
const char* PolicyRuleName(PolicyRule rule);  // "none", "blocklist", "restricted_category", "frequency_cap"

// Checks one user's served rows in time order: `Check` is called per row with the row's item id,
// its category and event time, and counts the user's impressions of the item per cap window.
class UserPolicyCheck {
 public:
  UserPolicyCheck(const SafetyPolicy& policy, std::set<int> restricted) : policy_(policy), restricted_(std::move(restricted)) {}
  PolicyRule Check(int64_t item_id, int category, int64_t ts_ms);

 private:
  const SafetyPolicy& policy_;
  std::set<int> restricted_;
  std::map<int64_t, std::pair<int64_t, int64_t>> shown_;  // item -> (cap window, impressions in it)
};

}  // namespace steward::safety
