#include "safety/policy.h"

#include "common/config.h"
#include "experiment/experiment_config.h"

namespace steward::safety {

StatusOr<SafetyPolicy> LoadSafetyPolicy(const std::string& path) {
  ASSIGN_OR_RETURN(ConfigNode root, ConfigNode::LoadFile(path));
  if (!root.IsMap()) return root.Error("must be a map of rules", "write `reason: ...` and the rules (docs/cli.md)");
  RETURN_IF_ERROR(root.RejectUnknownKeys({"reason", "blocklist", "restricted_categories", "max_impressions_per_user_item", "cap_window"}));
  SafetyPolicy p;
  ASSIGN_OR_RETURN(p.reason, root.GetString("reason"));
  if (p.reason.empty()) return root.Error("'reason' is empty", "say why these rules apply");
  if (auto list = root.Find("blocklist")) {
    if (!list->IsSequence()) return list->Error("must be a list of item ids", "write `blocklist: [123, 456]`");
    for (size_t i = 0; i < list->size(); ++i) {
      ASSIGN_OR_RETURN(int64_t id, list->At(i).AsInt());
      p.blocklist.insert(id);
    }
  }
  if (auto rules = root.Find("restricted_categories")) {
    if (!rules->IsSequence()) {
      return rules->Error("must be a list", "write `- {attribute: age_band, value: \"18-29\", categories: [3, 7]}`");
    }
    for (size_t i = 0; i < rules->size(); ++i) {
      const ConfigNode rule = rules->At(i);
      if (!rule.IsMap()) return rule.Error("must be a map", "write `{attribute: age_band, value: \"18-29\", categories: [3]}`");
      RETURN_IF_ERROR(rule.RejectUnknownKeys({"attribute", "value", "categories"}));
      CategoryRestriction r;
      ASSIGN_OR_RETURN(r.attribute, rule.GetString("attribute"));
      ASSIGN_OR_RETURN(r.value, rule.GetString("value"));
      if (r.attribute.empty()) return rule.Error("'attribute' is empty", "name a user attribute recorded with exposures");
      ASSIGN_OR_RETURN(ConfigNode cats, rule.Get("categories"));
      if (!cats.IsSequence() || cats.size() == 0) return cats.Error("must be a non-empty list of category numbers", "write `[3, 7]`");
      for (size_t c = 0; c < cats.size(); ++c) {
        ASSIGN_OR_RETURN(int64_t category, cats.At(c).AsInt());
        if (category < 0 || category > 1'000'000) return cats.At(c).Error("must be a category number >= 0", "write e.g. 3");
        r.categories.insert(static_cast<int>(category));
      }
      p.restrictions.push_back(std::move(r));
    }
  }
  ASSIGN_OR_RETURN(p.max_impressions_per_user_item, root.GetInt("max_impressions_per_user_item", 0));
  if (p.max_impressions_per_user_item < 0) {
    return root.Get("max_impressions_per_user_item")->Error("must be 0 (no cap) or more", "write e.g. 3");
  }
  if (auto window = root.Find("cap_window")) {
    ASSIGN_OR_RETURN(p.cap_window_ms, experiment::ParseDurationMs(*window));
    if (p.cap_window_ms < 1000) return window->Error("must be at least 1s", "write e.g. 1d");
  }
  return p;
}

std::set<int> RestrictedCategories(const SafetyPolicy& policy, const std::map<std::string, std::string>& attributes) {
  std::set<int> out;
  for (const CategoryRestriction& r : policy.restrictions) {
    auto it = attributes.find(r.attribute);
    if (it != attributes.end() && it->second == r.value) out.insert(r.categories.begin(), r.categories.end());
  }
  return out;
}

const char* PolicyRuleName(PolicyRule rule) {
  switch (rule) {
    case PolicyRule::kNone: return "none";
    case PolicyRule::kBlocklist: return "blocklist";
    case PolicyRule::kRestrictedCategory: return "restricted_category";
    case PolicyRule::kFrequencyCap: return "frequency_cap";
  }
  return "?";
}

PolicyRule UserPolicyCheck::Check(int64_t item_id, int category, int64_t ts_ms) {
  // Every impression counts toward the cap, whatever else it breaks.
  PolicyRule capped = PolicyRule::kNone;
  if (policy_.max_impressions_per_user_item > 0) {
    const int64_t window = ts_ms >= 0 ? ts_ms / policy_.cap_window_ms : (ts_ms + 1) / policy_.cap_window_ms - 1;
    auto& [shown_window, count] = shown_[item_id];
    if (shown_window != window || count == 0) shown_window = window, count = 0;
    if (++count > policy_.max_impressions_per_user_item) capped = PolicyRule::kFrequencyCap;
  }
  if (policy_.blocklist.count(item_id)) return PolicyRule::kBlocklist;
  if (restricted_.count(category)) return PolicyRule::kRestrictedCategory;
  return capped;
}

}  // namespace steward::safety
