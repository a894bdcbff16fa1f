// EventShipper: ships a replica's SQLite events (exposures, feedback, shadow_results) to
// ClickHouse (issue #14). A background thread with its own connection tails each table in commit
// order and sends batches of at most max_batch_rows rows, or whatever accumulated once the oldest
// unsent row has waited max_delay_ms.
//
// Commit order: feedback is tailed by its rowid (allocated at insert). exposures and
// shadow_results have the request id as rowid, and request ids commit out of order (reserved
// before serving, logged after), so tailing them by rowid would skip a late row below the cut of a
// batch. For them Start() installs an AFTER INSERT trigger that appends each new rowid to
// clickhouse_outbox_<table> (seq AUTOINCREMENT) in the inserting transaction, and enqueues the rows
// already there; the shipper tails the outbox by seq and deletes what ClickHouse acknowledged.
// Cost: one small outbox row per exposure or shadow result while it is unshipped. Uninstall()
// removes the triggers, outboxes and spool when a replica stops shipping.
//
// Durable spool: before a batch is sent it is recorded in `clickhouse_spool` in the same SQLite
// file (table, first and last position in the ship order, row count, SHA-256 of the TSV body,
// state pending, the destination URL for people). A batch is marked shipped only after ClickHouse
// acknowledged it; the table's watermark is the last shipped position. A failed send is retried
// with the *identical* batch (same range, byte-identical body: the hash is checked before a batch
// recorded by an earlier process is sent) after a backoff of 100 ms doubling to 5 s, forever;
// nothing is ever skipped. After a restart the pending batch is sent first, exactly as recorded,
// whatever URL the new process was given (one destination per SQLite file). ReplicatedMergeTree's
// block deduplication makes a repeated identical insert a no-op, so with a cluster every row lands
// exactly once. A single node's plain MergeTree (18.16) has no deduplication: an insert that
// committed but whose acknowledgement was lost lands twice there.
//
// Tables ship independently (feedback may reach ClickHouse before its exposure). Rows are assumed
// append-only: a deleted or changed row inside a pending batch is reported as kDataLoss in
// last_error and the batch is retried (never skipped) until the row is back.
//
// Thread safety: stats(), Flush() and Close() are safe from any thread.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "common/status.h"
#include "storage/clickhouse.h"

namespace steward::storage {

class Database;

struct ShipperOptions {
  // Most rows in one batch (one INSERT). Keep it under ClickHouse's max_insert_block_size
  // (1,048,576) so a batch is one block and a retried batch deduplicates. Default: 100000.
  int64_t max_batch_rows = 100000;
  // Longest a row waits for a fuller batch. Default: 1000.
  int max_delay_ms = 1000;
  // insert_quorum with a cluster (with insert_distributed_sync=1); 0 or 1 for none. Ignored on a
  // single node. Default: 2.
  int insert_quorum = 2;
  // How long a quorum insert waits for the shard's replicas before failing (and being retried).
  // Default: 10000.
  int64_t insert_quorum_timeout_ms = 10000;
  // Backoff between retries of a failed batch: initial, doubling up to max. Default: 100, 5000.
  int backoff_initial_ms = 100;
  int backoff_max_ms = 5000;
  // The `replica` column of every shipped row. Default: "" meaning this host's name.
  std::string replica;
  // Creates the event tables (EnsureEventSchema) before the first batch. Default: true.
  bool ensure_schema = true;
  // Time-outs of the HTTP calls. Default: ClickHouseOptions's.
  ClickHouseOptions clickhouse;
};

struct ShipperStats {
  int64_t rows_shipped = 0;     // rows acknowledged by ClickHouse since Start
  int64_t batches_shipped = 0;  // batches acknowledged since Start
  int64_t retries = 0;          // failed sends (each followed by a retry of the same batch)
  int64_t pending_rows = 0;     // rows in SQLite beyond the shipped watermarks (as of the last poll)
  std::string last_error;       // the last failure ("" after a success)
  int64_t last_ack_ms = 0;      // wall-clock ms of the last acknowledgement; 0 before the first
};

class EventShipper {
 public:
  // Opens its own connection to `sqlite_path` (creating the spool table if needed) and starts the
  // thread. ClickHouse need not be reachable yet: failures are retried and shown in stats().
  // Errors: kInvalidArgument for a bad option (named); the database's errors.
  static StatusOr<std::unique_ptr<EventShipper>> Start(const std::string& sqlite_path, ClickHouseUrl url,
                                                       ShipperOptions options = {});
  // Drops the outbox triggers and tables and the spool from `sqlite_path` (no shipper may run on
  // it); the event tables are untouched. A later Start ships every row again from the start.
  static Status Uninstall(const std::string& sqlite_path);
  ~EventShipper();  // Close()s
  EventShipper(const EventShipper&) = delete;
  EventShipper& operator=(const EventShipper&) = delete;

  // Waits until every row committed to the event tables before the call is acknowledged by
  // ClickHouse (sending at once, without waiting max_delay_ms). Errors: kUnavailable with the last
  // error when `timeout_ms` passes first; kFailedPrecondition after Close().
  Status Flush(int64_t timeout_ms);
  // Stops the thread (an unacknowledged batch stays pending in the spool for the next Start) and
  // closes the connection. Idempotent.
  void Close();

  ShipperStats stats() const;

 private:
  struct Batch;
  EventShipper(std::unique_ptr<Database> db, ClickHouseUrl url, ShipperOptions options);
  void Run();
  Status LoadWatermarks();
  // Rows of `table` beyond position `pos` in its ship order (at most `limit`).
  StatusOr<int64_t> CountBeyond(size_t table, int64_t pos, int64_t limit);
  StatusOr<int64_t> MaxPos(size_t table);
  // Reads rows of `table` at positions > after (at most `limit`) or, with last > 0, up to last.
  StatusOr<Batch> ReadBatch(size_t table, int64_t after, int64_t limit, int64_t last);
  Status RecordPending(Batch& batch);
  // Sends `batch` until acknowledged or Close(); false when interrupted by Close().
  bool SendUntilAcked(Batch& batch);
  Status MarkShipped(const Batch& batch);
  void NoteError(const Status& s);
  // Sleeps up to `ms` unless Close() (or, with wake_on_flush, Flush()) interrupts.
  void Sleep(int64_t ms, bool wake_on_flush);

  std::unique_ptr<Database> db_;  // the shipper thread's connection
  ClickHouseUrl url_;
  std::string target_;  // FormatClickHouseUrl(url_): the spool's destination key
  ShipperOptions options_;
  std::string settings_query_;
  std::unique_ptr<ClickHouseClient> client_;

  int64_t recorded_[3] = {};  // last position recorded in the spool (pending or shipped), per table
  int64_t shipped_[3] = {};   // last position acknowledged, per table
  int64_t flush_target_[3] = {};

  mutable std::mutex mu_;
  std::condition_variable wake_;     // the thread: stop or flush requested
  std::condition_variable flushed_;  // Flush callers
  bool stopping_ = false;
  bool closed_ = false;
  uint64_t flush_requested_ = 0;
  uint64_t flush_done_ = 0;
  ShipperStats stats_;
  std::thread thread_;
};

}  // namespace steward::storage
