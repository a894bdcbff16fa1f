// Database: one SQLite connection with Steward's schema, opened in WAL mode with migrations
// applied. SQLite's types stay inside storage/: other modules see only this class and the typed
// stores built on it (experiment_store.h, audit_log.h, model_registry.h, event_writer.h,
// queries.h).
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

struct sqlite3;

namespace steward::storage {

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
  // Opens (creating if needed) the database at `path` and applies pending migrations.
  // Errors: kIoError when the file cannot be opened; kFailedPrecondition when the file was written
  // by a newer Steward (schema version above ours).
  static StatusOr<std::unique_ptr<Database>> Open(const std::string& path, DatabaseOptions options = {});
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  // Runs one or more statements without results.
  Status Exec(const std::string& sql);
  // Prepares a statement; it must not outlive this Database.
  StatusOr<std::unique_ptr<Statement>> Prepare(const std::string& sql);

  Status Begin();  // BEGIN IMMEDIATE: takes the write lock up front
  Status Commit();
  Status Rollback();
  // Runs `body` between BEGIN IMMEDIATE and COMMIT; when it fails, rolls back and returns its error.
  // Nested calls join the enclosing transaction (all commit together or none does).
  Status InTransaction(const std::function<Status()>& body);
  // Runs `hook` once the enclosing InTransaction has committed (at once outside one; never after a
  // rollback): for side effects outside the database that must follow a durable commit.
  void AfterCommit(std::function<void()> hook);

  // The schema version after migrations (PRAGMA user_version).
  StatusOr<int> SchemaVersion();
  // "ok" or SQLite's description of the damage.
  StatusOr<std::string> IntegrityCheck();
  // WAL checkpoint (TRUNCATE), e.g. before copying the file.
  Status Checkpoint();

  // Rows changed by the last INSERT/UPDATE/DELETE on this connection.
  int64_t Changes();

  const std::string& path() const { return path_; }
  sqlite3* raw() { return db_; }  // for storage/ internals only

 private:
  Database(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}
  static StatusOr<std::unique_ptr<Database>> OpenConnection(const std::string& path, const DatabaseOptions& options,
                                                            bool immutable);
  Status Migrate();
  Status CheckReadableSchema();
  Status Error(const std::string& what) const;

  sqlite3* db_;
  std::string path_;
  int transaction_depth_ = 0;
  std::vector<std::function<void()>> after_commit_;
};

// Latest schema version this build knows.
int LatestSchemaVersion();

}  // namespace steward::storage
