#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sqlite3.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "storage/audit_log.h"
#include "storage/database.h"
#include "storage/event_writer.h"
#include "storage/experiment_store.h"
#include "storage/model_registry.h"
#include "storage/queries.h"
#include "storage/statement.h"

namespace steward::storage {
namespace {

std::string FreshPath(const std::string& name) {
  const std::string path = testing::TempDir() + "/" + name + "-" + std::to_string(getpid()) + ".db";
  for (const char* suffix : {"", "-wal", "-shm", ".anchor"}) std::filesystem::remove(path + suffix);
  return path;
}

Feedback Click(int64_t request_id) { return Feedback{request_id, 1000 + request_id, 7, 42, 1, FeedbackKind::kClick, 1.0}; }

int64_t Count(Database& db, const std::string& table) {
  auto st = db.Prepare("SELECT COUNT(*) FROM " + table);
  EXPECT_TRUE(st.ok());
  EXPECT_TRUE(*(*st)->Step());
  return (*st)->ColumnInt(0);
}

TEST(Database, OpensInWalModeWithMigrationsApplied) {
  const std::string path = FreshPath("open");
  auto db = Database::Open(path);
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  EXPECT_EQ(*(*db)->SchemaVersion(), LatestSchemaVersion());
  auto mode = (*db)->Prepare("PRAGMA journal_mode");
  ASSERT_TRUE(*(*mode)->Step());
  EXPECT_EQ((*mode)->ColumnText(0), "wal");
  EXPECT_EQ(*(*db)->IntegrityCheck(), "ok");
  // Reopening applies nothing twice.
  db->reset();
  auto again = Database::Open(path);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(*(*again)->SchemaVersion(), LatestSchemaVersion());
}

TEST(Database, RefusesASchemaFromTheFuture) {
  const std::string path = FreshPath("future");
  {
    auto db = Database::Open(path);
    ASSERT_TRUE((*db)->Exec("PRAGMA user_version=999").ok());
  }
  auto db = Database::Open(path);
  ASSERT_FALSE(db.ok());
  EXPECT_EQ(db.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(db.status().message().find("upgrade Steward"), std::string::npos);
}

TEST(Database, ReadOnlyOpenOfAMissingFileFails) {
  DatabaseOptions options;
  options.read_only = true;
  auto db = Database::Open(FreshPath("missing"), options);
  EXPECT_FALSE(db.ok());
}

std::string FileBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// Issue #15 item 7: read commands on another application's SQLite file or a 0-byte file created
// Steward's tables and switched it to WAL. A read-only open changes nothing and says what it found.
TEST(Database, ReadOnlyOpenNeverWritesAndRefusesOtherFiles) {
  const std::string other = FreshPath("other-app");
  {
    sqlite3* raw = nullptr;
    ASSERT_EQ(sqlite3_open(other.c_str(), &raw), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(raw, "CREATE TABLE notes (x TEXT); INSERT INTO notes VALUES ('mine');", nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(raw);
  }
  const std::string before = FileBytes(other);
  DatabaseOptions ro;
  ro.read_only = true;
  auto db = Database::Open(other, ro);
  ASSERT_FALSE(db.ok());
  EXPECT_EQ(db.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(db.status().message().find("not a Steward database"), std::string::npos) << db.status().message();
  EXPECT_EQ(FileBytes(other), before);  // no tables, no WAL switch (the header would change)
  EXPECT_FALSE(std::filesystem::exists(other + "-wal"));

  const std::string empty = FreshPath("empty");
  { std::ofstream touch(empty); }
  auto e = Database::Open(empty, ro);
  ASSERT_FALSE(e.ok());
  EXPECT_NE(e.status().message().find("not a Steward database"), std::string::npos) << e.status().message();
  EXPECT_EQ(std::filesystem::file_size(empty), 0u);
}

TEST(Database, ReadOnlyOpenDoesNotMigrateAnOlderSchema) {
  const std::string path = FreshPath("older");
  {
    auto db = Database::Open(path);
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE((*db)->Exec("PRAGMA user_version=" + std::to_string(LatestSchemaVersion() - 1)).ok());
  }
  DatabaseOptions ro;
  ro.read_only = true;
  auto db = Database::Open(path, ro);
  ASSERT_FALSE(db.ok());
  EXPECT_EQ(db.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(db.status().message().find("is older than this build's"), std::string::npos) << db.status().message();
  EXPECT_NE(db.status().message().find("never migrate"), std::string::npos) << db.status().message();
  {
    auto rw = Database::Open(path, ro).status();  // still older: nothing was migrated
    EXPECT_NE(rw.message().find("is older than this build's"), std::string::npos);
    sqlite3* raw = nullptr;  // what a migration by a write command ends with
    ASSERT_EQ(sqlite3_open(path.c_str(), &raw), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(raw, ("PRAGMA user_version=" + std::to_string(LatestSchemaVersion())).c_str(), nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(raw);
  }
  auto now = Database::Open(path, ro);
  ASSERT_TRUE(now.ok()) << now.status().ToString();
  EXPECT_FALSE((*now)->Exec("INSERT INTO flags VALUES ('k', 'v', 'a', 1)").ok());  // and it cannot write
}

TEST(ExperimentStore, KeepsEveryVersionAndIsIdempotent) {
  auto db = Database::Open(FreshPath("experiments"));
  ExperimentStore store(**db);
  EXPECT_EQ(*store.SaveVersion("exp", R"({"coverage":0.1})", "alice", 1), 1);
  EXPECT_EQ(*store.SaveVersion("exp", R"({"coverage":0.1})", "alice", 2), 1);  // unchanged
  EXPECT_EQ(*store.SaveVersion("exp", R"({"coverage":0.5})", "bob", 3), 2);
  auto versions = store.Versions("exp");
  ASSERT_EQ(versions->size(), 2u);
  EXPECT_EQ((*versions)[1].actor, "bob");
  EXPECT_EQ(store.Get("exp")->current_version, 2);
  EXPECT_EQ(store.Get("exp")->state, "draft");
  ASSERT_TRUE(store.SetState("exp", "ramping", 4).ok());
  EXPECT_EQ(store.Get("exp")->state, "ramping");
  EXPECT_EQ(store.SetState("nope", "ramping", 4).code(), StatusCode::kNotFound);
  EXPECT_EQ(store.Get("nope").status().code(), StatusCode::kNotFound);
}

TEST(ModelRegistry, VersionsPerName) {
  auto db = Database::Open(FreshPath("models"));
  ModelRegistry registry(**db);
  ModelRecord r;
  r.name = "baseline";
  r.kind = "baseline";
  r.artifact = std::string("\0\1\2", 3);
  EXPECT_EQ(*registry.Register(r), 1);
  EXPECT_EQ(*registry.Register(r), 2);
  auto latest = registry.Latest("baseline");
  EXPECT_EQ(latest->version, 2);
  EXPECT_EQ(latest->artifact.size(), 3u);
  EXPECT_EQ(registry.List()->size(), 2u);
  r.kind.clear();
  EXPECT_EQ(registry.Register(r).status().code(), StatusCode::kInvalidArgument);
}

class AuditLogTest : public testing::Test {
 protected:
  void SetUp() override {
    db_.reset();  // close before the files are replaced
    path_ = FreshPath("audit");
    db_ = std::move(Database::Open(path_).value());
    AuditLog audit(*db_);
    for (int i = 1; i <= 5; ++i) {
      auto e = audit.Append({0, 1000 * i, "alice", "experiment.ramp", "exp", "step " + std::to_string(i), "{}"});
      ASSERT_TRUE(e.ok()) << e.status().ToString();
      EXPECT_EQ(e->seq, i);
    }
  }
  std::string path_;
  std::unique_ptr<Database> db_;
};

TEST_F(AuditLogTest, IntactChainVerifies) {
  AuditLog audit(*db_);
  auto result = audit.Verify();
  ASSERT_TRUE(result.ok());
  EXPECT_TRUE(result->ok);
  EXPECT_EQ(result->rows, 5);
  auto recent = audit.Recent(2);
  ASSERT_EQ(recent->size(), 2u);
  EXPECT_EQ((*recent)[0].seq, 5);
  EXPECT_EQ((*recent)[0].prev_hash, (*audit.Recent(0))[1].hash);
  // The hash is SHA-256 over the documented fields. Independent check of the primitive:
  // sha256("abc") from FIPS 180-2, appendix B.1.
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST_F(AuditLogTest, EditingAnyFieldOfAnyRowIsDetectedAtThatRow) {
  for (const char* column : {"actor", "action", "subject", "reason", "payload", "ts_ms"}) {
    for (int seq = 1; seq <= 5; ++seq) {
      SetUp();
      const std::string value = std::string(column) == "ts_ms" ? "12345" : "'tampered'";
      ASSERT_TRUE(db_->Exec("UPDATE audit_log SET " + std::string(column) + " = " + value + " WHERE seq = " + std::to_string(seq)).ok());
      auto result = AuditLog(*db_).Verify();
      ASSERT_TRUE(result.ok());
      EXPECT_FALSE(result->ok) << column << " seq " << seq;
      EXPECT_EQ(result->first_bad_seq, seq) << column;
    }
  }
}

TEST_F(AuditLogTest, DeletionAndRehashingAreDetected) {
  ASSERT_TRUE(db_->Exec("DELETE FROM audit_log WHERE seq = 3").ok());
  auto result = AuditLog(*db_).Verify();
  EXPECT_FALSE(result->ok);
  EXPECT_EQ(result->first_bad_seq, 4);
  // An attacker who edits a row and recomputes its own hash still breaks the next row's link.
  SetUp();
  AuditLog audit(*db_);
  AuditEntry forged = (*audit.Recent(0))[2];  // seq 3
  forged.reason = "forged";
  forged.hash = AuditLog::ComputeHash(forged);
  ASSERT_TRUE(db_->Exec("UPDATE audit_log SET reason = 'forged', hash = '" + forged.hash + "' WHERE seq = 3").ok());
  result = audit.Verify();
  EXPECT_FALSE(result->ok);
  EXPECT_EQ(result->first_bad_seq, 4);
}

// Regression (#15 item 2): deleting the last row (or the last N, or all) still verified "intact".
TEST_F(AuditLogTest, TruncationIsDetectedByTheAnchor) {
  for (const char* where : {"seq = 5", "seq >= 3", "1 = 1"}) {
    SetUp();
    ASSERT_TRUE(db_->Exec(std::string("DELETE FROM audit_log WHERE ") + where).ok());
    auto result = AuditLog(*db_).Verify();
    ASSERT_TRUE(result.ok());
    EXPECT_FALSE(result->ok) << where;
    EXPECT_NE(result->problem.find("truncated"), std::string::npos) << result->problem;
  }
  SetUp();
  auto intact = AuditLog(*db_).Verify();
  EXPECT_TRUE(intact->ok);
  EXPECT_EQ(intact->anchored_seq, 5);
  EXPECT_TRUE(intact->unanchored_reason.empty());
}

// A whole chain rewritten consistently (every hash recomputed) verifies internally; the anchor's
// MACs, keyed outside the database, still catch it. Forged anchor lines fail their MAC.
TEST_F(AuditLogTest, ARewrittenChainAndAForgedAnchorAreDetected) {
  AuditLog audit(*db_);
  std::vector<AuditEntry> rows = *audit.Recent(0);
  std::reverse(rows.begin(), rows.end());
  std::string prev(64, '0');
  for (AuditEntry& e : rows) {
    e.reason = "rewritten";
    e.prev_hash = prev;
    e.hash = AuditLog::ComputeHash(e);
    prev = e.hash;
    ASSERT_TRUE(db_->Exec("UPDATE audit_log SET reason = 'rewritten', prev_hash = '" + e.prev_hash + "', hash = '" + e.hash +
                          "' WHERE seq = " + std::to_string(e.seq)).ok());
  }
  auto result = audit.Verify();
  EXPECT_FALSE(result->ok);
  EXPECT_NE(result->problem.find("anchor vouches for"), std::string::npos) << result->problem;
  // Forging the anchor too needs the key: a line with a made-up MAC is refused.
  std::ofstream(AnchorPathFor(path_), std::ios::app) << "6 v2:" << std::string(64, 'a') << " " << std::string(64, 'b') << "\n";
  SetUp();
  std::ofstream(AnchorPathFor(path_), std::ios::app) << "6 v2:" << std::string(64, 'a') << " " << std::string(64, 'b') << "\n";
  result = AuditLog(*db_).Verify();
  EXPECT_FALSE(result->ok);
  EXPECT_NE(result->problem.find("MAC"), std::string::npos) << result->problem;
  // Deleting the anchor of an anchored log is itself detected.
  SetUp();
  std::filesystem::remove(AnchorPathFor(path_));
  result = AuditLog(*db_).Verify();
  EXPECT_FALSE(result->ok);
  EXPECT_NE(result->problem.find("missing"), std::string::npos) << result->problem;
}

// Regression (#15 item 2): with fields joined by 0x1F, moving the separator moved text between
// fields with the hash still valid. Every field is length-prefixed now, and control characters
// are refused in the text fields.
TEST_F(AuditLogTest, FieldsCannotShiftAndControlCharactersAreRefused) {
  AuditEntry a{3, 1, "alice", "experiment.ramp", "exp", "ok\x1fsneaky", "{}", std::string(64, '0'), ""};
  AuditEntry b = a;
  b.reason = "ok";
  b.payload = "sneaky\x1f{}";
  EXPECT_EQ(AuditLog::ComputeHashV1(a), AuditLog::ComputeHashV1(b));  // the old format's flaw
  EXPECT_NE(AuditLog::ComputeHash(a), AuditLog::ComputeHash(b));
  AuditLog audit(*db_);
  for (const char* reason : {"line\nbreak", "esc\x1b[2Jape", "unit\x1fsep", "bad \xff byte"}) {
    auto e = audit.Append({0, 1, "alice", "experiment.ramp", "exp", reason, "{}"});
    ASSERT_FALSE(e.ok()) << reason;
    EXPECT_NE(e.status().message().find("'reason'"), std::string::npos) << e.status().message();
  }
  // Rows from before the v2 format still verify (their own hash format), but a v1 row after a v2
  // row is a downgrade.
  AuditEntry first = (*audit.Recent(0)).back();
  first.hash = AuditLog::ComputeHashV1(first);
  ASSERT_TRUE(db_->Exec("UPDATE audit_log SET hash = '" + first.hash + "' WHERE seq = 1").ok());
  auto result = audit.Verify();
  EXPECT_FALSE(result->ok);  // seq 2's prev_hash no longer matches
  EXPECT_EQ(result->first_bad_seq, 2);
}

TEST_F(AuditLogTest, RequiresWhoWhatAndOnWhat) {
  AuditLog audit(*db_);
  auto e = audit.Append({0, 1, "", "x", "y", "", ""});
  ASSERT_FALSE(e.ok());
  EXPECT_NE(e.status().message().find("'actor'"), std::string::npos);
}

TEST(EventWriter, CommitsEverythingInGroups) {
  const std::string path = FreshPath("writer");
  auto writer = EventWriter::Start(path);
  ASSERT_TRUE(writer.ok()) << writer.status().ToString();
  Exposure e;
  e.request_id = 1;
  e.ts_ms = 5;
  e.user_id = 9;
  e.experiment = "exp";
  e.arm = "control";
  e.served = {{10, 1.0}, {11, 0.25}};
  e.shadow_items = {11, 12};
  e.model_version = "baseline@1";
  e.shadow_model_version = "popularity@1";
  ASSERT_TRUE((*writer)->Submit(e).ok());
  for (int i = 0; i < 10000; ++i) ASSERT_TRUE((*writer)->Submit(Click(1)).ok());
  ASSERT_TRUE((*writer)->Flush().ok());
  EXPECT_EQ((*writer)->committed(), 10001u);
  const EventWriterStats stats = (*writer)->stats();
  EXPECT_LT(stats.batches, 10001u);  // grouped
  ASSERT_TRUE((*writer)->Close().ok());
  EXPECT_EQ((*writer)->Submit(Click(2)).status().code(), StatusCode::kFailedPrecondition);

  auto db = Database::Open(path);
  EXPECT_EQ(Count(**db, "feedback"), 10000);
  auto st = (*db)->Prepare("SELECT served, shadow, shadow_model_version FROM exposures");
  ASSERT_TRUE(*(*st)->Step());
  EXPECT_EQ((*st)->ColumnText(0), "[[10,1],[11,0.25]]");
  EXPECT_EQ((*st)->ColumnText(1), "[11,12]");
  auto arms = QueryArmCounts(**db);
  ASSERT_EQ(arms->size(), 1u);
  EXPECT_EQ((*arms)[0].exposures, 1);
  EXPECT_EQ((*arms)[0].clicks, 10000);
}

TEST(EventWriter, FullQueueGivesBackPressureNotMemory) {
  EventWriterOptions options;
  options.queue_capacity = 8;
  options.sync = SyncMode::kFull;
  auto writer = EventWriter::Start(FreshPath("pressure"), options);
  ASSERT_TRUE(writer.ok());
  // Non-blocking submits fail fast once the queue is full, instead of growing it.
  int unavailable = 0;
  for (int i = 0; i < 5000; ++i) {
    auto r = (*writer)->TrySubmit(Click(i));
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
      ++unavailable;
    }
  }
  EXPECT_GT(unavailable, 0);
  // Blocking submits wait and then all land.
  const uint64_t before = (*writer)->stats().submitted;
  for (int i = 0; i < 2000; ++i) ASSERT_TRUE((*writer)->Submit(Click(i)).ok());
  ASSERT_TRUE((*writer)->Flush().ok());
  EXPECT_EQ((*writer)->committed(), before + 2000);
  EXPECT_GT((*writer)->stats().producer_waits, 0u);
  EXPECT_LE((*writer)->stats().max_batch, 8u);
}

// A duplicate request id is refused by the database: the event is kept in rejected_events with the
// reason, the rest of its batch commits, and ingest goes on.
TEST(EventWriter, RefusedEventsAreQuarantinedAndIngestGoesOn) {
  const std::string path = FreshPath("dup");
  auto writer = EventWriter::Start(path);
  Exposure e;
  e.request_id = 1;
  e.experiment = "x";
  e.arm = "a";
  e.model_version = "m";
  ASSERT_TRUE((*writer)->Submit(e).ok());
  ASSERT_TRUE((*writer)->Flush().ok());
  Exposure next = e;
  next.request_id = 2;
  std::vector<Event> batch = {Event(e), Event(next)};  // the duplicate and a good one, one batch
  auto seq = (*writer)->SubmitBatch(std::move(batch));
  ASSERT_TRUE(seq.ok());
  ASSERT_TRUE((*writer)->WaitCommitted(*seq).ok());
  EXPECT_EQ((*writer)->stats().rejected, 1u);
  Exposure later = e;
  later.request_id = 3;
  auto seq3 = (*writer)->Submit(later);  // the writer is still running
  ASSERT_TRUE(seq3.ok());
  ASSERT_TRUE((*writer)->WaitCommitted(*seq3).ok());
  ASSERT_TRUE((*writer)->Close().ok());
  auto db = Database::Open(path).value();
  auto count = db->Prepare("SELECT COUNT(*) FROM exposures").value();
  ASSERT_TRUE(count->Step().value());
  EXPECT_EQ(count->ColumnInt(0), 3);
  auto rejected = db->Prepare("SELECT request_id, kind, payload, error FROM rejected_events").value();
  ASSERT_TRUE(rejected->Step().value());
  EXPECT_EQ(rejected->ColumnInt(0), 1);
  EXPECT_EQ(rejected->ColumnText(1), "exposure");
  EXPECT_NE(rejected->ColumnText(2).find("\"experiment\":\"x\""), std::string::npos) << rejected->ColumnText(2);
  EXPECT_NE(rejected->ColumnText(3).find("request_id 1"), std::string::npos) << rejected->ColumnText(3);
  EXPECT_FALSE(rejected->Step().value());
}

// Failures other than a refused event (here: a schema change that breaks the insert)
// stop the writer and reach the producer; nothing is reported committed that is not.
TEST(EventWriter, FailureIsReportedNotSwallowed) {
  const std::string path = FreshPath("ro");
  auto writer = EventWriter::Start(path);
  ASSERT_TRUE(writer.ok());
  {
    auto db = Database::Open(path).value();
    ASSERT_TRUE(db->Exec("CREATE TABLE gone (x INTEGER); CREATE TRIGGER broken BEFORE INSERT ON feedback BEGIN INSERT INTO gone VALUES (1); END; DROP TABLE gone;").ok());
  }
  auto seq = (*writer)->Submit(Click(1));
  ASSERT_TRUE(seq.ok());
  Status s = (*writer)->WaitCommitted(*seq);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("gone"), std::string::npos) << s.message();
  EXPECT_LT((*writer)->committed(), *seq);
}

// kill -9 in the middle of ingest: every batch reported committed is in the database afterwards,
// and the database opens cleanly and passes integrity_check.
TEST(EventWriter, KillNineLosesNoReportedBatch) {
  const std::string path = FreshPath("kill9");
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    close(fds[0]);
    EventWriterOptions options;
    options.sync = SyncMode::kNormal;  // the weaker mode: still survives a process crash
    options.queue_capacity = 4096;
    const int out = fds[1];
    options.on_commit = [out](uint64_t committed, size_t) {
      const ssize_t n = write(out, &committed, sizeof committed);
      (void)n;
    };
    auto writer = EventWriter::Start(path, options);
    if (!writer.ok()) _exit(2);
    for (int64_t i = 1;; ++i) {
      if (!(*writer)->Submit(Click(i)).ok()) _exit(3);
    }
  }
  close(fds[1]);
  uint64_t reported = 0, value = 0;
  int reports = 0;
  while (reports < 20 && read(fds[0], &value, sizeof value) == static_cast<ssize_t>(sizeof value)) {
    reported = value;
    ++reports;
  }
  ASSERT_EQ(kill(child, SIGKILL), 0);
  int status = 0;
  waitpid(child, &status, 0);
  ASSERT_TRUE(WIFSIGNALED(status));
  // Reports written before the kill count too.
  while (read(fds[0], &value, sizeof value) == static_cast<ssize_t>(sizeof value)) reported = value;
  close(fds[0]);
  ASSERT_GE(reports, 20);
  ASSERT_GT(reported, 0u);

  auto db = Database::Open(path);
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  EXPECT_EQ(*(*db)->IntegrityCheck(), "ok");
  EXPECT_GE(Count(**db, "feedback"), static_cast<int64_t>(reported));
}

}  // namespace
}  // namespace steward::storage
