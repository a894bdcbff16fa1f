#include "gui/snapshot.h"

#include "common/clock.h"
#include "serving/controller.h"
#include "serving/safety_policy.h"
#include "storage/database.h"
#include "storage/queries.h"

namespace steward::gui {

StatusOr<DashboardSnapshot> LoadSnapshot(const std::string& db_path, bool with_shadow_report) {
  storage::DatabaseOptions options;
  options.read_only = true;
  ASSIGN_OR_RETURN(auto db, storage::Database::Open(db_path, options));
  return LoadSnapshot(*db, with_shadow_report);
}

namespace {

StatusOr<DashboardSnapshot> ReadSnapshot(storage::Database& db, bool with_shadow_report) {
  DashboardSnapshot snap;
  snap.db_path = db.path();
  snap.taken_at_ms = SystemClock::Default().NowMillis();
  storage::ExperimentStore experiments(db);
  ASSIGN_OR_RETURN(snap.experiments, experiments.List());
  serving::RolloutController controller(db, SystemClock::Default());
  for (const storage::ExperimentRecord& e : snap.experiments) {
    RolloutView view;
    view.name = e.name;
    auto config = controller.Config(e.name);
    auto status = controller.Status(e.name);
    if (config.ok() && status.ok()) {
      view.config = std::move(config).value();
      view.status = std::move(status).value();
      view.valid = true;
    } else {
      const Status& why = !config.ok() ? config.status() : status.status();
      view.error = why.message();
      view.tampered = why.code() == StatusCode::kDataLoss;
    }
    snap.rollouts.push_back(std::move(view));
  }
  ASSIGN_OR_RETURN(snap.kill_switch, controller.KillSwitch());
  ASSIGN_OR_RETURN(snap.arms, storage::QueryArmCounts(db));
  ASSIGN_OR_RETURN(snap.timeline, storage::QueryTimeline(db, 3'600'000));
  storage::AuditLog audit(db);
  ASSIGN_OR_RETURN(snap.recent_audit, audit.Recent(50));
  ASSIGN_OR_RETURN(snap.totals, storage::QueryTotals(db));
  ASSIGN_OR_RETURN(storage::AuditVerifyResult verify, audit.Verify());
  snap.audit_chain_ok = verify.ok;
  snap.audit_first_bad_seq = verify.first_bad_seq;
  snap.audit_problem = verify.problem;
  snap.audit_anchored_seq = verify.anchored_seq;
  snap.audit_unanchored_reason = verify.unanchored_reason;
  if (verify.ok && verify.rows == 0 && (!snap.experiments.empty() || snap.totals.exposures > 0)) {
    // Experiments or traffic without a single audit row: the log was emptied (or never kept).
    snap.audit_chain_ok = false;
    snap.audit_problem = "the audit log is empty but the database holds " + std::to_string(snap.experiments.size()) +
                         " experiments and " + std::to_string(snap.totals.exposures) + " exposures";
  }
  for (const RolloutView& r : snap.rollouts) {
    if (r.tampered && snap.audit_chain_ok) {
      snap.audit_chain_ok = false;
      snap.audit_problem = "experiment '" + r.name + "': " + r.error;
    }
  }
  if (with_shadow_report) {
    // Violations counted against the policy each run recorded (serving/safety_policy.h).
    shadow::ShadowReportOptions report_options;
    ASSIGN_OR_RETURN(auto policies, serving::ResolveSafetyPolicies(db, "", report_options));
    ASSIGN_OR_RETURN(snap.shadow_report, shadow::BuildShadowReport(db, report_options));
  }
  return snap;
}

}  // namespace

StatusOr<DashboardSnapshot> LoadSnapshot(storage::Database& db, bool with_shadow_report) {
  RETURN_IF_ERROR(db.Exec("BEGIN"));  // one read transaction: one state of the database per frame
  StatusOr<DashboardSnapshot> snap = ReadSnapshot(db, with_shadow_report);
  const Status ended = db.Exec("COMMIT");
  if (!snap.ok()) return snap.status();
  RETURN_IF_ERROR(ended);
  return snap;
}

Status RollbackExperiment(const std::string& db_path, const std::string& name, const std::string& actor,
                          const std::string& reason) {
  ASSIGN_OR_RETURN(auto db, storage::Database::Open(db_path));
  serving::RolloutController controller(*db, SystemClock::Default());
  return controller.Rollback(name, actor, reason);
}

SnapshotPoller::SnapshotPoller(std::string db_path, int interval_ms, std::function<void()> on_publish)
    : on_publish_(std::move(on_publish)),
      db_path_(std::move(db_path)), interval_ms_(interval_ms), thread_([this] { Run(); }) {}

SnapshotPoller::~SnapshotPoller() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

std::shared_ptr<const DashboardSnapshot> SnapshotPoller::latest() const {
  std::lock_guard lock(mu_);
  return latest_;
}

void SnapshotPoller::WaitFirst() {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [&] { return refreshes_.load() > 0 || stop_; });
}

StatusOr<std::optional<DashboardSnapshot>> SnapshotPoller::LoadIfChanged(bool with_shadow) {
  if (!db_) {
    storage::DatabaseOptions options;
    options.read_only = true;
    auto opened = storage::Database::Open(db_path_, options);
    if (!opened.ok()) return opened.status();
    db_ = std::move(opened).value();
    data_version_ = -1;
  }
  auto version = storage::DataVersion(*db_);
  if (!version.ok()) {
    db_.reset();  // reopen next time
    return version.status();
  }
  if (*version == data_version_) return std::optional<DashboardSnapshot>();
  auto snap = LoadSnapshot(*db_, with_shadow);
  if (!snap.ok()) {
    db_.reset();
    return snap.status();
  }
  data_version_ = *version;
  return std::optional<DashboardSnapshot>(std::move(snap).value());
}

void SnapshotPoller::Run() {
  uint64_t round = 0;
  while (true) {
    // The shadow report scans every exposure: refresh it every 10th reload only.
    const bool with_shadow = round % 10 == 0;
    StatusOr<std::optional<DashboardSnapshot>> snap = LoadIfChanged(with_shadow);
    if (snap.ok() && !snap->has_value()) {  // nothing changed: nothing to do
      std::unique_lock lock(mu_);
      if (cv_.wait_for(lock, std::chrono::milliseconds(interval_ms_), [&] { return stop_; })) return;
      continue;
    }
    ++round;
    if (snap.ok() && !with_shadow) {
      std::lock_guard lock(mu_);
      if (latest_) (*snap)->shadow_report = latest_->shadow_report;
    }
    std::shared_ptr<DashboardSnapshot> next;
    {
      std::lock_guard lock(mu_);
      if (snap.ok()) {
        next = std::make_shared<DashboardSnapshot>(std::move(**snap));
      } else {
        // Keep showing the last good data, with the error on top.
        next = latest_ ? std::make_shared<DashboardSnapshot>(*latest_) : std::make_shared<DashboardSnapshot>();
        next->db_path = db_path_;
        next->error = snap.status().message();
      }
      latest_ = std::move(next);
      refreshes_.fetch_add(1);
    }
    if (on_publish_) on_publish_();
    cv_.notify_all();
    std::unique_lock lock(mu_);
    if (cv_.wait_for(lock, std::chrono::milliseconds(interval_ms_), [&] { return stop_; })) return;
  }
}

}  // namespace steward::gui
