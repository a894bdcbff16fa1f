// The console's data layer without ImGui: incremental refresh against the full queries, the
// incremental audit-chain walk, the role matrix, actions through a session, definition edits.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "console/incremental.h"
#include "console/session.h"
#include "console/source.h"
#include "storage/audit_log.h"
#include "storage/queries.h"
#include "tests/console/fixture.h"

namespace steward::console {
namespace {

using testing_console::AppendTraffic;
using testing_console::MakeGovernedDatabase;

ConsoleSnapshot Refresh(IncrementalReader& reader, storage::Database& db) {
  ConsoleSnapshot snap;
  EXPECT_TRUE(reader.Refresh(db, 1, snap).ok());
  return snap;
}

void ExpectMatchesFullQueries(const ConsoleSnapshot& snap, storage::Database& db) {
  auto full = storage::QueryArmCounts(db).value();
  const ExperimentView* e = snap.Find("gov");
  ASSERT_NE(e, nullptr);
  for (const storage::ArmCounts& c : full) {
    bool found = false;
    for (const ArmStats& a : e->arms) {
      if (a.name != c.arm) continue;
      found = true;
      EXPECT_EQ(a.exposures, c.exposures) << c.arm;
      EXPECT_EQ(a.users, c.users) << c.arm;
      EXPECT_EQ(a.clicks, c.clicks) << c.arm;  // one click per clicked list and position here
    }
    EXPECT_TRUE(found) << c.arm;
  }
}

TEST(IncrementalReader, MatchesTheFullQueriesAndReadsOnlyNewRows) {
  const std::string path = MakeGovernedDatabase("incremental");
  auto db = storage::Database::Open(path).value();
  IncrementalReader reader;
  ConsoleSnapshot first = Refresh(reader, *db);
  ExpectMatchesFullQueries(first, *db);
  EXPECT_EQ(first.exposures, 200);
  EXPECT_TRUE(first.chain.ok) << first.chain.problem;
  // Nothing new: almost nothing read (no table scan, no chain walk).
  ConsoleSnapshot idle = Refresh(reader, *db);
  EXPECT_EQ(reader.rows_read_last_refresh(), 0);
  EXPECT_EQ(idle.chain.rows_verified_last_refresh, 0);
  // 30 more lists (10 clicked): exactly those rows are read.
  AppendTraffic(*db, 201, 30);
  ConsoleSnapshot next = Refresh(reader, *db);
  EXPECT_EQ(reader.rows_read_last_refresh(), 40);
  EXPECT_EQ(next.exposures, 230);
  ExpectMatchesFullQueries(next, *db);
  // Per-arm comparison against control exists for the treatment and is finite.
  const ExperimentView* e = next.Find("gov");
  ASSERT_NE(e, nullptr);
  ASSERT_TRUE(e->valid) << e->error;
  EXPECT_EQ(e->status.state, experiment::RolloutState::kRamping);
  ASSERT_EQ(e->arms.size(), 2u);
  ASSERT_EQ(e->arms[1].vs_control.size(), 1u);
  EXPECT_TRUE(e->arms[1].vs_control[0].defined);
  EXPECT_GT(e->arms[1].vs_control[0].p_always_valid, 0.0);
  EXPECT_LE(e->arms[1].vs_control[0].p_always_valid, 1.0);
  EXPECT_TRUE(e->srm_checked);
  EXPECT_FALSE(e->series.at("control").empty());
  EXPECT_GT(e->arms[0].latency_p99_ms, e->arms[0].latency_p50_ms * 0.99);
}

TEST(IncrementalReader, VerifiesOnlyNewAuditRowsAndCatchesEdits) {
  const std::string path = MakeGovernedDatabase("chain");
  auto db = storage::Database::Open(path).value();
  IncrementalReader reader;
  ConsoleSnapshot first = Refresh(reader, *db);
  ASSERT_TRUE(first.chain.ok) << first.chain.problem;
  const int64_t rows = first.audit_rows;
  ASSERT_GT(rows, 0);
  storage::AuditLog log(*db);
  ASSERT_TRUE(log.Append({0, 5, "test", "demo.start", "gov", "a new row", "{}"}).ok());
  ConsoleSnapshot second = Refresh(reader, *db);
  EXPECT_TRUE(second.chain.ok) << second.chain.problem;
  EXPECT_EQ(second.chain.rows_verified_last_refresh, 1);  // only the new row
  EXPECT_EQ(second.chain.verified_through_seq, rows + 1);
  EXPECT_EQ(second.recent_audit.front().reason, "a new row");
  // An edit of the newest verified row is caught on the next refresh.
  ASSERT_TRUE(db->Exec("UPDATE audit_log SET reason = 'edited' WHERE seq = " + std::to_string(rows + 1)).ok());
  ConsoleSnapshot third = Refresh(reader, *db);
  EXPECT_FALSE(third.chain.ok);
  EXPECT_EQ(third.chain.first_bad_seq, rows + 1);
}

TEST(IncrementalReader, ARowWithAForgedHashBreaksTheChain) {
  const std::string path = MakeGovernedDatabase("forged");
  auto db = storage::Database::Open(path).value();
  IncrementalReader reader;
  ASSERT_TRUE(Refresh(reader, *db).chain.ok);
  const int64_t next = Refresh(reader, *db).audit_rows + 1;
  ASSERT_TRUE(db->Exec("INSERT INTO audit_log VALUES (" + std::to_string(next) +
                       ", 1, 'mallory', 'experiment.rollback', 'gov', 'x', '{}', 'v2:bad', 'v2:bad')").ok());
  ConsoleSnapshot snap = Refresh(reader, *db);
  EXPECT_FALSE(snap.chain.ok);
  EXPECT_EQ(snap.chain.first_bad_seq, next);
}

TEST(Roles, TheServicesMatrix) {
  EXPECT_TRUE(CheckRole(ConsoleRole::kOwner, ActionKind::kPromote).ok());
  EXPECT_TRUE(CheckRole(ConsoleRole::kReviewer, ActionKind::kSignOff).ok());
  EXPECT_TRUE(CheckRole(ConsoleRole::kOncall, ActionKind::kRollback).ok());
  EXPECT_TRUE(CheckRole(ConsoleRole::kOncall, ActionKind::kKillSwitch).ok());
  EXPECT_TRUE(CheckRole(ConsoleRole::kAdmin, ActionKind::kSignOff).ok());
  const Status refused = CheckRole(ConsoleRole::kOncall, ActionKind::kPromote);
  EXPECT_TRUE(IsForbidden(refused));
  EXPECT_NE(refused.message().find("owner or admin"), std::string::npos) << refused.message();
  EXPECT_TRUE(IsForbidden(CheckRole(ConsoleRole::kOwner, ActionKind::kSignOff)));
  EXPECT_TRUE(IsForbidden(CheckRole(ConsoleRole::kReviewer, ActionKind::kRollback)));
  EXPECT_TRUE(IsForbidden(CheckRole(ConsoleRole::kViewer, ActionKind::kRollback)));
  EXPECT_FALSE(ParseConsoleRole("root").ok());
}

std::unique_ptr<Session> Open(const std::string& path, ConsoleRole role) {
  LocalSourceOptions o;
  o.db_path = path;
  o.role = role;
  o.audit_bootstrap = 20;
  auto session = std::make_unique<Session>(MakeLocalSource(o), 20);
  session->WaitFirstRefresh();
  return session;
}

TaskResult Only(Session& s) {
  s.WaitIdle();
  auto results = s.TakeResults();
  EXPECT_EQ(results.size(), 1u);
  return results.empty() ? TaskResult{} : results.back();
}

TEST(Session, ActionsRunOnTheWorkerThroughTheLibrary) {
  const std::string path = MakeGovernedDatabase("session");
  auto session = Open(path, ConsoleRole::kOncall);
  Action rollback;
  rollback.kind = ActionKind::kRollback;
  rollback.experiment = "gov";
  rollback.actor = "pager";
  session->Submit(rollback);
  TaskResult r = Only(*session);
  EXPECT_FALSE(r.status.ok());
  EXPECT_NE(r.message.find("reason"), std::string::npos) << r.message;
  rollback.reason = "p99 on fire";
  session->Submit(rollback);
  r = Only(*session);
  ASSERT_TRUE(r.status.ok()) << r.message;
  auto db = storage::Database::Open(path).value();
  auto newest = storage::AuditLog(*db).Recent(1).value();
  EXPECT_EQ(newest.front().action, "experiment.rollback");
  EXPECT_EQ(newest.front().actor, "pager");
  EXPECT_EQ(newest.front().reason, "p99 on fire");
  // The poller sees the change.
  const auto start = std::chrono::steady_clock::now();
  while (std::chrono::steady_clock::now() - start < std::chrono::seconds(5)) {
    const ExperimentView* e = session->snapshot()->Find("gov");
    if (e && e->status.state == experiment::RolloutState::kRolledBack) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(session->snapshot()->Find("gov")->status.state, experiment::RolloutState::kRolledBack);
}

TEST(Session, TheWrongRoleIsRefusedBeforeAnythingRuns) {
  const std::string path = MakeGovernedDatabase("refused");
  auto session = Open(path, ConsoleRole::kOncall);
  const int64_t rows = session->snapshot()->audit_rows;
  Action promote;
  promote.kind = ActionKind::kPromote;
  promote.experiment = "gov";
  promote.actor = "pager";
  session->Submit(promote);
  TaskResult r = Only(*session);
  EXPECT_TRUE(IsForbidden(r.status)) << r.message;
  auto db = storage::Database::Open(path).value();
  EXPECT_EQ(storage::AuditLog(*db).Recent(1).value().front().seq, rows);  // nothing written
}

TEST(Session, SignOffRecordsTheHashOfTheAuditShown) {
  const std::string path = MakeGovernedDatabase("signoff");
  {  // at step 2, the next step waits for the reviewer
    auto db = storage::Database::Open(path).value();
    ASSERT_TRUE(serving::RolloutController(*db, SystemClock::Default()).Promote("gov", "test", "to step 2").ok());
  }
  auto session = Open(path, ConsoleRole::kReviewer);
  session->RequestAudit("gov");
  TaskResult audited = Only(*session);
  ASSERT_TRUE(audited.status.ok()) << audited.message;
  auto report = session->audit("gov");
  ASSERT_NE(report, nullptr);
  EXPECT_EQ(report->hash.size(), 64u);
  Action sign;
  sign.kind = ActionKind::kSignOff;
  sign.experiment = "gov";
  sign.actor = "rai";
  sign.reason = "exposure within bounds";
  sign.evidence = report;
  session->Submit(sign);
  TaskResult r = Only(*session);
  ASSERT_TRUE(r.status.ok()) << r.message;
  auto db = storage::Database::Open(path).value();
  auto newest = storage::AuditLog(*db).Recent(1).value().front();
  EXPECT_EQ(newest.action, "audit.signoff");
  EXPECT_NE(newest.payload.find(report->hash), std::string::npos) << newest.payload;
  auto status = serving::RolloutController(*db, SystemClock::Default()).Status("gov").value();
  EXPECT_NE(std::find(status.approvals.begin(), status.approvals.end(), "rai-reviewer"), status.approvals.end());
}

// A source whose audit blocks until released, to show actions do not queue behind it.
class SlowAuditSource final : public DataSource {
 public:
  std::string name() const override { return "fake"; }
  ConsoleRole role() const override { return ConsoleRole::kOncall; }
  StatusOr<std::optional<ConsoleSnapshot>> Poll() override { return std::optional<ConsoleSnapshot>(); }
  StatusOr<GovernanceReport> Audit(const std::string&) override {
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return released; });
    return GovernanceReport{};
  }
  StatusOr<std::vector<fairness::ReviewSample>> Sample(const std::string&, int, uint64_t) override { return std::vector<fairness::ReviewSample>{}; }
  StatusOr<std::string> Run(const Action& a) override { return std::string("ran ") + ActionName(a.kind); }
  StatusOr<std::string> Validate(const std::string&) override { return std::string("ok"); }
  void Release() {
    std::lock_guard lock(mu);
    released = true;
    cv.notify_all();
  }
  std::mutex mu;
  std::condition_variable cv;
  bool released = false;
};

TEST(Session, ARollbackDoesNotWaitBehindAnAudit) {
  auto owned = std::make_unique<SlowAuditSource>();
  SlowAuditSource* source = owned.get();
  Session session(std::move(owned), 1000);
  session.RequestAudit("gov");
  Action rollback;
  rollback.kind = ActionKind::kRollback;
  rollback.experiment = "gov";
  session.Submit(rollback);
  std::vector<TaskResult> results;
  const auto start = std::chrono::steady_clock::now();
  while (results.empty() && std::chrono::steady_clock::now() - start < std::chrono::seconds(5)) {
    results = session.TakeResults();
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ASSERT_EQ(results.size(), 1u);  // the rollback finished while the audit still runs
  EXPECT_EQ(results[0].message, "ran rollback");
  EXPECT_TRUE(session.audit_pending("gov"));
  source->Release();
  session.WaitIdle();
  EXPECT_NE(session.audit("gov"), nullptr);
}

TEST(Definition, RampEditDiffAndFieldErrors) {
  auto edit = EditRampCoverage(R"({"name":"x","ramp":[{"coverage":"0.10"},{"coverage":0.5}]})", {0.1, 0.3});
  ASSERT_TRUE(edit.ok()) << edit.status().ToString();
  ASSERT_EQ(edit->diff.size(), 1u);
  EXPECT_EQ(edit->diff[0], "step 2: coverage 50% -> 30%");
  EXPECT_NE(edit->definition.find("0.3"), std::string::npos);
  EXPECT_FALSE(EditRampCoverage(R"({"ramp":[{"coverage":0.5}]})", {1.5}).ok());
  EXPECT_FALSE(EditRampCoverage(R"({"ramp":[{"coverage":0.5}]})", {0.5, 0.6}).ok());
  const FieldError fe = ParseFieldError("x.yaml:7: field 'ramp[1].coverage' must be in (0, 1]; fix: use 0.5");
  EXPECT_EQ(fe.field, "ramp[1].coverage");
  EXPECT_EQ(fe.line, 7);
}

}  // namespace
}  // namespace steward::console
