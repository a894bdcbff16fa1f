// ConsoleSnapshot: everything the console's three workspaces show, as plain data (no ImGui). A
// DataSource (console/source.h) produces one per refresh; the UI thread draws the latest.
//
// Units: times are milliseconds since the epoch (UTC) unless named otherwise; latencies are
// milliseconds; rates are fractions (0.05 = 5%); intervals are two-sided 95%.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "experiment/experiment_config.h"
#include "experiment/rollout.h"
#include "storage/audit_log.h"
#include "storage/experiment_store.h"

namespace steward::console {

// One primary metric of one treatment arm against control (the first arm).
struct MetricComparison {
  std::string metric;                   // "ctr", "conversion_rate"
  double control = 0.0, treatment = 0.0;  // per-list rates
  double rel_lift = 0.0, rel_low = 0.0, rel_high = 0.0;  // relative lift and its 95% interval (delta method)
  double p_fixed = 1.0;                 // z-test at this look (inflates false alarms under peeking)
  double p_always_valid = 1.0;          // mSPRT, the minimum of 1/L over the console's looks
  bool defined = false;                 // false until both arms have users
};

struct ArmStats {
  std::string name;
  bool excluded = false;  // lists served outside the experiment's coverage
  int64_t exposures = 0, users = 0, clicks = 0, conversions = 0;
  double ctr = 0.0, ctr_low = 0.0, ctr_high = 0.0;  // clicks per list with a Wilson interval
  double latency_p50_ms = 0.0, latency_p99_ms = 0.0;
  std::vector<MetricComparison> vs_control;  // one per primary metric; empty for control
};

// Hourly buckets of event time, per arm.
struct ArmSeriesPoint {
  int64_t bucket_start_ms = 0;
  int64_t exposures = 0, clicks = 0;
  double latency_p50_ms = 0.0, latency_p99_ms = 0.0;
};

struct ShadowHealth {
  int64_t results = 0, errors = 0, timeouts = 0;  // shadow_results rows
  double latency_p99_ms = 0.0;
  int64_t expected = 0;  // exposures served while the experiment had a shadow model
};

struct ExperimentView {
  storage::ExperimentRecord record;
  bool valid = false;     // false when the stored status or config could not be read
  std::string error;      // why not
  bool tampered = false;  // the stored state is not the audit chain's
  experiment::ExperimentConfig config;
  experiment::RolloutStatus status;
  double serving_coverage = 0.0;
  std::vector<ArmStats> arms;  // config order, then "excluded"
  std::map<std::string, std::vector<ArmSeriesPoint>> series;  // arm -> hourly points, oldest first
  // Sample-ratio mismatch of users per arm against the configured weights.
  bool srm_checked = false, srm_mismatch = false;
  double srm_p = 1.0;
  int64_t last_exposure_ms = 0;     // event time of the newest exposure
  int64_t last_new_traffic_wall_ms = 0;  // wall time the console last saw new exposures
  ShadowHealth shadow;
};

struct ChainStatus {
  bool ok = true;
  int64_t verified_through_seq = 0;  // every row up to here verified (at open: the whole chain)
  int64_t first_bad_seq = 0;
  std::string problem;
  int64_t anchored_seq = 0;             // rows the anchor file vouched for when the console opened
  std::string unanchored_reason;        // "" when anchored
  int64_t rows_verified_last_refresh = 0;  // the incremental walk's work
};

struct ConsoleSnapshot {
  std::string source;  // database path or URL
  int64_t taken_at_ms = 0;  // wall time
  double refresh_ms = 0.0;  // how long this refresh took
  bool kill_switch = false;
  std::vector<ExperimentView> experiments;
  ChainStatus chain;
  std::vector<storage::AuditEntry> recent_audit;  // newest first, at most 50
  std::vector<storage::AuditEntry> sign_offs;     // audit.signoff rows, newest first
  int64_t exposures = 0, feedback = 0, audit_rows = 0;
  int64_t rejected_events = 0;        // events the database refused (storage: rejected_events)
  std::string last_rejected_error;    // the newest refusal's reason
  std::string error;  // set when the last refresh failed; the rest is the previous good data
  // False over HTTP: the API serves no per-arm traffic figures, series or writer health.
  bool has_traffic_figures = true;

  const ExperimentView* Find(const std::string& name) const {
    for (const ExperimentView& e : experiments) {
      if (e.record.name == name) return &e;
    }
    return nullptr;
  }
};

}  // namespace steward::console
