// `steward bench cold-start`: the paper's two cold-start figures (paper 4.2, online testing: interactions
// for a new user to reach established users' quality, 28 -> 9; days for a new item to reach a
// significant signal, 4.8 -> 1.7) measured in the simulator, baseline against hybrid, at a traffic
// level where they can be seen (docs/simulator.md "Cold-start world"): more requests per user per
// day, a smaller catalog (every n-th book) so each new item gets more impressions. For each seed
// the same world is served by the baseline and by the hybrid (`steward simulate` with the world
// flags); the result is a Markdown fragment for docs/paper.md (means with Student-t 95% intervals
// over seeds, per-seed values, the command).
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "app/seed_summary.h"
#include "common/status.h"

namespace steward::app {

struct ColdStartOptions {
  std::vector<uint64_t> seeds = {1, 2, 3};  // Default: 1, 2, 3
  int users = 200;                 // Default: 200
  int days = 14;                   // Default: 14
  double rate = 10.0;              // requests per user per day. Default: 10
  int catalog_items = 300;         // Default: 300 (1 book in 33)
  double new_item_share = 0.05;    // Default: 0.05
  int quality_horizon = 60;        // new users' requests measured. Default: 60
  std::string data_dir;
  std::string command_line;  // printed in the Markdown fragment
  bool progress = true;
  const std::atomic<bool>* cancel = nullptr;
};

struct ColdStartRun {
  uint64_t seed = 0;
  std::string policy;
  int64_t requests = 0;
  double ctr = 0.0;
  double interactions_to_quality = 0.0;  // censored at quality_horizon + 1
  double days_to_signal = 0.0;           // censored at the end of the run
  int64_t new_items = 0, new_items_with_signal = 0;
  double new_item_impressions = 0.0;
  double established_quality = 0.0;
  std::vector<double> new_user_quality_curve;
  double seconds = 0.0;
};

struct ColdStartResult {
  ColdStartOptions options;
  std::vector<ColdStartRun> runs;  // per seed: baseline, hybrid
  struct Policy {
    std::string name;
    SeedSummary interactions_to_quality, days_to_signal, signal_share, impressions, established_quality, ctr;
  };
  std::vector<Policy> policies;  // baseline, hybrid
};

StatusOr<ColdStartResult> RunColdStart(const ColdStartOptions& options);
std::string ColdStartJson(const ColdStartResult& r);
std::string ColdStartMarkdown(const ColdStartResult& r);

}  // namespace steward::app
