#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "common/rng.h"
#include "models/hybrid.h"

namespace steward::models {
namespace {

struct Fixture {
  std::shared_ptr<Catalog> catalog = std::make_shared<Catalog>();
  std::vector<SparseFeatures> features;
  Fixture(int n) {
    catalog->num_categories = 4;
    ItemFeaturizer f(256);
    Rng rng(1);
    for (int i = 0; i < n; ++i) {
      catalog->items.push_back({i, i % 4, 0, rng.Normal(), 0});
      features.push_back(f.Featurize({{"genre", {std::to_string(i % 4)}}, {"author", {std::to_string(i / 3)}}}));
    }
  }
};

HybridOptions SmallOptions() {
  HybridOptions o;
  o.embedding.layers = {256, 64, 32};
  o.embedding.batch = 64;
  o.candidates = 50;
  o.popular_candidates = 10;
  o.max_per_category = 3;
  o.retrain_min_pairs = 10;
  o.retrain_steps = 5;
  return o;
}

TEST(Hybrid, ListsAreValidAndCarryPropensities) {
  Fixture fx(200);
  HybridRecommender h(fx.catalog, fx.features, SmallOptions());
  const std::vector<int32_t> history = {4, 8, 12};
  for (int r = 0; r < 50; ++r) {
    RecommendRequest rq;
    rq.request_id = r + 1;
    rq.user_id = 7;
    rq.ts_ms = 1000 + r * 60'000LL;
    rq.history = history;
    rq.k = 10;
    const Recommendation rec = h.Recommend(rq);
    ASSERT_EQ(rec.items.size(), 10u);
    std::set<int32_t> unique;
    std::vector<int> per_category(4);
    for (const auto& s : rec.items) {
      unique.insert(s.item);
      EXPECT_EQ(std::count(history.begin(), history.end(), s.item), 0) << "recommended an item already read";
      EXPECT_GT(s.propensity, 0.0);
      EXPECT_LE(s.propensity, 1.0);
      ++per_category[static_cast<size_t>(fx.catalog->items[static_cast<size_t>(s.item)].category)];
    }
    EXPECT_EQ(unique.size(), 10u);
    EXPECT_EQ(rec.items[0].propensity, 1.0);  // the first slot is never explored
  }
}

TEST(Hybrid, ExplorationStaysWithinTheSessionCap) {
  Fixture fx(300);
  HybridOptions o = SmallOptions();
  o.exploration_share = 0.5;  // ask for far more than the cap allows
  HybridRecommender h(fx.catalog, fx.features, o);
  int explored = 0, shown = 0;
  const std::vector<int32_t> history = {1, 2, 3};
  for (int r = 0; r < 40; ++r) {  // one session: a request a minute
    RecommendRequest rq;
    rq.history = history;
    rq.request_id = r + 1;
    rq.user_id = 1;
    rq.ts_ms = 1000 + r * 60'000LL;
    rq.k = 10;
    for (const auto& s : h.Recommend(rq).items) {
      shown++;
      explored += s.propensity < 0.4 ? 1 : 0;  // explored items have propensity p / pool
    }
  }
  EXPECT_GT(explored, 0);
  EXPECT_LE(explored, static_cast<int>(0.12 * shown) + 1);
}

TEST(Hybrid, RetrainsInEventTimeAndSwapsInANewVersion) {
  Fixture fx(200);
  HybridRecommender h(fx.catalog, fx.features, SmallOptions());
  EXPECT_EQ(h.version(), "hybrid@emb1");
  std::vector<int32_t> history;
  int64_t t = 0;
  for (int i = 0; i < 40; ++i) {
    const auto item = static_cast<int32_t>((i * 4) % 200);
    h.Observe({1, t, item, 1, true, history});
    history.push_back(item);
  }
  ASSERT_GT(h.training_pairs(), 10u);
  h.AdvanceTo(0);                    // first call sets the schedule
  h.AdvanceTo(15 * 60 * 1000);       // tick: starts a fine-tune in the background
  h.AdvanceTo(2 * 15 * 60 * 1000);   // next tick: swaps it in
  EXPECT_EQ(h.version(), "hybrid@emb2");
  const auto before = h.item_embeddings();
  for (int i = 0; i < 20; ++i) h.Observe({1, t, static_cast<int32_t>(i * 8 % 200), 1, true, history});
  h.AdvanceTo(3 * 15 * 60 * 1000);
  h.Finish();
  EXPECT_EQ(h.version(), "hybrid@emb3");
  EXPECT_NE(before, h.item_embeddings());
}

}  // namespace
}  // namespace steward::models
