// The `audits:` section of an experiment file (issue #11): governance thresholds checked by
// `steward audit` per arm, and what a failing check does to the ramp. Validated on load; every
// error names the field and the fix. Format: docs/experiments.md "Audits".
//
//   audits:
//     exposure_disparity_max: 0.05      # each key is <metric>_max or _min (one spelling below)
//     min_categories_per_user_week: 8
//     homogenization_trend: flat        # flat: the slope per day is at most homogenization_slope_max
//     aplt_min: 0.1
//     min_users: 100                    # an arm with fewer users is insufficient_data. Default: 100
//     on_fail: hold                     # hold the ramp while a treatment check fails. Default: report
//     reviewer_role: rai-reviewer       # the approval role that signs off with an audit. Default: rai-reviewer
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/config.h"
#include "common/status.h"

namespace steward::experiment {

enum class AuditBound { kMax, kMin };  // the metric must be at most / at least the value
enum class AuditOnFail { kReport, kHold };

struct AuditThreshold {
  std::string key;     // as written in the file, e.g. "exposure_disparity_max"
  std::string metric;  // the audited metric, e.g. "exposure_disparity" (docs/metrics.md)
  AuditBound bound = AuditBound::kMax;
  double value = 0.0;
};

struct AuditsConfig {
  bool declared = false;  // the file has an `audits:` section
  std::vector<AuditThreshold> thresholds;  // file order
  AuditOnFail on_fail = AuditOnFail::kReport;
  int64_t min_users = 100;
  std::string reviewer_role = "rai-reviewer";
};

// Errors (kInvalidArgument) name the field: an unknown key (with the closest known one), a value
// that is not a finite number, a share outside [0, 1], a negative count, an unknown trend or on_fail.
StatusOr<AuditsConfig> ParseAuditsConfig(const ConfigNode& node);

// The threshold keys `audits:` accepts, for documentation and tests.
std::vector<std::string> AuditThresholdKeys();

// {"thresholds": [{"key", "metric", "bound", "value"}], "on_fail", "min_users", "reviewer_role"}
std::string AuditsConfigJson(const AuditsConfig& config);

}  // namespace steward::experiment
