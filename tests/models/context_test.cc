#include <gtest/gtest.h>

#include <cmath>

#include "models/context.h"

namespace steward::models {
namespace {

TEST(Context, LayoutMatchesTheDocumentation) {
  ContextBuilder builder(4, 1);
  ASSERT_EQ(builder.dim(), 78);
  std::vector<float> x(78);
  const std::vector<float> embedding = {1, 0, 0, 0};
  ContextInput in;
  in.ts_ms = 1767225600000 + 20 * 3'600'000LL;  // 2026-01-01 20:00 UTC, a Thursday
  in.user_group = 2;
  in.new_user = true;
  in.activity = std::exp(1.0) - 1;
  in.history_length = 3;
  in.recent_embedding_mean = embedding;
  builder.Build(in, x);
  for (int h = 0; h < 24; ++h) EXPECT_EQ(x[static_cast<size_t>(h)], h == 20 ? 1.0f : 0.0f);
  for (int d = 0; d < 7; ++d) EXPECT_EQ(x[static_cast<size_t>(24 + d)], d == 3 ? 1.0f : 0.0f) << d;  // Thursday
  EXPECT_EQ(x[33], 1.0f);
  EXPECT_EQ(x[34], 1.0f);
  EXPECT_NEAR(x[35], 1.0f, 1e-6);
  EXPECT_NEAR(x[36], std::log(4.0f), 1e-6);
  EXPECT_EQ(x[77], 1.0f);
  double norm = 0;
  for (int i = 37; i < 77; ++i) norm += x[static_cast<size_t>(i)] * x[static_cast<size_t>(i)];
  EXPECT_GT(norm, 0.1);  // a random projection of a unit vector keeps its length roughly (JL)
  EXPECT_LT(norm, 3.0);
  // Same seed, same projection.
  ContextBuilder again(4, 1);
  std::vector<float> y(78);
  again.Build(in, y);
  EXPECT_EQ(x, y);
}

TEST(Normalizer, ZScoresAndClipsBeyondThreeSigma) {
  FeatureNormalizer norm({true, false});
  // Values 1..9 (mean 5, sample sd sqrt(7.5)) and a one-hot column that must pass through.
  for (int v = 1; v <= 9; ++v) {
    const std::vector<float> x = {static_cast<float>(v), 1.0f};
    norm.Observe(x);
  }
  std::vector<float> x = {8.0f, 1.0f};
  norm.Apply(x);
  EXPECT_NEAR(x[0], 3.0 / std::sqrt(7.5), 1e-6);
  EXPECT_EQ(x[1], 1.0f);
  std::vector<float> outlier = {100.0f, 0.0f};
  norm.Apply(outlier);
  EXPECT_FLOAT_EQ(outlier[0], 3.0f);
  EXPECT_DOUBLE_EQ(norm.clipped_share(), 0.5);
}

}  // namespace
}  // namespace steward::models
