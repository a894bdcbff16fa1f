// RolloutDriver: the control loop of one experiment, as a library any process can run (the demo,
// the service, an operator's `steward serve`). It
//   - schedules analyses at the experiment's evaluation.interval of event time (anchored at the
//     last stored analysis, so a restarted process keeps the same grid),
//   - ends the shadow phase when `shadow: {min_duration, min_requests}` is met,
//   - evaluates guardrails and advances the ramp through the RolloutController (persisted and
//     audited before Tick returns),
//   - exposes "waiting for approval by role R" as a typed state, and asks an optional approver
//     (a driver-side actor: the demo's simulated reviewer; a person through the CLI, dashboard or
//     HTTP API otherwise),
//   - rebuilds its guardrail metrics from stored events when it opens, so a process killed mid-ramp
//     resumes at the same step with the same evidence.
// Metrics come from completed lists (ServingPipeline's on_list_complete → Record()).
//
// Thread safety: Record() may be called from any thread; everything else from one thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "experiment/experiment_config.h"
#include "experiment/metrics.h"
#include "experiment/rollout.h"
#include "fairness/audit.h"
#include "serving/controller.h"

namespace steward::storage {
class Database;
}  // namespace steward::storage

namespace steward::serving {

// The sign-off record of a governance audit (computed with `options`) under `audits`: the report's
// hash, the definitions' version, the thresholds, when it was computed, its verdict. One place for
// the control loop's reviewer and `steward audit sign-off`.
SignOff SignOffFor(const fairness::ExperimentAudit& audit, const fairness::AuditOptions& options,
                   const experiment::AuditsConfig& audits, SignOff::Decision decision, std::string actor, std::string reason);

struct Approval {
  std::string actor;
  std::string reason;
};

// A decision the loop made (also in the audit log).
struct DriverEvent {
  enum class Kind { kStarted, kShadowEnded, kAnalysis, kApproved };
  Kind kind = Kind::kAnalysis;
  int64_t at_ms = 0;
  experiment::Analysis analysis;  // kAnalysis
  std::string role;               // kApproved
};

// Where the rollout stands, typed.
struct DriverState {
  experiment::RolloutState state = experiment::RolloutState::kDraft;
  int step = -1;  // 0-based ramp step; -1 before the ramp
  double coverage = 0.0;
  std::optional<std::string> waiting_for_role;  // set while the next step waits for this role
  int64_t next_analysis_ms = 0;
  int64_t shadow_requests = 0;  // served while in shadow
};

struct DriverOptions {
  // Who the loop's own actions are recorded as. Default: "controller".
  std::string actor = "controller";
  // Asked when the next step waits for `role`; an Approval signs off, nullopt leaves it waiting.
  // Default: none (people approve through the CLI, dashboard or API).
  std::function<std::optional<Approval>(const std::string& role, const experiment::RolloutStatus& status)> approver;
  // Asked when the next step waits for the experiment's reviewer role (audits.reviewer_role), with
  // the governance audit computed at this analysis (fairness/audit.h; asked again at most every 12
  // analyses of one step, since each audit reads the whole experiment); an Approval signs off
  // (RolloutController::SignOffStep: the report's hash, definitions version and thresholds go into
  // the audit log), nullopt leaves it waiting. Takes precedence over `approver` for that role.
  // Default: none.
  std::function<std::optional<Approval>(const fairness::ExperimentAudit& audit, const experiment::RolloutStatus& status)> reviewer;
  // Options of the audits the loop computes: the reviewer's report and, with `audits: {on_fail:
  // hold}`, the gate checked when a step could advance (always without bootstrap: a check compares
  // the point value). until_ms, computed_at_ms and excluded_arm are set by the loop. Default:
  // fairness::AuditOptions with bootstrap 0.
  fairness::AuditOptions audit = [] {
    fairness::AuditOptions o;
    o.bootstrap = 0;
    return o;
  }();
  // Called before each analysis (e.g. ServingPipeline::Flush, so the evidence is committed), and
  // after each decision that changes what is served (e.g. ServingPipeline::Refresh). Default: none.
  std::function<Status()> before_analysis;
  std::function<Status()> after_change;

  // Scale-out (docs/scale-out.md). Where the experiment's events are when the control database
  // (Open's `db_path`, e.g. postgres://...) does not hold them: this replica's SQLite file. The
  // metrics rebuilt on open and the governance audits read it. Default: "" (the control database).
  std::string events_db;
  // This replica's id. When set, the loop acts only while it holds the lease "rollout:<experiment>"
  // in the control database (storage/lease.h), taken or renewed on every Tick for `lease_ms` of
  // wall-clock time, so exactly one replica drives each rollout; the others skip their analyses.
  // Default: "" (no lease: the only process).
  std::string lease_holder;
  int64_t lease_ms = 5000;
  // The evidence over every replica's events (e.g. aggregated in ClickHouse), asked at each
  // analysis instead of the metrics counted in this process: `metrics` over the whole experiment
  // until `until_ms`, `lists` the lists served since `from_ms` (the shadow phase's count).
  // Default: none (local metrics).
  struct GlobalEvidence {
    experiment::ExperimentMetrics metrics{0};
    int64_t lists = 0;
  };
  std::function<StatusOr<GlobalEvidence>(const experiment::ExperimentConfig& config, int64_t from_ms, int64_t until_ms)> global_evidence;
};

class RolloutDriver {
 public:
  // Opens its own connection to `db_path`, loads the experiment's current version and status and
  // rebuilds its metrics from the stored exposures and feedback. `clock` stamps the loop's actions
  // with the analysis time it sets (event time in the demo, wall time in a service); `now_ms` anchors
  // the first analysis when none is stored. Errors: kNotFound for an unknown experiment.
  static StatusOr<std::unique_ptr<RolloutDriver>> Open(const std::string& db_path, const std::string& experiment,
                                                       int64_t now_ms, DriverOptions options = {});
  ~RolloutDriver();

  // draft -> shadow (with a shadow model) or ramping; a no-op in any other state.
  Status Start(const std::string& actor, const std::string& reason, int64_t now_ms);
  // One served list's outcome (arm_index < 0: outside the experiment, not counted).
  void Record(int arm_index, int64_t user, const experiment::RequestOutcome& outcome, int64_t ts_ms);
  // Runs every analysis due at or before `now_ms`, in order; returns what it decided.
  StatusOr<std::vector<DriverEvent>> Tick(int64_t now_ms);

  DriverState state() const;
  experiment::RolloutStatus status() const;
  const experiment::ExperimentConfig& config() const { return config_; }
  // Lists counted so far per arm (exposures) and their users: the guardrails' evidence.
  const experiment::ExperimentMetrics& metrics() const { return metrics_; }
  // Users counted per arm so far (safe while Record() runs on other threads).
  std::vector<double> UsersPerArm() const;
  // Exposures read back from the database when the driver opened.
  int64_t rebuilt_lists() const { return rebuilt_lists_; }
  // Whether this process drove the last Tick (always true without a lease holder).
  bool driving() const { return driving_; }

 private:
  RolloutDriver(std::unique_ptr<storage::Database> db, experiment::ExperimentConfig config, DriverOptions options);
  Status Reload();
  // The audit options of an analysis at `at_ms` (evidence before it, excluded lists on their own side).
  fairness::AuditOptions AuditOptionsAt(int64_t at_ms, int bootstrap) const;
  // Whether the current step's duration has passed at `at_ms` (the step could advance).
  bool StepDurationMet(int64_t at_ms) const;

  // Takes or renews the lease (true without a lease holder).
  StatusOr<bool> HoldLease();

  std::unique_ptr<storage::Database> db_;
  std::unique_ptr<storage::Database> events_db_;  // null: db_ holds the events
  bool driving_ = true;
  ManualClock clock_;  // the time of the action being taken
  std::unique_ptr<RolloutController> controller_;
  experiment::ExperimentConfig config_;
  DriverOptions options_;
  experiment::RolloutStatus status_;
  mutable std::mutex metrics_mu_;
  experiment::ExperimentMetrics metrics_;
  int64_t shadow_requests_ = 0;    // under metrics_mu_
  bool in_shadow_ = false;          // under metrics_mu_: status_ as Record() sees it
  int64_t shadow_since_ms_ = 0;     // under metrics_mu_
  int64_t next_analysis_ms_ = 0;
  int64_t rebuilt_lists_ = 0;
  // The last governance-audit verdict (on_fail: hold), reused for a few analyses of one step; the
  // reviewer is asked again after as many (each audit reads the whole experiment).
  static constexpr int64_t kGateReuseAnalyses = 12;
  int64_t last_review_at_ms_ = INT64_MIN / 2;
  int last_review_step_ = -2;
  std::optional<experiment::AuditGate> last_gate_;
  int64_t last_gate_at_ms_ = 0;
  int last_gate_step_ = -2;
};

}  // namespace steward::serving
