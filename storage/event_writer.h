// EventWriter: the production ingest path. Producers submit exposures and feedback; one writer
// thread with its own connection drains a bounded queue and commits whatever has accumulated as
// one transaction (group commit).
//
// Back-pressure: Submit() blocks while the queue holds `queue_capacity` events, so a writer that
// falls behind slows producers instead of growing memory. TrySubmit() returns kUnavailable instead.
//
// Durability contract: an event is *reported committed* once committed() covers its sequence
// number (or WaitCommitted() returned OK, or on_commit was called for it). A reported event
// survives kill -9 of the process (kNormal and kFull) and power loss (kFull).
//
// Bad events: an event the database refuses for a constraint (a duplicate request id, say) is
// stored in `rejected_events` with its payload and the reason, counted in stats().rejected and
// logged; it counts as committed and ingest goes on. Any other failure (disk full, I/O) stops the
// writer and is reported to every producer: nothing is silently dropped.
//
// Thread safety: Submit/TrySubmit/WaitCommitted/Flush/committed are safe from any thread.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/status.h"
#include "storage/database.h"
#include "storage/events.h"

namespace steward::storage {

class Statement;

struct EventWriterOptions {
  // Most events waiting in the queue before producers block. Default: 65536.
  size_t queue_capacity = 65536;
  // Durability of each group commit. Default: kFull.
  SyncMode sync = SyncMode::kFull;
  // Called on the writer thread after each commit with the highest committed sequence number and
  // the batch size. Must be quick and must not call back into the writer. Default: none.
  std::function<void(uint64_t committed_seq, size_t batch_size)> on_commit;
};

struct EventWriterStats {
  uint64_t submitted = 0;
  uint64_t committed = 0;
  uint64_t batches = 0;
  uint64_t producer_waits = 0;  // times a producer blocked on a full queue
  uint64_t rejected = 0;        // events the database refused, kept in rejected_events
  size_t max_batch = 0;
  bool failed = false;     // the writer stopped on an error (disk full, I/O): nothing more is stored
  size_t queue_depth = 0;  // events waiting now
  size_t queue_capacity = 0;
  // Commit latency (one group commit, fsync included): cumulative counts of commits at or under
  // each bound of kCommitBucketsSeconds, and their sum (every commit: `batches`).
  static constexpr double kCommitBucketsSeconds[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0};
  static constexpr size_t kCommitBuckets = sizeof(kCommitBucketsSeconds) / sizeof(double);
  uint64_t commit_le[kCommitBuckets] = {};
  double commit_seconds_sum = 0.0;
};

class EventWriter {
 public:
  // Opens its own connection to `path` (creating and migrating the database if needed) and starts
  // the writer thread.
  static StatusOr<std::unique_ptr<EventWriter>> Start(const std::string& path, EventWriterOptions options = {});
  ~EventWriter();  // Close()s, logging any error
  EventWriter(const EventWriter&) = delete;
  EventWriter& operator=(const EventWriter&) = delete;

  // Enqueues the event, blocking while the queue is full. Returns its sequence number (1, 2, ...).
  // Errors: kFailedPrecondition after Close() or once the writer has failed (the failure's message).
  StatusOr<uint64_t> Submit(Event event);
  // Enqueues a batch atomically with respect to other producers; returns the last sequence number.
  StatusOr<uint64_t> SubmitBatch(std::vector<Event> events);
  // Like Submit but returns kUnavailable instead of blocking when the queue is full.
  StatusOr<uint64_t> TrySubmit(Event event);

  // Blocks until every event up to `seq` is committed, or the writer fails.
  Status WaitCommitted(uint64_t seq);
  // Blocks until everything submitted so far is committed.
  Status Flush();
  // Flushes, stops the thread and closes the connection. Idempotent.
  Status Close();

  uint64_t committed() const { return committed_.load(std::memory_order_acquire); }
  EventWriterStats stats() const;

 private:
  EventWriter(std::unique_ptr<Database> db, EventWriterOptions options);
  void Run();
  Status WriteBatch(const std::vector<Event>& batch);
  // Inserts every event; one the database refuses for a constraint goes to rejected_events with
  // the reason (`rejected` counts them) and the rest of the batch still commits.
  static Status InsertAll(const std::vector<Event>& batch, Statement& exposure_stmt, Statement& feedback_stmt,
                          Statement& shadow_stmt, Statement& rejected_stmt, uint64_t& rejected);
  StatusOr<uint64_t> Enqueue(std::vector<Event>& events, bool block);

  std::unique_ptr<Database> db_;
  EventWriterOptions options_;

  mutable std::mutex mu_;
  std::condition_variable not_empty_;
  std::condition_variable not_full_;
  std::condition_variable committed_cv_;
  std::vector<Event> queue_;
  uint64_t submitted_ = 0;
  bool stopping_ = false;
  bool writer_waiting_ = false;
  Status failure_;
  EventWriterStats stats_;
  std::atomic<uint64_t> committed_{0};
  std::thread thread_;
};

}  // namespace steward::storage
