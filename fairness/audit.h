// `steward audit --db`: governance audits of stored exposures (issue #11). Per experiment and arm
// (and the shadow side), every metric of docs/metrics.md "Governance metrics" with a bootstrap
// interval over users, per-window series, and the checks the experiment's `audits:` section
// declares (pass / fail / insufficient_data). One implementation: the CLI, the rollout gate
// (serving/rollout_driver.h), the demo's reviewer and the demo summary all call it.
//
// Cost: one read of the experiment's exposures and clicks (request id order), then
// O(rows + bootstrap x (users x (groups + categories) + distinct user-item pairs)).
// Thread safety: none needed; it reads through the caller's connection.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "common/status.h"
#include "experiment/experiment_config.h"
#include "storage/database.h"
#include "storage/queries.h"

namespace steward::fairness {

// Recorded with every reviewer sign-off; bump it when a definition in docs/metrics.md changes.
inline constexpr const char* kDefinitionsVersion = "steward-fairness-1";

struct AuditOptions {
  int64_t window_ms = 86'400'000;  // Default: 1d of event time
  int bootstrap = 200;             // replicates; 0: no intervals (both bounds = the value). Default: 200
  uint64_t seed = 1;               // Default: 1
  int max_pairs = 2000;            // user pairs sampled for homogenization. Default: 2000
  // `item_id,group` CSV; Default "": the catalog snapshot's provider tiers (head, mid, tail).
  std::string item_groups_file;
  // `user_id,group` CSV (user_id as sent to Steward); Default "": the attributes recorded with
  // exposures, each attribute a dimension, plus their intersection.
  std::string user_groups_file;
  // A safety policy (safety/policy.h) whose broken rules are counted per side
  // (policy_violation_share and one share per rule). Default "": none.
  std::string policy_file;
  int64_t until_ms = INT64_MAX;  // audit exposures with ts_ms < until_ms. Default: all
  int64_t computed_at_ms = 0;    // when the audit is computed (the caller's clock), recorded in the report
  bool shadow = true;            // audit the shadow model's lists as one more side. Default: true
  // The stored arm name of lists served to users outside the experiment's coverage
  // (serving::kExcludedArm; the first arm's model serves them). When set and such lists exist, they
  // are audited as one more side, reported, never gating. Default: "" (not audited).
  std::string excluded_arm;
  // Called with (exposures read, total) while reading; for a progress line. Default: none.
  std::function<void(uint64_t, uint64_t)> progress;
};

struct Figure {
  double value = 0.0, ci_low = 0.0, ci_high = 0.0;
  bool defined = true;  // false: not computable for this side (e.g. clicks of the shadow side)
};

enum class CheckStatus { kPass, kFail, kInsufficientData };
const char* CheckStatusName(CheckStatus s);  // "pass", "fail", "insufficient_data"

struct AuditCheck {
  std::string key;     // the `audits:` key
  std::string metric;
  experiment::AuditBound bound = experiment::AuditBound::kMax;
  double threshold = 0.0;
  Figure figure;
  CheckStatus status = CheckStatus::kInsufficientData;
  std::string note;  // why insufficient_data
};

struct ArmAudit {
  std::string name;
  bool treatment = false;  // an arm after the first: the ramp's gate considers these
  bool shadow = false;     // the shadow model's lists
  bool excluded = false;   // lists served outside the experiment (AuditOptions::excluded_arm)
  int64_t exposures = 0, users = 0;
  std::map<std::string, Figure> metrics;
  std::vector<std::string> item_groups;
  std::vector<Figure> exposure_share;
  std::vector<double> target_share, merit_share;
  // dimension -> group -> (ctr, lists)
  std::map<std::string, std::map<std::string, std::pair<double, int64_t>>> user_groups;
  std::vector<double> item_exposure_sorted;  // per catalog item, ascending (the Lorenz curve)
  std::map<std::string, int64_t> review_labels;  // label -> lists of this arm reviewers gave it
  std::vector<AuditCheck> checks;
};

struct WindowAudit {
  std::string arm;
  int64_t start_ms = 0, end_ms = 0;
  std::map<std::string, double> metrics;  // exposures, users, ctr, exposure_disparity, gini, ...
};

struct ExperimentAudit {
  std::string name;
  int64_t from_ms = 0, to_ms = 0;  // event time of the first and last audited exposure
  int64_t computed_at_ms = 0;
  int64_t outside_catalog = 0;     // served items missing from the catalog snapshot (not audited)
  std::string item_grouping, user_grouping;
  std::string policy_reason;       // the safety policy checked (AuditOptions::policy_file); "" for none
  experiment::AuditsConfig audits;
  std::vector<ArmAudit> arms;
  std::vector<WindowAudit> windows;
  // No treatment check failed (checks of the first arm and the shadow side are reported, not gating).
  bool passed = true;
  std::vector<std::string> failures;  // "treatment: aplt 0.04 < 0.1", one per failing treatment check
};

// Audits `config`'s experiment. Errors: kInvalidArgument for a bad groups file (naming line and
// column) or options out of range; kFailedPrecondition when the database has no catalog snapshot.
StatusOr<ExperimentAudit> AuditExperiment(storage::Database& db, const experiment::ExperimentConfig& config,
                                          const AuditOptions& options);

// Human review of served lists (paper section 5.2): a seeded random sample of an experiment's
// lists with what a reviewer needs to judge them, and the labels reviewers gave.
inline constexpr const char* kReviewLabels[] = {"ok", "concern", "harmful"};
// Errors (kInvalidArgument) name the allowed labels.
Status CheckReviewLabel(const std::string& label);

struct ReviewItem {
  int32_t position = 0;
  int64_t item_id = 0;
  int category = 0;
  std::string group;       // item group (provider tier or --item-groups)
  double popularity = 0.0;
  bool long_tail = false;  // outside the short head
  bool clicked = false;
  double risk = -1.0;      // the safety screen's risk score at serving (else the catalog's); < 0: none
};
struct ReviewSample {
  int64_t request_id = 0, ts_ms = 0;
  std::string user_key, arm;
  std::vector<ReviewItem> items;
  std::vector<std::string> labels;      // "actor: label (note)" given so far
  std::string safety;                   // the safety screen's stored record (JSON); "" when none ran
};
// `n` lists drawn uniformly without replacement (all when fewer), seeded, in request id order.
// Errors: kInvalidArgument for n < 1; kFailedPrecondition without a catalog snapshot.
StatusOr<std::vector<ReviewSample>> DrawReviewSample(storage::Database& db, const experiment::ExperimentConfig& config, int n,
                                                    uint64_t seed, const AuditOptions& options);
// {"experiment", "seed", "samples": [{"request_id", "ts_ms", "user", "arm", "items": [{"position",
//  "item_id", "category", "group", "popularity", "long_tail", "clicked", "risk"}], "labels", "safety"}]}
// ("risk" null when no scorer ran; "safety" the stored record or null)
std::string ReviewSampleJson(const std::string& experiment, uint64_t seed, const std::vector<ReviewSample>& samples);
// Stores a reviewer's label of a served list and appends "audit.label" to the audit log, in one
// transaction. Errors: kInvalidArgument for an unknown label or an empty actor; kNotFound for a
// request id no list has.
Status RecordReviewLabel(storage::Database& db, const storage::ReviewLabel& label);

// {"experiments": [...]} with the contract of docs/cli.md (`steward audit --json`).
std::string AuditReportJson(const std::vector<ExperimentAudit>& audits, const AuditOptions& options);
// One experiment's report as JSON (what a reviewer signs off), and its SHA-256 (hex).
std::string ExperimentAuditJson(const ExperimentAudit& audit, const AuditOptions& options);
std::string ExperimentAuditHash(const ExperimentAudit& audit, const AuditOptions& options);
// A Markdown report; `charts`: link the PNGs WriteAuditFiles draws.
std::string AuditReportMarkdown(const std::vector<ExperimentAudit>& audits, bool charts = false);
std::string AuditReportHtml(const std::vector<ExperimentAudit>& audits);
// Writes report.json, report.md, report.html and, per experiment, <name>-exposure.png (exposure
// share by item group per arm vs the catalog share), <name>-disparity.png (exposure disparity per
// window), <name>-lorenz.png (Lorenz curves of item exposure) and <name>-feedback.png (diversity
// index and homogenization per window) into `dir`, creating it. Errors: kIoError naming the file.
Status WriteAuditFiles(const std::vector<ExperimentAudit>& audits, const AuditOptions& options, const std::string& dir);

}  // namespace steward::fairness
