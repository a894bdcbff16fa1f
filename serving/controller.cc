#include "serving/controller.h"

#include <algorithm>
#include <nlohmann/json.hpp>

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

constexpr const char* kKillSwitchOnMessage = "the global kill switch is on; turn it off first (with a reason)";

}  // namespace

steward::Status RolloutController::Audit(const std::string& actor, storage::AuditAction action, const std::string& subject,
                                         const std::string& reason, const std::string& payload) {
  storage::AuditLog audit(db_);
  return audit.Append({0, clock_.NowMillis(), actor, storage::AuditActionName(action), subject, reason, payload}).status();
}

steward::Status RolloutController::Save(const std::string& name, const RolloutStatus& status) {
  storage::RolloutStore store(db_);
  return store.Save(name, RolloutStateName(status.state), status.ToJson(), clock_.NowMillis());
}

steward::Status RolloutController::Transition(const std::string& name, const std::string& actor, storage::AuditAction action,
                                              const std::string& reason, RolloutStatus& status) {
  RETURN_IF_ERROR(Save(name, status));
  nlohmann::json payload = {{"state", RolloutStateName(status.state)}, {"step", status.step}, {"coverage", status.coverage}};
  return Audit(actor, action, name, reason, payload.dump());
}

StatusOr<int64_t> RolloutController::Create(const ExperimentConfig& config, const std::string& actor) {
  RETURN_IF_ERROR(RequireActor(actor));
  storage::ExperimentStore experiments(db_);
  ASSIGN_OR_RETURN(auto versions, experiments.Versions(config.name));
  ASSIGN_OR_RETURN(int64_t version, experiments.SaveVersion(config.name, config.source_json, actor, clock_.NowMillis(), "draft"));
  if (static_cast<int64_t>(versions.size()) < version) {
    RETURN_IF_ERROR(Audit(actor, AuditAction::kExperimentVersion, config.name, "saved version " + std::to_string(version),
                          nlohmann::json{{"version", version}, {"config", nlohmann::json::parse(config.source_json)}}.dump()));
  }
  return version;
}

StatusOr<ExperimentConfig> RolloutController::Config(const std::string& name) {
  storage::ExperimentStore experiments(db_);
  ASSIGN_OR_RETURN(storage::ExperimentRecord record, experiments.Get(name));
  ASSIGN_OR_RETURN(auto versions, experiments.Versions(name));
  for (const auto& v : versions) {
    if (v.version != record.current_version) continue;
    ASSIGN_OR_RETURN(ConfigNode node, ConfigNode::Parse(v.config_json, name + "@v" + std::to_string(v.version)));
    return experiment::ParseExperimentConfig(node);
  }
  return DataLoss("experiment '" + name + "' has no stored version " + std::to_string(record.current_version));
}

StatusOr<RolloutStatus> RolloutController::Status(const std::string& name) {
  storage::ExperimentStore experiments(db_);
  RETURN_IF_ERROR(experiments.Get(name).status());
  storage::RolloutStore store(db_);
  ASSIGN_OR_RETURN(auto json, store.Load(name));
  if (!json) return RolloutStatus();
  return RolloutStatus::FromJson(*json);
}

StatusOr<bool> RolloutController::KillSwitch() {
  storage::RolloutStore store(db_);
  ASSIGN_OR_RETURN(auto value, store.GetFlag(kKillSwitch));
  return value.has_value() && *value == "on";
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
  const int next = status.step + 1;
  if (next >= static_cast<int>(config.ramp.size()) || config.ramp[static_cast<size_t>(next)].approval != role) {
    return FailedPrecondition("the next step of '" + name + "' does not ask for approval from role '" + role + "'");
  }
  if (std::find(status.approvals.begin(), status.approvals.end(), role) == status.approvals.end()) status.approvals.push_back(role);
  if (status.waiting_for_role == role) status.waiting_for_role.clear();
  RETURN_IF_ERROR(Save(name, status));
  return Audit(actor, AuditAction::kExperimentApprove, name, reason.empty() ? "approved step " + std::to_string(next + 1) : reason,
               nlohmann::json{{"role", role}, {"step", next}}.dump());
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
  RETURN_IF_ERROR(AdvanceStep(config, status, clock_.NowMillis(), reason.empty() ? "promoted" : reason));
  return Transition(name, actor, status.state == RolloutState::kCompleted ? AuditAction::kExperimentComplete : AuditAction::kExperimentPromote,
                    status.reason, status);
}

steward::Status RolloutController::Rollback(const std::string& name, const std::string& actor, const std::string& reason) {
  RETURN_IF_ERROR(RequireActor(actor));
  RETURN_IF_ERROR(RequireReason(reason, "rollback"));
  ASSIGN_OR_RETURN(RolloutStatus status, Status(name));
  if (status.state == RolloutState::kRolledBack) return steward::Status::Ok();  // idempotent
  status.state = RolloutState::kRolledBack;
  status.coverage = 0.0;
  status.waiting_for_role.clear();
  status.rolled_back_at_ms = clock_.NowMillis();
  status.reason = reason;
  return Transition(name, actor, AuditAction::kExperimentRollback, reason, status);
}

steward::Status RolloutController::Stop(const std::string& name, const std::string& actor, const std::string& reason) {
  RETURN_IF_ERROR(RequireActor(actor));
  RETURN_IF_ERROR(RequireReason(reason, "stop"));
  ASSIGN_OR_RETURN(RolloutStatus status, Status(name));
  status.state = RolloutState::kStopped;
  status.coverage = 0.0;
  status.waiting_for_role.clear();
  status.reason = reason;
  return Transition(name, actor, AuditAction::kExperimentStop, reason, status);
}

steward::Status RolloutController::SetKillSwitch(bool on, const std::string& actor, const std::string& reason) {
  RETURN_IF_ERROR(RequireActor(actor));
  RETURN_IF_ERROR(RequireReason(reason, "kill-switch"));
  storage::RolloutStore store(db_);
  RETURN_IF_ERROR(store.SetFlag(kKillSwitch, on ? "on" : "off", actor, clock_.NowMillis()));
  RETURN_IF_ERROR(Audit(actor, on ? AuditAction::kKillSwitchOn : AuditAction::kKillSwitchOff, "*", reason, "{}"));
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

StatusOr<Analysis> RolloutController::Evaluate(const std::string& name, const ExperimentMetrics& metrics, int64_t now_ms) {
  ASSIGN_OR_RETURN(ExperimentConfig config, Config(name));
  ASSIGN_OR_RETURN(RolloutStatus status, Status(name));
  const std::string before = status.reason;
  Analysis analysis = Analyze(config, status, metrics, now_ms);
  RETURN_IF_ERROR(Save(name, status));
  const bool changed = analysis.action != Action::kNone && !(analysis.action == Action::kHold && status.reason == before);
  if (changed) {
    RETURN_IF_ERROR(Audit("controller", AnalysisAuditAction(analysis.action), name, analysis.reason,
                          analysis.evidence_json));
  }
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
