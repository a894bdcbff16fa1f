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
