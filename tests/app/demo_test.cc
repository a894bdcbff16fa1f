#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "app/demo.h"
#include "app/ingest_bench.h"
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
