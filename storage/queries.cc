#include "storage/queries.h"

#include <map>
#include <tuple>

#include "storage/statement.h"

namespace steward::storage {

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
    ASSIGN_OR_RETURN(auto st, db.Prepare("INSERT INTO catalog_items (item_id, category, provider_group, popularity) VALUES (?,?,?,?)"));
    for (const CatalogRow& r : rows) {
      st->BindInt(1, r.item_id);
      st->BindInt(2, r.category);
      st->BindInt(3, r.provider_group);
      st->BindDouble(4, r.popularity);
      RETURN_IF_ERROR(st->Run());
    }
    return Status::Ok();
  });
}

StatusOr<std::vector<CatalogRow>> LoadCatalog(Database& db) {
  ASSIGN_OR_RETURN(auto st, db.Prepare("SELECT item_id, category, provider_group, popularity FROM catalog_items ORDER BY item_id"));
  return CollectRows(*st, [](const Statement& row) {
    return CatalogRow{row.ColumnInt(0), static_cast<int>(row.ColumnInt(1)), static_cast<int>(row.ColumnInt(2)), row.ColumnDouble(3)};
  });
}

StatusOr<int64_t> QueryMaxRequestId(Database& db) {
  ASSIGN_OR_RETURN(auto st, db.Prepare("SELECT COALESCE(MAX(request_id), 0) FROM exposures"));
  ASSIGN_OR_RETURN(bool row, st->Step());
  return row ? st->ColumnInt(0) : 0;
}

}  // namespace steward::storage
