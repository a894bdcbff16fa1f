// Experiment files as users write them (issue #15 "Hardening"): text stays text, numbers are
// bounded, and the schema rejects what it would otherwise silently ignore or change.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "common/clock.h"
#include "common/config.h"
#include "experiment/assigner.h"
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

// Issue #15 item 10: what the schema silently accepted.
TEST(ExperimentConfig, UnknownModelsAreRejectedWhenTheCallerKnowsTheModels) {
  const std::vector<std::string> known = {"baseline", "popularity"};
  const std::string yaml = "name: x\narms:\n  - {name: a, model: baseline}\n  - {name: b, model: baselin}\n";
  auto c = ParseExperimentConfig(*ConfigNode::Parse(yaml, "exp.yaml"), known);
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("exp.yaml:4: field 'arms[1].model' names the unknown model 'baselin' (known: baseline, popularity)"),
            std::string::npos)
      << c.status().message();
  auto shadow = ParseExperimentConfig(*ConfigNode::Parse(yaml + "shadow: nope\n", "exp.yaml"), known);
  EXPECT_FALSE(shadow.ok());
  EXPECT_TRUE(ParseExperimentConfig(*ConfigNode::Parse(yaml, "exp.yaml")).ok());  // the library alone does not know models
}

TEST(ExperimentConfig, SilentlyIgnoredFieldsAreRejected) {
  EXPECT_NE(ErrorOf("description: {a: 1}\n").find("field 'description' must be text"), std::string::npos);
  EXPECT_EQ(ErrorOf("description: plain words\n"), "(accepted)");
  EXPECT_NE(ErrorOf("hash_attribute: device_id\n").find("only user_id is supported"), std::string::npos)
      << ErrorOf("hash_attribute: device_id\n");
  EXPECT_EQ(ErrorOf("hash_attribute: user_id\n"), "(accepted)");
  EXPECT_NE(ErrorOf("evaluation: {min_users_per_arm: -5}\n").find("field 'evaluation.min_users_per_arm' must be >= 0"),
            std::string::npos);
  EXPECT_NE(ErrorOf("ramp:\n  - {coverage: 0.5, min_users_per_arm: -1}\n").find("min_users_per_arm must be >= 0"),
            std::string::npos);
  EXPECT_NE(ErrorOf("decision: {mde: -0.1}\n").find("field 'decision.mde' must be > 0"), std::string::npos);
}

TEST(ExperimentConfig, DuplicateKeysAreRejectedNamingBothLines) {
  auto c = ParseText("name: first\narms:\n  - {name: a, model: m}\n  - {name: b, model: m}\nname: second\n");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("exp.yaml:5: key 'name' appears twice (lines 1 and 5)"), std::string::npos)
      << c.status().message();
  auto nested = ParseText("name: x\narms:\n  - {name: a, model: m, model: n}\n  - {name: b, model: m}\n");
  EXPECT_NE(nested.status().message().find("key 'model' appears twice"), std::string::npos) << nested.status().message();
  auto json = ParseText(R"({"name": "x", "name": "y", "arms": []})", "exp.json");
  EXPECT_NE(json.status().message().find("key 'name' appears twice"), std::string::npos) << json.status().message();
}

TEST(ExperimentConfig, NulBytesInNamesAreRejected) {
  // A raw NUL in the file, and one made by a YAML escape; both were dropped from the name.
  const char kRaw[] = "name: a\0b\narms:\n  - {name: a, model: m}\n  - {name: b, model: m}\n";
  auto raw = ParseText(std::string(kRaw, sizeof kRaw - 1));
  ASSERT_FALSE(raw.ok());
  EXPECT_NE(raw.status().message().find("NUL byte"), std::string::npos) << raw.status().message();
  auto escaped = ParseText("name: \"a\\0b\"\narms:\n  - {name: a, model: m}\n  - {name: b, model: m}\n");
  ASSERT_FALSE(escaped.ok());
  EXPECT_NE(escaped.status().message().find("exp.yaml:1: value: contains a NUL byte"), std::string::npos)
      << escaped.status().message();
}

}  // namespace
}  // namespace steward::experiment

namespace steward::experiment {
namespace {

// issue #12: an arm may carry a fairness_constraint for its model, validated with errors that name
// the field, and kept through the stored JSON the controller reads back.
TEST(ExperimentConfig, ArmEpsilonOnlyForTheExploringBaseline) {
  auto c = ParseText("name: e\narms:\n  - {name: control, model: baseline-egreedy, epsilon: 0.15, weight: 0.5}\n"
                     "  - {name: treatment, model: hybrid, weight: 0.5}\n");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  ASSERT_TRUE(c->arms[0].epsilon.has_value());
  EXPECT_DOUBLE_EQ(*c->arms[0].epsilon, 0.15);
  EXPECT_FALSE(c->arms[1].epsilon.has_value());
  EXPECT_DOUBLE_EQ(*RoundTrip(*c).arms[0].epsilon, 0.15);
  auto wrong_model = ParseText("name: e\narms:\n  - {name: control, model: baseline, epsilon: 0.15, weight: 0.5}\n"
                               "  - {name: treatment, model: hybrid, weight: 0.5}\n");
  ASSERT_FALSE(wrong_model.ok());
  EXPECT_NE(wrong_model.status().message().find("epsilon"), std::string::npos) << wrong_model.status().message();
  EXPECT_NE(wrong_model.status().message().find("baseline-egreedy"), std::string::npos) << wrong_model.status().message();
  auto out_of_range = ParseText("name: e\narms:\n  - {name: control, model: baseline-egreedy, epsilon: 1.5, weight: 0.5}\n"
                                "  - {name: treatment, model: hybrid, weight: 0.5}\n");
  ASSERT_FALSE(out_of_range.ok());
  EXPECT_NE(out_of_range.status().message().find("[0, 1]"), std::string::npos) << out_of_range.status().message();
}

TEST(ExperimentConfig, ArmFairnessConstraint) {
  const std::string head =
      "name: fair\n"
      "arms:\n"
      "  - {name: control, model: hybrid, weight: 0.5}\n";
  auto c = ParseText(head +
                     "  - name: fair\n"
                     "    model: hybrid\n"
                     "    weight: 0.5\n"
                     "    fairness_constraint: {groups: provider, tolerance: 0.05, targets: {head: 0.3, mid: 0.3, tail: 0.4}}\n");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_FALSE(c->arms[0].fairness_constraint.has_value());
  ASSERT_TRUE(c->arms[1].fairness_constraint.has_value());
  EXPECT_EQ(c->arms[1].fairness_constraint->groups, "provider");
  EXPECT_DOUBLE_EQ(c->arms[1].fairness_constraint->tolerance, 0.05);
  EXPECT_EQ(c->arms[1].fairness_constraint->targets, (std::vector<double>{0.3, 0.3, 0.4}));
  const ExperimentConfig again = RoundTrip(*c);
  ASSERT_TRUE(again.arms[1].fairness_constraint.has_value());
  EXPECT_EQ(again.arms[1].fairness_constraint->targets, (std::vector<double>{0.3, 0.3, 0.4}));

  auto defaults = ParseText(head + "  - {name: fair, model: hybrid, weight: 0.5, fairness_constraint: {}}\n");
  ASSERT_TRUE(defaults.ok()) << defaults.status().ToString();
  EXPECT_DOUBLE_EQ(defaults->arms[1].fairness_constraint->tolerance, 0.03);
  EXPECT_TRUE(defaults->arms[1].fairness_constraint->targets.empty());  // catalog shares

  auto error = [&](const std::string& constraint) {
    auto bad = ParseText(head + "  - {name: fair, model: hybrid, weight: 0.5, fairness_constraint: " + constraint + "}\n");
    EXPECT_FALSE(bad.ok()) << constraint;
    return bad.ok() ? std::string() : bad.status().message();
  };
  EXPECT_NE(error("{tolerance: 1.5}").find("tolerance"), std::string::npos);
  EXPECT_NE(error("{groups: author}").find("groups"), std::string::npos);
  EXPECT_NE(error("{targets: {head: 0.5, mid: 0.5, tail: 0.5}}").find("targets"), std::string::npos);
  EXPECT_NE(error("{targets: {head: 0.5, mid: 0.5}}").find("tail"), std::string::npos);
  EXPECT_NE(error("{tolerence: 0.1}").find("tolerance"), std::string::npos);  // did you mean
}

}  // namespace
}  // namespace steward::experiment
