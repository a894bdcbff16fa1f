// Experiment definitions as files (YAML; JSON accepted). Validated on load: every error names the
// file, the field and the fix. See docs/experiments.md for the format.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/config.h"
#include "common/status.h"

namespace steward::experiment {

struct ArmConfig {
  std::string name;
  std::string model;  // recommender that serves this arm (see models/registry.h)
  double weight = 0.0;
};

struct NamespaceConfig {
  std::string name;
  double start = 0.0;
  double end = 1.0;
};

struct ExperimentConfig {
  std::string name;
  std::string seed;                       // Default: name
  std::string hash_attribute = "user_id";
  int hash_version = 2;                   // 1 or 2. Default: 2
  double coverage = 1.0;                  // share of eligible users in the experiment. Default: 1
  std::vector<ArmConfig> arms;            // at least two; weights sum to 1
  std::optional<NamespaceConfig> namespace_;
  std::string shadow_model;               // model run in shadow beside the served one; "" for none
  std::string source_json;                // the validated definition, stored with each version
};

StatusOr<ExperimentConfig> ParseExperimentConfig(const ConfigNode& root);
StatusOr<ExperimentConfig> LoadExperimentConfig(const std::string& path);

}  // namespace steward::experiment
