#include "safety/blocklist_filter.h"

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
  for (size_t i = 0; i < items.size(); ++i) {
    ASSIGN_OR_RETURN(int64_t id, items.At(i).AsInt());
    auto it = index_of.find(id);
    if (it == index_of.end()) {
      return items.At(i).Error("names item " + std::to_string(id) + ", which is not in the catalog",
                               "remove it or check the id against data/goodbooks/books.csv");
    }
    blocked.insert(it->second);
  }
  return BlocklistFilter(std::move(blocked), std::move(reason));
}

bool BlocklistFilter::Allow(const models::RecommendRequest& request, int32_t item) const {
  (void)request;
  return blocked_.count(item) == 0;
}

}  // namespace steward::safety
