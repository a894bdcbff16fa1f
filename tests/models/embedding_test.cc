#include <gtest/gtest.h>

#include <cmath>

#include "common/rng.h"
#include "models/embedding.h"

namespace steward::models {
namespace {

std::vector<SparseFeatures> RandomItems(int n, int buckets, uint64_t seed) {
  Rng rng(seed);
  std::vector<SparseFeatures> items;
  for (int i = 0; i < n; ++i) {
    SparseFeatures f;
    for (int k = 0; k < 3; ++k) f.emplace_back(static_cast<int32_t>(rng.UniformInt(static_cast<uint64_t>(buckets))), 0.5f + static_cast<float>(rng.Uniform()));
    std::sort(f.begin(), f.end());
    f.erase(std::unique(f.begin(), f.end(), [](auto& a, auto& b) { return a.first == b.first; }), f.end());
    items.push_back(f);
  }
  return items;
}

TEST(Embedding, OutputIsUnitLength) {
  EmbeddingOptions o;
  o.layers = {64, 32, 16};
  EmbeddingModel model(o);
  const auto items = RandomItems(10, 64, 1);
  const auto e = model.EmbedAll(items);
  ASSERT_EQ(e.size(), 10u * 16u);
  for (int i = 0; i < 10; ++i) {
    double norm = 0;
    for (int j = 0; j < 16; ++j) norm += e[static_cast<size_t>(i * 16 + j)] * e[static_cast<size_t>(i * 16 + j)];
    EXPECT_NEAR(norm, 1.0, 1e-5);
  }
  const auto one = model.Embed(items[3]);
  for (int j = 0; j < 16; ++j) EXPECT_NEAR(one[static_cast<size_t>(j)], e[static_cast<size_t>(48 + j)], 1e-5);
}

// Analytic gradients (backpropagation through the normalisation, ReLU layers and both losses)
// agree with central finite differences.
TEST(Embedding, GradientMatchesFiniteDifferences) {
  EmbeddingOptions o;
  o.layers = {12, 8, 6, 4};
  o.seed = 3;
  EmbeddingModel model(o);
  const auto items = RandomItems(6, 12, 2);
  const std::vector<std::array<int32_t, 3>> triplets = {{0, 1, 2}, {3, 4, 5}, {1, 0, 4}};
  std::vector<float> grad;
  model.LossForTriplets(items, triplets, &grad);
  auto params = model.Parameters();
  ASSERT_EQ(grad.size(), params.size());
  Rng rng(9);
  int checked = 0;
  for (int trial = 0; trial < 60; ++trial) {
    const size_t i = static_cast<size_t>(rng.UniformInt(params.size()));
    const float eps = 1e-3f;
    auto plus = params, minus = params;
    plus[i] += eps;
    minus[i] -= eps;
    EmbeddingModel a(model), b(model);
    a.SetParameters(plus);
    b.SetParameters(minus);
    const double numeric = (a.LossForTriplets(items, triplets, nullptr) - b.LossForTriplets(items, triplets, nullptr)) / (2 * eps);
    EXPECT_NEAR(grad[i], numeric, 2e-3 + 1e-2 * std::fabs(numeric)) << "parameter " << i;
    ++checked;
  }
  EXPECT_EQ(checked, 60);
}

// Items fall into 4 hidden clusters that no feature reveals (as genres are assigned per author);
// co-consumption pairs come from within clusters. Training must lower the loss and put each item's
// nearest neighbours in its own cluster far more often than the untrained model does.
TEST(Embedding, LearnsHiddenClustersFromPairs) {
  const int n = 200, clusters = 4;
  const auto items = RandomItems(n, 256, 5);
  Rng rng(6);
  std::vector<std::pair<int32_t, int32_t>> pairs;
  for (int k = 0; k < 4000; ++k) {
    const int a = static_cast<int>(rng.UniformInt(n));
    int p = static_cast<int>(rng.UniformInt(n / clusters)) * clusters + a % clusters;
    if (p == a) p = (p + clusters) % n;
    pairs.emplace_back(a, p);
  }
  EmbeddingOptions o;
  o.layers = {256, 128, 64, 32};
  o.batch = 128;
  o.total_steps = 300;
  EmbeddingModel model(o);
  auto same_cluster_at_1 = [&](const EmbeddingModel& m) {
    const auto e = m.EmbedAll(items);
    const int d = m.output_dim();
    int hits = 0;
    for (int i = 0; i < n; ++i) {
      int best = -1;
      double best_s = -2;
      for (int j = 0; j < n; ++j) {
        if (j == i) continue;
        double s = 0;
        for (int k = 0; k < d; ++k) s += e[static_cast<size_t>(i * d + k)] * e[static_cast<size_t>(j * d + k)];
        if (s > best_s) {
          best_s = s;
          best = j;
        }
      }
      hits += best % clusters == i % clusters;
    }
    return static_cast<double>(hits) / n;
  };
  const double before = same_cluster_at_1(model);
  auto stats = model.Train(items, pairs, 300);
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  EXPECT_LT(stats->loss, stats->first_loss);
  const double after = same_cluster_at_1(model);
  EXPECT_LT(before, 0.45);  // chance is 0.25
  EXPECT_GT(after, 0.9);
  EXPECT_EQ(model.steps_done(), 300);
}

TEST(Embedding, TrainingInputErrors) {
  EmbeddingOptions o;
  o.layers = {16, 8};
  EmbeddingModel model(o);
  const auto items = RandomItems(4, 16, 1);
  EXPECT_FALSE(model.Train(items, {}, 1).ok());
  const std::vector<std::pair<int32_t, int32_t>> bad = {{0, 99}};
  EXPECT_FALSE(model.Train(items, bad, 1).ok());
}

TEST(Featurizer, SameContentSameFeaturesAndUnitNorm) {
  ItemFeaturizer f(1024);
  const auto a = f.Featurize({{"author", {"Suzanne Collins"}}, {"decade", {"2000"}}, {"title", {"hunger", "games"}}});
  const auto b = f.Featurize({{"author", {"Suzanne Collins"}}, {"decade", {"2000"}}, {"title", {"hunger", "games"}}});
  EXPECT_EQ(a, b);
  double norm = 0;
  for (const auto& [bucket, v] : a) {
    EXPECT_GE(bucket, 0);
    EXPECT_LT(bucket, 1024);
    norm += v * v;
  }
  EXPECT_NEAR(norm, 1.0, 1e-6);
}

}  // namespace
}  // namespace steward::models
