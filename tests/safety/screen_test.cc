// The serve-time safety screen (safety/screen.h): each rule, the decisions it records, demotion and
// the frequency cap across requests, by hand.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "safety/screen.h"

namespace steward::safety {
namespace {

// Items 0..5 (ids 100..105), categories 0,1,2,0,1,2.
std::shared_ptr<const models::Catalog> SmallCatalog() {
  auto c = std::make_shared<models::Catalog>();
  for (int i = 0; i < 6; ++i) c->items.push_back({100 + i, i % 3, 0, 0.0, 0});
  c->num_categories = 3;
  return c;
}

TEST(SafetyScreen, EachRuleBlocksAndRecordsWhy) {
  SafetyPolicy p;
  p.reason = "test";
  p.blocklist = {100};
  p.restrictions.push_back({"age_band", "18-29", {1}});
  // Risk: item 2 is blocked (0.9 >= 0.5), item 5 demoted (0.3), the rest low.
  auto screen = SafetyScreen::Create(p, SmallCatalog(), {0.0, 0.1, 0.9, 0.0, 0.1, 0.3}, "risk-t", {});
  ASSERT_TRUE(screen.ok()) << screen.status().ToString();
  const std::vector<std::pair<std::string, std::string>> young = {{"age_band", "18-29"}};
  std::vector<models::FilterDecision> decisions;
  int dropped = 0;
  models::RecommendRequest rq;
  rq.user_id = 1;
  rq.attributes = young;
  rq.decisions = &decisions;
  rq.decisions_dropped = &dropped;
  EXPECT_FALSE((*screen)->Allow(rq, 0));  // blocklist
  EXPECT_FALSE((*screen)->Allow(rq, 1));  // category 1 restricted for 18-29
  EXPECT_FALSE((*screen)->Allow(rq, 2));  // risk 0.9
  EXPECT_TRUE((*screen)->Allow(rq, 3));
  EXPECT_FALSE((*screen)->Allow(rq, 4));  // category 1 again
  EXPECT_TRUE((*screen)->Allow(rq, 5));   // demoted later, not blocked
  EXPECT_FALSE((*screen)->Allow(rq, 0));  // asked twice: recorded once
  ASSERT_EQ(decisions.size(), 4u);
  EXPECT_STREQ(decisions[0].rule, "blocklist");
  EXPECT_STREQ(decisions[1].rule, "restricted_category");
  EXPECT_STREQ(decisions[2].rule, "risk");
  EXPECT_DOUBLE_EQ(decisions[2].risk, 0.9);
  // Another segment: category 1 is allowed.
  const std::vector<std::pair<std::string, std::string>> older = {{"age_band", "50+"}};
  models::RecommendRequest rq2;
  rq2.attributes = older;
  EXPECT_TRUE((*screen)->Allow(rq2, 1));
}

TEST(SafetyScreen, DemotesRiskyItemsToTheEndKeepingOrder) {
  auto screen = SafetyScreen::Create({}, SmallCatalog(), {0.25, 0.0, 0.0, 0.4, 0.0, 0.0}, "risk-t", {});
  ASSERT_TRUE(screen.ok());
  std::vector<models::ScoredItem> items = {{3, 5.0}, {1, 4.0}, {0, 3.0}, {4, 2.0}};
  std::vector<models::FilterDecision> decisions;
  EXPECT_EQ((*screen)->Demote(items, &decisions), 2);
  // Kept in order: 1, 4; then the demoted in their order: 3, 0.
  ASSERT_EQ(items.size(), 4u);
  EXPECT_EQ(items[0].item, 1);
  EXPECT_EQ(items[1].item, 4);
  EXPECT_EQ(items[2].item, 3);
  EXPECT_EQ(items[3].item, 0);
  ASSERT_EQ(decisions.size(), 2u);
  EXPECT_STREQ(decisions[0].rule, "risk_demote");
  // The stored record: risk per served position, decisions with catalog ids.
  const std::vector<int32_t> served = {1, 4, 3, 0};
  const auto j = nlohmann::json::parse((*screen)->RecordJson(served, decisions, 3));
  EXPECT_EQ(j["v"], 1);
  EXPECT_EQ(j["scorer"], "risk-t");
  EXPECT_EQ(j["risk"], (nlohmann::json{0.0, 0.0, 0.4, 0.25}));
  EXPECT_EQ(j["decisions"][0], (nlohmann::json{103, "demote", "risk_demote", 0.4}));
  EXPECT_EQ(j["more"], 3);
}

TEST(SafetyScreen, FrequencyCapCountsImpressionsPerWindow) {
  SafetyPolicy p;
  p.reason = "cap";
  p.max_impressions_per_user_item = 2;
  p.cap_window_ms = 1000;
  auto screen = SafetyScreen::Create(p, SmallCatalog(), {}, "", {});
  ASSERT_TRUE(screen.ok());
  models::RecommendRequest rq;
  rq.user_id = 7;
  rq.ts_ms = 100;
  const std::vector<int32_t> list = {2, 3};
  EXPECT_TRUE((*screen)->Allow(rq, 2));
  (*screen)->NoteServed(7, list, 100);
  EXPECT_TRUE((*screen)->Allow(rq, 2));  // one impression so far
  (*screen)->NoteServed(7, list, 200);
  rq.ts_ms = 300;
  EXPECT_FALSE((*screen)->Allow(rq, 2));  // two in window [0, 1000): the cap
  rq.user_id = 8;
  EXPECT_TRUE((*screen)->Allow(rq, 2));   // another user
  rq.user_id = 7;
  rq.ts_ms = 1000;                        // the next window starts over
  EXPECT_TRUE((*screen)->Allow(rq, 2));
  EXPECT_TRUE((*screen)->Allow(rq, 4));   // never shown
}

TEST(SafetyScreen, BoundsTrackedUsers) {
  SafetyPolicy p;
  p.reason = "cap";
  p.max_impressions_per_user_item = 1;
  ScreenOptions o;
  o.max_tracked_users = 64;  // one user per shard
  auto screen = SafetyScreen::Create(p, SmallCatalog(), {}, "", o);
  ASSERT_TRUE(screen.ok());
  const std::vector<int32_t> list = {0};
  for (int64_t u = 0; u < 10000; ++u) (*screen)->NoteServed(u, list, 0);
  models::RecommendRequest rq;
  int capped = 0;
  for (int64_t u = 0; u < 10000; ++u) {
    rq.user_id = u;
    capped += !(*screen)->Allow(rq, 0);
  }
  EXPECT_LE(capped, 64);  // counts of at most max_tracked_users users survive
  EXPECT_GE(capped, 1);
}

TEST(SafetyScreen, CreateNamesWhatIsWrong) {
  const auto message = [](StatusOr<std::shared_ptr<SafetyScreen>> s) { return s.ok() ? std::string() : s.status().message(); };
  EXPECT_NE(message(SafetyScreen::Create({}, SmallCatalog(), {0.1}, "v", {})).find("6 items"), std::string::npos);
  EXPECT_NE(message(SafetyScreen::Create({}, SmallCatalog(), {0, 0, 0, 0, 0, 1.5}, "v", {})).find("item 105"), std::string::npos);
  SafetyPolicy p;
  p.blocklist = {999};
  EXPECT_NE(message(SafetyScreen::Create(p, SmallCatalog(), {}, "", {})).find("item 999"), std::string::npos);
  ScreenOptions o;
  o.demote_risk = 0.8;
  o.block_risk = 0.5;
  EXPECT_NE(message(SafetyScreen::Create({}, SmallCatalog(), {}, "", o)).find("demote_risk"), std::string::npos);
}

}  // namespace
}  // namespace steward::safety
