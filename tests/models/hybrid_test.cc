#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "common/rng.h"
#include "fairness/metrics.h"
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

// The exposure constraint inside the hybrid's re-ranker. Provider groups: items 0..29 are g0 and
// have by far the highest popularity prior, the rest alternate g1/g2, so the unconstrained hybrid
// over-serves g0 (target = its catalog share, 0.1). With the constraint (tolerance 0.03) the
// cumulative position-weighted shares of the served lists end within the band plus one list's
// overshoot, the evidence of the last request is readable, and the lists stay valid.
TEST(Hybrid, ExposureConstraintBringsProviderSharesToTheirTargets) {
  auto run = [](bool constrained, std::vector<double>* shares, HybridRecommender** keep,
                std::unique_ptr<HybridRecommender>* owner) {
    Fixture fx(300);
    for (size_t i = 0; i < fx.catalog->items.size(); ++i) {
      fx.catalog->items[i].provider_group = i < 30 ? 0 : 1 + static_cast<int>(i % 2);
      fx.catalog->items[i].prior_popularity = i < 30 ? 5.0 : -1.0;
    }
    HybridOptions o = SmallOptions();
    o.popular_candidates = 40;
    if (constrained) o.exposure_constraint = ExposureConstraintOptions{{}, 0.03};
    *owner = std::make_unique<HybridRecommender>(fx.catalog, fx.features, o);
    *keep = owner->get();
    std::vector<double> weights(3, 0.0);
    for (int r = 0; r < 300; ++r) {
      const std::vector<int32_t> history = {static_cast<int32_t>(40 + r % 200), static_cast<int32_t>(41 + r % 200)};
      RecommendRequest rq;
      rq.request_id = r + 1;
      rq.user_id = r % 37;
      rq.ts_ms = 1000 + r * 60'000LL;
      rq.history = history;
      rq.k = 10;
      const Recommendation rec = (*owner)->Recommend(rq);
      EXPECT_EQ(rec.items.size(), 10u);
      for (size_t p = 0; p < rec.items.size(); ++p) {
        weights[static_cast<size_t>(fx.catalog->items[static_cast<size_t>(rec.items[p].item)].provider_group)] +=
            fairness::PositionWeight(static_cast<int>(p) + 1);
      }
    }
    *shares = fairness::ExposureShares(weights);
  };
  const std::vector<double> targets = {0.1, 0.45, 0.45};  // catalog shares: 30, 135, 135 of 300
  std::vector<double> free_shares, fair_shares;
  HybridRecommender *free_model = nullptr, *fair_model = nullptr;
  std::unique_ptr<HybridRecommender> free_owner, fair_owner;
  run(false, &free_shares, &free_model, &free_owner);
  run(true, &fair_shares, &fair_model, &fair_owner);
  EXPECT_EQ(free_model->exposure_constraint(), nullptr);
  ASSERT_NE(fair_model->exposure_constraint(), nullptr);
  const double free_disparity = fairness::ExposureDisparity(free_shares, targets);
  const double fair_disparity = fairness::ExposureDisparity(fair_shares, targets);
  EXPECT_GT(free_disparity, 0.10) << "the fixture must be unfair without the constraint";
  EXPECT_LE(fair_disparity, 0.03 + 0.01);
  const ExposureSnapshot s = fair_model->exposure_constraint()->snapshot();
  EXPECT_EQ(s.targets.size(), 3u);
  EXPECT_NEAR(s.targets[0], 0.1, 1e-12);  // default targets: catalog shares
  EXPECT_EQ(s.lists, 300);
  EXPECT_GT(s.lists_adjusted, 0);
  EXPECT_NEAR(s.disparity, fair_disparity, 1e-9);  // the constraint saw exactly the served lists
  const ExposureDecision d = fair_model->exposure_constraint()->last_decision();
  EXPECT_EQ(d.request_id, 300);
  EXPECT_EQ(d.served_groups.size(), 10u);
}

TEST(Hybrid, ExposureConstraintOptionsAreChecked) {
  Fixture fx(30);
  HybridOptions o = SmallOptions();
  o.exposure_constraint = ExposureConstraintOptions{{0.7, 0.7}, 0.03};
  const Status s = HybridRecommender::CheckOptions(*fx.catalog, o);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("exposure_constraint.targets"), std::string::npos) << s.message();
  o.exposure_constraint = ExposureConstraintOptions{{}, 0.03};
  EXPECT_TRUE(HybridRecommender::CheckOptions(*fx.catalog, o).ok());
}

}  // namespace
}  // namespace steward::models
