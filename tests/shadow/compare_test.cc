#include <gtest/gtest.h>

#include "shadow/compare.h"

namespace steward::shadow {
namespace {

TEST(JaccardAtK, HandValues) {
  const std::vector<int64_t> a = {1, 2, 3, 4}, b = {3, 4, 5, 6};
  EXPECT_DOUBLE_EQ(JaccardAtK(a, b, 4), 2.0 / 6.0);
  EXPECT_DOUBLE_EQ(JaccardAtK(a, b, 2), 0.0);  // {1,2} vs {3,4}
  EXPECT_DOUBLE_EQ(JaccardAtK(a, a, 4), 1.0);
  EXPECT_DOUBLE_EQ(JaccardAtK({}, {}, 10), 1.0);
  EXPECT_DOUBLE_EQ(JaccardAtK(a, {}, 10), 0.0);
}

TEST(OverlapTracker, MeanOverRequests) {
  OverlapTracker t(2);
  const std::vector<int64_t> a = {1, 2}, b = {1, 3}, c = {1, 2};
  t.Add(a, b);  // 1/3
  t.Add(a, c);  // 1
  EXPECT_DOUBLE_EQ(t.mean(), (1.0 / 3.0 + 1.0) / 2.0);
  EXPECT_EQ(t.count(), 2);
}

}  // namespace
}  // namespace steward::shadow
