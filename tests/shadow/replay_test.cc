#include <gtest/gtest.h>

#include <cmath>

#include "common/rng.h"
#include "shadow/replay.h"

namespace steward::shadow {
namespace {

// A uniformly random log over 4 items where only item 2 is ever clicked (with probability 0.5).
data::ObdLog SyntheticLog(int rows, uint64_t seed) {
  Rng rng(seed);
  data::ObdLog log;
  log.path = "synthetic";
  log.n_items = 4;
  for (int r = 0; r < rows; ++r) {
    data::ObdRow row;
    row.item_id = static_cast<int32_t>(rng.UniformInt(4));
    row.position = 1 + static_cast<int32_t>(rng.UniformInt(3));
    row.propensity = 0.25;
    row.click = row.item_id == 2 && rng.Bernoulli(0.5) ? 1 : 0;
    row.user_features = {"a", "b", "c", "d"};
    row.affinity = {0, 0, 0, 0};
    log.rows.push_back(row);
  }
  return log;
}

TEST(Replay, RandomPolicyMatchesAQuarterAndEstimatesTheAverage) {
  const auto log = SyntheticLog(20000, 1);
  auto r = Replay(log, models::PolicyKind::kRandom, 3);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_NEAR(static_cast<double>(r->matched), 5000, 4 * std::sqrt(20000 * 0.25 * 0.75));
  // The random policy's true CTR: 1/4 of the time item 2, clicked half the time = 0.125.
  EXPECT_LE(r->ci_low, 0.125);
  EXPECT_GE(r->ci_high, 0.125);
}

TEST(Replay, LinUcbLearnsTheClickedItem) {
  const auto log = SyntheticLog(20000, 2);
  auto r = Replay(log, models::PolicyKind::kLinUcb, 3);
  ASSERT_TRUE(r.ok());
  EXPECT_GT(r->ctr, 0.4);  // it ends up choosing item 2 (true CTR 0.5) almost always
  EXPECT_GT(r->ci_low, 0.125);
}

// Issue #15 item 5: replay with 0 matches reported CTR 0 with CI [0, 0].
TEST(Replay, NoMatchesIsUndefinedNotZero) {
  const auto log = SyntheticLog(0, 1);
  auto r = Replay(log, models::PolicyKind::kLinUcb, 1);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->matched, 0);
  EXPECT_TRUE(std::isnan(r->ctr) && std::isnan(r->ci_low) && std::isnan(r->ci_high));
  EXPECT_NE(r->undefined.find("matched"), std::string::npos) << r->undefined;
  auto some = Replay(SyntheticLog(2000, 1), models::PolicyKind::kRandom, 1);
  ASSERT_TRUE(some.ok());
  EXPECT_TRUE(some->undefined.empty());
}

TEST(Replay, RefusesNonUniformLogs) {
  auto log = SyntheticLog(10, 1);
  log.rows[3].propensity = 0.3;
  auto r = Replay(log, models::PolicyKind::kLinUcb, 1);
  EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition);
}

TEST(Replay, RealObdRandomMenLog) {
  auto log = data::LoadObdLog(std::string(STEWARD_DATA_DIR) + "/obd/random/men/men.csv");
  ASSERT_TRUE(log.ok());
  for (auto policy : {models::PolicyKind::kRandom, models::PolicyKind::kEpsilonGreedy, models::PolicyKind::kLinUcb,
                      models::PolicyKind::kLinTs}) {
    auto r = Replay(*log, policy, 1);
    ASSERT_TRUE(r.ok());
    // About 1 in 34 rows match (294 expected), and the interval brackets the estimate.
    EXPECT_GT(r->matched, 180);
    EXPECT_LT(r->matched, 420);
    EXPECT_LE(r->ci_low, r->ctr);
    EXPECT_GE(r->ci_high, r->ctr);
  }
}

}  // namespace
}  // namespace steward::shadow
