// RolloutStore: the controller's persisted state (one JSON document per experiment, written in the
// same transaction as the experiment's state column), global flags such as the kill switch, and
// sticky assignments keyed by bucket version.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/status.h"
#include "storage/database.h"

namespace steward::storage {

class RolloutStore {
 public:
  explicit RolloutStore(Database& db) : db_(db) {}

  // Saves the status document and the experiment's state atomically; durable on return.
  Status Save(const std::string& name, const std::string& state, const std::string& status_json, int64_t ts_ms);
  // nullopt when the experiment has no rollout yet.
  StatusOr<std::optional<std::string>> Load(const std::string& name);

  Status SetFlag(const std::string& key, const std::string& value, const std::string& actor, int64_t ts_ms);
  StatusOr<std::optional<std::string>> GetFlag(const std::string& key);

  // Sticky assignments: (user id, arm index) for an experiment and bucket version.
  StatusOr<std::vector<std::pair<std::string, int>>> LoadSticky(const std::string& experiment, int bucket_version);
  // Inserts new assignments; existing ones are kept (a user never moves within a bucket version).
  Status SaveSticky(const std::string& experiment, int bucket_version, const std::vector<std::pair<std::string, int>>& rows);

 private:
  Database& db_;
};

}  // namespace steward::storage
