// ExperimentStore: experiments, their lifecycle state, and every version of their configuration.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"
#include "storage/database.h"

namespace steward::storage {

struct ExperimentRecord {
  std::string name;
  std::string state;
  int64_t current_version = 0;
  int64_t created_at_ms = 0;
  int64_t updated_at_ms = 0;
};

struct ExperimentVersion {
  std::string name;
  int64_t version = 0;
  int64_t created_at_ms = 0;
  std::string actor;
  std::string config_json;
};

class ExperimentStore {
 public:
  explicit ExperimentStore(Database& db) : db_(db) {}

  // Saves `config_json` as the next version of `name` (creating the experiment in `initial_state`
  // if new). When the config equals the current version, nothing is written and that version is
  // returned, so re-applying a file is idempotent.
  // With `make_current` false the version is saved but the current one stays (a proposal awaiting
  // approval; Activate() makes it current).
  StatusOr<int64_t> SaveVersion(const std::string& name, const std::string& config_json, const std::string& actor,
                                int64_t ts_ms, const std::string& initial_state = "draft", bool make_current = true);
  // Makes a saved version the current one. Errors: kNotFound for an unknown name or version.
  Status Activate(const std::string& name, int64_t version, int64_t ts_ms);
  Status SetState(const std::string& name, const std::string& state, int64_t ts_ms);
  StatusOr<ExperimentRecord> Get(const std::string& name);
  StatusOr<std::vector<ExperimentRecord>> List();
  StatusOr<std::vector<ExperimentVersion>> Versions(const std::string& name);

 private:
  Database& db_;
};

}  // namespace steward::storage
