// `steward bench offline-online`: the paper's offline-vs-online comparison (issue #12, deliverable
// 4; paper: the offline estimate of the hybrid's lift, +14%, was within 8.7% of the online lift,
// +12.8%). Per seed, the demo runs in-process on a temporary database (default experiment
// data/experiments/demo.yaml: the first arm serves during the shadow phase with the treatment's
// model in shadow, then the ramp). From that database:
//  offline  the shadow report (shadow/report.h) over the shadow phase (exposures before the first
//           in-experiment exposure, i.e. before the ramp): the position-based doubly robust
//           estimate of the shadow model's clicks per list (shadow/slate_ope.h) over the logged
//           clicks per list of the lists served then; lift = estimate / logged - 1.
//  online   treatment vs control clicks per list over the ramp's in-experiment exposures, users as
//           the unit (experiment/metrics.h, experiment::RatioTest with its delta-method interval).
//  deviation |offline lift - online lift| / |online lift|.
// It also gives the shadow phase's list comparison (the paper: diversity about 20% higher,
// relevance within 3%): diversity = the report's categorical diversity index (and intra-list
// diversity), shadow relative to served; relevance = the estimated clicks per list of the shadow
// lists relative to the served lists' logged clicks (the offline lift itself).
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"
#include "shadow/slate_ope.h"

namespace steward::app {

struct OfflineOnlineOptions {
  std::vector<uint64_t> seeds = {1, 2, 3};  // Default: 1, 2, 3
  int64_t requests = 20000;                 // per seed. Default: 20000 (the demo's)
  std::string experiment_file;              // Default: <data>/experiments/demo.yaml
  std::string data_dir;
  // Where the per-seed databases go; "" = a temporary directory, removed afterwards. Default: ""
  std::string work_dir;
  size_t shadow_queue = 1000000;  // the shadow model must see every request. Default: 1000000
  bool progress = true;
  const std::atomic<bool>* cancel = nullptr;
};

struct Interval3 {
  double value = 0, ci_low = 0, ci_high = 0;
};

struct OfflineOnlineRun {
  uint64_t seed = 0;
  std::string experiment, control_arm, treatment_arm, control_model, treatment_model, shadow_model;
  std::string rollout_state;  // at the end of the run
  // Shadow phase (offline).
  int64_t shadow_lists = 0;
  int64_t ramp_start_ms = 0;
  Interval3 logged_ctr, estimated_ctr, offline_lift, dm_ctr;
  double supported_share = 0;
  std::vector<double> examination;
  double served_diversity = 0, shadow_diversity = 0, diversity_gain = 0;  // gain: shadow / served - 1
  double served_ild = 0, shadow_ild = 0;
  // Diagnostic: the same estimator over the ramp's control lists (the shadow model beside the
  // control arm during the ramp), so offline and online cover the same period and users.
  int64_t same_period_lists = 0;
  Interval3 same_period_lift;
  double same_period_deviation = 0;
  // Diagnostic: overlap@10 (Jaccard) of the shadow model's list with the treatment's served list on
  // the ramp's treatment requests: whether the policy estimated offline is the policy ramped.
  double shadow_treatment_overlap = 0;
  // Ramp (online).
  int64_t control_lists = 0, treatment_lists = 0, control_users = 0, treatment_users = 0;
  double control_ctr = 0, treatment_ctr = 0;
  Interval3 online_lift;
  double deviation = 0;  // |offline - online| / |online|
  double seconds = 0;
};

struct OfflineOnline {
  std::vector<OfflineOnlineRun> runs;
  // Means over seeds.
  double offline_lift = 0, online_lift = 0, deviation = 0, diversity_gain = 0, max_deviation = 0;
  double deviation_of_means = 0;  // |mean offline - mean online| / |mean online|
  std::string command;  // set by the caller, printed under the Markdown table
};

// Errors: kInvalidArgument for no seeds, fewer than 100 requests, or an experiment without two
// arms, a shadow model and a shadow phase followed by a ramp; the demo's errors otherwise.
StatusOr<OfflineOnline> RunOfflineOnline(const OfflineOnlineOptions& options);
std::string OfflineOnlineJson(const OfflineOnline& r);
// The fragment docs/paper.md splices between its generated:offline-online markers: the paper's
// figures beside ours (per seed and mean) and the command.
std::string OfflineOnlineMarkdown(const OfflineOnline& r);

}  // namespace steward::app
