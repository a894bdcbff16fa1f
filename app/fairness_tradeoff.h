// `steward bench fairness`: the hybrid's provider-group exposure constraint measured in the
// simulator (issue #12, paper 5.2). For each seed, the same world is served by the hybrid without
// the constraint and with it at each tolerance; every run reports CTR and the provider-group
// exposure disparity (docs/metrics.md). The result is the table of docs/paper.md and a PNG of the
// trade-off (CTR cost against disparity as the tolerance varies).
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"

namespace steward::app {

struct FairnessTradeoffOptions {
  std::vector<uint64_t> seeds = {1, 2, 3};                            // Default: 1, 2, 3
  std::vector<double> tolerances = {0.02, 0.05, 0.1, 0.2, 0.3, 0.5};  // Default: these six
  std::vector<double> targets;  // per provider group (head, mid, tail); Default: empty = catalog shares
  int users = 1000;             // Default: 1000
  int days = 14;                // Default: 14
  std::string data_dir;
  std::string chart_path;  // PNG of the trade-off; "" for none
  bool progress = true;
  const std::atomic<bool>* cancel = nullptr;
};

struct FairnessRun {
  uint64_t seed = 0;
  double tolerance = -1.0;  // -1: unconstrained
  int64_t requests = 0;
  double ctr = 0.0;
  double exposure_disparity = 0.0;
  std::vector<double> exposure_share;  // head, mid, tail
  double ctr_cost = 0.0;               // 1 - ctr / the same seed's unconstrained ctr (0 for the unconstrained run)
  int64_t lists_adjusted = 0;
  double seconds = 0.0;
};

struct FairnessTradeoff {
  std::vector<double> target_share;  // head, mid, tail
  std::vector<FairnessRun> runs;     // per seed: unconstrained, then each tolerance
  // Means over seeds, per setting (unconstrained first, then the tolerances in order).
  struct Mean {
    double tolerance = -1.0;
    double ctr = 0.0, exposure_disparity = 0.0, ctr_cost = 0.0;
    double max_disparity = 0.0, max_ctr_cost = 0.0;  // worst seed
  };
  std::vector<Mean> means;
};

StatusOr<FairnessTradeoff> RunFairnessTradeoff(const FairnessTradeoffOptions& options);
std::string FairnessTradeoffJson(const FairnessTradeoff& t);
// The Markdown of docs/paper.md: one row per setting (means over seeds and the worst seed), then
// the targets and one row per run.
std::string FairnessTradeoffMarkdown(const FairnessTradeoff& t);

}  // namespace steward::app
