// Session: one console's connection to a DataSource. A poller thread refreshes the snapshot every
// `refresh_ms` (only when the source changed); an action worker runs actions one at a time, and a
// second worker the slow reads (governance audits, review samples, validations), so a rollback
// never waits behind a ten-second audit and the UI thread never waits on I/O. The UI reads the latest snapshot and
// the finished tasks' results; nothing here knows ImGui.
//
// Thread safety: every public method may be called from any thread (the UI's, in practice).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "console/source.h"

namespace steward::console {

// A finished task, for the UI's message line.
struct TaskResult {
  uint64_t id = 0;
  std::string title;  // "rollback 'homepage-recs'"
  Status status;      // ok or why not
  std::string message;  // what happened (ok) or the error (not ok)
};

class Session {
 public:
  // `on_change` (optional) is called from the session's threads after a new snapshot or a finished
  // task, e.g. to wake a UI that sleeps until input or new data arrives.
  Session(std::unique_ptr<DataSource> source, int refresh_ms, std::function<void()> on_change = nullptr);
  ~Session();  // stops both threads (a running task finishes first)

  const DataSource& source() const { return *source_; }
  ConsoleRole role() const { return source_->role(); }

  // The latest snapshot (an empty one before the first refresh). Never blocks on I/O.
  std::shared_ptr<const ConsoleSnapshot> snapshot() const;
  uint64_t refreshes() const { return refreshes_.load(); }
  void WaitFirstRefresh();
  // Durations (ms) of the refreshes that loaded data, for --frame-stats.
  std::vector<double> refresh_durations() const;

  // Queues an action on the action worker; returns its id. The role is checked before anything is queued
  // (a refused action finishes at once with the refusal).
  uint64_t Submit(Action action);
  uint64_t RequestAudit(const std::string& experiment);
  uint64_t RequestSample(const std::string& experiment, int n, uint64_t seed);
  // Checks a definition file on the worker; validation(path) holds the outcome once done.
  uint64_t RequestValidation(const std::string& path);
  std::optional<StatusOr<std::string>> validation(const std::string& path) const;
  // The latest audit / sample of an experiment (nullptr when none yet).
  std::shared_ptr<const GovernanceReport> audit(const std::string& experiment) const;
  std::shared_ptr<const std::vector<fairness::ReviewSample>> sample(const std::string& experiment) const;
  // Results finished since the last call, oldest first.
  std::vector<TaskResult> TakeResults();
  // The running or queued task's title ("" when idle).
  std::string busy() const;
  bool audit_pending(const std::string& experiment) const;
  // Blocks until every queued task of both workers finished (tests, screenshots).
  void WaitIdle();

 private:
  struct Task {
    uint64_t id = 0;
    std::string title;
    std::function<StatusOr<std::string>()> work;
  };
  enum class Lane { kActions = 0, kReads = 1 };
  uint64_t Post(Lane lane, std::string title, std::function<StatusOr<std::string>()> work);
  void PollLoop();
  void WorkLoop(Lane lane);
  void Notify();

  std::unique_ptr<DataSource> source_;
  int refresh_ms_;
  std::function<void()> on_change_;
  mutable std::mutex mu_;
  std::condition_variable cv_;       // poller waits and WaitFirstRefresh
  std::condition_variable work_cv_;  // worker waits and WaitIdle
  bool stop_ = false;
  std::shared_ptr<const ConsoleSnapshot> latest_;
  std::atomic<uint64_t> refreshes_{0};
  std::vector<double> refresh_ms_seen_;
  std::deque<Task> queue_[2];   // by Lane
  std::string running_[2];
  uint64_t next_id_ = 1;
  std::vector<TaskResult> results_;
  std::map<std::string, std::shared_ptr<const GovernanceReport>> audits_;
  std::map<std::string, std::shared_ptr<const std::vector<fairness::ReviewSample>>> samples_;
  std::map<std::string, int> audits_pending_;
  std::map<std::string, StatusOr<std::string>> validations_;
  std::thread poller_, worker_, reader_;
};

}  // namespace steward::console
