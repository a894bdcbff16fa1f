#include "storage/queries.h"

#include <algorithm>
#include <cstdlib>
#include <map>
#include <nlohmann/json.hpp>
#include <tuple>

#include "storage/events.h"
#include "storage/statement.h"

namespace steward::storage {
namespace {

// exposures.served: [[item_id, propensity], ...] in position order.
StatusOr<std::vector<ServedItem>> ParseServedJson(const std::string& text) {
  try {
    std::vector<ServedItem> out;
    for (const auto& pair : nlohmann::json::parse(text)) out.push_back({pair.at(0).get<int64_t>(), pair.at(1).get<double>()});
    return out;
  } catch (const nlohmann::json::exception& e) {
    return DataLoss(std::string("stored served list is not valid JSON [[item, propensity], ...]: ") + e.what());
  }
}

// The stored formats, parsed without building a JSON tree: audits read every exposure, and a
// generic parse of 1M lists costs seconds. Anything unexpected falls back to the full parser.
// strtoll/strtod stop at the first character that is not part of the number; every stored list
// ends with ']', so they never read past the view.
// "[" element ("," element)* "]" or "[]"; `element(p)` parses one element at p, returning the
// character after it (nullptr when it is not one).
template <typename Element>
bool ParseArrayFast(std::string_view text, Element element) {
  const char* p = text.data();
  const char* end = p + text.size();
  if (p == end || end[-1] != ']' || *p != '[') return false;
  ++p;
  if (p < end && *p == ']') return p + 1 == end;
  while (p < end) {
    p = element(p);
    if (!p) return false;
    if (p < end && *p == ',') {
      ++p;
      continue;
    }
    return p < end && *p == ']' && p + 1 == end;
  }
  return false;
}

bool ParseServedFast(std::string_view text, std::vector<ServedItem>& out) {
  out.clear();
  return ParseArrayFast(text, [&](const char* p) -> const char* {  // [item_id,propensity]
    if (*p != '[') return nullptr;
    char* next = nullptr;
    const long long id = std::strtoll(p + 1, &next, 10);
    if (next == p + 1 || *next != ',') return nullptr;
    const char* prop_at = next + 1;
    const double prop = std::strtod(prop_at, &next);
    if (next == prop_at || *next != ']') return nullptr;
    out.push_back({static_cast<int64_t>(id), prop});
    return next + 1;
  });
}

bool ParseIdListFast(std::string_view text, std::vector<int64_t>& out) {
  out.clear();
  return ParseArrayFast(text, [&](const char* p) -> const char* {
    char* next = nullptr;
    const long long id = std::strtoll(p, &next, 10);
    if (next == p) return nullptr;
    out.push_back(static_cast<int64_t>(id));
    return next;
  });
}

}  // namespace

Status ForEachAuditedExposure(Database& db, const std::string& experiment, int64_t from_ms, int64_t until_ms,
                              const std::function<Status(const AuditedExposure&)>& row) {
  // Clicks first (distinct positions per request, ascending), merged with the exposures by request id.
  // CROSS JOIN keeps SQLite's join order: one pass over feedback (unindexed by design), a primary-key
  // lookup per row; the other order scans feedback once per exposure.
  ASSIGN_OR_RETURN(auto clicks, db.Prepare(
      "SELECT f.request_id, f.position FROM feedback f CROSS JOIN exposures e ON e.request_id = f.request_id "
      "WHERE f.kind = 1 AND e.experiment = ?1 AND e.ts_ms >= ?2 AND e.ts_ms < ?3"));
  clicks->BindText(1, experiment);
  clicks->BindInt(2, from_ms);
  clicks->BindInt(3, until_ms);
  std::vector<std::pair<int64_t, int32_t>> clicked;
  while (true) {
    ASSIGN_OR_RETURN(bool more, clicks->Step());
    if (!more) break;
    clicked.emplace_back(clicks->ColumnInt(0), static_cast<int32_t>(clicks->ColumnInt(1)));
  }
  std::sort(clicked.begin(), clicked.end());  // sorted and distinct here: cheaper than SQL's temp b-tree
  clicked.erase(std::unique(clicked.begin(), clicked.end()), clicked.end());
  ASSIGN_OR_RETURN(auto st, db.Prepare(
      "SELECT e.request_id, e.ts_ms, e.user_id, COALESCE(e.user_key, CAST(e.user_id AS TEXT)), e.arm, COALESCE(e.attributes, ''), "
      "e.served, "
      "COALESCE(s.items, e.shadow, ''), COALESCE(e.safety, '') FROM exposures e LEFT JOIN shadow_results s ON s.request_id = e.request_id "
      "WHERE e.experiment = ?1 AND e.ts_ms >= ?2 AND e.ts_ms < ?3 ORDER BY e.request_id"));
  st->BindText(1, experiment);
  st->BindInt(2, from_ms);
  st->BindInt(3, until_ms);
  AuditedExposure e;
  size_t c = 0;
  while (true) {
    ASSIGN_OR_RETURN(bool more, st->Step());
    if (!more) break;
    e.request_id = st->ColumnInt(0);
    e.ts_ms = st->ColumnInt(1);
    e.user_id = st->ColumnInt(2);
    e.user_key = st->ColumnView(3);
    e.arm = st->ColumnView(4);
    e.attributes = st->ColumnView(5);
    const std::string_view served = st->ColumnView(6);
    if (!ParseServedFast(served, e.served)) {
      ASSIGN_OR_RETURN(e.served, ParseServedJson(std::string(served)));
    }
    const std::string_view shadow = st->ColumnView(7);
    e.shadow.clear();
    if (!shadow.empty() && !ParseIdListFast(shadow, e.shadow)) {
      return DataLoss("stored shadow list of request " + std::to_string(e.request_id) + " is not a JSON array of item ids");
    }
    e.safety = st->ColumnView(8);
    e.clicked_positions.clear();
    while (c < clicked.size() && clicked[c].first < e.request_id) ++c;
    while (c < clicked.size() && clicked[c].first == e.request_id) e.clicked_positions.push_back(clicked[c++].second);
    RETURN_IF_ERROR(row(e));
  }
  return Status::Ok();
}

StatusOr<std::vector<ArmCounts>> QueryArmCounts(Database& db) {
  std::map<std::pair<std::string, std::string>, ArmCounts> by_arm;
  {
    ASSIGN_OR_RETURN(auto st, db.Prepare(
        "SELECT experiment, arm, COUNT(*), COUNT(DISTINCT user_id), AVG(latency_us) FROM exposures GROUP BY 1, 2"));
    while (true) {
      ASSIGN_OR_RETURN(bool row, st->Step());
      if (!row) break;
      ArmCounts& c = by_arm[{st->ColumnText(0), st->ColumnText(1)}];
      c.experiment = st->ColumnText(0);
      c.arm = st->ColumnText(1);
      c.exposures = st->ColumnInt(2);
      c.users = st->ColumnInt(3);
      c.mean_latency_us = st->ColumnDouble(4);
    }
  }
  {
    ASSIGN_OR_RETURN(auto st, db.Prepare(
        "SELECT e.experiment, e.arm, COUNT(*) FROM feedback f JOIN exposures e ON e.request_id = f.request_id "
        "WHERE f.kind = 1 GROUP BY 1, 2"));
    while (true) {
      ASSIGN_OR_RETURN(bool row, st->Step());
      if (!row) break;
      auto it = by_arm.find({st->ColumnText(0), st->ColumnText(1)});
      if (it != by_arm.end()) it->second.clicks = st->ColumnInt(2);
    }
  }
  std::vector<ArmCounts> out;
  for (auto& [key, counts] : by_arm) out.push_back(std::move(counts));
  return out;
}

StatusOr<std::vector<TimelinePoint>> QueryTimeline(Database& db, int64_t bucket_ms) {
  if (bucket_ms <= 0) return InvalidArgument("timeline bucket must be positive milliseconds");
  std::map<std::tuple<std::string, std::string, int64_t>, TimelinePoint> points;
  const std::string bucket = std::to_string(bucket_ms);
  {
    ASSIGN_OR_RETURN(auto st, db.Prepare("SELECT experiment, arm, (ts_ms / " + bucket + ") * " + bucket +
                                         ", COUNT(*) FROM exposures GROUP BY 1, 2, 3"));
    while (true) {
      ASSIGN_OR_RETURN(bool row, st->Step());
      if (!row) break;
      TimelinePoint& p = points[{st->ColumnText(0), st->ColumnText(1), st->ColumnInt(2)}];
      p.experiment = st->ColumnText(0);
      p.arm = st->ColumnText(1);
      p.bucket_start_ms = st->ColumnInt(2);
      p.exposures = st->ColumnInt(3);
    }
  }
  {
    ASSIGN_OR_RETURN(auto st, db.Prepare(
        "SELECT e.experiment, e.arm, (e.ts_ms / " + bucket + ") * " + bucket +
        ", COUNT(*) FROM feedback f JOIN exposures e ON e.request_id = f.request_id WHERE f.kind = 1 GROUP BY 1, 2, 3"));
    while (true) {
      ASSIGN_OR_RETURN(bool row, st->Step());
      if (!row) break;
      auto it = points.find({st->ColumnText(0), st->ColumnText(1), st->ColumnInt(2)});
      if (it != points.end()) it->second.clicks = st->ColumnInt(3);
    }
  }
  std::vector<TimelinePoint> out;
  for (auto& [key, p] : points) out.push_back(std::move(p));
  return out;
}

StatusOr<Totals> QueryTotals(Database& db) {
  ASSIGN_OR_RETURN(auto st, db.Prepare(
      "SELECT (SELECT COUNT(*) FROM exposures), (SELECT COUNT(*) FROM feedback), "
      "(SELECT COUNT(*) FROM feedback WHERE kind = 1), (SELECT COUNT(*) FROM audit_log)"));
  ASSIGN_OR_RETURN(bool row, st->Step());
  if (!row) return Internal("totals query returned no row");
  return Totals{st->ColumnInt(0), st->ColumnInt(1), st->ColumnInt(2), st->ColumnInt(3)};
}

Status SaveCatalog(Database& db, const std::vector<CatalogRow>& rows) {
  return db.InTransaction([&]() -> Status {
    RETURN_IF_ERROR(db.Exec("DELETE FROM catalog_items"));
    ASSIGN_OR_RETURN(auto st, db.Prepare("INSERT INTO catalog_items (item_id, category, provider_group, popularity, risk) VALUES (?,?,?,?,?)"));
    for (const CatalogRow& r : rows) {
      st->BindInt(1, r.item_id);
      st->BindInt(2, r.category);
      st->BindInt(3, r.provider_group);
      st->BindDouble(4, r.popularity);
      if (r.risk < 0) {
        st->BindNull(5);
      } else {
        st->BindDouble(5, r.risk);
      }
      RETURN_IF_ERROR(st->Run());
    }
    return Status::Ok();
  });
}

StatusOr<std::vector<CatalogRow>> LoadCatalog(Database& db) {
  ASSIGN_OR_RETURN(auto st, db.Prepare("SELECT item_id, category, provider_group, popularity, COALESCE(risk, -1.0) FROM catalog_items ORDER BY item_id"));
  return CollectRows(*st, [](const Statement& row) {
    return CatalogRow{row.ColumnInt(0), static_cast<int>(row.ColumnInt(1)), static_cast<int>(row.ColumnInt(2)), row.ColumnDouble(3),
                      row.ColumnDouble(4)};
  });
}

StatusOr<int64_t> ReserveIds(Database& db, const std::string& sequence, int64_t count) {
  if (count < 1) return InvalidArgument("ids to reserve must be at least 1, got " + std::to_string(count));
  int64_t first = 0;
  RETURN_IF_ERROR(db.InTransaction([&]() -> Status {
    ASSIGN_OR_RETURN(auto st, db.Prepare("UPDATE id_sequences SET next = next + ? WHERE name = ? RETURNING next"));
    st->BindInt(1, count);
    st->BindText(2, sequence);
    ASSIGN_OR_RETURN(bool row, st->Step());
    if (!row) return NotFound("no id sequence named '" + sequence + "'");
    first = st->ColumnInt(0) - count;
    return Status::Ok();
  }));
  return first;
}

Status AdvanceSequence(Database& db, const std::string& sequence, int64_t next) {
  ASSIGN_OR_RETURN(auto st, db.Prepare("UPDATE id_sequences SET next = CASE WHEN next < ?1 THEN ?1 ELSE next END WHERE name = ?2"));
  st->BindInt(1, next);
  st->BindText(2, sequence);
  return st->Run();
}

StatusOr<int64_t> DataVersion(Database& db) {
  return db.DataVersion();
}

StatusOr<bool> FeedbackExists(Database& db, int64_t request_id, int32_t position, FeedbackKind kind) {
  ASSIGN_OR_RETURN(auto st, db.Prepare("SELECT 1 FROM feedback WHERE request_id = ? AND position = ? AND kind = ? LIMIT 1"));
  st->BindInt(1, request_id);
  st->BindInt(2, position);
  st->BindInt(3, static_cast<int64_t>(kind));
  return st->Step();
}

StatusOr<std::vector<int64_t>> StoredRequestIds(Database& db, const std::vector<int64_t>& request_ids) {
  if (request_ids.empty()) return std::vector<int64_t>();
  std::string list = "[";
  for (size_t i = 0; i < request_ids.size(); ++i) {
    if (i) list += ',';
    list += std::to_string(request_ids[i]);
  }
  list += ']';
  ASSIGN_OR_RETURN(auto st, db.Prepare("SELECT request_id FROM exposures WHERE request_id IN (SELECT value FROM json_each(?))"));
  st->BindText(1, list);
  return CollectRows(*st, [](const Statement& row) { return row.ColumnInt(0); });
}

StatusOr<std::optional<StoredExposure>> FindExposure(Database& db, int64_t request_id) {
  ASSIGN_OR_RETURN(auto st, db.Prepare(
      "SELECT request_id, ts_ms, user_id, COALESCE(user_key, CAST(user_id AS TEXT)), experiment, arm, served, COALESCE(safety, '') "
      "FROM exposures WHERE request_id = ?"));
  st->BindInt(1, request_id);
  ASSIGN_OR_RETURN(bool row, st->Step());
  if (!row) return std::optional<StoredExposure>();
  StoredExposure e;
  e.request_id = st->ColumnInt(0);
  e.ts_ms = st->ColumnInt(1);
  e.user_id = st->ColumnInt(2);
  e.user_key = st->ColumnText(3);
  e.experiment = st->ColumnText(4);
  e.arm = st->ColumnText(5);
  ASSIGN_OR_RETURN(auto served, ParseServedJson(st->ColumnText(6)));
  for (const ServedItem& s : served) e.items.push_back(s.item_id);
  e.safety = st->ColumnText(7);
  return std::optional<StoredExposure>(std::move(e));
}

Status ForEachListOutcome(Database& db, const std::string& experiment, int64_t until_ms,
                          const std::function<void(const ListOutcomeRow&)>& row) {
  ASSIGN_OR_RETURN(auto st, db.Prepare(
      "SELECT e.request_id, e.ts_ms, e.user_id, e.arm, e.latency_us, COALESCE(f.clicks, 0), COALESCE(f.conversions, 0) "
      "FROM exposures e LEFT JOIN ("
      "  SELECT request_id, COUNT(DISTINCT CASE WHEN kind = 1 THEN position END) AS clicks, "
      "         COUNT(DISTINCT CASE WHEN kind = 2 THEN position END) AS conversions "
      "  FROM feedback WHERE request_id IN (SELECT request_id FROM exposures WHERE experiment = ?1) "
      "  GROUP BY request_id) f ON f.request_id = e.request_id "
      "WHERE e.experiment = ?1 AND e.ts_ms < ?2 ORDER BY e.request_id"));
  st->BindText(1, experiment);
  st->BindInt(2, until_ms);
  while (true) {
    ASSIGN_OR_RETURN(bool more, st->Step());
    if (!more) break;
    ListOutcomeRow r;
    r.request_id = st->ColumnInt(0);
    r.ts_ms = st->ColumnInt(1);
    r.user_id = st->ColumnInt(2);
    r.arm = st->ColumnText(3);
    r.latency_us = static_cast<int32_t>(st->ColumnInt(4));
    r.clicks = st->ColumnInt(5);
    r.conversions = st->ColumnInt(6);
    row(r);
  }
  return Status::Ok();
}

StatusOr<int64_t> QueryLastExposureTime(Database& db, const std::string& experiment) {
  ASSIGN_OR_RETURN(auto st, db.Prepare("SELECT COALESCE(MAX(ts_ms), 0) FROM exposures WHERE experiment = ?"));
  st->BindText(1, experiment);
  ASSIGN_OR_RETURN(bool row, st->Step());
  return row ? st->ColumnInt(0) : 0;
}

StatusOr<int64_t> CountExposuresSince(Database& db, const std::string& experiment, int64_t since_ms) {
  ASSIGN_OR_RETURN(auto st, db.Prepare("SELECT COUNT(*) FROM exposures WHERE experiment = ? AND ts_ms >= ?"));
  st->BindText(1, experiment);
  st->BindInt(2, since_ms);
  ASSIGN_OR_RETURN(bool row, st->Step());
  return row ? st->ColumnInt(0) : 0;
}

Status SaveReviewLabel(Database& db, const ReviewLabel& label) {
  ASSIGN_OR_RETURN(std::optional<StoredExposure> exposure, FindExposure(db, label.request_id));
  if (!exposure) return NotFound("no served list has request id " + std::to_string(label.request_id));
  ASSIGN_OR_RETURN(auto st, db.Prepare(
      "INSERT INTO review_labels (request_id, actor, label, note, ts_ms) VALUES (?, ?, ?, ?, ?) ON CONFLICT (request_id, actor) DO UPDATE SET label = excluded.label, note = excluded.note, ts_ms = excluded.ts_ms"));
  st->BindInt(1, label.request_id);
  st->BindText(2, label.actor);
  st->BindText(3, label.label);
  st->BindText(4, label.note);
  st->BindInt(5, label.ts_ms);
  return st->Run();
}

StatusOr<std::vector<ReviewLabel>> LoadReviewLabels(Database& db, const std::string& experiment) {
  ASSIGN_OR_RETURN(auto st, db.Prepare(
      "SELECT r.request_id, e.experiment, e.arm, r.actor, r.label, r.note, r.ts_ms FROM review_labels r "
      "JOIN exposures e ON e.request_id = r.request_id WHERE e.experiment = ? ORDER BY r.request_id, r.actor"));
  st->BindText(1, experiment);
  return CollectRows(*st, [](const Statement& r) {
    return ReviewLabel{r.ColumnInt(0), r.ColumnText(1), r.ColumnText(2), r.ColumnText(3), r.ColumnText(4), r.ColumnText(5), r.ColumnInt(6)};
  });
}

StatusOr<std::vector<int64_t>> ExposureIds(Database& db, const std::string& experiment) {
  ASSIGN_OR_RETURN(auto st, db.Prepare("SELECT request_id FROM exposures WHERE experiment = ? ORDER BY request_id"));
  st->BindText(1, experiment);
  return CollectRows(*st, [](const Statement& r) { return r.ColumnInt(0); });
}

StatusOr<std::map<int64_t, std::vector<int32_t>>> ClickedPositions(Database& db, const std::vector<int64_t>& request_ids) {
  std::map<int64_t, std::vector<int32_t>> out;
  for (int64_t id : request_ids) out[id];
  if (request_ids.empty()) return out;
  std::string list;
  for (int64_t id : request_ids) list += (list.empty() ? "" : ",") + std::to_string(id);
  ASSIGN_OR_RETURN(auto st, db.Prepare("SELECT DISTINCT request_id, position FROM feedback WHERE kind = 1 AND request_id IN (" + list +
                                       ") ORDER BY 1, 2"));
  while (true) {
    ASSIGN_OR_RETURN(bool row, st->Step());
    if (!row) break;
    out[st->ColumnInt(0)].push_back(static_cast<int32_t>(st->ColumnInt(1)));
  }
  return out;
}

}  // namespace steward::storage
