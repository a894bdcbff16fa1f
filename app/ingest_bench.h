// `steward bench ingest`: durable ingest throughput of feedback events through the production
// path (EventWriter: bounded queue, group commit, WAL). Reported figures cover submit of the
// first event to the commit of the last.
#pragma once

#include <cstdint>
#include <string>

#include "common/status.h"
#include "storage/database.h"

namespace steward::app {

struct IngestBenchOptions {
  int64_t events = 1'000'000;
  std::string db_path;  // Default: a fresh file under the temp directory, removed afterwards
  storage::SyncMode sync = storage::SyncMode::kFull;
  int producer_batch = 1024;  // events per SubmitBatch call
  uint64_t seed = 1;
  bool progress = true;
};

struct IngestBenchResult {
  int64_t events = 0;
  double seconds = 0.0;
  double events_per_sec = 0.0;
  int64_t rows_in_db = 0;  // counted after the run, to prove the events landed
  uint64_t batches = 0;
  uint64_t producer_waits = 0;
};

StatusOr<IngestBenchResult> RunIngestBench(const IngestBenchOptions& options);

}  // namespace steward::app
