// RolloutController: the persisted rollout state machine (experiment/rollout.h) with its audit trail.
// Every change is saved in one SQLite transaction before the call returns, so a rollback is
// durable before the next request is served, and survives restarts. Every change appends to the
// hash-chained audit log with actor, reason and evidence.
//
// Thread safety: one controller per Database connection, used from one thread.
#pragma once

#include <string>

#include "common/clock.h"
#include "common/status.h"
#include "experiment/experiment_config.h"
#include "experiment/metrics.h"
#include "experiment/rollout.h"
#include "storage/audit_log.h"
#include "storage/database.h"

namespace steward::serving {

// A reviewer's decision on the ramp with a governance audit as evidence (`steward audit sign-off`,
// the demo's simulated reviewer). Recorded in the audit log as "audit.signoff".
struct SignOff {
  enum class Decision { kApprove, kBlock };
  Decision decision = Decision::kApprove;
  std::string actor, reason;
  std::string report_hash;          // SHA-256 of the audit report reviewed (fairness/audit.h)
  std::string definitions_version;  // fairness::kDefinitionsVersion
  std::string thresholds_json;      // the experiment's audits: section as checked
  int64_t computed_at_ms = 0;       // when the audit was computed
  bool audit_passed = true;         // no treatment check failed
  std::vector<std::string> failures;
};

class RolloutController {
 public:
  RolloutController(storage::Database& db, const Clock& clock) : db_(db), clock_(clock) {}

  // Saves the definition as the experiment's next version (a new experiment starts in draft).
  // Returns the version; saving an unchanged definition returns the current one and logs nothing.
  // A draft experiment takes the new definition at once. A live (or finished) one needs a `reason`;
  // when its current version's ramp names approval roles, the new version is saved as a proposal
  // (status.pending_version, audited as experiment.propose) and takes effect only once every one
  // of those roles approved it (ApproveVersion); without approval roles it takes effect at once,
  // unless it removes or weakens a guardrail or an approval gate, which is then refused
  // (kFailedPrecondition). Returns the saved (or proposed) version.
  StatusOr<int64_t> Create(const experiment::ExperimentConfig& config, const std::string& actor, const std::string& reason = "");
  // `role` approves proposed `version`; the last required approval makes it current
  // (experiment.activate). Errors: kFailedPrecondition for no such proposal or a role it does not need.
  steward::Status ApproveVersion(const std::string& name, int64_t version, const std::string& role, const std::string& actor,
                                 const std::string& reason);
  // The current version's definition, parsed and validated.
  StatusOr<experiment::ExperimentConfig> Config(const std::string& name);
  // The persisted status; a created experiment without one is in draft.
  StatusOr<experiment::RolloutStatus> Status(const std::string& name);

  // draft -> shadow (when the experiment has a shadow model), or draft/shadow -> ramping step 1.
  steward::Status Start(const std::string& name, const std::string& actor, const std::string& reason);
  // A reviewer signs off (approve) or blocks the ramp with an audit as evidence, in one transaction
  // with its audit row. Approve: the audit must have been computed at or after the current step
  // began (kFailedPrecondition otherwise: audit again); it clears a block and, when the next step
  // asks for the experiment's reviewer role (audits.reviewer_role), approves it. Block: the
  // experiment holds (Analyze never advances it) until an approving sign-off. Errors:
  // kFailedPrecondition for an experiment that is not ramping or holding.
  steward::Status SignOffStep(const std::string& name, const SignOff& sign_off);
  // Records that `role` approves the next ramp step. When the experiment declares `audits:`, its
  // reviewer role approves only through SignOffStep (kFailedPrecondition naming the command).
  steward::Status Approve(const std::string& name, const std::string& role, const std::string& actor, const std::string& reason);
  // Advances to the next step now, skipping its duration and sample conditions (not approvals).
  steward::Status Promote(const std::string& name, const std::string& actor, const std::string& reason);
  // Treatment coverage to 0, durable on return. `reason` is required.
  steward::Status Rollback(const std::string& name, const std::string& actor, const std::string& reason);
  steward::Status Stop(const std::string& name, const std::string& actor, const std::string& reason);
  // The global kill switch: on rolls back every live experiment and blocks starts and promotions.
  steward::Status SetKillSwitch(bool on, const std::string& actor, const std::string& reason);
  StatusOr<bool> KillSwitch();

  // One analysis at event time `now_ms` (see Analyze); persists the new status and audits any
  // action. Returns the analysis.
  // `gate`: the governance audit's verdict (nullptr: not computed).
  StatusOr<experiment::Analysis> Evaluate(const std::string& name, const experiment::ExperimentMetrics& metrics, int64_t now_ms,
                                          const experiment::AuditGate* gate = nullptr);
  // Coverage to serve now (0 when not live or when the kill switch is on).
  StatusOr<double> ServingCoverageFor(const std::string& name);

 private:
  // Status(), or the stored status unverified when it is not the chain's (rollback, stop).
  StatusOr<experiment::RolloutStatus> StatusForEmergency(const std::string& name);
  steward::Status Save(const std::string& name, const experiment::RolloutStatus& status);
  steward::Status Audit(const std::string& actor, storage::AuditAction action, const std::string& subject,
                        const std::string& reason, const std::string& payload);
  steward::Status Transition(const std::string& name, const std::string& actor, storage::AuditAction action,
                             const std::string& reason, experiment::RolloutStatus& status);

  storage::Database& db_;
  const Clock& clock_;
};

}  // namespace steward::serving
