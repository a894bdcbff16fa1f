#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "common/rng.h"
#include "models/vector_index.h"

namespace steward::models {
namespace {

std::vector<float> UnitVectors(int n, int d, uint64_t seed) {
  Rng rng(seed);
  std::vector<float> v(static_cast<size_t>(n * d));
  for (int i = 0; i < n; ++i) {
    double norm = 0;
    for (int j = 0; j < d; ++j) {
      const double x = rng.Normal();
      v[static_cast<size_t>(i * d + j)] = static_cast<float>(x);
      norm += x * x;
    }
    for (int j = 0; j < d; ++j) v[static_cast<size_t>(i * d + j)] /= static_cast<float>(std::sqrt(norm));
  }
  return v;
}

std::vector<int64_t> Iota(int n, int64_t base = 0) {
  std::vector<int64_t> ids(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) ids[static_cast<size_t>(i)] = base + i;
  return ids;
}

// Brute-force inner-product top-k: the independent reference.
std::vector<int64_t> BruteForce(const std::vector<float>& items, const std::vector<int64_t>& ids, std::span<const float> q, int d,
                                int k) {
  std::vector<std::pair<float, int64_t>> scored;
  for (size_t i = 0; i < ids.size(); ++i) {
    float s = 0;
    for (int j = 0; j < d; ++j) s += items[i * static_cast<size_t>(d) + static_cast<size_t>(j)] * q[static_cast<size_t>(j)];
    scored.emplace_back(s, ids[i]);
  }
  std::partial_sort(scored.begin(), scored.begin() + k, scored.end(), [](auto& a, auto& b) { return a.first > b.first; });
  std::vector<int64_t> out;
  for (int i = 0; i < k; ++i) out.push_back(scored[static_cast<size_t>(i)].second);
  return out;
}

TEST(VectorIndex, FlatIsExact) {
  const int d = 16, n = 500;
  auto index = VectorIndex::Create(d).value();
  const auto items = UnitVectors(n, d, 1);
  const auto ids = Iota(n, 1000);
  ASSERT_TRUE(index->Add(ids, items).ok());
  EXPECT_EQ(index->size(), n);
  const auto queries = UnitVectors(20, d, 2);
  for (int q = 0; q < 20; ++q) {
    std::span<const float> query(queries.data() + q * d, static_cast<size_t>(d));
    auto result = index->Search(query, 10);
    ASSERT_TRUE(result.ok());
    std::vector<int64_t> got;
    for (const auto& nb : *result) got.push_back(nb.id);
    EXPECT_EQ(got, BruteForce(items, ids, query, d, 10));
    for (size_t i = 1; i < result->size(); ++i) EXPECT_GE((*result)[i - 1].score, (*result)[i].score);
  }
}

// Single queries on a flat index take Steward's matrix-vector path, batches take FAISS's: both must
// give the brute-force answer, including k larger than the index and tied scores.
TEST(VectorIndex, SingleQueryPathAgreesWithFaissBatchPath) {
  const int d = 8, n = 300;
  auto index = VectorIndex::Create(d).value();
  auto items = UnitVectors(n, d, 4);
  // Items 10 and 11 are identical: a tie that must come back in a fixed order.
  std::copy(items.begin() + 10 * d, items.begin() + 11 * d, items.begin() + 11 * d);
  const auto ids = Iota(n, 50);
  ASSERT_TRUE(index->Add(ids, items).ok());
  const auto queries = UnitVectors(2, d, 5);
  std::vector<Neighbor> batch;
  ASSERT_TRUE(index->SearchBatch(queries, 40, batch).ok());
  for (int q = 0; q < 2; ++q) {
    std::span<const float> query(queries.data() + q * d, static_cast<size_t>(d));
    const auto single = index->Search(query, 40).value();
    ASSERT_EQ(single.size(), 40u);
    const auto expected = BruteForce(items, ids, query, d, 40);
    for (size_t i = 0; i < single.size(); ++i) {
      EXPECT_NEAR(single[i].score, batch[static_cast<size_t>(q) * 40 + i].score, 1e-5) << i;
      if (i + 1 < single.size()) {
        EXPECT_GE(single[i].score, single[i + 1].score);
      }
    }
    std::vector<int64_t> got;
    for (const auto& nb : single) got.push_back(nb.id);
    std::vector<int64_t> sorted_got = got, sorted_expected = expected;
    std::sort(sorted_got.begin(), sorted_got.end());
    std::sort(sorted_expected.begin(), sorted_expected.end());
    EXPECT_EQ(sorted_got, sorted_expected);
  }
  std::span<const float> at_tie(items.data() + 10 * d, static_cast<size_t>(d));
  const auto tie = index->Search(at_tie, 2).value();
  EXPECT_EQ(tie[0].id, 60);
  EXPECT_EQ(tie[1].id, 61);
  EXPECT_EQ(index->Search(at_tie, n + 25).value().size(), static_cast<size_t>(n));  // k > n: all items
}

TEST(VectorIndex, AddRemoveAndReplaceAtRunTime) {
  for (const char* factory : {"Flat", "HNSW32"}) {
    const int d = 8;
    VectorIndexOptions o;
    o.factory = factory;
    auto index = VectorIndex::Create(d, o).value();
    const auto items = UnitVectors(200, d, 3);
    ASSERT_TRUE(index->Add(Iota(200), items).ok()) << factory;
    std::span<const float> first(items.data(), static_cast<size_t>(d));
    EXPECT_EQ(index->Search(first, 1).value()[0].id, 0) << factory;
    // A removed item is never returned.
    const std::vector<int64_t> gone = {0};
    ASSERT_TRUE(index->Remove(gone).ok());
    const auto after_remove = index->Search(first, 50).value();
    for (const auto& nb : after_remove) EXPECT_NE(nb.id, 0) << factory;
    EXPECT_EQ(index->size(), 199);
    // A new item (cold start) is retrievable at once.
    const std::vector<int64_t> fresh = {5000};
    ASSERT_TRUE(index->Add(fresh, first).ok());
    EXPECT_EQ(index->Search(first, 1).value()[0].id, 5000) << factory;
    // Re-adding an id replaces its vector.
    std::span<const float> other(items.data() + 7 * d, static_cast<size_t>(d));
    ASSERT_TRUE(index->Add(fresh, other).ok());
    EXPECT_EQ(index->size(), 200);
    const auto top = index->Search(other, 2).value();
    EXPECT_TRUE(top[0].id == 5000 || top[0].id == 7) << factory;
    // Removing many (past the rebuild threshold for HNSW) keeps results correct.
    const auto many = Iota(150, 10);
    ASSERT_TRUE(index->Remove(many).ok());
    const auto after_many = index->Search(first, 40).value();
    for (const auto& nb : after_many) {
      EXPECT_TRUE(nb.id < 10 || nb.id >= 160) << factory << " returned removed " << nb.id;
    }
  }
}

TEST(VectorIndex, IvfNeedsTrainingAndErrorsAreClear) {
  VectorIndexOptions o;
  o.factory = "IVF4,Flat";
  auto index = VectorIndex::Create(8, o).value();
  const auto items = UnitVectors(400, 8, 4);
  EXPECT_EQ(index->Add(Iota(400), items).code(), StatusCode::kFailedPrecondition);
  ASSERT_TRUE(index->Train(items).ok());
  ASSERT_TRUE(index->Add(Iota(400), items).ok());
  const std::vector<int64_t> gone = {3};
  ASSERT_TRUE(index->Remove(gone).ok());
  EXPECT_EQ(index->size(), 399);

  o.factory = "NotAnIndex";
  auto bad = VectorIndex::Create(8, o);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("'NotAnIndex'"), std::string::npos);
  auto flat = VectorIndex::Create(8).value();
  EXPECT_EQ(flat->Add(Iota(2), UnitVectors(1, 8, 1)).code(), StatusCode::kInvalidArgument);
  EXPECT_FALSE(flat->Search(std::vector<float>(8, 0.f), 0).ok());
}

}  // namespace
}  // namespace steward::models
