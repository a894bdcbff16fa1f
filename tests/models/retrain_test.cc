#include <gtest/gtest.h>

#include <vector>

#include "models/embedding.h"
#include "models/retrain.h"

namespace steward::models {
namespace {

TEST(Retrain, ParsesTheThreeModes) {
  EXPECT_EQ(ParseRetrainWeighting("plain"), RetrainWeighting::kPlain);
  EXPECT_EQ(ParseRetrainWeighting("ips"), RetrainWeighting::kIps);
  EXPECT_EQ(ParseRetrainWeighting("balanced"), RetrainWeighting::kBalanced);
  EXPECT_FALSE(ParseRetrainWeighting("IPS").has_value());
  EXPECT_STREQ(RetrainWeightingName(RetrainWeighting::kBalanced), "balanced");
}

TEST(Retrain, IpsWeightsAreClippedInversePropensities) {
  // Propensities 0.5, 0.01 (below the clip 0.05: counts as 0.05), 1, 0 (never shown before: clipped).
  const std::vector<double> q = {0.5, 0.01, 1.0, 0.0};
  const auto w = RetrainPairWeights(RetrainWeighting::kIps, q, {}, 4, 0.05);
  ASSERT_EQ(w.size(), 4u);
  EXPECT_DOUBLE_EQ(w[0], 2.0);
  EXPECT_DOUBLE_EQ(w[1], 20.0);
  EXPECT_DOUBLE_EQ(w[2], 1.0);
  EXPECT_DOUBLE_EQ(w[3], 20.0);
}

TEST(Retrain, BalancedWeightsGiveEachGroupTheSameTotal) {
  // Three pairs in group 0 (head), one in group 2 (tail): each group's weights sum to 1.
  const std::vector<int> groups = {0, 0, 2, 0};
  const auto w = RetrainPairWeights(RetrainWeighting::kBalanced, {}, groups, 4);
  EXPECT_DOUBLE_EQ(w[0], 1.0 / 3.0);
  EXPECT_DOUBLE_EQ(w[1], 1.0 / 3.0);
  EXPECT_DOUBLE_EQ(w[2], 1.0);
  EXPECT_DOUBLE_EQ(w[3], 1.0 / 3.0);
  EXPECT_EQ(RetrainPairWeights(RetrainWeighting::kPlain, {}, {}, 3), (std::vector<double>{1, 1, 1}));
}

std::vector<SparseFeatures> FourItems() {
  return {{{0, 1.0f}}, {{1, 1.0f}}, {{2, 1.0f}}, {{3, 1.0f}}};
}

TEST(Retrain, TrainDrawsPairsInProportionToTheirWeights) {
  EmbeddingOptions o;
  o.layers = {8, 6, 4};
  o.batch = 4;
  const auto items = FourItems();
  const std::vector<std::pair<int32_t, int32_t>> pairs = {{0, 1}, {2, 3}};
  {
    // A pair of weight 0 is never drawn: every row of every batch is the pair (0, 1), so no
    // in-batch negative exists, which Train reports.
    EmbeddingModel m(o);
    const std::vector<double> w = {1.0, 0.0};
    auto r = m.Train(items, pairs, 2, w);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.status().message().find("two different items"), std::string::npos) << r.status().message();
  }
  {
    // Positive weights on four distinct pairs: batches mix them and training runs.
    EmbeddingModel m(o);
    const std::vector<std::pair<int32_t, int32_t>> four = {{0, 1}, {2, 3}, {1, 2}, {3, 0}};
    const std::vector<double> w = {1.0, 2.0, 3.0, 4.0};
    auto r = m.Train(items, four, 3, w);
    EXPECT_TRUE(r.ok()) << r.status().message();
  }
  EmbeddingModel m(o);
  EXPECT_FALSE(m.Train(items, pairs, 1, std::vector<double>{1.0}).ok());         // one weight per pair
  EXPECT_FALSE(m.Train(items, pairs, 1, std::vector<double>{0.0, 0.0}).ok());    // not all 0
  EXPECT_FALSE(m.Train(items, pairs, 1, std::vector<double>{-1.0, 2.0}).ok());   // non-negative
}

}  // namespace
}  // namespace steward::models
