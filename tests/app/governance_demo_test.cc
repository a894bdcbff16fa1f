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

}  // namespace
}  // namespace steward::app
