// The PostgreSQL backend of storage::Database (libpq): the control plane of a scale-out deployment.
// See database.h for what it holds and docs/scale-out.md for the deployment.
//
// Statements: the typed stores write SQLite-style placeholders ("?" in order, or "?N"); they are
// rewritten to PostgreSQL's "$N" outside string literals and quoted identifiers. Parameters travel
// as text with no declared type, so the server infers each from its context (a column, an
// operator), exactly as it does for a literal; results come back as text and are parsed by the
// column accessors. A statement runs when first stepped (PQexecParams) and its rows are then read
// one by one from the result, so Step()/Run()/Reset() keep SQLite's contract.
//
// Writers: Begin() takes one transaction-scoped advisory lock (pg_advisory_xact_lock) after BEGIN,
// so write transactions of every replica run one at a time, as SQLite's BEGIN IMMEDIATE makes them
// on one machine; the audit chain's read-last-row-then-append is therefore never interleaved.
// Migrations run under a session advisory lock, so replicas starting together apply each once.
#include <libpq-fe.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include "storage/database.h"
#include "storage/statement.h"

namespace steward::storage {
namespace {

// Advisory lock keys (arbitrary constants, Steward's own): writers, migrations.
constexpr const char* kWriterLock = "SELECT pg_advisory_xact_lock(7340121)";
constexpr const char* kMigrationLock = "SELECT pg_advisory_lock(7340122)";
constexpr const char* kMigrationUnlock = "SELECT pg_advisory_unlock(7340122)";

// Control-plane schema, numbered on its own (steward_schema.version). Entry i brings version i to
// i+1. Never edit a shipped entry; append. Column meanings as in the SQLite schema (database.cc).
const std::vector<const char*>& PgMigrations() {
  static const std::vector<const char*> migrations = {
      R"sql(
      CREATE TABLE experiments (
        name            TEXT PRIMARY KEY,
        state           TEXT NOT NULL,
        current_version BIGINT NOT NULL,
        created_at_ms   BIGINT NOT NULL,
        updated_at_ms   BIGINT NOT NULL
      );
      CREATE TABLE experiment_versions (
        name          TEXT NOT NULL REFERENCES experiments(name),
        version       BIGINT NOT NULL,
        created_at_ms BIGINT NOT NULL,
        actor         TEXT NOT NULL,
        config_json   TEXT NOT NULL,
        PRIMARY KEY (name, version)
      );
      CREATE TABLE audit_log (
        seq       BIGINT PRIMARY KEY,
        ts_ms     BIGINT NOT NULL,
        actor     TEXT NOT NULL,
        action    TEXT NOT NULL,
        subject   TEXT NOT NULL,
        reason    TEXT NOT NULL,
        payload   TEXT NOT NULL,
        prev_hash TEXT NOT NULL,
        hash      TEXT NOT NULL
      );
      CREATE INDEX audit_log_by_subject ON audit_log(subject, seq);
      CREATE TABLE rollouts (
        name          TEXT PRIMARY KEY REFERENCES experiments(name),
        status_json   TEXT NOT NULL,
        updated_at_ms BIGINT NOT NULL
      );
      CREATE TABLE flags (
        key           TEXT PRIMARY KEY,
        value         TEXT NOT NULL,
        actor         TEXT NOT NULL,
        updated_at_ms BIGINT NOT NULL
      );
      CREATE TABLE sticky_assignments (
        experiment     TEXT NOT NULL,
        bucket_version BIGINT NOT NULL,
        user_id        TEXT NOT NULL,
        arm            BIGINT NOT NULL,
        PRIMARY KEY (experiment, bucket_version, user_id)
      );
      CREATE TABLE id_sequences (
        name TEXT PRIMARY KEY,
        next BIGINT NOT NULL
      );
      INSERT INTO id_sequences (name, next) VALUES ('request_id', 1);
      CREATE TABLE api_tokens (
        id         TEXT PRIMARY KEY,
        name       TEXT NOT NULL,
        role       TEXT NOT NULL,
        salt       TEXT NOT NULL,
        hash       TEXT NOT NULL,
        created_ms BIGINT NOT NULL,
        revoked_ms BIGINT
      );
      CREATE UNIQUE INDEX api_tokens_live_name ON api_tokens(name) WHERE revoked_ms IS NULL;
      CREATE TABLE sdk_keys (
        client_key  TEXT PRIMARY KEY,
        name        TEXT NOT NULL,
        experiments TEXT,
        created_ms  BIGINT NOT NULL,
        revoked_ms  BIGINT
      );
      CREATE UNIQUE INDEX sdk_keys_live_name ON sdk_keys(name) WHERE revoked_ms IS NULL;
      CREATE TABLE leases (
        name       TEXT PRIMARY KEY,
        holder     TEXT NOT NULL,
        expires_ms BIGINT NOT NULL
      );
      )sql",
  };
  return migrations;
}

// "?" / "?N" -> "$N" outside '...' literals and "..." identifiers. Sets `params` to the highest
// parameter number.
std::string TranslatePlaceholders(const std::string& sql, int& params) {
  std::string out;
  out.reserve(sql.size() + 8);
  int next = 0;
  params = 0;
  char quote = 0;
  for (size_t i = 0; i < sql.size(); ++i) {
    const char c = sql[i];
    if (quote) {
      out.push_back(c);
      if (c == quote) quote = 0;  // a doubled quote closes and reopens: same result
      continue;
    }
    if (c == '\'' || c == '"') {
      quote = c;
      out.push_back(c);
      continue;
    }
    if (c != '?') {
      out.push_back(c);
      continue;
    }
    int number = 0;
    size_t j = i + 1;
    while (j < sql.size() && sql[j] >= '0' && sql[j] <= '9') number = number * 10 + (sql[j++] - '0');
    if (j == i + 1) number = ++next;
    i = j - 1;
    params = std::max(params, number);
    out += "$" + std::to_string(number);
  }
  return out;
}

// postgres://user:secret@host/db -> postgres://user@host/db (for messages and path()).
std::string RedactPassword(const std::string& uri) {
  const size_t scheme = uri.find("://");
  const size_t at = uri.find('@');
  if (scheme == std::string::npos || at == std::string::npos) return uri;
  const size_t colon = uri.find(':', scheme + 3);
  if (colon == std::string::npos || colon > at) return uri;
  return uri.substr(0, colon) + uri.substr(at);
}

std::string PgMessage(const PGconn* conn, const PGresult* res) {
  std::string msg = res ? PQresultErrorMessage(res) : PQerrorMessage(conn);
  while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
  return msg;
}

// Maps a failed result to a Status: unique violations as kAlreadyExists (as SQLite's constraint
// errors), serialisation failures, deadlocks and lost connections as kUnavailable (retry).
Status PgError(const std::string& where, const PGconn* conn, const PGresult* res) {
  const std::string msg = where + ": " + PgMessage(conn, res);
  const char* state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : nullptr;
  const std::string code = state ? state : "";
  if (code.rfind("23", 0) == 0) return AlreadyExists("constraint failed: " + msg);
  if (code == "40001" || code == "40P01" || code.rfind("08", 0) == 0 || code.rfind("57P", 0) == 0 ||
      PQstatus(conn) != CONNECTION_OK) {
    return Unavailable(msg);
  }
  return IoError(msg);
}

struct ResultDeleter {
  void operator()(PGresult* r) const { PQclear(r); }
};
using Result = std::unique_ptr<PGresult, ResultDeleter>;

class PostgresDatabase;

class PgStatement final : public Statement {
 public:
  PgStatement(PostgresDatabase* owner, std::string sql, int params)
      : owner_(owner), sql_(std::move(sql)), values_(static_cast<size_t>(params)) {}

  void BindInt(int index, int64_t value) override { Set(index, std::to_string(value)); }
  void BindDouble(int index, double value) override {
    char buf[40];
    std::snprintf(buf, sizeof buf, "%.17g", value);
    Set(index, buf);
  }
  void BindText(int index, std::string_view value) override { Set(index, std::string(value)); }
  void BindBlob(int index, const void* data, size_t size) override {
    static constexpr char kHex[] = "0123456789abcdef";
    std::string text = "\\x";
    const auto* bytes = static_cast<const unsigned char*>(data);
    for (size_t i = 0; i < size; ++i) {
      text.push_back(kHex[bytes[i] >> 4]);
      text.push_back(kHex[bytes[i] & 15]);
    }
    Set(index, std::move(text));
  }
  void BindNull(int index) override {
    if (index >= 1 && static_cast<size_t>(index) <= values_.size()) values_[static_cast<size_t>(index - 1)].reset();
  }

  StatusOr<bool> Step() override;
  Status Run() override {
    StatusOr<bool> r = Step();
    result_.reset();
    row_ = -1;
    return r.ok() ? Status::Ok() : r.status();
  }
  void Reset() override {
    result_.reset();
    row_ = -1;
    for (auto& v : values_) v.reset();
  }

  int64_t ColumnInt(int index) const override {
    const char* v = Value(index);
    return v ? std::strtoll(v, nullptr, 10) : 0;
  }
  double ColumnDouble(int index) const override {
    const char* v = Value(index);
    return v ? std::strtod(v, nullptr) : 0.0;
  }
  std::string ColumnText(int index) const override { return std::string(ColumnView(index)); }
  std::string_view ColumnView(int index) const override {
    const char* v = Value(index);
    return v ? std::string_view(v, static_cast<size_t>(PQgetlength(result_.get(), row_, index))) : std::string_view();
  }
  bool ColumnIsNull(int index) const override {
    return !result_ || row_ < 0 || row_ >= PQntuples(result_.get()) || index >= PQnfields(result_.get()) ||
           PQgetisnull(result_.get(), row_, index);
  }

 private:
  void Set(int index, std::string value) {
    if (index >= 1 && static_cast<size_t>(index) <= values_.size()) values_[static_cast<size_t>(index - 1)] = std::move(value);
  }
  const char* Value(int index) const { return ColumnIsNull(index) ? nullptr : PQgetvalue(result_.get(), row_, index); }

  PostgresDatabase* owner_;
  std::string sql_;
  std::vector<std::optional<std::string>> values_;
  Result result_;
  int row_ = -1;
};

class PostgresDatabase final : public Database {
 public:
  static StatusOr<std::unique_ptr<Database>> Open(const std::string& uri, const DatabaseOptions& options) {
    const std::string shown = RedactPassword(uri);
    // connect_timeout bounds a dead host; application_name shows Steward in pg_stat_activity.
    const char* keys[] = {"dbname", "connect_timeout", "application_name", nullptr};
    const char* values[] = {uri.c_str(), "5", "steward", nullptr};
    PGconn* conn = PQconnectdbParams(keys, values, /*expand_dbname=*/1);
    if (!conn || PQstatus(conn) != CONNECTION_OK) {
      std::string msg = conn ? PQerrorMessage(conn) : "out of memory";
      while (!msg.empty() && msg.back() == '\n') msg.pop_back();
      PQfinish(conn);
      return Unavailable(shown + ": cannot connect to PostgreSQL: " + msg +
                         "; check the URL (postgres://USER@HOST:PORT/DB) and that the server runs");
    }
    std::unique_ptr<PostgresDatabase> db(new PostgresDatabase(conn, shown));
    RETURN_IF_ERROR(db->Exec("SET client_min_messages = warning"));
    if (options.read_only) {
      RETURN_IF_ERROR(db->Exec("SET default_transaction_read_only = on"));
      ASSIGN_OR_RETURN(int version, db->SchemaVersion());
      if (version != static_cast<int>(PgMigrations().size())) {
        return FailedPrecondition(shown + ": control schema version " + std::to_string(version) + ", this build reads " +
                                  std::to_string(PgMigrations().size()) +
                                  (version == 0 ? " (not a Steward control database; start `steward serve --control` on it once)"
                                                : "; use the Steward that wrote it"));
      }
    } else {
      RETURN_IF_ERROR(db->Migrate());
    }
    return std::unique_ptr<Database>(std::move(db));
  }

  ~PostgresDatabase() override { PQfinish(conn_); }

  Status Exec(const std::string& sql) override {
    Result res(PQexec(conn_, sql.c_str()));
    const ExecStatusType st = res ? PQresultStatus(res.get()) : PGRES_FATAL_ERROR;
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
      Status s = PgError(path_, conn_, res.get());
      Recover();
      return s;
    }
    return Status::Ok();
  }

  StatusOr<std::unique_ptr<Statement>> Prepare(const std::string& sql) override {
    int params = 0;
    std::string translated = TranslatePlaceholders(sql, params);
    return std::unique_ptr<Statement>(new PgStatement(this, std::move(translated), params));
  }

  Status Begin() override {
    RETURN_IF_ERROR(Exec("BEGIN"));
    Status locked = Exec(kWriterLock);
    if (!locked.ok()) (void)Exec("ROLLBACK");
    return locked;
  }

  StatusOr<int> SchemaVersion() override {
    Result res(PQexec(conn_, "SELECT version FROM steward_schema"));
    if (!res || PQresultStatus(res.get()) != PGRES_TUPLES_OK) {
      const char* state = res ? PQresultErrorField(res.get(), PG_DIAG_SQLSTATE) : nullptr;
      if (state && std::string(state) == "42P01") return 0;  // undefined_table: nothing migrated yet
      return PgError(path_ + ": reading the schema version", conn_, res.get());
    }
    return PQntuples(res.get()) > 0 ? std::atoi(PQgetvalue(res.get(), 0, 0)) : 0;
  }

  StatusOr<std::string> IntegrityCheck() override {
    RETURN_IF_ERROR(Exec("SELECT 1"));
    return std::string("ok");
  }
  Status Checkpoint() override { return Status::Ok(); }

  StatusOr<int64_t> DataVersion() override {
    ASSIGN_OR_RETURN(auto st, Prepare("SELECT COALESCE(MAX(seq), 0) FROM audit_log"));
    ASSIGN_OR_RETURN(bool row, st->Step());
    return row ? st->ColumnInt(0) : 0;
  }

  int64_t Changes() override { return changes_; }
  Backend backend() const override { return Backend::kPostgres; }

  // Runs a translated statement; the statement keeps the result.
  StatusOr<Result> Execute(const std::string& sql, const std::vector<std::optional<std::string>>& values) {
    std::vector<const char*> params(values.size());
    for (size_t i = 0; i < values.size(); ++i) params[i] = values[i] ? values[i]->c_str() : nullptr;
    Result res(PQexecParams(conn_, sql.c_str(), static_cast<int>(params.size()), nullptr, params.data(), nullptr, nullptr, 0));
    const ExecStatusType st = res ? PQresultStatus(res.get()) : PGRES_FATAL_ERROR;
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
      Status s = PgError(path_ + ": `" + sql + "`", conn_, res.get());
      Recover();
      return s;
    }
    const char* tuples = PQcmdTuples(res.get());
    changes_ = tuples && *tuples ? std::strtoll(tuples, nullptr, 10) : 0;
    return res;
  }

 private:
  PostgresDatabase(PGconn* conn, std::string shown) : Database(std::move(shown)), conn_(conn) {}

  // A lost connection is re-established for the next call (the failed one reported kUnavailable).
  void Recover() {
    if (PQstatus(conn_) == CONNECTION_BAD) PQreset(conn_);
  }

  Status Migrate() {
    RETURN_IF_ERROR(Exec(kMigrationLock));
    Status s = [&]() -> Status {
      RETURN_IF_ERROR(Exec("CREATE TABLE IF NOT EXISTS steward_schema (version INTEGER NOT NULL)"));
      ASSIGN_OR_RETURN(int version, SchemaVersion());
      const int latest = static_cast<int>(PgMigrations().size());
      if (version > latest) {
        return FailedPrecondition(path_ + ": control schema version " + std::to_string(version) +
                                  " is newer than this build supports (" + std::to_string(latest) + "); upgrade Steward");
      }
      for (int v = version; v < latest; ++v) {
        Status step = InTransaction([&]() -> Status {
          RETURN_IF_ERROR(Exec(PgMigrations()[static_cast<size_t>(v)]));
          RETURN_IF_ERROR(Exec("DELETE FROM steward_schema"));
          return Exec("INSERT INTO steward_schema (version) VALUES (" + std::to_string(v + 1) + ")");
        });
        if (!step.ok()) return step.WithContext("control schema migration to version " + std::to_string(v + 1));
      }
      return Status::Ok();
    }();
    (void)Exec(kMigrationUnlock);
    return s;
  }

  PGconn* conn_;
  int64_t changes_ = 0;
};

StatusOr<bool> PgStatement::Step() {
  if (!result_ || (row_ >= 0 && row_ >= PQntuples(result_.get()))) {
    result_.reset();
    ASSIGN_OR_RETURN(result_, owner_->Execute(sql_, values_));
    row_ = -1;
  }
  ++row_;
  return row_ < PQntuples(result_.get());
}

}  // namespace

StatusOr<std::unique_ptr<Database>> OpenPostgres(const std::string& uri, const DatabaseOptions& options) {
  return PostgresDatabase::Open(uri, options);
}

}  // namespace steward::storage
