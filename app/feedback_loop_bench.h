// `steward bench feedback-loop`: feedback-loop dampening measured in the simulator (issue #12,
// paper 5.3). For each seed, the same world is served for `days` by each variant: the popularity
// recommender (the loop at its strongest), the production baseline, the hybrid with all its
// dampening, the hybrid without each mechanism (exploration share, per-session exploration cap,
// diversity = MMR and the per-category cap) and without all three, and the hybrid with IPS-weighted
// or balanced retraining of its embeddings (models/retrain.h). Every run reports the feedback-loop
// monitor's signals per window (`steward simulate --json`: homogenization, exposure Gini); the
// result is a Markdown fragment for docs/paper.md (means with Student-t 95% intervals over seeds,
// per-seed values, the command) and an optional PNG of homogenization over time.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "app/seed_summary.h"
#include "common/status.h"

namespace steward::app {

// One arm of the ablation: a policy, and for the hybrid its dampening and retraining modes
// (SimulateOptions::dampening, ::retrain).
struct FeedbackVariant {
  std::string name;  // e.g. "hybrid-no-diversity"
  std::string policy, dampening = "full", retrain = "plain";
};
// The variants by name: popularity, baseline, hybrid (= full), hybrid-none, hybrid-no-exploration,
// hybrid-no-session-cap, hybrid-no-diversity, hybrid-ips, hybrid-balanced. Errors name the
// unknown variant.
StatusOr<std::vector<FeedbackVariant>> ParseFeedbackVariants(const std::vector<std::string>& names);
const std::vector<std::string>& FeedbackVariantNames();

struct FeedbackLoopOptions {
  std::vector<uint64_t> seeds = {1, 2, 3};  // Default: 1, 2, 3
  std::vector<std::string> variants = FeedbackVariantNames();  // Default: all nine
  int users = 200;       // Default: 200
  int days = 60;         // Default: 60
  int window_days = 1;   // Default: 1
  std::string data_dir;
  std::string chart_path;     // PNG of mean homogenization per window and variant; "" for none
  std::string command_line;   // printed in the Markdown fragment
  bool progress = true;
  const std::atomic<bool>* cancel = nullptr;
};

struct FeedbackRun {
  uint64_t seed = 0;
  std::string variant;
  int64_t requests = 0;
  double ctr = 0.0, coverage = 0.0, diversity_index = 0.0;
  std::vector<double> homogenization, exposure_gini;  // per window
  double homogenization_slope = 0.0;  // per day, OLS over the windows (the audit's definition)
  double seconds = 0.0;
};

struct FeedbackLoopResult {
  FeedbackLoopOptions options;
  std::vector<FeedbackRun> runs;  // per seed, per variant in order
  struct Variant {
    std::string name;
    SeedSummary homogenization_first, homogenization_last, homogenization_slope, gini_first, gini_last, ctr, coverage;
    std::vector<SeedSummary> homogenization_series;  // per window, over seeds
  };
  std::vector<Variant> variants;
};

StatusOr<FeedbackLoopResult> RunFeedbackLoop(const FeedbackLoopOptions& options);
std::string FeedbackLoopJson(const FeedbackLoopResult& r);
std::string FeedbackLoopMarkdown(const FeedbackLoopResult& r);

}  // namespace steward::app
