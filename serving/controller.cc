#include "serving/controller.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "common/json.h"
#include "common/log.h"
#include "common/text.h"
#include "storage/audit_log.h"
#include "storage/experiment_store.h"
#include "storage/rollout_store.h"

namespace steward::serving {

using experiment::Action;
using experiment::Analysis;
using experiment::ExperimentConfig;
using experiment::ExperimentMetrics;
using experiment::RolloutState;
using experiment::RolloutStatus;

namespace {

constexpr const char* kKillSwitch = "kill_switch";

steward::Status RequireReason(const std::string& reason, const std::string& command) {
  if (reason.empty()) return InvalidArgument(command + " needs a reason: say why, for the audit log");
  return steward::Status::Ok();
}

steward::Status RequireActor(const std::string& actor) {
  if (actor.empty()) return InvalidArgument("the actor is empty: say who is acting, for the audit log");
  return steward::Status::Ok();
}

using storage::AuditAction;

AuditAction AnalysisAuditAction(Action a) {
  switch (a) {
    case Action::kAdvance: return AuditAction::kExperimentAdvance;
    case Action::kHold: return AuditAction::kExperimentHold;
    case Action::kRollback: return AuditAction::kExperimentRollback;
    case Action::kComplete: return AuditAction::kExperimentComplete;
    case Action::kNone: break;
  }
  return AuditAction::kExperimentHold;  // not reached: kNone is never audited
}

// Audit actions that change a rollout's state (the chain's record of it).
const std::vector<AuditAction>& StateChangingActions() {
  static const std::vector<AuditAction> actions = {
      AuditAction::kExperimentShadow,  AuditAction::kExperimentRamp,     AuditAction::kExperimentPromote,
      AuditAction::kExperimentAdvance, AuditAction::kExperimentHold,     AuditAction::kExperimentComplete,
      AuditAction::kExperimentRollback, AuditAction::kExperimentStop};
  return actions;
}

// Holding and ramping serve the same coverage and flip without an audit row (a wait that ends):
// they are one class for the check.
int StateClass(RolloutState s) { return s == RolloutState::kHolding ? static_cast<int>(RolloutState::kRamping) : static_cast<int>(s); }

struct ChainState {
  RolloutState state = RolloutState::kDraft;
  int step = -1;
};

// The state a state-changing audit row left: a transition's payload {state, step}; an analysis's
// evidence {result: {state, step}}, or (rows written before `result`) its action and the step the
// analysis looked at.
StatusOr<ChainState> StateFromAudit(const std::optional<storage::AuditEntry>& row) {
  ChainState out;
  if (!row) return out;
  const auto payload = nlohmann::json::parse(row->payload, nullptr, /*allow_exceptions=*/false);
  const auto bad = [&] { return DataLoss("audit row seq=" + std::to_string(row->seq) + " does not say which state it left"); };
  if (payload.is_discarded() || !payload.is_object()) return bad();
  const nlohmann::json* source = &payload;
  if (auto r = payload.find("result"); r != payload.end() && r->is_object()) source = &*r;
  if (auto st = source->find("state"); st != source->end() && st->is_string()) {
    auto parsed = experiment::ParseRolloutState(st->get<std::string>());
    if (!parsed.ok() || !source->contains("step") || !(*source)["step"].is_number_integer()) return bad();
    out.state = *parsed;
    out.step = (*source)["step"].get<int>();
    return out;
  }
  if (!payload.contains("step") || !payload["step"].is_number_integer()) return bad();
  out.step = payload["step"].get<int>();
  const std::string& action = row->action;
  if (action == storage::AuditActionName(AuditAction::kExperimentAdvance)) {
    out.state = RolloutState::kRamping;
    out.step += 1;
  } else if (action == storage::AuditActionName(AuditAction::kExperimentHold)) {
    out.state = RolloutState::kHolding;
  } else if (action == storage::AuditActionName(AuditAction::kExperimentComplete)) {
    out.state = RolloutState::kCompleted;
    out.step += 1;
  } else if (action == storage::AuditActionName(AuditAction::kExperimentRollback)) {
    out.state = RolloutState::kRolledBack;
  } else {
    return bad();
  }
  return out;
}

constexpr const char* kKillSwitchOnMessage = "the global kill switch is on; turn it off first (with a reason)";

}  // namespace

steward::Status RolloutController::Audit(const std::string& actor, storage::AuditAction action, const std::string& subject,
                                         const std::string& reason, const std::string& payload) {
  // Sanitised, never refused: an emergency action is not lost to a stray byte (the CLI and the API
  // reject such input at the boundary first).
  storage::AuditLog audit(db_);
  return audit.Append({0, clock_.NowMillis(), SanitizeLine(actor), storage::AuditActionName(action), subject, SanitizeLine(reason),
                       payload})
      .status();
}

steward::Status RolloutController::Save(const std::string& name, const RolloutStatus& status) {
  storage::RolloutStore store(db_);
  return store.Save(name, RolloutStateName(status.state), status.ToJson(), clock_.NowMillis());
}

steward::Status RolloutController::Transition(const std::string& name, const std::string& actor, storage::AuditAction action,
                                              const std::string& reason, RolloutStatus& status) {
  // The state and its audit row commit together: the stored state is always the chain's.
  return db_.InTransaction([&]() -> steward::Status {
    RETURN_IF_ERROR(Save(name, status));
    nlohmann::json payload = {{"state", RolloutStateName(status.state)}, {"step", status.step}, {"coverage", status.coverage}};
    return Audit(actor, action, name, reason, DumpJson(payload));
  });
}

StatusOr<int64_t> RolloutController::Create(const ExperimentConfig& config, const std::string& actor,
                                            const std::string& reason) {
  RETURN_IF_ERROR(RequireActor(actor));
  storage::ExperimentStore experiments(db_);
  ASSIGN_OR_RETURN(auto versions, experiments.Versions(config.name));
  const auto save_current = [&](const std::string& why) -> StatusOr<int64_t> {
    int64_t version = 0;
    const steward::Status saved = db_.InTransaction([&]() -> steward::Status {
      ASSIGN_OR_RETURN(version, experiments.SaveVersion(config.name, config.source_json, actor, clock_.NowMillis(), "draft"));
      if (static_cast<int64_t>(versions.size()) >= version) return steward::Status::Ok();  // unchanged
      return Audit(actor, AuditAction::kExperimentVersion, config.name, why.empty() ? "saved version " + std::to_string(version) : why,
                   DumpJson(nlohmann::json{{"version", version}, {"config", nlohmann::json::parse(config.source_json)}}));
    });
    RETURN_IF_ERROR(saved);
    return version;
  };
  if (versions.empty()) return save_current(reason);
  ASSIGN_OR_RETURN(RolloutStatus status, Status(config.name));
  ASSIGN_OR_RETURN(ExperimentConfig current, Config(config.name));
  if (current.source_json == config.source_json) {
    ASSIGN_OR_RETURN(storage::ExperimentRecord record, experiments.Get(config.name));
    return record.current_version;  // unchanged: nothing to do
  }
  if (status.state == RolloutState::kDraft) return save_current(reason);

  // A live (or finished) experiment: a change needs a reason and, when the current version names
  // approval roles, their approval before it takes effect; one that removes or weakens guardrails
  // or approval gates is refused when no role can approve it.
  if (reason.empty()) {
    return InvalidArgument("experiment '" + config.name + "' is " + RolloutStateName(status.state) +
                           ": changing it needs a reason, for the audit log");
  }
  const std::vector<std::string> roles = experiment::ApprovalRoles(current);
  const std::vector<std::string> removals = experiment::SafetyRemovals(current, config);
  std::string removed;
  for (const std::string& r : removals) removed += (removed.empty() ? "" : "; ") + r;
  if (roles.empty()) {
    if (!removals.empty()) {
      return FailedPrecondition("experiment '" + config.name + "' is " + RolloutStateName(status.state) + " and the new version " +
                                "weakens its protection (" + removed + ") with no approval role to sign it off; stop the " +
                                "experiment and start a new one instead");
    }
    return save_current(reason);
  }
  int64_t version = 0;
  const steward::Status proposed = db_.InTransaction([&]() -> steward::Status {
    ASSIGN_OR_RETURN(version, experiments.SaveVersion(config.name, config.source_json, actor, clock_.NowMillis(), "draft",
                                                      /*make_current=*/false));
    status.pending_version = version;
    status.pending_roles = roles;
    status.pending_approvals.clear();
    RETURN_IF_ERROR(Save(config.name, status));
    return Audit(actor, AuditAction::kExperimentPropose, config.name, reason,
                 DumpJson(nlohmann::json{{"version", version},
                                         {"needs_roles", roles},
                                         {"weakens", removals},
                                         {"config", nlohmann::json::parse(config.source_json)}}));
  });
  RETURN_IF_ERROR(proposed);
  return version;
}

steward::Status RolloutController::ApproveVersion(const std::string& name, int64_t version, const std::string& role,
                                                 const std::string& actor, const std::string& reason) {
  RETURN_IF_ERROR(RequireActor(actor));
  ASSIGN_OR_RETURN(RolloutStatus status, Status(name));
  if (status.pending_version == 0 || status.pending_version != version) {
    return FailedPrecondition("experiment '" + name + "' has no proposed version " + std::to_string(version) + " awaiting approval" +
                              (status.pending_version ? " (version " + std::to_string(status.pending_version) + " is)" : ""));
  }
  if (std::find(status.pending_roles.begin(), status.pending_roles.end(), role) == status.pending_roles.end()) {
    std::string needed;
    for (const auto& r : status.pending_roles) needed += (needed.empty() ? "" : ", ") + r;
    return FailedPrecondition("version " + std::to_string(version) + " of '" + name + "' needs approval from " + needed +
                              ", not from role '" + role + "'");
  }
  if (std::find(status.pending_approvals.begin(), status.pending_approvals.end(), role) == status.pending_approvals.end()) {
    status.pending_approvals.push_back(role);
  }
  const bool complete = status.pending_approvals.size() == status.pending_roles.size();
  storage::ExperimentStore experiments(db_);
  return db_.InTransaction([&]() -> steward::Status {
    RETURN_IF_ERROR(Audit(actor, AuditAction::kExperimentApprove, name,
                          reason.empty() ? "approved version " + std::to_string(version) : reason,
                          DumpJson(nlohmann::json{{"role", role}, {"version", version}})));
    if (complete) {
      RETURN_IF_ERROR(experiments.Activate(name, version, clock_.NowMillis()));
      status.pending_version = 0;
      status.pending_roles.clear();
      status.pending_approvals.clear();
      RETURN_IF_ERROR(Audit(actor, AuditAction::kExperimentActivate, name,
                            "version " + std::to_string(version) + " approved by every required role: now current",
                            DumpJson(nlohmann::json{{"version", version}})));
    }
    return Save(name, status);
  });
}

StatusOr<ExperimentConfig> RolloutController::Config(const std::string& name) {
  storage::ExperimentStore experiments(db_);
  ASSIGN_OR_RETURN(storage::ExperimentRecord record, experiments.Get(name));
  ASSIGN_OR_RETURN(auto versions, experiments.Versions(name));
  // The current version is the one the chain made current (experiment.version or .activate): an
  // edit of experiments.current_version (e.g. to an unapproved proposal) is refused.
  ASSIGN_OR_RETURN(auto made_current,
                   storage::AuditLog(db_).Latest(name, {AuditAction::kExperimentVersion, AuditAction::kExperimentActivate}));
  if (made_current) {
    const auto payload = nlohmann::json::parse(made_current->payload, nullptr, /*allow_exceptions=*/false);
    const bool matches = !payload.is_discarded() && payload.is_object() && payload.contains("version") &&
                         payload["version"].is_number_integer() && payload["version"].get<int64_t>() == record.current_version;
    if (!matches) {
      return DataLoss("experiment '" + name + "' says version " + std::to_string(record.current_version) +
                      " is current, but the audit log (row seq=" + std::to_string(made_current->seq) +
                      ") does not: the experiments table was edited; run `audit-log verify`");
    }
  }
  for (const auto& v : versions) {
    if (v.version != record.current_version) continue;
    ASSIGN_OR_RETURN(ConfigNode node, ConfigNode::Parse(v.config_json, name + "@v" + std::to_string(v.version)));
    return experiment::ParseExperimentConfig(node);
  }
  return DataLoss("experiment '" + name + "' has no stored version " + std::to_string(record.current_version));
}

StatusOr<RolloutStatus> RolloutController::StatusForEmergency(const std::string& name) {
  auto verified = Status(name);
  if (verified.ok() || verified.status().code() != StatusCode::kDataLoss) return verified;
  STEWARD_LOG(kError) << verified.status().message() << "; proceeding with the emergency action";
  storage::RolloutStore store(db_);
  ASSIGN_OR_RETURN(auto json, store.Load(name));
  if (!json) return RolloutStatus();
  return RolloutStatus::FromJson(*json);
}

StatusOr<RolloutStatus> RolloutController::Status(const std::string& name) {
  storage::ExperimentStore experiments(db_);
  RETURN_IF_ERROR(experiments.Get(name).status());
  storage::RolloutStore store(db_);
  ASSIGN_OR_RETURN(auto json, store.Load(name));
  RolloutStatus status;
  if (json) {
    ASSIGN_OR_RETURN(status, RolloutStatus::FromJson(*json));
  }
  // The stored state must be the one the audit chain says it is (derivable from, and verified
  // against, the chain): an edit of the state tables behind Steward's back is refused here.
  ASSIGN_OR_RETURN(auto last, storage::AuditLog(db_).Latest(name, StateChangingActions()));
  ASSIGN_OR_RETURN(const ChainState expected, StateFromAudit(last));
  if (StateClass(status.state) != StateClass(expected.state) || status.step != expected.step) {
    return DataLoss("the stored rollout state of '" + name + "' (" + RolloutStateName(status.state) + ", step " +
                    std::to_string(status.step + 1) + ") is not the audit log's (" + RolloutStateName(expected.state) +
                    ", step " + std::to_string(expected.step + 1) +
                    (last ? ", audit row seq=" + std::to_string(last->seq) : std::string(", no state change recorded")) +
                    "): the state tables were edited; treat the experiment as stopped and run `audit-log verify`");
  }
  return status;
}

StatusOr<bool> RolloutController::KillSwitch() {
  storage::RolloutStore store(db_);
  ASSIGN_OR_RETURN(auto value, store.GetFlag(kKillSwitch));
  const bool flag = value.has_value() && *value == "on";
  // Verified against the chain; when they disagree the switch is on (the safe side).
  ASSIGN_OR_RETURN(auto last, storage::AuditLog(db_).Latest("*", {AuditAction::kKillSwitchOn, AuditAction::kKillSwitchOff}));
  const bool chain = last && last->action == storage::AuditActionName(AuditAction::kKillSwitchOn);
  if (flag != chain) {
    STEWARD_LOG(kError) << "the kill switch flag (" << (flag ? "on" : "off") << ") is not the audit log's ("
                        << (chain ? "on" : "off") << "); the flags table was edited: treating the kill switch as on";
  }
  return flag || chain;
}

steward::Status RolloutController::Start(const std::string& name, const std::string& actor, const std::string& reason) {
  RETURN_IF_ERROR(RequireActor(actor));
  ASSIGN_OR_RETURN(bool killed, KillSwitch());
  if (killed) return FailedPrecondition(kKillSwitchOnMessage);
  ASSIGN_OR_RETURN(ExperimentConfig config, Config(name));
  ASSIGN_OR_RETURN(RolloutStatus status, Status(name));
  const int64_t now = clock_.NowMillis();
  if (status.state == RolloutState::kDraft && !config.shadow_model.empty()) {
    status.state = RolloutState::kShadow;
    status.step_started_ms = now;  // the shadow phase's clock (shadow.min_duration)
    status.reason = reason.empty() ? "shadow started" : reason;
    return Transition(name, actor, AuditAction::kExperimentShadow, status.reason, status);
  }
  if (status.state != RolloutState::kDraft && status.state != RolloutState::kShadow) {
    return FailedPrecondition("experiment '" + name + "' is " + RolloutStateName(status.state) +
                              "; only a draft or shadow experiment can start ramping");
  }
  if (config.ramp.empty()) {
    status.state = RolloutState::kRamping;
    status.step = 0;
    status.step_started_ms = now;
    status.coverage = ServingCoverage(config, status);
    status.reason = reason.empty() ? "started" : reason;
  } else {
    status.step = -1;
    RETURN_IF_ERROR(AdvanceStep(config, status, now, reason.empty() ? "ramp started" : reason));
  }
  return Transition(name, actor, AuditAction::kExperimentRamp, status.reason, status);
}

steward::Status RolloutController::Approve(const std::string& name, const std::string& role, const std::string& actor,
                                           const std::string& reason) {
  RETURN_IF_ERROR(RequireActor(actor));
  if (role.empty()) return InvalidArgument("an approval names the approving role");
  ASSIGN_OR_RETURN(ExperimentConfig config, Config(name));
  ASSIGN_OR_RETURN(RolloutStatus status, Status(name));
  if (status.state == RolloutState::kCompleted || status.state == RolloutState::kRolledBack || status.state == RolloutState::kStopped) {
    return FailedPrecondition("experiment '" + name + "' is " + RolloutStateName(status.state) + "; nothing to approve");
  }
  if (config.audits.declared && role == config.audits.reviewer_role) {
    return FailedPrecondition("role '" + role + "' approves '" + name + "' only with a governance audit as evidence: run `steward audit "
                              "sign-off --db DB --experiment " + name + " --actor WHO --decision approve --reason TEXT`");
  }
  const int next = status.step + 1;
  if (next >= static_cast<int>(config.ramp.size()) || config.ramp[static_cast<size_t>(next)].approval != role) {
    return FailedPrecondition("the next step of '" + name + "' does not ask for approval from role '" + role + "'");
  }
  if (std::find(status.approvals.begin(), status.approvals.end(), role) == status.approvals.end()) status.approvals.push_back(role);
  if (status.waiting_for_role == role) status.waiting_for_role.clear();
  return db_.InTransaction([&]() -> steward::Status {
    RETURN_IF_ERROR(Save(name, status));
    return Audit(actor, AuditAction::kExperimentApprove, name,
                 reason.empty() ? "approved step " + std::to_string(next + 1) : reason,
                 DumpJson(nlohmann::json{{"role", role}, {"step", next}}));
  });
}

steward::Status RolloutController::SignOffStep(const std::string& name, const SignOff& s) {
  RETURN_IF_ERROR(RequireActor(s.actor));
  RETURN_IF_ERROR(RequireReason(s.reason, "a sign-off"));
  ASSIGN_OR_RETURN(ExperimentConfig config, Config(name));
  ASSIGN_OR_RETURN(RolloutStatus status, Status(name));
  if (!IsLive(status.state)) {
    return FailedPrecondition("experiment '" + name + "' is " + RolloutStateName(status.state) +
                              "; a sign-off applies to a ramping or holding experiment");
  }
  const bool approve = s.decision == SignOff::Decision::kApprove;
  if (approve && s.computed_at_ms < status.step_started_ms) {
    return FailedPrecondition("the audit of '" + name + "' was computed at " + std::to_string(s.computed_at_ms) + " ms, before step " +
                              std::to_string(status.step + 1) + " began (" + std::to_string(status.step_started_ms) +
                              " ms); audit again and sign off that report");
  }
  const int next = status.step + 1;
  const std::string& role = config.audits.reviewer_role;
  const bool approves_step = approve && next < static_cast<int>(config.ramp.size()) &&
                             config.ramp[static_cast<size_t>(next)].approval == role;
  if (approve) {
    status.blocked.clear();
    if (approves_step && std::find(status.approvals.begin(), status.approvals.end(), role) == status.approvals.end()) {
      status.approvals.push_back(role);
    }
    if (status.waiting_for_role == role) status.waiting_for_role.clear();
  } else {
    status.blocked = SanitizeLine(s.reason) + " (" + SanitizeLine(s.actor) + ")";
    status.approvals.erase(std::remove(status.approvals.begin(), status.approvals.end(), role), status.approvals.end());
    status.state = RolloutState::kHolding;
    status.reason = "blocked by the reviewer: " + status.blocked;
  }
  nlohmann::json thresholds = nlohmann::json::parse(s.thresholds_json, nullptr, /*allow_exceptions=*/false);
  const nlohmann::json payload = {{"decision", approve ? "approve" : "block"},
                                  {"role", role},
                                  {"step", next},
                                  {"approves_step", approves_step},
                                  {"report_hash", s.report_hash},
                                  {"definitions_version", s.definitions_version},
                                  {"thresholds", thresholds.is_discarded() ? nlohmann::json(s.thresholds_json) : thresholds},
                                  {"audit_computed_at_ms", s.computed_at_ms},
                                  {"audit_passed", s.audit_passed},
                                  {"failures", s.failures}};
  return db_.InTransaction([&]() -> steward::Status {
    RETURN_IF_ERROR(Save(name, status));
    return Audit(s.actor, AuditAction::kAuditSignOff, name, s.reason, DumpJson(payload));
  });
}

steward::Status RolloutController::Promote(const std::string& name, const std::string& actor, const std::string& reason) {
  RETURN_IF_ERROR(RequireActor(actor));
  ASSIGN_OR_RETURN(bool killed, KillSwitch());
  if (killed) return FailedPrecondition(kKillSwitchOnMessage);
  ASSIGN_OR_RETURN(ExperimentConfig config, Config(name));
  ASSIGN_OR_RETURN(RolloutStatus status, Status(name));
  if (!IsLive(status.state)) {
    return FailedPrecondition("experiment '" + name + "' is " + RolloutStateName(status.state) + "; only a ramping or holding experiment can be promoted");
  }
  if (!status.blocked.empty()) {
    return FailedPrecondition("experiment '" + name + "' is blocked by the reviewer (" + status.blocked +
                              "); an approving `steward audit sign-off` lifts the block");
  }
  RETURN_IF_ERROR(AdvanceStep(config, status, clock_.NowMillis(), reason.empty() ? "promoted" : reason));
  return Transition(name, actor, status.state == RolloutState::kCompleted ? AuditAction::kExperimentComplete : AuditAction::kExperimentPromote,
                    status.reason, status);
}

steward::Status RolloutController::Rollback(const std::string& name, const std::string& actor, const std::string& reason) {
  RETURN_IF_ERROR(RequireActor(actor));
  RETURN_IF_ERROR(RequireReason(reason, "rollback"));
  // An emergency action goes through even when the stored state is not the chain's (it then puts
  // the two back in agreement, on the safe side).
  ASSIGN_OR_RETURN(RolloutStatus status, StatusForEmergency(name));
  if (status.state == RolloutState::kRolledBack) {
    // Already rolled back: nothing changes, but who tried again and why is recorded.
    return Transition(name, actor, AuditAction::kExperimentRollback, SanitizeLine(reason) + " (already rolled back)", status);
  }
  status.state = RolloutState::kRolledBack;
  status.coverage = 0.0;
  status.waiting_for_role.clear();
  status.rolled_back_at_ms = clock_.NowMillis();
  status.reason = SanitizeLine(reason);
  return Transition(name, actor, AuditAction::kExperimentRollback, reason, status);
}

steward::Status RolloutController::Stop(const std::string& name, const std::string& actor, const std::string& reason) {
  RETURN_IF_ERROR(RequireActor(actor));
  RETURN_IF_ERROR(RequireReason(reason, "stop"));
  ASSIGN_OR_RETURN(RolloutStatus status, StatusForEmergency(name));
  status.state = RolloutState::kStopped;
  status.coverage = 0.0;
  status.waiting_for_role.clear();
  status.reason = SanitizeLine(reason);
  return Transition(name, actor, AuditAction::kExperimentStop, reason, status);
}

steward::Status RolloutController::SetKillSwitch(bool on, const std::string& actor, const std::string& reason) {
  RETURN_IF_ERROR(RequireActor(actor));
  RETURN_IF_ERROR(RequireReason(reason, "kill-switch"));
  storage::RolloutStore store(db_);
  const steward::Status switched = db_.InTransaction([&]() -> steward::Status {
    RETURN_IF_ERROR(store.SetFlag(kKillSwitch, on ? "on" : "off", actor, clock_.NowMillis()));
    return Audit(actor, on ? AuditAction::kKillSwitchOn : AuditAction::kKillSwitchOff, "*", reason, "{}");
  });
  RETURN_IF_ERROR(switched);
  if (!on) return steward::Status::Ok();
  storage::ExperimentStore experiments(db_);
  ASSIGN_OR_RETURN(auto all, experiments.List());
  for (const auto& e : all) {
    ASSIGN_OR_RETURN(RolloutStatus status, Status(e.name));
    if (IsLive(status.state) || status.state == RolloutState::kShadow) {
      RETURN_IF_ERROR(Rollback(e.name, actor, "kill switch: " + reason));
    }
  }
  return steward::Status::Ok();
}

StatusOr<Analysis> RolloutController::Evaluate(const std::string& name, const ExperimentMetrics& metrics, int64_t now_ms,
                                               const experiment::AuditGate* gate) {
  ASSIGN_OR_RETURN(ExperimentConfig config, Config(name));
  ASSIGN_OR_RETURN(RolloutStatus status, Status(name));
  const std::string before = status.reason;
  Analysis analysis = Analyze(config, status, metrics, now_ms, gate);
  const bool changed = analysis.action != Action::kNone && !(analysis.action == Action::kHold && status.reason == before);
  if (changed) {
    // The evidence, and the state the decision left (what the chain says the state is).
    nlohmann::json evidence = nlohmann::json::parse(analysis.evidence_json, nullptr, /*allow_exceptions=*/false);
    if (evidence.is_discarded() || !evidence.is_object()) evidence = nlohmann::json::object();
    evidence["result"] = {{"state", RolloutStateName(status.state)}, {"step", status.step}};
    analysis.evidence_json = DumpJson(evidence);
  }
  const steward::Status saved = db_.InTransaction([&]() -> steward::Status {
    RETURN_IF_ERROR(Save(name, status));
    if (!changed) return steward::Status::Ok();
    return Audit("controller", AnalysisAuditAction(analysis.action), name, analysis.reason, analysis.evidence_json);
  });
  RETURN_IF_ERROR(saved);
  return analysis;
}

StatusOr<double> RolloutController::ServingCoverageFor(const std::string& name) {
  ASSIGN_OR_RETURN(bool killed, KillSwitch());
  if (killed) return 0.0;
  ASSIGN_OR_RETURN(ExperimentConfig config, Config(name));
  ASSIGN_OR_RETURN(RolloutStatus status, Status(name));
  return ServingCoverage(config, status);
}

}  // namespace steward::serving
