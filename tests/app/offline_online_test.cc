#include "app/offline_online.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>

namespace steward::app {
namespace {

// A short run of `steward bench offline-online` on the bundled demo experiment: one seed, few
// requests (the demo's shadow phase, then the first ramp steps). Checks the JSON contract and the
// Markdown fragment, not the figures (docs/paper.md has those, from the full command).
TEST(OfflineOnline, ShortRunHasTheJsonKeysAndTheFragment) {
  const std::string dir = testing::TempDir() + "/offline-online-" + std::to_string(getpid());
  std::filesystem::create_directories(dir);
  setenv("STEWARD_AUDIT_KEY_FILE", (dir + "/audit.key").c_str(), 1);
  OfflineOnlineOptions o;
  o.seeds = {5};
  o.requests = 4000;  // the shadow phase needs 3,000 requests (demo.yaml), then the ramp starts
  o.data_dir = STEWARD_DATA_DIR;
  o.work_dir = dir;
  o.progress = false;
  auto r = RunOfflineOnline(o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->runs.size(), 1u);
  const OfflineOnlineRun& run = r->runs[0];
  EXPECT_GT(run.shadow_lists, 0);
  EXPECT_GT(run.control_lists, 1);
  EXPECT_GT(run.treatment_lists, 1);
  EXPECT_GT(run.logged_ctr.value, 0.0);
  EXPECT_TRUE(std::isfinite(run.estimated_ctr.value));
  EXPECT_NEAR(run.offline_lift.value, run.estimated_ctr.value / run.logged_ctr.value - 1, 1e-9);
  EXPECT_NEAR(run.online_lift.value, run.treatment_ctr / run.control_ctr - 1, 1e-9);
  if (std::isfinite(run.deviation)) {
    EXPECT_NEAR(run.deviation, std::fabs(run.offline_lift.value - run.online_lift.value) / std::fabs(run.online_lift.value), 1e-9);
  }

  const auto j = nlohmann::json::parse(OfflineOnlineJson(*r));
  for (const char* key : {"runs", "mean", "paper"}) EXPECT_TRUE(j.contains(key)) << key;
  const auto& x = j["runs"][0];
  for (const char* key : {"seed", "experiment", "control", "treatment", "shadow_model", "rollout_state", "offline", "online",
                          "deviation", "same_period", "shadow_phase", "seconds"}) {
    EXPECT_TRUE(x.contains(key)) << key;
  }
  for (const char* key : {"lists", "until_ms", "estimator", "logged_ctr", "estimated_ctr", "dm_ctr", "lift", "supported_share", "examination"}) {
    EXPECT_TRUE(x["offline"].contains(key)) << "offline." << key;
  }
  for (const char* key : {"control_lists", "treatment_lists", "control_users", "treatment_users", "control_ctr", "treatment_ctr", "lift"}) {
    EXPECT_TRUE(x["online"].contains(key)) << "online." << key;
  }
  for (const char* key : {"served_diversity_index", "shadow_diversity_index", "diversity_gain", "relevance"}) {
    EXPECT_TRUE(x["shadow_phase"].contains(key)) << "shadow_phase." << key;
  }
  for (const char* key : {"value", "ci_low", "ci_high"}) EXPECT_TRUE(x["online"]["lift"].contains(key)) << key;
  for (const char* key : {"lists", "lift", "deviation", "shadow_treatment_overlap"}) EXPECT_TRUE(x["same_period"].contains(key)) << "same_period." << key;
  for (const char* key : {"offline_lift", "online_lift", "deviation", "max_deviation", "deviation_of_means", "diversity_gain"}) {
    EXPECT_TRUE(j["mean"].contains(key)) << "mean." << key;
  }

  r->command = "steward bench offline-online --seeds 5 --requests 4000";
  const std::string md = OfflineOnlineMarkdown(*r);
  EXPECT_NE(md.find("| figure | paper | seed 5 | mean |"), std::string::npos) << md;
  EXPECT_NE(md.find("| offline lift"), std::string::npos);
  EXPECT_NE(md.find("+12.8%"), std::string::npos);
  EXPECT_NE(md.find("steward bench offline-online --seeds 5 --requests 4000"), std::string::npos);
  std::filesystem::remove_all(dir);
}

TEST(OfflineOnline, RejectsBadOptions) {
  OfflineOnlineOptions o;
  o.seeds.clear();
  EXPECT_FALSE(RunOfflineOnline(o).ok());
  o.seeds = {1};
  o.requests = 10;
  EXPECT_FALSE(RunOfflineOnline(o).ok());
}

}  // namespace
}  // namespace steward::app
