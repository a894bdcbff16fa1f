#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <iterator>
#include <fstream>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "models/baseline.h"
#include "shadow/report.h"
#include "shadow/runner.h"
#include "storage/event_writer.h"
#include "storage/queries.h"

namespace steward::shadow {
namespace {

std::shared_ptr<const models::Catalog> SmallCatalog() {
  auto c = std::make_shared<models::Catalog>();
  c->num_categories = 2;
  for (int i = 0; i < 50; ++i) c->items.push_back({i + 100, i % 2, 0, static_cast<double>(50 - i), 0});
  return c;
}

class Slow final : public models::Recommender {
 public:
  explicit Slow(int sleep_ms, bool throws) : sleep_ms_(sleep_ms), throws_(throws) {}
  std::string name() const override { return "slow"; }
  std::string version() const override { return "slow@1"; }
  models::Recommendation Recommend(const models::RecommendRequest& r) override {
    std::this_thread::sleep_for(std::chrono::milliseconds(sleep_ms_));
    if (throws_) throw std::runtime_error("shadow model failure");
    models::Recommendation rec;
    rec.items.push_back({static_cast<int32_t>(r.request_id % 50), 0, 1});
    return rec;
  }

 private:
  int sleep_ms_;
  bool throws_;
};

TEST(ShadowRunner, ComputesOnTheSameInputsOffThePath) {
  std::mutex mu;
  std::vector<ShadowResult> results;
  ShadowRunner runner(std::make_unique<models::PopularityRecommender>(SmallCatalog()), ShadowRunnerOptions(),
                      [&](ShadowResult r) {
                        std::lock_guard lock(mu);
                        results.push_back(std::move(r));
                      });
  std::vector<int32_t> history = {0, 1};
  models::RecommendRequest rq;
  rq.request_id = 7;
  rq.history = history;
  rq.k = 3;
  ASSERT_TRUE(runner.SubmitRequest(rq));
  history.assign({9, 9});  // the caller's buffer changes after submit: the runner kept a copy
  runner.Drain();
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].request_id, 7);
  EXPECT_EQ(results[0].items, (std::vector<int32_t>{2, 3, 4}));  // 0 and 1 were read
  EXPECT_EQ(results[0].model_version, "popularity@1");
}

TEST(ShadowRunner, FullQueueDropsInsteadOfBlocking) {
  ShadowRunnerOptions o;
  o.queue_capacity = 2;
  std::atomic<int> done{0};
  ShadowRunner runner(std::make_unique<Slow>(20, false), o, [&](ShadowResult) { ++done; });
  const auto start = std::chrono::steady_clock::now();
  int accepted = 0;
  for (int i = 0; i < 20; ++i) {
    models::RecommendRequest rq;
    rq.request_id = i;
    accepted += runner.SubmitRequest(rq) ? 1 : 0;
  }
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  EXPECT_LT(ms, 15.0);  // 20 submits never waited for the 20 ms model
  runner.Drain();
  const ShadowStats s = runner.stats();
  EXPECT_EQ(s.submitted, 20u);
  EXPECT_EQ(s.dropped, static_cast<uint64_t>(20 - accepted));
  EXPECT_GT(s.dropped, 10u);
  EXPECT_EQ(done.load(), accepted);
}

TEST(ShadowRunner, ErrorsAndTimeoutsAreCountedNotPropagated) {
  ShadowRunnerOptions o;
  o.timeout_us = 1000;
  std::vector<ShadowResult> results;
  {
    ShadowRunner failing(std::make_unique<Slow>(0, true), o, [&](ShadowResult r) { results.push_back(r); });
    models::RecommendRequest rq;
    failing.SubmitRequest(rq);
    failing.Drain();
    EXPECT_EQ(failing.stats().errors, 1u);
  }
  {
    ShadowRunner slow(std::make_unique<Slow>(5, false), o, [&](ShadowResult r) { results.push_back(r); });
    models::RecommendRequest rq;
    slow.SubmitRequest(rq);
    slow.Drain();
    EXPECT_EQ(slow.stats().timeouts, 1u);
  }
  ASSERT_EQ(results.size(), 2u);
  EXPECT_TRUE(results[0].error);
  EXPECT_TRUE(results[1].timed_out);
  EXPECT_TRUE(results[1].items.empty());
}

TEST(ShadowReport, ComparesServedAndShadowListsFromTheDatabase) {
  const std::string path = testing::TempDir() + "/shadow-report-" + std::to_string(getpid()) + ".db";
  for (const char* suffix : {"", "-wal", "-shm", ".anchor"}) std::filesystem::remove(path + suffix);
  {
    auto db = storage::Database::Open(path).value();
    ASSERT_TRUE(storage::SaveCatalog(*db, {{1, 0, 0, 0}, {2, 1, 0, 0}, {3, 0, 0, 0}, {4, 1, 0, 0}}).ok());
  }
  auto writer = storage::EventWriter::Start(path).value();
  for (int r = 1; r <= 3; ++r) {
    storage::Exposure e;
    e.request_id = r;
    e.experiment = "exp";
    e.arm = "control";
    e.model_version = "m";
    e.served = {{1, 1.0}, {2, 1.0}};
    e.latency_us = 1000 * r;
    e.ts_ms = 3600000LL * (r - 1);  // one request per hour
    ASSERT_TRUE(writer->Submit(e).ok());
  }
  // Request 1: identical shadow list; request 2: disjoint; request 3: dropped (no shadow row).
  ASSERT_TRUE(writer->Submit(storage::ShadowOutcome{1, "exp", "s@1", {1, 2}, 500, false, false}).ok());
  ASSERT_TRUE(writer->Submit(storage::ShadowOutcome{2, "exp", "s@1", {3, 4}, 700, false, false}).ok());
  ASSERT_TRUE(writer->Close().ok());
  auto db = storage::Database::Open(path).value();
  auto report = BuildShadowReport(*db, "");
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  ASSERT_EQ(report->experiments.size(), 1u);
  const auto& e = report->experiments[0];
  EXPECT_EQ(e.requests, 3);
  EXPECT_EQ(e.compared, 2);
  EXPECT_EQ(e.dropped, 1);
  EXPECT_DOUBLE_EQ(e.overlap_at_10, 0.5);  // (1 + 0) / 2
  EXPECT_DOUBLE_EQ(e.rbo, 0.5);
  EXPECT_DOUBLE_EQ(e.served.coverage, 0.5);  // items 1, 2 of 4
  EXPECT_DOUBLE_EQ(e.shadow.coverage, 1.0);
  EXPECT_DOUBLE_EQ(e.served.p50_ms, 2.0);
  EXPECT_DOUBLE_EQ(e.served.intra_list_diversity, 1.0);  // categories 0 and 1
  EXPECT_NE(ShadowReportMarkdown(*report).find("overlap@10 0.500"), std::string::npos);
  EXPECT_TRUE(e.policy.empty());  // no filter given: violations not counted
  EXPECT_EQ(e.counterfactual.rows, 0);  // propensity 1 everywhere: no support, not estimable
  EXPECT_EQ(e.counterfactual.deterministic_rows, 4);  // 2 positions x 2 compared requests
  EXPECT_EQ(e.violations, 0);

  // A policy filter blocking item 3 (catalog index 2, ids ordered): the shadow list of request 2
  // shows it once; the served lists never do.
  struct BlockThird final : models::CandidateFilter {
    std::string name() const override { return "block-3"; }
    bool Allow(const models::RecommendRequest&, int32_t item) const override { return item != 2; }
  } filter;
  ShadowReportOptions options;
  options.policy = &filter;
  options.windows = 3;
  auto screened = BuildShadowReport(*db, options);
  ASSERT_TRUE(screened.ok());
  const auto& s = screened->experiments[0];
  EXPECT_EQ(s.policy, "block-3");
  EXPECT_EQ(s.violations, 1);
  EXPECT_EQ(s.shadow.violations, 1);
  EXPECT_EQ(s.served.violations, 0);
  // Three hourly windows: agreement 1, then 0, then a window with no shadow result.
  ASSERT_EQ(s.windows.size(), 3u);
  EXPECT_DOUBLE_EQ(s.windows[0].overlap_at_10, 1.0);
  EXPECT_DOUBLE_EQ(s.windows[1].overlap_at_10, 0.0);
  EXPECT_EQ(s.windows[1].violations, 1);
  EXPECT_EQ(s.windows[2].compared, 0);
  EXPECT_DOUBLE_EQ(s.windows[2].served_p99_ms, 3.0);
  options.windows = 0;
  EXPECT_FALSE(BuildShadowReport(*db, options).ok());

  // Files for reviewers: JSON, Markdown and HTML that link three PNG charts.
  const std::string dir = testing::TempDir() + "/shadow-report-files-" + std::to_string(getpid());
  ASSERT_TRUE(WriteShadowReportFiles(*screened, dir).ok());
  for (const char* file : {"report.json", "report.md", "report.html", "exp-agreement.png", "exp-latency.png", "exp-quality.png"}) {
    EXPECT_GT(std::filesystem::file_size(dir + "/" + file), 100u) << file;
  }
  std::ifstream html(dir + "/report.html");
  const std::string text((std::istreambuf_iterator<char>(html)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("<img src=\"exp-agreement.png\""), std::string::npos);
  EXPECT_NE(text.find("Policy violations (block-3): shadow 1, served 0"), std::string::npos);
  EXPECT_FALSE(WriteShadowReportFiles(*screened, "/proc/steward-cannot-write").ok());
}

// The counterfactual value of the shadow lists from logged propensities, computed by hand:
// 4 requests, each serving (10, 20) with propensities (0.5, 0.25). Shadow lists: (10, 30) on all.
// Position 1 always matches (weight 1 / 0.5 = 2), position 2 never does (weight 0). Clicks at
// position 1 on requests 1 and 2, at position 2 on request 3.
// Per-slot rows (8): weights 2,0,2,0,2,0,2,0; rewards 1,0,1,0,0,1,0,0.
// IPS per slot = (2 + 2) / 8 = 0.5; x list length 2 = 1.0 click per list.
// SNIPS per slot = 4 / 8 = 0.5 -> 1.0. Logged clicks per list = 3 / 4 = 0.75. ESS = 8^2 / 16 = 4.
TEST(ShadowReport, CounterfactualValueFromLoggedPropensities) {
  const std::string path = testing::TempDir() + "/shadow-cf-" + std::to_string(getpid()) + ".db";
  for (const char* suffix : {"", "-wal", "-shm", ".anchor"}) std::filesystem::remove(path + suffix);
  {
    auto db = storage::Database::Open(path).value();
    ASSERT_TRUE(storage::SaveCatalog(*db, {{10, 0, 0, 0}, {20, 1, 0, 0}, {30, 0, 0, 0}}).ok());
  }
  auto writer = storage::EventWriter::Start(path).value();
  for (int r = 1; r <= 4; ++r) {
    storage::Exposure e;
    e.request_id = r;
    e.ts_ms = r;
    e.experiment = "exp";
    e.arm = "explore";
    e.model_version = "m";
    e.served = {{10, 0.5}, {20, 0.25}};
    ASSERT_TRUE(writer->Submit(e).ok());
    ASSERT_TRUE(writer->Submit(storage::ShadowOutcome{r, "exp", "s@1", {10, 30}, 100, false, false}).ok());
  }
  for (auto [request, position] : {std::pair{1, 1}, {2, 1}, {3, 2}}) {
    ASSERT_TRUE(writer->Submit(storage::Feedback{request, 10, 7, position == 1 ? 10 : 20, position, storage::FeedbackKind::kClick, 1.0}).ok());
  }
  ASSERT_TRUE(writer->Close().ok());
  auto db = storage::Database::Open(path).value();
  auto report = BuildShadowReport(*db, "");
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  const ShadowCounterfactual& c = report->experiments[0].counterfactual;
  EXPECT_EQ(c.rows, 8);
  EXPECT_EQ(c.matched, 4);
  EXPECT_DOUBLE_EQ(c.list_length, 2.0);
  EXPECT_DOUBLE_EQ(c.logged_clicks_per_list, 0.75);
  EXPECT_NEAR(c.ips, 1.0, 1e-12);
  EXPECT_NEAR(c.snips, 1.0, 1e-12);
  EXPECT_NEAR(c.ess, 4.0, 1e-12);
  EXPECT_DOUBLE_EQ(c.max_weight, 2.0);
  EXPECT_LT(c.ips_low, 1.0);
  EXPECT_GT(c.ips_high, 1.0);

  // The primary estimate: the position-based slate estimator (shadow/slate_ope.h) over the same
  // four lists, with the catalog's popularity deciles as attraction groups (all popularity 0:
  // items 10, 20, 30 by id fall in deciles 0, 3, 6) and each item's context from the user's earlier
  // clicks (one user; categories: 10 and 30 are 0, 20 is 1). Request 1: no clicks yet, context 0.
  // Requests 2 and 3 (one or two clicks, both on category 0): category 0 share 1 -> 4, category 1
  // share 0 -> 1. Request 4 (after a click on 20): category 0 share 2/3 -> 4, category 1 1/3 -> 3.
  const ShadowSlateCounterfactual& s = report->experiments[0].slate;
  ASSERT_TRUE(s.estimated) << s.note;
  std::vector<LoggedSlate> logs;
  const std::vector<std::vector<uint8_t>> served_context = {{0, 0}, {4, 1}, {4, 1}, {4, 3}};
  const std::vector<std::vector<uint8_t>> shadow_context = {{0, 0}, {4, 4}, {4, 4}, {4, 4}};
  for (int r = 1; r <= 4; ++r) {
    logs.push_back({{10, 20}, {0.5, 0.25}, {static_cast<uint8_t>(r <= 2), static_cast<uint8_t>(r == 3)}, {10, 30},
                    served_context[static_cast<size_t>(r - 1)], shadow_context[static_cast<size_t>(r - 1)]});
  }
  SlateOpeOptions o;
  o.item_group = {{10, 0}, {20, 3}, {30, 6}};
  auto model = FitPositionBasedModel(logs, o);
  ASSERT_TRUE(model.ok());
  auto direct = EstimateSlateValue(logs, *model, o);
  ASSERT_TRUE(direct.ok());
  EXPECT_EQ(s.estimate.lists, 4);
  EXPECT_DOUBLE_EQ(s.estimate.logged.value, 0.75);
  EXPECT_DOUBLE_EQ(s.estimate.dr.value, direct->dr.value);
  EXPECT_DOUBLE_EQ(s.estimate.lift.value, direct->dr.value / 0.75 - 1);
  // Item 10 is shown at position 1 with propensity 0.5 on every list and is the shadow list's first
  // item: weight theta_1 / (0.5 theta_1) = 2; item 30 is never shown.
  EXPECT_DOUBLE_EQ(s.estimate.max_weight, 2.0);
  const std::string json = ShadowReportJson(*report);
  for (const char* key : {"\"estimator\"", "\"shadow_ctr\"", "\"logged_ctr\"", "\"lift\"", "\"supported_share\"", "\"examination\""}) {
    EXPECT_NE(json.find(key), std::string::npos) << key;
  }
  EXPECT_NE(ShadowReportMarkdown(*report).find("position-based doubly robust"), std::string::npos);

  // --to-ms style bound: only the first two requests (event times 1 and 2).
  ShadowReportOptions early;
  early.to_ms = 3;
  auto bounded = BuildShadowReport(*db, early);
  ASSERT_TRUE(bounded.ok());
  EXPECT_EQ(bounded->experiments[0].requests, 2);
  EXPECT_EQ(bounded->experiments[0].slate.estimate.lists, 2);
  // from_ms and an arm: the last two requests; the earlier ones still feed the users' history.
  ShadowReportOptions late;
  late.from_ms = 3;
  late.arm = "explore";
  auto tail = BuildShadowReport(*db, late);
  ASSERT_TRUE(tail.ok());
  EXPECT_EQ(tail->experiments[0].requests, 2);
  EXPECT_EQ(tail->experiments[0].slate.estimate.lists, 2);
  late.arm = "control";
  auto none = BuildShadowReport(*db, late);
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none->experiments[0].requests, 0);
  EXPECT_FALSE(none->experiments[0].slate.estimated);
}

}  // namespace
}  // namespace steward::shadow
