// Read-side queries for the dashboard and reports. Each call runs on the caller's own connection
// (open one with DatabaseOptions{.read_only = true}); in WAL mode they never block the writer.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"
#include "storage/database.h"

namespace steward::storage {

struct ArmCounts {
  std::string experiment;
  std::string arm;
  int64_t exposures = 0;
  int64_t users = 0;
  int64_t clicks = 0;
  double mean_latency_us = 0.0;
};

struct TimelinePoint {
  std::string experiment;
  std::string arm;
  int64_t bucket_start_ms = 0;
  int64_t exposures = 0;
  int64_t clicks = 0;
};

struct Totals {
  int64_t exposures = 0;
  int64_t feedback = 0;
  int64_t clicks = 0;
  int64_t audit_rows = 0;
};

StatusOr<std::vector<ArmCounts>> QueryArmCounts(Database& db);
// Exposures and clicks per arm in buckets of `bucket_ms` of event time.
StatusOr<std::vector<TimelinePoint>> QueryTimeline(Database& db, int64_t bucket_ms);
StatusOr<Totals> QueryTotals(Database& db);
struct CatalogRow {
  int64_t item_id = 0;
  int category = 0;
  int provider_group = 0;
  double popularity = 0.0;
};
// Replaces the catalog snapshot (item categories, provider groups, popularity) reports use.
Status SaveCatalog(Database& db, const std::vector<CatalogRow>& rows);
StatusOr<std::vector<CatalogRow>> LoadCatalog(Database& db);

// Highest request id logged so far (0 when none), so a new run continues after it.
StatusOr<int64_t> QueryMaxRequestId(Database& db);

}  // namespace steward::storage
