// The demo's ramp under a governance audit (issue #11): held when the treatment fails a declared
// threshold, waiting when the simulated reviewer sees a failing audit, advancing after a passing
// audit is signed off, with the report's hash in the audit log.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "app/demo.h"
#include "storage/audit_log.h"
#include "storage/database.h"
#include "storage/statement.h"

namespace steward::app {
namespace {

DemoOptions Audited(const std::string& name, const std::string& file) {
  DemoOptions o;
  o.db_path = testing::TempDir() + "/" + name + "-" + std::to_string(getpid()) + ".db";
  for (const char* suffix : {"", "-wal", "-shm", ".anchor"}) std::filesystem::remove(o.db_path + suffix);
  o.experiment_file = std::string(STEWARD_TEST_DATA_DIR) + "/app/data/" + file;
  o.requests = 20000;
  o.seed = 3;
  o.data_dir = STEWARD_DATA_DIR;
  o.progress = false;
  return o;
}

std::vector<storage::AuditEntry> Rows(const std::string& db_path, const std::string& action) {
  auto db = storage::Database::Open(db_path).value();
  std::vector<storage::AuditEntry> out;
  const std::vector<storage::AuditEntry> rows = storage::AuditLog(*db).ForSubject("homepage-recs").value();
  for (const auto& row : rows) {
    if (row.action == action) out.push_back(row);
  }
  EXPECT_TRUE(storage::AuditLog(*db).Verify()->ok);
  return out;
}

TEST(GovernanceDemo, AFailingCheckWithOnFailHoldHoldsTheRamp) {
  const DemoOptions o = Audited("audit-hold", "audit_hold.yaml");  // aplt_min 0.5, on_fail: hold
  auto summary = RunDemo(o);
  ASSERT_TRUE(summary.ok()) << summary.status().ToString();
  const ExperimentOutcome& e = summary->experiments[0];
  EXPECT_EQ(e.state, "holding");
  EXPECT_EQ(e.step, 1);  // never left the first step
  EXPECT_NE(e.reason.find("held by the governance audit: treatment: aplt"), std::string::npos) << e.reason;
  const auto holds = Rows(o.db_path, "experiment.hold");
  ASSERT_FALSE(holds.empty());
  const auto evidence = nlohmann::json::parse(holds.back().payload);
  EXPECT_EQ(evidence["audit"]["report_hash"].get<std::string>().size(), 64u);
  EXPECT_EQ(evidence["audit"]["definitions_version"], "steward-fairness-1");
  EXPECT_TRUE(Rows(o.db_path, "audit.signoff").empty());
}

TEST(GovernanceDemo, TheReviewerDoesNotSignOffAFailingAudit) {
  const DemoOptions o = Audited("audit-review", "audit_review.yaml");  // aplt_min 0.5, report only
  auto summary = RunDemo(o);
  ASSERT_TRUE(summary.ok()) << summary.status().ToString();
  const ExperimentOutcome& e = summary->experiments[0];
  EXPECT_EQ(e.step, 2);  // the steps without approval passed
  EXPECT_EQ(e.waiting_for_role, "rai-reviewer");
  EXPECT_TRUE(Rows(o.db_path, "audit.signoff").empty());
}

TEST(GovernanceDemo, APassingAuditIsSignedOffAndTheRampAdvances) {
  const DemoOptions o = Audited("audit-pass", "audit_pass.yaml");  // coverage and diversity bounds it meets
  auto summary = RunDemo(o);
  ASSERT_TRUE(summary.ok()) << summary.status().ToString();
  EXPECT_EQ(summary->experiments[0].state, "completed") << summary->experiments[0].reason;
  const auto signoffs = Rows(o.db_path, "audit.signoff");
  ASSERT_EQ(signoffs.size(), 1u);
  EXPECT_EQ(signoffs[0].actor, "demo-reviewer");
  const auto payload = nlohmann::json::parse(signoffs[0].payload);
  EXPECT_EQ(payload["decision"], "approve");
  EXPECT_TRUE(payload["audit_passed"].get<bool>());
  EXPECT_EQ(payload["report_hash"].get<std::string>().size(), 64u);
  EXPECT_EQ(payload["definitions_version"], "steward-fairness-1");
  EXPECT_EQ(payload["thresholds"]["thresholds"].size(), 2u);
  EXPECT_EQ(payload["role"], "rai-reviewer");
  // The audit was computed after the step before the reviewer's began.
  const auto ramp_rows = Rows(o.db_path, "experiment.advance");
  ASSERT_GE(ramp_rows.size(), 1u);
  EXPECT_GE(payload["audit_computed_at_ms"].get<int64_t>(), ramp_rows[0].ts_ms);
}

int64_t Count(storage::Database& db, const std::string& sql) {
  auto st = db.Prepare(sql).value();
  EXPECT_TRUE(st->Step().value()) << sql;
  return st->ColumnInt(0);
}

// Issue #12: `make demo` tells the story (data/experiments/demo.yaml, the Makefile's flags). Every
// stage is checked from what the database holds, not from the run's counters.
TEST(DemoStory, TheHybridIsShadowedSignedOffAndRampedToCompletion) {
  DemoOptions o;
  o.db_path = testing::TempDir() + "/story-" + std::to_string(getpid()) + ".db";
  for (const char* suffix : {"", "-wal", "-shm", ".anchor"}) std::filesystem::remove(o.db_path + suffix);
  o.report_dir = testing::TempDir() + "/story-reports-" + std::to_string(getpid());
  std::filesystem::remove_all(o.report_dir);
  o.requests = 20000;
  o.seed = 42;
  o.data_dir = STEWARD_DATA_DIR;
  o.progress = false;
  o.screen.policy_file = std::string(STEWARD_DATA_DIR) + "/policy/demo-policy.yaml";
  o.screen.risk_model_file = std::string(STEWARD_DATA_DIR) + "/safety/risk-model-v1.json";
  auto summary = RunDemo(o);
  ASSERT_TRUE(summary.ok()) << summary.status().ToString();
  EXPECT_EQ(summary->experiments[0].state, "completed") << summary->experiments[0].reason;

  // The audit log's order of events: shadow, ramp, the reviewer's wait, a passing sign-off, the
  // step to 50%, completion.
  auto db = storage::Database::Open(o.db_path).value();
  const auto rows = storage::AuditLog(*db).ForSubject("homepage-recs").value();
  auto first = [&](const std::string& action, const std::string& reason_part = "") -> const storage::AuditEntry* {
    for (const auto& row : rows) {
      if (row.action == action && row.reason.find(reason_part) != std::string::npos) return &row;
    }
    return nullptr;
  };
  const auto* shadow = first("experiment.shadow");
  const auto* ramp = first("experiment.ramp");
  const auto* wait = first("experiment.hold", "'rai-reviewer'");
  const auto* signoff = first("audit.signoff");
  const auto* half = first("experiment.advance", "(coverage 0.5)");
  const auto* complete = first("experiment.complete");
  ASSERT_TRUE(shadow && ramp && wait && signoff && half && complete);
  EXPECT_LT(shadow->seq, ramp->seq);
  EXPECT_LT(ramp->seq, wait->seq);
  EXPECT_LT(wait->seq, signoff->seq);
  EXPECT_LT(signoff->seq, half->seq);
  EXPECT_LT(half->seq, complete->seq);
  // The shadow phase lasted the configured 3 days of event time.
  EXPECT_GE(ramp->ts_ms - shadow->ts_ms, 3 * 86'400'000LL);
  const auto payload = nlohmann::json::parse(signoff->payload);
  EXPECT_EQ(payload["decision"], "approve");
  EXPECT_TRUE(payload["audit_passed"].get<bool>());
  EXPECT_EQ(payload["thresholds"]["thresholds"].size(), 8u);
  EXPECT_EQ(payload["role"], "rai-reviewer");
  EXPECT_TRUE(storage::AuditLog(*db).Verify()->ok);

  // Shadow phase: every request served by the exploring baseline, with the hybrid's list beside it.
  const std::string before_ramp = " AND e.ts_ms < " + std::to_string(ramp->ts_ms);
  const int64_t phase = Count(*db, "SELECT COUNT(*) FROM exposures e WHERE experiment = 'homepage-recs'" + before_ramp);
  EXPECT_GE(phase, 3000);
  EXPECT_EQ(Count(*db, "SELECT COUNT(*) FROM exposures e JOIN shadow_results s USING (request_id) WHERE s.model_version LIKE "
                       "'hybrid%' AND s.error = 0" + before_ramp),
            phase);
  // A shadow list slower than 50 ms of wall time is discarded (a timeout): rare, but a loaded
  // machine makes a few.
  EXPECT_LE(Count(*db, "SELECT COUNT(*) FROM exposures e JOIN shadow_results s USING (request_id) WHERE s.timed_out = 1" + before_ramp),
            phase / 100);
  EXPECT_EQ(Count(*db, "SELECT COUNT(*) FROM exposures e WHERE model_version NOT LIKE '%egreedy(0.15)%'" + before_ramp), 0);
  // Exploration is logged with propensities below 1 (what the off-policy estimate needs).
  EXPECT_GT(Count(*db, "SELECT COUNT(*) FROM exposures e WHERE (served LIKE '%,0.85%' AND served LIKE '%e-05]%')" + before_ramp), 0);
  // Ramp: the treatment arm is served by the hybrid.
  EXPECT_GT(Count(*db, "SELECT COUNT(*) FROM exposures e WHERE arm = 'treatment' AND model_version LIKE 'hybrid%'"), 1000);
  EXPECT_EQ(Count(*db, "SELECT COUNT(*) FROM exposures e WHERE arm = 'treatment' AND model_version NOT LIKE 'hybrid%'"), 0);
  // The exposure constraint's per-request evidence is stored with every list the treatment served,
  // and some lists were corrected; the control arm (no constraint) has none.
  EXPECT_EQ(Count(*db, "SELECT COUNT(*) FROM exposures e WHERE arm = 'treatment' AND (evidence IS NULL OR "
                       "json_extract(evidence, '$.exposure_constraint.shares_before[2]') IS NULL)"),
            0);
  EXPECT_GT(Count(*db, "SELECT COUNT(*) FROM exposures e WHERE arm = 'treatment' AND "
                       "json_array_length(evidence, '$.exposure_constraint.adjusted') > 0"),
            0);
  EXPECT_EQ(Count(*db, "SELECT COUNT(*) FROM exposures e WHERE arm = 'control' AND evidence IS NOT NULL"), 0);

  // The summary tells the same story, with somewhere to look at each stage.
  ASSERT_EQ(summary->stages.size(), 4u);
  const char* names[] = {"shadow", "ramp", "review", "outcome"};
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(summary->stages[i].name, names[i]);
    EXPECT_EQ(summary->stages[i].status, "done") << names[i];
    EXPECT_FALSE(summary->stages[i].look.empty()) << names[i];
  }
  EXPECT_TRUE(std::filesystem::exists(o.report_dir + "/shadow/report.html"));
  EXPECT_TRUE(std::filesystem::exists(o.report_dir + "/audit/report.html"));
  EXPECT_NE(DemoSummaryText(*summary).find("Exposure constraint on treatment"), std::string::npos);
  // The shadow stage carries the off-policy estimate of the hybrid from the production logs.
  bool estimate = false;
  for (const std::string& line : summary->stages[0].lines) estimate |= line.rfind("Off-policy estimate from the production logs", 0) == 0;
  EXPECT_TRUE(estimate);
}

}  // namespace
}  // namespace steward::app
