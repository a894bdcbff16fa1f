// `steward bench hybrid`: the hybrid against the production baseline in the default simulated
// world (docs/simulator.md), the paper's headline comparison (paper 4.2: CTR +12.8% online;
// diversity index 0.61 -> 0.78; sequential similarity 0.74 -> 0.63). For each seed the same world
// is served by the baseline and by the hybrid (`steward simulate`); the result is a Markdown
// fragment for docs/paper.md: the CTR ratio and each figure as mean [Student-t 95% interval] over
// seeds, per-seed values and the command.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "app/seed_summary.h"
#include "common/status.h"

namespace steward::app {

struct HybridBenchOptions {
  std::vector<uint64_t> seeds = {1, 2, 3};  // Default: 1, 2, 3
  int users = 2000;                         // Default: 2000 (the simulator's default world)
  int days = 14;                            // Default: 14
  std::string data_dir;
  std::string command_line;  // printed in the Markdown fragment
  bool progress = true;
  const std::atomic<bool>* cancel = nullptr;
};

struct HybridBenchRun {
  uint64_t seed = 0;
  std::string policy;  // "baseline" or "hybrid"
  int64_t requests = 0;
  double ctr = 0.0, diversity_index = 0.0, sequential_similarity = 0.0, coverage = 0.0, gini = 0.0;
  double seconds = 0.0;
};

struct HybridBenchResult {
  HybridBenchOptions options;
  std::vector<HybridBenchRun> runs;  // per seed: baseline, hybrid
  struct Policy {
    std::string name;
    SeedSummary ctr, diversity_index, sequential_similarity, coverage, gini;
  };
  std::vector<Policy> policies;  // baseline, hybrid
  SeedSummary ctr_ratio;         // hybrid CTR / baseline CTR on the same seed
};

StatusOr<HybridBenchResult> RunHybridBench(const HybridBenchOptions& options);
std::string HybridBenchJson(const HybridBenchResult& r);
std::string HybridBenchMarkdown(const HybridBenchResult& r);

}  // namespace steward::app
