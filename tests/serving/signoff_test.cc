// Reviewer sign-off in the ramp (issue #11): RolloutController::SignOffStep and the gates of
// experiment::Analyze (a block holds; a failed governance audit holds when on_fail: hold).
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "common/clock.h"
#include "common/config.h"
#include "experiment/rollout.h"
#include "serving/controller.h"
#include "storage/audit_log.h"

namespace steward::serving {
namespace {

using experiment::RolloutState;

constexpr int64_t kHour = 3'600'000;

const char* kAudited = R"(
name: audited
arms:
  - {name: control, model: baseline, weight: 0.5}
  - {name: treatment, model: baseline-genre, weight: 0.5}
ramp:
  - {coverage: 0.1, min_duration: 1h}
  - {coverage: 0.5, approval: rai-reviewer}
evaluation: {interval: 15m, min_users_per_arm: 1}
audits: {aplt_min: 0.1, on_fail: hold}
)";

experiment::ExperimentConfig Parse(const std::string& yaml) {
  return experiment::ParseExperimentConfig(ConfigNode::Parse(yaml, "test.yaml").value()).value();
}

experiment::ExperimentMetrics Traffic(int64_t exposures) {
  experiment::ExperimentMetrics m(2);
  for (int64_t i = 0; i < exposures; ++i) {
    experiment::RequestOutcome o;
    o.latency_ms = 1.0;
    m.Record(static_cast<int>(i % 2), i, o);
  }
  return m;
}

class SignOffTest : public testing::Test {
 protected:
  void SetUp() override {
    path_ = testing::TempDir() + "/signoff-" + std::to_string(getpid()) + ".db";
    for (const char* suffix : {"", "-wal", "-shm", ".anchor"}) std::filesystem::remove(path_ + suffix);
    db_ = storage::Database::Open(path_).value();
    RolloutController c(*db_, clock_);
    ASSERT_TRUE(c.Create(Parse(kAudited), "alice").ok());
    ASSERT_TRUE(c.Start("audited", "alice", "go").ok());  // step 1 began at 1000 ms
  }
  SignOff Review(SignOff::Decision decision, int64_t computed_at_ms) {
    SignOff s;
    s.decision = decision;
    s.actor = "rita";
    s.reason = "reviewed the exposure report";
    s.report_hash = std::string(64, 'a');
    s.definitions_version = "steward-fairness-1";
    s.thresholds_json = R"({"thresholds":[{"key":"aplt_min"}]})";
    s.computed_at_ms = computed_at_ms;
    return s;
  }
  std::string path_;
  std::unique_ptr<storage::Database> db_;
  ManualClock clock_{1000};
};

TEST_F(SignOffTest, TheReviewerRoleApprovesOnlyWithAFreshAudit) {
  RolloutController c(*db_, clock_);
  // With `audits:` declared, a plain approval by the reviewer role is refused, naming the command.
  const Status plain = c.Approve("audited", "rai-reviewer", "rita", "looks fine");
  ASSERT_FALSE(plain.ok());
  EXPECT_NE(plain.message().find("steward audit sign-off"), std::string::npos) << plain.message();
  // An audit computed before the step began is stale.
  const Status stale = c.SignOffStep("audited", Review(SignOff::Decision::kApprove, 999));
  ASSERT_FALSE(stale.ok());
  EXPECT_EQ(stale.code(), StatusCode::kFailedPrecondition);
  // A fresh one approves the reviewer step, and its evidence is in the chain.
  ASSERT_TRUE(c.SignOffStep("audited", Review(SignOff::Decision::kApprove, 2000)).ok());
  EXPECT_EQ(c.Status("audited")->approvals, (std::vector<std::string>{"rai-reviewer"}));
  auto row = storage::AuditLog(*db_).Latest("audited", {storage::AuditAction::kAuditSignOff}).value();
  ASSERT_TRUE(row.has_value());
  const auto payload = nlohmann::json::parse(row->payload);
  EXPECT_EQ(payload["decision"], "approve");
  EXPECT_EQ(payload["report_hash"], std::string(64, 'a'));
  EXPECT_EQ(payload["definitions_version"], "steward-fairness-1");
  EXPECT_EQ(payload["thresholds"]["thresholds"][0]["key"], "aplt_min");
  EXPECT_EQ(payload["audit_computed_at_ms"], 2000);
  EXPECT_TRUE(payload["approves_step"].get<bool>());
  EXPECT_TRUE(storage::AuditLog(*db_).Verify()->ok);
}

TEST_F(SignOffTest, ABlockHoldsUntilAnApprovingSignOff) {
  RolloutController c(*db_, clock_);
  ASSERT_TRUE(c.SignOffStep("audited", Review(SignOff::Decision::kBlock, 2000)).ok());
  auto status = c.Status("audited").value();
  EXPECT_EQ(status.state, RolloutState::kHolding);
  EXPECT_NE(status.blocked.find("rita"), std::string::npos);
  // Promotion is refused while blocked; the analysis holds whatever the step's conditions say.
  EXPECT_FALSE(c.Promote("audited", "alice", "push").ok());
  clock_.SetMillis(3 * kHour);
  auto analysis = c.Evaluate("audited", Traffic(100), 3 * kHour).value();
  EXPECT_EQ(analysis.action, experiment::Action::kHold);
  EXPECT_NE(analysis.reason.find("blocked by the reviewer"), std::string::npos) << analysis.reason;
  EXPECT_EQ(c.Status("audited")->step, 0);
  // An approving sign-off lifts the block and approves the reviewer step: the next analysis advances.
  ASSERT_TRUE(c.SignOffStep("audited", Review(SignOff::Decision::kApprove, 3 * kHour)).ok());
  EXPECT_TRUE(c.Status("audited")->blocked.empty());
  clock_.SetMillis(4 * kHour);
  analysis = c.Evaluate("audited", Traffic(200), 4 * kHour).value();
  EXPECT_EQ(analysis.action, experiment::Action::kAdvance) << analysis.reason;
  EXPECT_EQ(c.Status("audited")->step, 1);
}

TEST_F(SignOffTest, AFailingAuditGateHoldsTheStepThatCouldAdvance) {
  RolloutController c(*db_, clock_);
  experiment::AuditGate gate;
  gate.failed = true;
  gate.reason = "treatment: aplt 0 < 0.1 (aplt_min)";
  gate.evidence_json = R"({"report_hash":"bb"})";
  clock_.SetMillis(2 * kHour);
  auto analysis = c.Evaluate("audited", Traffic(100), 2 * kHour, &gate).value();
  EXPECT_EQ(analysis.action, experiment::Action::kHold);
  EXPECT_NE(analysis.reason.find("held by the governance audit"), std::string::npos);
  auto row = storage::AuditLog(*db_).Latest("audited", {storage::AuditAction::kExperimentHold}).value();
  ASSERT_TRUE(row.has_value());
  EXPECT_EQ(nlohmann::json::parse(row->payload)["audit"]["report_hash"], "bb");
  // A passing gate lets the step move on (here: to waiting for the reviewer).
  gate.failed = false;
  clock_.SetMillis(3 * kHour);
  analysis = c.Evaluate("audited", Traffic(200), 3 * kHour, &gate).value();
  EXPECT_EQ(c.Status("audited")->waiting_for_role, "rai-reviewer") << analysis.reason;
}

}  // namespace
}  // namespace steward::serving
