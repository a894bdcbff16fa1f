// DashboardSnapshot: everything the dashboard shows, read from the database in one go. Plain data,
// no ImGui: the UI thread draws the latest snapshot; a background poller produces them.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/status.h"
#include "experiment/experiment_config.h"
#include "experiment/rollout.h"
#include "shadow/report.h"
#include "storage/audit_log.h"
#include "storage/experiment_store.h"
#include "storage/queries.h"

namespace steward::gui {

// The rollout controller's view of one experiment.
struct RolloutView {
  std::string name;
  experiment::RolloutStatus status;
  experiment::ExperimentConfig config;
  bool valid = false;  // false when the stored status or config could not be read
  std::string error;   // why not (e.g. the stored state is not the audit chain's)
  bool tampered = false;  // the stored state or version is not the audit chain's
};

struct DashboardSnapshot {
  std::string db_path;
  int64_t taken_at_ms = 0;
  std::vector<storage::ExperimentRecord> experiments;
  std::vector<RolloutView> rollouts;  // same order as experiments
  bool kill_switch = false;
  shadow::ShadowReport shadow_report;  // refreshed less often than the rest (it scans every exposure)
  std::vector<storage::ArmCounts> arms;
  std::vector<storage::TimelinePoint> timeline;  // hourly buckets of event time
  std::vector<storage::AuditEntry> recent_audit;  // newest first
  storage::Totals totals;
  bool audit_chain_ok = true;
  int64_t audit_first_bad_seq = 0;
  std::string audit_problem;            // why the chain is not ok
  int64_t audit_anchored_seq = 0;       // rows the anchor file vouches for
  std::string audit_unanchored_reason;  // "" when anchored
  std::string error;  // set when the last refresh failed; the rest is the previous good data
};

// Reads one snapshot through a read-only connection, in one read transaction (every figure of a
// frame comes from the same state of the database); the shadow report only when asked.
StatusOr<DashboardSnapshot> LoadSnapshot(const std::string& db_path, bool with_shadow_report = true);
StatusOr<DashboardSnapshot> LoadSnapshot(storage::Database& db, bool with_shadow_report);

// The on-call action: rolls the experiment back (treatment coverage to 0, durable, audited with
// the actor and reason). Opens its own read-write connection.
Status RollbackExperiment(const std::string& db_path, const std::string& name, const std::string& actor,
                          const std::string& reason);

// Refreshes a snapshot every `interval_ms` on a background thread. latest() never blocks on I/O.
class SnapshotPoller {
 public:
  // `on_publish` (optional) is called on the poller thread after each new snapshot, e.g. to wake
  // a UI that sleeps until input or new data arrives.
  SnapshotPoller(std::string db_path, int interval_ms, std::function<void()> on_publish = nullptr);
  ~SnapshotPoller();
  std::shared_ptr<const DashboardSnapshot> latest() const;
  // Number of refreshes completed (successful or not).
  uint64_t refreshes() const { return refreshes_.load(); }
  // Blocks until at least one refresh has completed.
  void WaitFirst();

 private:
  void Run();
  // Loads a snapshot when the database changed since the last one (PRAGMA data_version on a kept
  // connection): an idle database costs one pragma per interval, not a reload.
  StatusOr<std::optional<DashboardSnapshot>> LoadIfChanged(bool with_shadow);
  std::function<void()> on_publish_;
  std::unique_ptr<storage::Database> db_;  // the poller thread's read-only connection
  int64_t data_version_ = -1;
  std::string db_path_;
  int interval_ms_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::shared_ptr<const DashboardSnapshot> latest_;
  std::atomic<uint64_t> refreshes_{0};
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace steward::gui
