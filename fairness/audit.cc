#include "fairness/audit.h"

#include <algorithm>
#include <charconv>
#include <atomic>
#include <mutex>
#include <deque>
#include <condition_variable>
#include <cmath>
#include <nlohmann/json.hpp>
#include <limits>
#include <numeric>
#include <set>
#include <sstream>
#include <thread>
#include <unordered_map>

#include "common/csv.h"
#include "common/json.h"
#include "common/rng.h"
#include "common/text.h"
#include "data/loader_util.h"
#include "fairness/bootstrap.h"
#include "fairness/feedback_loop.h"
#include "fairness/metrics.h"
#include "fairness/popularity.h"
#include "safety/policy.h"
#include "storage/audit_log.h"
#include "storage/queries.h"

namespace steward::fairness {
namespace {

constexpr int64_t kWeekMs = 7 * 86'400'000LL;
constexpr int64_t kSessionGapMs = 30 * 60'000LL;
constexpr const char* kNone = "(none)";
constexpr size_t kBootstrapBlocks = 200;

// ---- Inputs ----

struct Catalog {
  std::vector<int64_t> ids;                    // catalog index -> item id
  std::unordered_map<int64_t, int32_t> index;  // item id -> catalog index
  std::vector<int32_t> dense;                  // the same for ids 0..dense.size()-1 (-1: not in the catalog)
  int32_t Find(int64_t id) const {
    if (id >= 0 && static_cast<uint64_t>(id) < dense.size()) return dense[static_cast<size_t>(id)];
    auto it = index.find(id);
    return it == index.end() ? -1 : it->second;
  }
  std::vector<int> category, group;
  std::vector<float> risk;  // the run's risk score per item (catalog snapshot); NaN when none
  std::vector<double> popularity;
  std::vector<bool> head;
  std::vector<std::string> group_names;
  std::vector<double> target;  // catalog share per group
  std::vector<double> self_information;  // -log2(popularity / total); 0 where popularity is 0 (not used)
  int num_categories = 1;
  double total_popularity = 0.0;
  double head_items = 0.0, tail_items = 0.0;
};

// One served list of one side, items as catalog indices.
struct List {
  int32_t user = 0;  // the side's local user index
  int64_t ts_ms = 0;
  uint32_t begin = 0, end = 0;  // into Side::items / clicked
  int32_t explored = 0;         // positions logged with propensity < 1
  int32_t blocked = 0, demoted = 0;  // the safety screen's decisions for this list (its stored record)
  bool screened = false;             // a safety screen record was stored with the list
};

// The safety screen's record stored with a list (safety/screen.h RecordJson, storage migration 9):
// what the audit needs of it. Parsed by a scan of that fixed format (one per audited list: JSON
// parsing would dominate a 1M-exposure audit); anything unexpected leaves the list unscreened.
struct SafetyRecord {
  bool screened = false;
  int32_t blocked = 0, demoted = 0;
  std::vector<float> risk;  // per served position
};

void ParseSafetyRecord(std::string_view text, SafetyRecord& out) {
  out = SafetyRecord();
  if (text.size() < 2 || text.front() != '{') return;
  out.screened = true;
  if (size_t at = text.find("\"risk\":["); at != std::string_view::npos) {
    const char* p = text.data() + at + 8;
    const char* end = text.data() + text.size();
    while (p < end && *p != ']') {
      float v = 0;
      auto [next, ec] = std::from_chars(p, end, v);
      if (ec != std::errc()) {
        out.risk.clear();
        break;
      }
      out.risk.push_back(v);
      p = next;
      if (p < end && *p == ',') ++p;
    }
  }
  for (size_t at = text.find(",\"block\","); at != std::string_view::npos; at = text.find(",\"block\",", at + 1)) ++out.blocked;
  for (size_t at = text.find(",\"demote\","); at != std::string_view::npos; at = text.find(",\"demote\",", at + 1)) ++out.demoted;
  if (size_t at = text.find("\"more\":"); at != std::string_view::npos) {
    int32_t more = 0;
    std::from_chars(text.data() + at + 7, text.data() + text.size(), more);
    out.blocked += std::max(0, more);
  }
}

struct Side {
  std::string name;
  bool treatment = false, shadow = false, excluded = false, has_clicks = true;
  std::vector<List> lists;
  std::vector<int32_t> items;
  std::vector<uint8_t> clicked;
  std::vector<float> risk;     // per row: the risk the screen scored at serving; NaN when none
  bool screened = false;       // some list of the side carries a safety screen record
  std::vector<int32_t> users;  // local -> global user index
  std::vector<int32_t> local;  // global user -> the side's user index (-1: none yet)
};

struct Users {
  std::vector<std::string> dimensions;
  std::vector<std::vector<std::string>> group_names;  // per dimension
  std::vector<std::vector<int32_t>> group;            // [dimension][global user]
};

std::string ProviderTierName(int tier) {
  static const char* kNames[] = {"head", "mid", "tail"};
  return tier >= 0 && tier < 3 ? kNames[tier] : "tier-" + std::to_string(tier);
}

StatusOr<std::unordered_map<std::string, std::string>> LoadGroupsFile(const std::string& path, const std::string& id_column) {
  ASSIGN_OR_RETURN(auto reader, CsvReader::Open(path));
  ASSIGN_OR_RETURN(data::Header header, data::Header::Read(*reader));
  ASSIGN_OR_RETURN(size_t c_id, header.Require(id_column));
  ASSIGN_OR_RETURN(size_t c_group, header.Require("group"));
  std::unordered_map<std::string, std::string> out;
  std::vector<std::string> f;
  while (true) {
    ASSIGN_OR_RETURN(bool more, reader->Next(f));
    if (!more) break;
    RETURN_IF_ERROR(header.CheckRow(*reader, f));
    if (f[c_id].empty()) return data::FieldError(*reader, id_column, "is empty", f[c_id]);
    if (f[c_group].empty()) return data::FieldError(*reader, "group", "is empty; name the group", f[c_group]);
    if (!out.emplace(f[c_id], f[c_group]).second) {
      return data::FieldError(*reader, id_column, "is listed twice; give each one group (write intersections as one name)", f[c_id]);
    }
  }
  return out;
}

StatusOr<Catalog> LoadAuditCatalog(storage::Database& db, const AuditOptions& options, std::string& grouping) {
  ASSIGN_OR_RETURN(auto rows, storage::LoadCatalog(db));
  if (rows.empty()) {
    return FailedPrecondition(db.path() + ": no catalog snapshot (catalog_items is empty), so item groups, categories and "
                              "popularity are unknown; the serving process saves one (e.g. `steward demo`)");
  }
  Catalog c;
  std::unordered_map<std::string, std::string> file;
  if (!options.item_groups_file.empty()) {
    ASSIGN_OR_RETURN(file, LoadGroupsFile(options.item_groups_file, "item_id"));
    grouping = "file " + options.item_groups_file;
  } else {
    grouping = "provider popularity tier (catalog snapshot)";
  }
  std::unordered_map<std::string, int> group_index;
  // A popularity column with negative values is a log-scale score (the demo stores z-scored
  // log(1 + ratings)): it is exponentiated, keeping the order (docs/metrics.md).
  const bool log_scale = std::any_of(rows.begin(), rows.end(), [](const storage::CatalogRow& r) { return r.popularity < 0.0; });
  for (const auto& r : rows) {
    c.index.emplace(r.item_id, static_cast<int32_t>(c.category.size()));
    c.risk.push_back(r.risk >= 0 ? static_cast<float>(r.risk) : std::numeric_limits<float>::quiet_NaN());
    c.ids.push_back(r.item_id);
    c.category.push_back(std::max(r.category, 0));
    c.num_categories = std::max(c.num_categories, r.category + 1);
    c.popularity.push_back(log_scale ? std::exp(r.popularity) : r.popularity);
    std::string name;
    if (options.item_groups_file.empty()) {
      name = ProviderTierName(r.provider_group);
    } else {
      auto it = file.find(std::to_string(r.item_id));
      name = it == file.end() ? kNone : it->second;
    }
    auto [g, added] = group_index.emplace(name, static_cast<int>(c.group_names.size()));
    if (added) c.group_names.push_back(name);
    c.group.push_back(g->second);
  }
  // Groups in name order, so reports are stable.
  std::vector<std::string> sorted = c.group_names;
  std::sort(sorted.begin(), sorted.end());
  std::vector<int> remap(c.group_names.size());
  for (size_t g = 0; g < c.group_names.size(); ++g) {
    remap[g] = static_cast<int>(std::lower_bound(sorted.begin(), sorted.end(), c.group_names[g]) - sorted.begin());
  }
  for (int& g : c.group) g = remap[static_cast<size_t>(g)];
  c.group_names = sorted;
  c.target.assign(c.group_names.size(), 0.0);
  for (int g : c.group) c.target[static_cast<size_t>(g)] += 1.0;
  for (double& t : c.target) t /= static_cast<double>(c.group.size());
  c.head = ShortHead(c.popularity);
  // Ids are usually small and dense: an array lookup per served item instead of a hash.
  int64_t max_id = -1;
  for (const auto& [id, i] : c.index) max_id = std::max(max_id, id);
  if (max_id >= 0 && max_id < 4 * static_cast<int64_t>(c.index.size()) + 1'000'000) {
    c.dense.assign(static_cast<size_t>(max_id) + 1, -1);
    for (const auto& [id, i] : c.index) {
      if (id >= 0) c.dense[static_cast<size_t>(id)] = i;
    }
  }
  for (double p : c.popularity) c.total_popularity += p;
  for (double p : c.popularity) c.self_information.push_back(p > 0.0 ? SelfInformation(p / c.total_popularity) : 0.0);
  for (bool h : c.head) (h ? c.head_items : c.tail_items) += 1.0;
  return c;
}

// ---- Per-user sums: every audited figure is a function of these (see bootstrap.h) ----

struct Sums {
  size_t users = 0, groups = 0, categories = 0;
  std::vector<int32_t> side_user;  // row -> the side's user index
  std::vector<double> lists, clicks, rows, explored;
  std::vector<double> exposure, merit;  // [user * groups + g]: position-weighted exposure, clicks
  std::vector<double> category;         // [user * categories + c]: rows
  std::vector<uint32_t> item_offset;    // user -> [offset, offset+1) into item/item_count
  std::vector<int32_t> item;
  std::vector<double> item_count;
  std::vector<double> tail_share, tail_rows_per_list, mean_popularity, head_rows, tail_rows;
  std::vector<double> novelty, novelty_rows, ild;
  std::vector<double> week_categories, weeks, session_categories, sessions, consecutive_similarity, consecutive_pairs;
  std::vector<double> policy_violations, policy_blocklist, policy_restricted, policy_cap;  // rows breaking a rule
  std::vector<double> risk_sum, risk_rows, screened_lists, screen_blocked, screen_demoted;  // the safety screen's record
  std::vector<double> group_risk, group_risk_rows;  // [user * groups + g]: served risk and rows with a risk
  // Per user-group dimension d: [row * groups_of_dim[d] + h] clicks and lists of group h's users.
  std::vector<size_t> dim_groups;
  std::vector<std::vector<double>> dim_clicks, dim_lists;
};

std::vector<std::vector<double>*> PerRowColumns(Sums& s) {
  return {&s.lists, &s.clicks, &s.rows, &s.explored, &s.tail_share, &s.tail_rows_per_list, &s.mean_popularity,
          &s.head_rows, &s.tail_rows, &s.novelty, &s.novelty_rows, &s.ild, &s.week_categories, &s.weeks,
          &s.session_categories, &s.sessions, &s.consecutive_similarity, &s.consecutive_pairs,
          &s.policy_violations, &s.policy_blocklist, &s.policy_restricted, &s.policy_cap,
          &s.risk_sum, &s.risk_rows, &s.screened_lists, &s.screen_blocked, &s.screen_demoted};
}

// A safety policy and the categories it keeps from each (global) user.
struct PolicyContext {
  safety::SafetyPolicy policy;
  std::vector<std::set<int>> restricted;
};

// The per-user sums added up into `blocks` rows (row = block_of[side user]); a bootstrap replicate
// resamples these blocks (see AuditExperiment).
Sums Collapse(Sums& s, const std::vector<uint32_t>& block_of, size_t blocks, size_t items_in_catalog) {
  Sums b;
  b.users = blocks;
  b.groups = s.groups;
  b.categories = s.categories;
  b.side_user.resize(blocks);
  for (size_t k = 0; k < blocks; ++k) b.side_user[k] = static_cast<int32_t>(k);
  const auto from = PerRowColumns(s), to = PerRowColumns(b);
  std::vector<uint32_t> block(s.users);
  for (size_t u = 0; u < s.users; ++u) block[u] = block_of[static_cast<size_t>(s.side_user[u])];
  for (size_t c = 0; c < from.size(); ++c) {
    to[c]->assign(blocks, 0.0);
    for (size_t u = 0; u < s.users; ++u) (*to[c])[block[u]] += (*from[c])[u];
  }
  const auto add_matrix = [&](const std::vector<double>& in, std::vector<double>& out, size_t width) {
    out.assign(blocks * width, 0.0);
    for (size_t u = 0; u < s.users; ++u) {
      for (size_t j = 0; j < width; ++j) out[block[u] * width + j] += in[u * width + j];
    }
  };
  add_matrix(s.exposure, b.exposure, s.groups);
  add_matrix(s.merit, b.merit, s.groups);
  add_matrix(s.category, b.category, s.categories);
  add_matrix(s.group_risk, b.group_risk, s.groups);
  add_matrix(s.group_risk_rows, b.group_risk_rows, s.groups);
  b.dim_groups = s.dim_groups;
  b.dim_clicks.resize(s.dim_groups.size());
  b.dim_lists.resize(s.dim_groups.size());
  for (size_t d = 0; d < s.dim_groups.size(); ++d) {
    add_matrix(s.dim_clicks[d], b.dim_clicks[d], s.dim_groups[d]);
    add_matrix(s.dim_lists[d], b.dim_lists[d], s.dim_groups[d]);
  }
  // Items: each block's counts, accumulated in a dense scratch array and read back in touch order.
  std::vector<std::vector<uint32_t>> users_of(blocks);
  for (size_t u = 0; u < s.users; ++u) users_of[block[u]].push_back(static_cast<uint32_t>(u));
  std::vector<double> scratch(items_in_catalog, 0.0);
  std::vector<int32_t> touched;
  b.item_offset.assign(blocks + 1, 0);
  for (size_t k = 0; k < blocks; ++k) {
    touched.clear();
    for (uint32_t u : users_of[k]) {
      for (uint32_t i = s.item_offset[u]; i < s.item_offset[u + 1]; ++i) {
        const auto item = static_cast<size_t>(s.item[i]);
        if (scratch[item] == 0.0) touched.push_back(s.item[i]);
        scratch[item] += s.item_count[i];
      }
    }
    for (int32_t item : touched) {
      b.item.push_back(item);
      b.item_count.push_back(scratch[static_cast<size_t>(item)]);
      scratch[static_cast<size_t>(item)] = 0.0;
    }
    b.item_offset[k + 1] = static_cast<uint32_t>(b.item.size());
  }
  return b;
}

// Lists of `side` with from_ms <= ts < until_ms, grouped by user in time order. Only users with a
// list in the range get a row (`side_user` maps rows to the side's users), so a window costs what
// its traffic costs.
Sums BuildSums(const Side& side, const Catalog& cat, const Users& users, const PolicyContext* policy, int64_t origin_ms,
               int64_t from_ms, int64_t until_ms) {
  Sums s;
  const size_t G = cat.group_names.size(), C = static_cast<size_t>(cat.num_categories);
  std::vector<uint32_t> in_range;
  std::unordered_map<int32_t, uint32_t> row_of;
  for (uint32_t i = 0; i < side.lists.size(); ++i) {
    const List& l = side.lists[i];
    if (l.ts_ms < from_ms || l.ts_ms >= until_ms) continue;
    in_range.push_back(i);
    if (row_of.emplace(l.user, static_cast<uint32_t>(s.side_user.size())).second) s.side_user.push_back(l.user);
  }
  const size_t U = s.side_user.size();
  s.users = U;
  s.groups = G;
  s.categories = C;
  for (auto* v : PerRowColumns(s)) v->assign(U, 0.0);
  s.exposure.assign(U * G, 0.0);
  s.merit.assign(U * G, 0.0);
  s.category.assign(U * C, 0.0);
  s.group_risk.assign(U * G, 0.0);
  s.group_risk_rows.assign(U * G, 0.0);
  for (size_t d = 0; d < users.dimensions.size(); ++d) s.dim_groups.push_back(users.group_names[d].size());
  s.dim_clicks.resize(s.dim_groups.size());
  s.dim_lists.resize(s.dim_groups.size());
  for (size_t d = 0; d < s.dim_groups.size(); ++d) {
    s.dim_clicks[d].assign(U * s.dim_groups[d], 0.0);
    s.dim_lists[d].assign(U * s.dim_groups[d], 0.0);
  }
  // Lists by user (counting sort keeps each user's lists in stored order, which is time order).
  std::vector<uint32_t> start(U + 1, 0);
  std::vector<uint32_t> row(in_range.size());
  for (size_t k = 0; k < in_range.size(); ++k) {
    row[k] = row_of.at(side.lists[in_range[k]].user);
    ++start[row[k] + 1];
  }
  for (size_t u = 0; u < U; ++u) start[u + 1] += start[u];
  std::vector<uint32_t> order(in_range.size());
  std::vector<uint32_t> fill(start.begin(), start.end() - 1);
  for (size_t k = 0; k < in_range.size(); ++k) order[fill[row[k]]++] = in_range[k];
  std::vector<uint32_t> week_mark(C, UINT32_MAX), session_mark(C, UINT32_MAX);
  std::vector<int32_t> user_items;
  static const std::vector<double> kWeights = [] {
    std::vector<double> w;
    for (int p = 1; p <= 64; ++p) w.push_back(PositionWeight(p));
    return w;
  }();
  std::vector<int> cats;
  std::vector<int64_t> previous, current;
  s.item_offset.assign(U + 1, 0);
  uint32_t marks = 0;
  for (size_t u = 0; u < U; ++u) {
    user_items.clear();
    std::optional<safety::UserPolicyCheck> check;
    if (policy) check.emplace(policy->policy, policy->restricted[static_cast<size_t>(side.users[static_cast<size_t>(s.side_user[u])])]);
    int64_t week = -1, last_ts = 0;
    uint32_t week_id = 0, session_id = 0;
    double week_distinct = 0.0, session_distinct = 0.0;
    previous.clear();
    for (uint32_t k = start[u]; k < start[u + 1]; ++k) {
      // A user's lists are scattered over the traffic: fetch the next ones while this one is summed.
      if (k + 4 < order.size()) __builtin_prefetch(&side.lists[order[k + 4]]);
      if (k + 2 < order.size()) {
        const List& ahead = side.lists[order[k + 2]];
        __builtin_prefetch(&side.items[ahead.begin]);
        __builtin_prefetch(&side.clicked[ahead.begin]);
      }
      const List& l = side.lists[order[k]];
      const int64_t this_week = (l.ts_ms - origin_ms) / kWeekMs;
      if (this_week != week) {
        s.week_categories[u] += week_distinct;
        week_distinct = 0.0;
        week = this_week;
        week_id = ++marks;
        s.weeks[u] += 1.0;
      }
      if (k == start[u] || l.ts_ms - last_ts >= kSessionGapMs) {
        s.session_categories[u] += session_distinct;
        session_distinct = 0.0;
        session_id = ++marks;
        s.sessions[u] += 1.0;
      }
      last_ts = l.ts_ms;
      s.lists[u] += 1.0;
      s.explored[u] += l.explored;
      if (l.screened) {
        s.screened_lists[u] += 1.0;
        s.screen_blocked[u] += l.blocked;
        s.screen_demoted[u] += l.demoted;
      }
      cats.clear();
      current.clear();
      double tail = 0.0, pop = 0.0;
      for (uint32_t p = l.begin; p < l.end; ++p) {
        const auto item = static_cast<size_t>(side.items[p]);
        const auto c = static_cast<size_t>(cat.category[item]);
        const auto g = static_cast<size_t>(cat.group[item]);
        const size_t position = p - l.begin;  // 0-based
        const double w = position < kWeights.size() ? kWeights[position] : PositionWeight(static_cast<int>(position) + 1);
        s.exposure[u * G + g] += w;
        s.category[u * C + c] += 1.0;
        if (const float r = side.risk[p]; r == r) {  // not NaN: the screen scored this item
          s.risk_sum[u] += r;
          s.risk_rows[u] += 1.0;
          s.group_risk[u * G + g] += r;
          s.group_risk_rows[u * G + g] += 1.0;
        }
        if (side.clicked[p]) {
          s.clicks[u] += 1.0;
          s.merit[u * G + g] += 1.0;
        }
        user_items.push_back(side.items[p]);
        if (check) {
          switch (check->Check(cat.ids[item], cat.category[item], l.ts_ms)) {
            case safety::PolicyRule::kNone: break;
            case safety::PolicyRule::kBlocklist: s.policy_blocklist[u] += 1, s.policy_violations[u] += 1; break;
            case safety::PolicyRule::kRestrictedCategory: s.policy_restricted[u] += 1, s.policy_violations[u] += 1; break;
            case safety::PolicyRule::kFrequencyCap: s.policy_cap[u] += 1, s.policy_violations[u] += 1; break;
          }
        }
        cats.push_back(static_cast<int>(c));
        current.push_back(side.items[p]);
        if (week_mark[c] != week_id) week_mark[c] = week_id, week_distinct += 1.0;
        if (session_mark[c] != session_id) session_mark[c] = session_id, session_distinct += 1.0;
        tail += cat.head[item] ? 0.0 : 1.0;
        pop += cat.popularity[item];
        (cat.head[item] ? s.head_rows[u] : s.tail_rows[u]) += 1.0;
        if (cat.popularity[item] > 0.0) {
          s.novelty[u] += cat.self_information[item];
          s.novelty_rows[u] += 1.0;
        }
      }
      const double n = static_cast<double>(l.end - l.begin);
      s.rows[u] += n;
      if (n > 0) {
        s.tail_share[u] += tail / n;
        s.tail_rows_per_list[u] += tail;
        s.mean_popularity[u] += pop / n;
      }
      s.ild[u] += CategoricalIld(cats);
      std::sort(current.begin(), current.end());
      current.erase(std::unique(current.begin(), current.end()), current.end());
      if (k > start[u]) {
        s.consecutive_similarity[u] += SortedJaccard(previous, current);
        s.consecutive_pairs[u] += 1.0;
      }
      previous.swap(current);
    }
    s.week_categories[u] += week_distinct;
    s.session_categories[u] += session_distinct;
    const auto global_user = static_cast<size_t>(side.users[static_cast<size_t>(s.side_user[u])]);
    for (size_t d = 0; d < s.dim_groups.size(); ++d) {
      const auto h = static_cast<size_t>(users.group[d][global_user]);
      s.dim_clicks[d][u * s.dim_groups[d] + h] = s.clicks[u];
      s.dim_lists[d][u * s.dim_groups[d] + h] = s.lists[u];
    }
    s.item_offset[u] = static_cast<uint32_t>(s.item.size());
    std::sort(user_items.begin(), user_items.end());
    for (size_t i = 0; i < user_items.size();) {
      size_t j = i;
      while (j < user_items.size() && user_items[j] == user_items[i]) ++j;
      s.item.push_back(user_items[i]);
      s.item_count.push_back(static_cast<double>(j - i));
      i = j;
    }
  }
  s.item_offset[U] = static_cast<uint32_t>(s.item.size());
  return s;
}

// Jaccard of the sampled user pairs: consumed (clicked) sets at each window end, and the last lists
// served in each window.
struct PairSeries {
  std::vector<std::pair<uint32_t, uint32_t>> pairs;  // local user indices
  std::vector<std::vector<double>> homogenization;   // [window][pair]; NaN: both sets empty (left out)
  std::vector<std::vector<double>> cross_similarity;  // [window][pair]; NaN: one of them had no list
  std::vector<double> final_homogenization, final_cross;  // [pair] over the whole period
};

PairSeries BuildPairs(const Side& side, int64_t origin_ms, int64_t window_ms, size_t windows, int max_pairs, uint64_t seed) {
  PairSeries ps;
  Rng rng(seed);
  ps.pairs = SampleUserPairs(side.users.size(), static_cast<size_t>(std::max(max_pairs, 0)), rng);
  std::vector<int32_t> slot(side.users.size(), -1);
  std::vector<uint32_t> sampled;
  for (const auto& [a, b] : ps.pairs) {
    for (uint32_t u : {a, b}) {
      if (slot[u] < 0) slot[u] = static_cast<int32_t>(sampled.size()), sampled.push_back(u);
    }
  }
  // Per sampled user: clicked items per window, last list per window and overall.
  const size_t S = sampled.size();
  std::vector<std::vector<std::vector<int64_t>>> clicked(S, std::vector<std::vector<int64_t>>(windows));
  std::vector<std::vector<std::vector<int64_t>>> last(S, std::vector<std::vector<int64_t>>(windows));
  std::vector<std::vector<bool>> has_last(S, std::vector<bool>(windows, false));
  for (const List& l : side.lists) {
    const int32_t s = slot[static_cast<size_t>(l.user)];
    if (s < 0) continue;
    const auto w = static_cast<size_t>(std::clamp<int64_t>((l.ts_ms - origin_ms) / window_ms, 0, static_cast<int64_t>(windows) - 1));
    std::vector<int64_t> items;
    for (uint32_t p = l.begin; p < l.end; ++p) {
      items.push_back(side.items[p]);
      if (side.clicked[p]) clicked[static_cast<size_t>(s)][w].push_back(side.items[p]);
    }
    std::sort(items.begin(), items.end());
    items.erase(std::unique(items.begin(), items.end()), items.end());
    last[static_cast<size_t>(s)][w] = std::move(items);
    has_last[static_cast<size_t>(s)][w] = true;
  }
  // Homogenization per window: the cumulative consumed sets of the sampled users at each window's
  // end, paired by fairness::PairHomogenization (the one definition, shared with the simulator).
  std::vector<std::pair<uint32_t, uint32_t>> slot_pairs;
  for (const auto& [a, b] : ps.pairs) slot_pairs.emplace_back(static_cast<uint32_t>(slot[a]), static_cast<uint32_t>(slot[b]));
  std::vector<std::vector<int64_t>> cumulative(S);
  ps.homogenization.resize(windows);
  for (size_t w = 0; w < windows; ++w) {
    for (size_t s = 0; s < S; ++s) {
      auto& acc = cumulative[s];
      acc.insert(acc.end(), clicked[s][w].begin(), clicked[s][w].end());
      std::sort(acc.begin(), acc.end());
      acc.erase(std::unique(acc.begin(), acc.end()), acc.end());
    }
    ps.homogenization[w] = PairHomogenization(cumulative, slot_pairs);
  }
  const double nan = std::numeric_limits<double>::quiet_NaN();
  ps.cross_similarity.assign(windows, std::vector<double>(ps.pairs.size(), nan));
  ps.final_homogenization.assign(ps.pairs.size(), nan);
  ps.final_cross.assign(ps.pairs.size(), nan);
  for (size_t p = 0; p < ps.pairs.size(); ++p) {
    const auto a = static_cast<size_t>(slot[ps.pairs[p].first]), b = static_cast<size_t>(slot[ps.pairs[p].second]);
    int last_a = -1, last_b = -1;
    for (size_t w = 0; w < windows; ++w) {
      if (has_last[a][w] && has_last[b][w]) ps.cross_similarity[w][p] = SortedJaccard(last[a][w], last[b][w]);
      if (has_last[a][w]) last_a = static_cast<int>(w);
      if (has_last[b][w]) last_b = static_cast<int>(w);
    }
    if (windows > 0) ps.final_homogenization[p] = ps.homogenization[windows - 1][p];
    if (last_a >= 0 && last_b >= 0) {
      ps.final_cross[p] = SortedJaccard(last[a][static_cast<size_t>(last_a)], last[b][static_cast<size_t>(last_b)]);
    }
  }
  return ps;
}

// ---- Figures from per-user sums and user weights ----

struct Values {
  std::map<std::string, double> scalar;
  std::vector<double> shares, merit;
  std::map<std::string, std::map<std::string, std::pair<double, double>>> user_groups;  // dim -> group -> (ctr, lists)
  std::vector<double> item_counts;
};

double Dot(const std::vector<double>& w, const std::vector<double>& x) {
  double s = 0.0;
  for (size_t u = 0; u < w.size(); ++u) s += w[u] * x[u];
  return s;
}

double Ratio(double num, double den) { return den > 0.0 ? num / den : 0.0; }

double PairMean(const std::vector<double>& values, const std::vector<std::pair<uint32_t, uint32_t>>& pairs,
                const std::vector<double>& w, bool& any) {
  double num = 0.0, den = 0.0;
  for (size_t p = 0; p < pairs.size(); ++p) {
    if (std::isnan(values[p])) continue;
    const double pw = w[pairs[p].first] * w[pairs[p].second];
    num += pw * values[p];
    den += pw;
  }
  any = den > 0.0;
  return Ratio(num, den);
}

// `row_weights`: indexed by s.side_user (a weight per user of the side for per-user sums, per block
// for collapsed ones); `pair_weights`: one per user of the side (for the user pairs). 1s give the
// point estimate, resample counts a bootstrap replicate.
Values Compute(const Sums& s, const Catalog& cat, const Side& side, const Users& users, const PairSeries* pairs,
               double window_days, const std::vector<double>& row_weights, const std::vector<double>& pair_weights,
               bool keep_item_counts, bool with_policy) {
  Values v;
  std::vector<double> w(s.users);
  for (size_t u = 0; u < s.users; ++u) w[u] = row_weights[static_cast<size_t>(s.side_user[u])];
  const size_t U = s.users, G = s.groups, C = s.categories;
  const double lists = Dot(w, s.lists), rows = Dot(w, s.rows), clicks = Dot(w, s.clicks);
  std::vector<double> exposure(G, 0.0), merit(G, 0.0), category(C, 0.0);
  std::vector<double> items(cat.category.size(), 0.0);
  for (size_t u = 0; u < U; ++u) {
    if (w[u] == 0.0) continue;
    for (size_t g = 0; g < G; ++g) {
      exposure[g] += w[u] * s.exposure[u * G + g];
      merit[g] += w[u] * s.merit[u * G + g];
    }
    for (size_t c = 0; c < C; ++c) category[c] += w[u] * s.category[u * C + c];
    for (uint32_t k = s.item_offset[u]; k < s.item_offset[u + 1]; ++k) items[static_cast<size_t>(s.item[k])] += w[u] * s.item_count[k];
  }
  v.shares = ExposureShares(exposure);
  auto& m = v.scalar;
  m["exposure_disparity"] = ExposureDisparity(v.shares, cat.target);
  m["exposure_ratio"] = ExposureRatio(v.shares, cat.target);
  m["gini"] = Gini(items);
  m["coverage"] = Coverage(items);
  m["diversity_index"] = CategoricalDiversityIndex(category, static_cast<int>(C));
  m["aplt"] = Ratio(Dot(w, s.tail_share), lists);
  m["aclt"] = Ratio(Dot(w, s.tail_rows_per_list), lists);
  m["arp"] = Ratio(Dot(w, s.mean_popularity), lists);
  m["pop_rsp"] = PopRsp(std::vector<double>{Dot(w, s.head_rows), Dot(w, s.tail_rows)},
                        std::vector<double>{cat.head_items, cat.tail_items});
  m["novelty"] = Ratio(Dot(w, s.novelty), Dot(w, s.novelty_rows));
  m["ild"] = Ratio(Dot(w, s.ild), lists);
  m["categories_per_user_week"] = Ratio(Dot(w, s.week_categories), Dot(w, s.weeks));
  m["categories_per_session"] = Ratio(Dot(w, s.session_categories), Dot(w, s.sessions));
  m["consecutive_list_similarity"] = Ratio(Dot(w, s.consecutive_similarity), Dot(w, s.consecutive_pairs));
  m["exploration_share"] = Ratio(Dot(w, s.explored), rows);
  if (with_policy) {
    m["policy_violation_share"] = Ratio(Dot(w, s.policy_violations), rows);
    m["policy_blocklist_share"] = Ratio(Dot(w, s.policy_blocklist), rows);
    m["policy_restricted_share"] = Ratio(Dot(w, s.policy_restricted), rows);
    m["policy_cap_share"] = Ratio(Dot(w, s.policy_cap), rows);
  }
  if (side.screened) {
    // The safety screen (safety/screen.h), from the record stored with each list.
    m["screen_blocked_per_list"] = Ratio(Dot(w, s.screen_blocked), Dot(w, s.screened_lists));
    m["screen_demoted_share"] = Ratio(Dot(w, s.screen_demoted), rows);
  }
  // Served risk: the screen's scores stored with each list, or the catalog snapshot's.
  if (const double risk_rows = Dot(w, s.risk_rows); risk_rows > 0) {
    m["risk_mean"] = Dot(w, s.risk_sum) / risk_rows;
    double lo = 0.0, hi = 0.0;
    bool any = false;
    for (size_t g = 0; g < G; ++g) {
      double sum = 0.0, n = 0.0;
      for (size_t u = 0; u < U; ++u) {
        sum += w[u] * s.group_risk[u * G + g];
        n += w[u] * s.group_risk_rows[u * G + g];
      }
      if (n <= 0) continue;
      const double mean = sum / n;
      m["risk_mean:" + cat.group_names[g]] = mean;
      lo = any ? std::min(lo, mean) : mean;
      hi = any ? std::max(hi, mean) : mean;
      any = true;
    }
    m["risk_disparity"] = hi - lo;  // max - min over item groups of the mean served risk
  }
  if (side.has_clicks) {
    m["ctr"] = Ratio(clicks, lists);
    v.merit = ExposureShares(merit);
    m["merit_disparity"] = ExposureDisparity(v.shares, v.merit);
    double worst_difference = 0.0, worst_ratio = 1.0;
    for (size_t d = 0; d < users.dimensions.size(); ++d) {
      const size_t H = s.dim_groups[d];
      std::vector<double> group_clicks(H, 0.0), group_lists(H, 0.0);
      for (size_t u = 0; u < U; ++u) {
        for (size_t h = 0; h < H; ++h) {
          group_clicks[h] += w[u] * s.dim_clicks[d][u * H + h];
          group_lists[h] += w[u] * s.dim_lists[d][u * H + h];
        }
      }
      std::vector<double> ctrs;
      auto& out = v.user_groups[users.dimensions[d]];
      for (size_t h = 0; h < H; ++h) {
        if (group_lists[h] <= 0.0) continue;
        ctrs.push_back(group_clicks[h] / group_lists[h]);
        out[users.group_names[d][h]] = {ctrs.back(), group_lists[h]};
      }
      worst_difference = std::max(worst_difference, MaxMinDifference(ctrs));
      worst_ratio = std::min(worst_ratio, MinMaxRatio(ctrs));
    }
    m["user_ctr_difference"] = worst_difference;
    m["user_ctr_ratio"] = worst_ratio;
  }
  if (pairs) {
    bool any = false;
    m["cross_user_similarity"] = PairMean(pairs->final_cross, pairs->pairs, pair_weights, any);
    if (side.has_clicks) {
      m["homogenization"] = PairMean(pairs->final_homogenization, pairs->pairs, pair_weights, any);
      std::vector<double> x, y;
      for (size_t k = 0; k < pairs->homogenization.size(); ++k) {
        const double value = PairMean(pairs->homogenization[k], pairs->pairs, pair_weights, any);
        if (!any) continue;
        x.push_back((static_cast<double>(k) + 0.5) * window_days);
        y.push_back(value);
      }
      m["homogenization_slope"] = OlsSlope(x, y);
      m["homogenization_windows"] = static_cast<double>(x.size());
    }
  }
  if (keep_item_counts) v.item_counts = std::move(items);
  return v;
}

// The additive figures of each window (point values), in one pass over the side's lists: the
// series need no per-user sums, so a window costs what its lists cost.
std::vector<std::map<std::string, double>> WindowSeries(const Side& side, const Catalog& cat, int64_t origin_ms, int64_t window_ms,
                                                       size_t windows) {
  std::vector<std::map<std::string, double>> out(windows);
  if (windows == 0) return out;
  std::vector<std::vector<uint32_t>> lists_of(windows);
  for (uint32_t i = 0; i < side.lists.size(); ++i) {
    const int64_t k = (side.lists[i].ts_ms - origin_ms) / window_ms;
    if (k >= 0 && k < static_cast<int64_t>(windows)) lists_of[static_cast<size_t>(k)].push_back(i);
  }
  const size_t G = cat.group_names.size(), C = static_cast<size_t>(cat.num_categories);
  std::vector<double> items(cat.category.size(), 0.0);
  std::vector<uint32_t> seen(side.users.size(), UINT32_MAX);
  for (size_t k = 0; k < windows; ++k) {
    std::vector<double> exposure(G, 0.0), category(C, 0.0);
    double lists = 0, clicks = 0, rows = 0, explored = 0, tail_share = 0, users = 0;
    std::fill(items.begin(), items.end(), 0.0);
    for (uint32_t i : lists_of[k]) {
      const List& l = side.lists[i];
      if (seen[static_cast<size_t>(l.user)] != k) seen[static_cast<size_t>(l.user)] = static_cast<uint32_t>(k), users += 1;
      lists += 1;
      explored += l.explored;
      double tail = 0;
      for (uint32_t p = l.begin; p < l.end; ++p) {
        const auto item = static_cast<size_t>(side.items[p]);
        exposure[static_cast<size_t>(cat.group[item])] += PositionWeight(static_cast<int>(p - l.begin) + 1);
        category[static_cast<size_t>(cat.category[item])] += 1;
        items[item] += 1;
        clicks += side.clicked[p];
        tail += cat.head[item] ? 0 : 1;
      }
      rows += l.end - l.begin;
      if (l.end > l.begin) tail_share += tail / (l.end - l.begin);
    }
    auto& m = out[k];
    const std::vector<double> shares = ExposureShares(exposure);
    m["exposures"] = lists;
    m["users"] = users;
    if (lists == 0) continue;  // a window without traffic has no figures (not zeros)
    if (side.has_clicks) m["ctr"] = Ratio(clicks, lists);
    m["exposure_disparity"] = ExposureDisparity(shares, cat.target);
    m["gini"] = Gini(items);
    m["coverage"] = Coverage(items);
    m["diversity_index"] = CategoricalDiversityIndex(category, static_cast<int>(C));
    m["aplt"] = Ratio(tail_share, lists);
    m["exploration_share"] = Ratio(explored, rows);
    for (size_t g = 0; g < G; ++g) m["exposure_share:" + cat.group_names[g]] = shares[g];
  }
  return out;
}

// ---- Checks ----

// Metrics that need clicks (not defined for the shadow side).
const std::set<std::string>& ClickMetrics() {
  static const std::set<std::string> m = {"ctr", "merit_disparity", "user_ctr_difference", "user_ctr_ratio",
                                          "homogenization", "homogenization_slope"};
  return m;
}

void EvaluateChecks(ArmAudit& arm, const experiment::AuditsConfig& audits, int64_t clicks) {
  for (const experiment::AuditThreshold& t : audits.thresholds) {
    AuditCheck check;
    check.key = t.key;
    check.metric = t.metric;
    check.bound = t.bound;
    check.threshold = t.value;
    auto it = arm.metrics.find(t.metric);
    if (it != arm.metrics.end()) check.figure = it->second;
    if (it == arm.metrics.end() || !it->second.defined) {
      check.status = CheckStatus::kInsufficientData;
      check.note = arm.shadow && ClickMetrics().count(t.metric) ? "the shadow side has no clicks" : "not computable for this side";
    } else if (arm.users < audits.min_users) {
      check.status = CheckStatus::kInsufficientData;
      check.note = std::to_string(arm.users) + " users, fewer than min_users " + std::to_string(audits.min_users);
    } else if ((t.metric == "merit_disparity" || t.metric == "homogenization") && clicks == 0) {
      check.status = CheckStatus::kInsufficientData;
      check.note = "no clicks";
    } else if (t.metric == "homogenization_slope" && arm.metrics.count("homogenization_windows") &&
               arm.metrics.at("homogenization_windows").value < 2) {
      check.status = CheckStatus::kInsufficientData;
      check.note = "fewer than two windows with consumption";
    } else {
      const double v = check.figure.value;
      const bool ok = t.bound == experiment::AuditBound::kMax ? v <= t.value : v >= t.value;
      check.status = ok ? CheckStatus::kPass : CheckStatus::kFail;
    }
    arm.checks.push_back(check);
  }
}

std::string Fmt(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4g", v);
  return buf;
}

// ---- Reading the stored exposures ----

// The attributes recorded with an exposure (a JSON object; "" or anything else: none), values as text.
std::map<std::string, std::string> ParseAttributes(const std::string& json) {
  std::map<std::string, std::string> kv;
  const auto j = nlohmann::json::parse(json.empty() ? "{}" : json, nullptr, /*allow_exceptions=*/false);
  if (j.is_object()) {
    for (auto it = j.begin(); it != j.end(); ++it) kv[it.key()] = it->is_string() ? it->get<std::string>() : it->dump();
  }
  return kv;
}

StatusOr<Users> ResolveUserGroups(const AuditOptions& options, const std::vector<std::string>& keys,
                                  const std::vector<std::string>& attributes, std::string& grouping) {
  Users users;
  const size_t N = keys.size();
  if (!options.user_groups_file.empty()) {
    ASSIGN_OR_RETURN(auto file, LoadGroupsFile(options.user_groups_file, "user_id"));
    grouping = "file " + options.user_groups_file;
    users.dimensions = {"group"};
    users.group_names.resize(1);
    users.group.assign(1, std::vector<int32_t>(N, 0));
    std::map<std::string, int32_t> index;
    for (size_t u = 0; u < N; ++u) {
      auto it = file.find(keys[u]);
      const std::string name = it == file.end() ? kNone : it->second;
      auto [g, added] = index.emplace(name, static_cast<int32_t>(users.group_names[0].size()));
      if (added) users.group_names[0].push_back(name);
      users.group[0][u] = g->second;
    }
    return users;
  }
  grouping = "attributes recorded with exposures";
  // Each distinct attributes JSON is parsed once.
  std::unordered_map<std::string, std::map<std::string, std::string>> parsed;
  std::set<std::string> dims;
  for (const std::string& a : attributes) {
    if (parsed.count(a)) continue;
    std::map<std::string, std::string> kv = ParseAttributes(a);
    for (const auto& [k, value] : kv) dims.insert(k);
    parsed.emplace(a, std::move(kv));
  }
  users.dimensions.assign(dims.begin(), dims.end());
  if (users.dimensions.size() >= 2) {
    std::string joined;
    for (const auto& d : users.dimensions) joined += (joined.empty() ? "" : "×") + d;
    users.dimensions.push_back(joined);
  }
  const size_t D = users.dimensions.size();
  users.group_names.assign(D, {});
  users.group.assign(D, std::vector<int32_t>(N, 0));
  std::vector<std::map<std::string, int32_t>> index(D);
  for (size_t u = 0; u < N; ++u) {
    const auto& kv = parsed.at(attributes[u]);
    std::string intersection;
    for (size_t d = 0; d < D; ++d) {
      std::string name;
      if (d < dims.size()) {
        auto it = kv.find(users.dimensions[d]);
        name = it == kv.end() ? kNone : it->second;
        intersection += (intersection.empty() ? "" : "×") + name;
      } else {
        name = intersection;
      }
      auto [g, added] = index[d].emplace(name, static_cast<int32_t>(users.group_names[d].size()));
      if (added) users.group_names[d].push_back(name);
      users.group[d][u] = g->second;
    }
  }
  return users;
}

}  // namespace

const char* CheckStatusName(CheckStatus s) {
  switch (s) {
    case CheckStatus::kPass: return "pass";
    case CheckStatus::kFail: return "fail";
    case CheckStatus::kInsufficientData: return "insufficient_data";
  }
  return "?";
}

StatusOr<ExperimentAudit> AuditExperiment(storage::Database& db, const experiment::ExperimentConfig& config,
                                          const AuditOptions& options) {
  if (options.window_ms < 60'000) return InvalidArgument("the audit window must be at least 1 minute (e.g. 1d)");
  if (options.bootstrap < 0 || options.bootstrap > 100000) return InvalidArgument("bootstrap replicates must be between 0 and 100000");
  ExperimentAudit out;
  out.name = config.name;
  out.audits = config.audits;
  out.computed_at_ms = options.computed_at_ms;
  ASSIGN_OR_RETURN(Catalog cat, LoadAuditCatalog(db, options, out.item_grouping));

  // Sides: the configured arms in order, then (optionally) the shadow model's lists.
  std::vector<Side> sides(config.arms.size());
  std::unordered_map<std::string, size_t> side_of;
  for (size_t a = 0; a < config.arms.size(); ++a) {
    sides[a].name = config.arms[a].name;
    sides[a].treatment = a > 0;
    side_of[config.arms[a].name] = a;
  }
  if (!options.excluded_arm.empty()) {
    Side s;
    s.name = options.excluded_arm;
    s.excluded = true;
    side_of[options.excluded_arm] = sides.size();
    sides.push_back(std::move(s));
  }
  const bool with_shadow = options.shadow && !config.shadow_model.empty();
  if (with_shadow) {
    Side s;
    s.name = "shadow:" + config.shadow_model;
    s.shadow = true;
    s.has_clicks = false;
    sides.push_back(std::move(s));
  }
  std::unordered_map<int64_t, int32_t> user_index;
  std::vector<std::string> user_keys, user_attributes;
  bool first = true;
  uint64_t read = 0;
  ASSIGN_OR_RETURN(int64_t total, storage::CountExposuresSince(db, config.name, INT64_MIN));
  const auto add_list = [&](Side& side, int32_t global_user, int64_t ts, const auto& ids, const std::vector<double>* propensity,
                            const std::vector<int32_t>* clicked_positions, const SafetyRecord* safety) {
    if (side.local.size() <= static_cast<size_t>(global_user)) side.local.resize(static_cast<size_t>(global_user) + 1, -1);
    int32_t& local = side.local[static_cast<size_t>(global_user)];
    if (local < 0) {
      local = static_cast<int32_t>(side.users.size());
      side.users.push_back(global_user);
    }
    if (side.lists.empty()) {  // reserve for the traffic the side is likely to see (the arms share it)
      const size_t expected = static_cast<size_t>(total) / (side.shadow ? 1 : std::max<size_t>(1, config.arms.size()));
      side.lists.reserve(expected);
      side.items.reserve(expected * ids.size());
      side.clicked.reserve(expected * ids.size());
      side.risk.reserve(expected * ids.size());
    }
    List l;
    l.user = local;
    l.ts_ms = ts;
    if (safety && safety->screened) {
      l.screened = side.screened = true;
      l.blocked = safety->blocked;
      l.demoted = safety->demoted;
    }
    l.begin = static_cast<uint32_t>(side.items.size());
    size_t c = 0;
    for (size_t p = 0; p < ids.size(); ++p) {
      const int32_t item = cat.Find(ids[p]);
      const int32_t position = static_cast<int32_t>(p) + 1;
      bool click = false;
      if (clicked_positions) {
        while (c < clicked_positions->size() && (*clicked_positions)[c] < position) ++c;
        click = c < clicked_positions->size() && (*clicked_positions)[c] == position;
      }
      if (item < 0) {
        ++out.outside_catalog;
        continue;
      }
      side.items.push_back(item);
      side.clicked.push_back(click ? 1 : 0);
      // The risk scored at serving (the list's record), else the catalog snapshot's (the shadow side).
      side.risk.push_back(safety && p < safety->risk.size() ? safety->risk[p] : cat.risk[static_cast<size_t>(item)]);
      if (propensity && (*propensity)[p] < 1.0) ++l.explored;
    }
    l.end = static_cast<uint32_t>(side.items.size());
    side.lists.push_back(l);
  };
  // Reading is pipelined: this thread steps SQLite and parses the stored lists into batches; a
  // second thread adds them to the sides (in request id order), so the two halves overlap.
  struct Row {
    int64_t ts_ms = 0, user_id = 0;
    std::string user_key, arm, attributes;
    std::vector<int64_t> ids, shadow;
    std::vector<double> propensity;
    std::vector<int32_t> clicked;
    SafetyRecord safety;
  };
  constexpr size_t kBatch = 2048, kQueued = 8;
  std::mutex mu;
  std::condition_variable cv;
  std::deque<std::vector<Row>> queue;
  bool done = false;
  std::thread consumer([&] {
    std::string last_arm = "\x01";  // no arm has this name
    size_t last_side = SIZE_MAX;
    while (true) {
      std::vector<Row> batch;
      {
        std::unique_lock lock(mu);
        cv.wait(lock, [&] { return !queue.empty() || done; });
        if (queue.empty()) return;
        batch = std::move(queue.front());
        queue.pop_front();
      }
      cv.notify_all();
      for (const Row& e : batch) {
        auto [u, added] = user_index.emplace(e.user_id, static_cast<int32_t>(user_keys.size()));
        if (added) {
          user_keys.push_back(e.user_key);
          user_attributes.push_back(e.attributes);
        }
        if (e.arm != last_arm) {  // arms come in runs; look the name up only when it changes
          last_arm = e.arm;
          auto it = side_of.find(last_arm);
          last_side = it == side_of.end() ? SIZE_MAX : it->second;
        }
        if (last_side != SIZE_MAX) add_list(sides[last_side], u->second, e.ts_ms, e.ids, &e.propensity, &e.clicked, &e.safety);
        if (with_shadow && !e.shadow.empty()) add_list(sides.back(), u->second, e.ts_ms, e.shadow, nullptr, nullptr, nullptr);
      }
    }
  });
  std::vector<Row> batch;
  const auto hand_over = [&] {
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return queue.size() < kQueued; });
    queue.push_back(std::move(batch));
    batch = {};
    cv.notify_all();
  };
  const Status read_status = storage::ForEachAuditedExposure(db, config.name, INT64_MIN, options.until_ms, [&](const storage::AuditedExposure& e) -> Status {
    if (options.progress && (++read % 65536 == 0)) options.progress(read, static_cast<uint64_t>(total));
    if (first) out.from_ms = e.ts_ms, first = false;
    out.to_ms = std::max(out.to_ms, e.ts_ms);
    Row& r = batch.emplace_back();
    r.ts_ms = e.ts_ms;
    r.user_id = e.user_id;
    r.user_key = e.user_key;
    r.arm = e.arm;
    r.attributes = e.attributes;
    for (const auto& item : e.served) r.ids.push_back(item.item_id), r.propensity.push_back(item.propensity);
    r.shadow = e.shadow;
    r.clicked = e.clicked_positions;
    ParseSafetyRecord(e.safety, r.safety);
    if (batch.size() >= kBatch) hand_over();
    return Status::Ok();
  });
  if (!batch.empty()) hand_over();
  {
    std::lock_guard lock(mu);
    done = true;
  }
  cv.notify_all();
  consumer.join();
  RETURN_IF_ERROR(read_status);
  if (options.progress) options.progress(read, read);
  ASSIGN_OR_RETURN(Users users, ResolveUserGroups(options, user_keys, user_attributes, out.user_grouping));
  std::optional<PolicyContext> policy;
  if (!options.policy_file.empty()) {
    policy.emplace();
    ASSIGN_OR_RETURN(policy->policy, safety::LoadSafetyPolicy(options.policy_file));
    out.policy_reason = policy->policy.reason;
    std::unordered_map<std::string, std::set<int>> by_attributes;  // each distinct attributes JSON once
    for (const std::string& a : user_attributes) {
      auto it = by_attributes.find(a);
      if (it == by_attributes.end()) {
        it = by_attributes.emplace(a, safety::RestrictedCategories(policy->policy, ParseAttributes(a))).first;
      }
      policy->restricted.push_back(it->second);
    }
  }

  const size_t windows = out.to_ms >= out.from_ms && !first
                             ? static_cast<size_t>((out.to_ms - out.from_ms) / options.window_ms + 1) : 0;
  const double window_days = static_cast<double>(options.window_ms) / 86'400'000.0;
  // Sides are independent: each is audited on its own thread with its own seeded stream, so the
  // figures do not depend on the number of threads.
  struct SideResult {
    bool present = false;
    ArmAudit arm;
    std::vector<WindowAudit> windows;
    std::vector<std::string> failures;
  };
  std::vector<SideResult> results(sides.size());
  const auto audit_side = [&](size_t a) {
    const Side& side = sides[a];
    SideResult& result = results[a];
    if (side.excluded && side.lists.empty()) return;
    result.present = true;
    Rng rng(Mix64(options.seed * 0x9E3779B97F4A7C15ULL + a));
    ArmAudit arm;
    arm.name = side.name;
    arm.treatment = side.treatment;
    arm.shadow = side.shadow;
    arm.excluded = side.excluded;
    arm.exposures = static_cast<int64_t>(side.lists.size());
    arm.users = static_cast<int64_t>(side.users.size());
    arm.item_groups = cat.group_names;
    arm.target_share = cat.target;
    const PolicyContext* pc = policy ? &*policy : nullptr;
    Sums sums = BuildSums(side, cat, users, pc, out.from_ms, INT64_MIN, INT64_MAX);
    const PairSeries pairs = BuildPairs(side, out.from_ms, options.window_ms, windows, options.max_pairs, Mix64(options.seed + a));
    // First and last windows for the drifts, over the same users (so one weight vector serves all).
    const int64_t last_start = out.from_ms + static_cast<int64_t>(windows > 0 ? windows - 1 : 0) * options.window_ms;
    Sums first_window = BuildSums(side, cat, users, nullptr, out.from_ms, out.from_ms, out.from_ms + options.window_ms);
    Sums last_window = BuildSums(side, cat, users, nullptr, out.from_ms, last_start, last_start + options.window_ms);
    const auto figures = [&](const Sums& all, const Sums& first_w, const Sums& last_w, const std::vector<double>& w,
                             const std::vector<double>& pair_w, bool keep) {
      Values v = Compute(all, cat, side, users, &pairs, window_days, w, pair_w, keep, pc != nullptr);
      const Values f = Compute(first_w, cat, side, users, nullptr, window_days, w, pair_w, false, false);
      const Values l = Compute(last_w, cat, side, users, nullptr, window_days, w, pair_w, false, false);
      v.scalar["gini_drift"] = l.scalar.at("gini") - f.scalar.at("gini");
      v.scalar["coverage_drift"] = l.scalar.at("coverage") - f.scalar.at("coverage");
      return v;
    };
    const std::vector<double> ones(side.users.size(), 1.0);
    Values point = figures(sums, first_window, last_window, ones, ones, true);
    // Bootstrap over users, in blocks: users are dealt into up to kBootstrapBlocks (200) random blocks
    // (seeded) and a replicate resamples blocks with replacement. Block sums of i.i.d. users are
    // i.i.d., so for figures that are functions of per-user sums this is the users' bootstrap, at a
    // cost per replicate that no longer grows with the traffic (docs/metrics.md "Intervals").
    std::map<std::string, std::vector<double>> replicates;
    std::vector<std::vector<double>> share_replicates(cat.group_names.size());
    const size_t blocks = std::min(side.users.size(), kBootstrapBlocks);
    std::vector<uint32_t> block_of(side.users.size());
    if (options.bootstrap > 0 && blocks > 0) {
      std::vector<uint32_t> deck(side.users.size());
      std::iota(deck.begin(), deck.end(), 0u);
      for (size_t i = deck.size(); i > 1; --i) std::swap(deck[i - 1], deck[rng.UniformInt(i)]);
      for (size_t i = 0; i < deck.size(); ++i) block_of[deck[i]] = static_cast<uint32_t>(i % blocks);
    }
    const size_t n_items = cat.category.size();
    const Sums block_sums = options.bootstrap > 0 ? Collapse(sums, block_of, blocks, n_items) : Sums();
    const Sums block_first = options.bootstrap > 0 ? Collapse(first_window, block_of, blocks, n_items) : Sums();
    const Sums block_last = options.bootstrap > 0 ? Collapse(last_window, block_of, blocks, n_items) : Sums();
    std::vector<double> pair_w(side.users.size());
    for (int b = 0; b < options.bootstrap && blocks > 0; ++b) {
      const std::vector<double> w = ResampleWeights(blocks, rng);
      for (size_t u = 0; u < side.users.size(); ++u) pair_w[u] = w[block_of[u]];
      const Values r = figures(block_sums, block_first, block_last, w, pair_w, false);
      for (const auto& [name, value] : r.scalar) replicates[name].push_back(value);
      for (size_t g = 0; g < r.shares.size(); ++g) share_replicates[g].push_back(r.shares[g]);
    }
    for (const auto& [name, value] : point.scalar) {
      if (name == "homogenization_windows") continue;
      Figure f{value, value, value, true};
      if (auto it = replicates.find(name); it != replicates.end()) {
        const Interval i = BiasShiftedInterval(it->second, value);
        f.ci_low = i.low;
        f.ci_high = i.high;
      }
      arm.metrics[name] = f;
    }
    if (point.scalar.count("homogenization_windows")) {
      const double k = point.scalar.at("homogenization_windows");
      arm.metrics["homogenization_windows"] = {k, k, k, true};
    }
    for (size_t g = 0; g < point.shares.size(); ++g) {
      Figure f{point.shares[g], point.shares[g], point.shares[g], true};
      if (!share_replicates[g].empty()) {
        const Interval i = BiasShiftedInterval(share_replicates[g], point.shares[g]);
        f.ci_low = i.low;
        f.ci_high = i.high;
      }
      arm.exposure_share.push_back(f);
    }
    arm.merit_share = point.merit;
    for (const auto& [dim, groups] : point.user_groups) {
      for (const auto& [name, value] : groups) arm.user_groups[dim][name] = {value.first, static_cast<int64_t>(value.second)};
    }
    arm.item_exposure_sorted = point.item_counts;
    std::sort(arm.item_exposure_sorted.begin(), arm.item_exposure_sorted.end());
    double clicks = 0.0;
    for (double c : sums.clicks) clicks += c;
    EvaluateChecks(arm, config.audits, static_cast<int64_t>(clicks));
    for (const AuditCheck& c : arm.checks) {
      if (!arm.treatment || c.status != CheckStatus::kFail) continue;
      result.failures.push_back(arm.name + ": " + c.metric + " " + Fmt(c.figure.value) +
                             (c.bound == experiment::AuditBound::kMax ? " > " : " < ") + Fmt(c.threshold) + " (" + c.key + ")");
    }
    // Window series (point values).
    std::vector<std::map<std::string, double>> series = WindowSeries(side, cat, out.from_ms, options.window_ms, windows);
    for (size_t k = 0; k < windows; ++k) {
      WindowAudit wa;
      wa.arm = side.name;
      wa.start_ms = out.from_ms + static_cast<int64_t>(k) * options.window_ms;
      wa.end_ms = wa.start_ms + options.window_ms;
      wa.metrics = std::move(series[k]);
      bool any = false;
      if (side.has_clicks) {
        const double h = PairMean(pairs.homogenization[k], pairs.pairs, ones, any);
        if (any) wa.metrics["homogenization"] = h;
      }
      const double x = PairMean(pairs.cross_similarity[k], pairs.pairs, ones, any);
      if (any) wa.metrics["cross_user_similarity"] = x;
      result.windows.push_back(std::move(wa));
    }
    result.arm = std::move(arm);
  };
  const size_t threads = std::max<size_t>(1, std::min<size_t>(sides.size(), std::thread::hardware_concurrency()));
  std::atomic<size_t> next{0};
  std::vector<std::thread> pool;
  for (size_t t = 1; t < threads; ++t) {
    pool.emplace_back([&] {
      for (size_t a = next++; a < sides.size(); a = next++) audit_side(a);
    });
  }
  for (size_t a = next++; a < sides.size(); a = next++) audit_side(a);
  for (std::thread& t : pool) t.join();
  ASSIGN_OR_RETURN(const std::vector<storage::ReviewLabel> labels, storage::LoadReviewLabels(db, config.name));
  for (SideResult& r : results) {
    if (!r.present) continue;
    for (const storage::ReviewLabel& l : labels) {
      if (l.arm == r.arm.name) ++r.arm.review_labels[l.label];
    }
    out.arms.push_back(std::move(r.arm));
    for (WindowAudit& w : r.windows) out.windows.push_back(std::move(w));
    for (std::string& f : r.failures) out.failures.push_back(std::move(f));
  }
  out.passed = out.failures.empty();
  return out;
}

// ---- Reports ----

namespace {

nlohmann::json FigureJson(const Figure& f) { return {{"value", f.value}, {"ci_low", f.ci_low}, {"ci_high", f.ci_high}}; }

nlohmann::json ExperimentJson(const ExperimentAudit& e) {
  nlohmann::json arms = nlohmann::json::array();
  for (const ArmAudit& a : e.arms) {
    nlohmann::json metrics = nlohmann::json::object();
    for (const auto& [name, f] : a.metrics) {
      if (name != "homogenization_windows") metrics[name] = FigureJson(f);
    }
    nlohmann::json shares = nlohmann::json::object();
    for (size_t g = 0; g < a.item_groups.size(); ++g) {
      nlohmann::json s = FigureJson(a.exposure_share[g]);
      s["target"] = a.target_share[g];
      if (g < a.merit_share.size()) s["merit"] = a.merit_share[g];
      shares[a.item_groups[g]] = s;
    }
    metrics["exposure_share"] = shares;
    nlohmann::json user_groups = nlohmann::json::object();
    for (const auto& [dim, groups] : a.user_groups) {
      for (const auto& [name, value] : groups) user_groups[dim][name] = {{"ctr", value.first}, {"lists", value.second}};
    }
    metrics["user_groups"] = user_groups;
    nlohmann::json checks = nlohmann::json::array();
    for (const AuditCheck& c : a.checks) {
      nlohmann::json cj = {{"metric", c.metric}, {"key", c.key}, {"value", c.figure.value}, {"ci_low", c.figure.ci_low},
                           {"ci_high", c.figure.ci_high}, {"threshold", c.threshold},
                           {"bound", c.bound == experiment::AuditBound::kMax ? "max" : "min"}, {"status", CheckStatusName(c.status)}};
      if (!c.note.empty()) cj["note"] = c.note;
      checks.push_back(cj);
    }
    arms.push_back({{"name", a.name}, {"side", a.shadow ? "shadow" : a.excluded ? "excluded" : (a.treatment ? "treatment" : "control")},
                    {"exposures", a.exposures}, {"users", a.users}, {"metrics", metrics}, {"checks", checks},
                    {"review_labels", a.review_labels}});
  }
  nlohmann::json windows = nlohmann::json::array();
  for (const WindowAudit& w : e.windows) {
    nlohmann::json wj = {{"arm", w.arm}, {"start_ms", w.start_ms}, {"end_ms", w.end_ms}};
    for (const auto& [name, value] : w.metrics) wj[name] = value;
    windows.push_back(wj);
  }
  return {{"name", e.name},
          {"from_ms", e.from_ms},
          {"to_ms", e.to_ms},
          {"computed_at_ms", e.computed_at_ms},
          {"item_groups", e.item_grouping},
          {"user_groups", e.user_grouping},
          {"items_outside_catalog", e.outside_catalog},
          {"policy", e.policy_reason.empty() ? nlohmann::json(nullptr) : nlohmann::json(e.policy_reason)},
          {"thresholds", nlohmann::json::parse(experiment::AuditsConfigJson(e.audits))},
          {"passed", e.passed},
          {"failures", e.failures},
          {"arms", arms},
          {"windows", windows}};
}

nlohmann::json OptionsJson(const AuditOptions& o) {
  return {{"definitions_version", kDefinitionsVersion}, {"window_ms", o.window_ms}, {"bootstrap", o.bootstrap},
          {"seed", o.seed}, {"confidence", 0.95}};
}

}  // namespace

std::string AuditReportJson(const std::vector<ExperimentAudit>& audits, const AuditOptions& options) {
  nlohmann::json experiments = nlohmann::json::array();
  for (const ExperimentAudit& e : audits) experiments.push_back(ExperimentJson(e));
  nlohmann::json j = OptionsJson(options);
  j["experiments"] = experiments;
  return DumpJson(j);
}

std::string ExperimentAuditJson(const ExperimentAudit& audit, const AuditOptions& options) {
  nlohmann::json j = OptionsJson(options);
  j["experiment"] = ExperimentJson(audit);
  return DumpJson(j);
}

std::string ExperimentAuditHash(const ExperimentAudit& audit, const AuditOptions& options) {
  return storage::Sha256Hex(ExperimentAuditJson(audit, options));
}

std::string AuditReportMarkdown(const std::vector<ExperimentAudit>& audits, bool charts) {
  std::ostringstream md;
  md << "# Governance audit\n\nDefinitions: docs/metrics.md (version " << kDefinitionsVersion
     << "). Intervals: 95% bootstrap over users.\n";
  for (const ExperimentAudit& e : audits) {
    md << "\n## " << e.name << "\n\n"
       << (e.passed ? "**All treatment checks pass.**" : "**Treatment checks fail:** ") << "\n";
    for (const std::string& f : e.failures) md << "- " << f << "\n";
    md << "\nItem groups: " << e.item_grouping << ". User groups: " << e.user_grouping << ".\n";
    for (const ArmAudit& a : e.arms) {
      md << "\n### " << a.name << " (" << a.exposures << " lists, " << a.users << " users)\n\n";
      if (!a.checks.empty()) {
        md << "| check | value | 95% CI | threshold | status |\n|---|---|---|---|---|\n";
        for (const AuditCheck& c : a.checks) {
          md << "| " << c.key << " | " << Fmt(c.figure.value) << " | [" << Fmt(c.figure.ci_low) << ", " << Fmt(c.figure.ci_high)
             << "] | " << (c.bound == experiment::AuditBound::kMax ? "≤ " : "≥ ") << Fmt(c.threshold) << " | "
             << CheckStatusName(c.status) << (c.note.empty() ? "" : " (" + c.note + ")") << " |\n";
        }
        md << "\n";
      }
      md << "| metric | value | 95% CI |\n|---|---|---|\n";
      for (const auto& [name, f] : a.metrics) {
        if (name == "homogenization_windows") continue;
        md << "| " << name << " | " << Fmt(f.value) << " | [" << Fmt(f.ci_low) << ", " << Fmt(f.ci_high) << "] |\n";
      }
      md << "\n| item group | exposure share | 95% CI | catalog share |\n|---|---|---|---|\n";
      for (size_t g = 0; g < a.item_groups.size(); ++g) {
        md << "| " << a.item_groups[g] << " | " << Fmt(a.exposure_share[g].value) << " | [" << Fmt(a.exposure_share[g].ci_low)
           << ", " << Fmt(a.exposure_share[g].ci_high) << "] | " << Fmt(a.target_share[g]) << " |\n";
      }
      if (!a.review_labels.empty()) {
        md << "\nReviewers' labels of sampled lists:";
        for (const auto& [label, count] : a.review_labels) md << " " << label << " " << count << ";";
        md << "\n";
      }
      for (const auto& [dim, groups] : a.user_groups) {
        md << "\nCTR by " << dim << ":";
        for (const auto& [name, value] : groups) md << " " << name << " " << Fmt(value.first) << " (" << value.second << " lists);";
        md << "\n";
      }
    }
    if (charts) {
      const std::string slug = FileSlug(e.name);
      md << "\n![exposure share](" << slug << "-exposure.png)\n![disparity over time](" << slug
         << "-disparity.png)\n![Lorenz curve](" << slug << "-lorenz.png)\n![diversity and homogenization](" << slug
         << "-feedback.png)\n";
    }
  }
  return md.str();
}

}  // namespace steward::fairness

namespace steward::fairness {

Status CheckReviewLabel(const std::string& label) {
  for (const char* known : kReviewLabels) {
    if (label == known) return Status::Ok();
  }
  return InvalidArgument("--label must be ok, concern or harmful, got '" + label + "'");
}

StatusOr<std::vector<ReviewSample>> DrawReviewSample(storage::Database& db, const experiment::ExperimentConfig& config, int n,
                                                    uint64_t seed, const AuditOptions& options) {
  if (n < 1) return InvalidArgument("the sample size must be at least 1, got " + std::to_string(n));
  std::string grouping;
  ASSIGN_OR_RETURN(const Catalog cat, LoadAuditCatalog(db, options, grouping));
  ASSIGN_OR_RETURN(std::vector<int64_t> ids, storage::ExposureIds(db, config.name));
  // A partial Fisher-Yates shuffle: the first n of a seeded permutation.
  Rng rng(seed);
  const size_t take = std::min(ids.size(), static_cast<size_t>(n));
  for (size_t i = 0; i < take; ++i) std::swap(ids[i], ids[i + rng.UniformInt(ids.size() - i)]);
  ids.resize(take);
  std::sort(ids.begin(), ids.end());
  ASSIGN_OR_RETURN(const auto clicks, storage::ClickedPositions(db, ids));
  ASSIGN_OR_RETURN(const std::vector<storage::ReviewLabel> labels, storage::LoadReviewLabels(db, config.name));
  std::vector<ReviewSample> out;
  for (int64_t id : ids) {
    ASSIGN_OR_RETURN(const std::optional<storage::StoredExposure> e, storage::FindExposure(db, id));
    if (!e) continue;
    ReviewSample s;
    s.request_id = id;
    s.ts_ms = e->ts_ms;
    s.user_key = e->user_key;
    s.arm = e->arm;
    const std::vector<int32_t>& clicked = clicks.at(id);
    s.safety = e->safety;
    SafetyRecord record;
    ParseSafetyRecord(e->safety, record);
    for (size_t p = 0; p < e->items.size(); ++p) {
      ReviewItem item;
      item.position = static_cast<int32_t>(p) + 1;
      item.item_id = e->items[p];
      item.clicked = std::find(clicked.begin(), clicked.end(), item.position) != clicked.end();
      const int32_t i = cat.Find(item.item_id);
      if (i >= 0) {
        item.category = cat.category[static_cast<size_t>(i)];
        item.group = cat.group_names[static_cast<size_t>(cat.group[static_cast<size_t>(i)])];
        item.popularity = cat.popularity[static_cast<size_t>(i)];
        item.long_tail = !cat.head[static_cast<size_t>(i)];
        const float r = p < record.risk.size() ? record.risk[p] : cat.risk[static_cast<size_t>(i)];
        if (r == r) item.risk = r;
      } else {
        item.group = kNone;
      }
      s.items.push_back(item);
    }
    for (const storage::ReviewLabel& l : labels) {
      if (l.request_id == id) s.labels.push_back(l.actor + ": " + l.label + (l.note.empty() ? "" : " (" + l.note + ")"));
    }
    out.push_back(std::move(s));
  }
  return out;
}

Status RecordReviewLabel(storage::Database& db, const storage::ReviewLabel& label) {
  RETURN_IF_ERROR(CheckReviewLabel(label.label));
  if (label.actor.empty()) return InvalidArgument("the actor is empty: say who reviewed the list");
  return db.InTransaction([&]() -> Status {
    RETURN_IF_ERROR(storage::SaveReviewLabel(db, label));
    ASSIGN_OR_RETURN(const std::optional<storage::StoredExposure> e, storage::FindExposure(db, label.request_id));
    return storage::AuditLog(db)
        .Append({0, label.ts_ms, label.actor, storage::AuditActionName(storage::AuditAction::kAuditLabel), e->experiment,
                 label.label + (label.note.empty() ? "" : ": " + label.note),
                 DumpJson(nlohmann::json{{"request_id", label.request_id}, {"arm", e->arm}, {"label", label.label}, {"note", label.note}})})
        .status();
  });
}

std::string ReviewSampleJson(const std::string& experiment, uint64_t seed, const std::vector<ReviewSample>& samples) {
  nlohmann::json list = nlohmann::json::array();
  for (const ReviewSample& s : samples) {
    nlohmann::json items = nlohmann::json::array();
    for (const ReviewItem& i : s.items) {
      items.push_back({{"position", i.position}, {"item_id", i.item_id}, {"category", i.category}, {"group", i.group},
                       {"popularity", i.popularity}, {"long_tail", i.long_tail}, {"clicked", i.clicked},
                       {"risk", i.risk >= 0 ? nlohmann::json(i.risk) : nlohmann::json(nullptr)}});
    }
    nlohmann::json safety = nullptr;
    if (!s.safety.empty()) {
      safety = nlohmann::json::parse(s.safety, nullptr, /*allow_exceptions=*/false);
      if (safety.is_discarded()) safety = s.safety;
    }
    list.push_back({{"request_id", s.request_id}, {"ts_ms", s.ts_ms}, {"user", s.user_key}, {"arm", s.arm}, {"items", items},
                    {"labels", s.labels}, {"safety", safety}});
  }
  return DumpJson(nlohmann::json{{"experiment", experiment}, {"seed", seed}, {"samples", list}});
}

}  // namespace steward::fairness
