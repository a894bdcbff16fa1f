#include <gtest/gtest.h>

#include "models/baseline.h"

namespace steward::models {
namespace {

std::shared_ptr<const Catalog> SmallCatalog(int n) {
  auto c = std::make_shared<Catalog>();
  c->num_categories = 2;
  for (int i = 0; i < n; ++i) c->items.push_back({i + 100, i % 2, 0, static_cast<double>(n - i), 0});  // item 0 most popular
  return c;
}

std::vector<int32_t> Items(const Recommendation& r) {
  std::vector<int32_t> out;
  for (const auto& s : r.items) out.push_back(s.item);
  return out;
}

TEST(Popularity, RanksByPriorThenClicksAndSkipsHistory) {
  PopularityRecommender model(SmallCatalog(6), {.prior_weight = 1.0, .half_life_days = 3.0, .resort_every = 1});
  RecommendRequest req;
  req.k = 3;
  EXPECT_EQ(Items(model.Recommend(req)), (std::vector<int32_t>{0, 1, 2}));
  const std::vector<int32_t> history = {0};
  req.history = history;
  EXPECT_EQ(Items(model.Recommend(req)), (std::vector<int32_t>{1, 2, 3}));
  // Enough clicks on item 5 lift it to the top: score = prior + 2 log(1 + clicks).
  for (int i = 0; i < 20; ++i) model.Observe({1, 0, 5, 1, true, {}});
  EXPECT_EQ(model.Recommend(req).items[0].item, 5);
  for (const auto& s : model.Recommend(req).items) EXPECT_EQ(s.propensity, 1.0);
}

TEST(Popularity, UnreleasedItemsAreNotRecommended) {
  auto c = std::make_shared<Catalog>(*SmallCatalog(4));
  c->items[0].available_from_ms = 1000;
  PopularityRecommender model(c);
  RecommendRequest req;
  req.k = 2;
  req.ts_ms = 999;
  EXPECT_EQ(Items(model.Recommend(req)), (std::vector<int32_t>{1, 2}));
  req.ts_ms = 1000;
  EXPECT_EQ(Items(model.Recommend(req)), (std::vector<int32_t>{0, 1}));
}

TEST(Cooccurrence, RecommendsWhatWasCoClickedThenFallsBackToPopularity) {
  CooccurrenceRecommender model(SmallCatalog(8));
  // User A clicks 3 then 7; user B clicks 3 then 7 then 6. Co-click counts: (3,7)=2, (3,6)=1, (7,6)=1.
  std::vector<int32_t> a;
  for (int32_t item : {3, 7}) {
    model.Observe({1, 0, item, 1, true, a});
    a.push_back(item);
  }
  std::vector<int32_t> b;
  for (int32_t item : {3, 7, 6}) {
    model.Observe({2, 0, item, 1, true, b});
    b.push_back(item);
  }
  EXPECT_DOUBLE_EQ(model.Cooccurrence(3, 7), 2.0);
  EXPECT_DOUBLE_EQ(model.Cooccurrence(7, 3), 2.0);
  EXPECT_DOUBLE_EQ(model.Cooccurrence(3, 6), 1.0);
  EXPECT_DOUBLE_EQ(model.Cooccurrence(0, 1), 0.0);
  RecommendRequest req;
  const std::vector<int32_t> history = {3};
  req.history = history;
  req.k = 4;
  // 7 (2 co-clicks), 6 (1), then popularity fallback 0, 1 (3 is already read).
  EXPECT_EQ(Items(model.Recommend(req)), (std::vector<int32_t>{7, 6, 0, 1}));
}

class BlockEven final : public CandidateFilter {
 public:
  std::string name() const override { return "block-even"; }
  bool Allow(const RecommendRequest&, int32_t item) const override { return item % 2 == 1; }
};

TEST(Recommender, FiltersScreenEveryCandidate) {
  CooccurrenceRecommender model(SmallCatalog(8));
  model.AddFilter(std::make_shared<BlockEven>());
  RecommendRequest req;
  req.k = 3;
  EXPECT_EQ(Items(model.Recommend(req)), (std::vector<int32_t>{1, 3, 5}));
}

// Every model MakeRecommender builds screens through its filters, including models that consult
// an inner model (baseline-genre's co-occurrence candidates, epsilon-greedy's greedy base): a
// regression test for blocked items that reached users through the inner model.
TEST(Recommender, EveryNamedModelScreensThroughItsFilters) {
  auto catalog = SmallCatalog(40);
  for (const char* name : {"popularity", "baseline", "baseline-egreedy", "baseline-genre"}) {
    auto model = MakeRecommender(name, catalog, 3).value();
    model->AddFilter(std::make_shared<BlockEven>());
    for (int r = 0; r < 50; ++r) {
      RecommendRequest req;
      req.user_id = r;
      req.k = 6;
      const std::vector<int32_t> history = {static_cast<int32_t>(r % 40), static_cast<int32_t>((r * 7) % 40)};
      if (r % 2) req.history = history;  // with and without history
      const Recommendation rec = model->Recommend(req);
      EXPECT_FALSE(rec.items.empty()) << name;
      for (const auto& s : rec.items) EXPECT_EQ(s.item % 2, 1) << name << " returned blocked item " << s.item;
      model->Observe({req.user_id, 0, rec.items.front().item, 1, true, req.history});
    }
  }
}

TEST(EpsilonGreedy, PropensitiesFollowTheMixture) {
  auto catalog = SmallCatalog(20);
  // epsilon = 1: every position is uniform over the 20 eligible items.
  EpsilonGreedyRecommender uniform(catalog, std::make_unique<PopularityRecommender>(catalog), 1.0, 7);
  RecommendRequest req;
  req.k = 5;
  for (const auto& s : uniform.Recommend(req).items) EXPECT_DOUBLE_EQ(s.propensity, 1.0 / 20.0);
  // epsilon = 0.1: a greedy pick has (1 - 0.1) + 0.1/20, an explored one 0.1/20; over many draws
  // about 10% of positions are explored.
  EpsilonGreedyRecommender eg(catalog, std::make_unique<PopularityRecommender>(catalog), 0.1, 7);
  int explored = 0, total = 0;
  for (int r = 0; r < 2000; ++r) {
    const Recommendation rec = eg.Recommend(req);
    ASSERT_EQ(rec.items.size(), 5u);
    for (size_t p = 0; p < rec.items.size(); ++p) {
      const auto& s = rec.items[p];
      const bool greedy = s.item == static_cast<int32_t>(p);
      EXPECT_DOUBLE_EQ(s.propensity, greedy ? 0.9 + 0.1 / 20 : 0.1 / 20);
      explored += greedy ? 0 : 1;
      ++total;
    }
  }
  EXPECT_NEAR(static_cast<double>(explored) / total, 0.1 * 19.0 / 20.0, 0.02);
  EXPECT_EQ(eg.version(), "popularity@1+egreedy(0.1)");
}

TEST(GenreAffinity, FavoursTheUsersGenres) {
  // Categories alternate 0, 1, 0, 1, ... and popularity falls with the index. A user who read
  // two genre-1 books gets genre-1 books first, despite genre-0 books being more popular.
  // Prior popularity runs 10..1, so an affinity weight of 20 outweighs it.
  GenreAffinityRecommender::Options options;
  options.affinity_weight = 20.0;
  GenreAffinityRecommender model(SmallCatalog(10), options);
  RecommendRequest req;
  const std::vector<int32_t> history = {1, 3};
  req.history = history;
  req.k = 3;
  EXPECT_EQ(Items(model.Recommend(req)), (std::vector<int32_t>{5, 7, 9}));
  // Without history it is the baseline.
  RecommendRequest cold;
  cold.k = 3;
  EXPECT_EQ(Items(model.Recommend(cold)), (std::vector<int32_t>{0, 1, 2}));
}

TEST(MakeRecommender, KnownNamesAndAClearErrorOtherwise) {
  auto c = SmallCatalog(4);
  EXPECT_TRUE(MakeRecommender("baseline", c, 1).ok());
  EXPECT_TRUE(MakeRecommender("popularity", c, 1).ok());
  EXPECT_TRUE(MakeRecommender("baseline-egreedy", c, 1).ok());
  auto bad = MakeRecommender("hybird", c, 1);
  EXPECT_TRUE(MakeRecommender("baseline-genre", c, 1).ok());
  EXPECT_NE(bad.status().message().find("known models: popularity, baseline, baseline-egreedy, baseline-genre"), std::string::npos);
}

}  // namespace
}  // namespace steward::models
