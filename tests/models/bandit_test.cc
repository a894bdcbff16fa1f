#include <gtest/gtest.h>

#include <Eigen/Dense>
#include <cmath>

#include "models/bandit.h"

namespace steward::models {
namespace {

std::vector<float> RandomContext(Rng& rng, int d) {
  std::vector<float> x(static_cast<size_t>(d));
  for (float& v : x) v = static_cast<float>(rng.Normal() * 0.3);
  return x;
}

// A^-1 and theta from the definition (A = lambda I + sum x x^T, b = sum r x), with Eigen's LU as
// the independent reference.
struct Direct {
  Eigen::MatrixXd inv;
  Eigen::VectorXd theta;
};
Direct Reference(const std::vector<std::vector<float>>& xs, const std::vector<double>& rs, int d, double lambda) {
  Eigen::MatrixXd a = lambda * Eigen::MatrixXd::Identity(d, d);
  Eigen::VectorXd b = Eigen::VectorXd::Zero(d);
  for (size_t k = 0; k < xs.size(); ++k) {
    Eigen::VectorXd x(d);
    for (int i = 0; i < d; ++i) x(i) = xs[k][static_cast<size_t>(i)];
    a += x * x.transpose();
    b += rs[k] * x;
  }
  Direct out;
  out.inv = a.inverse();
  out.theta = out.inv * b;
  return out;
}

TEST(LinearArm, ShermanMorrisonMatchesDirectInversionInBothRepresentations) {
  const int d = 12;
  Rng rng(5);
  LinearArm arm(d, 1.0);
  std::vector<std::vector<float>> xs;
  std::vector<double> rs;
  for (int k = 0; k < 20; ++k) {  // crosses from low rank (< d/2 updates) to dense
    xs.push_back(RandomContext(rng, d));
    rs.push_back(rng.Bernoulli(0.3) ? 1.0 : 0.0);
    arm.Update(xs.back(), rs.back());
    const Direct ref = Reference(xs, rs, d, 1.0);
    const auto inv = arm.InverseDense();
    for (int i = 0; i < d; ++i) {
      for (int j = 0; j < d; ++j) ASSERT_NEAR(inv[static_cast<size_t>(i * d + j)], ref.inv(i, j), 2e-5) << k;  // single precision
    }
    const auto probe = RandomContext(rng, d);
    Eigen::VectorXd p(d);
    for (int i = 0; i < d; ++i) p(i) = probe[static_cast<size_t>(i)];
    EXPECT_NEAR(arm.Variance(probe), p.dot(ref.inv * p), 2e-5);
    EXPECT_NEAR(arm.Mean(probe), p.dot(ref.theta), 2e-5);
  }
  EXPECT_TRUE(arm.dense());
}

TEST(Bandit, LinUcbScoreIsMeanPlusAlphaWidth) {
  BanditOptions o;
  o.dim = 4;
  o.alpha = 1.5;
  Bandit bandit(o);
  const std::vector<float> x = {1, 0, 0, 0};
  bandit.Update(7, x, 1.0);
  // After one update with x = e1 and reward 1: A = diag(2,1,1,1), theta = (0.5,0,0,0):
  // arm 7 scores 0.5 + 1.5 sqrt(0.5); an unseen arm 0 + 1.5 sqrt(1).
  std::vector<double> scores;
  const std::vector<int64_t> candidates = {7, 8};
  bandit.Score(candidates, x, scores);
  EXPECT_NEAR(scores[0], 0.5 + 1.5 * std::sqrt(0.5), 1e-6);
  EXPECT_NEAR(scores[1], 1.5, 1e-6);
  const auto choice = bandit.Choose(candidates, x);
  EXPECT_EQ(choice.index, 0u);  // 1.56 > 1.5
  EXPECT_EQ(choice.propensity, 1.0);
}

TEST(Bandit, EpsilonGreedyPropensitiesAreExact) {
  BanditOptions o;
  o.kind = PolicyKind::kEpsilonGreedy;
  o.dim = 2;
  o.epsilon = 0.2;
  Bandit bandit(o);
  const std::vector<float> x = {1, 0};
  bandit.Update(1, x, 1.0);
  const std::vector<int64_t> candidates = {0, 1, 2, 3};
  int greedy = 0;
  for (int i = 0; i < 20000; ++i) {
    const auto c = bandit.Choose(candidates, x);
    if (c.index == 1) {
      ++greedy;
      EXPECT_DOUBLE_EQ(c.propensity, 0.8 + 0.2 / 4);
    } else {
      EXPECT_DOUBLE_EQ(c.propensity, 0.2 / 4);
    }
  }
  EXPECT_NEAR(greedy / 20000.0, 0.85, 0.01);
}

TEST(Bandit, ThompsonDrawsFollowThePosterior) {
  BanditOptions o;
  o.kind = PolicyKind::kLinTs;
  o.dim = 3;
  o.ts_scale = 0.5;
  Bandit bandit(o);
  const std::vector<float> x = {1, 0, 0};
  for (int i = 0; i < 3; ++i) bandit.Update(1, x, 1.0);  // A = diag(4,1,1), theta = (0.75, 0, 0)
  const std::vector<int64_t> one = {1};
  double sum = 0, sq = 0;
  const int n = 40000;
  std::vector<double> s;
  for (int i = 0; i < n; ++i) {
    bandit.Score(one, x, s);
    sum += s[0];
    sq += s[0] * s[0];
  }
  const double mean = sum / n, var = sq / n - mean * mean;
  EXPECT_NEAR(mean, 0.75, 0.01);
  EXPECT_NEAR(var, 0.25 * 0.25, 0.005);  // v^2 x^T A^-1 x = 0.25 * 0.25
  // Monte-Carlo propensity of a clear winner is near 1.
  const std::vector<int64_t> two = {1, 2};
  for (int i = 0; i < 30; ++i) bandit.Update(2, x, 0.0);
  const auto c = bandit.Choose(two, x, 400);
  EXPECT_EQ(c.index, 0u);
  EXPECT_GT(c.propensity, 0.95);
}

TEST(Bandit, BernoulliThompsonLearnsTheBetterArm) {
  BanditOptions o;
  o.kind = PolicyKind::kBernoulliTs;
  o.seed = 3;
  Bandit bandit(o);
  Rng world(9);
  const std::vector<int64_t> arms = {0, 1, 2};
  const double p[] = {0.02, 0.05, 0.10};
  int best = 0;
  for (int t = 0; t < 5000; ++t) {
    const auto c = bandit.Choose(arms, {}, 1);
    const int64_t a = arms[c.index];
    bandit.Update(a, {}, world.Bernoulli(p[a]) ? 1.0 : 0.0);
    if (t >= 4000) best += a == 2 ? 1 : 0;
  }
  EXPECT_GT(best, 700);  // the 10% arm dominates the last 1,000 rounds
}

TEST(Bandit, LinUcbFindsTheContextualWinner) {
  // Two arms; arm 0 pays when x0 > 0, arm 1 when x0 < 0. LinUCB must learn the switch.
  BanditOptions o;
  o.dim = 2;
  o.alpha = 1.0;
  Bandit bandit(o);
  Rng rng(2);
  const std::vector<int64_t> arms = {0, 1};
  int correct = 0;
  for (int t = 0; t < 4000; ++t) {
    const float s = rng.Bernoulli(0.5) ? 1.0f : -1.0f;
    const std::vector<float> x = {s, 1.0f};
    const auto c = bandit.Choose(arms, x);
    const bool good = (c.index == 0) == (s > 0);
    bandit.Update(arms[c.index], x, rng.Bernoulli(good ? 0.6 : 0.1) ? 1.0 : 0.0);
    if (t >= 3000) correct += good ? 1 : 0;
  }
  EXPECT_GT(correct, 900);
}

TEST(Bandit, ParsePolicy) {
  EXPECT_EQ(*ParsePolicy("linucb"), PolicyKind::kLinUcb);
  EXPECT_EQ(*ParsePolicy("lints"), PolicyKind::kLinTs);
  EXPECT_FALSE(ParsePolicy("ucb1").ok());
}

}  // namespace
}  // namespace steward::models
