#include <gtest/gtest.h>

#include <fstream>

#include "safety/blocklist_filter.h"

namespace steward::safety {
namespace {

std::string Write(const std::string& name, const std::string& text) {
  const std::string path = testing::TempDir() + "/" + name;
  std::ofstream(path) << text;
  return path;
}

TEST(Blocklist, BlocksListedItemsByCatalogId) {
  const std::vector<int64_t> ids = {100, 200, 300};
  auto f = BlocklistFilter::Load(Write("block.yaml", "items: [200]\nreason: legal takedown\n"), ids);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  models::RecommendRequest req;
  EXPECT_TRUE(f->Allow(req, 0));
  EXPECT_FALSE(f->Allow(req, 1));  // index of id 200
  EXPECT_EQ(f->reason(), "legal takedown");
}

TEST(Blocklist, RebuiltFromRecordedIdsMatchesTheFile) {
  const std::vector<int64_t> ids = {100, 200, 300};
  auto f = BlocklistFilter::Load(Write("block2.yaml", "items: [300, 100, 300]\nreason: takedown\n"), ids);
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->item_ids(), (std::vector<int64_t>{100, 300}));  // sorted, once each
  auto again = BlocklistFilter::FromIds(f->item_ids(), f->reason(), ids);
  ASSERT_TRUE(again.ok());
  models::RecommendRequest req;
  for (int32_t i = 0; i < 3; ++i) EXPECT_EQ(again->Allow(req, i), f->Allow(req, i)) << i;
  auto unknown = BlocklistFilter::FromIds({999}, "x", ids);
  EXPECT_FALSE(unknown.ok());
  EXPECT_NE(unknown.status().message().find("999"), std::string::npos);
}

// Issue #15 item 10: blocking every item served empty lists with exit 0 and no warning.
TEST(Blocklist, BlockingEveryItemIsAnErrorNamingTheFile) {
  const std::vector<int64_t> ids = {100, 200, 300};
  auto all = BlocklistFilter::Load(Write("all.yaml", "items: [300, 100, 200]\nreason: everything\n"), ids);
  ASSERT_FALSE(all.ok());
  EXPECT_EQ(all.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(all.status().message().find("all.yaml:1: field 'items' blocks every one of the 3 items"), std::string::npos)
      << all.status().message();
  EXPECT_TRUE(BlocklistFilter::Load(Write("most.yaml", "items: [300, 100]\nreason: most\n"), ids).ok());
}

TEST(Blocklist, ErrorsNameTheField) {
  const std::vector<int64_t> ids = {100};
  auto unknown = BlocklistFilter::Load(Write("b1.yaml", "items: [999]\nreason: x\n"), ids);
  EXPECT_NE(unknown.status().message().find("field 'items[0]'"), std::string::npos) << unknown.status().message();
  auto noreason = BlocklistFilter::Load(Write("b2.yaml", "items: [100]\n"), ids);
  EXPECT_NE(noreason.status().message().find("field 'reason' is required"), std::string::npos);
  auto notlist = BlocklistFilter::Load(Write("b3.yaml", "items: 100\nreason: x\n"), ids);
  EXPECT_NE(notlist.status().message().find("field 'items'"), std::string::npos);
}

}  // namespace
}  // namespace steward::safety
