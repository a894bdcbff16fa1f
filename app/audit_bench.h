// `steward bench audit`: the time of a governance audit (fairness/audit.h) over a database of N
// synthetic exposures written through the production event writer: 10,000 catalog items (12
// categories, provider tiers, Zipf popularity), users with two attributes, 10 items per list,
// clicks, and a shadow list on every request. The database is kept for `steward audit --db`.
#pragma once

#include <cstdint>
#include <string>

#include "common/status.h"

namespace steward::app {

struct AuditBenchOptions {
  int64_t exposures = 1'000'000;
  std::string db_path;       // required: where the database is written (replaced)
  std::string data_dir;      // for data/experiments/demo.yaml; resolved by ResolveDataDir when empty
  int bootstrap = 200;       // replicates of the timed audit. Default: 200
  uint64_t seed = 1;
  // Store a safety screen record with every list (risk per position, two blocks, a demotion now
  // and then), as `serve --risk-model` does, so the audit also parses and sums it. Default: false
  bool screened = false;
  bool progress = true;
};

struct AuditBenchResult {
  int64_t exposures = 0;
  double generate_seconds = 0.0;  // writing the database (not part of the audit's figure)
  double audit_seconds = 0.0;     // AuditExperiment: read, per-user sums, bootstrap, windows
  int64_t users = 0;
  bool passed = false;
};

StatusOr<AuditBenchResult> RunAuditBench(const AuditBenchOptions& options);

}  // namespace steward::app
