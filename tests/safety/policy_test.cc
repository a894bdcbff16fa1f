// The safety policy's rules (safety/policy.h), by hand.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "safety/policy.h"

namespace steward::safety {
namespace {

std::string Write(const std::string& text) {
  const std::string path = testing::TempDir() + "/policy-" + std::to_string(getpid()) + ".yaml";
  std::ofstream(path) << text;
  return path;
}

TEST(SafetyPolicy, LoadsAndChecksEachRule) {
  auto p = LoadSafetyPolicy(Write("reason: r\nblocklist: [7]\nrestricted_categories:\n"
                                  "  - {attribute: age_band, value: \"18-29\", categories: [3]}\n"
                                  "max_impressions_per_user_item: 2\ncap_window: 1d\n"));
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(RestrictedCategories(*p, {{"age_band", "18-29"}}), (std::set<int>{3}));
  EXPECT_TRUE(RestrictedCategories(*p, {{"age_band", "50+"}}).empty());
  UserPolicyCheck young(*p, RestrictedCategories(*p, {{"age_band", "18-29"}}));
  EXPECT_EQ(young.Check(7, 0, 0), PolicyRule::kBlocklist);
  EXPECT_EQ(young.Check(8, 3, 0), PolicyRule::kRestrictedCategory);
  // Item 9: two impressions a day are allowed, the third breaks the cap; the next day starts over.
  EXPECT_EQ(young.Check(9, 1, 1000), PolicyRule::kNone);
  EXPECT_EQ(young.Check(9, 1, 2000), PolicyRule::kNone);
  EXPECT_EQ(young.Check(9, 1, 3000), PolicyRule::kFrequencyCap);
  EXPECT_EQ(young.Check(9, 1, 86'400'000 + 5), PolicyRule::kNone);
  EXPECT_STREQ(PolicyRuleName(PolicyRule::kFrequencyCap), "frequency_cap");
}

TEST(SafetyPolicy, ErrorsNameTheField) {
  const auto message = [](const std::string& text) {
    auto p = LoadSafetyPolicy(Write(text));
    EXPECT_FALSE(p.ok()) << text;
    EXPECT_EQ(p.status().code(), StatusCode::kInvalidArgument);
    return p.status().message();
  };
  EXPECT_NE(message("blocklist: [1]\n").find("reason"), std::string::npos);
  EXPECT_NE(message("reason: r\nblocklst: [1]\n").find("blocklist"), std::string::npos);
  EXPECT_NE(message("reason: r\nmax_impressions_per_user_item: -2\n").find("max_impressions_per_user_item"), std::string::npos);
  EXPECT_NE(message("reason: r\nrestricted_categories:\n  - {attribute: a, value: b, categories: []}\n").find("categories"),
            std::string::npos);
  EXPECT_NE(message("reason: r\ncap_window: soon\n").find("cap_window"), std::string::npos);
}

}  // namespace
}  // namespace steward::safety
