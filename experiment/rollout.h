// The rollout state machine and its analysis, as pure functions over plain data (the controller in
// controller.h persists and audits what they decide).
//
//   draft -> shadow -> ramping (step k) <-> holding -> completed
//                         \______ rolled_back (guardrail breach, failure budget, manual, kill switch)
//   any live state -> stopped (manual)
//
// At every evaluation interval Analyze() checks health (sample-ratio mismatch, traffic) and every
// guardrail; a breach confirmed by the guardrail's test rolls back at once; a failed health check
// (sample-ratio mismatch) spends the failure budget (Argo Rollouts' failureLimit) and holds; an
// inconclusive one (no traffic since the last analysis) holds without spending it; a passing step
// advances when its duration, sample and approval conditions are met.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"
#include "experiment/experiment_config.h"
#include "experiment/metrics.h"

namespace steward::experiment {

enum class RolloutState { kDraft, kShadow, kRamping, kHolding, kCompleted, kRolledBack, kStopped };
const char* RolloutStateName(RolloutState s);
StatusOr<RolloutState> ParseRolloutState(const std::string& name);
// Ramping and holding serve treatment; the others serve control to everyone.
bool IsLive(RolloutState s);

struct GuardrailState {
  double p_value = 1.0;  // always-valid (sequential) or latest (fixed) p-value
  bool breached = false;
  double control = 0, treatment = 0;    // metric values at the last look
  double diff = 0, ci_low = 0, ci_high = 0;  // treatment - control, interval at 1 - alpha
};

struct RolloutStatus {
  RolloutState state = RolloutState::kDraft;
  int step = -1;  // index into ramp; -1 before the ramp starts
  double coverage = 0.0;
  int64_t step_started_ms = 0;
  int failures = 0;
  std::vector<std::string> approvals;  // roles that approved entering step + 1
  std::vector<GuardrailState> guardrails;
  int64_t last_eval_ms = 0;
  int64_t last_exposures = 0;
  int64_t analyses = 0;
  int64_t rolled_back_at_ms = 0;
  std::string reason;  // why the state last changed, or what it waits for
  // The role whose approval the next step waits for (every other condition met); "" when none.
  std::string waiting_for_role;
  int quiet_analyses = 0;  // consecutive analyses that saw no new traffic
  // A new version of the live experiment awaiting approval (0: none): the roles it needs (those
  // the current version's ramp names) and those that approved it.
  int64_t pending_version = 0;
  std::vector<std::string> pending_roles, pending_approvals;
  // Set while a reviewer's sign-off blocks the ramp (the reviewer's reason); an approving sign-off
  // clears it. "" when not blocked.
  std::string blocked;

  std::string ToJson() const;
  static StatusOr<RolloutStatus> FromJson(const std::string& json);
};

enum class Action { kNone, kAdvance, kHold, kRollback, kComplete };
const char* ActionName(Action a);

struct Analysis {
  Action action = Action::kNone;
  std::string reason;
  std::string evidence_json;  // metric, estimates, interval, p-value, exposures, users
};

// The governance audit's verdict at this analysis (`audits: {on_fail: hold}`; serving/rollout_driver.h
// computes it from fairness/audit.h when the step could advance).
struct AuditGate {
  bool failed = false;
  std::string reason;         // the failing treatment checks, one line
  std::string evidence_json;  // {"report_hash", "definitions_version", "failures", ...}
};

// Evaluates one interval. Updates `status` (guardrail monitors, failures, state and step on
// advance, hold, rollback or completion) and returns what happened. Pure: no I/O, no clock.
// A blocked status (a reviewer's block) holds instead of advancing; so does a failed `gate` when
// the step's conditions are met. Guardrails are judged either way.
Analysis Analyze(const ExperimentConfig& config, RolloutStatus& status, const ExperimentMetrics& metrics, int64_t now_ms,
                 const AuditGate* gate = nullptr);

// Whether the shadow phase may end at event time `now_ms`: the experiment is in shadow, has been for
// config.shadow.min_duration_ms (since status.step_started_ms) and served at least
// config.shadow.min_requests requests (`shadow_requests`) in it.
bool ShadowPhaseDone(const ExperimentConfig& config, const RolloutStatus& status, int64_t now_ms, int64_t shadow_requests);

// The status as users and scripts see it (`steward experiment status --json`, the HTTP API):
// {"name", "state", "step" (1-based), "steps", "coverage" (served now), "version", "failures",
//  "analyses", "approvals", "waiting_for_role" (null or a role), "rolled_back_at_ms", "reason",
//  "guardrails": [{"metric", "p_value", "breached", "control", "treatment", "diff", "ci_low", "ci_high"}]}
std::string RolloutStatusJson(const std::string& name, const ExperimentConfig& config, const RolloutStatus& status,
                              int64_t version);

// Changing a live experiment (pure checks; serving/controller.h applies them):
// the roles the current version's ramp asks approval from (each once, in ramp order) ...
std::vector<std::string> ApprovalRoles(const ExperimentConfig& config);
// ... and what `next` removes or weakens of `current`'s protection: a guardrail (metric and
// direction) dropped, its threshold loosened, its alpha raised or its test made fixed; an approval
// gate dropped. One human-readable line each; empty when nothing.
std::vector<std::string> SafetyRemovals(const ExperimentConfig& current, const ExperimentConfig& next);

// The coverage users see in `status` (0 unless live or completed).
double ServingCoverage(const ExperimentConfig& config, const RolloutStatus& status);

// Moves to the next ramp step (or completes after the last). Errors: kFailedPrecondition when the
// next step needs an approval that has not been given (the message names the role).
Status AdvanceStep(const ExperimentConfig& config, RolloutStatus& status, int64_t now_ms, const std::string& why);

}  // namespace steward::experiment
