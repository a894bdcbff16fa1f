#include "storage/event_shipper.h"

#include <openssl/evp.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstring>
#include <optional>

#include "storage/database.h"
#include "storage/statement.h"

namespace steward::storage {
namespace {

// One row per batch, written before the batch is sent. state: 'pending' until ClickHouse
// acknowledged it, then 'shipped'; only the newest shipped row per table is kept, as the
// watermark. Not a migration: the table belongs to the shipper and is created on its first start.
constexpr const char* kSpoolDdl = R"sql(
CREATE TABLE IF NOT EXISTS clickhouse_spool (
  id          INTEGER PRIMARY KEY,
  target      TEXT NOT NULL,     -- clickhouse://HOST:PORT/DB[?cluster=NAME] it was sent to (for people)
  table_name  TEXT NOT NULL,     -- exposures | feedback | shadow_results
  first_pos   INTEGER NOT NULL,  -- positions in the table's ship order (see ShipOrder)
  last_pos    INTEGER NOT NULL,
  rows        INTEGER NOT NULL,
  body_sha256 TEXT NOT NULL,     -- hex SHA-256 of the TabSeparated body sent
  state       TEXT NOT NULL,     -- pending | shipped
  created_ms  INTEGER NOT NULL,
  shipped_ms  INTEGER
);
CREATE INDEX IF NOT EXISTS clickhouse_spool_by_table ON clickhouse_spool(table_name, state);
)sql";

// The order a table ships in must be its commit order, or a row committed after the cut of a
// batch but positioned before it would be skipped for ever. feedback's rowid is implicit, so SQLite
// allocates it at insert time: commit order. exposures and shadow_results use the request id as
// their rowid (INTEGER PRIMARY KEY), and request ids commit out of order (ids are reserved before
// serving, the exposure is logged after; shadow results come later still). For those two an
// AFTER INSERT trigger appends the rowid to clickhouse_outbox_<table> (seq AUTOINCREMENT: never
// reused, increasing in commit order since SQLite has one writer at a time), in the inserting
// transaction; the shipper reads the outbox by seq and deletes what ClickHouse acknowledged.
bool UsesOutbox(const std::string& table) { return table != "feedback"; }

std::string OutboxName(const std::string& table) { return "clickhouse_outbox_" + table; }

// Creates the outbox and its trigger for `table` and enqueues the rows already there (in rowid
// order), atomically, unless the trigger exists.
Status InstallOutbox(Database& db, const std::string& table) {
  ASSIGN_OR_RETURN(auto exists, db.Prepare("SELECT COUNT(*) FROM sqlite_master WHERE type = 'trigger' AND name = ?"));
  exists->BindText(1, OutboxName(table) + "_feed");
  ASSIGN_OR_RETURN(bool row, exists->Step());
  if (row && exists->ColumnInt(0) > 0) return Status::Ok();
  exists.reset();
  const std::string outbox = OutboxName(table);
  return db.InTransaction([&]() -> Status {
    RETURN_IF_ERROR(db.Exec("CREATE TABLE IF NOT EXISTS " + outbox +
                            " (seq INTEGER PRIMARY KEY AUTOINCREMENT, row INTEGER NOT NULL)"));
    RETURN_IF_ERROR(db.Exec("CREATE TRIGGER " + outbox + "_feed AFTER INSERT ON " + table + " BEGIN INSERT INTO " +
                            outbox + " (row) VALUES (NEW.rowid); END"));
    return db.Exec("INSERT INTO " + outbox + " (row) SELECT rowid FROM " + table + " ORDER BY rowid");
  });
}

int64_t WallMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string Sha256Hex(const std::string& data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(data.data(), data.size(), digest, &length, EVP_sha256(), nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < length; ++i) {
    out.push_back(kHex[digest[i] >> 4]);
    out.push_back(kHex[digest[i] & 15]);
  }
  return out;
}

std::string FormatDouble(double v) {
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v);  // shortest text that reads back exactly
  return ec == std::errc() ? std::string(buf, end) : std::string("nan");
}

std::string HostName() {
  char buf[256] = {};
  if (gethostname(buf, sizeof(buf) - 1) != 0) return "unknown";
  return buf;
}

std::string ColumnList(const EventTable& table) {
  std::string out;
  for (const EventColumn& c : table.columns) out += std::string(c.name) + ",";
  return out + "replica";
}

}  // namespace

struct EventShipper::Batch {
  size_t table = 0;
  int64_t spool_id = 0;
  int64_t first_pos = 0;
  int64_t last_pos = 0;
  int64_t rows = 0;
  std::string body;
  std::string sha256;
};

StatusOr<std::unique_ptr<EventShipper>> EventShipper::Start(const std::string& sqlite_path, ClickHouseUrl url,
                                                            ShipperOptions options) {
  if (options.max_batch_rows < 1 || options.max_batch_rows > 1048576) {
    return InvalidArgument("max_batch_rows must be 1 to 1048576 (one ClickHouse insert block), got " +
                           std::to_string(options.max_batch_rows));
  }
  if (options.max_delay_ms < 0) return InvalidArgument("max_delay_ms must be at least 0, got " + std::to_string(options.max_delay_ms));
  if (options.backoff_initial_ms < 1 || options.backoff_max_ms < options.backoff_initial_ms) {
    return InvalidArgument("backoff_initial_ms must be at least 1 and backoff_max_ms at least backoff_initial_ms, got " +
                           std::to_string(options.backoff_initial_ms) + " and " + std::to_string(options.backoff_max_ms));
  }
  if (options.insert_quorum < 0) return InvalidArgument("insert_quorum must be at least 0, got " + std::to_string(options.insert_quorum));
  if (options.replica.empty()) options.replica = HostName();
  ASSIGN_OR_RETURN(auto db, Database::Open(sqlite_path));
  RETURN_IF_ERROR(db->Exec(kSpoolDdl).WithContext("creating clickhouse_spool in " + sqlite_path));
  for (const EventTable& t : EventTables()) {
    if (UsesOutbox(t.name)) {
      RETURN_IF_ERROR(InstallOutbox(*db, t.name).WithContext("creating " + OutboxName(t.name) + " in " + sqlite_path));
    }
  }
  std::unique_ptr<EventShipper> shipper(new EventShipper(std::move(db), std::move(url), std::move(options)));
  RETURN_IF_ERROR(shipper->LoadWatermarks());
  ASSIGN_OR_RETURN(shipper->stats_.pending_rows, [&]() -> StatusOr<int64_t> {
    int64_t n = 0;
    for (size_t t = 0; t < EventTables().size(); ++t) {
      ASSIGN_OR_RETURN(int64_t c, shipper->CountBeyond(t, shipper->shipped_[t], INT64_MAX));
      n += c;
    }
    return n;
  }());
  shipper->thread_ = std::thread([s = shipper.get()] { s->Run(); });
  return shipper;
}

Status EventShipper::Uninstall(const std::string& sqlite_path) {
  ASSIGN_OR_RETURN(auto db, Database::Open(sqlite_path));
  return db->InTransaction([&]() -> Status {
    for (const EventTable& t : EventTables()) {
      if (!UsesOutbox(t.name)) continue;
      RETURN_IF_ERROR(db->Exec("DROP TRIGGER IF EXISTS " + OutboxName(t.name) + "_feed"));
      RETURN_IF_ERROR(db->Exec("DROP TABLE IF EXISTS " + OutboxName(t.name)));
    }
    return db->Exec("DROP TABLE IF EXISTS clickhouse_spool");
  });
}

EventShipper::EventShipper(std::unique_ptr<Database> db, ClickHouseUrl url, ShipperOptions options)
    : db_(std::move(db)), url_(std::move(url)), target_(FormatClickHouseUrl(url_)), options_(std::move(options)) {
  // 18.16 names: insert_distributed_sync makes the Distributed table answer only after every shard
  // has the rows; insert_quorum makes each shard answer only after that many replicas have them.
  if (!url_.cluster.empty()) {
    settings_query_ = "insert_distributed_sync=1";
    // insert_quorum_timeout: a replica that just died still counts as alive until its ZooKeeper
    // session expires, and a quorum insert then waits this long (600 s by default in 18.16) before
    // failing with Code 319; bounded here, the batch is retried (identically) after it instead.
    if (options_.insert_quorum > 1) {
      settings_query_ += "&insert_quorum=" + std::to_string(options_.insert_quorum) +
                         "&insert_quorum_timeout=" + std::to_string(options_.insert_quorum_timeout_ms);
    }
  }
  client_ = std::make_unique<ClickHouseClient>(url_, options_.clickhouse);
}

EventShipper::~EventShipper() { Close(); }

void EventShipper::Close() {
  {
    std::lock_guard lock(mu_);
    if (closed_) return;
    closed_ = true;
    stopping_ = true;
  }
  wake_.notify_all();
  flushed_.notify_all();
  if (thread_.joinable()) thread_.join();
  db_.reset();
}

ShipperStats EventShipper::stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

Status EventShipper::Flush(int64_t timeout_ms) {
  std::unique_lock lock(mu_);
  if (closed_) return FailedPrecondition("the event shipper is closed; Start a new one to flush");
  const uint64_t mine = ++flush_requested_;
  wake_.notify_all();
  const bool done = flushed_.wait_for(lock, std::chrono::milliseconds(timeout_ms),
                                      [&] { return flush_done_ >= mine || stopping_; });
  if (stopping_ && flush_done_ < mine) return FailedPrecondition("the event shipper was closed before the flush completed");
  if (!done) {
    return Unavailable("ClickHouse has not acknowledged every event after " + std::to_string(timeout_ms) + " ms (" +
                       std::to_string(stats_.pending_rows) + " rows pending" +
                       (stats_.last_error.empty() ? "" : "; last error: " + stats_.last_error) + ")");
  }
  return Status::Ok();
}

void EventShipper::NoteError(const Status& s) {
  std::lock_guard lock(mu_);
  stats_.last_error = s.ToString();
}

void EventShipper::Sleep(int64_t ms, bool wake_on_flush) {
  std::unique_lock lock(mu_);
  const uint64_t flush_seen = flush_requested_;
  wake_.wait_for(lock, std::chrono::milliseconds(ms),
                 [&] { return stopping_ || (wake_on_flush && flush_requested_ != flush_seen); });
}

Status EventShipper::LoadWatermarks() {
  ASSIGN_OR_RETURN(auto st, db_->Prepare(
      "SELECT COALESCE(MAX(last_pos), 0), COALESCE(MAX(CASE WHEN state = 'shipped' THEN last_pos END), 0) "
      "FROM clickhouse_spool WHERE table_name = ?"));
  for (size_t t = 0; t < EventTables().size(); ++t) {
    st->Reset();
    st->BindText(1, EventTables()[t].name);
    ASSIGN_OR_RETURN(bool row, st->Step());
    if (!row) return Internal("clickhouse_spool watermark query returned no row");
    recorded_[t] = st->ColumnInt(0);
    shipped_[t] = st->ColumnInt(1);
  }
  return Status::Ok();
}

StatusOr<int64_t> EventShipper::CountBeyond(size_t table, int64_t pos, int64_t limit) {
  const std::string name = EventTables()[table].name;
  const std::string sql = UsesOutbox(name)
      ? "SELECT COUNT(*) FROM (SELECT 1 FROM " + OutboxName(name) + " WHERE seq > ? LIMIT ?)"
      : "SELECT COUNT(*) FROM (SELECT 1 FROM " + name + " WHERE rowid > ? LIMIT ?)";
  ASSIGN_OR_RETURN(auto st, db_->Prepare(sql));
  st->BindInt(1, pos);
  st->BindInt(2, limit);
  ASSIGN_OR_RETURN(bool row, st->Step());
  return row ? st->ColumnInt(0) : 0;
}

StatusOr<int64_t> EventShipper::MaxPos(size_t table) {
  const std::string name = EventTables()[table].name;
  ASSIGN_OR_RETURN(auto st, db_->Prepare(UsesOutbox(name) ? "SELECT COALESCE(MAX(seq), 0) FROM " + OutboxName(name)
                                                          : "SELECT COALESCE(MAX(rowid), 0) FROM " + name));
  ASSIGN_OR_RETURN(bool row, st->Step());
  return row ? st->ColumnInt(0) : 0;
}

StatusOr<EventShipper::Batch> EventShipper::ReadBatch(size_t table, int64_t after, int64_t limit, int64_t last) {
  const EventTable& t = EventTables()[table];
  const bool outbox = UsesOutbox(t.name);
  const std::string pos = outbox ? "o.seq" : "t.rowid";
  std::string sql = "SELECT " + pos;
  for (const EventColumn& c : t.columns) sql += std::string(", t.") + c.name;
  sql += outbox ? " FROM " + OutboxName(t.name) + " o JOIN " + t.name + " t ON t.rowid = o.row"
                : std::string(" FROM ") + t.name + " t";
  sql += " WHERE " + pos + " > ?1 " + (last > 0 ? "AND " + pos + " <= ?2 " : "") + "ORDER BY " + pos +
         (last > 0 ? "" : " LIMIT ?2");
  ASSIGN_OR_RETURN(auto st, db_->Prepare(sql));
  st->BindInt(1, after);
  st->BindInt(2, last > 0 ? last : limit);
  Batch b;
  b.table = table;
  const std::string replica = EscapeTsvField(options_.replica);
  while (true) {
    ASSIGN_OR_RETURN(bool row, st->Step());
    if (!row) break;
    const int64_t position = st->ColumnInt(0);
    if (b.rows == 0) b.first_pos = position;
    b.last_pos = position;
    ++b.rows;
    for (size_t i = 0; i < t.columns.size(); ++i) {
      const int col = static_cast<int>(i) + 1;
      const std::string_view type = t.columns[i].type;
      if (st->ColumnIsNull(col)) {
        b.body += "\\N";
      } else if (type == "Float64") {
        b.body += FormatDouble(st->ColumnDouble(col));
      } else if (type.find("Int") != std::string_view::npos) {
        b.body += std::to_string(st->ColumnInt(col));
      } else {
        b.body += EscapeTsvField(st->ColumnView(col));
      }
      b.body.push_back('\t');
    }
    b.body += replica;
    b.body.push_back('\n');
  }
  b.sha256 = Sha256Hex(b.body);
  return b;
}

Status EventShipper::RecordPending(Batch& batch) {
  ASSIGN_OR_RETURN(auto st, db_->Prepare(
      "INSERT INTO clickhouse_spool (target, table_name, first_pos, last_pos, rows, body_sha256, state, created_ms) "
      "VALUES (?, ?, ?, ?, ?, ?, 'pending', ?)"));
  st->BindText(1, target_);
  st->BindText(2, EventTables()[batch.table].name);
  st->BindInt(3, batch.first_pos);
  st->BindInt(4, batch.last_pos);
  st->BindInt(5, batch.rows);
  st->BindText(6, batch.sha256);
  st->BindInt(7, WallMs());
  RETURN_IF_ERROR(st->Run());
  ASSIGN_OR_RETURN(auto id, db_->Prepare("SELECT last_insert_rowid()"));
  ASSIGN_OR_RETURN(bool row, id->Step());
  if (!row) return Internal("last_insert_rowid() returned no row");
  batch.spool_id = id->ColumnInt(0);
  recorded_[batch.table] = batch.last_pos;
  return Status::Ok();
}

Status EventShipper::MarkShipped(const Batch& batch) {
  Status recorded = db_->InTransaction([&]() -> Status {
    ASSIGN_OR_RETURN(auto up, db_->Prepare("UPDATE clickhouse_spool SET state = 'shipped', shipped_ms = ? WHERE id = ?"));
    up->BindInt(1, WallMs());
    up->BindInt(2, batch.spool_id);
    RETURN_IF_ERROR(up->Run());
    ASSIGN_OR_RETURN(auto prune, db_->Prepare(
        "DELETE FROM clickhouse_spool WHERE table_name = ? AND state = 'shipped' AND id < ?"));
    prune->BindText(1, EventTables()[batch.table].name);
    prune->BindInt(2, batch.spool_id);
    RETURN_IF_ERROR(prune->Run());
    const std::string name = EventTables()[batch.table].name;
    if (!UsesOutbox(name)) return Status::Ok();
    ASSIGN_OR_RETURN(auto shipped, db_->Prepare("DELETE FROM " + OutboxName(name) + " WHERE seq <= ?"));
    shipped->BindInt(1, batch.last_pos);
    return shipped->Run();
  });
  RETURN_IF_ERROR(recorded);
  shipped_[batch.table] = batch.last_pos;
  std::lock_guard lock(mu_);
  stats_.rows_shipped += batch.rows;
  stats_.batches_shipped += 1;
  stats_.last_ack_ms = WallMs();
  stats_.last_error.clear();
  return Status::Ok();
}

bool EventShipper::SendUntilAcked(Batch& batch) {
  const EventTable& table = EventTables()[batch.table];
  const std::string columns = ColumnList(table);
  int64_t backoff = options_.backoff_initial_ms;
  bool acked = false;
  while (true) {
    {
      std::lock_guard lock(mu_);
      if (stopping_) return false;
    }
    if (!acked) {
      Status s = client_->Insert(table.name, columns, batch.body, settings_query_);
      if (s.ok()) {
        acked = true;
      } else {
        NoteError(s);
        std::lock_guard lock(mu_);
        stats_.retries += 1;
      }
    }
    if (acked) {
      // ClickHouse has the rows; if SQLite cannot record that, a restart would send them again.
      Status m = MarkShipped(batch);
      if (m.ok()) return true;
      NoteError(m.WithContext("recording an acknowledged batch in clickhouse_spool"));
    }
    Sleep(backoff, false);
    backoff = std::min<int64_t>(backoff * 2, options_.backoff_max_ms);
  }
}

void EventShipper::Run() {
  const size_t n_tables = EventTables().size();
  bool schema_ready = !options_.ensure_schema;
  int64_t backoff = options_.backoff_initial_ms;
  uint64_t flush_captured = 0;
  const int64_t poll_ms = std::clamp<int64_t>(options_.max_delay_ms / 4, 5, 250);
  using Clock = std::chrono::steady_clock;
  std::vector<std::optional<Clock::time_point>> first_seen(n_tables);

  // A failure of SQLite or of the schema set-up: note it, back off, go round again.
  auto fail = [&](const Status& s) {
    NoteError(s);
    Sleep(backoff, false);
    backoff = std::min<int64_t>(backoff * 2, options_.backoff_max_ms);
  };
  while (true) {
    {
      std::lock_guard lock(mu_);
      if (stopping_) return;
    }
    if (!schema_ready) {
      Status s = EnsureEventSchema(*client_, url_);
      if (!s.ok()) {
        fail(s);
        continue;
      }
      schema_ready = true;
    }

    // 1. A pending batch (left by a failure or an earlier process) goes first, exactly as recorded.
    auto pending = db_->Prepare(
        "SELECT id, table_name, first_pos, last_pos, rows, body_sha256 FROM clickhouse_spool "
        "WHERE state = 'pending' ORDER BY id LIMIT 1");
    if (!pending.ok()) {
      fail(pending.status());
      continue;
    }
    auto has_pending = (*pending)->Step();
    if (!has_pending.ok()) {
      fail(has_pending.status());
      continue;
    }
    if (*has_pending) {
      Statement& p = **pending;
      const std::string table_name = p.ColumnText(1);
      size_t t = 0;
      while (t < n_tables && table_name != EventTables()[t].name) ++t;
      const int64_t id = p.ColumnInt(0), first = p.ColumnInt(2), last = p.ColumnInt(3), rows = p.ColumnInt(4);
      const std::string sha = p.ColumnText(5);
      pending->reset();
      if (t == n_tables) {
        fail(DataLoss("clickhouse_spool row " + std::to_string(id) + " names an unknown table '" + table_name + "'"));
        continue;
      }
      auto batch = ReadBatch(t, first - 1, 0, last);
      if (!batch.ok()) {
        fail(batch.status());
        continue;
      }
      if (batch->rows != rows || batch->sha256 != sha) {
        // Rows of a recorded batch changed: sending anything else could duplicate or lose rows.
        fail(DataLoss(std::string(EventTables()[t].name) + " rows " + std::to_string(first) + ".." + std::to_string(last) +
                      " changed since clickhouse_spool row " + std::to_string(id) + " recorded them (" +
                      std::to_string(rows) + " rows, sha256 " + sha + "; now " + std::to_string(batch->rows) +
                      " rows, sha256 " + batch->sha256 + "); event rows must never be deleted or edited"));
        continue;
      }
      batch->spool_id = id;
      if (!SendUntilAcked(*batch)) return;
      backoff = options_.backoff_initial_ms;
      continue;
    }
    pending->reset();

    // 2. New rows: a full batch at once, a partial one after max_delay_ms or on Flush.
    uint64_t flush_requested;
    {
      std::lock_guard lock(mu_);
      flush_requested = flush_requested_;
    }
    Status step = [&]() -> Status {
      if (flush_requested > flush_captured) {
        for (size_t t = 0; t < n_tables; ++t) {
          ASSIGN_OR_RETURN(flush_target_[t], MaxPos(t));
        }
        flush_captured = flush_requested;
      }
      uint64_t flush_done;
      {
        std::lock_guard lock(mu_);
        flush_done = flush_done_;
      }
      const bool flushing = flush_captured > flush_done;
      bool sent = false;
      for (size_t t = 0; t < n_tables; ++t) {
        ASSIGN_OR_RETURN(int64_t n, CountBeyond(t, recorded_[t], options_.max_batch_rows));
        if (n == 0) {
          first_seen[t].reset();
          continue;
        }
        const auto now = Clock::now();
        if (!first_seen[t]) first_seen[t] = now;
        const bool due = n >= options_.max_batch_rows ||
                         now - *first_seen[t] >= std::chrono::milliseconds(options_.max_delay_ms) ||
                         (flushing && recorded_[t] < flush_target_[t]);
        if (!due) continue;
        ASSIGN_OR_RETURN(Batch batch, ReadBatch(t, recorded_[t], options_.max_batch_rows, 0));
        if (batch.rows == 0) continue;
        RETURN_IF_ERROR(RecordPending(batch));
        if (n < options_.max_batch_rows) first_seen[t].reset();  // a full batch may leave older rows behind
        if (!SendUntilAcked(batch)) return Status::Ok();  // closing: the batch stays pending
        sent = true;
      }
      int64_t pending_rows = 0;
      for (size_t t = 0; t < n_tables; ++t) {
        ASSIGN_OR_RETURN(int64_t c, CountBeyond(t, shipped_[t], INT64_MAX));
        pending_rows += c;
      }
      bool all_flushed = true;
      for (size_t t = 0; t < n_tables; ++t) all_flushed = all_flushed && shipped_[t] >= flush_target_[t];
      {
        std::lock_guard lock(mu_);
        stats_.pending_rows = pending_rows;
        if (flushing && all_flushed) flush_done_ = flush_captured;
      }
      if (flushing && all_flushed) flushed_.notify_all();
      backoff = options_.backoff_initial_ms;
      if (!sent) Sleep(poll_ms, true);
      return Status::Ok();
    }();
    if (!step.ok()) fail(step);
  }
}

}  // namespace steward::storage
