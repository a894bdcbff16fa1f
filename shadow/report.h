// The shadow report for reviewers: per experiment, how the shadow model's lists compare with the
// served ones on the same requests (overlap@10, RBO, Kendall tau), and each side's diversity,
// novelty, coverage, latency percentiles and errors. Reads exposures, shadow_results and the
// catalog snapshot from the database.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"
#include "storage/database.h"

namespace steward::shadow {

struct SideMetrics {
  double diversity_index = 0, novelty = 0, coverage = 0, intra_list_diversity = 0;
  double p50_ms = 0, p95_ms = 0, p99_ms = 0;
  int64_t errors = 0;
};

struct ExperimentShadowReport {
  std::string name;
  std::string shadow_model;
  int64_t requests = 0;       // served requests of the experiment
  int64_t compared = 0;       // requests with a shadow list
  double overlap_at_10 = 0, rbo = 0, kendall_tau = 0;
  int64_t dropped = 0;        // requests without a shadow result (queue full)
  int64_t violations = 0;     // shadow items a policy filter would have blocked (none configured yet)
  SideMetrics served, shadow;
};

struct ShadowReport {
  std::vector<ExperimentShadowReport> experiments;
};

// `experiment` empty: every experiment with shadow results.
StatusOr<ShadowReport> BuildShadowReport(storage::Database& db, const std::string& experiment);
std::string ShadowReportJson(const ShadowReport& report);
std::string ShadowReportMarkdown(const ShadowReport& report);

}  // namespace steward::shadow
