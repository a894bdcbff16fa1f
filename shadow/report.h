// The shadow report for reviewers: per experiment, how the shadow model's lists compare with the
// served ones on the same requests (overlap@10, RBO, Kendall tau), and each side's diversity,
// novelty, coverage, latency percentiles and errors. Reads exposures, shadow_results and the
// catalog snapshot from the database.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/status.h"
#include "models/recommender.h"
#include "shadow/slate_ope.h"
#include "storage/database.h"

namespace steward::shadow {

struct SideMetrics {
  double diversity_index = 0, novelty = 0, coverage = 0, intra_list_diversity = 0;
  double p50_ms = 0, p95_ms = 0, p99_ms = 0;
  int64_t errors = 0;
  int64_t violations = 0;  // listed items the policy filter blocks
  // From the catalog snapshot's risk scores (a run screened by a risk scorer); -1 when none:
  double risk_mean = -1;       // mean risk of the listed items
  double risk_disparity = -1;  // max - min over provider groups of the group's mean risk
};

// One event-time window of the comparison.
struct ShadowWindow {
  int64_t start_ms = 0, end_ms = 0;
  int64_t requests = 0, compared = 0;
  double overlap_at_10 = 0, rbo = 0;
  double served_p99_ms = 0, shadow_p99_ms = 0;
  int64_t violations = 0;  // shadow items the policy filter blocks
};

// What the shadow model would have earned, estimated off-policy from the served lists' logged
// propensities (per position, as in the OBD files): each (request, position) logged with
// exploration (propensity < 1) is a row with weight 1[shadow list has the logged item there] /
// propensity and the logged click as reward. Rows logged deterministically (propensity 1) give no
// support for other items and are left out. Values are clicks per list (per-slot estimate x the
// mean list length).
struct ShadowCounterfactual {
  int64_t rows = 0;                 // (request, position) rows logged with exploration
  int64_t deterministic_rows = 0;   // left out: propensity 1
  int64_t matched = 0;              // rows where the shadow list has the logged item at that position
  double list_length = 0;
  double logged_clicks_per_list = 0;  // on-policy clicks per list over the same requests
  double ips = 0, ips_low = 0, ips_high = 0;
  double snips = 0, snips_low = 0, snips_high = 0;
  double ess = 0, max_weight = 0;
  bool unreliable = false;
  std::string warning;
};

// The counterfactual's primary estimate: the shadow lists' clicks per list under the
// position-based click model (shadow/slate_ope.h: assumptions, estimators), over every compared
// request (lists logged with propensity 1 count too: an item the served list shows surely supports
// the same item in the shadow list). The click model is fitted on those requests' served lists,
// attraction shrunk towards the item's popularity decile (catalog snapshot). `estimate.dr` is the
// shadow policy's estimated clicks per list, `estimate.logged` the served arms' logged clicks per
// list on the same requests, `estimate.lift` their ratio - 1.
struct ShadowSlateCounterfactual {
  bool estimated = false;
  std::string note;       // why not, when not estimated
  int64_t left_out = 0;   // compared lists with a logged propensity outside (0, 1]
  SlateEstimate estimate;
};

struct ExperimentShadowReport {
  std::string name;
  std::string shadow_model;
  int64_t requests = 0;       // served requests of the experiment
  int64_t compared = 0;       // requests with a shadow list
  double overlap_at_10 = 0, rbo = 0, kendall_tau = 0;
  int64_t dropped = 0;        // requests without a shadow result (queue full)
  int64_t violations = 0;     // shadow items the policy filter would have blocked
  std::string policy;         // the filter's name; empty: no filter given, violations not counted
  std::string policy_source;  // where the filter came from (a file, or the audit row that recorded it)
  SideMetrics served, shadow;
  std::vector<ShadowWindow> windows;
  ShadowSlateCounterfactual slate;     // the primary counterfactual estimate
  ShadowCounterfactual counterfactual;  // per-position IPS, kept as a diagnostic
};

struct ShadowReport {
  std::vector<ExperimentShadowReport> experiments;
};

struct ShadowReportOptions {
  std::string experiment;  // empty: every experiment with shadow results
  // Screens both sides' lists through the candidate-filter interface (the safety layer) and counts
  // what it blocks. Items are passed as indices into the catalog snapshot ordered by item id.
  const models::CandidateFilter* policy = nullptr;
  // Per-experiment filters (e.g. the policy recorded with each experiment); take precedence over
  // `policy`. `policy_sources` says where each came from, for the report.
  std::map<std::string, const models::CandidateFilter*> policies;
  std::map<std::string, std::string> policy_sources;
  std::string policy_source;  // where `policy` came from, e.g. "--policy FILE"
  int windows = 24;  // equal event-time windows over each experiment's traffic
  // Only exposures with event time before this (exclusive), e.g. the shadow phase before a ramp;
  // 0: all. Default: 0
  int64_t to_ms = 0;
  int64_t from_ms = 0;  // only exposures at or after this event time. Default: 0
  std::string arm;      // only exposures of this arm (e.g. "control"); empty: all. Default: ""
  SlateOpeOptions slate;  // the slate estimator's options (item groups are set from the catalog)
};

StatusOr<ShadowReport> BuildShadowReport(storage::Database& db, const ShadowReportOptions& options);
// `experiment` empty: every experiment with shadow results; no policy filter.
StatusOr<ShadowReport> BuildShadowReport(storage::Database& db, const std::string& experiment);
std::string ShadowReportJson(const ShadowReport& report);
// `charts`: link the PNG charts WriteShadowReportFiles draws beside the document.
std::string ShadowReportMarkdown(const ShadowReport& report, bool charts = false);
std::string ShadowReportHtml(const ShadowReport& report);
// Writes report.json, report.md, report.html and, per experiment, <name>-agreement.png (overlap@10
// and RBO per window), <name>-latency.png (p50/p95/p99 of each side) and <name>-quality.png
// (diversity, intra-list diversity, coverage of each side) into `dir`, creating it.
Status WriteShadowReportFiles(const ShadowReport& report, const std::string& dir);

}  // namespace steward::shadow
