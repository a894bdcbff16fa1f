#include "safety/blocklist_filter.h"

#include <algorithm>
#include <unordered_map>

#include "common/config.h"

namespace steward::safety {

StatusOr<BlocklistFilter> BlocklistFilter::Load(const std::string& path, const std::vector<int64_t>& catalog_ids) {
  ASSIGN_OR_RETURN(ConfigNode root, ConfigNode::LoadFile(path));
  if (!root.IsMap()) return root.Error("must be a map", "write `items: [id, ...]` and `reason: ...`");
  RETURN_IF_ERROR(root.RejectUnknownKeys({"items", "reason"}));
  ASSIGN_OR_RETURN(std::string reason, root.GetString("reason"));
  if (reason.empty()) return root.Error("'reason' is empty", "say why these items are blocked");
  ASSIGN_OR_RETURN(ConfigNode items, root.Get("items"));
  if (!items.IsSequence()) return items.Error("must be a list of item ids", "write `items: [123, 456]`");
  std::unordered_map<int64_t, int32_t> index_of;
  for (size_t i = 0; i < catalog_ids.size(); ++i) index_of[catalog_ids[i]] = static_cast<int32_t>(i);
  std::unordered_set<int32_t> blocked;
  std::vector<int64_t> ids;
  for (size_t i = 0; i < items.size(); ++i) {
    ASSIGN_OR_RETURN(int64_t id, items.At(i).AsInt());
    auto it = index_of.find(id);
    if (it == index_of.end()) {
      return items.At(i).Error("names item " + std::to_string(id) + ", which is not in the catalog",
                               "remove it or check the id against data/goodbooks/books.csv");
    }
    blocked.insert(it->second);
    ids.push_back(id);
  }
  if (!catalog_ids.empty() && blocked.size() >= catalog_ids.size()) {
    // Every list would be empty: serving nothing is not a safety policy, and it would otherwise
    // look like a healthy run (exit 0, no warning).
    return items.Error("blocks every one of the " + std::to_string(catalog_ids.size()) +
                           " items in the catalog, so every recommended list would be empty",
                       "block only the items that must not be shown");
  }
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  BlocklistFilter filter(std::move(blocked), std::move(reason));
  filter.item_ids_ = std::move(ids);
  return filter;
}

StatusOr<BlocklistFilter> BlocklistFilter::FromIds(const std::vector<int64_t>& item_ids, std::string reason,
                                                   const std::vector<int64_t>& catalog_ids) {
  std::unordered_map<int64_t, int32_t> index_of;
  for (size_t i = 0; i < catalog_ids.size(); ++i) index_of[catalog_ids[i]] = static_cast<int32_t>(i);
  std::unordered_set<int32_t> blocked;
  for (int64_t id : item_ids) {
    auto it = index_of.find(id);
    if (it == index_of.end()) {
      return InvalidArgument("blocklist item " + std::to_string(id) + " is not in the catalog snapshot; the policy was " +
                             "recorded against another catalog");
    }
    blocked.insert(it->second);
  }
  BlocklistFilter filter(std::move(blocked), std::move(reason));
  filter.item_ids_ = item_ids;
  std::sort(filter.item_ids_.begin(), filter.item_ids_.end());
  filter.item_ids_.erase(std::unique(filter.item_ids_.begin(), filter.item_ids_.end()), filter.item_ids_.end());
  return filter;
}

bool BlocklistFilter::Allow(const models::RecommendRequest& request, int32_t item) const {
  (void)request;
  return blocked_.count(item) == 0;
}

}  // namespace steward::safety
