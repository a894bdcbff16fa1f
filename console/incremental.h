// IncrementalReader: keeps the console's aggregates up to date by reading only what was appended
// since the last refresh. Cost grows with the new rows, not with the database:
//   - exposures from the last seen request id on, feedback from the last seen rowid on (joined to
//     its exposure by primary key), shadow results and refused events likewise;
//   - the audit chain: walked whole once (with its anchor) when the reader first runs, then each
//     new row is checked against the last verified one (and the last verified row is re-read, so
//     a rewritten or truncated tip is caught);
//   - experiments, rollout states and the kill switch: small tables and index lookups.
// Known limit: an exposure committed later with a lower request id than one already read (two
// processes writing from separately reserved id blocks) is not counted until the console reopens.
//
// Thread safety: none; one reader per connection, used from one thread.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "common/status.h"
#include "console/snapshot.h"
#include "experiment/stats.h"
#include "storage/database.h"

namespace steward::console {

// Latency percentiles from a log-bucketed histogram (5% bucket width).
class LatencyHistogram {
 public:
  void Add(double ms);
  double Percentile(double q) const;  // 0 when empty; accurate to the bucket width
  int64_t count() const { return count_; }

 private:
  static constexpr int kBuckets = 420;  // 1 us * 1.05^420 ~ 800 s
  std::array<uint32_t, kBuckets> buckets_{};
  int64_t count_ = 0;
};

class IncrementalReader {
 public:
  // Reads what changed since the last call, in the caller's read transaction, and writes the
  // snapshot. `now_wall_ms` stamps when new traffic was last seen.
  Status Refresh(storage::Database& db, int64_t now_wall_ms, ConsoleSnapshot& out);

  // Rows read by the last refresh (for tests and --frame-stats diagnostics).
  int64_t rows_read_last_refresh() const { return rows_read_; }

 private:
  struct UserTotals {
    double lists = 0, clicks = 0, conversions = 0, latency_ms = 0;
  };
  struct Arm {
    std::unordered_map<int64_t, UserTotals> users;
    std::array<experiment::RatioSums, experiment::kNumMetrics> sums;
    int64_t exposures = 0, clicks = 0, conversions = 0;
    LatencyHistogram latency;
    std::map<int64_t, std::pair<int64_t, int64_t>> hourly_counts;  // bucket -> exposures, clicks
    std::map<int64_t, LatencyHistogram> hourly_latency;
  };
  struct Experiment {
    std::map<std::string, Arm> arms;
    int64_t last_exposure_ms = 0;
    int64_t last_new_traffic_wall_ms = 0;
    ShadowHealth shadow;
    LatencyHistogram shadow_latency;
    // Running minimum of 1/L per (arm, metric): the always-valid p-value over the console's looks.
    std::map<std::string, double> p_always_valid;
  };
  struct CachedConfig {
    int64_t version = -1;
    experiment::ExperimentConfig config;
  };

  Status ReadExposures(storage::Database& db, int64_t now_wall_ms);
  Status ReadFeedback(storage::Database& db);
  Status ReadShadow(storage::Database& db);
  Status ReadRejected(storage::Database& db, ConsoleSnapshot& out);
  Status ReadAudit(storage::Database& db, ConsoleSnapshot& out);
  Status ReadExperiments(storage::Database& db, ConsoleSnapshot& out);
  void UpdateUser(Arm& arm, int64_t user, const UserTotals& delta);
  void FillArms(const std::string& name, ExperimentView& view);

  int64_t exposure_cursor_ = 0, feedback_cursor_ = 0, shadow_cursor_ = 0, rejected_cursor_ = 0;
  int64_t feedback_rows_ = 0, exposure_rows_ = 0, rejected_rows_ = 0;
  std::string last_rejected_error_;
  std::unordered_map<std::string, Experiment> experiments_;
  std::unordered_set<int64_t> clicked_;  // request_id * 1024 + position: distinct clicks
  std::unordered_set<int64_t> converted_;
  // The audit chain: verified through chain_seq_ (whose hash is chain_hash_).
  bool chain_opened_ = false;
  int64_t chain_seq_ = 0;
  std::string chain_hash_;
  bool chain_seen_v2_ = false;
  ChainStatus chain_;
  std::vector<storage::AuditEntry> recent_;  // newest first
  std::vector<storage::AuditEntry> sign_offs_;
  std::map<std::string, CachedConfig> configs_;
  int64_t rows_read_ = 0;
};

}  // namespace steward::console
