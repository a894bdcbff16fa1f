// `steward simulate` with the feedback-loop series and the ablation/world flags (issue #12): the
// JSON keys and series lengths of a short run, and the flags' validation, in the library and
// through the binary.
#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "app/cold_start_bench.h"
#include "app/feedback_loop_bench.h"
#include "app/seed_summary.h"
#include "app/simulate.h"

namespace steward::app {
namespace {

SimulateOptions Small() {
  SimulateOptions o;
  o.users = 30;
  o.days = 5;
  o.seed = 3;
  o.catalog_items = 400;  // a small catalog keeps the hybrid's embedding fast
  o.progress = false;
  return o;
}

TEST(SimulateFeedbackLoop, JsonHasTheSeriesOnePerWindow) {
  for (const char* policy : {"popularity", "hybrid"}) {
    SimulateOptions o = Small();
    o.policy = policy;
    o.window_days = 2;  // 5 days in windows of 2: 3 windows (the last one 1 day long)
    auto r = RunSimulation(o);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    const auto j = nlohmann::json::parse(SimulateResultJson(*r));
    ASSERT_TRUE(j.contains("homogenization")) << policy;
    ASSERT_TRUE(j.contains("exposure_gini_series")) << policy;
    const auto& h = j["homogenization"];
    for (const char* key : {"first", "last", "series", "window_days", "pairs"}) EXPECT_TRUE(h.contains(key)) << key;
    EXPECT_EQ(h["window_days"], 2);
    ASSERT_EQ(h["series"].size(), 3u) << policy;
    EXPECT_EQ(j["exposure_gini_series"].size(), 3u) << policy;
    EXPECT_EQ(h["pairs"], 30 * 29 / 2);  // fewer than 2000 pairs: all of them
    EXPECT_DOUBLE_EQ(h["first"].get<double>(), h["series"].front().get<double>());
    EXPECT_DOUBLE_EQ(h["last"].get<double>(), h["series"].back().get<double>());
    // Cumulative consumed sets only grow, but a Jaccard can fall; the Gini of the last window is
    // the run's (cumulative) item Gini.
    EXPECT_DOUBLE_EQ(j["exposure_gini_series"].back().get<double>(), j["gini"].get<double>());
    EXPECT_EQ(j["catalog_items"], 400);
  }
}

TEST(SimulateFeedbackLoop, AblationAndRetrainModesRun) {
  SimulateOptions o = Small();
  o.days = 2;
  o.dampening = "none";
  o.retrain = "ips";
  auto r = RunSimulation(o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->dampening, "none");
  EXPECT_EQ(r->retrain, "ips");
  EXPECT_EQ(r->homogenization_series.size(), 2u);
}

TEST(SimulateFeedbackLoop, BadValuesNameTheFlag) {
  const auto message = [](SimulateOptions o) {
    auto r = RunSimulation(o);
    return r.ok() ? std::string("ok") : r.status().message();
  };
  SimulateOptions o = Small();
  o.dampening = "some";
  EXPECT_NE(message(o).find("--dampening 'some'"), std::string::npos) << message(o);
  o = Small();
  o.retrain = "weighted";
  EXPECT_NE(message(o).find("--retrain 'weighted'"), std::string::npos) << message(o);
  o = Small();
  o.policy = "popularity";
  o.retrain = "ips";
  EXPECT_NE(message(o).find("--retrain needs --policy hybrid"), std::string::npos) << message(o);
  o = Small();
  o.policy = "baseline";
  o.dampening = "no-diversity";
  EXPECT_NE(message(o).find("--dampening needs --policy hybrid"), std::string::npos) << message(o);
  o = Small();
  o.window_days = 0;
  EXPECT_NE(message(o).find("--window-days"), std::string::npos) << message(o);
  o = Small();
  o.catalog_items = 50;
  EXPECT_NE(message(o).find("--catalog-items"), std::string::npos) << message(o);
  o = Small();
  o.catalog_items = 20000;
  EXPECT_NE(message(o).find("--catalog-items 20000"), std::string::npos) << message(o);
  o = Small();
  o.new_item_share = 0.9;
  EXPECT_NE(message(o).find("--new-item-share"), std::string::npos) << message(o);
  o = Small();
  o.quality_horizon = 1;
  EXPECT_NE(message(o).find("--quality-horizon"), std::string::npos) << message(o);
  EXPECT_FALSE(ParseFeedbackVariants({"hybrid", "hybrid-fast"}).ok());
  EXPECT_NE(ParseFeedbackVariants({"hybrid-fast"}).status().message().find("'hybrid-fast'"), std::string::npos);
}

// The binary: exit status non-zero and stderr naming the flag.
std::string RunBinary(const std::string& args, int* status) {
  const std::string cmd = std::string(STEWARD_BINARY) + " " + args + " 2>&1";
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen(cmd.c_str(), "r"), pclose);
  std::string out;
  std::array<char, 512> buf{};
  while (pipe && fgets(buf.data(), buf.size(), pipe.get())) out += buf.data();
  *status = pclose(pipe.release());
  return out;
}

TEST(SimulateFeedbackLoop, CliRejectsBadValuesNamingTheFlag) {
  const std::array<std::pair<const char*, const char*>, 6> cases = {{
      {"simulate --users 5 --days 1 --dampening sometimes", "--dampening"},
      {"simulate --users 5 --days 1 --retrain weighted", "--retrain"},
      {"simulate --users 5 --days 1 --policy baseline --retrain ips", "--retrain"},
      {"simulate --users 5 --days 1 --window-days 0", "--window-days"},
      {"bench feedback-loop --users 5 --days 1 --variants hybrid,nope", "--variants"},
      {"bench cold-start --users 5 --days 1 --seeds 1,x", "--seeds"},
  }};
  for (const auto& [args, flag] : cases) {
    int status = 0;
    const std::string out = RunBinary(args, &status);
    EXPECT_NE(status, 0) << args;
    EXPECT_NE(out.find(flag), std::string::npos) << args << "\n" << out;
  }
}

TEST(SimulateFeedbackLoop, SeedSummaryIsAStudentTInterval) {
  // Values 1, 2, 3: mean 2, sd 1, t(0.975, 2) = 4.303: half-width 4.303 / sqrt(3) = 2.4843.
  const SeedSummary s = SummarizeSeeds({1.0, 2.0, 3.0});
  EXPECT_DOUBLE_EQ(s.mean, 2.0);
  EXPECT_NEAR(s.low, 2.0 - 4.303 / std::sqrt(3.0), 1e-12);
  EXPECT_NEAR(s.high, 2.0 + 4.303 / std::sqrt(3.0), 1e-12);
  EXPECT_EQ(FormatSummary(s, 2), "2.00 [-0.48, 4.48]");
  EXPECT_EQ(FormatPerSeed(s, 1), "1.0 / 2.0 / 3.0");
  EXPECT_EQ(FormatSummary(SummarizeSeeds({5.0}), 1), "5.0");
}

TEST(SimulateFeedbackLoop, BenchesProduceFragmentsWithTheCommand) {
  FeedbackLoopOptions f;
  f.seeds = {1};
  f.variants = {"popularity", "hybrid"};
  f.users = 20;
  f.days = 2;
  f.progress = false;
  f.command_line = "steward bench feedback-loop --seeds 1 --users 20 --days 2";
  auto fr = RunFeedbackLoop(f);
  ASSERT_TRUE(fr.ok()) << fr.status().ToString();
  const std::string md = FeedbackLoopMarkdown(*fr);
  EXPECT_NE(md.find("| popularity |"), std::string::npos);
  EXPECT_NE(md.find(f.command_line), std::string::npos);
  EXPECT_EQ(fr->variants[1].homogenization_series.size(), 2u);
  // Regression: with fewer than 4 windows the quarter points of the series table indexed window
  // -1 (a heap-buffer-overflow under ASan); each quarter now falls in a window of the run.
  EXPECT_NE(md.find("| day 1 |"), std::string::npos) << md;
  EXPECT_NE(md.find("| day 2 |"), std::string::npos) << md;

  ColdStartOptions c;
  c.seeds = {1};
  c.users = 20;
  c.days = 2;
  c.rate = 2;
  c.catalog_items = 300;
  c.progress = false;
  c.command_line = "steward bench cold-start --seeds 1";
  auto cr = RunColdStart(c);
  ASSERT_TRUE(cr.ok()) << cr.status().ToString();
  const std::string cm = ColdStartMarkdown(*cr);
  EXPECT_NE(cm.find("28 → 9"), std::string::npos);
  EXPECT_NE(cm.find("4.8 → 1.7"), std::string::npos);
  EXPECT_NE(cm.find(c.command_line), std::string::npos);
}

}  // namespace
}  // namespace steward::app
