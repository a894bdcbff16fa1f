#include "experiment/experiment_config.h"

#include <cmath>
#include <set>

namespace steward::experiment {

StatusOr<ExperimentConfig> ParseExperimentConfig(const ConfigNode& root) {
  if (!root.IsMap()) return root.Error("must be a map of experiment fields", "start the file with `name: my-experiment`");
  RETURN_IF_ERROR(root.RejectUnknownKeys(
      {"name", "seed", "hash_attribute", "hash_version", "coverage", "arms", "namespace", "shadow", "description"}));
  ExperimentConfig c;
  ASSIGN_OR_RETURN(c.name, root.GetString("name"));
  if (c.name.empty()) return root.Error("'name' is empty", "give the experiment a name");
  ASSIGN_OR_RETURN(c.seed, root.GetString("seed", c.name));
  ASSIGN_OR_RETURN(c.hash_attribute, root.GetString("hash_attribute", std::string("user_id")));
  ASSIGN_OR_RETURN(int64_t version, root.GetInt("hash_version", 2));
  if (version != 1 && version != 2) {
    ASSIGN_OR_RETURN(ConfigNode node, root.Get("hash_version"));
    return node.Error("must be 1 or 2, got " + std::to_string(version), "use 2 (GrowthBook's unbiased hash) unless matching old assignments");
  }
  c.hash_version = static_cast<int>(version);
  ASSIGN_OR_RETURN(c.coverage, root.GetDouble("coverage", 1.0));
  if (c.coverage < 0.0 || c.coverage > 1.0) {
    ASSIGN_OR_RETURN(ConfigNode node, root.Get("coverage"));
    return node.Error("must be between 0 and 1, got " + std::to_string(c.coverage), "write a share such as 0.1 for 10%");
  }

  ASSIGN_OR_RETURN(ConfigNode arms, root.Get("arms"));
  if (!arms.IsSequence() || arms.size() < 2) {
    return arms.Error("needs a list of at least two arms", "list arms as `- {name: control, model: baseline, weight: 0.5}`");
  }
  std::set<std::string> names;
  double total = 0.0;
  for (size_t i = 0; i < arms.size(); ++i) {
    ConfigNode arm = arms.At(i);
    if (!arm.IsMap()) return arm.Error("must be a map", "write `{name: ..., model: ..., weight: ...}`");
    RETURN_IF_ERROR(arm.RejectUnknownKeys({"name", "model", "weight"}));
    ArmConfig a;
    ASSIGN_OR_RETURN(a.name, arm.GetString("name"));
    ASSIGN_OR_RETURN(a.model, arm.GetString("model"));
    ASSIGN_OR_RETURN(a.weight, arm.GetDouble("weight", 1.0 / static_cast<double>(arms.size())));
    if (a.name.empty()) return arm.Error("has an empty name", "name the arm (e.g. control)");
    if (!names.insert(a.name).second) return arm.Error("repeats the arm name '" + a.name + "'", "give each arm its own name");
    if (a.weight < 0.0) return arm.Error("has a negative weight", "use a weight between 0 and 1");
    total += a.weight;
    c.arms.push_back(std::move(a));
  }
  if (std::fabs(total - 1.0) > 0.01) {
    return arms.Error("weights add up to " + std::to_string(total), "make the arm weights add up to 1");
  }

  if (auto ns = root.Find("namespace")) {
    RETURN_IF_ERROR(ns->RejectUnknownKeys({"name", "range"}));
    NamespaceConfig n;
    ASSIGN_OR_RETURN(n.name, ns->GetString("name"));
    ASSIGN_OR_RETURN(ConfigNode range, ns->Get("range"));
    if (!range.IsSequence() || range.size() != 2) return range.Error("must be [start, end]", "write e.g. `range: [0, 0.5]`");
    ASSIGN_OR_RETURN(n.start, range.At(0).AsDouble());
    ASSIGN_OR_RETURN(n.end, range.At(1).AsDouble());
    if (!(n.start >= 0.0 && n.start < n.end && n.end <= 1.0)) {
      return range.Error("must satisfy 0 <= start < end <= 1", "write e.g. `range: [0, 0.5]`");
    }
    c.namespace_ = n;
  }
  ASSIGN_OR_RETURN(c.shadow_model, root.GetString("shadow", std::string()));
  c.source_json = root.ToJson();
  return c;
}

StatusOr<ExperimentConfig> LoadExperimentConfig(const std::string& path) {
  ASSIGN_OR_RETURN(ConfigNode root, ConfigNode::LoadFile(path));
  return ParseExperimentConfig(root);
}

}  // namespace steward::experiment
