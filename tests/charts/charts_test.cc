#include "charts/charts.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

namespace steward::charts {
namespace {

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Width and height from the PNG's IHDR chunk (big-endian at bytes 16..23, PNG spec section 11.2.2).
std::pair<int, int> PngSize(const std::string& png) {
  auto be = [&](size_t at) {
    return (static_cast<unsigned char>(png[at]) << 24) | (static_cast<unsigned char>(png[at + 1]) << 16) |
           (static_cast<unsigned char>(png[at + 2]) << 8) | static_cast<unsigned char>(png[at + 3]);
  };
  return {static_cast<int>(be(16)), static_cast<int>(be(20))};
}

// Hand-computed from Heckbert's algorithm (Graphics Gems, 1990): range 0..0.87 -> nice range 1,
// step nice(1/5 = 0.2) = 0.2; 3..97 with 5 ticks -> range nice(94) = 100, step 20; -1.3..2.1 with
// 4 -> range 5, step nice(1.25) = 1.
TEST(Charts, NiceTicksFollowHeckbert) {
  const auto a = NiceTicks(0, 0.87, 5);
  ASSERT_EQ(a.size(), 6u);
  EXPECT_DOUBLE_EQ(a.front(), 0.0);
  EXPECT_NEAR(a[1], 0.2, 1e-12);
  EXPECT_NEAR(a.back(), 1.0, 1e-12);
  const auto b = NiceTicks(3, 97, 5);
  EXPECT_EQ(b, (std::vector<double>{0, 20, 40, 60, 80, 100}));
  const auto c = NiceTicks(-1.3, 2.1, 4);
  EXPECT_EQ(c, (std::vector<double>{-2, -1, 0, 1, 2, 3}));
  const auto flat = NiceTicks(5, 5, 5);  // a constant series still gets an axis around it
  EXPECT_LT(flat.front(), 5);
  EXPECT_GT(flat.back(), 5);
}

TEST(Charts, WritesPngsOfTheRequestedSize) {
  const std::string dir = ::testing::TempDir();
  LineChart line{"overlap@10 per hour", "hour", "overlap", {{"overlap@10", {0, 1, 2, 3}, {0.2, 0.25, 0.22, 0.3}},
                                                           {"RBO", {0, 1, 2, 3}, {0.4, 0.41, 0.39, 0.45}}}};
  ASSERT_TRUE(WritePng(line, dir + "/line.png", {640, 320}).ok());
  const std::string png = ReadAll(dir + "/line.png");
  ASSERT_GT(png.size(), 1000u);
  EXPECT_EQ(png.substr(1, 3), "PNG");
  EXPECT_EQ(PngSize(png), std::make_pair(640, 320));

  BarChart bars{"latency", "ms", {"p50", "p95", "p99"}, {"served", "shadow"}, {{1, 2, 3}, {2, 4, 8}}};
  ASSERT_TRUE(WritePng(bars, dir + "/bars.png").ok());
  const std::string bar_png = ReadAll(dir + "/bars.png");
  EXPECT_EQ(PngSize(bar_png), std::make_pair(800, 400));
  // Different data draws different pixels.
  bars.values[1][2] = 1;
  ASSERT_TRUE(WritePng(bars, dir + "/bars2.png").ok());
  EXPECT_NE(ReadAll(dir + "/bars2.png"), bar_png);
  // No data at all still gives empty axes, not an error.
  EXPECT_TRUE(WritePng(LineChart{"empty", "x", "y", {}}, dir + "/empty.png").ok());
}

TEST(Charts, BadInputAndPathsGiveClearErrors) {
  LineChart line{"t", "x", "y", {{"s", {0, 1}, {1}}}};
  auto st = WritePng(line, ::testing::TempDir() + "/bad.png");
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("series 's'"), std::string::npos) << st.message();
  BarChart bars{"b", "y", {"a", "b"}, {"one"}, {{1}}};
  EXPECT_FALSE(WritePng(bars, ::testing::TempDir() + "/bad.png").ok());
  LineChart ok{"t", "x", "y", {{"s", {0, 1}, {1, 2}}}};
  auto unwritable = WritePng(ok, "/nonexistent-dir/x.png");
  EXPECT_FALSE(unwritable.ok());
  EXPECT_NE(unwritable.message().find("/nonexistent-dir/x.png"), std::string::npos);
}

}  // namespace
}  // namespace steward::charts
