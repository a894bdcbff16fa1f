#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "fairness/exposure_log.h"

namespace steward::fairness {
namespace {

const std::string kData = std::string(STEWARD_TEST_DATA_DIR) + "/fairness/data/";

std::string WriteTemp(const std::string& name, const std::string& text) {
  const auto path = std::filesystem::temp_directory_path() / ("steward_fairness_" + name);
  std::ofstream(path) << text;
  return path.string();
}

// tests/fairness/data/{items,log}.csv, by hand:
//   catalog a(big, fiction, 60) b(big, poetry, 20) c(small, fiction, 10) d(small, science, 10);
//   short head: 60 + 20 = 80 = 80% of 100 -> {a, b}; tail {c, d}.
//   r1 (u1, young): a@1 clicked, c@2; r2 (u2, old): b@1, a@2, d@3 clicked; r3 (u1, young): a@1.
//   weights w1 = 1, w2 = 1/log2(3) = 0.6309298, w3 = 0.5:
//   big = 1 + 1 + w2 + 1 = 3.6309298, small = w2 + 0.5 = 1.1309298, total 4.7618595;
//   share big 0.7625025, small 0.2374975; targets 0.5 / 0.5; disparity 0.2625025;
//   ratio (0.2374975/0.5) / (0.7625025/0.5) = 0.3114711.
//   ctr young = 1 click / 2 lists = 0.5, old = 1 / 1 = 1: difference 0.5, ratio 0.5.
//   rows per item a 3, b 1, c 1, d 1: Gini = (-3*1 - 1*1 + 1*1 + 3*3) / (4 * 6) = 0.25; coverage 1.
//   APLT = (1/2 + 1/3 + 0) / 3 = 0.2777778; ARP = (35 + 30 + 60) / 3 = 41.666667.
//   categories fiction 4, poetry 1, science 1: H = -(2/3 ln 2/3 + 2 * 1/6 ln 1/6) = 0.8675632;
//   / ln 3 = 0.7896901.
//   novelty = (3 * -log2 0.6 - log2 0.1 - log2 0.2 - log2 0.1) / 6 = 1.8627802.
TEST(ExposureLogAudit, HandComputedExample) {
  auto catalog = LoadLogCatalog(kData + "items.csv");
  ASSERT_TRUE(catalog.ok()) << catalog.status().ToString();
  auto log = LoadExposureLog(kData + "log.csv", *catalog);
  ASSERT_TRUE(log.ok()) << log.status().ToString();
  const ExposureLogAudit a = AuditExposureLog(*log, *catalog);
  EXPECT_EQ(a.lists, 3);
  EXPECT_EQ(a.users, 2);
  EXPECT_NEAR(a.exposure_share.at("big"), 0.7625024946924551, 1e-12);
  EXPECT_NEAR(a.exposure_share.at("small"), 0.23749750530754485, 1e-12);
  EXPECT_DOUBLE_EQ(a.target_share.at("big"), 0.5);
  EXPECT_NEAR(a.exposure_disparity, 0.2625024946924551, 1e-12);
  EXPECT_NEAR(a.exposure_ratio, 0.31147111905953334, 1e-12);
  EXPECT_DOUBLE_EQ(a.user_groups.at("young").ctr, 0.5);
  EXPECT_EQ(a.user_groups.at("young").lists, 2);
  EXPECT_DOUBLE_EQ(a.user_groups.at("old").ctr, 1.0);
  EXPECT_DOUBLE_EQ(a.ctr_difference, 0.5);
  EXPECT_DOUBLE_EQ(a.ctr_ratio, 0.5);
  EXPECT_DOUBLE_EQ(a.gini, 0.25);
  EXPECT_DOUBLE_EQ(a.coverage, 1.0);
  EXPECT_NEAR(a.aplt, 0.2777777777777778, 1e-12);
  EXPECT_NEAR(a.arp, 41.666666666666664, 1e-9);
  EXPECT_NEAR(a.diversity_index, 0.7896900821428474, 1e-12);
  EXPECT_NEAR(a.novelty, 1.8627801778601174, 1e-12);
  const auto j = nlohmann::json::parse(ExposureLogAuditJson(a));
  for (const char* key : {"lists", "users", "exposure_share", "target_share", "exposure_disparity", "exposure_ratio",
                          "user_groups", "ctr_difference", "ctr_ratio", "gini", "coverage", "aplt", "arp",
                          "diversity_index", "novelty"}) {
    EXPECT_TRUE(j.contains(key)) << key;
  }
}

TEST(ExposureLogAudit, EmptyLogGivesDocumentedZeros) {
  auto catalog = LoadLogCatalog(kData + "items.csv");
  ASSERT_TRUE(catalog.ok());
  auto log = LoadExposureLog(WriteTemp("empty.csv", "request_id,user_id,user_group,item_id,position,clicked\n"), *catalog);
  ASSERT_TRUE(log.ok()) << log.status().ToString();
  const ExposureLogAudit a = AuditExposureLog(*log, *catalog);
  EXPECT_EQ(a.lists, 0);
  EXPECT_EQ(a.exposure_share.at("big"), 0.0);
  EXPECT_EQ(a.exposure_disparity, 0.5);  // every group misses its whole target
  EXPECT_EQ(a.exposure_ratio, 1.0);      // every ratio is 0: no group is behind another
  EXPECT_TRUE(a.user_groups.empty());
  EXPECT_EQ(a.ctr_ratio, 1.0);
  EXPECT_EQ(a.gini, 0.0);
  EXPECT_EQ(a.aplt, 0.0);
  EXPECT_EQ(a.novelty, 0.0);
  EXPECT_FALSE(std::isnan(a.diversity_index));
}

TEST(ExposureLogAudit, DuplicatedItemsAndZeroPopularity) {
  auto catalog = LoadLogCatalog(WriteTemp("items0.csv", "item_id,group,category,popularity\nx,g,c1,0\ny,g,c2,4\n"));
  ASSERT_TRUE(catalog.ok());
  // One list showing y twice and x once: rows count (y 2, x 1); x has popularity 0 and is left out
  // of novelty (self-information undefined): novelty = -log2(4/4) = 0.
  auto log = LoadExposureLog(WriteTemp("dup.csv", "request_id,user_id,user_group,item_id,position,clicked\n"
                                                  "1,u,h,y,1,0\n1,u,h,y,2,1\n1,u,h,x,3,0\n"),
                             *catalog);
  ASSERT_TRUE(log.ok()) << log.status().ToString();
  const ExposureLogAudit a = AuditExposureLog(*log, *catalog);
  EXPECT_EQ(a.lists, 1);
  EXPECT_EQ(a.novelty, 0.0);
  EXPECT_DOUBLE_EQ(a.user_groups.at("h").ctr, 1.0);
  // Short head: y alone carries 100% >= 80%: x is tail: APLT = 1/3.
  EXPECT_NEAR(a.aplt, 1.0 / 3.0, 1e-12);
  // Gini of (1, 2) = (-1*1 + 1*2) / (2 * 3) = 1/6.
  EXPECT_NEAR(a.gini, 1.0 / 6.0, 1e-12);
}

TEST(ExposureLogAudit, BadInputNamesTheFieldAndLine) {
  auto catalog = LoadLogCatalog(kData + "items.csv");
  ASSERT_TRUE(catalog.ok());
  const std::string header = "request_id,user_id,user_group,item_id,position,clicked\n";
  auto unknown = LoadExposureLog(WriteTemp("u.csv", header + "1,u,h,zz,1,0\n"), *catalog);
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(unknown.status().message().find("item_id"), std::string::npos);
  EXPECT_NE(unknown.status().message().find(":2"), std::string::npos) << unknown.status().message();
  auto position = LoadExposureLog(WriteTemp("p.csv", header + "1,u,h,a,0,0\n"), *catalog);
  ASSERT_FALSE(position.ok());
  EXPECT_NE(position.status().message().find("position"), std::string::npos);
  auto clicked = LoadExposureLog(WriteTemp("c.csv", header + "1,u,h,a,1,yes\n"), *catalog);
  ASSERT_FALSE(clicked.ok());
  EXPECT_NE(clicked.status().message().find("clicked"), std::string::npos);
  auto users = LoadExposureLog(WriteTemp("us.csv", header + "1,u,h,a,1,0\n1,v,h,b,2,0\n"), *catalog);
  ASSERT_FALSE(users.ok());
  EXPECT_NE(users.status().message().find("user_id"), std::string::npos);
  auto missing = LoadExposureLog(WriteTemp("m.csv", "request_id,user_id,item_id,position,clicked\n"), *catalog);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("user_group"), std::string::npos);
  auto dup = LoadLogCatalog(WriteTemp("di.csv", "item_id,group,category,popularity\na,g,c,1\na,g,c,2\n"));
  ASSERT_FALSE(dup.ok());
  EXPECT_NE(dup.status().message().find("item_id"), std::string::npos);
  auto negative = LoadLogCatalog(WriteTemp("ni.csv", "item_id,group,category,popularity\na,g,c,-1\n"));
  ASSERT_FALSE(negative.ok());
  EXPECT_NE(negative.status().message().find("popularity"), std::string::npos);
  auto none = LoadLogCatalog(WriteTemp("no.csv", "item_id,group,category,popularity\n"));
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace steward::fairness
