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
  screen->has_request_rules_ = !screen->policy_.restrictions.empty() || screen->policy_.max_impressions_per_user_item > 0;
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

namespace {

// What one request's checks share, computed on its first Allow call on this thread: the items the
// cap keeps from the user now and the categories the user's segment may not see. A model asks
// Allow for hundreds of candidates per request; each then costs a lookup, not a lock and a scan.
struct RequestContext {
  const void* screen = nullptr;
  const void* request = nullptr;  // the request object asked about last (fast path)
  int64_t request_id = 0, user = 0, ts_ms = 0;
  const void* attributes = nullptr;
  size_t attribute_count = 0;
  std::vector<int32_t> capped;  // sorted catalog indices
  std::vector<int> restricted;  // sorted categories
  // Refusals already recorded for this request: seen[item] == stamp (one stamp per context), so a
  // model that asks about an item twice records and counts it once, at O(1) per refusal.
  std::vector<uint32_t> seen;
  uint32_t stamp = 0;
};
thread_local RequestContext tls_context;

}  // namespace

const void* SafetyScreen::Context(const models::RecommendRequest& request) const {
  RequestContext& c = tls_context;
  // Fast path: the same request object as the last call (a model asking about its candidates).
  if (c.request == &request && c.screen == this && c.request_id == request.request_id && c.user == request.user_id &&
      c.ts_ms == request.ts_ms && c.attributes == request.attributes.data()) {
    return &c;
  }
  c.request = &request;
  if (c.screen == this && c.request_id == request.request_id && c.user == request.user_id && c.ts_ms == request.ts_ms &&
      c.attributes == request.attributes.data() && c.attribute_count == request.attributes.size()) {
    return &c;
  }
  c.screen = this;
  c.request_id = request.request_id;
  c.user = request.user_id;
  c.ts_ms = request.ts_ms;
  c.attributes = request.attributes.data();
  c.attribute_count = request.attributes.size();
  c.capped.clear();
  c.restricted.clear();
  if (c.seen.size() != catalog_->items.size()) {
    c.seen.assign(catalog_->items.size(), 0);
    c.stamp = 0;
  }
  if (++c.stamp == 0) {  // wrapped: clear the marks
    std::fill(c.seen.begin(), c.seen.end(), 0);
    c.stamp = 1;
  }
  for (const CategoryRestriction& r : policy_.restrictions) {
    for (const auto& [key, value] : request.attributes) {
      if (key == r.attribute && value == r.value) c.restricted.insert(c.restricted.end(), r.categories.begin(), r.categories.end());
    }
  }
  std::sort(c.restricted.begin(), c.restricted.end());
  if (policy_.max_impressions_per_user_item > 0) {
    const Shard& shard = (*shards_)[Mix64(static_cast<uint64_t>(request.user_id)) % kShards];
    const int64_t window = Window(request.ts_ms);
    std::lock_guard lock(shard.mu);
    if (auto it = shard.users.find(request.user_id); it != shard.users.end()) {
      for (const Shown& s : it->second) {
        if (s.window == window && s.count >= policy_.max_impressions_per_user_item) c.capped.push_back(s.item);
      }
    }
    std::sort(c.capped.begin(), c.capped.end());
  }
  return &c;
}

void SafetyScreen::Record(const models::RecommendRequest& request, int32_t item, const char* rule, double risk) const {
  if (!request.decisions) return;
  auto& c = *static_cast<RequestContext*>(const_cast<void*>(Context(request)));
  uint32_t& mark = c.seen[static_cast<size_t>(item)];
  if (mark == c.stamp) return;  // a model may consult the filter twice for one item
  mark = c.stamp;
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
  if (has_request_rules_) {
    const auto& c = *static_cast<const RequestContext*>(Context(request));
    const int category = catalog_->items[static_cast<size_t>(item)].category;
    if (!c.restricted.empty() && std::binary_search(c.restricted.begin(), c.restricted.end(), category)) {
      Record(request, item, "restricted_category", risk);
      return false;
    }
    if (!c.capped.empty() && std::binary_search(c.capped.begin(), c.capped.end(), item)) {
      Record(request, item, "frequency_cap", risk);
      return false;
    }
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
  // This thread's context may hold the counts from before (a caller serving the same request id
  // again, as tests do); other threads' contexts belong to their own in-flight requests.
  tls_context.screen = nullptr;
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
