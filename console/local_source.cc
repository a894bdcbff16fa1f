// LocalSource: the console on a database file (console/source.h).
#include <chrono>

#include "common/clock.h"
#include "common/config.h"
#include "common/text.h"
#include "console/incremental.h"
#include "console/source.h"
#include "fairness/audit.h"
#include "serving/controller.h"
#include "serving/rollout_driver.h"
#include "server/routes.h"
#include "storage/database.h"
#include "storage/queries.h"

namespace steward::console {

const char* ActionName(ActionKind kind) {
  switch (kind) {
    case ActionKind::kCreate: return "create";
    case ActionKind::kStart: return "start";
    case ActionKind::kPromote: return "promote";
    case ActionKind::kStop: return "stop";
    case ActionKind::kSignOff: return "sign-off";
    case ActionKind::kLabel: return "label";
    case ActionKind::kRollback: return "rollback";
    case ActionKind::kKillSwitch: return "kill-switch";
  }
  return "?";
}

const char* ConsoleRoleName(ConsoleRole role) {
  switch (role) {
    case ConsoleRole::kViewer: return "viewer";
    case ConsoleRole::kOwner: return "owner";
    case ConsoleRole::kReviewer: return "reviewer";
    case ConsoleRole::kOncall: return "oncall";
    case ConsoleRole::kAdmin: return "admin";
  }
  return "?";
}

StatusOr<ConsoleRole> ParseConsoleRole(const std::string& name) {
  for (ConsoleRole r : {ConsoleRole::kViewer, ConsoleRole::kOwner, ConsoleRole::kReviewer, ConsoleRole::kOncall, ConsoleRole::kAdmin}) {
    if (name == ConsoleRoleName(r)) return r;
  }
  return InvalidArgument("role must be one of owner, reviewer, oncall, admin or viewer, got '" + name + "'");
}

namespace {

server::Permission PermissionFor(ActionKind kind) {
  // The service's routes decide; the label has no route of its own and is a reviewer's act.
  switch (kind) {
    case ActionKind::kCreate: return server::MatchRoute("POST", "/v1/experiments").permission;
    case ActionKind::kSignOff: return server::MatchRoute("POST", "/v1/experiments/x/sign-off").permission;
    case ActionKind::kLabel: return server::Permission::kReview;
    case ActionKind::kKillSwitch: return server::MatchRoute("POST", "/v1/kill-switch").permission;
    default: return server::MatchRoute("POST", std::string("/v1/experiments/x/") + ActionName(kind)).permission;
  }
}

}  // namespace

Status Forbidden(const std::string& message) { return FailedPrecondition("forbidden: " + message); }

bool IsForbidden(const Status& status) {
  return status.code() == StatusCode::kFailedPrecondition && status.message().rfind("forbidden: ", 0) == 0;
}

Status CheckRole(ConsoleRole role, ActionKind kind) {
  const server::Permission need = PermissionFor(kind);
  if (role == ConsoleRole::kViewer) {
    return Forbidden(std::string("the console was opened without a role; ") + ActionName(kind) + " needs role " +
                            server::PermissionRoles(need) + " (start it with --role)");
  }
  storage::Role as_token = storage::Role::kAdmin;
  switch (role) {
    case ConsoleRole::kOwner: as_token = storage::Role::kOwner; break;
    case ConsoleRole::kReviewer: as_token = storage::Role::kReviewer; break;
    case ConsoleRole::kOncall: as_token = storage::Role::kOncall; break;
    default: break;
  }
  if (server::RoleAllows(as_token, need)) return Status::Ok();
  return Forbidden(std::string("role ") + ConsoleRoleName(role) + " may not " + ActionName(kind) + "; it needs role " +
                          server::PermissionRoles(need));
}

namespace {

class LocalSource final : public DataSource {
 public:
  explicit LocalSource(LocalSourceOptions options) : options_(std::move(options)) {}
  std::string name() const override { return options_.db_path; }
  ConsoleRole role() const override { return options_.role; }

  StatusOr<std::optional<ConsoleSnapshot>> Poll() override {
    const auto start = std::chrono::steady_clock::now();
    if (!db_) {
      storage::DatabaseOptions o;
      o.read_only = true;
      ASSIGN_OR_RETURN(db_, storage::Database::Open(options_.db_path, o));
      reader_ = std::make_unique<IncrementalReader>();  // a new connection starts from scratch
      data_version_ = -1;
    }
    auto version = storage::DataVersion(*db_);
    if (!version.ok()) {
      db_.reset();
      return version.status();
    }
    if (*version == data_version_) return std::optional<ConsoleSnapshot>();
    ConsoleSnapshot snap;
    snap.source = options_.db_path;
    snap.taken_at_ms = SystemClock::Default().NowMillis();
    // One read transaction: every figure of a snapshot comes from one state of the database.
    Status read = db_->Exec("BEGIN");
    if (read.ok()) read = reader_->Refresh(*db_, snap.taken_at_ms, snap);
    const Status ended = db_->Exec("COMMIT");
    if (read.ok()) read = ended;
    if (!read.ok()) {
      db_.reset();
      return read;
    }
    data_version_ = *version;
    snap.refresh_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    return std::optional<ConsoleSnapshot>(std::move(snap));
  }

  StatusOr<GovernanceReport> Audit(const std::string& experiment) override {
    ASSIGN_OR_RETURN(auto db, OpenReadOnly());
    serving::RolloutController controller(*db, SystemClock::Default());
    ASSIGN_OR_RETURN(auto config, controller.Config(experiment));
    GovernanceReport report;
    report.options.bootstrap = options_.audit_bootstrap;
    report.options.computed_at_ms = SystemClock::Default().NowMillis();
    report.options.excluded_arm = "excluded";  // serving::kExcludedArm
    RETURN_IF_ERROR(db->Exec("BEGIN"));
    auto audit = fairness::AuditExperiment(*db, config, report.options);
    RETURN_IF_ERROR(db->Exec("COMMIT"));
    if (!audit.ok()) return audit.status();
    report.audit = std::move(audit).value();
    report.hash = fairness::ExperimentAuditHash(report.audit, report.options);
    return report;
  }

  StatusOr<std::vector<fairness::ReviewSample>> Sample(const std::string& experiment, int n, uint64_t seed) override {
    ASSIGN_OR_RETURN(auto db, OpenReadOnly());
    serving::RolloutController controller(*db, SystemClock::Default());
    ASSIGN_OR_RETURN(auto config, controller.Config(experiment));
    return fairness::DrawReviewSample(*db, config, n, seed, fairness::AuditOptions{});
  }

  StatusOr<std::string> Validate(const std::string& path) override {
    ASSIGN_OR_RETURN(auto config, experiment::LoadExperimentConfig(path, options_.known_models));
    return "ok: '" + config.name + "', " + std::to_string(config.arms.size()) + " arms, " + std::to_string(config.ramp.size()) +
           " ramp steps, " + std::to_string(config.guardrails.size()) + " guardrails";
  }

  StatusOr<std::string> Run(const Action& a) override {
    RETURN_IF_ERROR(CheckRole(options_.role, a.kind));
    if (a.actor.empty()) return InvalidArgument("actor: required: who is acting (recorded in the audit log)");
    RETURN_IF_ERROR(CheckLine(a.actor, "actor"));
    RETURN_IF_ERROR(CheckLine(a.reason, "reason"));
    const bool reason_required = a.kind == ActionKind::kRollback || a.kind == ActionKind::kStop ||
                                 a.kind == ActionKind::kSignOff || a.kind == ActionKind::kKillSwitch;
    if (reason_required && a.reason.empty()) return InvalidArgument("reason: required: say why (recorded in the audit log)");
    ASSIGN_OR_RETURN(auto db, storage::Database::Open(options_.db_path));
    serving::RolloutController controller(*db, SystemClock::Default());
    const std::string& name = a.experiment;
    switch (a.kind) {
      case ActionKind::kCreate: {
        ASSIGN_OR_RETURN(ConfigNode root, a.definition.empty() ? ConfigNode::LoadFile(a.definition_source)
                                                               : ConfigNode::Parse(a.definition, a.definition_source.empty() ? "definition" : a.definition_source));
        ASSIGN_OR_RETURN(auto config, experiment::ParseExperimentConfig(root, options_.known_models));
        ASSIGN_OR_RETURN(int64_t version, controller.Create(config, a.actor, a.reason));
        ASSIGN_OR_RETURN(auto after, controller.Status(config.name));
        if (after.pending_version == version) {
          return "'" + config.name + "' version " + std::to_string(version) + " proposed; it takes effect once approved";
        }
        return "'" + config.name + "' saved as version " + std::to_string(version);
      }
      case ActionKind::kStart:
        RETURN_IF_ERROR(controller.Start(name, a.actor, a.reason));
        break;
      case ActionKind::kPromote:
        RETURN_IF_ERROR(controller.Promote(name, a.actor, a.reason));
        break;
      case ActionKind::kStop:
        RETURN_IF_ERROR(controller.Stop(name, a.actor, a.reason));
        break;
      case ActionKind::kRollback:
        RETURN_IF_ERROR(controller.Rollback(name, a.actor, a.reason));
        break;
      case ActionKind::kKillSwitch:
        RETURN_IF_ERROR(controller.SetKillSwitch(a.on, a.actor, a.reason));
        return std::string("kill switch ") + (a.on ? "ON: every live experiment rolled back" : "off");
      case ActionKind::kSignOff: {
        if (!a.evidence) return InvalidArgument("evidence: required: compute the audit first");
        if (a.evidence->audit.name != name) return InvalidArgument("evidence: the audit is of '" + a.evidence->audit.name + "', not '" + name + "'");
        ASSIGN_OR_RETURN(auto config, controller.Config(name));
        // The audit the reviewer looked at is the evidence recorded: its hash, not a recomputed one.
        const serving::SignOff s = serving::SignOffFor(a.evidence->audit, a.evidence->options, config.audits,
                                                       a.approve ? serving::SignOff::Decision::kApprove : serving::SignOff::Decision::kBlock,
                                                       a.actor, a.reason);
        RETURN_IF_ERROR(controller.SignOffStep(name, s));
        return std::string(a.approve ? "approved" : "blocked") + " '" + name + "' with audit " + s.report_hash.substr(0, 12) + "...";
      }
      case ActionKind::kLabel: {
        RETURN_IF_ERROR(fairness::CheckReviewLabel(a.label));
        storage::ReviewLabel l;
        l.request_id = a.request_id;
        l.actor = a.actor;
        l.label = a.label;
        l.note = a.note;
        l.ts_ms = SystemClock::Default().NowMillis();
        RETURN_IF_ERROR(fairness::RecordReviewLabel(*db, l));
        return "labelled request " + std::to_string(a.request_id) + " '" + a.label + "'";
      }
    }
    ASSIGN_OR_RETURN(auto status, controller.Status(name));
    return std::string(ActionName(a.kind)) + " '" + name + "': now " + experiment::RolloutStateName(status.state);
  }

 private:
  StatusOr<std::unique_ptr<storage::Database>> OpenReadOnly() {
    storage::DatabaseOptions o;
    o.read_only = true;
    return storage::Database::Open(options_.db_path, o);
  }

  LocalSourceOptions options_;
  std::unique_ptr<storage::Database> db_;  // the poller's connection
  std::unique_ptr<IncrementalReader> reader_;
  int64_t data_version_ = -1;
};

}  // namespace

std::unique_ptr<DataSource> MakeLocalSource(LocalSourceOptions options) {
  return std::make_unique<LocalSource>(std::move(options));
}

}  // namespace steward::console
