#include <gtest/gtest.h>

#include <algorithm>

#include <cmath>
#include <numeric>

#include "data/goodbooks.h"
#include "sim/world.h"

namespace steward::sim {
namespace {

const std::vector<data::Book>& Books() {
  static const auto books = data::LoadGoodbooks(std::string(STEWARD_DATA_DIR) + "/goodbooks/books.csv").value();
  return books;
}

World MakeWorld(uint64_t seed) {
  WorldConfig config;
  config.seed = seed;
  config.initial_users = 500;
  return World::Create(Books(), config).value();
}

TEST(World, PositionOneIsExamined2Point7TimesPositionFive) {
  // The paper (seeds/000): users are 2.7x more likely to interact at position 1 than at 5.
  World w = MakeWorld(1);
  EXPECT_NEAR(w.Examination(1) / w.Examination(5), 2.7, 1e-3);
  EXPECT_DOUBLE_EQ(w.Examination(1), 1.0);
  for (int p = 1; p < 10; ++p) EXPECT_GT(w.Examination(p), w.Examination(p + 1));
  // And for clicks on the same item, empirically.
  size_t user = 0, item = 0;
  double best = 0;
  for (size_t i = 0; i < 2000; ++i) {
    if (w.Attraction(0, i) > best) {
      best = w.Attraction(0, i);
      item = i;
    }
  }
  EXPECT_NEAR(w.ClickProbability(user, item, 1) / w.ClickProbability(user, item, 5), 2.7, 1e-3);
}

// List quality, computed here independently by brute force: sort every released item's attraction,
// sum examination x attraction over the best k, and divide the served list's expected clicks.
TEST(World, ListQualityIsExpectedClicksOverTheBestList) {
  World w = MakeWorld(3);
  const size_t user = 7;
  const int64_t ts = w.now_ms();
  std::vector<std::pair<double, int32_t>> all;
  for (size_t i = 0; i < w.items().size(); ++i) {
    if (w.Available(i, ts)) all.emplace_back(w.Attraction(user, i), static_cast<int32_t>(i));
  }
  std::sort(all.begin(), all.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  std::vector<int32_t> best, reversed;
  double oracle = 0;
  for (int p = 0; p < 5; ++p) {
    best.push_back(all[static_cast<size_t>(p)].second);
    oracle += w.Examination(p + 1) * all[static_cast<size_t>(p)].first;
  }
  EXPECT_NEAR(w.ListQuality(user, best, ts), 1.0, 1e-12);
  reversed.assign(best.rbegin(), best.rend());
  double expected = 0;
  for (int p = 0; p < 5; ++p) expected += w.Examination(p + 1) * w.Attraction(user, static_cast<size_t>(reversed[static_cast<size_t>(p)]));
  EXPECT_NEAR(w.ListQuality(user, reversed, ts), expected / oracle, 1e-12);
  EXPECT_LT(w.ListQuality(user, reversed, ts), 1.0);
  const std::vector<int32_t> worst = {all.back().second};
  EXPECT_NEAR(w.ListQuality(user, worst, ts), all.back().first / all.front().first, 1e-12);
}

TEST(World, CatalogIsTheRealBooks) {
  World w = MakeWorld(1);
  ASSERT_EQ(w.items().size(), 10000u);
  EXPECT_EQ(w.items()[0].title, "The Hunger Games (The Hunger Games, #1)");
  EXPECT_EQ(w.ItemIndex(1), 0);
  EXPECT_EQ(w.ItemIndex(99999), -1);
  // Books of one author share a genre.
  int rowling_category = -1;
  for (const Item& it : w.items()) {
    if (it.author != "J.K. Rowling") continue;
    if (rowling_category < 0) rowling_category = it.category;
    EXPECT_EQ(it.category, rowling_category);
  }
  // All K categories are used; provider groups follow the ratings mass (head authors are few).
  std::vector<int> per_category(static_cast<size_t>(w.config().num_categories)), per_group(3);
  for (const Item& it : w.items()) {
    ++per_category[static_cast<size_t>(it.category)];
    ++per_group[static_cast<size_t>(it.provider)];
    EXPECT_NEAR(std::sqrt(std::inner_product(it.latent.begin(), it.latent.end(), it.latent.begin(), 0.0)), 1.0, 1e-5);
  }
  for (int c : per_category) EXPECT_GT(c, 0);
  EXPECT_LT(per_group[0], per_group[2]);
  EXPECT_EQ(w.items()[0].provider, ProviderGroup::kHead);
}

TEST(World, SameSeedSameWorldAndTraffic) {
  World a = MakeWorld(5), b = MakeWorld(5), c = MakeWorld(6);
  EXPECT_EQ(a.users()[3].preference, b.users()[3].preference);
  EXPECT_NE(a.users()[3].preference, c.users()[3].preference);
  for (int i = 0; i < 2000; ++i) {
    const Request ra = a.NextRequest(5000), rb = b.NextRequest(5000);
    ASSERT_EQ(ra.ts_ms, rb.ts_ms);
    ASSERT_EQ(ra.user_index, rb.user_index);
    ASSERT_EQ(a.SimulateClick(ra.user_index, static_cast<size_t>(i % 100), 1),
              b.SimulateClick(rb.user_index, static_cast<size_t>(i % 100), 1));
  }
}

TEST(World, NewItemsAndUsersArriveOverTime) {
  World w = MakeWorld(2);
  const int64_t start = w.config().start_ms;
  size_t held_back = 0;
  for (size_t i = 0; i < w.items().size(); ++i) held_back += w.Available(i, start) ? 0 : 1;
  EXPECT_EQ(held_back, 500u);  // 5% of 10,000 newest books
  const size_t users_at_start = w.users().size();
  w.AdvanceTo(start + 3 * 86'400'000LL + 1);
  EXPECT_EQ(w.users().size(), users_at_start + 3u * static_cast<size_t>(w.config().new_users_per_day));
  EXPECT_TRUE(w.users().back().is_new);
  size_t released = 0;
  for (size_t i = 0; i < w.items().size(); ++i) released += (!w.Available(i, start) && w.Available(i, w.now_ms())) ? 1 : 0;
  EXPECT_NEAR(static_cast<double>(released), 500.0 * 3 / 14, 2.0);
}

TEST(World, ConsumedItemsAreNotClickedAgainAndPreferencesDrift) {
  World w = MakeWorld(3);
  const auto before = w.users()[0].preference;
  size_t item = 0;
  while (!w.SimulateClick(0, item, 1)) item = (item + 1) % 50;
  EXPECT_EQ(w.Attraction(0, item), 0.0);
  w.AdvanceTo(w.config().start_ms + 2 * 86'400'000LL);
  double dot = 0;
  for (size_t d = 0; d < before.size(); ++d) dot += before[d] * w.users()[0].preference[d];
  EXPECT_LT(dot, 0.9999);
  EXPECT_GT(dot, 0.9);
}

TEST(World, TrafficFollowsADailyCycle) {
  World w = MakeWorld(4);
  std::vector<int> by_hour(24);
  for (int i = 0; i < 40000; ++i) ++by_hour[static_cast<size_t>((w.NextRequest(10000).ts_ms % 86'400'000) / 3'600'000)];
  // rate(h) = 1 + 0.5 sin(2 pi (h - 14) / 24): peak at 20:00, trough at 08:00, ratio 3.
  EXPECT_GT(by_hour[20], 2 * by_hour[8]);
}

TEST(World, RejectsBadConfig) {
  WorldConfig config;
  config.num_categories = 1;
  EXPECT_FALSE(World::Create(Books(), config).ok());
  EXPECT_FALSE(World::Create({}, WorldConfig()).ok());
}

}  // namespace
}  // namespace steward::sim
