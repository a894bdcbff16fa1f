#include "storage/database.h"

#include <sqlite3.h>

#include <cstdio>
#include <filesystem>
#include <vector>

#include "storage/statement.h"

namespace steward::storage {
namespace {

// Versioned migrations: entry i brings the schema from version i to i+1. Never edit a shipped
// entry; append a new one.
const std::vector<const char*>& Migrations() {
  static const std::vector<const char*> migrations = {
      // 1: experiments and their versions, exposures, feedback, audit log, model registry.
      R"sql(
      CREATE TABLE experiments (
        name            TEXT PRIMARY KEY,
        state           TEXT NOT NULL,
        current_version INTEGER NOT NULL,
        created_at_ms   INTEGER NOT NULL,
        updated_at_ms   INTEGER NOT NULL
      );
      CREATE TABLE experiment_versions (
        name          TEXT NOT NULL REFERENCES experiments(name),
        version       INTEGER NOT NULL,
        created_at_ms INTEGER NOT NULL,
        actor         TEXT NOT NULL,
        config_json   TEXT NOT NULL,
        PRIMARY KEY (name, version)
      );
      -- One row per served request. served: JSON [[item_id, propensity], ...] in position order
      -- (position = index + 1); shadow: JSON [item_id, ...] of the shadow model's list.
      CREATE TABLE exposures (
        request_id           INTEGER PRIMARY KEY,
        ts_ms                INTEGER NOT NULL,
        user_id              INTEGER NOT NULL,
        experiment           TEXT NOT NULL,
        arm                  TEXT NOT NULL,
        served               TEXT NOT NULL,
        shadow               TEXT,
        model_version        TEXT NOT NULL,
        shadow_model_version TEXT,
        latency_us           INTEGER NOT NULL,
        shadow_latency_us    INTEGER
      );
      CREATE INDEX exposures_by_experiment ON exposures(experiment, arm);
      -- Feedback linked to its exposure by request_id. kind: 1 click, 2 conversion, 3 dwell
      -- (value = seconds). Append-only and unindexed beyond the rowid so ingest stays fast.
      CREATE TABLE feedback (
        request_id INTEGER NOT NULL,
        ts_ms      INTEGER NOT NULL,
        user_id    INTEGER NOT NULL,
        item_id    INTEGER NOT NULL,
        position   INTEGER NOT NULL,
        kind       INTEGER NOT NULL,
        value      REAL NOT NULL
      );
      -- Tamper-evident log: hash = SHA-256(prev_hash | seq | ts_ms | actor | action | subject |
      -- reason | payload). See storage/audit_log.h.
      CREATE TABLE audit_log (
        seq       INTEGER PRIMARY KEY,
        ts_ms     INTEGER NOT NULL,
        actor     TEXT NOT NULL,
        action    TEXT NOT NULL,
        subject   TEXT NOT NULL,
        reason    TEXT NOT NULL,
        payload   TEXT NOT NULL,
        prev_hash TEXT NOT NULL,
        hash      TEXT NOT NULL
      );
      CREATE TABLE models (
        name          TEXT NOT NULL,
        version       INTEGER NOT NULL,
        kind          TEXT NOT NULL,
        created_at_ms INTEGER NOT NULL,
        params_json   TEXT NOT NULL,
        metrics_json  TEXT NOT NULL,
        artifact      BLOB,
        PRIMARY KEY (name, version)
      );
      )sql",
      // 2: rollout controller state, global flags (kill switch), sticky assignments.
      R"sql(
      CREATE TABLE rollouts (
        name          TEXT PRIMARY KEY REFERENCES experiments(name),
        status_json   TEXT NOT NULL,
        updated_at_ms INTEGER NOT NULL
      );
      CREATE TABLE flags (
        key           TEXT PRIMARY KEY,
        value         TEXT NOT NULL,
        actor         TEXT NOT NULL,
        updated_at_ms INTEGER NOT NULL
      );
      CREATE TABLE sticky_assignments (
        experiment     TEXT NOT NULL,
        bucket_version INTEGER NOT NULL,
        user_id        TEXT NOT NULL,
        arm            INTEGER NOT NULL,
        PRIMARY KEY (experiment, bucket_version, user_id)
      ) WITHOUT ROWID;
      )sql",
      // 3: shadow results (computed off the serving path) and the catalog snapshot reports use.
      R"sql(
      CREATE TABLE shadow_results (
        request_id    INTEGER PRIMARY KEY,
        experiment    TEXT NOT NULL,
        model_version TEXT NOT NULL,
        items         TEXT NOT NULL,
        latency_us    INTEGER NOT NULL,
        error         INTEGER NOT NULL,
        timed_out     INTEGER NOT NULL
      );
      CREATE TABLE catalog_items (
        item_id        INTEGER PRIMARY KEY,
        category       INTEGER NOT NULL,
        provider_group INTEGER NOT NULL,
        popularity     REAL NOT NULL
      );
      )sql",
      // 4: events the database refused (a duplicate request id, a constraint), kept with the reason
      // instead of stopping ingest or dropping them.
      R"sql(
      CREATE TABLE rejected_events (
        id         INTEGER PRIMARY KEY,
        request_id INTEGER NOT NULL,
        kind       TEXT NOT NULL,
        payload    TEXT NOT NULL,
        error      TEXT NOT NULL
      );
      )sql",
      // 5: the serving pipeline. Exposures record the user id as the caller sent it (user_key; user_id
      // is the stable internal id derived from it) and the user attributes the request carried
      // (JSON object, the keys the experiment declares). Request ids come from id_sequences in
      // blocks reserved in a write transaction, so several processes can serve one database
      // without MAX(request_id)+1 races.
      R"sql(
      ALTER TABLE exposures ADD COLUMN user_key TEXT;
      ALTER TABLE exposures ADD COLUMN attributes TEXT;
      CREATE TABLE id_sequences (
        name TEXT PRIMARY KEY,
        next INTEGER NOT NULL
      );
      INSERT INTO id_sequences (name, next) SELECT 'request_id', COALESCE(MAX(request_id), 0) + 1 FROM exposures;
      CREATE INDEX exposures_by_experiment_time ON exposures(experiment, ts_ms);
      )sql",
      // 6: the rollout state is verified against the audit chain on every read (the newest
      // state-changing row of the experiment: an index lookup, not a scan).
      R"sql(
      CREATE INDEX audit_log_by_subject ON audit_log(subject, seq);
      )sql",
      // 7: the HTTP service's credentials (server/README.md) and the feedback index its join needs. API tokens: the public id is looked up,
      // only a salted SHA-256 of the secret is stored (hex); the name is the actor in the audit log.
      // SDK client keys (GrowthBook payload endpoint) are public by design, stored as given, and
      // scoped to a list of experiments (JSON array; NULL = every experiment).
      R"sql(
      CREATE TABLE api_tokens (
        id         TEXT PRIMARY KEY,
        name       TEXT NOT NULL,
        role       TEXT NOT NULL,
        salt       TEXT NOT NULL,
        hash       TEXT NOT NULL,
        created_ms INTEGER NOT NULL,
        revoked_ms INTEGER
      );
      CREATE UNIQUE INDEX api_tokens_live_name ON api_tokens(name) WHERE revoked_ms IS NULL;
      CREATE TABLE sdk_keys (
        client_key  TEXT PRIMARY KEY,
        name        TEXT NOT NULL,
        experiments TEXT,
        created_ms  INTEGER NOT NULL,
        revoked_ms  INTEGER
      );
      CREATE UNIQUE INDEX sdk_keys_live_name ON sdk_keys(name) WHERE revoked_ms IS NULL;
      -- Feedback for a list that left the service's memory is checked against the stored rows
      -- (a repeated click is refused, not logged twice): an index lookup, not a scan.
      CREATE INDEX feedback_by_request ON feedback(request_id);
      )sql",
      // 8: reviewers' labels of sampled served lists (issue #11, `steward audit sample` / `label`);
      // one label per reviewer and list (a new label replaces the reviewer's earlier one).
      R"sql(
      CREATE TABLE review_labels (
        request_id INTEGER NOT NULL,
        actor      TEXT NOT NULL,
        label      TEXT NOT NULL,
        note       TEXT NOT NULL,
        ts_ms      INTEGER NOT NULL,
        PRIMARY KEY (request_id, actor)
      );
      )sql",
      // 9: the safety screen's record of each served list (safety/screen.h): JSON
      // {"v":1,"risk":[per served position],"decisions":[[item_id,"block"|"demote",rule,risk],...],
      //  "more":N}; NULL when the list was served without a screen.
      // The catalog snapshot also keeps each item's risk score when a scorer screened the run
      // (NULL otherwise), so reports score the shadow side's lists as the served ones were.
      R"sql(
      ALTER TABLE exposures ADD COLUMN safety TEXT;
      ALTER TABLE catalog_items ADD COLUMN risk REAL;
      )sql",
      // 10: the serving model's evidence for the list (models::Recommendation::evidence), JSON;
      // e.g. the hybrid's exposure constraint decision. NULL when the model gave none.
      R"sql(
      ALTER TABLE exposures ADD COLUMN evidence TEXT;
      )sql",
      // 11: leases (storage/lease.h): which serving replica drives an experiment's rollout, until
      // when (wall-clock milliseconds). One process on SQLite; several replicas share PostgreSQL's.
      R"sql(
      CREATE TABLE leases (
        name       TEXT PRIMARY KEY,
        holder     TEXT NOT NULL,
        expires_ms INTEGER NOT NULL
      );
      )sql",
  };
  return migrations;
}

}  // namespace

int LatestSchemaVersion() { return static_cast<int>(Migrations().size()); }

namespace {

class SqliteStatement final : public Statement {
 public:
  SqliteStatement(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  ~SqliteStatement() override;
  void BindInt(int index, int64_t value) override;
  void BindDouble(int index, double value) override;
  void BindText(int index, std::string_view value) override;
  void BindBlob(int index, const void* data, size_t size) override;
  void BindNull(int index) override;
  StatusOr<bool> Step() override;
  Status Run() override;
  void Reset() override;
  int64_t ColumnInt(int index) const override;
  double ColumnDouble(int index) const override;
  std::string ColumnText(int index) const override;
  std::string_view ColumnView(int index) const override;
  bool ColumnIsNull(int index) const override;

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_;
};

class SqliteDatabase final : public Database {
 public:
  static StatusOr<std::unique_ptr<Database>> Open(const std::string& path, const DatabaseOptions& options);
  ~SqliteDatabase() override;

  Status Exec(const std::string& sql) override;
  StatusOr<std::unique_ptr<Statement>> Prepare(const std::string& sql) override;
  Status Begin() override { return Exec("BEGIN IMMEDIATE"); }
  StatusOr<int> SchemaVersion() override;
  StatusOr<std::string> IntegrityCheck() override;
  Status Checkpoint() override { return Exec("PRAGMA wal_checkpoint(TRUNCATE)"); }
  StatusOr<int64_t> DataVersion() override;
  int64_t Changes() override { return sqlite3_changes64(db_); }
  Backend backend() const override { return Backend::kSqlite; }

 private:
  SqliteDatabase(sqlite3* db, std::string path) : Database(std::move(path)), db_(db) {}
  static StatusOr<std::unique_ptr<SqliteDatabase>> OpenConnection(const std::string& path, const DatabaseOptions& options,
                                                                  bool immutable);
  Status Migrate();
  Status CheckReadableSchema();
  Status Error(const std::string& what) const { return IoError(path_ + ": " + what + ": " + sqlite3_errmsg(db_)); }

  sqlite3* db_;
};

// "file:" URI of a path (RFC 3986 percent-encoding of what SQLite's URI parser treats specially).
std::string FileUri(const std::string& path, const std::string& query) {
  std::string uri = "file:";
  for (const unsigned char c : path) {
    if (c == '%' || c == '?' || c == '#' || c <= 0x20 || c >= 0x7f) {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", c);
      uri += buf;
    } else {
      uri.push_back(static_cast<char>(c));
    }
  }
  return uri + "?" + query;
}

bool NonEmptyFile(const std::string& path) {
  std::error_code ec;
  return std::filesystem::exists(path, ec) && std::filesystem::file_size(path, ec) > 0;
}

StatusOr<std::unique_ptr<Database>> SqliteDatabase::Open(const std::string& path, const DatabaseOptions& options) {
  auto db = OpenConnection(path, options, /*immutable=*/false);
  if (db.ok() && options.read_only) {
    Status schema = (*db)->CheckReadableSchema();
    // A WAL database in a directory this user cannot write (an auditor's read-only copy) cannot
    // be read through the WAL index (-shm), which SQLite must create: it reports "attempt to
    // write a readonly database". When there is no write-ahead log to read, the main file holds
    // every committed transaction, and SQLite's immutable mode reads it without -shm or locks.
    // (Immutable assumes no concurrent writer; a writer would have to create a -wal here first.)
    if (!schema.ok() && !NonEmptyFile(path + "-wal")) {
      auto immutable = OpenConnection(path, options, /*immutable=*/true);
      if (immutable.ok() && (*immutable)->CheckReadableSchema().ok()) return std::unique_ptr<Database>(std::move(*immutable));
    }
    if (!schema.ok()) return schema;
  }
  if (!db.ok()) return db.status();
  return std::unique_ptr<Database>(std::move(*db));
}

StatusOr<std::unique_ptr<SqliteDatabase>> SqliteDatabase::OpenConnection(const std::string& path, const DatabaseOptions& options,
                                                              bool immutable) {
  sqlite3* raw = nullptr;
  const int flags = (options.read_only ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE)) |
                    SQLITE_OPEN_NOMUTEX | (immutable ? SQLITE_OPEN_URI : 0);
  const std::string name = immutable ? FileUri(path, "immutable=1") : path;
  const int rc = sqlite3_open_v2(name.c_str(), &raw, flags, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = raw ? sqlite3_errmsg(raw) : sqlite3_errstr(rc);
    sqlite3_close(raw);
    return IoError(path + ": cannot open database: " + msg + "; check the path and permissions");
  }
  std::unique_ptr<SqliteDatabase> db(new SqliteDatabase(raw, path));
  sqlite3_busy_timeout(raw, options.busy_timeout_ms);
  if (!options.read_only) {
    RETURN_IF_ERROR(db->Exec("PRAGMA journal_mode=WAL"));
    RETURN_IF_ERROR(db->Exec(options.sync == SyncMode::kFull ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL"));
    RETURN_IF_ERROR(db->Exec("PRAGMA foreign_keys=ON"));
    RETURN_IF_ERROR(db->Migrate());
  }
  return db;
}

SqliteDatabase::~SqliteDatabase() { sqlite3_close_v2(db_); }

Status SqliteDatabase::Exec(const std::string& sql) {
  char* err = nullptr;
  const int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err);
  if (rc != SQLITE_OK) {
    std::string msg = err ? err : sqlite3_errstr(rc);
    sqlite3_free(err);
    if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED) return Unavailable(path_ + ": database is busy: " + msg);
    return IoError(path_ + ": " + msg);
  }
  return Status::Ok();
}

StatusOr<std::unique_ptr<Statement>> SqliteDatabase::Prepare(const std::string& sql) {
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db_, sql.c_str(), static_cast<int>(sql.size()), &stmt, nullptr) != SQLITE_OK) {
    return Error("cannot prepare `" + sql + "`");
  }
  return std::unique_ptr<Statement>(new SqliteStatement(db_, stmt));
}

StatusOr<int64_t> SqliteDatabase::DataVersion() {
  ASSIGN_OR_RETURN(auto st, Prepare("PRAGMA data_version"));
  ASSIGN_OR_RETURN(bool row, st->Step());
  return row ? st->ColumnInt(0) : 0;
}

StatusOr<int> SqliteDatabase::SchemaVersion() {
  ASSIGN_OR_RETURN(auto stmt, Prepare("PRAGMA user_version"));
  ASSIGN_OR_RETURN(bool row, stmt->Step());
  if (!row) return Internal("PRAGMA user_version returned no row");
  return static_cast<int>(stmt->ColumnInt(0));
}

StatusOr<std::string> SqliteDatabase::IntegrityCheck() {
  ASSIGN_OR_RETURN(auto stmt, Prepare("PRAGMA integrity_check"));
  std::string result;
  while (true) {
    ASSIGN_OR_RETURN(bool row, stmt->Step());
    if (!row) break;
    if (!result.empty()) result += "; ";
    result += stmt->ColumnText(0);
  }
  return result;
}

Status SqliteDatabase::CheckReadableSchema() {
  // A read-only open never migrates, so it accepts exactly the schema this build writes. Reading
  // the header also surfaces "file is not a database" here, with the path.
  StatusOr<int> version = SchemaVersion();
  if (!version.ok()) {
    return FailedPrecondition(path_ + ": not a readable SQLite database (" + version.status().message() +
                              "); check the path");
  }
  const int latest = LatestSchemaVersion();
  ASSIGN_OR_RETURN(auto tables, Prepare("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN "
                                        "('experiments', 'experiment_versions', 'audit_log', 'exposures')"));
  ASSIGN_OR_RETURN(bool row, tables->Step());
  const bool steward_tables = row && tables->ColumnInt(0) == 4;
  if (*version == 0 || !steward_tables) {
    return FailedPrecondition(path_ + ": not a Steward database (schema version " + std::to_string(*version) +
                              (steward_tables ? "" : ", no Steward tables") +
                              "); check the path, or create one with `steward demo --db " + path_ + "`");
  }
  if (*version > latest) {
    return FailedPrecondition(path_ + ": schema version " + std::to_string(*version) +
                              " is newer than this build supports (" + std::to_string(latest) + "); upgrade Steward");
  }
  if (*version < latest) {
    return FailedPrecondition(path_ + ": schema version " + std::to_string(*version) + " is older than this build's (" +
                              std::to_string(latest) + ") and read-only commands never migrate; read it with the "
                              "Steward that wrote it, or migrate a copy with a write command of this build (e.g. "
                              "`steward experiment create`)");
  }
  return Status::Ok();
}

Status SqliteDatabase::Migrate() {
  ASSIGN_OR_RETURN(int version, SchemaVersion());
  const int latest = LatestSchemaVersion();
  if (version > latest) {
    return FailedPrecondition(path_ + ": schema version " + std::to_string(version) +
                              " is newer than this build supports (" + std::to_string(latest) +
                              "); upgrade Steward");
  }
  for (int v = version; v < latest; ++v) {
    Status s = InTransaction([&]() -> Status {
      RETURN_IF_ERROR(Exec(Migrations()[static_cast<size_t>(v)]));
      return Exec("PRAGMA user_version=" + std::to_string(v + 1));
    });
    if (!s.ok()) return s.WithContext("migration to schema version " + std::to_string(v + 1));
  }
  return Status::Ok();
}

// ---- SqliteStatement ----

SqliteStatement::~SqliteStatement() { sqlite3_finalize(stmt_); }
void SqliteStatement::BindInt(int index, int64_t value) { sqlite3_bind_int64(stmt_, index, value); }
void SqliteStatement::BindDouble(int index, double value) { sqlite3_bind_double(stmt_, index, value); }
void SqliteStatement::BindText(int index, std::string_view value) {
  sqlite3_bind_text(stmt_, index, value.data(), static_cast<int>(value.size()), SQLITE_TRANSIENT);
}
void SqliteStatement::BindBlob(int index, const void* data, size_t size) {
  sqlite3_bind_blob(stmt_, index, data, static_cast<int>(size), SQLITE_TRANSIENT);
}
void SqliteStatement::BindNull(int index) { sqlite3_bind_null(stmt_, index); }

StatusOr<bool> SqliteStatement::Step() {
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  std::string msg = sqlite3_errmsg(db_);
  sqlite3_reset(stmt_);
  if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED) return Unavailable("database is busy: " + msg);
  if (rc == SQLITE_CONSTRAINT) return AlreadyExists("constraint failed: " + msg);
  return IoError("sqlite step failed: " + msg);
}

Status SqliteStatement::Run() {
  StatusOr<bool> r = Step();
  while (r.ok() && *r) r = Step();
  sqlite3_reset(stmt_);
  return r.ok() ? Status::Ok() : r.status();
}

void SqliteStatement::Reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

int64_t SqliteStatement::ColumnInt(int index) const { return sqlite3_column_int64(stmt_, index); }
double SqliteStatement::ColumnDouble(int index) const { return sqlite3_column_double(stmt_, index); }
std::string SqliteStatement::ColumnText(int index) const {
  const unsigned char* text = sqlite3_column_text(stmt_, index);
  return text ? std::string(reinterpret_cast<const char*>(text), static_cast<size_t>(sqlite3_column_bytes(stmt_, index))) : std::string();
}
std::string_view SqliteStatement::ColumnView(int index) const {
  const unsigned char* text = sqlite3_column_text(stmt_, index);
  return text ? std::string_view(reinterpret_cast<const char*>(text), static_cast<size_t>(sqlite3_column_bytes(stmt_, index)))
              : std::string_view();
}
bool SqliteStatement::ColumnIsNull(int index) const { return sqlite3_column_type(stmt_, index) == SQLITE_NULL; }

}  // namespace

// Defined in postgres.cc.
StatusOr<std::unique_ptr<Database>> OpenPostgres(const std::string& uri, const DatabaseOptions& options);

bool IsPostgresLocator(const std::string& locator) {
  return locator.rfind("postgres://", 0) == 0 || locator.rfind("postgresql://", 0) == 0;
}

std::string StripSqlitePrefix(const std::string& locator) {
  return locator.rfind("sqlite:", 0) == 0 ? locator.substr(7) : locator;
}

StatusOr<std::unique_ptr<Database>> Database::Open(const std::string& locator, DatabaseOptions options) {
  if (IsPostgresLocator(locator)) return OpenPostgres(locator, options);
  const std::string path = StripSqlitePrefix(locator);
  if (path.empty()) return InvalidArgument("database locator '" + locator + "' names no file; give a path, sqlite:PATH or postgres://...");
  return SqliteDatabase::Open(path, options);
}

Database::~Database() = default;

Status Database::Commit() { return Exec("COMMIT"); }
Status Database::Rollback() { return Exec("ROLLBACK"); }

Status Database::InTransaction(const std::function<Status()>& body) {
  if (transaction_depth_ > 0) {  // nested: part of the enclosing transaction
    ++transaction_depth_;
    Status s = body();
    --transaction_depth_;
    return s;
  }
  RETURN_IF_ERROR(Begin());
  transaction_depth_ = 1;
  Status s = body();
  transaction_depth_ = 0;
  if (!s.ok()) {
    (void)Rollback();
    after_commit_.clear();
    return s;
  }
  s = Commit();
  std::vector<std::function<void()>> hooks;
  hooks.swap(after_commit_);
  if (!s.ok()) return s;
  for (auto& hook : hooks) hook();
  return Status::Ok();
}

void Database::AfterCommit(std::function<void()> hook) {
  if (transaction_depth_ == 0) {
    hook();
    return;
  }
  after_commit_.push_back(std::move(hook));
}

}  // namespace steward::storage
