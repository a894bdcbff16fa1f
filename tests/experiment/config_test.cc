// Experiment files as users write them (issue #15 "Hardening"): text stays text, numbers are
// bounded, and the schema rejects what it would otherwise silently ignore or change.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "common/clock.h"
#include "common/config.h"
#include "experiment/assigner.h"
#include "experiment/controller.h"
#include "experiment/experiment_config.h"

namespace steward::experiment {
namespace {

StatusOr<ExperimentConfig> ParseText(const std::string& yaml, const std::string& source = "exp.yaml") {
  ASSIGN_OR_RETURN(ConfigNode node, ConfigNode::Parse(yaml, source));
  return ParseExperimentConfig(node);
}

// The config as the controller reads it back: parsed from the JSON stored with the version.
ExperimentConfig RoundTrip(const ExperimentConfig& c) {
  auto again = ParseText(c.source_json, "stored.json");
  EXPECT_TRUE(again.ok()) << again.status().ToString();
  return *again;
}

// Issue #15 item 6: `seed: 007`, arm `01`, name `1e3` were stored as 7, 1 and 1000.0, so after a
// restart users were hashed with another seed and landed in other arms than GrowthBook puts them.
TEST(ExperimentConfig, StringsThatLookLikeNumbersStayStrings) {
  const std::string yaml =
      "name: 1e3\n"
      "seed: 007\n"
      "arms:\n"
      "  - {name: 01, model: baseline, weight: 0.50}\n"
      "  - {name: 0x1F, model: baseline, weight: .5}\n";
  auto direct = ParseText(yaml);
  ASSERT_TRUE(direct.ok()) << direct.status().ToString();
  EXPECT_EQ(direct->name, "1e3");
  EXPECT_EQ(direct->seed, "007");
  const ExperimentConfig stored = RoundTrip(*direct);
  EXPECT_EQ(stored.name, "1e3");
  EXPECT_EQ(stored.seed, "007");
  EXPECT_EQ(stored.arms[0].name, "01");
  EXPECT_EQ(stored.arms[1].name, "0x1F");
  EXPECT_DOUBLE_EQ(stored.arms[0].weight, 0.5);  // numbers written 0.50 and .5 still read as numbers
  EXPECT_DOUBLE_EQ(stored.arms[1].weight, 0.5);
  EXPECT_EQ(stored.source_json, direct->source_json);  // a fixed point: re-saving changes nothing

  // Same seed text, same hashes: the stored experiment assigns every user as the file does, and
  // differently from seed "7" (what the old conversion stored).
  ExperimentConfig seven = *direct;
  seven.seed = "7";
  const Assigner from_file(*direct), from_store(stored), from_seven(seven);
  int differ_from_seven = 0;
  for (int u = 0; u < 200; ++u) {
    const std::string user = "user-" + std::to_string(u);
    EXPECT_EQ(from_file.Assign(user).hash, from_store.Assign(user).hash) << user;
    EXPECT_EQ(from_file.Assign(user).arm_index, from_store.Assign(user).arm_index) << user;
    differ_from_seven += from_file.Assign(user).hash != from_seven.Assign(user).hash;
  }
  EXPECT_GT(differ_from_seven, 190);
}

TEST(ExperimentConfig, StoredJsonKeepsCanonicalNumbersAsNumbers) {
  auto c = ParseText("name: x\nseed: \"42\"\ncoverage: 0.5\nsticky: true\nbucket_version: 3\n"
                     "arms:\n  - {name: a, model: m}\n  - {name: b, model: m}\n");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  const auto j = nlohmann::json::parse(c->source_json);
  EXPECT_EQ(j["seed"], "42");  // quoted: text
  EXPECT_EQ(j["coverage"], 0.5);
  EXPECT_EQ(j["sticky"], true);
  EXPECT_EQ(j["bucket_version"], 3);
}

TEST(ExperimentConfig, ControllerReadsBackTheSeedByteForByte) {
  const std::string path = testing::TempDir() + "/seed-" + std::to_string(getpid()) + ".db";
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path + suffix);
  auto db = storage::Database::Open(path);
  ASSERT_TRUE(db.ok());
  ManualClock clock(1000);
  RolloutController controller(**db, clock);
  auto c = ParseText("name: seeded\nseed: 007\narms:\n  - {name: 01, model: m}\n  - {name: 02, model: m}\n");
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE(controller.Create(*c, "alice").ok());
  auto back = controller.Config("seeded");
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->seed, "007");
  EXPECT_EQ(back->arms[0].name, "01");
}

std::string ErrorOf(const std::string& extra) {
  auto c = ParseText("name: x\narms:\n  - {name: a, model: m}\n  - {name: b, model: m}\n" + extra);
  return c.ok() ? "(accepted)" : c.status().message();
}

// Issue #15 item 5: `min_duration: 999999999999d` overflowed to a negative duration (the step passed
// at once); failure_limit 2147483648 and bucket_version 4294967296 were truncated to int.
TEST(ExperimentConfig, NumbersOutOfRangeAreRejectedNotTruncated) {
  EXPECT_NE(ErrorOf("ramp:\n  - {coverage: 0.5, min_duration: 999999999999d}\n")
                .find("field 'ramp[0].min_duration' must be at most 10 years (3650d)"),
            std::string::npos)
      << ErrorOf("ramp:\n  - {coverage: 0.5, min_duration: 999999999999d}\n");
  EXPECT_NE(ErrorOf("evaluation: {interval: 1e300s}\n").find("at most 10 years"), std::string::npos);
  EXPECT_NE(ErrorOf("evaluation: {failure_limit: 2147483648}\n").find("field 'evaluation.failure_limit' must be between 0 and 1000"),
            std::string::npos)
      << ErrorOf("evaluation: {failure_limit: 2147483648}\n");
  EXPECT_NE(ErrorOf("bucket_version: 4294967296\n").find("field 'bucket_version' must be between 1 and 2147483647"),
            std::string::npos)
      << ErrorOf("bucket_version: 4294967296\n");
  auto ok = ParseText("name: x\narms:\n  - {name: a, model: m}\n  - {name: b, model: m}\n"
                      "ramp:\n  - {coverage: 0.5, min_duration: 3650d}\nevaluation: {failure_limit: 1000}\nbucket_version: 2147483647\n");
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(ok->ramp[0].min_duration_ms, int64_t{3650} * 86'400'000);
  EXPECT_EQ(ok->bucket_version, 2147483647);
}

}  // namespace
}  // namespace steward::experiment
