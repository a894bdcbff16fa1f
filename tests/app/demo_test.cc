#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "app/demo.h"
#include "app/ingest_bench.h"
#include "app/simulate.h"
#include "common/clock.h"
#include "serving/controller.h"
#include "storage/audit_log.h"
#include "storage/database.h"
#include "storage/queries.h"
#include "storage/statement.h"

namespace steward::app {
namespace {

std::string FreshPath(const std::string& name) {
  const std::string path = testing::TempDir() + "/" + name + "-" + std::to_string(getpid()) + ".db";
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path + suffix);
  return path;
}

DemoOptions Options(const std::string& db, uint64_t seed) {
  DemoOptions o;
  o.experiment_file = std::string(STEWARD_TEST_DATA_DIR) + "/app/data/ab_fixed.yaml";
  o.requests = 3000;
  o.db_path = db;
  o.seed = seed;
  o.data_dir = STEWARD_DATA_DIR;
  o.progress = false;
  return o;
}

TEST(Demo, LogsEveryRequestThroughTheRealPath) {
  const std::string db_path = FreshPath("demo");
  auto summary = RunDemo(Options(db_path, 42));
  ASSERT_TRUE(summary.ok()) << summary.status().ToString();
  EXPECT_EQ(summary->requests, 3000);
  EXPECT_EQ(summary->exposures, 3000);
  EXPECT_GT(summary->clicks, 0);
  ASSERT_EQ(summary->arms.size(), 2u);
  EXPECT_EQ(summary->arms[0].exposures + summary->arms[1].exposures, 3000);
  // The 50/50 split is healthy: within 4 standard deviations of 1500.
  EXPECT_NEAR(static_cast<double>(summary->arms[0].exposures), 1500.0, 4 * std::sqrt(3000 * 0.25));
  EXPECT_GT(summary->shadow_overlap_at_k, 0.0);
  // Exploration shows more of the catalog than the baseline.
  EXPECT_GT(summary->arms[1].coverage, summary->arms[0].coverage);

  auto db = storage::Database::Open(db_path).value();
  EXPECT_EQ(*db->IntegrityCheck(), "ok");
  auto totals = storage::QueryTotals(*db).value();
  EXPECT_EQ(totals.exposures, 3000);
  EXPECT_EQ(totals.clicks, summary->clicks);
  auto verify = storage::AuditLog(*db).Verify().value();
  EXPECT_TRUE(verify.ok);
  EXPECT_GE(verify.rows, 3);  // experiment.version, demo.start, demo.finish
  // Served lists carry propensities; treatment's explored items have propensity < 1.
  auto st = db->Prepare("SELECT COUNT(*) FROM exposures WHERE arm = 'treatment' AND served LIKE '%,0.%'").value();
  ASSERT_TRUE(*st->Step());
  EXPECT_GT(st->ColumnInt(0), 0);

  const auto j = nlohmann::json::parse(DemoSummaryJson(*summary));
  for (const char* key : {"requests", "exposures", "clicks", "db"}) EXPECT_TRUE(j.contains(key)) << key;
  EXPECT_EQ(j["db"], db_path);
}

TEST(Demo, SameSeedSameResult) {
  auto a = RunDemo(Options(FreshPath("seed-a"), 7)).value();
  auto b = RunDemo(Options(FreshPath("seed-b"), 7)).value();
  auto c = RunDemo(Options(FreshPath("seed-c"), 8)).value();
  EXPECT_EQ(a.clicks, b.clicks);
  EXPECT_EQ(a.arms[0].exposures, b.arms[0].exposures);
  EXPECT_EQ(a.arms[1].clicks, b.arms[1].clicks);
  EXPECT_NE(a.clicks, c.clicks);
}

TEST(Demo, RunsAppendToAnExistingDatabase) {
  const std::string db_path = FreshPath("append");
  ASSERT_TRUE(RunDemo(Options(db_path, 1)).ok());
  auto second = RunDemo(Options(db_path, 2));
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_EQ(second->exposures, 6000);
}

TEST(Demo, BadInputIsAClearError) {
  DemoOptions o = Options(FreshPath("bad"), 1);
  o.experiment_file = "/nonexistent/exp.yaml";
  auto r = RunDemo(o);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("/nonexistent/exp.yaml"), std::string::npos);
  o = Options(FreshPath("bad2"), 1);
  o.data_dir = "/nonexistent";
  EXPECT_FALSE(RunDemo(o).ok());
}

DemoOptions Scenario(const std::string& db, uint64_t seed, const std::string& scenario) {
  DemoOptions o;
  o.requests = 20000;
  o.db_path = db;
  o.seed = seed;
  o.data_dir = STEWARD_DATA_DIR;
  o.progress = false;
  o.scenario = scenario;
  return o;  // the bundled data/experiments/demo.yaml: ramp 10-25-50-100% with guardrails
}

TEST(DemoScenario, RegressionIsRolledBackWithEvidenceAndStaysRolledBack) {
  const std::string db_path = FreshPath("regression");
  auto summary = RunDemo(Scenario(db_path, 3, "regression"));
  ASSERT_TRUE(summary.ok()) << summary.status().ToString();
  ASSERT_EQ(summary->experiments.size(), 1u);
  const ExperimentOutcome& e = summary->experiments[0];
  EXPECT_EQ(e.state, "rolled_back");
  EXPECT_GT(e.rolled_back_at, 0);
  // The fault starts at 40% of the run; the rollback comes after it, not before.
  EXPECT_GT(e.rolled_back_at_request, 8000);
  EXPECT_NE(e.reason.find("guardrail ctr breached"), std::string::npos) << e.reason;

  // Reopen: the state survived, and the audit log holds the evidence.
  auto db = storage::Database::Open(db_path).value();
  auto status = serving::RolloutController(*db, SystemClock::Default()).Status("homepage-recs");
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(status->state, experiment::RolloutState::kRolledBack);
  EXPECT_EQ(serving::RolloutController(*db, SystemClock::Default()).ServingCoverageFor("homepage-recs").value(), 0.0);
  auto rows = storage::AuditLog(*db).ForSubject("homepage-recs").value();
  bool found = false;
  for (const auto& row : rows) {
    if (row.action != "experiment.rollback") continue;
    found = true;
    const auto evidence = nlohmann::json::parse(row.payload);
    EXPECT_EQ(evidence["guardrail"]["metric"], "ctr");
    EXPECT_LT(evidence["guardrail"]["ci_high"].get<double>(), 0.0);
    EXPECT_LE(evidence["guardrail"]["p_value"].get<double>(), 0.05);
    EXPECT_GT(evidence["guardrail"]["exposures"].get<int64_t>(), 0);
  }
  EXPECT_TRUE(found);
  EXPECT_TRUE(storage::AuditLog(*db).Verify()->ok);

  // A second run on the same database honours the rollback: nobody is in the experiment.
  db.reset();
  DemoOptions again = Scenario(db_path, 4, "healthy");
  again.requests = 2000;
  auto second = RunDemo(again);
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_EQ(second->experiments[0].state, "rolled_back");
  EXPECT_EQ(second->excluded, 2000);
}

TEST(DemoScenario, HealthyNeverRollsBack) {
  for (uint64_t seed : {1, 2}) {
    auto summary = RunDemo(Scenario(FreshPath("healthy-" + std::to_string(seed)), seed, "healthy"));
    ASSERT_TRUE(summary.ok()) << summary.status().ToString();
    EXPECT_EQ(summary->experiments[0].state, "completed") << "seed " << seed << ": " << summary->experiments[0].reason;
    EXPECT_EQ(summary->experiments[0].rolled_back_at, 0);
  }
}

TEST(Simulate, HybridAndBaselineAreDeterministicAndSane) {
  for (const char* policy : {"baseline", "hybrid"}) {
    SimulateOptions o;
    o.policy = policy;
    o.users = 150;
    o.days = 2;
    o.seed = 4;
    o.data_dir = STEWARD_DATA_DIR;
    o.progress = false;
    auto a = RunSimulation(o);
    auto b = RunSimulation(o);
    ASSERT_TRUE(a.ok()) << a.status().ToString();
    ASSERT_TRUE(b.ok());
    EXPECT_EQ(a->clicks, b->clicks) << policy;
    EXPECT_DOUBLE_EQ(a->sequential_similarity, b->sequential_similarity) << policy;
    EXPECT_GT(a->requests, 240);  // about users x rate x days = 300 Poisson arrivals within the horizon
    EXPECT_LE(a->requests, 300);
    EXPECT_GT(a->ctr, 0.0);
    EXPECT_GT(a->diversity_index, 0.0);
    EXPECT_LE(a->diversity_index, 1.0);
    EXPECT_GE(a->coverage, 0.0);
    EXPECT_LE(a->gini, 1.0);
    EXPECT_GT(a->sequential_similarity, -1.0);
    EXPECT_LE(a->sequential_similarity, 1.0);
    const auto j = nlohmann::json::parse(SimulateResultJson(*a));
    for (const char* key : {"ctr", "diversity_index", "sequential_similarity", "coverage", "gini",
                            "new_user_interactions_to_quality", "new_item_days_to_signal"}) {
      EXPECT_TRUE(j.contains(key)) << key;
    }
  }
}

TEST(IngestBench, AllEventsLand) {
  IngestBenchOptions o;
  o.events = 50000;
  o.progress = false;
  o.db_path = FreshPath("ingest");
  auto r = RunIngestBench(o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->rows_in_db, 50000);
  EXPECT_GT(r->events_per_sec, 0.0);
}

}  // namespace
}  // namespace steward::app
