#include <gtest/gtest.h>

#include <cmath>

#include "data/goodbooks.h"
#include "data/obd.h"
#include "experiment/stats.h"
#include "common/rng.h"
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

// Issue #15 item 5: IPS on a log without clicks reported the interval [0, 0] as if certain.
TEST(Ope, NoClicksGivesNoIntervalRatherThanAZeroWidthOne) {
  OpeData d = HandData();
  d.reward = {0, 0, 0, 0};
  for (int bootstrap : {0, 200}) {
    OpeOptions o;
    o.bootstrap = bootstrap;
    auto e = Evaluate(d, {"ips", "snips", "dm"}, o);
    ASSERT_TRUE(e.ok());
    EXPECT_DOUBLE_EQ(e->at("ips").value, 0.0);  // the point estimate is right
    EXPECT_TRUE(std::isnan(e->at("ips").ci_low) && std::isnan(e->at("ips").ci_high)) << bootstrap;
    EXPECT_NE(e->at("ips").ci_undefined.find("no variance"), std::string::npos);
    EXPECT_FALSE(e->at("snips").ci_undefined.empty());
    EXPECT_TRUE(e->at("dm").ci_undefined.empty());  // v_dm varies: an interval exists
    EXPECT_LT(e->at("dm").ci_low, e->at("dm").ci_high);
  }
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
  const sim::SyntheticOpe synthetic(World(), sim::SyntheticScenario::kItemClick, 20);
  EXPECT_GT(synthetic.true_value(), synthetic.logging_value());  // the evaluated policy is better
  const OpeData d = FromSyntheticLog(synthetic.Generate(300000, 0.15, 3));
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
  const sim::SyntheticOpe synthetic(World(), sim::SyntheticScenario::kGenreShelf);
  EXPECT_GT(synthetic.true_value(), 2.0 * synthetic.logging_value());
  EXPECT_LT(synthetic.true_value(), 1.0);
  double se_ips = 0, se_dr = 0, se_dm = 0;
  for (uint64_t r = 0; r < 40; ++r) {
    auto e = Evaluate(FromSyntheticLog(synthetic.Generate(10000, 0.15, 100 + r)), {"ips", "dr", "dm"}, OpeOptions());
    ASSERT_TRUE(e.ok());
    se_ips += std::pow(e->at("ips").value - synthetic.true_value(), 2);
    se_dr += std::pow(e->at("dr").value - synthetic.true_value(), 2);
    se_dm += std::pow(e->at("dm").value - synthetic.true_value(), 2);
  }
  EXPECT_LT(se_dr, 0.8 * se_ips);
  EXPECT_GT(se_dm, se_ips);  // the misspecified reward model on its own is worse than both
  const OpeData big = FromSyntheticLog(synthetic.Generate(300000, 0.15, 9));
  auto e = Evaluate(big, {"dr"}, OpeOptions());
  ASSERT_TRUE(e.ok());
  EXPECT_NEAR(e->at("dr").value, synthetic.true_value(), 0.02 * synthetic.true_value());
  EXPECT_FALSE(sim::ParseSyntheticScenario("genre").ok());
}

// A slate log where clicks follow a position-based model with known examination theta = (1, 0.5,
// 0.25) and item attractions alpha_a, logged by a non-uniform policy (item a at any position with
// probability proportional to a + 1). The uniform policy's per-row value is known:
// mean_k theta_k * mean_a alpha_a. Both slate models recover it, and the examination model
// recovers theta from the log by importance weighting.
TEST(Ope, SlateLogsPerPositionAndPositionBased) {
  const int k = 6, positions = 3;
  const double theta[positions] = {1.0, 0.5, 0.25};
  const double alpha[k] = {0.05, 0.10, 0.15, 0.20, 0.25, 0.30};
  double mass = 0;
  for (int a = 0; a < k; ++a) mass += a + 1;
  data::ObdLog log;
  log.n_items = k;
  Rng rng(21);
  for (int i = 0; i < 240000; ++i) {
    data::ObdRow row;
    row.position = 1 + i % positions;
    double u = rng.Uniform() * mass;
    int a = 0;
    while (a < k - 1 && u >= a + 1) u -= ++a;
    row.item_id = a;
    row.propensity = (a + 1) / mass;
    row.click = rng.Bernoulli(theta[row.position - 1] * alpha[a]) ? 1 : 0;
    row.user_features = {"a", "b", "c", "d"};
    row.affinity.assign(k, 0.0);
    log.rows.push_back(row);
  }
  double truth = 0;
  for (int p = 0; p < positions; ++p) {
    for (int a = 0; a < k; ++a) truth += theta[p] * alpha[a] / (positions * k);
  }
  for (SlateModel model : {SlateModel::kPerPosition, SlateModel::kPositionBased}) {
    ObdOpeOptions o;
    o.slate = model;
    auto built = BuildObdOpe(log, o);
    ASSERT_TRUE(built.ok()) << built.status().ToString();
    ASSERT_EQ(built->examination.size(), 3u);
    EXPECT_NEAR(built->examination[1], 0.5, 0.05);
    EXPECT_NEAR(built->examination[2], 0.25, 0.04);
    auto e = Evaluate(built->data, {"ips", "snips", "dr"}, OpeOptions());
    ASSERT_TRUE(e.ok());
    for (const char* name : {"ips", "snips", "dr"}) {
      EXPECT_NEAR(e->at(name).value, truth, 0.04 * truth) << name << " " << static_cast<int>(model);
      EXPECT_LE(e->at(name).ci_low, truth) << name;
      EXPECT_GE(e->at(name).ci_high, truth) << name;
    }
  }
  EXPECT_FALSE(ParseSlateModel("cascade").ok());
  ObdOpeOptions bad;
  bad.policy = "ucb1";
  EXPECT_FALSE(BuildObdOpe(log, bad).ok());
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
