// ClickHouse 18.16 as the scale-out home of Steward's events (issue #14): the URL form, a small
// HTTP client (Boost.Beast, confined to clickhouse.cc), the event schema, client-side escaping and
// the guardrail aggregates computed where the data is (SQLite locally, ClickHouse in scale-out).
//
// Wire formats: TabSeparated in both directions; timestamps are Int64 milliseconds (no
// DateTime64 in 18.16); no query parameters exist in 18.16, so every literal is escaped here
// (QuoteSqlString) and every TSV field with EscapeTsvField.
//
// Thread safety: a ClickHouseClient is for one thread at a time. The free functions are pure or
// take the client they use.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace steward::storage {

class Database;

// clickhouse://HOST:PORT/DB[?cluster=NAME]. PORT is ClickHouse's HTTP port (8123 by default in
// its own config). With a cluster the event tables are Replicated + Distributed ON CLUSTER;
// without one they are plain MergeTree tables on a single node.
struct ClickHouseUrl {
  std::string host;
  int port = 0;
  std::string database;
  std::string cluster;  // "" for a single node
};

// Errors: kInvalidArgument naming the part that is wrong and the expected form.
StatusOr<ClickHouseUrl> ParseClickHouseUrl(std::string_view url);
// The URL back in its canonical form (for logs and the spool).
std::string FormatClickHouseUrl(const ClickHouseUrl& url);

struct ClickHouseOptions {
  // Time to resolve and connect. Default: 2000.
  int connect_timeout_ms = 2000;
  // Time for one request: sending it and reading the whole answer. Default: 60000.
  int request_timeout_ms = 60000;
  // ClickHouse user and password (X-ClickHouse-User / X-ClickHouse-Key headers). Default:
  // "default" with no password.
  std::string user = "default";
  std::string password;
};

// The HTTP interface of one ClickHouse server; a new connection per call.
//
// Errors (every one carries ClickHouse's own text, e.g. "Code: 286, e.displayText() = ..."):
//   kUnavailable: no connection, a timeout, a 5xx without a ClickHouse code, or a code that a
//     retry can cure (quorum, replicas, ZooKeeper, network, too many parts/queries);
//   kInvalidArgument: ClickHouse refused the statement or the data (syntax, types, parsing);
//   kNotFound: unknown table or database (codes 60, 81);
//   kFailedPrecondition: any other ClickHouse error.
class ClickHouseClient {
 public:
  ClickHouseClient(ClickHouseUrl url, ClickHouseOptions options = {});
  ~ClickHouseClient();
  ClickHouseClient(const ClickHouseClient&) = delete;
  ClickHouseClient& operator=(const ClickHouseClient&) = delete;

  // Runs a statement with no result (DDL, INSERT ... SELECT) in the URL's database; waits for
  // the whole answer, so an ON CLUSTER statement fails here when any host failed.
  Status Execute(const std::string& sql);
  // Runs a query in the URL's database and returns the body: TabSeparated unless `sql` names
  // another FORMAT. The server buffers the whole answer first (wait_end_of_query=1) so that an
  // error half-way is an error here, not a truncated 200.
  StatusOr<std::string> Query(const std::string& sql);
  // INSERT INTO `table` (`columns_csv`) FORMAT TabSeparated with `tsv_rows` as the body;
  // `settings_query` ("insert_quorum=2&insert_distributed_sync=1", or "") is appended to the URL.
  Status Insert(const std::string& table, const std::string& columns_csv, const std::string& tsv_rows,
                const std::string& settings_query);

  const ClickHouseUrl& url() const { return url_; }
  const ClickHouseOptions& options() const { return options_; }

 private:
  StatusOr<std::string> Post(const std::string& target, const std::string& body);
  ClickHouseUrl url_;
  ClickHouseOptions options_;
};

// ClickHouse's text escaping of one TabSeparated field: backslash, tab, newline, carriage return,
// NUL, backspace, form feed and the single quote become backslash sequences; other bytes (UTF-8
// included) pass through.
std::string EscapeTsvField(std::string_view value);
// The inverse, for one field of a TabSeparated answer. Errors: kInvalidArgument on a dangling
// backslash.
StatusOr<std::string> UnescapeTsvField(std::string_view field);
// Splits a TabSeparated body into rows of unescaped fields ("\N" stays the two characters "\N";
// compare with the raw field when NULLs matter).
StatusOr<std::vector<std::vector<std::string>>> ParseTsv(std::string_view body);
// A ClickHouse string literal: 'value' with backslash and quote escaped.
std::string QuoteSqlString(std::string_view value);

// The event tables of `url` (database created if missing): exposures, feedback, shadow_results
// with the SQLite columns plus `replica String` (the Steward replica that wrote the row).
// Single node: MergeTree tables named as in SQLite. With a cluster: X_local ON CLUSTER as
// ReplicatedMergeTree('/clickhouse/tables/{shard}/DB/X_local', '{replica}') and X as
// Distributed(cluster, DB, X_local, intHash64(request_id)): exposures, feedback and shadow
// results of one request live on one shard, so the feedback join runs shard-local.
// Idempotent (IF NOT EXISTS).
Status EnsureEventSchema(ClickHouseClient& client, const ClickHouseUrl& url);

// The columns of each event table, in SQLite and ClickHouse order (`replica` excluded: the shipper
// adds it last). Types are ClickHouse's; SQLite NULLs map to Nullable columns.
struct EventColumn {
  const char* name;
  const char* type;
};
struct EventTable {
  const char* name;  // exposures, feedback, shadow_results
  std::vector<EventColumn> columns;
};
const std::vector<EventTable>& EventTables();

// Guardrail sufficient statistics of one arm over users (the randomisation unit), for the delta
// method. Per user u in the window: y_u = u's exposures; x_u[m] = the sum over u's lists of
//   m = 0 clicks: distinct clicked positions of the list (feedback kind 1),
//   m = 1 conversions: distinct converted positions (feedback kind 2),
//   m = 2 latency_us of the list;
// exactly as ForEachListOutcome counts a list (feedback of any time counts for its list).
// sx[m] = Σ_u x_u[m], sxx[m] = Σ x_u[m]², sxy[m] = Σ x_u[m]·y_u, sy = Σ y_u (= exposures),
// syy = Σ y_u². All integers, so SQLite and ClickHouse agree exactly. Overflow: SQLite fails the
// query ("integer overflow"); ClickHouse's Int64 sums wrap, which needs Σ latency² above 9.2e18.
struct ArmAggregate {
  std::string arm;
  int64_t exposures = 0;
  int64_t users = 0;
  int64_t sx[3] = {};
  int64_t sxx[3] = {};
  int64_t sxy[3] = {};
  int64_t sy = 0;
  int64_t syy = 0;
  bool operator==(const ArmAggregate&) const = default;
};

// Exposures of `experiment` with from_ms <= ts_ms < until_ms, per arm in arm order. One statement.
StatusOr<std::vector<ArmAggregate>> GuardrailAggregatesSqlite(Database& db, const std::string& experiment,
                                                              int64_t from_ms, int64_t until_ms);
// The same over the ClickHouse event tables of `url`. One statement; with a cluster it reads the
// Distributed exposures and joins each shard's feedback_local on that shard.
StatusOr<std::vector<ArmAggregate>> GuardrailAggregatesClickHouse(ClickHouseClient& client, const ClickHouseUrl& url,
                                                                  const std::string& experiment, int64_t from_ms,
                                                                  int64_t until_ms);

}  // namespace steward::storage
