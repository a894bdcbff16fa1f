#include "experiment/audit_config.h"

#include <cmath>
#include <nlohmann/json.hpp>

#include "common/json.h"

namespace steward::experiment {
namespace {

struct KeySpec {
  const char* key;
  const char* metric;
  AuditBound bound;
  bool share;  // a value in [0, 1]
};

// One row per accepted key. Metrics are defined in docs/metrics.md.
constexpr KeySpec kKeys[] = {
    {"exposure_disparity_max", "exposure_disparity", AuditBound::kMax, true},
    {"exposure_ratio_min", "exposure_ratio", AuditBound::kMin, true},
    {"merit_disparity_max", "merit_disparity", AuditBound::kMax, true},
    {"user_ctr_difference_max", "user_ctr_difference", AuditBound::kMax, false},
    {"user_ctr_ratio_min", "user_ctr_ratio", AuditBound::kMin, true},
    {"min_categories_per_user_week", "categories_per_user_week", AuditBound::kMin, false},
    {"categories_per_session_min", "categories_per_session", AuditBound::kMin, false},
    {"aplt_min", "aplt", AuditBound::kMin, true},
    {"aclt_min", "aclt", AuditBound::kMin, false},
    {"arp_max", "arp", AuditBound::kMax, false},
    {"pop_rsp_max", "pop_rsp", AuditBound::kMax, false},
    {"gini_max", "gini", AuditBound::kMax, true},
    {"gini_drift_max", "gini_drift", AuditBound::kMax, false},
    {"coverage_min", "coverage", AuditBound::kMin, true},
    {"diversity_index_min", "diversity_index", AuditBound::kMin, true},
    {"novelty_min", "novelty", AuditBound::kMin, false},
    {"ild_min", "ild", AuditBound::kMin, true},
    {"exploration_share_min", "exploration_share", AuditBound::kMin, true},
    {"consecutive_list_similarity_max", "consecutive_list_similarity", AuditBound::kMax, true},
    {"cross_user_similarity_max", "cross_user_similarity", AuditBound::kMax, true},
    {"homogenization_max", "homogenization", AuditBound::kMax, true},
    {"policy_violations_max", "policy_violation_share", AuditBound::kMax, true},
    {"risk_mean_max", "risk_mean", AuditBound::kMax, true},
    {"risk_disparity_max", "risk_disparity", AuditBound::kMax, true},
};
constexpr double kDefaultHomogenizationSlopeMax = 0.01;  // per day

}  // namespace

std::vector<std::string> AuditThresholdKeys() {
  std::vector<std::string> keys;
  for (const KeySpec& k : kKeys) keys.push_back(k.key);
  keys.push_back("homogenization_trend");
  keys.push_back("homogenization_slope_max");
  return keys;
}

StatusOr<AuditsConfig> ParseAuditsConfig(const ConfigNode& node) {
  if (!node.IsMap()) return node.Error("must be a map of thresholds", "write e.g. `audits: {exposure_disparity_max: 0.05}`");
  AuditsConfig c;
  c.declared = true;
  std::string trend;
  double slope_max = kDefaultHomogenizationSlopeMax;
  bool slope_given = false;
  for (const std::string& key : node.Keys()) {
    ASSIGN_OR_RETURN(ConfigNode value, node.Get(key));
    if (key == "on_fail") {
      ASSIGN_OR_RETURN(std::string v, value.AsString());
      if (v == "hold") c.on_fail = AuditOnFail::kHold;
      else if (v == "report") c.on_fail = AuditOnFail::kReport;
      else return value.Error("must be 'hold' or 'report', got \"" + v + "\"", "write `on_fail: hold` to hold the ramp while a check fails");
      continue;
    }
    if (key == "min_users") {
      ASSIGN_OR_RETURN(c.min_users, value.AsInt());
      if (c.min_users < 1 || c.min_users > 1000000000) {
        return value.Error("must be between 1 and 1000000000", "write how many users an arm needs before its checks count, e.g. 100");
      }
      continue;
    }
    if (key == "reviewer_role") {
      ASSIGN_OR_RETURN(c.reviewer_role, value.AsString());
      if (c.reviewer_role.empty()) return value.Error("is empty", "name the approval role that signs off, e.g. rai-reviewer");
      continue;
    }
    if (key == "homogenization_trend") {
      ASSIGN_OR_RETURN(trend, value.AsString());
      if (trend != "flat" && trend != "any") {
        return value.Error("must be 'flat' or 'any', got \"" + trend + "\"", "write `homogenization_trend: flat` to fail a rising trend");
      }
      continue;
    }
    const KeySpec* spec = nullptr;
    for (const KeySpec& k : kKeys) {
      if (key == k.key) spec = &k;
    }
    if (!spec && key != "homogenization_slope_max") {
      std::string best;
      size_t best_distance = SIZE_MAX;
      for (const std::string& known : AuditThresholdKeys()) {
        const size_t d = EditDistance(key, known);
        if (d < best_distance) best_distance = d, best = known;
      }
      for (const char* other : {"on_fail", "min_users", "reviewer_role"}) {
        const size_t d = EditDistance(key, other);
        if (d < best_distance) best_distance = d, best = other;
      }
      return value.Error("is not an audit threshold", "did you mean '" + best + "'? (docs/experiments.md lists them)");
    }
    ASSIGN_OR_RETURN(double v, value.AsDouble());
    if (!std::isfinite(v)) return value.Error("must be a finite number", "write e.g. 0.05");
    if (spec && spec->share && (v < 0.0 || v > 1.0)) return value.Error("is a share and must be between 0 and 1", "write e.g. 0.05 for 5%");
    if (v < 0.0) return value.Error("must be zero or more", "write a non-negative bound");
    if (!spec) {
      slope_max = v;
      slope_given = true;
      continue;
    }
    c.thresholds.push_back({key, spec->metric, spec->bound, v});
  }
  if (trend == "flat") {
    c.thresholds.push_back({"homogenization_trend", "homogenization_slope", AuditBound::kMax, slope_max});
  } else if (slope_given) {
    return node.Get("homogenization_slope_max")->Error("applies only with `homogenization_trend: flat`",
                                                       "add `homogenization_trend: flat` or remove it");
  }
  return c;
}

std::string AuditsConfigJson(const AuditsConfig& c) {
  nlohmann::json thresholds = nlohmann::json::array();
  for (const AuditThreshold& t : c.thresholds) {
    thresholds.push_back({{"key", t.key}, {"metric", t.metric}, {"bound", t.bound == AuditBound::kMax ? "max" : "min"}, {"value", t.value}});
  }
  return DumpJson(nlohmann::json{{"thresholds", thresholds},
                                 {"on_fail", c.on_fail == AuditOnFail::kHold ? "hold" : "report"},
                                 {"min_users", c.min_users},
                                 {"reviewer_role", c.reviewer_role}});
}

}  // namespace steward::experiment
