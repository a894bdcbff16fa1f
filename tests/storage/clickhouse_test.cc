// ClickHouse 18.16 against real servers this test starts itself (ctest label "clickhouse"):
// URL parsing, escaping round trips, the error mapping, the EventShipper (batches, counts, a killed
// and restarted server, the spool's body hash) and the guardrail aggregates, equal in SQLite, in
// ClickHouse (one node, and two shards behind a Distributed table) and by hand.
//
// Servers: the Debian package's /usr/sbin/clickhouse-server (or upstream's /usr/bin/clickhouse
// server), each with a generated minimal config in a temp directory on free ports, killed with
// the test process (PR_SET_PDEATHSIG) and at the end. Missing binary: the tests fail and say how
// to install it.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <thread>

#include "storage/clickhouse.h"
#include "storage/database.h"
#include "storage/event_shipper.h"
#include "storage/event_writer.h"
#include "storage/queries.h"
#include "storage/statement.h"

namespace steward::storage {
namespace {

namespace fs = std::filesystem;

int FreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) return -1;
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

// One ClickHouse server process with its own data directory and ports.
class ClickHouseServer {
 public:
  // `cluster_xml`: a <remote_servers> section, or "".
  ClickHouseServer(std::string dir, std::string cluster_xml = "")
      : dir_(std::move(dir)), http_port_(FreePort()), tcp_port_(FreePort()), cluster_xml_(std::move(cluster_xml)) {}
  ~ClickHouseServer() { Kill(); }

  static std::string Binary() {
    if (access("/usr/bin/clickhouse", X_OK) == 0) return "/usr/bin/clickhouse";
    if (access("/usr/sbin/clickhouse-server", X_OK) == 0) return "/usr/sbin/clickhouse-server";
    return "";
  }

  int http_port() const { return http_port_; }
  int tcp_port() const { return tcp_port_; }
  void set_cluster_xml(std::string xml) { cluster_xml_ = std::move(xml); }
  // Settings of the default profile, e.g. "<insert_quorum_timeout>5000</insert_quorum_timeout>".
  void set_profile_xml(std::string xml) { profile_xml_ = std::move(xml); }

  // Starts the server (same data directory and ports on a restart) and waits for SELECT 1.
  Status Start() {
    const std::string binary = Binary();
    if (binary.empty()) {
      return FailedPrecondition(
          "ClickHouse is not installed (neither /usr/bin/clickhouse nor /usr/sbin/clickhouse-server): run "
          "scripts/install-deps.sh (Debian package clickhouse-server, 18.16)");
    }
    fs::create_directories(dir_ + "/data");
    const std::string config = dir_ + "/config.xml";
    std::ofstream(config) << "<yandex>\n"
                          << "  <logger><level>warning</level><console>0</console><log>" << dir_
                          << "/server.log</log><errorlog>" << dir_ << "/error.log</errorlog></logger>\n"
                          << "  <http_port>" << http_port_ << "</http_port>\n"
                          << "  <tcp_port>" << tcp_port_ << "</tcp_port>\n"
                          << "  <listen_host>127.0.0.1</listen_host>\n"
                          << "  <path>" << dir_ << "/data/</path>\n"
                          << "  <tmp_path>" << dir_ << "/tmp/</tmp_path>\n"
                          << "  <user_files_path>" << dir_ << "/user_files/</user_files_path>\n"
                          << "  <format_schema_path>" << dir_ << "/format_schemas/</format_schema_path>\n"
                          << "  <users_config>users.xml</users_config>\n"
                          << "  <default_profile>default</default_profile>\n"
                          << "  <default_database>default</default_database>\n"
                          << "  <mark_cache_size>268435456</mark_cache_size>\n"
                          << "  <uncompressed_cache_size>268435456</uncompressed_cache_size>\n"
                          << cluster_xml_ << "</yandex>\n";
    std::ofstream(dir_ + "/users.xml")
        << "<yandex>\n  <profiles><default>" << profile_xml_ << "</default></profiles>\n"
        << "  <users><default><password></password><networks><ip>127.0.0.1</ip><ip>::1</ip></networks>"
        << "<profile>default</profile><quota>default</quota></default></users>\n"
        << "  <quotas><default></default></quotas>\n</yandex>\n";
    const std::string flag = "--config-file=" + config;
    const std::string log = dir_ + "/stdout.log";
    fflush(stdout);  // or the child flushes the parent's buffered output a second time
    fflush(stderr);
    pid_ = fork();
    if (pid_ < 0) return IoError("fork failed");
    if (pid_ == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlive the test
      freopen(log.c_str(), "a", stdout);
      freopen(log.c_str(), "a", stderr);
      if (binary == "/usr/bin/clickhouse") {
        execl(binary.c_str(), binary.c_str(), "server", flag.c_str(), static_cast<char*>(nullptr));
      } else {
        execl(binary.c_str(), binary.c_str(), flag.c_str(), static_cast<char*>(nullptr));
      }
      _exit(127);
    }
    ClickHouseClient probe(Url("default"), ClickHouseOptions{.connect_timeout_ms = 500, .request_timeout_ms = 2000});
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (std::chrono::steady_clock::now() < deadline) {
      if (probe.Query("SELECT 1").ok()) return Status::Ok();
      int wstatus = 0;
      if (waitpid(pid_, &wstatus, WNOHANG) == pid_) {
        pid_ = -1;
        return Unavailable("clickhouse-server exited at start; see " + dir_ + "/stdout.log and error.log");
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return Unavailable("clickhouse-server did not answer SELECT 1 within 30 s; see " + dir_ + "/error.log");
  }

  void Kill() {
    if (pid_ <= 0) return;
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }

  ClickHouseUrl Url(const std::string& database, const std::string& cluster = "") const {
    return ClickHouseUrl{"127.0.0.1", http_port_, database, cluster};
  }

 private:
  std::string dir_;
  int http_port_, tcp_port_;
  std::string cluster_xml_;
  std::string profile_xml_;
  pid_t pid_ = -1;
};

// A standalone ZooKeeper (Debian's zookeeper package) for replicated tables and ON CLUSTER DDL.
class ZooKeeper {
 public:
  explicit ZooKeeper(std::string dir) : dir_(std::move(dir)), port_(FreePort()) {}
  ~ZooKeeper() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }
  int port() const { return port_; }
  Status Start() {
    if (access("/usr/share/java/zookeeper.jar", R_OK) != 0 || access("/usr/bin/java", X_OK) != 0) {
      return FailedPrecondition("ZooKeeper is not installed (/usr/share/java/zookeeper.jar, /usr/bin/java): run "
                                "scripts/install-deps.sh (Debian package zookeeper)");
    }
    fs::create_directories(dir_ + "/data");
    // tickTime 500 lets ClickHouse use a 3 s session: a killed replica drops out of ZooKeeper fast.
    std::ofstream(dir_ + "/zoo.cfg") << "tickTime=500\ndataDir=" << dir_ << "/data\nclientPort=" << port_
                                     << "\nadmin.enableServer=false\n4lw.commands.whitelist=srvr\n";
    const std::string cfg = dir_ + "/zoo.cfg", log = dir_ + "/zookeeper.log";
    fflush(stdout);  // or the child flushes the parent's buffered output a second time
    fflush(stderr);
    pid_ = fork();
    if (pid_ < 0) return IoError("fork failed");
    if (pid_ == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      freopen(log.c_str(), "a", stdout);
      freopen(log.c_str(), "a", stderr);
      execl("/usr/bin/java", "java", "-Xmx256m", "-cp", "/etc/zookeeper/conf:/usr/share/java/zookeeper.jar",
            "org.apache.zookeeper.server.ZooKeeperServerMain", cfg.c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (std::chrono::steady_clock::now() < deadline) {
      const int fd = socket(AF_INET, SOCK_STREAM, 0);
      sockaddr_in addr{};
      addr.sin_family = AF_INET;
      addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      addr.sin_port = htons(static_cast<uint16_t>(port_));
      // "srvr" answers "Mode: standalone" only once the server serves sessions ("ruok" says imok
      // earlier, and a ClickHouse that fails its first ZooKeeper connection crashes on ON CLUSTER).
      char answer[512] = {};
      if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 && write(fd, "srvr", 4) == 4 &&
          read(fd, answer, sizeof(answer) - 1) > 0 && std::string(answer).find("Mode: standalone") != std::string::npos) {
        close(fd);
        return Status::Ok();
      }
      close(fd);
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return Unavailable("ZooKeeper did not answer srvr with Mode: standalone within 30 s; see " + log);
  }

 private:
  std::string dir_;
  int port_;
  pid_t pid_ = -1;
};

std::string TempDir(const std::string& name) {
  const std::string dir = testing::TempDir() + "/steward-ch-" + name + "-" + std::to_string(getpid());
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

// A test's directory, removed at the end unless the test failed (then kept for its logs). Declare
// it before the servers that live in it.
struct TestTree {
  std::string path;
  ~TestTree() {
    if (!testing::Test::HasFailure()) fs::remove_all(path);
  }
};

int64_t SqliteCount(Database& db, const std::string& sql) {
  auto st = db.Prepare(sql);
  EXPECT_TRUE(st.ok()) << st.status().ToString();
  if (!st.ok()) return -1;
  auto row = (*st)->Step();
  EXPECT_TRUE(row.ok() && *row);
  return (*st)->ColumnInt(0);
}

int64_t ClickHouseCount(ClickHouseClient& client, const std::string& sql) {
  auto body = client.Query(sql);
  EXPECT_TRUE(body.ok()) << sql << ": " << body.status().ToString();
  if (!body.ok()) return -1;
  return std::stoll(*body);
}

constexpr int64_t kBaseMs = 1'700'000'000'000;
const char* kNasty[] = {
    "plain",
    "tab\there",
    "new\nline",
    "back\\slash",
    "quote ' and \"double\"",
    "\\t literally, \\N and \\\\",
    "ünïcödé ✓ 🙂 — 日本語",
    "ends with backslash\\",
    "'); DROP TABLE x; --",
    "",
    "\r\n\t\\'\\",
};

// Writes `n` exposures (request ids first_id..) with feedback and shadow results through
// EventWriter, deterministic from the ids. Users repeat so each has many lists; 10% of the lists
// belong to another experiment; some lists get repeated clicks on one position.
Status WriteEvents(const std::string& path, int64_t first_id, int64_t n) {
  EventWriterOptions wo;
  wo.sync = SyncMode::kNormal;
  ASSIGN_OR_RETURN(auto writer, EventWriter::Start(path, wo));
  std::vector<Event> chunk;
  for (int64_t i = first_id; i < first_id + n; ++i) {
    Exposure e;
    e.request_id = i;
    e.ts_ms = kBaseMs + i * 10;
    e.user_id = 1 + (i * 7919) % 4999;
    e.experiment = i % 10 == 9 ? "other" : "exp-ch";
    e.arm = e.user_id % 3 == 0 ? "control" : (e.user_id % 3 == 1 ? "treatment" : "treat\tment 'b'");
    e.served = {{100 + i % 50, 0.5}, {200 + i % 70, 0.25}, {300 + i % 90, 0.125}};
    if (i % 3 == 0) e.shadow_items = {7, 8, 9};
    e.model_version = "m-1";
    if (i % 3 == 0) e.shadow_model_version = "m-2";
    e.latency_us = static_cast<int32_t>(500 + (i * 37) % 9000);
    if (i % 1000 == 0) e.user_key = kNasty[(i / 1000) % std::size(kNasty)];
    if (i % 7 == 0) e.attributes = "{\"country\":\"DE\",\"note\":\"tab\\there ✓\"}";
    if (i % 11 == 0) e.safety = "{\"v\":1,\"risk\":[0.1,0.2,0.3]}";
    chunk.emplace_back(std::in_place_type<Exposure>, std::move(e));
    auto fb = [&](int32_t position, FeedbackKind kind, double value) {
      Feedback f;
      f.request_id = i;
      f.ts_ms = kBaseMs + i * 10 + 500;
      f.user_id = 1 + (i * 7919) % 4999;
      f.position = position;
      f.kind = kind;
      f.value = value;
      chunk.emplace_back(std::in_place_type<Feedback>, f);
    };
    if (i % 4 == 0) fb(1, FeedbackKind::kClick, 1.0);
    if (i % 8 == 0) {
      fb(1, FeedbackKind::kClick, 1.0);  // a repeated click counts once
      fb(2, FeedbackKind::kClick, 1.0);
    }
    if (i % 16 == 0) fb(2, FeedbackKind::kConversion, 1.0);
    if (i % 5 == 0) fb(3, FeedbackKind::kDwell, 12.25 + static_cast<double>(i % 13) / 3.0);
    if (i % 50 == 0) {
      ShadowOutcome o;
      o.request_id = i;
      o.experiment = "exp-ch";
      o.model_version = "m-2";
      o.items = {1, 2, 3};
      o.latency_us = 1500;
      o.timed_out = i % 100 == 0;
      chunk.emplace_back(std::in_place_type<ShadowOutcome>, std::move(o));
    }
    if (chunk.size() >= 20000) {
      ASSIGN_OR_RETURN(uint64_t seq, writer->SubmitBatch(std::move(chunk)));
      (void)seq;
      chunk.clear();
    }
  }
  if (!chunk.empty()) {
    ASSIGN_OR_RETURN(uint64_t seq, writer->SubmitBatch(std::move(chunk)));
    (void)seq;
  }
  return writer->Close();
}

// The guardrail sums computed here from ForEachListOutcome rows: the reference both queries must
// match.
std::vector<ArmAggregate> HandAggregates(Database& db, const std::string& experiment, int64_t from_ms,
                                         int64_t until_ms) {
  struct User {
    int64_t y = 0, x[3] = {};
  };
  std::map<std::string, std::map<int64_t, User>> users;
  Status s = ForEachListOutcome(db, experiment, until_ms, [&](const ListOutcomeRow& r) {
    if (r.ts_ms < from_ms) return;
    User& u = users[r.arm][r.user_id];
    u.y += 1;
    u.x[0] += r.clicks;
    u.x[1] += r.conversions;
    u.x[2] += r.latency_us;
  });
  EXPECT_TRUE(s.ok()) << s.ToString();
  std::vector<ArmAggregate> out;
  for (const auto& [arm, by_user] : users) {
    ArmAggregate a;
    a.arm = arm;
    for (const auto& [id, u] : by_user) {
      a.exposures += u.y;
      a.users += 1;
      for (int m = 0; m < 3; ++m) {
        a.sx[m] += u.x[m];
        a.sxx[m] += u.x[m] * u.x[m];
        a.sxy[m] += u.x[m] * u.y;
      }
      a.sy += u.y;
      a.syy += u.y * u.y;
    }
    out.push_back(a);
  }
  return out;
}

std::string Describe(const std::vector<ArmAggregate>& v) {
  std::ostringstream out;
  for (const ArmAggregate& a : v) {
    out << "[" << a.arm << " exp=" << a.exposures << " users=" << a.users;
    for (int m = 0; m < 3; ++m) out << " m" << m << "=(" << a.sx[m] << "," << a.sxx[m] << "," << a.sxy[m] << ")";
    out << " sy=" << a.sy << " syy=" << a.syy << "] ";
  }
  return out.str();
}

// One server and one 250,000-exposure SQLite database, shared by the tests of one process and
// made on first use (ctest runs each test in its own process: only those that need them pay).
class ClickHouseTest : public testing::Test {
 protected:
  static constexpr int64_t kExposures = 250000;

  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
    if (root_) fs::remove_all(*root_);
    delete root_;
    root_ = nullptr;
    delete sqlite_path_;
    sqlite_path_ = nullptr;
  }
  static const std::string& Root() {
    if (!root_) root_ = new std::string(TempDir("suite"));
    return *root_;
  }
  // The shared single-node server; fails the test when it cannot start.
  static ClickHouseServer* Server() {
    if (!server_) {
      server_ = new ClickHouseServer(Root() + "/server");
      server_status_ = server_->Start();
    }
    EXPECT_TRUE(server_status_.ok()) << server_status_.ToString();
    return server_status_.ok() ? server_ : nullptr;
  }
  // The shared events database written by EventWriter; "" (and a failure) when writing failed.
  static std::string EventsDb() {
    if (!sqlite_path_) {
      sqlite_path_ = new std::string(Root() + "/events.db");
      const auto t0 = std::chrono::steady_clock::now();
      write_status_ = WriteEvents(*sqlite_path_, 1, kExposures);
      write_seconds_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    }
    EXPECT_TRUE(write_status_.ok()) << write_status_.ToString();
    return write_status_.ok() ? *sqlite_path_ : "";
  }

  // A private copy of EventsDb() for one test: shipping installs triggers, an outbox and a spool
  // in the file, and a second shipper on the same file would (rightly) ship nothing again.
  static std::string CopyOfEventsDb(const std::string& name) {
    const std::string source = EventsDb();
    if (source.empty()) return "";
    {
      auto db = Database::Open(source);
      EXPECT_TRUE(db.ok() && (*db)->Checkpoint().ok());
    }
    const std::string copy = Root() + "/" + name + ".db";
    fs::copy_file(source, copy, fs::copy_options::overwrite_existing);
    Status clean = EventShipper::Uninstall(copy);
    EXPECT_TRUE(clean.ok()) << clean.ToString();
    return clean.ok() ? copy : "";
  }

  static std::string* root_;
  static ClickHouseServer* server_;
  static Status server_status_;
  static Status write_status_;
  static std::string* sqlite_path_;
  static double write_seconds_;
};
std::string* ClickHouseTest::root_ = nullptr;
ClickHouseServer* ClickHouseTest::server_ = nullptr;
Status ClickHouseTest::server_status_;
Status ClickHouseTest::write_status_;
std::string* ClickHouseTest::sqlite_path_ = nullptr;
double ClickHouseTest::write_seconds_ = 0;

TEST(ClickHouseUrl, ParsesTheDocumentedForms) {
  auto single = ParseClickHouseUrl("clickhouse://ch-1.internal:8123/steward");
  ASSERT_TRUE(single.ok()) << single.status().ToString();
  EXPECT_EQ(single->host, "ch-1.internal");
  EXPECT_EQ(single->port, 8123);
  EXPECT_EQ(single->database, "steward");
  EXPECT_EQ(single->cluster, "");
  auto cluster = ParseClickHouseUrl("clickhouse://10.0.0.5:18123/events_v2?cluster=steward_2x2");
  ASSERT_TRUE(cluster.ok()) << cluster.status().ToString();
  EXPECT_EQ(cluster->cluster, "steward_2x2");
  EXPECT_EQ(FormatClickHouseUrl(*cluster), "clickhouse://10.0.0.5:18123/events_v2?cluster=steward_2x2");
  auto v6 = ParseClickHouseUrl("clickhouse://[::1]:8123/db");
  ASSERT_TRUE(v6.ok()) << v6.status().ToString();
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(FormatClickHouseUrl(*v6), "clickhouse://[::1]:8123/db");
}

TEST(ClickHouseUrl, ErrorsNameThePartAndTheForm) {
  const std::pair<const char*, const char*> cases[] = {
      {"http://h:8123/db", "must start with clickhouse://"},
      {"clickhouse://h:8123", "database is missing"},
      {"clickhouse://h/db", "port is missing"},
      {"clickhouse://:8123/db", "host is empty"},
      {"clickhouse://h:99999/db", "port '99999'"},
      {"clickhouse://h:81x/db", "port '81x'"},
      {"clickhouse://h:8123/", "database is empty"},
      {"clickhouse://h:8123/my-db", "database 'my-db'"},
      {"clickhouse://h:8123/db?cluster=", "cluster ''"},
      {"clickhouse://h:8123/db?cluster=a;DROP", "cluster 'a;DROP'"},
      {"clickhouse://h:8123/db?shards=2", "unknown option 'shards=2'"},
      {"clickhouse://[::1:8123/db", "closing ]"},
  };
  for (const auto& [url, fragment] : cases) {
    auto r = ParseClickHouseUrl(url);
    ASSERT_FALSE(r.ok()) << url;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << url;
    EXPECT_NE(r.status().message().find(fragment), std::string::npos) << url << ": " << r.status().message();
    EXPECT_NE(r.status().message().find("clickhouse://HOST:PORT/DB[?cluster=NAME]"), std::string::npos) << url;
  }
}

TEST(ClickHouseEscaping, TsvFieldsRoundTripWithoutAServer) {
  for (const char* s : kNasty) {
    const std::string escaped = EscapeTsvField(s);
    EXPECT_EQ(escaped.find('\t'), std::string::npos) << s;
    EXPECT_EQ(escaped.find('\n'), std::string::npos) << s;
    auto back = UnescapeTsvField(escaped);
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(*back, s);
  }
  EXPECT_EQ(EscapeTsvField(std::string("a\0b", 3)), "a\\0b");
  EXPECT_EQ(QuoteSqlString("it's a \\ test"), "'it\\'s a \\\\ test'");
  EXPECT_FALSE(UnescapeTsvField("dangling\\").ok());
}

TEST_F(ClickHouseTest, NastyStringsSurviveInsertSelectAndLiterals) {
  ClickHouseServer* server = Server();
  ASSERT_NE(server, nullptr);
  ClickHouseClient admin(server->Url("default"));
  ASSERT_TRUE(admin.Execute("CREATE DATABASE IF NOT EXISTS escaping").ok());
  ClickHouseClient client(server->Url("escaping"));
  ASSERT_TRUE(client.Execute("CREATE TABLE t (id Int64, s String) ENGINE = MergeTree ORDER BY id").ok());
  std::string rows;
  for (size_t i = 0; i < std::size(kNasty); ++i) rows += std::to_string(i) + "\t" + EscapeTsvField(kNasty[i]) + "\n";
  Status inserted = client.Insert("t", "id,s", rows, "");
  ASSERT_TRUE(inserted.ok()) << inserted.ToString();
  auto body = client.Query("SELECT id, s FROM t ORDER BY id");
  ASSERT_TRUE(body.ok()) << body.status().ToString();
  auto parsed = ParseTsv(*body);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  ASSERT_EQ(parsed->size(), std::size(kNasty));
  for (size_t i = 0; i < std::size(kNasty); ++i) {
    EXPECT_EQ((*parsed)[i][1], kNasty[i]) << "row " << i;
    // The same string as a SQL literal finds exactly its row, and comes back byte-identical.
    EXPECT_EQ(ClickHouseCount(client, "SELECT count() FROM t WHERE s = " + QuoteSqlString(kNasty[i]) + " AND id = " +
                                          std::to_string(i)),
              1)
        << "literal " << i;
    auto literal = client.Query("SELECT " + QuoteSqlString(kNasty[i]));
    ASSERT_TRUE(literal.ok()) << literal.status().ToString();
    auto lit_rows = ParseTsv(*literal);
    ASSERT_TRUE(lit_rows.ok());
    EXPECT_EQ(lit_rows->at(0).at(0), kNasty[i]) << "literal " << i;
  }
}

TEST_F(ClickHouseTest, ErrorsCarryClickHouseTextAndTheRightCode) {
  ClickHouseServer* server = Server();
  ASSERT_NE(server, nullptr);
  ClickHouseClient client(server->Url("default"));
  auto syntax = client.Query("SELEC 1");
  ASSERT_FALSE(syntax.ok());
  EXPECT_EQ(syntax.status().code(), StatusCode::kInvalidArgument) << syntax.status().ToString();
  EXPECT_NE(syntax.status().message().find("Code: 62"), std::string::npos) << syntax.status().message();
  auto missing = client.Query("SELECT * FROM no_such_table");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound) << missing.status().ToString();
  EXPECT_NE(missing.status().message().find("Code: 60"), std::string::npos);
  ClickHouseClient nowhere(ClickHouseUrl{"127.0.0.1", FreePort(), "default", ""});
  Status refused = nowhere.Execute("SELECT 1");
  EXPECT_EQ(refused.code(), StatusCode::kUnavailable) << refused.ToString();
  // A bad row in an insert: ClickHouse's parse error, not retryable.
  ASSERT_TRUE(client.Execute("CREATE TABLE IF NOT EXISTS typed (n Int64) ENGINE = MergeTree ORDER BY n").ok());
  Status bad = client.Insert("typed", "n", "12\nnot-a-number\n", "");
  EXPECT_EQ(bad.code(), StatusCode::kInvalidArgument) << bad.ToString();
  EXPECT_NE(bad.message().find("Code: "), std::string::npos) << bad.message();
}


// Per-table row counts, SQLite and ClickHouse side by side.
void ExpectSameCounts(Database& db, ClickHouseClient& client, const std::string& database, const std::string& suffix = "") {
  for (const EventTable& t : EventTables()) {
    EXPECT_EQ(ClickHouseCount(client, "SELECT count() FROM " + database + "." + t.name + suffix),
              SqliteCount(db, std::string("SELECT COUNT(*) FROM ") + t.name))
        << t.name;
  }
}

TEST_F(ClickHouseTest, ShipperShipsEventWriterEventsInBatchesAndGuardrailsAgree) {
  ClickHouseServer* server = Server();
  ASSERT_NE(server, nullptr);
  const std::string events = CopyOfEventsDb("ship");
  ASSERT_NE(events, "");
  auto db = Database::Open(events);
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  int64_t total_rows = 0;
  for (const EventTable& t : EventTables()) total_rows += SqliteCount(**db, std::string("SELECT COUNT(*) FROM ") + t.name);
  ASSERT_EQ(SqliteCount(**db, "SELECT COUNT(*) FROM exposures"), kExposures);

  const ClickHouseUrl url = server->Url("ship");
  ShipperOptions options;
  options.max_delay_ms = 200;
  options.replica = "replica-a";
  const auto t0 = std::chrono::steady_clock::now();
  auto shipper = EventShipper::Start(events, url, options);
  ASSERT_TRUE(shipper.ok()) << shipper.status().ToString();
  EXPECT_EQ((*shipper)->stats().pending_rows, total_rows);
  Status flushed = (*shipper)->Flush(60000);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  ASSERT_TRUE(flushed.ok()) << flushed.ToString();
  const ShipperStats stats = (*shipper)->stats();
  (*shipper)->Close();
  std::cout << "[ shipped  ] " << stats.rows_shipped << " rows in " << stats.batches_shipped << " batches, "
            << seconds << " s (" << static_cast<int64_t>(stats.rows_shipped / seconds) << " rows/s); "
            << "EventWriter wrote them in " << write_seconds_ << " s\n";

  EXPECT_EQ(stats.rows_shipped, total_rows);
  EXPECT_EQ(stats.pending_rows, 0);
  EXPECT_EQ(stats.retries, 0);
  EXPECT_EQ(stats.last_error, "");
  EXPECT_GT(stats.last_ack_ms, 0);
  // 250,000 exposures at 100,000 a batch: 3 batches; feedback (190,625 rows) 2; shadow results 1.
  EXPECT_EQ(stats.batches_shipped, 6);
  ClickHouseClient client(url);
  ExpectSameCounts(**db, client, "ship");
  EXPECT_EQ(ClickHouseCount(client, "SELECT uniqExact(request_id) FROM ship.exposures"), kExposures);
  EXPECT_EQ(ClickHouseCount(client, "SELECT countIf(replica != 'replica-a') FROM ship.feedback"), 0);
  // NULLs stay NULL, integers and text arrive intact.
  for (const char* sql : {"SELECT COUNT(*) FROM exposures WHERE shadow IS NULL",
                          "SELECT COUNT(*) FROM exposures WHERE user_key IS NULL",
                          "SELECT COUNT(*) FROM exposures WHERE shadow_latency_us IS NULL",
                          "SELECT SUM(latency_us) FROM exposures", "SELECT SUM(length(served)) FROM exposures",
                          "SELECT SUM(position * kind) FROM feedback", "SELECT SUM(timed_out) FROM shadow_results"}) {
    std::string ch = std::string(sql).replace(std::string(sql).find("FROM "), 5, "FROM ship.");
    // ClickHouse spellings of the same expressions.
    auto replace_all = [](std::string s, const std::string& a, const std::string& b) {
      for (size_t at = s.find(a); at != std::string::npos; at = s.find(a, at + b.size())) s.replace(at, a.size(), b);
      return s;
    };
    ch = replace_all(replace_all(ch, "COUNT(*)", "count()"), "length(", "lengthUTF8(");
    EXPECT_EQ(ClickHouseCount(client, ch), SqliteCount(**db, sql)) << sql;
  }
  // The nasty user keys, byte for byte.
  auto keys = client.Query("SELECT request_id, user_key FROM ship.exposures WHERE user_key IS NOT NULL ORDER BY request_id");
  ASSERT_TRUE(keys.ok()) << keys.status().ToString();
  auto key_rows = ParseTsv(*keys);
  ASSERT_TRUE(key_rows.ok());
  auto st = (*db)->Prepare("SELECT request_id, user_key FROM exposures WHERE user_key IS NOT NULL ORDER BY request_id");
  ASSERT_TRUE(st.ok());
  size_t i = 0;
  while (*(*st)->Step()) {
    ASSERT_LT(i, key_rows->size());
    EXPECT_EQ((*key_rows)[i][0], std::to_string((*st)->ColumnInt(0)));
    EXPECT_EQ((*key_rows)[i][1], (*st)->ColumnText(1)) << "request " << (*st)->ColumnInt(0);
    ++i;
  }
  EXPECT_EQ(i, key_rows->size());
  EXPECT_GE(i, 200u);
  // Dwell seconds (doubles) read back exactly: shortest round-trip text both ways.
  auto dwell = client.Query("SELECT sum(value * 3) FROM ship.feedback WHERE kind = 3");
  ASSERT_TRUE(dwell.ok());
  auto dwell_sqlite = (*db)->Prepare("SELECT SUM(value * 3) FROM feedback WHERE kind = 3");
  ASSERT_TRUE(dwell_sqlite.ok() && *(*dwell_sqlite)->Step());
  EXPECT_NEAR(std::stod(*dwell), (*dwell_sqlite)->ColumnDouble(0), 1e-6 * (*dwell_sqlite)->ColumnDouble(0));

  // Guardrail aggregates: SQLite, ClickHouse and the hand computation agree exactly.
  const int64_t from_ms = kBaseMs + 1000 * 10, until_ms = kBaseMs + 240000 * 10;
  const auto q0 = std::chrono::steady_clock::now();
  auto in_sqlite = GuardrailAggregatesSqlite(**db, "exp-ch", from_ms, until_ms);
  const auto q1 = std::chrono::steady_clock::now();
  auto in_clickhouse = GuardrailAggregatesClickHouse(client, url, "exp-ch", from_ms, until_ms);
  const auto q2 = std::chrono::steady_clock::now();
  ASSERT_TRUE(in_sqlite.ok()) << in_sqlite.status().ToString();
  ASSERT_TRUE(in_clickhouse.ok()) << in_clickhouse.status().ToString();
  std::cout << "[ guardrail] SQLite " << std::chrono::duration<double>(q1 - q0).count() << " s, ClickHouse "
            << std::chrono::duration<double>(q2 - q1).count() << " s: " << Describe(*in_clickhouse) << "\n";
  const std::vector<ArmAggregate> by_hand = HandAggregates(**db, "exp-ch", from_ms, until_ms);
  ASSERT_EQ(by_hand.size(), 3u);  // control, treat\tment 'b', treatment
  EXPECT_EQ(*in_sqlite, by_hand) << Describe(*in_sqlite) << "\nvs\n" << Describe(by_hand);
  EXPECT_EQ(*in_clickhouse, by_hand) << Describe(*in_clickhouse) << "\nvs\n" << Describe(by_hand);
  for (const ArmAggregate& a : by_hand) {
    EXPECT_GT(a.users, 1000) << a.arm;
    EXPECT_GT(a.sx[0], 0) << a.arm;
    EXPECT_GT(a.sx[1], 0) << a.arm;
    EXPECT_LT(a.sx[0], 2 * a.exposures) << a.arm;  // repeated clicks on one position counted once
  }
  // An experiment with no exposures in the window: no arms, in both.
  auto none = GuardrailAggregatesClickHouse(client, url, "it's absent", from_ms, until_ms);
  ASSERT_TRUE(none.ok()) << none.status().ToString();
  EXPECT_TRUE(none->empty());
}

// Request ids commit out of order (reserved before serving, logged after): exposures with lower
// ids than an already shipped batch must still ship (the outbox, not the rowid, orders them).
TEST_F(ClickHouseTest, ExposuresCommittedOutOfRequestIdOrderAllShipAndUninstallCleansUp) {
  ClickHouseServer* server = Server();
  ASSERT_NE(server, nullptr);
  const TestTree tree{TempDir("order")};
  const std::string& dir = tree.path;
  const std::string path = dir + "/events.db";
  ASSERT_TRUE(WriteEvents(path, 5001, 1000).ok());
  const ClickHouseUrl url = server->Url("order");
  ShipperOptions options;
  options.max_delay_ms = 20;
  auto shipper = EventShipper::Start(path, url, options);
  ASSERT_TRUE(shipper.ok()) << shipper.status().ToString();
  ASSERT_TRUE((*shipper)->Flush(30000).ok());
  ClickHouseClient client(url);
  EXPECT_EQ(ClickHouseCount(client, "SELECT count() FROM order.exposures"), 1000);
  ASSERT_TRUE(WriteEvents(path, 1, 1000).ok());  // lower request ids, committed later
  Status flushed = (*shipper)->Flush(30000);
  ASSERT_TRUE(flushed.ok()) << flushed.ToString();
  (*shipper)->Close();
  auto db = Database::Open(path);
  ExpectSameCounts(**db, client, "order");
  EXPECT_EQ(ClickHouseCount(client, "SELECT count() FROM order.exposures WHERE request_id <= 1000"), 1000);
  EXPECT_EQ(SqliteCount(**db, "SELECT COUNT(*) FROM clickhouse_outbox_exposures"), 0);  // drained when acknowledged
  db->reset();

  ASSERT_TRUE(EventShipper::Uninstall(path).ok());
  ASSERT_TRUE(WriteEvents(path, 9001, 10).ok());  // ingest still works without the triggers
  db = Database::Open(path);
  EXPECT_EQ(SqliteCount(**db, "SELECT COUNT(*) FROM sqlite_master WHERE name LIKE 'clickhouse%'"), 0);
  EXPECT_EQ(SqliteCount(**db, "SELECT COUNT(*) FROM exposures"), 2010);
}

// Reads the pending spool rows: id, table, first and last position, hash.
struct SpoolRow {
  int64_t id = 0;
  std::string table;
  int64_t first = 0, last = 0;
  std::string sha256;
};
std::vector<SpoolRow> PendingSpool(const std::string& path) {
  std::vector<SpoolRow> out;
  auto db = Database::Open(path);
  EXPECT_TRUE(db.ok());
  auto st = (*db)->Prepare(
      "SELECT id, table_name, first_pos, last_pos, body_sha256 FROM clickhouse_spool WHERE state = 'pending'");
  EXPECT_TRUE(st.ok());
  while (*(*st)->Step()) {
    out.push_back({(*st)->ColumnInt(0), (*st)->ColumnText(1), (*st)->ColumnInt(2), (*st)->ColumnInt(3),
                   (*st)->ColumnText(4)});
  }
  return out;
}

template <typename Pred>
bool WaitFor(Pred pred, int seconds) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return pred();
}

TEST_F(ClickHouseTest, KilledServerThenRestartDeliversEveryRowOnceFromTheSpool) {
  const TestTree tree{TempDir("restart")};
  const std::string& dir = tree.path;
  ClickHouseServer server(dir + "/server");
  ASSERT_TRUE(server.Start().ok());
  const std::string path = dir + "/events.db";
  ASSERT_TRUE(WriteEvents(path, 1, 30000).ok());
  const ClickHouseUrl url = server.Url("restart");
  ShipperOptions options;
  options.max_batch_rows = 10000;
  options.max_delay_ms = 20;
  options.backoff_initial_ms = 20;
  options.backoff_max_ms = 200;
  options.clickhouse.connect_timeout_ms = 300;
  {
    auto first = EventShipper::Start(path, url, options);
    ASSERT_TRUE(first.ok()) << first.status().ToString();
    ASSERT_TRUE((*first)->Flush(30000).ok());
    // 30,000 exposures, 22,875 feedback rows and 600 shadow results at 10,000 a batch.
    EXPECT_EQ((*first)->stats().batches_shipped, 7);
  }
  ClickHouseClient client(url);
  EXPECT_EQ(ClickHouseCount(client, "SELECT count() FROM restart.exposures"), 30000);

  // The server dies; events keep coming. The next shipper records a batch, fails, retries it.
  server.Kill();
  ASSERT_TRUE(WriteEvents(path, 30001, 30000).ok());
  options.ensure_schema = false;  // the tables exist; with it the shipper would retry the DDL first
  auto shipper = EventShipper::Start(path, url, options);
  ASSERT_TRUE(shipper.ok()) << shipper.status().ToString();
  ASSERT_TRUE(WaitFor([&] { return (*shipper)->stats().retries >= 3; }, 10)) << (*shipper)->stats().last_error;
  const ShipperStats failing = (*shipper)->stats();
  EXPECT_EQ(failing.batches_shipped, 0);
  EXPECT_NE(failing.last_error.find("UNAVAILABLE"), std::string::npos) << failing.last_error;
  EXPECT_EQ(failing.pending_rows, 30000 + 22875 + 600);
  Status timed_out = (*shipper)->Flush(100);
  EXPECT_EQ(timed_out.code(), StatusCode::kUnavailable) << timed_out.ToString();
  (*shipper)->Close();  // the unacknowledged batch stays pending
  const std::vector<SpoolRow> pending = PendingSpool(path);
  ASSERT_EQ(pending.size(), 1u);
  EXPECT_EQ(pending[0].table, "exposures");
  EXPECT_EQ(pending[0].first, 30001);
  EXPECT_EQ(pending[0].last, 40000);

  // Back up, but a row of the recorded batch was edited: the shipper refuses to send a different
  // body for the recorded range (and sends nothing after it either).
  ASSERT_TRUE(server.Start().ok());
  std::string original_arm;
  {
    auto db = Database::Open(path);
    auto st = (*db)->Prepare("SELECT arm FROM exposures WHERE request_id = 30001");
    ASSERT_TRUE(st.ok() && *(*st)->Step());
    original_arm = (*st)->ColumnText(0);
    ASSERT_TRUE((*db)->Exec("UPDATE exposures SET arm = 'tampered' WHERE request_id = 30001").ok());
  }
  auto blocked = EventShipper::Start(path, url, options);
  ASSERT_TRUE(blocked.ok());
  ASSERT_TRUE(WaitFor([&] { return (*blocked)->stats().last_error.find("DATA_LOSS") != std::string::npos; }, 10))
      << (*blocked)->stats().last_error;
  EXPECT_NE((*blocked)->stats().last_error.find("sha256 " + pending[0].sha256), std::string::npos)
      << (*blocked)->stats().last_error;
  EXPECT_EQ((*blocked)->stats().rows_shipped, 0);
  (*blocked)->Close();
  EXPECT_EQ(ClickHouseCount(client, "SELECT count() FROM restart.exposures"), 30000);

  // Restored: the pending batch goes first, as recorded, then the rest; every row exactly once.
  {
    auto db = Database::Open(path);
    auto st = (*db)->Prepare("UPDATE exposures SET arm = ? WHERE request_id = 30001");
    (*st)->BindText(1, original_arm);
    ASSERT_TRUE((*st)->Run().ok());
  }
  auto resumed = EventShipper::Start(path, url, options);
  ASSERT_TRUE(resumed.ok());
  Status flushed = (*resumed)->Flush(30000);
  ASSERT_TRUE(flushed.ok()) << flushed.ToString();
  EXPECT_EQ((*resumed)->stats().last_error, "");
  (*resumed)->Close();
  EXPECT_TRUE(PendingSpool(path).empty());
  auto db = Database::Open(path);
  ExpectSameCounts(**db, client, "restart");
  EXPECT_EQ(ClickHouseCount(client, "SELECT count() - uniqExact(request_id) FROM restart.exposures"), 0);
  EXPECT_EQ(ClickHouseCount(client, "SELECT count() FROM restart.exposures WHERE arm = 'tampered'"), 0);
  auto agg_ch = GuardrailAggregatesClickHouse(client, url, "exp-ch", 0, kBaseMs * 2);
  ASSERT_TRUE(agg_ch.ok()) << agg_ch.status().ToString();
  EXPECT_EQ(*agg_ch, HandAggregates(**db, "exp-ch", 0, kBaseMs * 2));
}

// Two servers as two shards of one cluster: Distributed tables over MergeTree locals (the layout
// EnsureEventSchema makes, minus replication, which needs ZooKeeper). The shipper inserts through
// the Distributed tables; the guardrail query must join each shard's feedback with its exposures.
TEST_F(ClickHouseTest, TwoShardsShipBySameKeyAndGuardrailsJoinShardLocal) {
  const TestTree tree{TempDir("shards")};
  const std::string& dir = tree.path;
  ClickHouseServer a(dir + "/a"), b(dir + "/b");
  std::ostringstream xml;
  xml << "  <remote_servers><steward_pair>\n";
  for (const ClickHouseServer* s : {&a, &b}) {
    xml << "    <shard><replica><host>127.0.0.1</host><port>" << s->tcp_port() << "</port></replica></shard>\n";
  }
  xml << "  </steward_pair></remote_servers>\n";
  a.set_cluster_xml(xml.str());
  b.set_cluster_xml(xml.str());
  ASSERT_TRUE(a.Start().ok());
  ASSERT_TRUE(b.Start().ok());
  const ClickHouseUrl url = a.Url("sharded", "steward_pair");
  for (const ClickHouseServer* s : {&a, &b}) {
    ClickHouseClient admin(s->Url("default"));
    ASSERT_TRUE(admin.Execute("CREATE DATABASE sharded").ok());
    ClickHouseClient c(s->Url("sharded"));
    for (const EventTable& t : EventTables()) {
      std::string columns = "(";
      for (const EventColumn& col : t.columns) columns += std::string(col.name) + " " + col.type + ", ";
      columns += "replica String)";
      Status local = c.Execute("CREATE TABLE sharded." + std::string(t.name) + "_local " + columns +
                               " ENGINE = MergeTree ORDER BY request_id");
      ASSERT_TRUE(local.ok()) << local.ToString();
      Status dist = c.Execute("CREATE TABLE sharded." + std::string(t.name) + " " + columns +
                              " ENGINE = Distributed(steward_pair, sharded, " + t.name + "_local, intHash64(request_id))");
      ASSERT_TRUE(dist.ok()) << dist.ToString();
    }
  }
  ShipperOptions options;
  options.ensure_schema = false;
  options.insert_quorum = 0;  // no replicas here
  options.max_delay_ms = 50;
  const std::string events = CopyOfEventsDb("shards-db");
  ASSERT_NE(events, "");
  auto shipper = EventShipper::Start(events, url, options);
  ASSERT_TRUE(shipper.ok());
  Status flushed = (*shipper)->Flush(60000);
  ASSERT_TRUE(flushed.ok()) << flushed.ToString();
  (*shipper)->Close();

  auto db = Database::Open(events);
  ClickHouseClient on_a(url), on_b(b.Url("sharded"));
  ExpectSameCounts(**db, on_a, "sharded");
  // Both shards got rows, and every feedback row sits beside its exposure.
  for (ClickHouseClient* c : {&on_a, &on_b}) {
    const int64_t n = ClickHouseCount(*c, "SELECT count() FROM sharded.exposures_local");
    EXPECT_GT(n, kExposures / 4);
    EXPECT_LT(n, kExposures * 3 / 4);
    EXPECT_EQ(ClickHouseCount(*c, "SELECT count() FROM sharded.feedback_local WHERE request_id NOT IN "
                                  "(SELECT request_id FROM sharded.exposures_local)"),
              0);
  }
  const int64_t from_ms = kBaseMs + 1000 * 10, until_ms = kBaseMs + 240000 * 10;
  auto in_clickhouse = GuardrailAggregatesClickHouse(on_a, url, "exp-ch", from_ms, until_ms);
  ASSERT_TRUE(in_clickhouse.ok()) << in_clickhouse.status().ToString();
  const std::vector<ArmAggregate> by_hand = HandAggregates(**db, "exp-ch", from_ms, until_ms);
  EXPECT_EQ(*in_clickhouse, by_hand) << Describe(*in_clickhouse) << "\nvs\n" << Describe(by_hand);
}


// The production layout: EnsureEventSchema ON CLUSTER (one shard, two replicas, ZooKeeper),
// ReplicatedMergeTree locals behind Distributed tables, inserts with insert_distributed_sync=1 and
// insert_quorum=2. A replica is killed mid-stream: the quorum insert fails, the shipper retries the
// identical batch until the replica is back, and block deduplication keeps every row exactly once.
TEST_F(ClickHouseTest, ReplicatedClusterQuorumInsertSurvivesAReplicaKill) {
  const TestTree tree{TempDir("replicated")};
  const std::string& dir = tree.path;
  ZooKeeper zk(dir + "/zk");
  Status zk_started = zk.Start();
  ASSERT_TRUE(zk_started.ok()) << zk_started.ToString();
  ClickHouseServer a(dir + "/a"), b(dir + "/b");
  int replica_no = 0;
  for (ClickHouseServer* s : {&a, &b}) {
    std::ostringstream xml;
    xml << "  <zookeeper><node><host>127.0.0.1</host><port>" << zk.port()
        << "</port></node><session_timeout_ms>3000</session_timeout_ms></zookeeper>\n"
        << "  <distributed_ddl><path>/clickhouse/task_queue/ddl</path></distributed_ddl>\n"
        << "  <macros><shard>01</shard><replica>r" << ++replica_no << "</replica></macros>\n"
        << "  <interserver_http_host>127.0.0.1</interserver_http_host>\n"
        << "  <interserver_http_port>" << FreePort() << "</interserver_http_port>\n"
        << "  <remote_servers><steward_rep><shard><internal_replication>true</internal_replication>\n"
        << "    <replica><host>127.0.0.1</host><port>" << a.tcp_port() << "</port></replica>\n"
        << "    <replica><host>127.0.0.1</host><port>" << b.tcp_port() << "</port></replica>\n"
        << "  </shard></steward_rep></remote_servers>\n";
    s->set_cluster_xml(xml.str());
    // A quorum insert whose second replica died gives up after 3 s instead of 10 minutes.
    s->set_profile_xml("<insert_quorum_timeout>3000</insert_quorum_timeout>");
    ASSERT_TRUE(s->Start().ok());
    // ClickHouse 18.16's DDL worker keeps a null session when its first ZooKeeper connection
    // fails, and the next ON CLUSTER statement crashes the server: check the session first.
    ClickHouseClient probe(s->Url("default"));
    ASSERT_TRUE(WaitFor([&] { return probe.Query("SELECT count() FROM system.zookeeper WHERE path = '/'").ok(); }, 20))
        << "ClickHouse cannot reach ZooKeeper; see " << dir << "/*/error.log";
  }
  const std::string path = dir + "/events.db";
  ASSERT_TRUE(WriteEvents(path, 1, 20000).ok());
  const ClickHouseUrl url = a.Url("steward_rep_db", "steward_rep");
  ShipperOptions options;
  options.max_batch_rows = 10000;
  options.max_delay_ms = 20;
  options.backoff_initial_ms = 50;
  options.backoff_max_ms = 500;
  options.clickhouse.connect_timeout_ms = 500;
  options.clickhouse.request_timeout_ms = 20000;
  auto shipper = EventShipper::Start(path, url, options);
  ASSERT_TRUE(shipper.ok()) << shipper.status().ToString();
  Status flushed = (*shipper)->Flush(60000);
  ASSERT_TRUE(flushed.ok()) << flushed.ToString();
  ClickHouseClient on_a(url), on_b(b.Url("steward_rep_db"));
  auto db = Database::Open(path);
  // Quorum 2: both replicas hold every acknowledged row at once.
  ExpectSameCounts(**db, on_a, "steward_rep_db", "_local");
  ExpectSameCounts(**db, on_b, "steward_rep_db", "_local");

  // Replica b dies; the next batches cannot reach quorum and are retried until it is back.
  b.Kill();
  ASSERT_TRUE(WriteEvents(path, 20001, 20000).ok());
  ASSERT_TRUE(WaitFor([&] { return (*shipper)->stats().retries >= 2; }, 30)) << (*shipper)->stats().last_error;
  const std::string failure = (*shipper)->stats().last_error;
  std::cout << "[ replica  ] while b is down: " << failure.substr(0, 300) << "\n";
  ASSERT_TRUE(b.Start().ok());
  flushed = (*shipper)->Flush(90000);
  ASSERT_TRUE(flushed.ok()) << flushed.ToString();
  const ShipperStats stats = (*shipper)->stats();
  (*shipper)->Close();
  EXPECT_GE(stats.retries, 2);
  ExpectSameCounts(**db, on_a, "steward_rep_db");
  ExpectSameCounts(**db, on_a, "steward_rep_db", "_local");
  ASSERT_TRUE(WaitFor([&] {  // b catches up from the replication queue
    return ClickHouseCount(on_b, "SELECT count() FROM steward_rep_db.exposures_local") == 40000;
  }, 30));
  ExpectSameCounts(**db, on_b, "steward_rep_db", "_local");
  EXPECT_EQ(ClickHouseCount(on_a, "SELECT count() - uniqExact(request_id) FROM steward_rep_db.exposures"), 0);

  // The same block twice through the Distributed table: the second is deduplicated.
  const std::string row = "999999\tretry-check\tm\t[]\t1\t0\t0\treplica-x\n";
  const std::string settings = "insert_distributed_sync=1&insert_quorum=2";
  const std::string columns = "request_id,experiment,model_version,items,latency_us,error,timed_out,replica";
  ASSERT_TRUE(on_a.Insert("shadow_results", columns, row, settings).ok());
  ASSERT_TRUE(on_a.Insert("shadow_results", columns, row, settings).ok());
  EXPECT_EQ(ClickHouseCount(on_a, "SELECT count() FROM steward_rep_db.shadow_results WHERE request_id = 999999"), 1);

  auto agg = GuardrailAggregatesClickHouse(on_a, url, "exp-ch", 0, kBaseMs * 2);
  ASSERT_TRUE(agg.ok()) << agg.status().ToString();
  EXPECT_EQ(*agg, HandAggregates(**db, "exp-ch", 0, kBaseMs * 2));
}

}  // namespace
}  // namespace steward::storage
