#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "common/clock.h"
#include "experiment/guardrail_sim.h"
#include "experiment/interleaving.h"
#include "experiment/rollout.h"
#include "experiment/sticky.h"

namespace steward::experiment {
namespace {

constexpr int64_t kHour = 3'600'000;

ExperimentConfig Parse(const std::string& yaml) {
  auto node = ConfigNode::Parse(yaml, "test.yaml");
  auto config = ParseExperimentConfig(*node);
  EXPECT_TRUE(config.ok()) << config.status().ToString();
  return *config;
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

// Fills both arms with `users` users each, `per_user` requests, click rates per arm.
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

TEST(ExperimentConfig, ParsesRampGuardrailsAndDurations) {
  const ExperimentConfig c = Parse(kRamped);
  ASSERT_EQ(c.ramp.size(), 3u);
  EXPECT_EQ(c.ramp[0].min_duration_ms, kHour);
  EXPECT_EQ(c.ramp[1].approval, "rai-reviewer");
  ASSERT_EQ(c.guardrails.size(), 1u);
  EXPECT_EQ(c.guardrails[0].metric, Metric::kCtr);
  EXPECT_EQ(c.evaluation.interval_ms, 15 * 60 * 1000);
  EXPECT_EQ(c.evaluation.failure_limit, 2);
  auto bad = [](const std::string& yaml) {
    return ParseExperimentConfig(*ConfigNode::Parse(
                                     "name: x\narms:\n  - {name: a, model: m}\n  - {name: b, model: m}\n" + yaml, "t.yaml"))
        .status()
        .message();
  };
  EXPECT_NE(bad("ramp:\n  - {coverage: 0.5}\n  - {coverage: 0.2}\n").find("must grow"), std::string::npos);
  EXPECT_NE(bad("ramp:\n  - {coverage: 0.5, min_duration: soon}\n").find("field 'ramp[0].min_duration'"), std::string::npos);
  EXPECT_NE(bad("guardrails:\n  - {metric: revenue, direction: decrease}\n").find("unknown metric 'revenue'"), std::string::npos);
  EXPECT_NE(bad("guardrails:\n  - {metric: ctr, direction: down}\n").find("field 'guardrails[0].direction'"), std::string::npos);
  EXPECT_NE(bad("type: bandit\n").find("field 'type'"), std::string::npos);
}

TEST(Metrics, StreamingUserSumsEqualABatchComputation) {
  ExperimentMetrics m(1);
  // user 1: two requests (2 clicks, 0 clicks); user 2: one request (1 click).
  m.Record(0, 1, {2, 0, 0, false});
  m.Record(0, 2, {1, 0, 0, false});
  m.Record(0, 1, {0, 0, 0, false});
  RatioSums batch;
  batch.Add(2, 2);  // user 1: x = 2 clicks, y = 2 exposures
  batch.Add(1, 1);  // user 2
  const RatioSums& s = m.Sums(0, Metric::kCtr);
  EXPECT_DOUBLE_EQ(s.n, batch.n);
  EXPECT_DOUBLE_EQ(s.sx, batch.sx);
  EXPECT_DOUBLE_EQ(s.sxx, batch.sxx);
  EXPECT_DOUBLE_EQ(s.sxy, batch.sxy);
  EXPECT_DOUBLE_EQ(s.syy, batch.syy);
  EXPECT_EQ(m.Users(0), 2);
  EXPECT_EQ(m.Exposures(0), 3);
}

TEST(Analyze, AdvancesHoldsForApprovalAndCompletes) {
  const ExperimentConfig c = Parse(kRamped);
  RolloutStatus s;
  s.state = RolloutState::kRamping;
  ASSERT_TRUE(AdvanceStep(c, s, 0, "start").ok());
  EXPECT_EQ(s.step, 0);
  EXPECT_DOUBLE_EQ(ServingCoverage(c, s), 0.1);
  ExperimentMetrics m(2);
  Fill(m, 50, 2, 0.03, 0.03, 1);
  // Before an hour has passed: keep waiting.
  Analysis a = Analyze(c, s, m, kHour / 2);
  EXPECT_EQ(a.action, Action::kNone);
  EXPECT_NE(s.reason.find("waiting"), std::string::npos);
  // After an hour: the next step needs rai-reviewer: hold.
  Fill(m, 50, 1, 0.03, 0.03, 2);
  a = Analyze(c, s, m, kHour + 1);
  EXPECT_EQ(a.action, Action::kHold);
  EXPECT_EQ(s.state, RolloutState::kHolding);
  EXPECT_NE(a.reason.find("rai-reviewer"), std::string::npos);
  s.approvals.push_back("rai-reviewer");
  Fill(m, 50, 1, 0.03, 0.03, 3);
  a = Analyze(c, s, m, kHour + 2);
  EXPECT_EQ(a.action, Action::kAdvance);
  EXPECT_EQ(s.step, 1);
  EXPECT_DOUBLE_EQ(s.coverage, 0.5);
  EXPECT_TRUE(s.approvals.empty());
  Fill(m, 50, 1, 0.03, 0.03, 4);
  a = Analyze(c, s, m, 4 * kHour);
  EXPECT_EQ(a.action, Action::kAdvance);
  Fill(m, 50, 1, 0.03, 0.03, 5);
  a = Analyze(c, s, m, 5 * kHour);
  EXPECT_EQ(a.action, Action::kComplete);
  EXPECT_EQ(s.state, RolloutState::kCompleted);
  EXPECT_DOUBLE_EQ(ServingCoverage(c, s), 1.0);
}

TEST(Analyze, ClearHarmRollsBackWithEvidence) {
  const ExperimentConfig c = Parse(kRamped);
  RolloutStatus s;
  s.state = RolloutState::kRamping;
  s.step = 0;
  ExperimentMetrics m(2);
  Fill(m, 400, 3, 0.05, 0.02, 9);  // treatment CTR 60% lower
  const Analysis a = Analyze(c, s, m, kHour);
  EXPECT_EQ(a.action, Action::kRollback);
  EXPECT_EQ(s.state, RolloutState::kRolledBack);
  EXPECT_DOUBLE_EQ(ServingCoverage(c, s), 0.0);
  const auto evidence = nlohmann::json::parse(a.evidence_json);
  EXPECT_EQ(evidence["guardrail"]["metric"], "ctr");
  EXPECT_LT(evidence["guardrail"]["diff"].get<double>(), 0.0);
  EXPECT_LT(evidence["guardrail"]["ci_high"].get<double>(), 0.0);
  EXPECT_LE(evidence["guardrail"]["p_value"].get<double>(), 0.05);
  // Not live any more: later analyses do nothing.
  EXPECT_EQ(Analyze(c, s, m, 2 * kHour).action, Action::kNone);
}

TEST(Analyze, SampleRatioMismatchSpendsTheFailureBudgetThenRollsBack) {
  const ExperimentConfig c = Parse(kRamped);
  RolloutStatus s;
  s.state = RolloutState::kRamping;
  s.step = 0;
  ExperimentMetrics m(2);
  Rng rng(3);
  for (int u = 0; u < 600; ++u) m.Record(u % 3 == 0 ? 1 : 0, u, {rng.Bernoulli(0.3) ? 1.0 : 0.0, 0, 1, false});  // 2:1 split
  for (int i = 1; i <= 2; ++i) {
    m.Record(0, 100000 + i, {0, 0, 1, false});  // traffic keeps flowing
    const Analysis a = Analyze(c, s, m, i * kHour);
    EXPECT_EQ(a.action, Action::kHold) << i;
    EXPECT_NE(a.reason.find("sample-ratio mismatch"), std::string::npos);
    EXPECT_EQ(s.state, RolloutState::kHolding);
  }
  m.Record(0, 100003, {0, 0, 1, false});
  const Analysis a = Analyze(c, s, m, 3 * kHour);
  EXPECT_EQ(a.action, Action::kRollback);
  EXPECT_NE(a.reason.find("failure budget exhausted"), std::string::npos);
}

// Regression (#15 item 8): `steward demo --requests 5000` ended rolled back with "failure budget
// exhausted: no traffic since the last analysis". No traffic is inconclusive: hold, never roll back.
TEST(Analyze, NoTrafficHoldsWithoutSpendingTheFailureBudget) {
  const ExperimentConfig c = Parse(kRamped);
  RolloutStatus s;
  s.state = RolloutState::kRamping;
  s.step = 0;
  s.step_started_ms = 0;
  ExperimentMetrics m(2);
  Fill(m, 30, 1, 0.03, 0.03, 1);
  EXPECT_NE(Analyze(c, s, m, 1000).action, Action::kRollback);
  for (int look = 2; look < 50; ++look) {  // far past failure_limit quiet looks
    const Analysis a = Analyze(c, s, m, look * 1000);
    EXPECT_NE(a.action, Action::kRollback);
    EXPECT_NE(a.action, Action::kAdvance);
    // Quiet looks up to the failure budget are noted; past it the hold is a decision (an alert).
    EXPECT_EQ(a.action, look - 1 > c.evaluation.failure_limit ? Action::kHold : Action::kNone) << look;
    EXPECT_NE(a.reason.find("inconclusive: no traffic"), std::string::npos) << a.reason;
  }
  EXPECT_EQ(s.failures, 0);
  EXPECT_EQ(s.quiet_analyses, 48);
  EXPECT_EQ(s.state, RolloutState::kHolding);
  EXPECT_GT(ServingCoverage(c, s), 0.0);  // still serving the treatment
  Fill(m, 30, 1, 0.03, 0.03, 2);
  EXPECT_NE(Analyze(c, s, m, 60000).action, Action::kRollback);
  EXPECT_EQ(s.failures, 0);
  EXPECT_EQ(s.quiet_analyses, 0);
}

TEST(Analyze, HealthyChecksResetTheBudgetAndNoTrafficDoesNotSpendIt) {
  const ExperimentConfig c = Parse(kRamped);
  RolloutStatus s;
  s.state = RolloutState::kRamping;
  s.step = 0;
  s.failures = 2;  // two failed checks (e.g. sample-ratio mismatch) before
  ExperimentMetrics m(2);
  Fill(m, 30, 1, 0.03, 0.03, 1);
  s.last_exposures = 60;  // what the last analysis saw: no traffic since
  EXPECT_NE(Analyze(c, s, m, 1000).action, Action::kRollback);
  EXPECT_EQ(s.failures, 2);  // neither spent nor reset
  Fill(m, 30, 1, 0.03, 0.03, 2);
  Analyze(c, s, m, 2000);
  EXPECT_EQ(s.failures, 0);
}

// Peeking at every interval: the always-valid test keeps false alarms under alpha over 200 A/A
// runs, and catches a 10% CTR drop in at least 90% of 200 runs.
TEST(GuardrailSimulation, FalseAlarmsAndPower) {
  GuardrailSimOptions o;
  o.runs = 200;
  auto aa = SimulateGuardrail(o);
  ASSERT_TRUE(aa.ok());
  EXPECT_LE(aa->alarm_rate, 0.05) << aa->alarms << " of 200 A/A runs alarmed";
  o.effect = -0.10;
  auto drop = SimulateGuardrail(o);
  ASSERT_TRUE(drop.ok());
  EXPECT_GE(drop->alarm_rate, 0.90);
  EXPECT_GT(drop->median_exposures_to_detection, 0);
  // The same peeking with a fixed-horizon z-test at every look inflates false alarms well past 5%.
  o.effect = 0.0;
  o.test = GuardrailTest::kFixed;
  auto naive = SimulateGuardrail(o);
  ASSERT_TRUE(naive.ok());
  EXPECT_GT(naive->alarm_rate, 0.10);
}

TEST(GuardrailSimulation, WorkIsBounded) {  // issue #15 item 4: --requests 99999999999999999999 ran forever
  GuardrailSimOptions o;
  o.requests = INT64_MAX;
  auto r = SimulateGuardrail(o);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("requests <= 100000000 per run"), std::string::npos) << r.status().message();
  o = GuardrailSimOptions();
  o.runs = 100;
  o.requests = 100'000'000;  // each within bounds, 1e10 in total
  EXPECT_NE(SimulateGuardrail(o).status().message().find("runs * requests <= 2e9"), std::string::npos);
}

TEST(Sticky, WeightChangesDoNotMoveExposedUsers) {
  ExperimentConfig c;
  c.name = c.seed = "sticky";
  c.arms = {{"a", "m", 0.5}, {"b", "m", 0.5}};
  StickyAssigner first(Assigner(c), {});
  std::vector<int> arm(2000);
  for (int u = 0; u < 2000; ++u) arm[static_cast<size_t>(u)] = first.Assign(std::to_string(u)).arm_index;
  auto saved = first.TakePending();
  EXPECT_EQ(saved.size(), 2000u);
  c.arms = {{"a", "m", 0.1}, {"b", "m", 0.9}};  // reweighting would move many users...
  Assigner plain(c);
  int moved_plain = 0;
  for (int u = 0; u < 2000; ++u) moved_plain += plain.Assign(std::to_string(u)).arm_index != arm[static_cast<size_t>(u)];
  EXPECT_GT(moved_plain, 500);
  StickyAssigner second(Assigner(c), saved);  // ...but not with sticky assignments
  for (int u = 0; u < 2000; ++u) EXPECT_EQ(second.Assign(std::to_string(u)).arm_index, arm[static_cast<size_t>(u)]);
  EXPECT_TRUE(second.TakePending().empty());
  // Coverage 0 (rollback) overrides stickiness.
  second.assigner().SetCoverage(0.0);
  EXPECT_FALSE(second.Assign("1").in_experiment);
}

TEST(Interleaving, TeamDraftMatchesTheAlgorithm) {
  // Radlinski et al. 2008: with A = [1,2,3,4], B = [2,1,5,6] the first round's coin decides who
  // picks first; each team then alternates taking its best item not yet shown.
  const std::vector<int32_t> a = {1, 2, 3, 4}, b = {2, 1, 5, 6};
  for (uint64_t seed = 0; seed < 20; ++seed) {
    Rng rng(seed);
    const InterleavedList list = TeamDraftInterleave(a, b, 4, rng);
    ASSERT_EQ(list.items.size(), 4u);
    const bool a_first = list.team[0] == 0;
    if (a_first) {
      EXPECT_EQ(list.items[0], 1);  // A's best
      EXPECT_EQ(list.items[1], 2);  // B's best
    } else {
      EXPECT_EQ(list.items[0], 2);
      EXPECT_EQ(list.items[1], 1);
    }
    // Teams stay balanced: two picks each.
    EXPECT_EQ(std::count(list.team.begin(), list.team.end(), 0), 2);
  }
}

TEST(Interleaving, CreditAndBinomialTest) {
  InterleavingTally tally;
  InterleavedList list{{10, 20, 30}, {0, 1, 0}};
  const std::vector<int> click_b = {1}, click_a = {0}, both = {0, 1};
  for (int i = 0; i < 15; ++i) tally.Add(list, click_b);
  for (int i = 0; i < 5; ++i) tally.Add(list, click_a);
  tally.Add(list, both);  // tie
  const auto r = tally.Result().value();
  EXPECT_EQ(r.wins_b, 15);
  EXPECT_EQ(r.wins_a, 5);
  EXPECT_EQ(r.ties, 1);
  EXPECT_NEAR(r.delta, 10.0 / 21.0, 1e-12);
  // scipy.stats.binomtest(15, 20, 0.5).pvalue = 0.041389465332031 (exact: 2 * sum_{k>=15} C(20,k) / 2^20).
  EXPECT_NEAR(r.p_value, 0.041389465332031, 1e-12);
}

}  // namespace
}  // namespace steward::experiment
