// GrowthBook conformance: the language-agnostic cases every GrowthBook SDK must pass
// (growthbook packages/sdk-js/test/cases.json, spec 0.8.0, MIT), sections hash, getBucketRange,
// chooseVariation, inNamespace and getEqualWeights.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "experiment/assigner.h"
#include "experiment/hashing.h"

namespace steward::experiment {
namespace {

nlohmann::json Cases() {
  std::ifstream in(std::string(STEWARD_TEST_DATA_DIR) + "/experiment/data/growthbook_cases.json");
  return nlohmann::json::parse(in);
}

double Round8(double x) { return std::round(x * 1e8) / 1e8; }

TEST(GrowthBook, Hash) {
  const auto cases = Cases()["hash"];
  ASSERT_GT(cases.size(), 0u);
  for (const auto& c : cases) {
    const auto h = GrowthBookHash(c[0].get<std::string>(), c[1].get<std::string>(), c[2].get<int>());
    if (c[3].is_null()) {
      EXPECT_FALSE(h.has_value()) << c.dump();
    } else {
      ASSERT_TRUE(h.has_value()) << c.dump();
      EXPECT_DOUBLE_EQ(*h, c[3].get<double>()) << c.dump();
    }
  }
}

TEST(GrowthBook, GetBucketRange) {
  const auto cases = Cases()["getBucketRange"];
  ASSERT_GT(cases.size(), 0u);
  for (const auto& c : cases) {
    const auto& args = c[1];
    std::vector<double> weights;
    if (!args[2].is_null()) weights = args[2].get<std::vector<double>>();
    const auto ranges = BucketRanges(args[0].get<int>(), args[1].get<double>(), weights);
    const auto& expected = c[2];
    ASSERT_EQ(ranges.size(), expected.size()) << c.dump();
    for (size_t i = 0; i < ranges.size(); ++i) {
      EXPECT_EQ(Round8(ranges[i].first), Round8(expected[i][0].get<double>())) << c.dump();
      EXPECT_EQ(Round8(ranges[i].second), Round8(expected[i][1].get<double>())) << c.dump();
    }
  }
}

TEST(GrowthBook, ChooseVariation) {
  const auto cases = Cases()["chooseVariation"];
  ASSERT_GT(cases.size(), 0u);
  for (const auto& c : cases) {
    std::vector<BucketRange> ranges;
    for (const auto& r : c[2]) ranges.emplace_back(r[0].get<double>(), r[1].get<double>());
    EXPECT_EQ(ChooseVariation(c[1].get<double>(), ranges), c[3].get<int>()) << c.dump();
  }
}

TEST(GrowthBook, InNamespace) {
  const auto cases = Cases()["inNamespace"];
  ASSERT_GT(cases.size(), 0u);
  for (const auto& c : cases) {
    const auto& ns = c[2];
    EXPECT_EQ(InNamespace(c[1].get<std::string>(), ns[0].get<std::string>(), ns[1].get<double>(), ns[2].get<double>()),
              c[3].get<bool>())
        << c.dump();
  }
}

TEST(GrowthBook, GetEqualWeights) {
  const auto cases = Cases()["getEqualWeights"];
  ASSERT_GT(cases.size(), 0u);
  for (const auto& c : cases) {
    const auto weights = EqualWeights(c[0].get<int>());
    const auto expected = c[1].get<std::vector<double>>();
    ASSERT_EQ(weights.size(), expected.size()) << c.dump();
    for (size_t i = 0; i < weights.size(); ++i) EXPECT_EQ(Round8(weights[i]), Round8(expected[i])) << c.dump();
  }
}

TEST(Fnv1a, Utf16CodeUnits) {
  // FNV-1a 32 test vectors (Fowler/Noll/Vo reference test suite): "" and "a" and "foobar".
  EXPECT_EQ(Fnv1a32(""), 0x811c9dc5u);
  EXPECT_EQ(Fnv1a32("a"), 0xe40c292cu);
  EXPECT_EQ(Fnv1a32("foobar"), 0xbf9cf968u);
  // Split input hashes like the concatenation.
  EXPECT_EQ(Fnv1a32("foo", "bar"), Fnv1a32("foobar"));
  // Non-ASCII: "é" (U+00E9) is one UTF-16 unit 0xE9, so it hashes like the single byte 0xE9, and
  // "😀" (U+1F600) is the surrogate pair D83D DE00: hand-computed FNV steps over those units.
  uint32_t h = 0x811c9dc5u;
  h = (h ^ 0xE9u) * 0x01000193u;
  EXPECT_EQ(Fnv1a32("\xC3\xA9"), h);
  uint32_t g = 0x811c9dc5u;
  g = (g ^ 0xD83Du) * 0x01000193u;
  g = (g ^ 0xDE00u) * 0x01000193u;
  EXPECT_EQ(Fnv1a32("\xF0\x9F\x98\x80"), g);
}

ExperimentConfig TwoArms(double coverage) {
  ExperimentConfig c;
  c.name = c.seed = "ramp-test";
  c.coverage = coverage;
  c.arms = {{"control", "baseline", 0.5}, {"treatment", "hybrid", 0.5}};
  return c;
}

// Raising coverage 5% -> 20% -> 50% -> 100% only adds users: nobody included at a lower coverage
// changes arm or leaves, over 1,000,000 users.
TEST(Assigner, RaisingCoverageNeverMovesAnIncludedUser) {
  constexpr int kUsers = 1'000'000;
  std::vector<int8_t> arm(kUsers, -1);
  int64_t included_prev = 0;
  for (double coverage : {0.05, 0.20, 0.50, 1.00}) {
    Assigner assigner(TwoArms(coverage));
    int64_t included = 0;
    char id[16];
    for (int u = 0; u < kUsers; ++u) {
      const int len = std::snprintf(id, sizeof id, "%d", u);
      const Assignment a = assigner.Assign(std::string_view(id, static_cast<size_t>(len)));
      if (arm[static_cast<size_t>(u)] >= 0) {
        ASSERT_EQ(a.arm_index, arm[static_cast<size_t>(u)]) << "user " << u << " moved at coverage " << coverage;
      }
      if (a.in_experiment) {
        arm[static_cast<size_t>(u)] = static_cast<int8_t>(a.arm_index);
        ++included;
      }
    }
    EXPECT_GE(included, included_prev);
    EXPECT_NEAR(static_cast<double>(included) / kUsers, coverage, 0.005);
    included_prev = included;
  }
}

TEST(Assigner, NamespaceExcludesUsersOutsideItsRange) {
  ExperimentConfig c = TwoArms(1.0);
  c.namespace_ = NamespaceConfig{"layer", 0.0, 0.3};
  Assigner assigner(c);
  int in = 0;
  for (int u = 0; u < 20000; ++u) {
    const std::string id = std::to_string(u);
    const Assignment a = assigner.Assign(id);
    EXPECT_EQ(a.in_experiment, InNamespace(id, "layer", 0.0, 0.3));
    EXPECT_DOUBLE_EQ(a.hash, *GrowthBookHash("ramp-test", id, 2));  // reported even when excluded
    in += a.in_experiment;
  }
  EXPECT_NEAR(in / 20000.0, 0.3, 0.02);
}

TEST(ExperimentConfig, ValidatesWithErrorsNamingTheField) {
  auto parse = [](const std::string& yaml) { return ParseExperimentConfig(*ConfigNode::Parse(yaml, "exp.yaml")); };
  auto ok = parse("name: e\narms:\n  - {name: a, model: baseline, weight: 0.5}\n  - {name: b, model: popularity, weight: 0.5}\nshadow: popularity\n");
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(ok->seed, "e");
  EXPECT_EQ(ok->hash_version, 2);
  EXPECT_EQ(ok->shadow_model, "popularity");

  auto weights = parse("name: e\narms:\n  - {name: a, model: m, weight: 0.5}\n  - {name: b, model: m, weight: 0.4}\n");
  EXPECT_NE(weights.status().message().find("field 'arms' weights add up to 0.9"), std::string::npos) << weights.status().message();
  auto dup = parse("name: e\narms:\n  - {name: a, model: m}\n  - {name: a, model: m}\n");
  EXPECT_NE(dup.status().message().find("field 'arms[1]' repeats"), std::string::npos) << dup.status().message();
  auto coverage = parse("name: e\ncoverage: 1.5\narms:\n  - {name: a, model: m}\n  - {name: b, model: m}\n");
  EXPECT_NE(coverage.status().message().find("field 'coverage'"), std::string::npos);
  auto version = parse("name: e\nhash_version: 3\narms:\n  - {name: a, model: m}\n  - {name: b, model: m}\n");
  EXPECT_NE(version.status().message().find("field 'hash_version'"), std::string::npos);
  auto typo = parse("name: e\ncoverag: 1\narms:\n  - {name: a, model: m}\n  - {name: b, model: m}\n");
  EXPECT_NE(typo.status().message().find("did you mean 'coverage'"), std::string::npos);
  auto one = parse("name: e\narms:\n  - {name: a, model: m}\n");
  EXPECT_NE(one.status().message().find("at least two arms"), std::string::npos);
  auto ns = parse("name: e\nnamespace: {name: n, range: [0.5, 0.2]}\narms:\n  - {name: a, model: m}\n  - {name: b, model: m}\n");
  EXPECT_NE(ns.status().message().find("field 'namespace.range'"), std::string::npos) << ns.status().message();
}

}  // namespace
}  // namespace steward::experiment
