// The SQLite-backed rollout controller (serving/controller.h): persistence, audit, kill switch.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "common/clock.h"
#include "common/rng.h"
#include "experiment/rollout.h"
#include "serving/controller.h"
#include "storage/audit_log.h"
#include "storage/rollout_store.h"

namespace steward::serving {
namespace {

using experiment::Action;
using experiment::ExperimentConfig;
using experiment::ExperimentMetrics;
using experiment::RequestOutcome;
using experiment::RolloutState;

ExperimentConfig Parse(const std::string& yaml) {
  auto node = ConfigNode::Parse(yaml, "test.yaml");
  auto config = experiment::ParseExperimentConfig(*node);
  EXPECT_TRUE(config.ok()) << config.status().ToString();
  return *config;
}

void Fill(ExperimentMetrics& m, int users, int per_user, double ctr_a, double ctr_b, uint64_t seed) {
  Rng rng(seed);
  for (int u = 0; u < users; ++u) {
    for (int arm = 0; arm < 2; ++arm) {
      for (int r = 0; r < per_user; ++r) {
        RequestOutcome o;
        for (int i = 0; i < 10; ++i) o.clicks += rng.Bernoulli(arm == 0 ? ctr_a : ctr_b) ? 1 : 0;
        o.latency_ms = 1.0;
        m.Record(arm, arm * 1000000 + u, o);
      }
    }
  }
}

const char* kRamped = R"(
name: ramped
arms:
  - {name: control, model: baseline, weight: 0.5}
  - {name: treatment, model: baseline-genre, weight: 0.5}
ramp:
  - {coverage: 0.1, min_duration: 1h, min_users_per_arm: 10}
  - {coverage: 0.5, min_duration: 2h, approval: rai-reviewer}
  - {coverage: 1.0}
guardrails:
  - {metric: ctr, direction: decrease, threshold: 0.0}
evaluation: {interval: 15m, failure_limit: 2, min_users_per_arm: 20}
)";

class ControllerTest : public testing::Test {
 protected:
  void SetUp() override {
    path_ = testing::TempDir() + "/controller-" + std::to_string(getpid()) + ".db";
    for (const char* suffix : {"", "-wal", "-shm", ".anchor"}) std::filesystem::remove(path_ + suffix);
    db_ = std::move(storage::Database::Open(path_).value());
    config_ = Parse(kRamped);
  }
  std::string path_;
  std::unique_ptr<storage::Database> db_;
  ExperimentConfig config_;
  ManualClock clock_{1000};
};

TEST_F(ControllerTest, LifecycleIsPersistedAndAudited) {
  RolloutController c(*db_, clock_);
  EXPECT_EQ(*c.Create(config_, "alice"), 1);
  EXPECT_EQ(*c.Create(config_, "alice"), 1);  // unchanged: same version
  EXPECT_EQ(c.Status("ramped")->state, RolloutState::kDraft);
  EXPECT_EQ(*c.ServingCoverageFor("ramped"), 0.0);
  ASSERT_TRUE(c.Start("ramped", "alice", "go").ok());
  EXPECT_EQ(c.Status("ramped")->state, RolloutState::kRamping);
  EXPECT_DOUBLE_EQ(*c.ServingCoverageFor("ramped"), 0.1);
  // Promotion to step 2 needs the reviewer.
  Status promote = c.Promote("ramped", "alice", "");
  EXPECT_EQ(promote.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(promote.message().find("rai-reviewer"), std::string::npos);
  EXPECT_EQ(c.Approve("ramped", "legal", "bob", "").code(), StatusCode::kFailedPrecondition);
  ASSERT_TRUE(c.Approve("ramped", "rai-reviewer", "rita", "exposure parity ok").ok());
  ASSERT_TRUE(c.Promote("ramped", "alice", "looks good").ok());
  EXPECT_DOUBLE_EQ(*c.ServingCoverageFor("ramped"), 0.5);
  // Rollback needs a reason, is durable and survives reopening.
  EXPECT_EQ(c.Rollback("ramped", "oncall", "").code(), StatusCode::kInvalidArgument);
  ASSERT_TRUE(c.Rollback("ramped", "oncall", "p99 latency alarm").ok());
  db_.reset();
  db_ = std::move(storage::Database::Open(path_).value());
  RolloutController reopened(*db_, clock_);
  EXPECT_EQ(reopened.Status("ramped")->state, RolloutState::kRolledBack);
  EXPECT_EQ(*reopened.ServingCoverageFor("ramped"), 0.0);
  EXPECT_EQ(reopened.Status("ramped")->reason, "p99 latency alarm");
  auto rows = storage::AuditLog(*db_).ForSubject("ramped").value();
  std::vector<std::string> actions;
  for (const auto& r : rows) actions.push_back(r.action);
  EXPECT_EQ(actions, (std::vector<std::string>{"experiment.version", "experiment.ramp", "experiment.approve",
                                               "experiment.promote", "experiment.rollback"}));
  EXPECT_EQ(rows.back().actor, "oncall");
  EXPECT_TRUE(storage::AuditLog(*db_).Verify()->ok);
  // A rolled-back experiment cannot be restarted or promoted.
  EXPECT_FALSE(reopened.Start("ramped", "alice", "").ok());
  EXPECT_FALSE(reopened.Promote("ramped", "alice", "").ok());
}

TEST_F(ControllerTest, KillSwitchRollsBackEverythingLiveAndBlocksStarts) {
  RolloutController c(*db_, clock_);
  ASSERT_TRUE(c.Create(config_, "alice").ok());
  ASSERT_TRUE(c.Start("ramped", "alice", "").ok());
  ExperimentConfig other = config_;
  other.name = "other";
  ASSERT_TRUE(c.Create(other, "alice").ok());
  ASSERT_TRUE(c.SetKillSwitch(true, "oncall", "incident 42").ok());
  EXPECT_TRUE(*c.KillSwitch());
  EXPECT_EQ(c.Status("ramped")->state, RolloutState::kRolledBack);
  EXPECT_EQ(c.Status("other")->state, RolloutState::kDraft);
  EXPECT_EQ(c.Start("other", "alice", "").code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(*c.ServingCoverageFor("other"), 0.0);
  ASSERT_TRUE(c.SetKillSwitch(false, "oncall", "resolved").ok());
  ASSERT_TRUE(c.Start("other", "alice", "").ok());
}

TEST_F(ControllerTest, EvaluateAuditsARollbackWithItsEvidence) {
  RolloutController c(*db_, clock_);
  ASSERT_TRUE(c.Create(config_, "alice").ok());
  ASSERT_TRUE(c.Start("ramped", "alice", "").ok());
  ExperimentMetrics m(2);
  Fill(m, 400, 3, 0.05, 0.02, 4);
  auto a = c.Evaluate("ramped", m, 5000);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->action, Action::kRollback);
  const auto last = storage::AuditLog(*db_).Recent(1).value()[0];
  EXPECT_EQ(last.action, "experiment.rollback");
  EXPECT_EQ(last.actor, "controller");
  EXPECT_EQ(nlohmann::json::parse(last.payload)["guardrail"]["metric"], "ctr");
}

// Issue #15 item 1: `experiment rollback --actor $'\xff'` aborted (nlohmann type_error.316 while
// serialising the status) and the rollback was lost. The CLI now rejects such an argument, and the
// library path below it serialises without throwing, so the rollback is applied whatever the bytes.
TEST_F(ControllerTest, RollbackWithInvalidUtf8IsAppliedNotAborted) {
  RolloutController c(*db_, clock_);
  ASSERT_TRUE(c.Create(config_, "alice").ok());
  ASSERT_TRUE(c.Start("ramped", "alice", "").ok());
  ASSERT_TRUE(c.Rollback("ramped", "\xff", "bad \xfe bytes").ok());
  EXPECT_EQ(c.Status("ramped")->state, RolloutState::kRolledBack);
  EXPECT_EQ(*c.ServingCoverageFor("ramped"), 0.0);
  EXPECT_EQ(c.Status("ramped")->reason, "bad \xef\xbf\xbd bytes");  // U+FFFD replaced the byte in the stored status
}

// Issue #15 item 6: the stored definition keeps string scalars byte for byte.
TEST(Controller, ReadsBackTheSeedByteForByte) {
  const std::string path = testing::TempDir() + "/seed-" + std::to_string(getpid()) + ".db";
  for (const char* suffix : {"", "-wal", "-shm", ".anchor"}) std::filesystem::remove(path + suffix);
  auto db = storage::Database::Open(path);
  ASSERT_TRUE(db.ok());
  ManualClock clock(1000);
  RolloutController controller(**db, clock);
  auto node = ConfigNode::Parse("name: seeded\nseed: 007\narms:\n  - {name: 01, model: m}\n  - {name: 02, model: m}\n", "exp.yaml");
  ASSERT_TRUE(node.ok());
  auto c = experiment::ParseExperimentConfig(*node);
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE(controller.Create(*c, "alice").ok());
  auto back = controller.Config("seeded");
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->seed, "007");
  EXPECT_EQ(back->arms[0].name, "01");
}

// Regression (#15 item 2): a rolled-back experiment set back to completed in the state tables was
// never checked against the chain, and the next run served the treatment again.
TEST_F(ControllerTest, StateEditedBehindTheChainIsRefusedAndNotServed) {
  RolloutController c(*db_, clock_);
  ASSERT_TRUE(c.Create(config_, "alice").ok());
  ASSERT_TRUE(c.Start("ramped", "alice", "").ok());
  ASSERT_TRUE(c.Rollback("ramped", "oncall", "alarm").ok());
  auto stored = c.Status("ramped").value();
  stored.state = RolloutState::kCompleted;
  stored.step = 2;
  ASSERT_TRUE(db_->Exec("UPDATE rollouts SET status_json = '" + stored.ToJson() + "' WHERE name = 'ramped'").ok());
  auto status = c.Status("ramped");
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(status.status().message().find("rolled_back"), std::string::npos) << status.status().message();
  EXPECT_FALSE(c.ServingCoverageFor("ramped").ok());
  // On-call can still roll it back: the state and the chain agree again.
  ASSERT_TRUE(c.Rollback("ramped", "oncall", "restore after tampering").ok());
  EXPECT_EQ(c.Status("ramped")->state, RolloutState::kRolledBack);
  // Regression (#15 item 10): a repeated rollback printed a new reason but recorded nothing.
  const size_t rows = storage::AuditLog(*db_).ForSubject("ramped")->size();
  ASSERT_TRUE(c.Rollback("ramped", "bob", "second pager").ok());
  const auto after = storage::AuditLog(*db_).ForSubject("ramped").value();
  ASSERT_EQ(after.size(), rows + 1);
  EXPECT_EQ(after.back().actor, "bob");
  EXPECT_NE(after.back().reason.find("second pager"), std::string::npos);
  EXPECT_EQ(c.Status("ramped")->reason, "restore after tampering");  // the state is unchanged
  // A kill switch turned off in the flags table (not through Steward) stays on.
  ASSERT_TRUE(c.SetKillSwitch(true, "oncall", "incident").ok());
  ASSERT_TRUE(db_->Exec("UPDATE flags SET value = 'off' WHERE key = 'kill_switch'").ok());
  EXPECT_TRUE(*c.KillSwitch());
}

// Regression (#15 item 3): `experiment create` (no actor) on an experiment at ramp step 3 with a v2
// that drops its guardrails and approval step and raises coverage took effect at once.
TEST_F(ControllerTest, ALiveExperimentsNewVersionWaitsForItsApprovers) {
  RolloutController c(*db_, clock_);
  ASSERT_TRUE(c.Create(config_, "alice").ok());
  ASSERT_TRUE(c.Start("ramped", "alice", "go").ok());
  ExperimentConfig v2 = Parse(R"(
name: ramped
arms:
  - {name: control, model: baseline, weight: 0.5}
  - {name: treatment, model: hybrid, weight: 0.5}
ramp:
  - {coverage: 0.97}
)");
  EXPECT_EQ(c.Create(v2, "mallory").status().code(), StatusCode::kInvalidArgument);  // no reason
  auto proposed = c.Create(v2, "mallory", "faster ramp");
  ASSERT_TRUE(proposed.ok()) << proposed.status().ToString();
  EXPECT_EQ(*proposed, 2);
  // Not in effect: the current version, its guardrails and its coverage are unchanged.
  EXPECT_EQ(c.Config("ramped")->guardrails.size(), 1u);
  EXPECT_DOUBLE_EQ(*c.ServingCoverageFor("ramped"), 0.1);
  auto status = c.Status("ramped").value();
  EXPECT_EQ(status.pending_version, 2);
  EXPECT_EQ(status.pending_roles, (std::vector<std::string>{"rai-reviewer"}));
  const auto rows = storage::AuditLog(*db_).ForSubject("ramped").value();
  EXPECT_EQ(rows.back().action, "experiment.propose");
  EXPECT_NE(rows.back().payload.find("guardrail ctr (decrease) removed"), std::string::npos) << rows.back().payload;
  // Pointing current_version at the proposal behind Steward's back is refused.
  ASSERT_TRUE(db_->Exec("UPDATE experiments SET current_version = 2 WHERE name = 'ramped'").ok());
  EXPECT_EQ(c.Config("ramped").status().code(), StatusCode::kDataLoss);
  ASSERT_TRUE(db_->Exec("UPDATE experiments SET current_version = 1 WHERE name = 'ramped'").ok());
  // Only the roles the current version names can approve it; then it takes effect.
  EXPECT_EQ(c.ApproveVersion("ramped", 2, "legal", "bob", "ok").code(), StatusCode::kFailedPrecondition);
  ASSERT_TRUE(c.ApproveVersion("ramped", 2, "rai-reviewer", "rita", "reviewed").ok());
  EXPECT_EQ(c.Config("ramped")->guardrails.size(), 0u);
  EXPECT_EQ(c.Status("ramped")->pending_version, 0);
  EXPECT_DOUBLE_EQ(*c.ServingCoverageFor("ramped"), 0.97);
  EXPECT_TRUE(storage::AuditLog(*db_).Verify()->ok);
}

TEST_F(ControllerTest, WithoutApproversWeakeningALiveExperimentIsRefused) {
  RolloutController c(*db_, clock_);
  ExperimentConfig plain = Parse(R"(
name: plain
arms:
  - {name: control, model: baseline, weight: 0.5}
  - {name: treatment, model: hybrid, weight: 0.5}
guardrails:
  - {metric: ctr, direction: decrease, threshold: 0.05}
)");
  ASSERT_TRUE(c.Create(plain, "alice").ok());
  ASSERT_TRUE(c.Start("plain", "alice", "go").ok());
  ExperimentConfig looser = plain;
  looser.guardrails[0].threshold = 0.5;
  looser.source_json = "{\"name\":\"plain\",\"loosened\":true}";
  auto refused = c.Create(looser, "alice", "less noise");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(refused.status().message().find("loosened"), std::string::npos) << refused.status().message();
  // A change that keeps the protection takes effect at once, with its reason audited.
  ExperimentConfig stricter = plain;
  stricter.guardrails[0].threshold = 0.01;
  stricter.source_json = "{\"name\":\"plain\",\"stricter\":true}";
  ASSERT_TRUE(c.Create(stricter, "alice", "tighter guardrail").ok());
  EXPECT_EQ(storage::AuditLog(*db_).ForSubject("plain")->back().reason, "tighter guardrail");
}

TEST(Sticky, StoredByBucketVersion) {
  const std::string path = testing::TempDir() + "/sticky-" + std::to_string(getpid()) + ".db";
  for (const char* suffix : {"", "-wal", "-shm", ".anchor"}) std::filesystem::remove(path + suffix);
  auto db = storage::Database::Open(path).value();
  storage::RolloutStore store(*db);
  ASSERT_TRUE(store.SaveSticky("e", 1, {{"u1", 0}, {"u2", 1}}).ok());
  ASSERT_TRUE(store.SaveSticky("e", 1, {{"u1", 1}}).ok());  // ignored: u1 keeps arm 0
  auto v1 = store.LoadSticky("e", 1).value();
  ASSERT_EQ(v1.size(), 2u);
  for (const auto& [user, a] : v1) {
    if (user == "u1") {
      EXPECT_EQ(a, 0);
    }
  }
  EXPECT_TRUE(store.LoadSticky("e", 2).value().empty());
}

}  // namespace
}  // namespace steward::serving
