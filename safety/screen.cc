#include "safety/screen.h"

#include <algorithm>
#include <cmath>

#include <nlohmann/json.hpp>

#include "common/json.h"
#include "common/rng.h"
#include "safety/risk_model.h"

namespace steward::safety {

StatusOr<std::vector<double>> ScoreCatalog(const RiskModel& model, const std::vector<ItemContent>& content,
                                           const models::Catalog& catalog) {
  std::unordered_map<int64_t, const ItemContent*> by_id;
  for (const ItemContent& c : content) by_id.emplace(c.item_id, &c);
  std::vector<double> out;
  out.reserve(catalog.items.size());
  for (const models::CatalogItem& item : catalog.items) {
    auto it = by_id.find(item.id);
    if (it == by_id.end()) {
      return InvalidArgument("risk scores: catalog item " + std::to_string(item.id) + " has no content (title, authors) to score");
    }
    out.push_back(model.Score(*it->second));
  }
  return out;
}

StatusOr<std::shared_ptr<SafetyScreen>> SafetyScreen::Create(SafetyPolicy policy, std::shared_ptr<const models::Catalog> catalog,
                                                             std::vector<double> risk, std::string risk_version,
                                                             ScreenOptions options) {
  if (!catalog || catalog->items.empty()) return InvalidArgument("the safety screen needs a non-empty catalog");
  if (!risk.empty() && risk.size() != catalog->items.size()) {
    return InvalidArgument("risk scores: " + std::to_string(risk.size()) + " scores for a catalog of " +
                           std::to_string(catalog->items.size()) + " items; score every catalog item");
  }
  for (size_t i = 0; i < risk.size(); ++i) {
    if (!(risk[i] >= 0.0 && risk[i] <= 1.0)) {
      return InvalidArgument("risk score of item " + std::to_string(catalog->items[i].id) + " is outside [0, 1]");
    }
  }
  if (!(options.block_risk >= 0.0 && options.block_risk <= 1.0)) return InvalidArgument("block_risk must be in [0, 1]");
  if (!(options.demote_risk >= 0.0 && options.demote_risk <= options.block_risk)) {
    return InvalidArgument("demote_risk must be in [0, block_risk]");
  }
  if (options.max_tracked_users < 1) return InvalidArgument("max_tracked_users must be at least 1");
  std::unordered_map<int64_t, int32_t> index;
  for (size_t i = 0; i < catalog->items.size(); ++i) index.emplace(catalog->items[i].id, static_cast<int32_t>(i));
  std::vector<char> blocked(catalog->items.size(), 0);
  for (int64_t id : policy.blocklist) {
    auto it = index.find(id);
    if (it == index.end()) return InvalidArgument("blocklist: item " + std::to_string(id) + " is not in the catalog; remove it or fix the id");
    blocked[static_cast<size_t>(it->second)] = 1;
  }
  std::shared_ptr<SafetyScreen> screen(
      new SafetyScreen(std::move(policy), std::move(catalog), std::move(risk), std::move(risk_version), options));
  screen->blocked_ = std::move(blocked);
  return screen;
}

SafetyScreen::SafetyScreen(SafetyPolicy policy, std::shared_ptr<const models::Catalog> catalog, std::vector<double> risk,
                           std::string risk_version, ScreenOptions options)
    : policy_(std::move(policy)),
      catalog_(std::move(catalog)),
      risk_(std::move(risk)),
      risk_version_(std::move(risk_version)),
      options_(options),
      shards_(std::make_unique<std::array<Shard, kShards>>()) {}

double SafetyScreen::Risk(int32_t item) const {
  if (risk_.empty() || item < 0 || static_cast<size_t>(item) >= risk_.size()) return 0.0;
  return risk_[static_cast<size_t>(item)];
}

int64_t SafetyScreen::Window(int64_t ts_ms) const {
  // The same fixed windows as UserPolicyCheck::Check (floor division, also for negative times).
  const int64_t w = policy_.cap_window_ms;
  return ts_ms >= 0 ? ts_ms / w : (ts_ms + 1) / w - 1;
}

bool SafetyScreen::Capped(int64_t user, int32_t item, int64_t ts_ms) const {
  const Shard& shard = (*shards_)[Mix64(static_cast<uint64_t>(user)) % kShards];
  const int64_t window = Window(ts_ms);
  std::lock_guard lock(shard.mu);
  auto it = shard.users.find(user);
  if (it == shard.users.end()) return false;
  for (const Shown& s : it->second) {
    if (s.item == item) return s.window == window && s.count >= policy_.max_impressions_per_user_item;
  }
  return false;
}

void SafetyScreen::Record(const models::RecommendRequest& request, int32_t item, const char* rule, double risk) {
  if (!request.decisions) return;
  for (const models::FilterDecision& d : *request.decisions) {
    if (d.item == item) return;  // a model may consult the filter twice for one item
  }
  if (request.decisions->size() < models::kMaxFilterDecisions) {
    request.decisions->push_back({item, rule, risk});
  } else if (request.decisions_dropped) {
    ++*request.decisions_dropped;
  }
}

bool SafetyScreen::Allow(const models::RecommendRequest& request, int32_t item) const {
  if (item < 0 || static_cast<size_t>(item) >= catalog_->items.size()) return false;
  const double risk = Risk(item);
  if (blocked_[static_cast<size_t>(item)]) {
    Record(request, item, "blocklist", risk);
    return false;
  }
  if (!policy_.restrictions.empty()) {
    const int category = catalog_->items[static_cast<size_t>(item)].category;
    for (const CategoryRestriction& r : policy_.restrictions) {
      if (!r.categories.count(category)) continue;
      for (const auto& [key, value] : request.attributes) {
        if (key == r.attribute && value == r.value) {
          Record(request, item, "restricted_category", risk);
          return false;
        }
      }
    }
  }
  if (policy_.max_impressions_per_user_item > 0 && Capped(request.user_id, item, request.ts_ms)) {
    Record(request, item, "frequency_cap", risk);
    return false;
  }
  if (!risk_.empty() && risk >= options_.block_risk) {
    Record(request, item, "risk", risk);
    return false;
  }
  return true;
}

int SafetyScreen::Demote(std::vector<models::ScoredItem>& items, std::vector<models::FilterDecision>* decisions) const {
  if (risk_.empty()) return 0;
  const auto demoted = [&](const models::ScoredItem& s) { return Risk(s.item) >= options_.demote_risk; };
  const int n = static_cast<int>(std::count_if(items.begin(), items.end(), demoted));
  if (n == 0) return 0;
  std::stable_partition(items.begin(), items.end(), [&](const models::ScoredItem& s) { return !demoted(s); });
  if (decisions) {
    for (const models::ScoredItem& s : items) {
      if (demoted(s) && decisions->size() < models::kMaxFilterDecisions) decisions->push_back({s.item, "risk_demote", Risk(s.item)});
    }
  }
  return n;
}

void SafetyScreen::NoteServed(int64_t user, std::span<const int32_t> items, int64_t ts_ms) {
  if (policy_.max_impressions_per_user_item <= 0 || items.empty()) return;
  const int64_t window = Window(ts_ms);
  Shard& shard = (*shards_)[Mix64(static_cast<uint64_t>(user)) % kShards];
  std::lock_guard lock(shard.mu);
  const size_t per_shard = std::max<size_t>(1, options_.max_tracked_users / kShards);
  if (shard.users.size() >= per_shard && !shard.users.count(user)) {
    // Drop users whose counts all belong to ended windows; then, if still full, any user.
    for (auto it = shard.users.begin(); it != shard.users.end();) {
      const bool stale = std::all_of(it->second.begin(), it->second.end(), [&](const Shown& s) { return s.window < window; });
      it = stale ? shard.users.erase(it) : std::next(it);
    }
    if (shard.users.size() >= per_shard) shard.users.erase(shard.users.begin());
  }
  std::vector<Shown>& shown = shard.users[user];
  // Entries of ended windows are dropped as the user is served again.
  std::erase_if(shown, [&](const Shown& s) { return s.window < window; });
  for (int32_t item : items) {
    auto it = std::find_if(shown.begin(), shown.end(), [&](const Shown& s) { return s.item == item; });
    if (it == shown.end()) {
      shown.push_back({item, 1, window});
    } else if (it->window != window) {
      *it = {item, 1, window};
    } else {
      ++it->count;
    }
  }
}

std::string SafetyScreen::RecordJson(std::span<const int32_t> served, std::span<const models::FilterDecision> decisions, int more) const {
  // Written by hand (this runs once per served list): fixed keys, numbers and static rule names.
  std::string out = "{\"v\":1";
  char buf[64];
  if (!risk_.empty()) {
    out += ",\"scorer\":";
    out += DumpJson(nlohmann::json(risk_version_));
    out += ",\"risk\":[";
    for (size_t i = 0; i < served.size(); ++i) {
      std::snprintf(buf, sizeof buf, "%s%.4g", i ? "," : "", Risk(served[i]));
      out += buf;
    }
    out += "]";
  }
  out += ",\"decisions\":[";
  for (size_t i = 0; i < decisions.size(); ++i) {
    const models::FilterDecision& d = decisions[i];
    const bool demote = std::string_view(d.rule) == "risk_demote";
    const int64_t id = d.item >= 0 && static_cast<size_t>(d.item) < catalog_->items.size() ? catalog_->items[static_cast<size_t>(d.item)].id : -1;
    std::snprintf(buf, sizeof buf, "%s[%lld,\"%s\",\"", i ? "," : "", static_cast<long long>(id), demote ? "demote" : "block");
    out += buf;
    out += d.rule;  // static rule names: no characters to escape
    std::snprintf(buf, sizeof buf, "\",%.4g]", d.risk);
    out += buf;
  }
  out += "]";
  if (more > 0) {
    std::snprintf(buf, sizeof buf, ",\"more\":%d", more);
    out += buf;
  }
  out += "}";
  return out;
}

}  // namespace steward::safety
