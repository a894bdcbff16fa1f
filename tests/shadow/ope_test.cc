#include <gtest/gtest.h>

#include <cmath>

#include "data/goodbooks.h"
#include "data/obd.h"
#include "experiment/stats.h"
#include "shadow/ope.h"
#include "shadow/ope_data.h"

namespace steward::shadow {
namespace {

// Four rows computed by hand.
OpeData HandData() {
  OpeData d;
  d.reward = {1, 0, 1, 0};
  d.weight = {2, 0.5, 1, 4};
  d.q_logged = {0.5, 0.5, 0.5, 0.5};
  d.v_dm = {0.6, 0.4, 0.5, 0.5};
  return d;
}

TEST(Ope, EstimatorsMatchHandComputations) {
  OpeOptions o;
  o.switch_tau = 3;
  o.dros_lambda = 4;
  auto e = Evaluate(HandData(), EstimatorNames(), o);
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  // IPS: (2*1 + 0 + 1*1 + 0) / 4 = 0.75. SNIPS: 3 / 7.5 = 0.4.
  EXPECT_DOUBLE_EQ(e->at("ips").value, 0.75);
  EXPECT_DOUBLE_EQ(e->at("snips").value, 0.4);
  // DM: mean(v_dm) = 0.5.
  EXPECT_DOUBLE_EQ(e->at("dm").value, 0.5);
  // DR: terms 0.6 + 2*0.5, 0.4 + 0.5*(-0.5), 0.5 + 0.5, 0.5 + 4*(-0.5) = 1.6, 0.15, 1.0, -1.5 -> 0.3125.
  EXPECT_DOUBLE_EQ(e->at("dr").value, 0.3125);
  // Switch-DR (tau 3): the last row's correction is dropped: 1.6, 0.15, 1.0, 0.5 -> 0.8125.
  EXPECT_DOUBLE_EQ(e->at("switch-dr").value, 0.8125);
  // DRos (lambda 4): w_os = 4w/(w^2+4) = 1, 32/68, 0.8, 0.8 ->
  // 0.6 + 0.5, 0.4 - 0.5*32/68, 0.5 + 0.4, 0.5 - 0.4.
  EXPECT_NEAR(e->at("dros").value, (1.1 + (0.4 - 16.0 / 68.0) + 0.9 + 0.1) / 4, 1e-12);
  // CLT interval of IPS: sd of terms {2,0,1,0} = sqrt(11/12); se = sd / 2.
  const double se = std::sqrt(11.0 / 12.0) / 2.0;
  EXPECT_NEAR(e->at("ips").ci_high - e->at("ips").value, experiment::NormalQuantile(0.975) * se, 1e-12);
  // Diagnostics: ESS = 7.5^2 / 21.25.
  const OpeDiagnostics g = Diagnose(HandData());
  EXPECT_NEAR(g.ess, 7.5 * 7.5 / 21.25, 1e-12);
  EXPECT_DOUBLE_EQ(g.max_weight, 4.0);
  EXPECT_TRUE(g.unreliable);  // 4 of 7.5 total weight sits on one row
}

TEST(Ope, BadInputAndUnknownEstimators) {
  OpeData d = HandData();
  d.weight[1] = -1;
  EXPECT_EQ(Evaluate(d, {"ips"}, OpeOptions()).status().code(), StatusCode::kInvalidArgument);
  EXPECT_FALSE(Evaluate(HandData(), {"magic"}, OpeOptions()).ok());
  OpeOptions boot;
  boot.bootstrap = 200;
  auto e = Evaluate(HandData(), {"ips", "snips"}, boot);
  ASSERT_TRUE(e.ok());
  EXPECT_LE(e->at("ips").ci_low, e->at("ips").value);
  EXPECT_GE(e->at("ips").ci_high, e->at("ips").value);
}

const sim::World& World() {
  static const sim::World world = [] {
    auto books = data::LoadGoodbooks(std::string(STEWARD_DATA_DIR) + "/goodbooks/books.csv").value();
    return sim::World::Create(books, sim::WorldConfig()).value();
  }();
  return world;
}

// Importance weighting is unbiased: on 300,000 synthetic rows from the world the unbiased
// estimators land within 2% of the known truth, and their intervals cover it.
TEST(Ope, SyntheticLogFromTheWorldRecoversTheTruth) {
  const SyntheticOpe synthetic(World(), SyntheticScenario::kItemClick, 20);
  EXPECT_GT(synthetic.true_value(), synthetic.logging_value());  // the evaluated policy is better
  const OpeData d = synthetic.Generate(300000, 0.15, 3);
  auto e = Evaluate(d, EstimatorNames(), OpeOptions());
  ASSERT_TRUE(e.ok());
  for (const char* name : {"ips", "snips", "dr"}) {
    EXPECT_NEAR(e->at(name).value, synthetic.true_value(), 0.02 * synthetic.true_value()) << name;
    EXPECT_LE(e->at(name).ci_low, synthetic.true_value()) << name;
    EXPECT_GE(e->at(name).ci_high, synthetic.true_value()) << name;
  }
  EXPECT_NEAR(Diagnose(d).mean_weight, 1.0, 0.02);  // correct propensities: weights average 1
}

// Genre shelves: the reward (next book from the shelf's genre) is frequent enough for a reward
// model to remove much of the importance-weighting noise. Over independent logs, doubly robust has
// a lower mean squared error than IPS (Dudik et al. 2011; the paper reports 31% lower), although
// the linear reward model alone (DM) is biased by the noise in its history features.
TEST(Ope, GenreShelfDoublyRobustBeatsIpsOverRepeatedLogs) {
  const SyntheticOpe synthetic(World(), SyntheticScenario::kGenreShelf);
  EXPECT_GT(synthetic.true_value(), 2.0 * synthetic.logging_value());
  EXPECT_LT(synthetic.true_value(), 1.0);
  double se_ips = 0, se_dr = 0, se_dm = 0;
  for (uint64_t r = 0; r < 40; ++r) {
    auto e = Evaluate(synthetic.Generate(10000, 0.15, 100 + r), {"ips", "dr", "dm"}, OpeOptions());
    ASSERT_TRUE(e.ok());
    se_ips += std::pow(e->at("ips").value - synthetic.true_value(), 2);
    se_dr += std::pow(e->at("dr").value - synthetic.true_value(), 2);
    se_dm += std::pow(e->at("dm").value - synthetic.true_value(), 2);
  }
  EXPECT_LT(se_dr, 0.8 * se_ips);
  EXPECT_GT(se_dm, se_ips);  // the misspecified reward model on its own is worse than both
  const OpeData big = synthetic.Generate(300000, 0.15, 9);
  auto e = Evaluate(big, {"dr"}, OpeOptions());
  ASSERT_TRUE(e.ok());
  EXPECT_NEAR(e->at("dr").value, synthetic.true_value(), 0.02 * synthetic.true_value());
  EXPECT_FALSE(ParseSyntheticScenario("genre").ok());
}

// OBD men: estimate the uniform-random policy from the Bernoulli-TS log; the truth is the on-policy
// CTR of the random log (0.0046, 46 clicks in 10,000 rows).
TEST(Ope, ObdUniformPolicyFromTheBtsLog) {
  auto bts = data::LoadObdLog(std::string(STEWARD_DATA_DIR) + "/obd/bts/men/men.csv");
  ASSERT_TRUE(bts.ok());
  auto built = BuildObdOpe(*bts, "uniform", 1);
  ASSERT_TRUE(built.ok()) << built.status().ToString();
  auto e = Evaluate(built->data, {"snips", "ips", "dr"}, OpeOptions());
  ASSERT_TRUE(e.ok());
  const auto truth = experiment::WilsonInterval(46, 10000).value();
  EXPECT_LE(e->at("snips").ci_low, truth.high);
  EXPECT_GE(e->at("snips").ci_high, truth.low);
  const OpeDiagnostics g = Diagnose(built->data);
  EXPECT_GT(g.ess, 100);
  EXPECT_GT(g.max_weight, 1.0);
  EXPECT_FALSE(BuildObdOpe(*bts, "ucb1", 1).ok());
}

}  // namespace
}  // namespace steward::shadow
