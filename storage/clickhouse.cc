#include "storage/clickhouse.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <charconv>
#include <chrono>
#include <limits>

#include "storage/database.h"
#include "storage/statement.h"

// ClickHouse 18.16 behaviour this file relies on (checked against the Debian package's server
// with curl):
//  - HTTP status: 200 on success; 400 for a syntax error (Code: 62), 404 for an unknown table or
//    database (60, 81), 500 for everything else. The body of a failure is one line
//    "Code: N, e.displayText() = DB::Exception: ..., e.what() = DB::Exception".
//  - A SELECT's answer is streamed: an error after the first block arrives inside a 200 unless
//    the URL carries wait_end_of_query=1 (the server then buffers the answer).
//  - TabSeparated output escapes the single quote too (a'b comes back as a\'b).
//  - No query parameters, no DateTime64, no window functions, and WITH takes expressions only
//    (no WITH name AS (subquery)): subqueries in FROM instead.
//  - JOIN ... USING demands identical key types on both sides (Int64 vs UInt8 is Code: 53).
//  - Non-matching rows of ANY LEFT JOIN get the type's default (0), not NULL (join_use_nulls=0).
//  - A Distributed table inside a JOIN/IN subquery of a distributed query is refused (Code: 288,
//    distributed_product_mode = 'deny'): the guardrail query names the _local tables instead.
//  - A quorum insert with a dead replica fails at once with Code: 285 (TOO_FEW_LIVE_REPLICAS) once
//    the dead replica's ZooKeeper session has expired (session_timeout_ms, 30 s by default); before
//    that it waits insert_quorum_timeout (600 s by default) and fails with Code: 319. The error
//    text spans lines ("Insertion status: Wrote 1 blocks ... on shard 0 replica 0").
//  - ON CLUSTER needs <distributed_ddl> and ZooKeeper in every server's config; {shard} and
//    {replica} in a ReplicatedMergeTree path are each server's <macros>. When a server's first
//    ZooKeeper connection fails at start-up (ZooKeeper not serving yet, or slow), its DDL worker
//    keeps a null session and the next ON CLUSTER statement crashes the server (SIGSEGV in
//    zkutil::ZooKeeper::createImpl): start ZooKeeper first and check system.zookeeper.
//  - Debian's package installs /usr/sbin/clickhouse-server (no /usr/bin/clickhouse multi-call
//    binary); it runs as root without complaint.
//  - Non-replicated MergeTree does not deduplicate retried blocks in 18.16; ReplicatedMergeTree
//    does (the last 100 block hashes per table, insert_deduplicate=1 by default), per block of up
//    to max_insert_block_size = 1,048,576 rows.

namespace steward::storage {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

constexpr std::string_view kUrlForm = "clickhouse://HOST:PORT/DB[?cluster=NAME]";

bool IsIdentifier(std::string_view s) {
  if (s.empty() || (s[0] >= '0' && s[0] <= '9')) return false;
  for (char c : s) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
    if (!ok) return false;
  }
  return true;
}

std::string UrlEncode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size() * 3);
  for (unsigned char c : s) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
        c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

// ClickHouse's error code from "Code: N, ..."; -1 when the body has none.
int ErrorCode(std::string_view body) {
  const size_t at = body.find("Code: ");
  if (at == std::string_view::npos) return -1;
  int code = -1;
  const char* first = body.data() + at + 6;
  std::from_chars(first, body.data() + body.size(), code);
  return code;
}

Status ClickHouseError(int http_status, std::string body) {
  while (!body.empty() && (body.back() == '\n' || body.back() == '\r')) body.pop_back();
  const int code = ErrorCode(body);
  std::string message = "ClickHouse answered HTTP " + std::to_string(http_status) + ": " + body;
  switch (code) {
    // Worth a retry: time-outs, network, replicas, quorum, ZooKeeper, load.
    case 159:  // TIMEOUT_EXCEEDED
    case 202:  // TOO_MANY_SIMULTANEOUS_QUERIES
    case 203:  // NO_FREE_CONNECTION
    case 209:  // SOCKET_TIMEOUT
    case 210:  // NETWORK_ERROR
    case 225:  // NO_ZOOKEEPER
    case 242:  // TABLE_IS_READ_ONLY (a replica lost its ZooKeeper session)
    case 244:  // UNEXPECTED_ZOOKEEPER_ERROR
    case 252:  // TOO_MANY_PARTS
    case 254:  // NO_ACTIVE_REPLICAS
    case 265:  // NO_AVAILABLE_REPLICA
    case 279:  // ALL_CONNECTION_TRIES_FAILED
    case 285:  // TOO_FEW_LIVE_REPLICAS
    case 286:  // UNSATISFIED_QUORUM_FOR_PREVIOUS_WRITE
    case 289:  // REPLICA_IS_NOT_IN_QUORUM
    case 319:  // UNKNOWN_STATUS_OF_INSERT
    case 369:  // ALL_REPLICAS_ARE_STALE
    case 999:  // KEEPER_EXCEPTION
      return Unavailable(message + " (transient: retry)");
    case 60:  // UNKNOWN_TABLE
    case 81:  // UNKNOWN_DATABASE
      return NotFound(message + " (create the event schema first: EnsureEventSchema)");
    case 6:    // CANNOT_PARSE_TEXT
    case 26:   // CANNOT_PARSE_QUOTED_STRING
    case 27:   // CANNOT_PARSE_INPUT_ASSERTION_FAILED
    case 36:   // BAD_ARGUMENTS
    case 43:   // ILLEGAL_TYPE_OF_ARGUMENT
    case 46:   // UNKNOWN_FUNCTION
    case 47:   // UNKNOWN_IDENTIFIER
    case 53:   // TYPE_MISMATCH
    case 62:   // SYNTAX_ERROR
    case 72:   // CANNOT_PARSE_NUMBER
    case 80:   // INCORRECT_QUERY
    case 108:  // NO_DATA_TO_INSERT
    case 115:  // UNKNOWN_SETTING
    case 117:  // INCORRECT_DATA
      return InvalidArgument(message);
    default:
      break;
  }
  if (code < 0 && http_status >= 500) return Unavailable(message);
  return FailedPrecondition(message);
}

}  // namespace

StatusOr<ClickHouseUrl> ParseClickHouseUrl(std::string_view url) {
  const std::string shown(url);
  auto bad = [&](const std::string& what) {
    return InvalidArgument("ClickHouse URL '" + shown + "': " + what + "; expected " + std::string(kUrlForm) +
                           ", e.g. clickhouse://127.0.0.1:8123/steward?cluster=steward");
  };
  static constexpr std::string_view kScheme = "clickhouse://";
  if (url.substr(0, kScheme.size()) != kScheme) return bad("it must start with clickhouse://");
  std::string_view rest = url.substr(kScheme.size());
  std::string_view query;
  if (const size_t q = rest.find('?'); q != std::string_view::npos) {
    query = rest.substr(q + 1);
    rest = rest.substr(0, q);
  }
  const size_t slash = rest.find('/');
  if (slash == std::string_view::npos) return bad("the database is missing (/DB after the port)");
  const std::string_view authority = rest.substr(0, slash);
  const std::string_view database = rest.substr(slash + 1);
  ClickHouseUrl out;
  std::string_view port_text;
  if (!authority.empty() && authority[0] == '[') {  // [IPv6]:PORT
    const size_t close = authority.find(']');
    if (close == std::string_view::npos) return bad("an IPv6 host needs its closing ]");
    out.host = std::string(authority.substr(1, close - 1));
    if (close + 1 >= authority.size() || authority[close + 1] != ':') return bad("the port is missing (:PORT after the host)");
    port_text = authority.substr(close + 2);
  } else {
    const size_t colon = authority.rfind(':');
    if (colon == std::string_view::npos) return bad("the port is missing (:PORT after the host)");
    out.host = std::string(authority.substr(0, colon));
    port_text = authority.substr(colon + 1);
  }
  if (out.host.empty()) return bad("the host is empty");
  int port = 0;
  auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (port_text.empty() || ec != std::errc() || end != port_text.data() + port_text.size() || port < 1 || port > 65535) {
    return bad("the port '" + std::string(port_text) + "' is not a number from 1 to 65535");
  }
  out.port = port;
  if (database.empty()) return bad("the database is empty");
  if (!IsIdentifier(database)) return bad("the database '" + std::string(database) + "' must be letters, digits and _");
  out.database = std::string(database);
  while (!query.empty()) {
    const size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    static constexpr std::string_view kCluster = "cluster=";
    if (pair.substr(0, kCluster.size()) != kCluster) {
      return bad("unknown option '" + std::string(pair) + "' (the only option is cluster=NAME)");
    }
    const std::string_view cluster = pair.substr(kCluster.size());
    if (!IsIdentifier(cluster)) return bad("the cluster '" + std::string(cluster) + "' must be letters, digits and _");
    out.cluster = std::string(cluster);
  }
  return out;
}

std::string FormatClickHouseUrl(const ClickHouseUrl& url) {
  const bool v6 = url.host.find(':') != std::string::npos;
  std::string out = "clickhouse://" + (v6 ? "[" + url.host + "]" : url.host) + ":" + std::to_string(url.port) + "/" +
                    url.database;
  if (!url.cluster.empty()) out += "?cluster=" + url.cluster;
  return out;
}

ClickHouseClient::ClickHouseClient(ClickHouseUrl url, ClickHouseOptions options)
    : url_(std::move(url)), options_(std::move(options)) {}
ClickHouseClient::~ClickHouseClient() = default;

StatusOr<std::string> ClickHouseClient::Post(const std::string& target, const std::string& body) {
  const std::string where = url_.host + ":" + std::to_string(url_.port);
  net::io_context ioc;
  beast::tcp_stream stream(ioc);
  beast::error_code ec;
  tcp::resolver resolver(ioc);
  auto endpoints = resolver.resolve(url_.host, std::to_string(url_.port), ec);
  if (ec) return Unavailable("ClickHouse at " + where + ": cannot resolve the host: " + ec.message());
  stream.expires_after(std::chrono::milliseconds(options_.connect_timeout_ms));
  stream.connect(endpoints, ec);
  if (ec) return Unavailable("ClickHouse at " + where + ": cannot connect: " + ec.message());
  beast::error_code ignored;
  stream.socket().set_option(tcp::no_delay(true), ignored);

  http::request<http::string_body> req{http::verb::post, target, 11};
  req.set(http::field::host, url_.host);
  req.set(http::field::user_agent, "steward");
  req.set("X-ClickHouse-User", options_.user);
  if (!options_.password.empty()) req.set("X-ClickHouse-Key", options_.password);
  req.set(http::field::content_type, "text/plain; charset=utf-8");
  req.keep_alive(false);
  req.body() = body;
  req.prepare_payload();
  stream.expires_after(std::chrono::milliseconds(options_.request_timeout_ms));
  http::write(stream, req, ec);
  if (ec) return Unavailable("ClickHouse at " + where + ": sending the request: " + ec.message());
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(std::numeric_limits<std::uint64_t>::max());
  http::read(stream, buffer, parser, ec);
  if (ec) return Unavailable("ClickHouse at " + where + ": reading the answer: " + ec.message());
  stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
  auto& res = parser.get();
  const int status = static_cast<int>(res.result_int());
  if (status != 200) return ClickHouseError(status, std::move(res.body()));
  return std::move(res.body());
}

Status ClickHouseClient::Execute(const std::string& sql) {
  // Buffered too: an ON CLUSTER statement streams one status row per host and reports a failed
  // host after the first rows.
  auto r = Post("/?database=" + url_.database + "&wait_end_of_query=1", sql);
  return r.ok() ? Status::Ok() : r.status();
}

StatusOr<std::string> ClickHouseClient::Query(const std::string& sql) {
  return Post("/?database=" + url_.database + "&wait_end_of_query=1", sql);
}

Status ClickHouseClient::Insert(const std::string& table, const std::string& columns_csv, const std::string& tsv_rows,
                                const std::string& settings_query) {
  std::string target = "/?database=" + url_.database + "&query=" +
                       UrlEncode("INSERT INTO " + table + " (" + columns_csv + ") FORMAT TabSeparated");
  if (!settings_query.empty()) target += "&" + settings_query;
  auto r = Post(target, tsv_rows);
  return r.ok() ? Status::Ok() : r.status().WithContext("inserting into " + url_.database + "." + table);
}

std::string EscapeTsvField(std::string_view value) {
  std::string out;
  out.reserve(value.size() + 8);
  for (char c : value) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '\t': out += "\\t"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\0': out += "\\0"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\'': out += "\\'"; break;
      default: out.push_back(c);
    }
  }
  return out;
}

StatusOr<std::string> UnescapeTsvField(std::string_view field) {
  std::string out;
  out.reserve(field.size());
  for (size_t i = 0; i < field.size(); ++i) {
    if (field[i] != '\\') {
      out.push_back(field[i]);
      continue;
    }
    if (++i == field.size()) return InvalidArgument("TabSeparated field ends in a lone backslash: '" + std::string(field) + "'");
    switch (field[i]) {
      case 't': out.push_back('\t'); break;
      case 'n': out.push_back('\n'); break;
      case 'r': out.push_back('\r'); break;
      case '0': out.push_back('\0'); break;
      case 'b': out.push_back('\b'); break;
      case 'f': out.push_back('\f'); break;
      case 'N': out += "\\N"; break;  // NULL stays visible as \N
      default: out.push_back(field[i]);  // \\ \' and any other escaped byte stand for themselves
    }
  }
  return out;
}

StatusOr<std::vector<std::vector<std::string>>> ParseTsv(std::string_view body) {
  std::vector<std::vector<std::string>> rows;
  while (!body.empty()) {
    const size_t nl = body.find('\n');
    const std::string_view line = body.substr(0, nl);
    body = nl == std::string_view::npos ? std::string_view() : body.substr(nl + 1);
    std::vector<std::string>& row = rows.emplace_back();
    size_t start = 0;
    while (true) {
      const size_t tab = line.find('\t', start);
      ASSIGN_OR_RETURN(std::string field, UnescapeTsvField(line.substr(start, tab - start)));
      row.push_back(std::move(field));
      if (tab == std::string_view::npos) break;
      start = tab + 1;
    }
  }
  return rows;
}

std::string QuoteSqlString(std::string_view value) {
  std::string out = "'";
  for (char c : value) {
    if (c == '\\' || c == '\'') out.push_back('\\');
    out.push_back(c);
  }
  out.push_back('\'');
  return out;
}

const std::vector<EventTable>& EventTables() {
  static const std::vector<EventTable> tables = {
      {"exposures",
       {{"request_id", "Int64"},
        {"ts_ms", "Int64"},
        {"user_id", "Int64"},
        {"experiment", "String"},
        {"arm", "String"},
        {"served", "String"},  // JSON [[item_id, propensity], ...]
        {"shadow", "Nullable(String)"},
        {"model_version", "String"},
        {"shadow_model_version", "Nullable(String)"},
        {"latency_us", "Int32"},
        {"shadow_latency_us", "Nullable(Int32)"},
        {"user_key", "Nullable(String)"},
        {"attributes", "Nullable(String)"},
        {"safety", "Nullable(String)"},
        {"evidence", "Nullable(String)"}}},
      {"feedback",
       {{"request_id", "Int64"},
        {"ts_ms", "Int64"},
        {"user_id", "Int64"},
        {"item_id", "Int64"},
        {"position", "Int32"},
        {"kind", "Int32"},
        {"value", "Float64"}}},
      {"shadow_results",
       {{"request_id", "Int64"},
        {"experiment", "String"},
        {"model_version", "String"},
        {"items", "String"},
        {"latency_us", "Int32"},
        {"error", "UInt8"},
        {"timed_out", "UInt8"}}},
  };
  return tables;
}

namespace {

// Partitioning and sort order per table. Partitions are months of ts_ms (toDateTime takes
// seconds); shadow_results has no time column and stays one partition.
std::string TableLayout(const std::string& table) {
  static const std::string kMonth = "PARTITION BY toYYYYMM(toDateTime(intDiv(ts_ms, 1000))) ";
  if (table == "exposures") return kMonth + "ORDER BY (experiment, request_id)";
  if (table == "feedback") return kMonth + "ORDER BY (request_id, kind)";
  return "ORDER BY request_id";
}

std::string ColumnsDdl(const EventTable& table) {
  std::string out = "(";
  for (const EventColumn& c : table.columns) out += std::string(c.name) + " " + c.type + ", ";
  return out + "replica String)";
}

}  // namespace

Status EnsureEventSchema(ClickHouseClient& client, const ClickHouseUrl& url) {
  const std::string& db = url.database;
  const std::string on_cluster = url.cluster.empty() ? "" : " ON CLUSTER " + url.cluster;
  auto context = [&](const std::string& what) { return "creating " + what + " in " + FormatClickHouseUrl(url); };
  {
    // The database must exist before a ?database= request can run, so this one goes to `default`.
    ClickHouseUrl bootstrap = url;
    bootstrap.database = "default";
    ClickHouseClient admin(bootstrap, client.options());
    RETURN_IF_ERROR(admin.Execute("CREATE DATABASE IF NOT EXISTS " + db + on_cluster).WithContext(context("the database")));
  }
  for (const EventTable& table : EventTables()) {
    const std::string name = table.name;
    if (url.cluster.empty()) {
      RETURN_IF_ERROR(client
                          .Execute("CREATE TABLE IF NOT EXISTS " + db + "." + name + " " + ColumnsDdl(table) +
                                   " ENGINE = MergeTree " + TableLayout(name))
                          .WithContext(context("table " + name)));
      continue;
    }
    // {shard} and {replica} are each server's macros (config: <macros>).
    RETURN_IF_ERROR(client
                        .Execute("CREATE TABLE IF NOT EXISTS " + db + "." + name + "_local" + on_cluster + " " +
                                 ColumnsDdl(table) + " ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/" + db +
                                 "/" + name + "_local', '{replica}') " + TableLayout(name))
                        .WithContext(context("table " + name + "_local")));
    // One sharding key for all three tables: a request's exposure, feedback and shadow result
    // share a shard, so joins by request_id are shard-local.
    RETURN_IF_ERROR(client
                        .Execute("CREATE TABLE IF NOT EXISTS " + db + "." + name + on_cluster + " " + ColumnsDdl(table) +
                                 " ENGINE = Distributed(" + url.cluster + ", " + db + ", " + name +
                                 "_local, intHash64(request_id))")
                        .WithContext(context("table " + name)));
  }
  return Status::Ok();
}

namespace {

// Parses the guardrail rows: arm, exposures, users, sx/sxx/sxy per metric, sy, syy.
StatusOr<std::vector<ArmAggregate>> ParseAggregates(const std::vector<std::vector<std::string>>& rows) {
  std::vector<ArmAggregate> out;
  for (const auto& row : rows) {
    if (row.size() != 14) {
      return Internal("guardrail aggregate row has " + std::to_string(row.size()) + " fields, expected 14");
    }
    std::vector<int64_t> v;
    for (size_t i = 1; i < row.size(); ++i) {
      int64_t x = 0;
      auto [end, ec] = std::from_chars(row[i].data(), row[i].data() + row[i].size(), x);
      if (ec != std::errc() || end != row[i].data() + row[i].size()) {
        return Internal("guardrail aggregate field " + std::to_string(i) + " is not an integer: '" + row[i] + "'");
      }
      v.push_back(x);
    }
    ArmAggregate a;
    a.arm = row[0];
    a.exposures = v[0];
    a.users = v[1];
    for (int m = 0; m < 3; ++m) {
      a.sx[m] = v[2 + 3 * m];
      a.sxx[m] = v[3 + 3 * m];
      a.sxy[m] = v[4 + 3 * m];
    }
    a.sy = v[11];
    a.syy = v[12];
    out.push_back(std::move(a));
  }
  return out;
}

}  // namespace

StatusOr<std::vector<ArmAggregate>> GuardrailAggregatesSqlite(Database& db, const std::string& experiment,
                                                              int64_t from_ms, int64_t until_ms) {
  // Lists as ForEachListOutcome counts them, summed per (arm, user), then per arm.
  ASSIGN_OR_RETURN(auto st, db.Prepare(
      "SELECT arm, SUM(y), COUNT(*), SUM(c), SUM(c * c), SUM(c * y), SUM(v), SUM(v * v), SUM(v * y), "
      "       SUM(l), SUM(l * l), SUM(l * y), SUM(y), SUM(y * y) FROM ("
      "  SELECT e.arm AS arm, e.user_id, COUNT(*) AS y, SUM(COALESCE(f.clicks, 0)) AS c, "
      "         SUM(COALESCE(f.conversions, 0)) AS v, SUM(e.latency_us) AS l "
      "  FROM exposures e LEFT JOIN ("
      "    SELECT request_id, COUNT(DISTINCT CASE WHEN kind = 1 THEN position END) AS clicks, "
      "           COUNT(DISTINCT CASE WHEN kind = 2 THEN position END) AS conversions "
      "    FROM feedback WHERE request_id IN ("
      "      SELECT request_id FROM exposures WHERE experiment = ?1 AND ts_ms >= ?2 AND ts_ms < ?3) "
      "    GROUP BY request_id) f ON f.request_id = e.request_id "
      "  WHERE e.experiment = ?1 AND e.ts_ms >= ?2 AND e.ts_ms < ?3 "
      "  GROUP BY e.arm, e.user_id) "
      "GROUP BY arm ORDER BY arm"));
  st->BindText(1, experiment);
  st->BindInt(2, from_ms);
  st->BindInt(3, until_ms);
  std::vector<std::vector<std::string>> rows;
  while (true) {
    ASSIGN_OR_RETURN(bool more, st->Step());
    if (!more) break;
    std::vector<std::string>& row = rows.emplace_back();
    row.push_back(st->ColumnText(0));
    for (int i = 1; i < 14; ++i) row.push_back(std::to_string(st->ColumnInt(i)));
  }
  return ParseAggregates(rows);
}

StatusOr<std::vector<ArmAggregate>> GuardrailAggregatesClickHouse(ClickHouseClient& client, const ClickHouseUrl& url,
                                                                  const std::string& experiment, int64_t from_ms,
                                                                  int64_t until_ms) {
  const std::string& db = url.database;
  // With a cluster the inner SELECT reads the Distributed `exposures`, so ClickHouse sends it whole
  // (JOIN and GROUP BY included) to every shard with exposures rewritten to exposures_local; the
  // joined subquery names feedback_local and exposures_local itself, so each shard joins its own
  // feedback (sharded like exposures by request_id) and returns partial (arm, user) sums that the
  // initiator merges. Without GLOBAL, a Distributed table inside the subquery would be refused
  // (distributed_product_mode = deny) or read every shard from every shard.
  const std::string local = url.cluster.empty() ? "" : "_local";
  const std::string window = "experiment = " + QuoteSqlString(experiment) + " AND ts_ms >= " + std::to_string(from_ms) +
                             " AND ts_ms < " + std::to_string(until_ms);
  const std::string sql =
      "SELECT arm, sum(y), count(), sum(c), sum(c * c), sum(c * y), sum(v), sum(v * v), sum(v * y), "
      "sum(l), sum(l * l), sum(l * y), sum(y), sum(y * y) FROM ("
      " SELECT arm, user_id, toInt64(count()) AS y, toInt64(sum(clicks)) AS c, toInt64(sum(conversions)) AS v, "
      "  toInt64(sum(latency_us)) AS l"
      " FROM " + db + ".exposures ANY LEFT JOIN ("
      "  SELECT request_id, toInt64(uniqExactIf(position, kind = 1)) AS clicks, "
      "   toInt64(uniqExactIf(position, kind = 2)) AS conversions"
      "  FROM " + db + ".feedback" + local + " WHERE kind IN (1, 2) AND request_id IN ("
      "   SELECT request_id FROM " + db + ".exposures" + local + " WHERE " + window + ")"
      "  GROUP BY request_id) USING request_id"
      " WHERE " + window +
      " GROUP BY arm, user_id) "
      "GROUP BY arm ORDER BY arm FORMAT TabSeparated";
  ASSIGN_OR_RETURN(std::string body, client.Query(sql));
  ASSIGN_OR_RETURN(auto rows, ParseTsv(body));
  return ParseAggregates(rows);
}

}  // namespace steward::storage
