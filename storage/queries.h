// Read-side queries for the dashboard and reports. Each call runs on the caller's own connection
// (open one with DatabaseOptions{.read_only = true}); in WAL mode they never block the writer.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "storage/database.h"
#include "storage/events.h"

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
  double risk = -1.0;  // the safety screen's risk score; < 0 when no scorer ran (stored as NULL)
};
// Replaces the catalog snapshot (item categories, provider groups, popularity) reports use.
Status SaveCatalog(Database& db, const std::vector<CatalogRow>& rows);
StatusOr<std::vector<CatalogRow>> LoadCatalog(Database& db);

// Reserves `count` consecutive ids of the named sequence ("request_id") in one write transaction
// and returns the first. Safe across processes sharing the database: every caller gets a disjoint
// block (ids are unique, not gap-free). Errors: kInvalidArgument when count < 1; kNotFound for an
// unknown sequence.
StatusOr<int64_t> ReserveIds(Database& db, const std::string& sequence, int64_t count);
// Moves the sequence's next id up to at least `next` (never down).
Status AdvanceSequence(Database& db, const std::string& sequence, int64_t next);

// SQLite's PRAGMA data_version: changes whenever another connection commits to the database.
StatusOr<int64_t> DataVersion(Database& db);

// A logged exposure, read back (the feedback join's fallback when a list left memory).
struct StoredExposure {
  int64_t request_id = 0;
  int64_t ts_ms = 0;
  int64_t user_id = 0;
  std::string user_key;
  std::string experiment;
  std::string arm;
  std::vector<int64_t> items;  // position order
  std::string safety;          // the safety screen's record (migration 9); "" when none
};
StatusOr<std::optional<StoredExposure>> FindExposure(Database& db, int64_t request_id);
// Whether feedback of `kind` is stored for the request's position.
StatusOr<bool> FeedbackExists(Database& db, int64_t request_id, int32_t position, FeedbackKind kind);
// Which of `request_ids` have a stored exposure: one query (index lookups), for batches.
StatusOr<std::vector<int64_t>> StoredRequestIds(Database& db, const std::vector<int64_t>& request_ids);

// One served list of an experiment with its outcome, as stored: clicks and conversions count
// distinct positions (a repeated click on one position counts once).
struct ListOutcomeRow {
  int64_t request_id = 0;
  int64_t ts_ms = 0;
  int64_t user_id = 0;
  std::string arm;
  int64_t clicks = 0;
  int64_t conversions = 0;
  int32_t latency_us = 0;
};
// Calls `row` for every exposure of `experiment` with ts_ms < until_ms, in request id order.
Status ForEachListOutcome(Database& db, const std::string& experiment, int64_t until_ms,
                          const std::function<void(const ListOutcomeRow&)>& row);
// Event time of the experiment's last logged exposure; 0 when none.
StatusOr<int64_t> QueryLastExposureTime(Database& db, const std::string& experiment);
// Exposures of `experiment` with ts_ms >= since_ms.
StatusOr<int64_t> CountExposuresSince(Database& db, const std::string& experiment, int64_t since_ms);

// Reviewers' labels of served lists (issue #11; migration 8).
struct ReviewLabel {
  int64_t request_id = 0;
  std::string experiment, arm;  // of the labelled list (read back; ignored by SaveReviewLabel)
  std::string actor, label, note;
  int64_t ts_ms = 0;
};
// Saves (or replaces) `actor`'s label of the list. Errors: kNotFound when no exposure has that
// request id.
Status SaveReviewLabel(Database& db, const ReviewLabel& label);
// The labels of one experiment's lists, in request id order.
StatusOr<std::vector<ReviewLabel>> LoadReviewLabels(Database& db, const std::string& experiment);
// Distinct clicked positions of each of `request_ids` (one scan of the feedback table).
StatusOr<std::map<int64_t, std::vector<int32_t>>> ClickedPositions(Database& db, const std::vector<int64_t>& request_ids);
// Request ids of `experiment`'s exposures, ascending (for drawing review samples).
StatusOr<std::vector<int64_t>> ExposureIds(Database& db, const std::string& experiment);

// One stored exposure for audits (issue #11), read in request id order: the served list with its
// per-position propensities, the shadow list (empty when none), the user attributes JSON ("" when
// none) and the positions clicked (distinct, ascending).
// The text fields are views into the row being read: valid only during the callback.
struct AuditedExposure {
  int64_t request_id = 0;
  int64_t ts_ms = 0;
  int64_t user_id = 0;
  std::string_view user_key;
  std::string_view arm;
  std::string_view attributes;
  std::vector<ServedItem> served;
  std::vector<int64_t> shadow;
  std::vector<int32_t> clicked_positions;
  std::string_view safety;  // the safety screen's JSON (migration 9); empty when none ran
};
// Calls `row` for every exposure of `experiment` with from_ms <= ts_ms < until_ms, in request id
// order, in one read (call it inside a read transaction for a consistent snapshot). The shadow list
// comes from shadow_results (or the exposure's own shadow column). The `row`
// reference is reused between calls. Errors: kDataLoss for a served or shadow list that is not the
// stored JSON format.
Status ForEachAuditedExposure(Database& db, const std::string& experiment, int64_t from_ms, int64_t until_ms,
                              const std::function<Status(const AuditedExposure&)>& row);

}  // namespace steward::storage
