// The one request path (serving/pipeline.h) and the control loop (serving/rollout_driver.h).
#include <gtest/gtest.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "common/clock.h"
#include "common/config.h"
#include "serving/controller.h"
#include "serving/pipeline.h"
#include "safety/screen.h"
#include "serving/global_evidence.h"
#include "serving/rollout_driver.h"
#include "serving/user_id.h"
#include "storage/audit_log.h"
#include "storage/clickhouse.h"
#include "storage/database.h"
#include "storage/statement.h"

extern char** environ;

namespace steward::serving {
namespace {

std::string FreshPath(const std::string& name) {
  const std::string path = testing::TempDir() + "/" + name + "-" + std::to_string(getpid()) + ".db";
  for (const char* suffix : {"", "-wal", "-shm", ".anchor"}) std::filesystem::remove(path + suffix);
  return path;
}

experiment::ExperimentConfig Parse(const std::string& yaml) {
  auto node = ConfigNode::Parse(yaml, "test.yaml");
  EXPECT_TRUE(node.ok()) << node.status().ToString();
  auto config = experiment::ParseExperimentConfig(*node);
  EXPECT_TRUE(config.ok()) << config.status().ToString();
  return *config;
}

std::shared_ptr<const models::Catalog> TestCatalog(int n) {
  auto catalog = std::make_shared<models::Catalog>();
  catalog->num_categories = 3;
  for (int i = 0; i < n; ++i) catalog->items.push_back({1000 + i, i % 3, i % 3, 0.0, 0});
  return catalog;
}

// Serves the first k items the user has not clicked; counts what it learns.
class CountingRecommender final : public models::Recommender {
 public:
  explicit CountingRecommender(std::shared_ptr<const models::Catalog> catalog, std::string name)
      : catalog_(std::move(catalog)), name_(std::move(name)) {}
  std::string name() const override { return name_; }
  std::string version() const override { return name_ + "@1"; }
  models::Recommendation Recommend(const models::RecommendRequest& request) override {
    models::Recommendation rec;
    for (int32_t i = 0; i < static_cast<int32_t>(catalog_->items.size()) && static_cast<int>(rec.items.size()) < request.k; ++i) {
      if (std::find(request.history.begin(), request.history.end(), i) != request.history.end()) continue;
      if (Allowed(request, i)) rec.items.push_back({i, 1.0, 1.0});
    }
    return rec;
  }
  void Observe(const models::FeedbackSignal& s) override {
    ++observed;
    last_history_size = s.history.size();
  }
  void ObserveList(const models::ListFeedback& f) override {
    ++lists;
    clicks_in_lists += static_cast<int>(std::count(f.clicked.begin(), f.clicked.end(), 1));
  }
  std::atomic<int> observed{0}, lists{0}, clicks_in_lists{0};
  size_t last_history_size = 0;

 private:
  std::shared_ptr<const models::Catalog> catalog_;
  std::string name_;
};

// Blocks the item at catalog index 0.
class BlockFirst final : public models::CandidateFilter {
 public:
  std::string name() const override { return "block-first"; }
  bool Allow(const models::RecommendRequest&, int32_t item) const override { return item != 0; }
};

const char* kExperiment = R"(
name: exp
arms:
  - {name: control, model: counting, weight: 0.5}
  - {name: treatment, model: counting, weight: 0.5}
attributes: [country]
guardrails:
  - {metric: ctr, direction: decrease, threshold: 0.5}
evaluation: {interval: 1h, min_users_per_arm: 1}
)";

// A pipeline serving `experiment` from the database at `path` with CountingRecommender arms, its
// completed lists counted by `driver` (the control loop's wiring in a service).
std::unique_ptr<ServingPipeline> DriverPipeline(const std::string& path, const std::string& experiment,
                                                std::shared_ptr<const models::Catalog> catalog, RolloutDriver* driver) {
  PipelineSetup setup;
  setup.db_path = path;
  setup.experiments = {experiment};
  setup.catalog = catalog;
  setup.factory = [catalog](const experiment::ExperimentConfig&, int, const std::string&) -> StatusOr<std::unique_ptr<models::Recommender>> {
    return std::unique_ptr<models::Recommender>(std::make_unique<CountingRecommender>(catalog, "c"));
  };
  setup.on_list_complete = [driver](const CompletedList& l) { driver->Record(l.arm_index, l.user, l.outcome, l.ts_ms); };
  return ServingPipeline::Create(std::move(setup)).value();
}

// Creates kExperiment in a fresh database at `path` and starts it (ramping, no shadow phase).
void CreateAndStart(const std::string& path) {
  auto db = storage::Database::Open(path).value();
  ManualClock clock(0);
  RolloutController c(*db, clock);
  ASSERT_TRUE(c.Create(Parse(kExperiment), "alice").ok());
  ASSERT_TRUE(c.Start("exp", "alice", "go").ok());
}

class PipelineTest : public testing::Test {
 protected:
  void SetUp() override {
    path_ = FreshPath("pipeline");
    catalog_ = TestCatalog(50);
    auto db = storage::Database::Open(path_);
    ASSERT_TRUE(db.ok());
    ManualClock clock(1000);
    RolloutController controller(**db, clock);
    ASSERT_TRUE(controller.Create(Parse(kExperiment), "alice").ok());
    ASSERT_TRUE(controller.Start("exp", "alice", "go").ok());
  }

  std::unique_ptr<ServingPipeline> Make(PipelineOptions options = {}, bool block = false,
                                        std::shared_ptr<safety::SafetyScreen> screen = nullptr) {
    PipelineSetup setup;
    setup.db_path = path_;
    setup.experiments = {"exp"};
    setup.catalog = catalog_;
    setup.screen = std::move(screen);
    if (block) setup.filters.push_back(std::make_shared<BlockFirst>());
    setup.factory = [this](const experiment::ExperimentConfig&, int arm, const std::string&) -> StatusOr<std::unique_ptr<models::Recommender>> {
      auto m = std::make_unique<CountingRecommender>(catalog_, "counting-" + std::to_string(arm));
      models_.push_back(m.get());
      return std::unique_ptr<models::Recommender>(std::move(m));
    };
    setup.on_list_complete = [this](const CompletedList& l) {
      std::lock_guard lock(mu_);
      completed_.push_back(l);
    };
    auto p = ServingPipeline::Create(std::move(setup), options);
    EXPECT_TRUE(p.ok()) << p.status().ToString();
    return std::move(p).value();
  }

  ServeRequest Request(const std::string& user, int64_t ts = 5000) {
    ServeRequest r;
    r.user_id = user;
    r.ts_ms = ts;
    r.k = 5;
    r.attributes = {{"country", "FR"}, {"undeclared", "x"}};
    return r;
  }

  std::string path_;
  std::shared_ptr<const models::Catalog> catalog_;
  std::vector<CountingRecommender*> models_;
  std::mutex mu_;
  std::vector<CompletedList> completed_;
};

TEST(UserId, CanonicalNumbersMapToThemselvesEverythingElseToNegativeHashes) {
  EXPECT_EQ(InternalUserId("0"), 0);
  EXPECT_EQ(InternalUserId("42"), 42);
  EXPECT_EQ(InternalUserId("9223372036854775807"), INT64_MAX);
  // Not canonical: hashed, with the sign bit set, so they never collide with numeric ids.
  for (const char* s : {"042", "+1", "-1", " 1", "9223372036854775808", "user-7", "1e3"}) {
    EXPECT_LT(InternalUserId(s), 0) << s;
  }
  EXPECT_NE(InternalUserId("042"), InternalUserId("42"));
  EXPECT_EQ(InternalUserId("user-7"), InternalUserId("user-7"));  // stable
  EXPECT_TRUE(ValidateUserId("héllo").ok());
  EXPECT_EQ(ValidateUserId("").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ValidateUserId(std::string("a\x01")).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ValidateUserId(std::string("\xff")).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ValidateUserId(std::string("\xc3")).code(), StatusCode::kInvalidArgument);  // truncated sequence
  EXPECT_EQ(ValidateUserId(std::string(300, 'a')).code(), StatusCode::kInvalidArgument);
}

TEST_F(PipelineTest, ServesAndLogsOneExposureWithTheCallersIdAndDeclaredAttributes) {
  auto p = Make({}, /*block=*/true);
  auto r = p->Serve(Request("user-7"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->items.size(), 5u);
  for (const auto& item : r->items) EXPECT_NE(item.index, 0);  // the safety screen's filter reached the model
  EXPECT_EQ(r->user, InternalUserId("user-7"));
  ASSERT_TRUE(p->Close().ok());
  auto db = storage::Database::Open(path_).value();
  auto st = db->Prepare("SELECT user_id, user_key, attributes, arm, model_version FROM exposures").value();
  ASSERT_TRUE(st->Step().value());
  EXPECT_EQ(st->ColumnInt(0), InternalUserId("user-7"));
  EXPECT_EQ(st->ColumnText(1), "user-7");
  EXPECT_EQ(nlohmann::json::parse(st->ColumnText(2)), (nlohmann::json{{"country", "FR"}}));  // undeclared dropped
  EXPECT_EQ(st->ColumnText(3), r->arm);
  EXPECT_EQ(st->ColumnText(4), r->model_version);
  EXPECT_FALSE(st->Step().value());
}

// The safety screen on the request path (safety/screen.h): the policy's rules and the risk scorer
// act before ranking, risky items are demoted, the cap counts what was served, and each list's
// record (risk per position, decisions with their rule) is stored with the exposure.
TEST_F(PipelineTest, SafetyScreenBlocksDemotesCapsAndRecordsEachDecision) {
  safety::SafetyPolicy policy;
  policy.reason = "test";
  policy.blocklist = {1001};                                  // index 1
  policy.restrictions.push_back({"country", "FR", {2}});      // category 2 (indices 2, 5, 8...) for FR
  policy.max_impressions_per_user_item = 1;                   // each item once per user per day
  std::vector<double> risk(50, 0.01);
  risk[3] = 0.9;   // blocked by risk
  risk[4] = 0.3;   // demoted
  auto screen = safety::SafetyScreen::Create(policy, catalog_, risk, "risk-test", {});
  ASSERT_TRUE(screen.ok()) << screen.status().ToString();
  auto p = Make({}, false, *screen);
  auto first = p->Serve(Request("user-7"));
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  // Allowed in index order: 0, 4 (demoted), 6, 7, 9 -> served 0, 6, 7, 9, then 4.
  std::vector<int32_t> served;
  for (const auto& item : first->items) served.push_back(item.index);
  EXPECT_EQ(served, (std::vector<int32_t>{0, 6, 7, 9, 4}));
  EXPECT_EQ(first->safety_demoted, 1);
  EXPECT_EQ(first->safety_blocked, 5);  // 1 blocklist; 2, 5 and 8 restricted; 3 risk
  // The same user again the same day: the cap keeps every item of the first list out.
  auto second = p->Serve(Request("user-7", 6000));
  ASSERT_TRUE(second.ok());
  for (const auto& item : second->items) {
    EXPECT_EQ(std::count(served.begin(), served.end(), item.index), 0) << item.index;
  }
  // Another segment: category 2 is allowed.
  ServeRequest us = Request("user-8");
  us.attributes = {{"country", "US"}};
  auto third = p->Serve(us);
  ASSERT_TRUE(third.ok());
  EXPECT_EQ(third->items[1].index, 2);
  ASSERT_TRUE(p->Close().ok());
  EXPECT_EQ(p->stats().safety_demoted, 2u);  // item 4 in the first and the third list
  auto db = storage::Database::Open(path_).value();
  auto st = db->Prepare("SELECT safety FROM exposures ORDER BY request_id").value();
  ASSERT_TRUE(st->Step().value());
  const auto record = nlohmann::json::parse(st->ColumnText(0));
  EXPECT_EQ(record["scorer"], "risk-test");
  EXPECT_EQ(record["risk"].size(), 5u);
  EXPECT_DOUBLE_EQ(record["risk"][4].get<double>(), 0.3);
  std::map<std::string, int> rules;
  for (const auto& d : record["decisions"]) ++rules[d[2].get<std::string>()];
  EXPECT_EQ(rules, (std::map<std::string, int>{{"blocklist", 1}, {"restricted_category", 3}, {"risk", 1}, {"risk_demote", 1}}));
  ASSERT_TRUE(st->Step().value());
  EXPECT_NE(st->ColumnText(0).find("frequency_cap"), std::string::npos);
}

TEST_F(PipelineTest, BadRequestsAreClearErrors) {
  auto p = Make();
  ServeRequest bad = Request("");
  EXPECT_EQ(p->Serve(bad).status().code(), StatusCode::kInvalidArgument);
  bad = Request("u");
  bad.k = 0;
  auto r = p->Serve(bad);
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("k must be"), std::string::npos);
  bad = Request("u");
  bad.experiment = "nope";
  EXPECT_EQ(p->Serve(bad).status().code(), StatusCode::kNotFound);
}

TEST_F(PipelineTest, FeedbackJoinsItsListValidatesItAndFeedsTheModelOncePerList) {
  auto p = Make();
  auto r = p->Serve(Request("u1"));
  ASSERT_TRUE(r.ok());
  const int64_t id = r->request_id;
  const auto& items = r->items;
  EXPECT_EQ(p->RecordFeedback({id, 6000, items[1].item_id, 2, storage::FeedbackKind::kClick, 1}).code(), StatusCode::kOk);
  // Never trust a client: the wrong item, a position outside the list, a repeat, an unknown list.
  EXPECT_EQ(p->RecordFeedback({id, 6000, items[2].item_id, 2, storage::FeedbackKind::kClick, 1}).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(p->RecordFeedback({id, 6000, items[0].item_id, 9, storage::FeedbackKind::kClick, 1}).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(p->RecordFeedback({id, 6000, items[1].item_id, 2, storage::FeedbackKind::kClick, 1}).code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(p->RecordFeedback({id + 999, 6000, items[1].item_id, 2, storage::FeedbackKind::kClick, 1}).code(), StatusCode::kNotFound);
  EXPECT_TRUE(p->RecordFeedback({id, 7000, items[1].item_id, 2, storage::FeedbackKind::kConversion, 1}).ok());
  CountingRecommender* served = models_[static_cast<size_t>(r->in_experiment ? r->arm_index : 0)];
  EXPECT_EQ(served->observed.load(), 1);
  EXPECT_EQ(served->lists.load(), 0);
  ASSERT_TRUE(p->CompleteList(id).ok());
  ASSERT_TRUE(p->CompleteList(id).ok());  // twice: once only
  EXPECT_EQ(served->lists.load(), 1);
  EXPECT_EQ(served->clicks_in_lists.load(), 1);
  ASSERT_EQ(completed_.size(), 1u);
  EXPECT_EQ(completed_[0].outcome.clicks, 1.0);
  EXPECT_EQ(completed_[0].outcome.conversions, 1.0);
  // The clicked item is in the user's history now: the next list leaves it out.
  auto again = p->Serve(Request("u1", 8000));
  for (const auto& item : again->items) EXPECT_NE(item.item_id, items[1].item_id);
  const PipelineStats s = p->stats();
  EXPECT_EQ(s.feedback, 2u);
  EXPECT_EQ(s.feedback_rejected, 4u);
  ASSERT_TRUE(p->Close().ok());
  auto db = storage::Database::Open(path_).value();
  auto st = db->Prepare("SELECT COUNT(*), SUM(user_id = " + std::to_string(InternalUserId("u1")) + ") FROM feedback").value();
  ASSERT_TRUE(st->Step().value());
  EXPECT_EQ(st->ColumnInt(0), 2);  // rejected feedback is not logged
  EXPECT_EQ(st->ColumnInt(1), 2);
}

TEST_F(PipelineTest, ListsLeaveTheWindowCompletedAndLaterFeedbackJoinsTheStoredExposure) {
  PipelineOptions o;
  o.join_window_lists = 64;  // one list per shard
  auto p = Make(o);
  std::vector<ServeResponse> served;
  for (int i = 0; i < 400; ++i) served.push_back(*p->Serve(Request("u" + std::to_string(i))));
  // Most lists were evicted and completed without explicit calls.
  EXPECT_GT(completed_.size(), 200u);
  // Feedback for the first list: out of memory, joined to the stored exposure.
  const ServeResponse& first = served[0];
  ASSERT_TRUE(p->RecordFeedback({first.request_id, 9000, first.items[0].item_id, 1, storage::FeedbackKind::kClick, 1}).ok());
  EXPECT_EQ(p->stats().feedback_from_store, 1u);
  EXPECT_EQ(p->RecordFeedback({first.request_id, 9000, first.items[1].item_id, 1, storage::FeedbackKind::kClick, 1}).code(),
            StatusCode::kInvalidArgument);
  // Event time moves past the window: every open list completes.
  ASSERT_TRUE(p->AdvanceTo(5000 + 31 * 60 * 1000).ok());
  EXPECT_EQ(completed_.size(), 400u);
}

TEST_F(PipelineTest, RequestIdsAreUniqueAcrossPipelinesAndThreadsOnOneDatabase) {
  PipelineOptions o;
  o.request_id_block = 16;
  auto a = Make(o);
  auto b = Make(o);
  std::vector<std::vector<int64_t>> ids(4);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      ServingPipeline& p = t % 2 ? *a : *b;
      for (int i = 0; i < 500; ++i) ids[static_cast<size_t>(t)].push_back(p.Serve(Request("t" + std::to_string(t) + "-" + std::to_string(i)))->request_id);
    });
  }
  for (auto& t : threads) t.join();
  std::set<int64_t> unique;
  for (const auto& v : ids) unique.insert(v.begin(), v.end());
  EXPECT_EQ(unique.size(), 2000u);
  ASSERT_TRUE(a->Close().ok());
  ASSERT_TRUE(b->Close().ok());
  auto db = storage::Database::Open(path_).value();
  auto st = db->Prepare("SELECT COUNT(*) FROM exposures").value();
  ASSERT_TRUE(st->Step().value());
  EXPECT_EQ(st->ColumnInt(0), 2000);  // nothing refused as a duplicate
}

TEST_F(PipelineTest, KillSwitchFromAnotherConnectionReachesServingWithoutRefresh) {
  PipelineOptions o;
  o.control_poll_ms = 20;
  auto p = Make(o);
  int in = 0;
  for (int i = 0; i < 200; ++i) in += p->Assign("u" + std::to_string(i))->in_experiment ? 1 : 0;
  EXPECT_EQ(in, 200);
  {
    auto db = storage::Database::Open(path_).value();
    ManualClock clock(2000);
    ASSERT_TRUE(RolloutController(*db, clock).SetKillSwitch(true, "oncall", "incident").ok());
  }
  const auto start = std::chrono::steady_clock::now();
  while (p->Assign("u1")->in_experiment && std::chrono::steady_clock::now() - start < std::chrono::seconds(5)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(1));
  for (int i = 0; i < 200; ++i) EXPECT_FALSE(p->Serve(Request("u" + std::to_string(i)))->in_experiment);
}

// A rollback issued by another process (the steward CLI) reaches a running serving loop in under
// a second. The measured delay is printed (docs/serving.md quotes it).
TEST_F(PipelineTest, RollbackFromAnotherProcessTakesEffectWithinOneSecond) {
  auto p = Make();  // default watcher interval (100 ms)
  // A user in the treatment arm.
  std::string user;
  for (int i = 0; user.empty(); ++i) {
    auto a = p->Assign("u" + std::to_string(i));
    if (a->in_experiment && a->arm == "treatment") user = "u" + std::to_string(i);
  }
  std::atomic<bool> stop{false};
  std::atomic<int64_t> first_control_ns{0};
  std::thread server([&] {
    for (int64_t ts = 6000; !stop.load(); ++ts) {
      auto r = p->Serve(Request(user, ts));
      ASSERT_TRUE(r.ok());
      if (!r->in_experiment && first_control_ns.load() == 0) {
        first_control_ns = std::chrono::steady_clock::now().time_since_epoch().count();
      }
      ASSERT_TRUE(p->CompleteList(r->request_id).ok());
    }
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  ASSERT_EQ(first_control_ns.load(), 0);
  const std::string db = path_;
  std::vector<std::string> args = {STEWARD_BINARY, "experiment", "rollback", "--db", db, "--name", "exp",
                                   "--actor", "oncall", "--reason", "bad treatment"};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid;
  ASSERT_EQ(posix_spawn(&pid, STEWARD_BINARY, nullptr, nullptr, argv.data(), environ), 0);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  const int64_t committed_ns = std::chrono::steady_clock::now().time_since_epoch().count();  // the CLI has exited
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  while (first_control_ns.load() == 0 && std::chrono::steady_clock::now().time_since_epoch().count() - committed_ns < 5'000'000'000LL) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  stop = true;
  server.join();
  ASSERT_GT(first_control_ns.load(), 0) << "the rollback never reached serving";
  const double delay_ms = static_cast<double>(std::max<int64_t>(0, first_control_ns.load() - committed_ns)) / 1e6;
  std::printf("rollback from another process reached serving after %.1f ms\n", delay_ms);
  EXPECT_LT(delay_ms, 1000.0);
}

const char* kShadowed = R"(
name: shadowed
arms:
  - {name: control, model: counting, weight: 0.5}
  - {name: treatment, model: counting, weight: 0.5}
shadow: {model: counting, min_duration: 2h, min_requests: 30}
ramp:
  - {coverage: 0.5}
  - {coverage: 1.0, approval: rai-reviewer}
evaluation: {interval: 1h, min_users_per_arm: 1, failure_limit: 100}
)";

TEST(RolloutDriver, ShadowEndsByConfigurationAndApprovalIsATypedWait) {
  const std::string path = FreshPath("driver");
  auto catalog = TestCatalog(30);
  {
    auto db = storage::Database::Open(path).value();
    ManualClock clock(0);
    ASSERT_TRUE(RolloutController(*db, clock).Create(Parse(kShadowed), "alice").ok());
  }
  constexpr int64_t kHour = 3'600'000;
  ServingPipeline* pipeline = nullptr;
  DriverOptions options;
  options.after_change = [&] { return pipeline ? pipeline->Refresh() : Status::Ok(); };
  auto driver = RolloutDriver::Open(path, "shadowed", 0, options).value();
  ASSERT_TRUE(driver->Start("alice", "go", 0).ok());
  EXPECT_EQ(driver->state().state, experiment::RolloutState::kShadow);
  auto p = DriverPipeline(path, "shadowed", catalog, driver.get());
  pipeline = p.get();
  auto serve = [&](int64_t ts, int n) {
    for (int i = 0; i < n; ++i) {
      auto r = p->Serve({"u" + std::to_string(i), ts, 5, "", {}, -1, false, 0.0});
      ASSERT_TRUE(r.ok());
      ASSERT_TRUE(p->CompleteList(r->request_id).ok());
    }
  };
  serve(10, 20);
  ASSERT_TRUE(driver->Tick(kHour).ok());  // 1 h, 20 requests: not yet
  EXPECT_EQ(driver->state().state, experiment::RolloutState::kShadow);
  EXPECT_EQ(driver->state().shadow_requests, 20);
  ASSERT_TRUE(driver->Tick(2 * kHour).ok());  // 2 h but only 20 requests: not yet
  EXPECT_EQ(driver->state().state, experiment::RolloutState::kShadow);
  serve(2 * kHour + 1, 20);
  auto events = driver->Tick(3 * kHour).value();  // 3 h, 40 requests: the ramp starts
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].kind, DriverEvent::Kind::kShadowEnded);
  EXPECT_EQ(driver->state().state, experiment::RolloutState::kRamping);
  EXPECT_EQ(p->Assign("u1")->coverage, 0.5);  // after_change refreshed the pipeline
  // The next step waits for the reviewer: a typed wait, not a reason string.
  serve(3 * kHour + 1, 40);
  ASSERT_TRUE(driver->Tick(4 * kHour).ok());
  ASSERT_TRUE(driver->state().waiting_for_role.has_value());
  EXPECT_EQ(*driver->state().waiting_for_role, "rai-reviewer");
  // A person approves from another connection; the next analysis advances.
  {
    auto db = storage::Database::Open(path).value();
    ManualClock clock(4 * kHour + 10);
    ASSERT_TRUE(RolloutController(*db, clock).Approve("shadowed", "rai-reviewer", "rita", "parity ok").ok());
  }
  serve(4 * kHour + 20, 40);
  ASSERT_TRUE(driver->Tick(5 * kHour).ok());
  EXPECT_EQ(driver->state().state, experiment::RolloutState::kRamping);
  EXPECT_EQ(driver->state().step, 1);
  EXPECT_FALSE(driver->state().waiting_for_role.has_value());
  EXPECT_EQ(p->Assign("u1")->coverage, 1.0);
  serve(5 * kHour + 20, 40);
  ASSERT_TRUE(driver->Tick(6 * kHour).ok());
  EXPECT_EQ(driver->state().state, experiment::RolloutState::kCompleted);
  ASSERT_TRUE(p->Close().ok());
}

TEST(RolloutDriver, ReopenedDriverRebuildsTheSameEvidenceFromStoredEvents) {
  const std::string path = FreshPath("rebuild");
  auto catalog = TestCatalog(30);
  CreateAndStart(path);
  auto live = RolloutDriver::Open(path, "exp", 0).value();
  auto p = DriverPipeline(path, "exp", catalog, live.get());
  for (int i = 0; i < 300; ++i) {
    auto r = p->Serve({"u" + std::to_string(i % 97), 1000 + i, 5, "", {}, -1, false, 0.0}).value();
    if (i % 3 == 0) {
      ASSERT_TRUE(p->RecordFeedback({r.request_id, 1001 + i, r.items[i % 5].item_id, i % 5 + 1, storage::FeedbackKind::kClick, 1}).ok());
    }
    if (i % 6 == 0) {
      ASSERT_TRUE(p->RecordFeedback({r.request_id, 1002 + i, r.items[i % 5].item_id, i % 5 + 1, storage::FeedbackKind::kConversion, 1}).ok());
    }
    ASSERT_TRUE(p->CompleteList(r.request_id).ok());
  }
  ASSERT_TRUE(p->Close().ok());
  auto reopened = RolloutDriver::Open(path, "exp", 0).value();
  EXPECT_EQ(reopened->rebuilt_lists(), 300);
  for (int a = 0; a < 2; ++a) {
    EXPECT_EQ(reopened->metrics().Users(a), live->metrics().Users(a));
    EXPECT_EQ(reopened->metrics().Exposures(a), live->metrics().Exposures(a));
    for (experiment::Metric m : {experiment::Metric::kCtr, experiment::Metric::kConversionRate, experiment::Metric::kLatencyMs}) {
      const auto& x = reopened->metrics().Sums(a, m);
      const auto& y = live->metrics().Sums(a, m);
      // Same lists in the same order: the same sums to the last bit.
      EXPECT_EQ(x.n, y.n);
      EXPECT_EQ(x.sx, y.sx);
      EXPECT_EQ(x.sy, y.sy);
      EXPECT_EQ(x.sxx, y.sxx);
      EXPECT_EQ(x.sxy, y.sxy);
    }
  }
}

// Scale-out (issue #14): the guardrail evidence aggregated by SQL (what ClickHouse computes over
// every replica's events; here the same query on SQLite) turned into ExperimentMetrics equals the
// metrics the live process counted list by list (the hand computation: ExperimentMetrics::Record).
TEST(RolloutDriver, EvidenceFromSqlAggregatesEqualsTheLiveMetrics) {
  const std::string path = FreshPath("aggregates");
  auto catalog = TestCatalog(30);
  CreateAndStart(path);
  auto live = RolloutDriver::Open(path, "exp", 0).value();
  auto p = DriverPipeline(path, "exp", catalog, live.get());
  for (int i = 0; i < 400; ++i) {
    auto r = p->Serve({"u" + std::to_string(i % 61), 1000 + i, 5, "", {}, -1, false, 0.0}).value();
    if (i % 3 == 0) {
      ASSERT_TRUE(p->RecordFeedback({r.request_id, 1001 + i, r.items[i % 5].item_id, i % 5 + 1, storage::FeedbackKind::kClick, 1}).ok());
    }
    if (i % 4 == 0 && i % 5 != 1) {  // a second click in the list (not on the first one's position)
      ASSERT_TRUE(p->RecordFeedback({r.request_id, 1001 + i, r.items[1].item_id, 2, storage::FeedbackKind::kClick, 1}).ok());
    }
    if (i % 7 == 0) {
      ASSERT_TRUE(p->RecordFeedback({r.request_id, 1002 + i, r.items[0].item_id, 1, storage::FeedbackKind::kConversion, 1}).ok());
    }
    ASSERT_TRUE(p->CompleteList(r.request_id).ok());
  }
  ASSERT_TRUE(p->Close().ok());
  auto db = storage::Database::Open(path).value();
  auto aggregates = storage::GuardrailAggregatesSqlite(*db, "exp", 0, INT64_MAX);
  ASSERT_TRUE(aggregates.ok()) << aggregates.status().ToString();
  const experiment::ExperimentMetrics global = MetricsFromAggregates(live->config(), *aggregates);
  for (int a = 0; a < 2; ++a) {
    EXPECT_GT(live->metrics().Exposures(a), 0);
    EXPECT_EQ(global.Users(a), live->metrics().Users(a));
    EXPECT_EQ(global.Exposures(a), live->metrics().Exposures(a));
    for (experiment::Metric m : {experiment::Metric::kCtr, experiment::Metric::kConversionRate, experiment::Metric::kLatencyMs,
                                 experiment::Metric::kErrorRate}) {
      const auto& g = global.Sums(a, m);
      const auto& l = live->metrics().Sums(a, m);
      EXPECT_EQ(g.n, l.n);
      EXPECT_EQ(g.sy, l.sy);
      EXPECT_EQ(g.syy, l.syy);
      // Counts are exact; latency differs only by the order of floating-point additions.
      const double tol = m == experiment::Metric::kLatencyMs ? 1e-9 * (1 + std::abs(l.sxx)) : 0.0;
      EXPECT_NEAR(g.sx, l.sx, tol) << experiment::MetricName(m);
      EXPECT_NEAR(g.sxx, l.sxx, tol) << experiment::MetricName(m);
      EXPECT_NEAR(g.sxy, l.sxy, tol) << experiment::MetricName(m);
    }
  }
}

// Two drivers of one experiment (two replicas): only the lease holder analyses; the other takes
// over once the holder stops renewing.
TEST(RolloutDriver, OnlyTheLeaseHolderDrivesTheRollout) {
  const std::string path = FreshPath("lease");
  CreateAndStart(path);
  DriverOptions a_options, b_options;
  a_options.lease_holder = "replica-a";
  b_options.lease_holder = "replica-b";
  a_options.lease_ms = b_options.lease_ms = 300;
  auto a = RolloutDriver::Open(path, "exp", 0, a_options).value();
  auto b = RolloutDriver::Open(path, "exp", 0, b_options).value();
  const int64_t hour = 3600 * 1000;
  auto a_events = a->Tick(hour).value();
  EXPECT_TRUE(a->driving());
  EXPECT_EQ(a_events.size(), 1u);  // one analysis due
  auto b_events = b->Tick(hour).value();
  EXPECT_FALSE(b->driving());
  EXPECT_TRUE(b_events.empty());
  // a stops renewing (a killed replica); after the lease time b takes over at its next analysis.
  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  b_events = b->Tick(2 * hour).value();
  EXPECT_TRUE(b->driving());
  EXPECT_EQ(b_events.size(), 1u);
  EXPECT_TRUE(a->Tick(3 * hour).value().empty());
  EXPECT_FALSE(a->driving());
}

}  // namespace
}  // namespace steward::serving
