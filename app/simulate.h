// `steward simulate`: one policy serves every user of the simulated world for D days; reports the
// paper's quality metrics (docs/metrics.md, docs/hybrid.md).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "models/exposure_constraint.h"
#include "models/recommender.h"

namespace steward::app {

struct SimulateOptions {
  std::string policy = "hybrid";  // baseline | hybrid | popularity | baseline-genre
  int users = 2000;
  int days = 14;
  uint64_t seed = 42;
  double requests_per_user_day = 1.0;
  int k = 10;
  std::string data_dir;
  bool progress = true;
  // Exposure constraint of the hybrid: "" (none) or "provider" (the catalog's provider groups,
  // targets = their catalog shares unless `fairness_targets` gives them, one per group).
  std::string fairness_constraint;
  double fairness_tolerance = 0.03;  // Default: 0.03
  std::vector<double> fairness_targets;  // Default: empty = catalog shares
  // With a constraint: writes the constraint's per-request evidence here, one JSON object a line
  // (docs/cli.md). Default: "" (none).
  std::string constraint_log;
  // Feedback-loop ablation (issue #12): which of the hybrid's dampening mechanisms are on ("full",
  // "none", "no-exploration", "no-session-cap", "no-diversity"; app/model_factory.h) and how its
  // embedding fine-tuning weights the logged pairs ("plain", "ips", "balanced"; models/retrain.h).
  // Only the hybrid has them: another policy with a value other than the default is an error.
  std::string dampening = "full";  // Default: full
  std::string retrain = "plain";   // Default: plain
  // Length of the windows of the feedback-loop series (homogenization, exposure Gini), in days.
  int window_days = 1;  // Default: 1
  // User pairs sampled (once, with the seed) among the initial users for homogenization.
  int homogenization_pairs = 2000;  // Default: 2000
  // World size for cold start at a visible traffic level (docs/simulator.md): keep every n-th
  // book so `catalog_items` remain (0 = the whole catalog of 10,000), and the share of the kept
  // books (the newest) released during the run. Default: 0 and 0.05.
  int catalog_items = 0;
  double new_item_share = 0.05;
  // New users' requests measured for the quality curve and "interactions to quality" (the answer
  // is censored at this + 1). Default: 30.
  int quality_horizon = 30;
  const std::atomic<bool>* cancel = nullptr;
  // Diagnostics and tests: every request handed to the model (serving::PipelineOptions).
  std::function<void(const models::RecommendRequest&)> on_recommend;
};

struct SimulateResult {
  std::string policy;
  int64_t requests = 0;
  int64_t clicks = 0;
  double ctr = 0.0;                    // clicks per served list
  double diversity_index = 0.0;        // normalised category entropy of everything served
  double sequential_similarity = 0.0;  // mean cosine of consecutive lists to a user (true item vectors)
  double coverage = 0.0;
  double gini = 0.0;
  // Requests a new user sees before their lists reach 95% of established users' list quality
  // (expected clicks relative to the best possible list, from the world's true click model).
  double new_user_interactions_to_quality = 0.0;
  // Mean days from a new item's release to its 3rd click (censored at the end of the run).
  double new_item_days_to_signal = 0.0;
  int64_t new_items = 0, new_items_with_signal = 0;
  double new_item_impressions = 0;  // mean impressions per new item over the run
  int64_t new_item_clicks = 0;      // clicks on all new items
  double established_ctr = 0.0;
  double established_quality = 0.0;          // established users' mean list quality (second half)
  std::vector<double> new_user_quality_curve;  // new users' mean list quality at request 1, 2, ...
  int64_t embedding_versions = 0;  // hybrid: embedding models swapped in
  // hybrid: mean cosine of same-genre minus different-genre item pairs in the learned embeddings
  double embedding_genre_separation = 0.0;
  // Provider-group exposure (docs/metrics.md), with or without a constraint: position-weighted
  // exposure share per group (head, mid, tail), the target shares (the constraint's targets, or
  // the catalog shares), and max_g |share_g - target_g|.
  std::vector<std::string> provider_groups;
  std::vector<double> exposure_share;
  std::vector<double> target_share;
  double exposure_disparity = 0.0;
  // The constraint's final state and counters; set only with a constraint.
  std::optional<models::ExposureSnapshot> constraint;
  std::string constraint_groups;  // "provider"
  // Feedback loops (docs/metrics.md): per window of `window_days`, at its end, the mean Jaccard of
  // the cumulative clicked sets of the sampled user pairs (fairness::HomogenizationTracker) and the
  // Gini of cumulative item exposure (every catalog item, never shown = 0).
  int window_days = 1;
  int64_t homogenization_pairs = 0;  // pairs actually sampled
  std::vector<double> homogenization_series;
  std::vector<double> exposure_gini_series;
  std::string dampening = "full", retrain = "plain";
  int64_t catalog_items = 0;
  double seconds = 0.0;
};

StatusOr<SimulateResult> RunSimulation(const SimulateOptions& options);
std::string SimulateResultJson(const SimulateResult& r);

}  // namespace steward::app
