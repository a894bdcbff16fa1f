// The PostgreSQL backend of storage::Database against a real PostgreSQL 15 server this test starts
// (initdb + pg_ctl in a temporary directory; as the `postgres` user when run as root, since the
// server refuses root). The typed control-plane stores run on it unchanged, the audit chain stays
// one valid chain under concurrent appenders on separate connections, and leases hand over only on
// expiry.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include "storage/audit_log.h"
#include "storage/database.h"
#include "storage/experiment_store.h"
#include "storage/lease.h"
#include "storage/queries.h"
#include "storage/rollout_store.h"
#include "storage/statement.h"
#include "storage/token_store.h"

namespace steward::storage {
namespace {

constexpr const char* kPgBin = "/usr/lib/postgresql/15/bin";

int Run(const std::string& command) {
  const int rc = std::system(command.c_str());
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

// One PostgreSQL server for the whole test binary.
class PostgresServer : public testing::Environment {
 public:
  static std::string url;

  void SetUp() override {
    ASSERT_TRUE(std::filesystem::exists(std::string(kPgBin) + "/initdb"))
        << "PostgreSQL 15 is not installed (" << kPgBin << "); run scripts/install-deps.sh";
    dir_ = "/tmp/steward-pgtest-" + std::to_string(getpid());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    as_ = getuid() == 0 ? "runuser -u postgres -- " : "";
    if (getuid() == 0) {
      ASSERT_EQ(Run("chown postgres " + dir_), 0);
    }
    port_ = 20000 + getpid() % 20000;
    ASSERT_EQ(Run(as_ + kPgBin + "/initdb -A trust -U postgres -D " + dir_ + "/data >" + dir_ + "/initdb.log 2>&1"), 0)
        << "initdb failed; see " << dir_ << "/initdb.log";
    ASSERT_EQ(Run(as_ + kPgBin + "/pg_ctl -D " + dir_ + "/data -l " + dir_ + "/server.log -w -t 60 -o \"-p " +
                  std::to_string(port_) + " -k " + dir_ + " -c listen_addresses=127.0.0.1 -c fsync=off\" start >/dev/null"),
              0)
        << "PostgreSQL did not start; see " << dir_ << "/server.log";
    started_ = true;
    ASSERT_EQ(Run(as_ + kPgBin + "/createdb -h 127.0.0.1 -p " + std::to_string(port_) + " -U postgres steward"), 0);
    url = "postgres://postgres@127.0.0.1:" + std::to_string(port_) + "/steward";
  }

  void TearDown() override {
    if (started_) Run(as_ + kPgBin + "/pg_ctl -D " + dir_ + "/data -m immediate stop >/dev/null 2>&1");
    std::filesystem::remove_all(dir_);
  }

 private:
  std::string dir_, as_;
  int port_ = 0;
  bool started_ = false;
};
std::string PostgresServer::url;

// A fresh schema per test: the tables are dropped and recreated by the migrations.
std::unique_ptr<Database> Fresh() {
  {
    auto db = Database::Open(PostgresServer::url);
    EXPECT_TRUE(db.ok()) << db.status().ToString();
    if (!db.ok()) return nullptr;
    EXPECT_TRUE((*db)->Exec("DROP SCHEMA public CASCADE; CREATE SCHEMA public").ok());
  }
  auto db = Database::Open(PostgresServer::url);
  EXPECT_TRUE(db.ok()) << db.status().ToString();
  return db.ok() ? std::move(*db) : nullptr;
}

TEST(Postgres, MigratesAndReportsItsBackend) {
  auto db = Fresh();
  ASSERT_TRUE(db);
  EXPECT_EQ(db->backend(), Backend::kPostgres);
  EXPECT_EQ(*db->SchemaVersion(), 1);
  // Opening again applies nothing twice.
  auto again = Database::Open(PostgresServer::url);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(*(*again)->SchemaVersion(), 1);
  EXPECT_EQ(*(*again)->IntegrityCheck(), "ok");
}

TEST(Postgres, PlaceholdersOutsideLiteralsOnly) {
  auto db = Fresh();
  ASSERT_TRUE(db);
  auto st = db->Prepare("SELECT '?', ?2::text || ?1::text, \"?col\".x FROM (SELECT 7 AS x) \"?col\"");
  ASSERT_TRUE(st.ok());
  (*st)->BindText(1, "b");
  (*st)->BindText(2, "a");
  ASSERT_TRUE(*(*st)->Step());
  EXPECT_EQ((*st)->ColumnText(0), "?");
  EXPECT_EQ((*st)->ColumnText(1), "ab");
  EXPECT_EQ((*st)->ColumnInt(2), 7);
  EXPECT_FALSE(*(*st)->Step());
}

TEST(Postgres, TypesNullsAndConstraintErrors) {
  auto db = Fresh();
  ASSERT_TRUE(db);
  ASSERT_TRUE(db->Exec("CREATE TABLE t (k TEXT PRIMARY KEY, i BIGINT, d DOUBLE PRECISION, b BYTEA)").ok());
  auto ins = db->Prepare("INSERT INTO t (k, i, d, b) VALUES (?, ?, ?, ?)");
  ASSERT_TRUE(ins.ok());
  const std::string nasty = "tab\there\nnew line 'quote' \"dq\" \\ back ünï";
  const unsigned char blob[] = {0, 1, 0xfe, 0xff};
  (*ins)->BindText(1, nasty);
  (*ins)->BindInt(2, -9007199254740993LL);
  (*ins)->BindDouble(3, 0.1);
  (*ins)->BindBlob(4, blob, sizeof blob);
  ASSERT_TRUE((*ins)->Run().ok());
  EXPECT_EQ(db->Changes(), 1);
  (*ins)->Reset();
  (*ins)->BindText(1, nasty);
  (*ins)->BindNull(2);
  (*ins)->BindNull(3);
  (*ins)->BindNull(4);
  Status dup = (*ins)->Run();
  EXPECT_EQ(dup.code(), StatusCode::kAlreadyExists) << dup.ToString();
  auto sel = db->Prepare("SELECT k, i, d, length(b), i IS NULL FROM t WHERE k = ?");
  ASSERT_TRUE(sel.ok());
  (*sel)->BindText(1, nasty);
  ASSERT_TRUE(*(*sel)->Step());
  EXPECT_EQ((*sel)->ColumnText(0), nasty);
  EXPECT_EQ((*sel)->ColumnInt(1), -9007199254740993LL);
  EXPECT_EQ((*sel)->ColumnDouble(2), 0.1);  // %.17g round-trips a double exactly
  EXPECT_EQ((*sel)->ColumnInt(3), 4);
  EXPECT_FALSE((*sel)->ColumnIsNull(1));
}

TEST(Postgres, TransactionsRollBackOnError) {
  auto db = Fresh();
  ASSERT_TRUE(db);
  ASSERT_TRUE(db->Exec("CREATE TABLE t (k BIGINT PRIMARY KEY)").ok());
  Status s = db->InTransaction([&]() -> Status {
    RETURN_IF_ERROR(db->Exec("INSERT INTO t VALUES (1)"));
    return Internal("boom");
  });
  EXPECT_FALSE(s.ok());
  auto count = db->Prepare("SELECT COUNT(*) FROM t");
  ASSERT_TRUE(*(*count)->Step());
  EXPECT_EQ((*count)->ColumnInt(0), 0);
  // The connection is usable after a failed statement inside a transaction.
  EXPECT_FALSE(db->InTransaction([&] { return db->Exec("INSERT INTO nope VALUES (1)"); }).ok());
  EXPECT_TRUE(db->InTransaction([&] { return db->Exec("INSERT INTO t VALUES (2)"); }).ok());
}

TEST(Postgres, ControlStoresRunUnchanged) {
  auto db = Fresh();
  ASSERT_TRUE(db);
  ExperimentStore experiments(*db);
  auto v1 = experiments.SaveVersion("exp", "{\"a\":1}", "alice", 1000, "draft", true);
  ASSERT_TRUE(v1.ok()) << v1.status().ToString();
  EXPECT_EQ(*v1, 1);
  auto same = experiments.SaveVersion("exp", "{\"a\":1}", "alice", 1001, "draft", true);
  ASSERT_TRUE(same.ok());
  EXPECT_EQ(*same, 1);  // unchanged definition: no new version
  auto v2 = experiments.SaveVersion("exp", "{\"a\":2}", "bob", 1002, "draft", true);
  ASSERT_TRUE(v2.ok());
  EXPECT_EQ(*v2, 2);
  auto record = experiments.Get("exp");
  ASSERT_TRUE(record.ok());
  EXPECT_EQ(record->current_version, 2);
  EXPECT_EQ(experiments.Versions("exp")->size(), 2u);

  RolloutStore rollouts(*db);
  ASSERT_TRUE(rollouts.Save("exp", "ramping", "{\"step\":1}", 2000).ok());
  EXPECT_EQ(**rollouts.Load("exp"), "{\"step\":1}");
  EXPECT_FALSE(rollouts.Save("nope", "ramping", "{}", 2000).ok());  // no such experiment (a foreign key)
  ASSERT_TRUE(rollouts.SetFlag("kill_switch", "on", "carol", 3000).ok());
  ASSERT_TRUE(rollouts.SetFlag("kill_switch", "off", "carol", 3001).ok());
  EXPECT_EQ(**rollouts.GetFlag("kill_switch"), "off");
  ASSERT_TRUE(rollouts.SaveSticky("exp", 1, {{"u1", 0}, {"u2", 1}}).ok());
  ASSERT_TRUE(rollouts.SaveSticky("exp", 1, {{"u1", 1}}).ok());  // first assignment wins
  auto sticky = rollouts.LoadSticky("exp", 1);
  ASSERT_TRUE(sticky.ok());
  std::set<std::pair<std::string, int>> rows(sticky->begin(), sticky->end());
  EXPECT_EQ(rows, (std::set<std::pair<std::string, int>>{{"u1", 0}, {"u2", 1}}));

  TokenStore tokens(*db);
  auto token = tokens.Create("ops", Role::kOncall, "admin", 4000);
  ASSERT_TRUE(token.ok()) << token.status().ToString();
  auto verified = tokens.Verify(*token);
  ASSERT_TRUE(verified.ok());
  ASSERT_TRUE(verified->has_value());
  EXPECT_EQ((*verified)->role, Role::kOncall);
  ASSERT_TRUE(tokens.Revoke("ops", "admin", 5000).ok());
  EXPECT_EQ(tokens.Revoke("ops", "admin", 5001).code(), StatusCode::kNotFound);  // Changes() == 0

  // Request-id blocks from two connections never overlap.
  auto other = Database::Open(PostgresServer::url);
  ASSERT_TRUE(other.ok());
  auto a = ReserveIds(*db, "request_id", 100);
  auto b = ReserveIds(**other, "request_id", 100);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_GE(std::abs(*a - *b), 100);
  ASSERT_TRUE(AdvanceSequence(*db, "request_id", 1'000'000).ok());
  ASSERT_TRUE(AdvanceSequence(*db, "request_id", 10).ok());  // never moves back
  EXPECT_EQ(*ReserveIds(**other, "request_id", 1), 1'000'000);
}

// Four connections append at once; the advisory lock keeps one chain, and DataVersion moves.
TEST(Postgres, ConcurrentAppendersKeepOneValidChain) {
  auto db = Fresh();
  ASSERT_TRUE(db);
  const int64_t before = *db->DataVersion();
  constexpr int kThreads = 4, kEach = 50;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([t, &failures] {
      auto conn = Database::Open(PostgresServer::url);
      if (!conn.ok()) {
        ++failures;
        return;
      }
      AuditLog log(**conn);
      for (int i = 0; i < kEach; ++i) {
        AuditEntry e;
        e.ts_ms = 1000 + i;
        e.actor = "replica-" + std::to_string(t);
        e.action = "experiment.rollback";
        e.subject = "exp";
        e.reason = "appender " + std::to_string(t) + " row " + std::to_string(i);
        if (!log.Append(e).ok()) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  auto verify = AuditLog(*db).Verify();
  ASSERT_TRUE(verify.ok()) << verify.status().ToString();
  EXPECT_TRUE(verify->ok) << verify->problem;
  EXPECT_EQ(verify->rows, kThreads * kEach);
  EXPECT_FALSE(verify->unanchored_reason.empty());  // no anchor file for a PostgreSQL log
  EXPECT_EQ(*db->DataVersion(), before + kThreads * kEach);
  // Tampering is found: edit one row's reason.
  ASSERT_TRUE(db->Exec("UPDATE audit_log SET reason = 'edited' WHERE seq = 17").ok());
  auto tampered = AuditLog(*db).Verify();
  ASSERT_TRUE(tampered.ok());
  EXPECT_FALSE(tampered->ok);
  EXPECT_EQ(tampered->first_bad_seq, 17);
}

void LeaseHandsOverOnlyOnExpiry(Database& db) {
  EXPECT_TRUE(*TryAcquireLease(db, "rollout:exp", "replica-a", 1000, 5000));
  EXPECT_FALSE(*TryAcquireLease(db, "rollout:exp", "replica-b", 2000, 5000));  // a holds it until 6000
  EXPECT_TRUE(*TryAcquireLease(db, "rollout:exp", "replica-a", 3000, 5000));   // renewed until 8000
  EXPECT_FALSE(*TryAcquireLease(db, "rollout:exp", "replica-b", 7999, 5000));
  EXPECT_TRUE(*TryAcquireLease(db, "rollout:exp", "replica-b", 8001, 5000));   // expired: b takes over
  EXPECT_FALSE(*TryAcquireLease(db, "rollout:exp", "replica-a", 8002, 5000));  // a must stop acting
  auto lease = GetLease(db, "rollout:exp");
  ASSERT_TRUE(lease.ok() && lease->has_value());
  EXPECT_EQ((*lease)->holder, "replica-b");
  EXPECT_EQ((*lease)->expires_ms, 13001);
  ASSERT_TRUE(ReleaseLease(db, "rollout:exp", "replica-a").ok());  // not a's: nothing happens
  EXPECT_TRUE(GetLease(db, "rollout:exp")->has_value());
  ASSERT_TRUE(ReleaseLease(db, "rollout:exp", "replica-b").ok());
  EXPECT_TRUE(*TryAcquireLease(db, "rollout:exp", "replica-a", 8003, 5000));
  EXPECT_EQ(TryAcquireLease(db, "rollout:exp", "", 1, 1).status().code(), StatusCode::kInvalidArgument);
}

TEST(Postgres, LeaseHandsOverOnlyOnExpiry) {
  auto db = Fresh();
  ASSERT_TRUE(db);
  LeaseHandsOverOnlyOnExpiry(*db);
}

TEST(Sqlite, LeaseHandsOverOnlyOnExpiry) {
  const std::string path = testing::TempDir() + "/lease-" + std::to_string(getpid()) + ".db";
  std::filesystem::remove(path);
  auto db = Database::Open("sqlite:" + path);
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  EXPECT_EQ((*db)->backend(), Backend::kSqlite);
  EXPECT_EQ((*db)->path(), path);
  LeaseHandsOverOnlyOnExpiry(**db);
}

TEST(Postgres, UnreachableServerIsUnavailableWithTheUrl) {
  auto db = Database::Open("postgres://steward:secret@127.0.0.1:1/steward");
  ASSERT_FALSE(db.ok());
  EXPECT_EQ(db.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(db.status().message().find("postgres://steward@127.0.0.1:1/steward"), std::string::npos) << db.status().message();
  EXPECT_EQ(db.status().message().find("secret"), std::string::npos);  // the password is not echoed
}

}  // namespace
}  // namespace steward::storage

int main(int argc, char** argv) {
  testing::InitGoogleTest(&argc, argv);
  testing::AddGlobalTestEnvironment(new steward::storage::PostgresServer);
  return RUN_ALL_TESTS();
}
