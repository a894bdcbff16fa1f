// The HTTP API's request handler, called directly (no sockets): routes, tokens and roles, input
// validation, events, experiment actions, audit paging and the Prometheus exposition.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <filesystem>
#include <map>
#include <set>
#include <sstream>
#include <thread>
#include <nlohmann/json.hpp>

#include "common/clock.h"
#include "server/metrics.h"
#include "server/routes.h"
#include "server/service.h"
#include "storage/audit_log.h"
#include "storage/database.h"
#include "storage/queries.h"
#include "storage/statement.h"
#include "storage/token_store.h"

namespace steward::server {
namespace {

using nlohmann::json;

std::string FreshPath(const std::string& name) {
  const std::string path = testing::TempDir() + "/" + name + "-" + std::to_string(getpid()) + ".db";
  for (const char* suffix : {"", "-wal", "-shm", ".anchor"}) std::filesystem::remove(path + suffix);
  return path;
}

constexpr const char* kExperiment = R"(
name: checkout-recs
arms:
  - {name: control, weight: 0.5, model: first}
  - {name: treatment, weight: 0.5, model: second}
coverage: 1.0
attributes: [country]
ramp:
  - {coverage: 0.5, min_duration: 1h}
  - {coverage: 1.0, min_duration: 1h, approval: rai-reviewer}
guardrails:
  - {metric: ctr, direction: decrease, threshold: 0.2}
)";

// Serves the first k catalog items (item ids 1000, 1001, ...).
class FirstItems final : public models::Recommender {
 public:
  FirstItems(std::shared_ptr<const models::Catalog> catalog, std::string name) : catalog_(std::move(catalog)), name_(std::move(name)) {}
  std::string name() const override { return name_; }
  std::string version() const override { return name_ + "@1"; }
  models::Recommendation Recommend(const models::RecommendRequest& request) override {
    models::Recommendation rec;
    for (int32_t i = 0; i < static_cast<int32_t>(catalog_->items.size()) && static_cast<int>(rec.items.size()) < request.k; ++i) {
      rec.items.push_back({i, 1.0 - 0.01 * i, 1.0});
    }
    return rec;
  }
  void Observe(const models::FeedbackSignal&) override {}
  void ObserveList(const models::ListFeedback&) override {}

 private:
  std::shared_ptr<const models::Catalog> catalog_;
  std::string name_;
};

struct Fixture {
  std::string db;
  ManualClock clock{1'700'000'000'000};
  std::unique_ptr<Service> service;
  std::map<std::string, std::string> tokens;  // role -> token

  explicit Fixture(const std::string& name, size_t writer_queue = 1024, size_t max_lines = 100) {
    db = FreshPath(name);
    auto opened = storage::Database::Open(db);
    EXPECT_TRUE(opened.ok());
    for (const char* role : {"service", "owner", "reviewer", "oncall", "admin"}) {
      auto token = storage::TokenStore(**opened).Create(std::string(role) + "-token", *storage::ParseRole(role), "test", clock.NowMillis());
      EXPECT_TRUE(token.ok()) << token.status().ToString();
      tokens[role] = *token;
    }
    {
      // The catalog snapshot the serving process saves (steward serve does; audits read it).
      std::vector<storage::CatalogRow> rows;
      for (int i = 0; i < 50; ++i) rows.push_back({1000 + i, i % 2, i % 3, static_cast<double>(50 - i)});
      EXPECT_TRUE(storage::SaveCatalog(**opened, rows).ok());
    }
    ServiceOptions options;
    options.db_path = db;
    options.clock = &clock;
    options.control_tick_ms = 0;
    options.max_event_lines = max_lines;
    options.pipeline_options.writer_queue = writer_queue;
    options.pipeline_options.control_poll_ms = 0;
    options.model_names = {"first", "second"};
    options.pipeline_setup = [](const std::vector<std::string>& experiments) -> StatusOr<serving::PipelineSetup> {
      auto catalog = std::make_shared<models::Catalog>();
      catalog->num_categories = 2;
      for (int i = 0; i < 50; ++i) catalog->items.push_back({1000 + i, i % 2, i % 2, 0.0, 0});
      serving::PipelineSetup setup;
      setup.catalog = catalog;
      setup.factory = [catalog](const experiment::ExperimentConfig&, int, const std::string& model) -> StatusOr<std::unique_ptr<models::Recommender>> {
        return std::unique_ptr<models::Recommender>(std::make_unique<FirstItems>(catalog, model));
      };
      if (experiments.empty()) setup.default_model = std::make_unique<FirstItems>(catalog, "default");
      return setup;
    };
    auto created = Service::Create(std::move(options));
    EXPECT_TRUE(created.ok()) << created.status().ToString();
    service = std::move(created).value();
  }

  HttpResponse Call(const std::string& method, const std::string& target, const std::string& role, const std::string& body = "") {
    HttpRequest r;
    r.method = method;
    r.target = target;
    if (!role.empty()) r.authorization = "Bearer " + tokens[role];
    r.body = body;
    return service->Handle(r);
  }
  json Json(const HttpResponse& r) { return json::parse(r.body); }
  int64_t Count(const std::string& sql) {
    auto opened = storage::Database::Open(db);
    auto st = (*opened)->Prepare(sql);
    EXPECT_TRUE(st.ok());
    auto row = (*st)->Step();
    return row.ok() && *row ? (*st)->ColumnInt(0) : -1;
  }
};

TEST(Routes, MatchPatternsMethodsAndPermissions) {
  EXPECT_EQ(MatchRoute("GET", "/healthz").endpoint, Endpoint::kHealthz);
  EXPECT_EQ(MatchRoute("POST", "/v1/recommend").permission, Permission::kServe);
  EXPECT_EQ(MatchRoute("GET", "/v1/recommend").endpoint, Endpoint::kMethodNotAllowed);
  EXPECT_EQ(MatchRoute("GET", "/v1/recommend").allow, "POST");
  const Route rollback = MatchRoute("POST", "/v1/experiments/a-b/rollback");
  EXPECT_EQ(rollback.endpoint, Endpoint::kExperimentAction);
  EXPECT_EQ(rollback.permission, Permission::kOperate);
  EXPECT_EQ(rollback.name, "a-b");
  EXPECT_EQ(rollback.pattern, "/v1/experiments/{name}/rollback");
  EXPECT_EQ(MatchRoute("POST", "/v1/experiments/a/approve").permission, Permission::kReview);
  EXPECT_EQ(MatchRoute("POST", "/v1/experiments/a/start").permission, Permission::kOwn);
  EXPECT_EQ(MatchRoute("POST", "/v1/experiments/a/explode").endpoint, Endpoint::kNotFound);
  EXPECT_EQ(MatchRoute("GET", "/v1/experiments/a").endpoint, Endpoint::kExperiment);
  EXPECT_EQ(MatchRoute("POST", "/v1/experiments").permission, Permission::kOwn);
  // Unknown paths share one metric label, so a client cannot mint series.
  EXPECT_EQ(MatchRoute("GET", "/random/path/1").pattern, MatchRoute("GET", "/random/path/2").pattern);
}

TEST(Service, HealthzNeedsNoTokenEverythingElseDoes) {
  Fixture f("svc-auth");
  EXPECT_EQ(f.Call("GET", "/healthz", "").status, 200);
  HttpResponse denied = f.Call("GET", "/v1/experiments", "");
  EXPECT_EQ(denied.status, 401);
  EXPECT_EQ(f.Json(denied)["error"]["code"], "unauthorized");
  HttpRequest bad;
  bad.method = "GET";
  bad.target = "/metrics";
  bad.authorization = "Bearer stw_0000000000000000_" + std::string(64, 'a');
  EXPECT_EQ(f.service->Handle(bad).status, 401);
  // A real token id with the wrong secret is refused too.
  bad.authorization = "Bearer " + f.tokens["admin"].substr(0, f.tokens["admin"].size() - 1) + "0";
  if (bad.authorization == "Bearer " + f.tokens["admin"]) bad.authorization.back() = '1';
  EXPECT_EQ(f.service->Handle(bad).status, 401);
  EXPECT_EQ(f.Call("GET", "/readyz", "service").status, 200);
}

TEST(Service, RoleMatrixAndDenialsAreAuditedWithoutTokenMaterial) {
  Fixture f("svc-roles");
  ASSERT_EQ(f.Call("POST", "/v1/experiments", "owner", kExperiment).status, 201);
  struct Case {
    std::string method, target, body;
    std::set<std::string> allowed;
  };
  const std::vector<Case> cases = {
      {"POST", "/v1/recommend", R"({"user_id":"u1"})", {"service", "admin"}},
      {"POST", "/v1/assign", R"({"experiment":"checkout-recs","user_id":"u1"})", {"service", "admin"}},
      {"POST", "/v1/events", "", {"service", "admin"}},
      {"POST", "/v1/experiments/checkout-recs/promote", R"({"reason":"r"})", {"owner", "admin"}},
      {"POST", "/v1/experiments/checkout-recs/approve", R"({"role":"rai-reviewer"})", {"reviewer", "admin"}},
      {"POST", "/v1/kill-switch", R"({"on":false,"reason":"r"})", {"oncall", "admin"}},
      {"GET", "/v1/experiments", "", {"service", "owner", "reviewer", "oncall", "admin"}},
      {"GET", "/metrics", "", {"service", "owner", "reviewer", "oncall", "admin"}},
  };
  int denied = 0;
  for (const Case& c : cases) {
    for (const char* role : {"service", "owner", "reviewer", "oncall", "admin"}) {
      const int status = f.Call(c.method, c.target, role, c.body).status;
      denied += c.allowed.count(role) ? 0 : 1;
      if (c.allowed.count(role)) {
        EXPECT_NE(status, 403) << role << " " << c.target;
        EXPECT_NE(status, 401) << role << " " << c.target;
      } else {
        EXPECT_EQ(status, 403) << role << " " << c.target;
      }
    }
  }
  auto db = storage::Database::Open(f.db);
  auto rows = storage::AuditLog(**db).ForSubject("/v1/recommend");
  ASSERT_TRUE(rows.ok());
  ASSERT_FALSE(rows->empty());
  EXPECT_EQ(rows->front().action, "auth.denied");
  EXPECT_EQ(rows->front().actor, "owner-token");  // the token's name is the actor
  auto all = storage::AuditLog(**db).Recent(0);
  for (const auto& e : *all) {
    for (const auto& [role, token] : f.tokens) {
      const std::string secret = token.substr(token.rfind('_') + 1);
      EXPECT_EQ(e.payload.find(secret), std::string::npos);
      EXPECT_EQ(e.reason.find(secret), std::string::npos);
    }
  }
  const std::string metrics = f.Call("GET", "/metrics", "oncall").body;
  EXPECT_EQ(denied, 18);
  EXPECT_NE(metrics.find("steward_auth_denied_total{code=\"403\"} " + std::to_string(denied)), std::string::npos)
      << metrics.substr(0, 2000);
}

TEST(Service, RevokedTokenStopsWorkingWithinASecond) {
  Fixture f("svc-revoke");
  EXPECT_EQ(f.Call("GET", "/v1/experiments", "oncall").status, 200);
  {
    auto db = storage::Database::Open(f.db);
    ASSERT_TRUE(storage::TokenStore(**db).Revoke("oncall-token", "test", f.clock.NowMillis()).ok());
  }
  f.clock.AdvanceMillis(1000);
  EXPECT_EQ(f.Call("GET", "/v1/experiments", "oncall").status, 401);
}

TEST(Service, RecommendValidatesEveryFieldAndLogsTheExposure) {
  Fixture f("svc-recommend");
  ASSERT_EQ(f.Call("POST", "/v1/experiments", "owner", kExperiment).status, 201);
  ASSERT_EQ(f.Call("POST", "/v1/experiments/checkout-recs/start", "owner", "{}").status, 200);
  HttpResponse ok = f.Call("POST", "/v1/recommend", "service", R"({"user_id":"u-42","k":3,"attributes":{"country":"NZ","age":30}})");
  ASSERT_EQ(ok.status, 200) << ok.body;
  json body = f.Json(ok);
  EXPECT_EQ(body["experiment"], "checkout-recs");
  EXPECT_EQ(body["items"].size(), 3u);
  EXPECT_EQ(body["items"][0]["item_id"], 1000);
  EXPECT_TRUE(body["items"][0].contains("propensity"));
  EXPECT_GT(body["request_id"].get<int64_t>(), 0);
  struct Bad {
    std::string body, field;
    int status;
  };
  for (const Bad& b : std::vector<Bad>{{R"({"k":3})", "user_id", 400},
                                      {R"({"user_id":7})", "user_id", 400},
                                      {R"({"user_id":"u","k":0})", "k", 400},
                                      {R"({"user_id":"u","k":1e3})", "k", 400},
                                      {R"({"user_id":"u","attributes":[1]})", "attributes", 400},
                                      {R"({"user_id":"u","attributes":{"a":{"b":1}}})", "attributes.a", 400},
                                      {R"({"user_id":"u","experiment":"nope"})", "experiment", 404},
                                      {"{not json", "body", 400},
                                      {"[1,2]", "body", 400},
                                      {std::string(100, '[') + std::string(100, ']'), "body", 400}}) {
    HttpResponse r = f.Call("POST", "/v1/recommend", "service", b.body);
    EXPECT_EQ(r.status, b.status) << b.body << " -> " << r.body;
    EXPECT_EQ(f.Json(r)["error"]["field"], b.field) << b.body << " -> " << r.body;
  }
  ASSERT_TRUE(f.service->Shutdown().ok());
  EXPECT_EQ(f.Count("SELECT COUNT(*) FROM exposures WHERE user_key = 'u-42' AND attributes = '{\"country\":\"NZ\"}'"), 1);
}

TEST(Service, AssignOneOrManyUsersAtTheLiveCoverage) {
  Fixture f("svc-assign");
  ASSERT_EQ(f.Call("POST", "/v1/experiments", "owner", kExperiment).status, 201);
  // Draft: nobody is in the experiment yet.
  json draft = f.Json(f.Call("POST", "/v1/assign", "service", R"({"experiment":"checkout-recs","user_id":"u1"})"));
  EXPECT_FALSE(draft["in_experiment"].get<bool>());
  EXPECT_TRUE(draft["arm"].is_null());
  ASSERT_EQ(f.Call("POST", "/v1/experiments/checkout-recs/start", "owner", "{}").status, 200);
  std::string ids;
  for (int i = 0; i < 400; ++i) ids += (i ? "," : "") + std::string("\"user-") + std::to_string(i) + "\"";
  HttpResponse many = f.Call("POST", "/v1/assign", "service", R"({"experiment":"checkout-recs","user_ids":[)" + ids + "]}");
  ASSERT_EQ(many.status, 200);
  int in = 0;
  const json assignments = f.Json(many)["assignments"];
  ASSERT_EQ(assignments.size(), 400u);
  for (const auto& a : assignments) in += a["in_experiment"].get<bool>() ? 1 : 0;
  EXPECT_GT(in, 150);  // step 1 coverage 0.5 of 400 users (binomial sd 10)
  EXPECT_LT(in, 250);
  EXPECT_EQ(f.Call("POST", "/v1/assign", "service", R"({"experiment":"nope","user_id":"u1"})").status, 404);
  EXPECT_EQ(f.Json(f.Call("POST", "/v1/assign", "service", R"({"experiment":"checkout-recs","user_ids":[1]})"))["error"]["field"],
            "user_ids[0]");
}

TEST(Service, EventsAcceptRejectByLineAndAreDurableWhenAnswered) {
  Fixture f("svc-events");
  ASSERT_EQ(f.Call("POST", "/v1/experiments", "owner", kExperiment).status, 201);
  json served = f.Json(f.Call("POST", "/v1/recommend", "service", R"({"user_id":"u1","k":3})"));
  const int64_t rid = served["request_id"];
  const std::string body =
      R"({"type":"click","request_id":)" + std::to_string(rid) + R"(,"item_id":1001})" + "\n" +                     // 1 ok (position 2)
      R"({"type":"click","request_id":)" + std::to_string(rid) + R"(,"item_id":1001})" + "\n" +                     // 2 repeated click
      R"({"type":"click","request_id":)" + std::to_string(rid) + R"(,"item_id":1040})" + "\n" +                     // 3 not served
      "\n" +                                                                                                         // blank: skipped
      R"({"type":"exposure","request_id":5000000,"user_id":"ext-1","experiment":"checkout-recs","arm":"treatment","items":[{"item_id":1003,"propensity":0.5}]})" + "\n" +  // 5 ok
      R"({"type":"exposure","request_id":5000000,"user_id":"ext-1","experiment":"checkout-recs","arm":"treatment"})" + "\n" +  // 6 dup id
      R"({"type":"exposure","request_id":5000001,"user_id":"ext-1","experiment":"checkout-recs","arm":"nope"})" + "\n" +       // 7 bad arm
      R"({"type":"conversion","request_id":5000000,"item_id":1003})" + "\n" +                                        // 8 ok
      R"({"type":"view","request_id":1})" + "\n" +                                                                    // 9 bad type
      "garbage\n" +                                                                                                    // 10
      R"({"type":"click","request_id":-4,"item_id":1})";                                                               // 11
  HttpResponse r = f.Call("POST", "/v1/events", "service", body);
  ASSERT_EQ(r.status, 200) << r.body;
  json out = f.Json(r);
  EXPECT_EQ(out["accepted"], 3);
  std::vector<int> lines;
  for (const auto& rej : out["rejected"]) lines.push_back(rej["line"]);
  EXPECT_EQ(lines, (std::vector<int>{2, 3, 6, 7, 9, 10, 11}));
  EXPECT_NE(out["rejected"][2]["reason"].get<std::string>().find("already used"), std::string::npos);
  EXPECT_NE(out["rejected"][3]["reason"].get<std::string>().find("arm"), std::string::npos);
  // Durable before 200: another connection sees them now, without a shutdown.
  EXPECT_EQ(f.Count("SELECT COUNT(*) FROM feedback WHERE request_id = " + std::to_string(rid) + " AND position = 2"), 1);
  EXPECT_EQ(f.Count("SELECT COUNT(*) FROM exposures WHERE request_id = 5000000 AND model_version = 'external:app'"), 1);
  EXPECT_EQ(f.Count("SELECT COUNT(*) FROM feedback WHERE request_id = 5000000 AND kind = 2"), 1);
  // Steward's own ids now start above the external one.
  json next = f.Json(f.Call("POST", "/v1/recommend", "service", R"({"user_id":"u2"})"));
  EXPECT_GT(next["request_id"].get<int64_t>(), 0);
  const std::string metrics = f.Call("GET", "/metrics", "service").body;
  EXPECT_NE(metrics.find("steward_events_accepted_total 3"), std::string::npos);
  EXPECT_NE(metrics.find("steward_events_rejected_total 7"), std::string::npos);
}

// Regression: a click on an external exposure still in memory dereferenced the (absent) model and
// killed the server. Also: a repeated click on a list that left memory is refused, not stored twice.
TEST(Service, ClicksOnExternalExposuresAndRepeatsAfterTheWindow) {
  Fixture f("svc-external-click");
  ASSERT_EQ(f.Call("POST", "/v1/experiments", "owner", kExperiment).status, 201);
  const std::string exposure =
      R"({"type":"exposure","request_id":7000000,"user_id":"ext-2","experiment":"checkout-recs","arm":"control","items":[{"item_id":1005},{"item_id":1006}]})";
  ASSERT_EQ(f.Json(f.Call("POST", "/v1/events", "service", exposure))["accepted"], 1);
  json click = f.Json(f.Call("POST", "/v1/events", "service", R"({"type":"click","request_id":7000000,"item_id":1006})"));
  EXPECT_EQ(click["accepted"], 1) << click.dump();
  EXPECT_EQ(f.Count("SELECT position FROM feedback WHERE request_id = 7000000"), 2);
  // The list leaves memory (the join window is 30 minutes of event time).
  f.clock.AdvanceMillis(31 * 60 * 1000);
  ASSERT_TRUE(f.service->TickControl().ok());
  json again = f.Json(f.Call("POST", "/v1/events", "service", R"({"type":"click","request_id":7000000,"item_id":1006})"));
  EXPECT_EQ(again["accepted"], 0) << again.dump();
  EXPECT_NE(again["rejected"][0]["reason"].get<std::string>().find("position 2 of request 7000000 already has a click"), std::string::npos)
      << again.dump();
  json other = f.Json(f.Call("POST", "/v1/events", "service", R"({"type":"click","request_id":7000000,"item_id":1005})"));
  EXPECT_EQ(other["accepted"], 1) << other.dump();
  EXPECT_EQ(f.Count("SELECT COUNT(*) FROM feedback WHERE request_id = 7000000"), 2);
}

TEST(Service, EventsBeyondTheWriterQueueGet503WithRetryAfter) {
  Fixture f("svc-503", /*writer_queue=*/8, /*max_lines=*/8);
  ASSERT_EQ(f.Call("POST", "/v1/experiments", "owner", kExperiment).status, 201);
  // Clicks on served lists (one item each), so a batch touches only the event writer.
  std::vector<std::pair<int64_t, int64_t>> served;
  for (int i = 0; i < 30; ++i) {
    json r = f.Json(f.Call("POST", "/v1/recommend", "service", R"({"user_id":"u)" + std::to_string(i) + R"(","k":1})"));
    served.emplace_back(r["request_id"].get<int64_t>(), r["items"][0]["item_id"].get<int64_t>());
  }
  auto exposures = [&served](int first, int n) {  // clicks on lists first .. first + n - 1
    std::string body;
    for (int i = first; i < first + n; ++i) {
      body += R"({"type":"click","request_id":)" + std::to_string(served[static_cast<size_t>(i)].first) + R"(,"item_id":)" +
              std::to_string(served[static_cast<size_t>(i)].second) + "}\n";
    }
    return body;
  };
  auto wait_for = [&f](const std::string& sample) {
    for (int i = 0; i < 1000; ++i) {  // 20 s at most (a loaded, sanitized build is slow)
      if (f.Call("GET", "/metrics", "service").body.find(sample + "\n") != std::string::npos) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
  };
  ASSERT_TRUE(wait_for("steward_events_committed_total 30"));  // the served lists' exposures
  EXPECT_EQ(f.Call("POST", "/v1/events", "service", exposures(0, 9)).status, 413);  // more lines than a batch may hold
  // Another connection holds the write lock: the writer blocks on its commit and the queue fills.
  auto blocker = storage::Database::Open(f.db);
  ASSERT_TRUE(blocker.ok());
  ASSERT_TRUE((*blocker)->Begin().ok());
  int status_a = 0, status_b = 0;
  // A's batch is normally taken by the writer (which then waits for the lock) and B's waits in the
  // queue, so C is refused; on a loaded machine A may still be queued when B arrives, and then B is
  // the one refused.
  std::atomic<int> status_b_seen{0};
  HttpResponse refused;
  std::thread a([&] { status_a = f.Call("POST", "/v1/events", "service", exposures(0, 6)).status; });
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  std::thread b([&] {
    HttpResponse r = f.Call("POST", "/v1/events", "service", exposures(6, 6));
    status_b = r.status;
    if (r.status == 503) refused = r;
    status_b_seen = 1;
  });
  bool queued = false;
  for (int i = 0; i < 200 && !queued && !(status_b_seen && status_b == 503); ++i) {  // within the writer's 5 s lock wait
    queued = f.Call("GET", "/metrics", "service").body.find("steward_event_writer_queue_depth 6\n") != std::string::npos;
    if (!queued) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (queued) refused = f.Call("POST", "/v1/events", "service", exposures(12, 6));
  EXPECT_TRUE(queued || status_b_seen) << "neither queued nor refused";
  if (!queued) b.join();
  EXPECT_EQ(refused.status, 503) << refused.body;
  bool retry_after = false;
  for (const auto& [name, value] : refused.headers) retry_after = retry_after || (name == "Retry-After" && value == "1");
  EXPECT_TRUE(retry_after);
  ASSERT_TRUE((*blocker)->Rollback().ok());
  a.join();
  if (b.joinable()) b.join();
  EXPECT_EQ(status_a, 200);
  EXPECT_TRUE(status_b == 200 || status_b == 503) << status_b;
  // Nothing of a refused batch was stored; everything acknowledged was.
  EXPECT_EQ(f.Count("SELECT COUNT(*) FROM feedback"), status_b == 200 ? 12 : 6);
  // The refused batch is accepted when resent.
  EXPECT_EQ(f.Json(f.Call("POST", "/v1/events", "service", status_b == 200 ? exposures(12, 6) : exposures(6, 6)))["accepted"], 6);
  EXPECT_NE(f.Call("GET", "/metrics", "service").body.find("steward_events_unavailable_total 1\n"), std::string::npos);
}

TEST(Service, ExperimentLifecycleThroughTheApi) {
  Fixture f("svc-lifecycle");
  HttpResponse bad = f.Call("POST", "/v1/experiments", "owner", "name: x\narms: []\n");
  EXPECT_EQ(bad.status, 400);
  EXPECT_FALSE(f.Json(bad)["error"]["message"].get<std::string>().empty());
  HttpResponse unknown_model = f.Call("POST", "/v1/experiments", "owner", std::string(kExperiment) + "\n");
  ASSERT_EQ(unknown_model.status, 201);
  EXPECT_EQ(f.Json(f.Call("POST", "/v1/experiments", "owner", kExperiment))["version"], 1);  // unchanged: same version
  EXPECT_EQ(f.Call("GET", "/v1/experiments/nope", "owner").status, 404);
  EXPECT_EQ(f.Call("POST", "/v1/experiments/nope/start", "owner", "{}").status, 404);
  ASSERT_EQ(f.Call("POST", "/v1/experiments/checkout-recs/start", "owner", R"({"reason":"launch"})").status, 200);
  EXPECT_EQ(f.Json(f.Call("GET", "/v1/experiments/checkout-recs", "reviewer"))["state"], "ramping");
  // Step 2 needs the rai-reviewer: promoting without the approval is refused (409); the reviewer
  // approves as that role, then the owner's promotion goes through.
  HttpResponse early = f.Call("POST", "/v1/experiments/checkout-recs/promote", "owner", R"({"reason":"looks good"})");
  EXPECT_EQ(early.status, 409) << early.body;
  EXPECT_EQ(f.Json(f.Call("POST", "/v1/experiments/checkout-recs/approve", "reviewer", "{}"))["error"]["field"], "role");
  HttpResponse approved = f.Call("POST", "/v1/experiments/checkout-recs/approve", "reviewer", R"({"role":"rai-reviewer","reason":"audit ok"})");
  ASSERT_EQ(approved.status, 200) << approved.body;
  EXPECT_EQ(f.Json(approved)["approvals"], json::array({"rai-reviewer"}));
  HttpResponse promoted = f.Call("POST", "/v1/experiments/checkout-recs/promote", "owner", R"({"reason":"looks good"})");
  ASSERT_EQ(promoted.status, 200) << promoted.body;
  EXPECT_EQ(f.Json(promoted)["step"], 2);
  // Rollback needs a reason; with one it is durable and audited under the token's name.
  EXPECT_EQ(f.Json(f.Call("POST", "/v1/experiments/checkout-recs/rollback", "oncall", "{}"))["error"]["field"], "reason");
  HttpResponse rolled = f.Call("POST", "/v1/experiments/checkout-recs/rollback", "oncall", R"({"reason":"error rate"})");
  ASSERT_EQ(rolled.status, 200) << rolled.body;
  EXPECT_EQ(f.Json(rolled)["state"], "rolled_back");
  json assigned = f.Json(f.Call("POST", "/v1/assign", "service", R"({"experiment":"checkout-recs","user_id":"u1"})"));
  EXPECT_FALSE(assigned["in_experiment"].get<bool>());  // serving applied it at once
  auto db = storage::Database::Open(f.db);
  auto rows = storage::AuditLog(**db).ForSubject("checkout-recs");
  ASSERT_TRUE(rows.ok());
  EXPECT_EQ(rows->back().action, "experiment.rollback");
  EXPECT_EQ(rows->back().actor, "oncall-token");
  EXPECT_EQ(rows->back().reason, "error rate");
  // Kill switch.
  EXPECT_EQ(f.Json(f.Call("POST", "/v1/kill-switch", "oncall", R"({"on":"yes","reason":"r"})"))["error"]["field"], "on");
  ASSERT_EQ(f.Call("POST", "/v1/kill-switch", "oncall", R"({"on":true,"reason":"incident 7"})").status, 200);
  EXPECT_TRUE(f.Json(f.Call("GET", "/v1/experiments", "service"))["kill_switch"].get<bool>());
  const std::string metrics = f.Call("GET", "/metrics", "service").body;
  EXPECT_NE(metrics.find("steward_experiment_state{experiment=\"checkout-recs\",state=\"rolled_back\"} 1"), std::string::npos);
  EXPECT_NE(metrics.find("steward_experiment_coverage{experiment=\"checkout-recs\"} 0"), std::string::npos);
}

// A reviewer signs off through the API with a fresh governance audit as evidence (the same record as
// `steward audit sign-off`); a plain approval by the reviewer role is refused when audits: is set.
TEST(Service, ReviewerSignsOffWithTheAuditAsEvidence) {
  Fixture f("svc-signoff");
  ASSERT_EQ(f.Call("POST", "/v1/experiments", "owner", std::string(kExperiment) + "audits: {aplt_min: 0.0}\n").status, 201);
  ASSERT_EQ(f.Call("POST", "/v1/experiments/checkout-recs/start", "owner", "{}").status, 200);
  for (int i = 0; i < 40; ++i) f.Call("POST", "/v1/recommend", "service", R"({"user_id":"u)" + std::to_string(i) + R"("})");
  for (int i = 0; i < 300 && f.Call("GET", "/metrics", "service").body.find("steward_events_committed_total 40\n") == std::string::npos; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));  // the audit reads committed exposures
  }
  Fixture& g = f;
  HttpResponse audit = g.Call("GET", "/v1/experiments/checkout-recs/audit?bootstrap=0", "reviewer");
  EXPECT_EQ(audit.status, 200) << audit.body.substr(0, 500);
  EXPECT_EQ(g.Call("GET", "/v1/experiments/nope/audit", "reviewer").status, 404);
  EXPECT_EQ(g.Call("POST", "/v1/experiments/checkout-recs/sign-off", "owner", R"({"decision":"approve","reason":"x"})").status, 403);
  EXPECT_EQ(g.Json(g.Call("POST", "/v1/experiments/checkout-recs/sign-off", "reviewer", R"({"decision":"maybe","reason":"x"})"))["error"]["field"],
            "decision");
  HttpResponse plain = g.Call("POST", "/v1/experiments/checkout-recs/approve", "reviewer", R"({"role":"rai-reviewer"})");
  EXPECT_EQ(plain.status, 409) << plain.body;
  HttpResponse signed_off =
      g.Call("POST", "/v1/experiments/checkout-recs/sign-off", "reviewer", R"({"decision":"approve","reason":"audit reviewed","bootstrap":0})");
  ASSERT_EQ(signed_off.status, 200) << signed_off.body;
  const json out = g.Json(signed_off);
  EXPECT_EQ(out["report_hash"].get<std::string>().size(), 64u);
  auto db = storage::Database::Open(g.db);
  auto rows = storage::AuditLog(**db).ForSubject("checkout-recs");
  ASSERT_TRUE(rows.ok());
  EXPECT_EQ(rows->back().action, "audit.signoff");
  EXPECT_EQ(rows->back().actor, "reviewer-token");
  EXPECT_NE(rows->back().payload.find(out["report_hash"].get<std::string>()), std::string::npos);
}

TEST(Service, AuditPagesAndVerifies) {
  Fixture f("svc-audit");
  ASSERT_EQ(f.Call("POST", "/v1/experiments", "owner", kExperiment).status, 201);
  json page = f.Json(f.Call("GET", "/v1/audit?after_seq=0&limit=2", "reviewer"));
  ASSERT_EQ(page["entries"].size(), 2u);
  EXPECT_EQ(page["entries"][0]["seq"], 1);
  const int64_t next = page["next_after_seq"];
  json rest = f.Json(f.Call("GET", "/v1/audit?after_seq=" + std::to_string(next) + "&limit=1000", "reviewer"));
  EXPECT_EQ(rest["entries"][0]["seq"], next + 1);
  EXPECT_EQ(f.Json(f.Call("GET", "/v1/audit?limit=0", "reviewer"))["error"]["field"], "limit");
  EXPECT_EQ(f.Json(f.Call("GET", "/v1/audit?after_seq=x", "reviewer"))["error"]["field"], "after_seq");
  json verify = f.Json(f.Call("GET", "/v1/audit/verify", "reviewer"));
  EXPECT_TRUE(verify["ok"].get<bool>()) << verify.dump();
}

TEST(Service, MetricsAreValidPrometheusText) {
  Fixture f("svc-metrics");
  ASSERT_EQ(f.Call("POST", "/v1/experiments", "owner", kExperiment).status, 201);
  f.Call("POST", "/v1/recommend", "service", R"({"user_id":"u1"})");
  f.Call("POST", "/v1/recommend", "service", R"({"k":1})");
  HttpResponse m = f.Call("GET", "/metrics", "oncall");
  ASSERT_EQ(m.status, 200);
  EXPECT_EQ(m.content_type.rfind("text/plain; version=0.0.4", 0), 0u);
  // Every sample line is NAME{labels} VALUE or NAME VALUE, every family has HELP and TYPE.
  std::istringstream in(m.body);
  std::string line;
  std::set<std::string> typed;
  while (std::getline(in, line)) {
    if (line.rfind("# TYPE ", 0) == 0) typed.insert(line.substr(7, line.find(' ', 7) - 7));
    if (line.empty() || line[0] == '#') continue;
    const std::string name = line.substr(0, line.find_first_of("{ "));
    std::string family = name;
    for (const char* suffix : {"_bucket", "_sum", "_count"}) {
      if (family.size() > strlen(suffix) && family.compare(family.size() - strlen(suffix), strlen(suffix), suffix) == 0 &&
          !typed.count(family)) {
        family = family.substr(0, family.size() - strlen(suffix));
      }
    }
    EXPECT_TRUE(typed.count(family)) << line;
    const std::string value = line.substr(line.rfind(' ') + 1);
    EXPECT_NO_THROW((void)std::stod(value)) << line;
  }
  EXPECT_NE(m.body.find("steward_http_requests_total{endpoint=\"/v1/recommend\",arm=\"excluded\",code=\"200\"} 1"), std::string::npos)
      << m.body.substr(0, 1500);
  EXPECT_NE(m.body.find("steward_http_errors_total{endpoint=\"/v1/recommend\",code=\"400\"} 1"), std::string::npos);
  EXPECT_NE(m.body.find("steward_event_writer_queue_depth"), std::string::npos);
  EXPECT_NE(m.body.find("steward_shadow_queue_depth"), std::string::npos);
  EXPECT_NE(m.body.find("steward_experiment_srm_p_value{experiment=\"checkout-recs\"}"), std::string::npos);
  EXPECT_NE(m.body.find("steward_experiment_guardrail_breaches{experiment=\"checkout-recs\"} 0"), std::string::npos);
  EXPECT_EQ(Metrics::EscapeLabel("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
}

TEST(Service, CreatingAnExperimentServesItWithoutARestart) {
  Fixture f("svc-new-experiment");
  // No experiment yet: the default model serves.
  json before = f.Json(f.Call("POST", "/v1/recommend", "service", R"({"user_id":"u1"})"));
  EXPECT_EQ(before["arm"], "default");
  ASSERT_EQ(f.Call("POST", "/v1/experiments", "owner", kExperiment).status, 201);
  ASSERT_EQ(f.Call("POST", "/v1/experiments/checkout-recs/start", "owner", "{}").status, 200);
  json after = f.Json(f.Call("POST", "/v1/recommend", "service", R"({"user_id":"u1","experiment":"checkout-recs"})"));
  EXPECT_EQ(after["experiment"], "checkout-recs");
}

TEST(Service, AfterShutdownRequestsGet503) {
  Fixture f("svc-shutdown");
  ASSERT_TRUE(f.service->Shutdown().ok());
  EXPECT_EQ(f.Call("POST", "/v1/recommend", "service", R"({"user_id":"u1"})").status, 503);
  EXPECT_EQ(f.Call("GET", "/readyz", "service").status, 503);
  EXPECT_EQ(f.Call("GET", "/healthz", "").status, 200);
}

}  // namespace
}  // namespace steward::server
