// Database: one connection with Steward's schema and migrations applied, on one of two backends
// chosen by the locator given to Open():
//   - SQLite (a bare path, or "sqlite:PATH"): the embedded default, every table, WAL mode;
//   - PostgreSQL ("postgres://..." or "postgresql://...", a libpq URI): the control plane of a
//     scale-out deployment (docs/scale-out.md): experiments and versions, rollout state, flags,
//     sticky assignments, id sequences, API tokens and SDK keys, review labels, leases and the
//     hash-chained audit log. Events (exposures, feedback, shadow results) are not kept there.
// The backends' types stay inside storage/: other modules see only this class and the typed stores
// built on it (experiment_store.h, audit_log.h, model_registry.h, event_writer.h, queries.h),
// whose SQL is written to run on both (placeholders "?" / "?N", ON CONFLICT, RETURNING).
//
// Transactions: InTransaction() serialises writers on both backends, as SQLite's BEGIN IMMEDIATE
// does: on PostgreSQL every write transaction takes one transaction-scoped advisory lock first, so
// read-modify-write sequences (the audit chain's next row, a rollout transition) never interleave
// between replicas.
//
// Thread safety: a Database is one connection and must be used by one thread at a time. Readers
// and the event writer each open their own; WAL lets readers run while the writer commits.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"

namespace steward::storage {

enum class Backend { kSqlite, kPostgres };

enum class SyncMode {
  kNormal,  // WAL + synchronous=NORMAL: a committed transaction survives a process crash (kill -9)
  kFull,    // WAL + synchronous=FULL: it also survives power loss (an fsync per commit)
};

struct DatabaseOptions {
  // Default: kFull.
  SyncMode sync = SyncMode::kFull;
  // Milliseconds to wait for a lock before failing with kUnavailable. Default: 5000.
  int busy_timeout_ms = 5000;
  // Open an existing database read-only: SQLite's read-only mode (no journal-mode change, no
  // migrations, nothing written), and only a Steward database of exactly this build's schema
  // version is accepted (kFailedPrecondition otherwise: not Steward, older or newer). Default: false.
  bool read_only = false;
};

class Statement;

class Database {
 public:
  // Opens (creating if needed) the database at `locator` and applies pending migrations: a path or
  // "sqlite:PATH" (SQLite), or "postgres://USER@HOST:PORT/DB" (PostgreSQL; the database must
  // exist, Steward creates its tables).
  // Errors: kIoError when the file cannot be opened; kUnavailable when the server cannot be reached;
  // kFailedPrecondition when the schema was written by a newer Steward (schema version above ours).
  static StatusOr<std::unique_ptr<Database>> Open(const std::string& locator, DatabaseOptions options = {});
  virtual ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  // Runs one or more statements without results.
  virtual Status Exec(const std::string& sql) = 0;
  // Prepares a statement; it must not outlive this Database.
  virtual StatusOr<std::unique_ptr<Statement>> Prepare(const std::string& sql) = 0;

  // A write transaction: BEGIN IMMEDIATE on SQLite (the write lock up front); BEGIN plus the
  // writers' advisory lock on PostgreSQL.
  virtual Status Begin() = 0;
  Status Commit();
  Status Rollback();
  // Runs `body` between Begin() and COMMIT; when it fails, rolls back and returns its error.
  // Nested calls join the enclosing transaction (all commit together or none does).
  Status InTransaction(const std::function<Status()>& body);
  // Runs `hook` once the enclosing InTransaction has committed (at once outside one; never after a
  // rollback): for side effects outside the database that must follow a durable commit.
  void AfterCommit(std::function<void()> hook);

  // The schema version after migrations (SQLite: PRAGMA user_version; PostgreSQL: the
  // steward_schema table, numbered on its own).
  virtual StatusOr<int> SchemaVersion() = 0;
  // "ok" or the backend's description of the damage (PostgreSQL: "ok" when it answers).
  virtual StatusOr<std::string> IntegrityCheck() = 0;
  // WAL checkpoint (TRUNCATE), e.g. before copying the file. No-op on PostgreSQL.
  virtual Status Checkpoint() = 0;
  // A number that changes whenever the data another connection reads may have changed: SQLite's
  // PRAGMA data_version (commits by other connections); on PostgreSQL the audit chain's newest
  // sequence number (every control change is audited).
  virtual StatusOr<int64_t> DataVersion() = 0;

  // Rows changed by the last INSERT/UPDATE/DELETE on this connection.
  virtual int64_t Changes() = 0;

  virtual Backend backend() const = 0;
  // The locator as given to Open() (a file path for SQLite; the URI, password removed, for
  // PostgreSQL).
  const std::string& path() const { return path_; }

 protected:
  explicit Database(std::string path) : path_(std::move(path)) {}

  std::string path_;

 private:
  int transaction_depth_ = 0;
  std::vector<std::function<void()>> after_commit_;
};

// True for "postgres://" and "postgresql://" locators.
bool IsPostgresLocator(const std::string& locator);
// A locator with an optional "sqlite:" prefix removed (a SQLite path), or the PostgreSQL URI as is.
std::string StripSqlitePrefix(const std::string& locator);

// Latest schema version this build knows.
int LatestSchemaVersion();

}  // namespace steward::storage
