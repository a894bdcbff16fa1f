// The `audits:` section of experiment files (issue #11): thresholds validated with field-named
// errors, and removing or loosening one counts as weakening a live experiment's protection.
#include <gtest/gtest.h>

#include "common/config.h"
#include "experiment/experiment_config.h"
#include "experiment/rollout.h"

namespace steward::experiment {
namespace {

StatusOr<ExperimentConfig> Parse(const std::string& audits) {
  const std::string yaml = "name: e\narms:\n  - {name: control, model: baseline}\n  - {name: treatment, model: baseline}\n" + audits;
  ASSIGN_OR_RETURN(ConfigNode node, ConfigNode::Parse(yaml, "exp.yaml"));
  return ParseExperimentConfig(node);
}

TEST(AuditsConfig, ParsesThresholdsInFileOrder) {
  auto c = Parse("audits:\n  exposure_disparity_max: 0.05\n  min_categories_per_user_week: 8\n  homogenization_trend: flat\n"
                 "  aplt_min: 0.1\n  on_fail: hold\n  min_users: 50\n");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_TRUE(c->audits.declared);
  EXPECT_EQ(c->audits.on_fail, AuditOnFail::kHold);
  EXPECT_EQ(c->audits.min_users, 50);
  EXPECT_EQ(c->audits.reviewer_role, "rai-reviewer");
  ASSERT_EQ(c->audits.thresholds.size(), 4u);
  EXPECT_EQ(c->audits.thresholds[0].metric, "exposure_disparity");
  EXPECT_EQ(c->audits.thresholds[0].bound, AuditBound::kMax);
  EXPECT_EQ(c->audits.thresholds[1].metric, "categories_per_user_week");
  EXPECT_EQ(c->audits.thresholds[1].bound, AuditBound::kMin);
  EXPECT_EQ(c->audits.thresholds[1].value, 8.0);
  EXPECT_EQ(c->audits.thresholds[3].metric, "homogenization_slope");  // the trend, checked last
  EXPECT_EQ(c->audits.thresholds[3].value, 0.01);
  // The stored definition reads back the same.
  ConfigNode again = ConfigNode::Parse(c->source_json, "stored.json").value();
  EXPECT_EQ(ParseExperimentConfig(again)->audits.thresholds.size(), 4u);
  EXPECT_FALSE(Parse("")->audits.declared);
}

TEST(AuditsConfig, ErrorsNameTheField) {
  const auto message = [](const std::string& audits) {
    auto c = Parse(audits);
    EXPECT_FALSE(c.ok()) << audits;
    EXPECT_EQ(c.status().code(), StatusCode::kInvalidArgument);
    return c.status().message();
  };
  std::string m = message("audits:\n  exposure_disparity_mx: 0.05\n");
  EXPECT_NE(m.find("audits.exposure_disparity_mx"), std::string::npos) << m;
  EXPECT_NE(m.find("exposure_disparity_max"), std::string::npos) << m;  // the suggestion
  m = message("audits:\n  aplt_min: 1.5\n");
  EXPECT_NE(m.find("audits.aplt_min"), std::string::npos) << m;
  m = message("audits:\n  aplt_min: lots\n");
  EXPECT_NE(m.find("audits.aplt_min"), std::string::npos) << m;
  m = message("audits:\n  on_fail: panic\n");
  EXPECT_NE(m.find("audits.on_fail"), std::string::npos) << m;
  m = message("audits:\n  homogenization_trend: down\n");
  EXPECT_NE(m.find("audits.homogenization_trend"), std::string::npos) << m;
  m = message("audits:\n  homogenization_slope_max: 0.1\n");
  EXPECT_NE(m.find("homogenization_trend: flat"), std::string::npos) << m;
  m = message("audits:\n  min_categories_per_user_week: -1\n");
  EXPECT_NE(m.find("audits.min_categories_per_user_week"), std::string::npos) << m;
  m = message("audits: [1, 2]\n");
  EXPECT_NE(m.find("audits"), std::string::npos) << m;
}

TEST(AuditsConfig, LooseningAThresholdIsASafetyRemoval) {
  auto strict = Parse("audits:\n  exposure_disparity_max: 0.05\n  aplt_min: 0.1\n  on_fail: hold\n");
  auto loose = Parse("audits:\n  exposure_disparity_max: 0.2\n");
  ASSERT_TRUE(strict.ok() && loose.ok());
  const auto removals = SafetyRemovals(*strict, *loose);
  ASSERT_EQ(removals.size(), 3u);
  EXPECT_NE(removals[0].find("exposure_disparity_max loosened"), std::string::npos);
  EXPECT_NE(removals[1].find("aplt_min removed"), std::string::npos);
  EXPECT_NE(removals[2].find("on_fail"), std::string::npos);
  EXPECT_TRUE(SafetyRemovals(*loose, *strict).empty());
}

}  // namespace
}  // namespace steward::experiment
