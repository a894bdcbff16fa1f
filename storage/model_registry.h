// ModelRegistry: every trained model version with its parameters, offline metrics and artifact.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"
#include "storage/database.h"

namespace steward::storage {

struct ModelRecord {
  std::string name;
  int64_t version = 0;  // assigned by Register: 1 + the latest version of `name`
  std::string kind;     // "baseline", "popularity", "hybrid", ...
  int64_t created_at_ms = 0;
  std::string params_json = "{}";
  std::string metrics_json = "{}";
  std::string artifact;  // serialized weights (may be empty)
};

class ModelRegistry {
 public:
  explicit ModelRegistry(Database& db) : db_(db) {}
  // Stores the record as the next version of its name; returns that version.
  StatusOr<int64_t> Register(ModelRecord record);
  StatusOr<ModelRecord> Latest(const std::string& name);
  // All versions of all models (artifacts omitted), newest first.
  StatusOr<std::vector<ModelRecord>> List();

 private:
  Database& db_;
};

}  // namespace steward::storage
