#include "serving/rollout_driver.h"

#include <chrono>

#include <nlohmann/json.hpp>

#include "common/json.h"

#include "serving/controller.h"
#include "serving/pipeline.h"
#include "storage/database.h"
#include "storage/lease.h"
#include "storage/queries.h"

namespace steward::serving {

using experiment::RolloutState;

SignOff SignOffFor(const fairness::ExperimentAudit& audit, const fairness::AuditOptions& options,
                   const experiment::AuditsConfig& audits, SignOff::Decision decision, std::string actor, std::string reason) {
  SignOff s;
  s.decision = decision;
  s.actor = std::move(actor);
  s.reason = std::move(reason);
  s.report_hash = fairness::ExperimentAuditHash(audit, options);
  s.definitions_version = fairness::kDefinitionsVersion;
  s.thresholds_json = experiment::AuditsConfigJson(audits);
  s.computed_at_ms = audit.computed_at_ms;
  s.audit_passed = audit.passed;
  s.failures = audit.failures;
  return s;
}

RolloutDriver::RolloutDriver(std::unique_ptr<storage::Database> db, experiment::ExperimentConfig config, DriverOptions options)
    : db_(std::move(db)),
      controller_(std::make_unique<RolloutController>(*db_, clock_)),
      config_(std::move(config)),
      options_(std::move(options)),
      metrics_(static_cast<int>(config_.arms.size())) {}

RolloutDriver::~RolloutDriver() = default;

StatusOr<std::unique_ptr<RolloutDriver>> RolloutDriver::Open(const std::string& db_path, const std::string& name, int64_t now_ms,
                                                             DriverOptions options) {
  ASSIGN_OR_RETURN(auto db, storage::Database::Open(db_path));
  ManualClock clock(now_ms);
  ASSIGN_OR_RETURN(experiment::ExperimentConfig config, RolloutController(*db, clock).Config(name));
  std::unique_ptr<storage::Database> events_db;
  if (!options.events_db.empty()) {
    ASSIGN_OR_RETURN(events_db, storage::Database::Open(options.events_db));
  }
  std::unique_ptr<RolloutDriver> driver(new RolloutDriver(std::move(db), std::move(config), std::move(options)));
  driver->events_db_ = std::move(events_db);
  storage::Database& events = driver->events_db_ ? *driver->events_db_ : *driver->db_;
  driver->clock_.SetMillis(now_ms);
  RETURN_IF_ERROR(driver->Reload());
  // The analysis grid continues from the last stored analysis.
  driver->next_analysis_ms_ = driver->status_.last_eval_ms > 0 ? driver->status_.last_eval_ms + driver->config_.evaluation.interval_ms
                                                              : now_ms + driver->config_.evaluation.interval_ms;
  // The guardrails' evidence: every stored list of the experiment, in request order (the order the
  // live process counted them, so the sums are the same to the last bit).
  std::vector<std::string> arm_names;
  for (const auto& arm : driver->config_.arms) arm_names.push_back(arm.name);
  RETURN_IF_ERROR(storage::ForEachListOutcome(events, name, INT64_MAX, [&](const storage::ListOutcomeRow& row) {
    ++driver->rebuilt_lists_;
    for (size_t a = 0; a < arm_names.size(); ++a) {
      if (row.arm != arm_names[a]) continue;
      experiment::RequestOutcome outcome;
      outcome.clicks = static_cast<double>(row.clicks);
      outcome.conversions = static_cast<double>(row.conversions);
      outcome.latency_ms = static_cast<double>(row.latency_us) / 1000.0;
      driver->metrics_.Record(static_cast<int>(a), row.user_id, outcome);
    }
  }));
  if (driver->status_.state == RolloutState::kShadow) {
    ASSIGN_OR_RETURN(driver->shadow_requests_, storage::CountExposuresSince(events, name, driver->status_.step_started_ms));
  }
  return driver;
}

Status RolloutDriver::Reload() {
  ASSIGN_OR_RETURN(status_, controller_->Status(config_.name));
  std::lock_guard lock(metrics_mu_);
  in_shadow_ = status_.state == RolloutState::kShadow;
  shadow_since_ms_ = status_.step_started_ms;
  return Status::Ok();
}

fairness::AuditOptions RolloutDriver::AuditOptionsAt(int64_t at_ms, int bootstrap) const {
  fairness::AuditOptions o = options_.audit;
  o.bootstrap = bootstrap;
  o.until_ms = at_ms;
  o.computed_at_ms = at_ms;
  o.excluded_arm = kExcludedArm;
  return o;
}

bool RolloutDriver::StepDurationMet(int64_t at_ms) const {
  if (!experiment::IsLive(status_.state) || config_.ramp.empty() || status_.step < 0) return false;
  const auto step = static_cast<size_t>(std::min(status_.step, static_cast<int>(config_.ramp.size()) - 1));
  return at_ms - status_.step_started_ms >= config_.ramp[step].min_duration_ms;
}

Status RolloutDriver::Start(const std::string& actor, const std::string& reason, int64_t now_ms) {
  RETURN_IF_ERROR(Reload());
  if (status_.state != RolloutState::kDraft) return Status::Ok();
  clock_.SetMillis(now_ms);
  RETURN_IF_ERROR(controller_->Start(config_.name, actor, reason));
  RETURN_IF_ERROR(Reload());
  {
    std::lock_guard lock(metrics_mu_);
    shadow_requests_ = 0;
  }
  if (options_.after_change) RETURN_IF_ERROR(options_.after_change());
  return Status::Ok();
}

void RolloutDriver::Record(int arm_index, int64_t user, const experiment::RequestOutcome& outcome, int64_t ts_ms) {
  std::lock_guard lock(metrics_mu_);
  if (in_shadow_ && ts_ms >= shadow_since_ms_) ++shadow_requests_;
  if (arm_index >= 0 && arm_index < metrics_.num_arms()) metrics_.Record(arm_index, user, outcome);
}

StatusOr<bool> RolloutDriver::HoldLease() {
  if (options_.lease_holder.empty()) return true;
  const int64_t wall_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  return storage::TryAcquireLease(*db_, "rollout:" + config_.name, options_.lease_holder, wall_ms, options_.lease_ms);
}

StatusOr<std::vector<DriverEvent>> RolloutDriver::Tick(int64_t now_ms) {
  std::vector<DriverEvent> events;
  ASSIGN_OR_RETURN(driving_, HoldLease());
  if (!driving_) {
    // Another replica drives this rollout: its analyses are not ours to run. Keep the grid, so a
    // takeover continues from the next one due.
    while (now_ms >= next_analysis_ms_) next_analysis_ms_ += config_.evaluation.interval_ms;
    return events;
  }
  while (now_ms >= next_analysis_ms_) {
    const int64_t at = next_analysis_ms_;
    next_analysis_ms_ += config_.evaluation.interval_ms;
    clock_.SetMillis(at);
    RETURN_IF_ERROR(Reload());  // another process may have acted (rollback, approval, kill switch)
    if (status_.state == RolloutState::kShadow) {
      int64_t shadowed;
      if (options_.global_evidence) {
        ASSIGN_OR_RETURN(DriverOptions::GlobalEvidence evidence, options_.global_evidence(config_, status_.step_started_ms, at));
        shadowed = evidence.lists;
      } else {
        std::lock_guard lock(metrics_mu_);
        shadowed = shadow_requests_;
      }
      if (experiment::ShadowPhaseDone(config_, status_, at, shadowed)) {
        RETURN_IF_ERROR(controller_->Start(config_.name, options_.actor,
                                           "shadow phase done (" + std::to_string(shadowed) + " requests shadowed): start the ramp"));
        RETURN_IF_ERROR(Reload());
        events.push_back({DriverEvent::Kind::kShadowEnded, at, {}, {}});
        if (options_.after_change) RETURN_IF_ERROR(options_.after_change());
      }
      continue;
    }
    if (!experiment::IsLive(status_.state)) continue;
    if (options_.before_analysis) RETURN_IF_ERROR(options_.before_analysis());
    // `audits: {on_fail: hold}`: the governance audit is computed when the step could advance.
    // It reads the whole experiment, so a verdict is reused for kGateReuseAnalyses analyses.
    std::optional<experiment::AuditGate> gate;
    const bool gated = config_.audits.declared && config_.audits.on_fail == experiment::AuditOnFail::kHold && StepDurationMet(at);
    if (gated && last_gate_ && last_gate_step_ == status_.step &&
        at - last_gate_at_ms_ < kGateReuseAnalyses * config_.evaluation.interval_ms) {
      gate = last_gate_;
    } else if (gated) {
      const fairness::AuditOptions gate_options = AuditOptionsAt(at, 0);
      ASSIGN_OR_RETURN(const fairness::ExperimentAudit audit, fairness::AuditExperiment(events_db_ ? *events_db_ : *db_, config_, gate_options));
      gate.emplace();
      gate->failed = !audit.passed;
      for (const std::string& f : audit.failures) gate->reason += (gate->reason.empty() ? "" : "; ") + f;
      gate->evidence_json = DumpJson(nlohmann::json{{"report_hash", fairness::ExperimentAuditHash(audit, gate_options)},
                                                    {"definitions_version", fairness::kDefinitionsVersion},
                                                    {"failures", audit.failures},
                                                    {"computed_at_ms", at}});
      last_gate_ = gate;
      last_gate_at_ms_ = at;
      last_gate_step_ = status_.step;
    }
    experiment::Analysis analysis;
    if (options_.global_evidence) {
      ASSIGN_OR_RETURN(const DriverOptions::GlobalEvidence evidence, options_.global_evidence(config_, 0, at));
      ASSIGN_OR_RETURN(analysis, controller_->Evaluate(config_.name, evidence.metrics, at, gate ? &*gate : nullptr));
    } else {
      std::lock_guard lock(metrics_mu_);
      ASSIGN_OR_RETURN(analysis, controller_->Evaluate(config_.name, metrics_, at, gate ? &*gate : nullptr));
    }
    RETURN_IF_ERROR(Reload());
    const bool changed = analysis.action == experiment::Action::kAdvance || analysis.action == experiment::Action::kRollback ||
                         analysis.action == experiment::Action::kComplete;
    events.push_back({DriverEvent::Kind::kAnalysis, at, analysis, {}});
    const bool review_due = last_review_step_ != status_.step || at - last_review_at_ms_ >= kGateReuseAnalyses * config_.evaluation.interval_ms;
    if (!status_.waiting_for_role.empty() && status_.waiting_for_role == config_.audits.reviewer_role && options_.reviewer) {
      if (review_due) {
        last_review_at_ms_ = at;
        last_review_step_ = status_.step;
        const fairness::AuditOptions review_options = AuditOptionsAt(at, options_.audit.bootstrap);
        ASSIGN_OR_RETURN(const fairness::ExperimentAudit audit, fairness::AuditExperiment(events_db_ ? *events_db_ : *db_, config_, review_options));
        if (std::optional<Approval> approval = options_.reviewer(audit, status_)) {
          const SignOff s = SignOffFor(audit, review_options, config_.audits, SignOff::Decision::kApprove, approval->actor, approval->reason);
          const std::string role = status_.waiting_for_role;
          RETURN_IF_ERROR(controller_->SignOffStep(config_.name, s));
          RETURN_IF_ERROR(Reload());
          events.push_back({DriverEvent::Kind::kApproved, at, {}, role});
        }
      }
    } else if (!status_.waiting_for_role.empty() && options_.approver) {
      const std::string role = status_.waiting_for_role;
      if (std::optional<Approval> approval = options_.approver(role, status_)) {
        RETURN_IF_ERROR(controller_->Approve(config_.name, role, approval->actor, approval->reason));
        RETURN_IF_ERROR(Reload());
        events.push_back({DriverEvent::Kind::kApproved, at, {}, role});
      }
    }
    if (changed && options_.after_change) RETURN_IF_ERROR(options_.after_change());
  }
  return events;
}

DriverState RolloutDriver::state() const {
  DriverState s;
  s.state = status_.state;
  s.step = status_.step;
  s.coverage = experiment::ServingCoverage(config_, status_);
  if (!status_.waiting_for_role.empty()) s.waiting_for_role = status_.waiting_for_role;
  s.next_analysis_ms = next_analysis_ms_;
  std::lock_guard lock(metrics_mu_);
  s.shadow_requests = shadow_requests_;
  return s;
}

experiment::RolloutStatus RolloutDriver::status() const { return status_; }

std::vector<double> RolloutDriver::UsersPerArm() const {
  std::lock_guard lock(metrics_mu_);
  std::vector<double> users;
  for (int a = 0; a < metrics_.num_arms(); ++a) users.push_back(static_cast<double>(metrics_.Users(a)));
  return users;
}

}  // namespace steward::serving
