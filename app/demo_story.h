// The demo's story, read back from the database after the run: what happened at each stage of
// taking the hybrid to production (shadow, ramp, review, outcome) and where to look for each.
// Everything comes from what was stored (the audit log, exposures, clicks, shadow lists), never from
// the run's counters, so the story of a database is the same whoever reads it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"
#include "experiment/experiment_config.h"
#include "models/recommender.h"
#include "storage/database.h"

namespace steward::app {

struct DemoStage {
  std::string name;    // "shadow", "ramp", "review", "outcome"
  std::string status;  // "done", "rolled_back", "waiting", "not_reached", "skipped"
  int64_t from_ms = 0, until_ms = 0;  // event time; 0 when the stage did not start
  std::vector<std::string> lines;     // what happened, one sentence each
  std::vector<std::string> look;      // where to look: commands and files
};

struct DemoStoryInputs {
  std::string db;          // the database path, for the commands in `look`
  std::string report_dir;  // where the run wrote its report files; "" when none
  int64_t start_ms = 0;    // the run's first event time (day 0 of the story)
  int64_t end_ms = 0;      // the run's last event time
};

// Reads the story of `config`'s experiment. `catalog` gives categories and provider groups by
// catalog index (items are stored by id). Errors: storage errors.
StatusOr<std::vector<DemoStage>> ReadDemoStory(storage::Database& db, const experiment::ExperimentConfig& config,
                                               const models::Catalog& catalog, const DemoStoryInputs& inputs);

std::string DemoStoryText(const std::vector<DemoStage>& stages);

}  // namespace steward::app
