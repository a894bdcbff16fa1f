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
  // Records that `role` approves the next ramp step.
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
  StatusOr<experiment::Analysis> Evaluate(const std::string& name, const experiment::ExperimentMetrics& metrics, int64_t now_ms);
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
