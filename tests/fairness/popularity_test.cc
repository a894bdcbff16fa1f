#include <gtest/gtest.h>

#include <vector>

#include "fairness/popularity.h"

namespace steward::fairness {
namespace {

TEST(ShortHead, SmallestPrefixReachingEightyPercent) {
  // Total 100; descending 50, 30 reach 80 = 80% after two items: head = {0, 1}.
  const std::vector<double> pop = {50, 30, 10, 5, 5};
  EXPECT_EQ(ShortHead(pop), (std::vector<bool>{true, true, false, false, false}));
  // 79.9% after two items needs a third: ties keep catalog order (item 2 before item 3).
  const std::vector<double> pop2 = {50, 29.9, 10, 10, 0.1};
  EXPECT_EQ(ShortHead(pop2), (std::vector<bool>{true, true, true, false, false}));
  // No popularity mass: everything is long tail.
  EXPECT_EQ(ShortHead(std::vector<double>{0, 0}), (std::vector<bool>{false, false}));
}

TEST(PopularityBias, HandComputedArpApltAclt) {
  const std::vector<double> pop = {50, 30, 10, 5, 5};
  const auto head = ShortHead(pop);
  const std::vector<std::vector<int32_t>> lists = {{0, 2, 3}, {1, 4}};
  const PopularityBias b = ComputePopularityBias(lists, pop, head);
  // List 1: tail 2 of 3, mean popularity 65/3; list 2: tail 1 of 2, mean popularity 17.5.
  EXPECT_NEAR(b.aplt, (2.0 / 3.0 + 0.5) / 2.0, 1e-12);   // 7/12
  EXPECT_NEAR(b.arp, (65.0 / 3.0 + 17.5) / 2.0, 1e-12);  // 19.58333
  EXPECT_NEAR(b.aclt, 1.5, 1e-12);
  // A duplicated item counts twice: [0, 0, 2] has tail 1 of 3.
  EXPECT_NEAR(ComputePopularityBias({{0, 0, 2}}, pop, head).aplt, 1.0 / 3.0, 1e-12);
  EXPECT_EQ(ComputePopularityBias({}, pop, head).arp, 0.0);
}

TEST(PopularityBias, RspAndReoAreRelativeStd) {
  // Rates 0.3 and 0.1: mean 0.2, population std 0.1, RSP = 0.5 (Zhu et al. 2021, eq. for PopRSP).
  EXPECT_NEAR(PopRsp(std::vector<double>{30, 10}, std::vector<double>{100, 100}), 0.5, 1e-12);
  // Equal hit rates: no opportunity bias.
  EXPECT_NEAR(PopReo(std::vector<double>{5, 10}, std::vector<double>{10, 20}), 0.0, 1e-12);
  // A group with no candidates is left out.
  EXPECT_NEAR(PopRsp(std::vector<double>{30, 0}, std::vector<double>{100, 0}), 0.0, 1e-12);
}

}  // namespace
}  // namespace steward::fairness
