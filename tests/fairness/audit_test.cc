// The stored-exposure audit (fairness/audit.h) on a database written by hand, every figure
// computed by hand in the comments.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "common/config.h"
#include "experiment/experiment_config.h"
#include "fairness/audit.h"
#include "storage/audit_log.h"
#include "storage/database.h"
#include "storage/queries.h"

namespace steward::fairness {
namespace {

constexpr int64_t kHour = 3'600'000, kDay = 86'400'000;

experiment::ExperimentConfig Config(const std::string& audits) {
  const std::string yaml = "name: e\narms:\n  - {name: control, model: baseline}\n  - {name: treatment, model: baseline}\n" + audits;
  return experiment::ParseExperimentConfig(ConfigNode::Parse(yaml, "e.yaml").value()).value();
}

class AuditTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = (std::filesystem::temp_directory_path() / ("steward_audit_" + std::to_string(::getpid()) + ".db")).string();
    std::filesystem::remove(path_);
    db_ = storage::Database::Open(path_).value();
    // Catalog: item (category, provider tier, popularity). Total popularity 17; 80% = 13.6 is
    // reached after items 1 and 2 (10 + 5): short head {1, 2}. Tiers: head {1, 2}, mid {3}, tail {4}.
    ASSERT_TRUE(storage::SaveCatalog(*db_, {{1, 0, 0, 10}, {2, 1, 0, 5}, {3, 0, 1, 1}, {4, 2, 2, 1}}).ok());
    const auto exposure = [&](int id, int64_t ts, int user, const char* arm, const char* served, const char* attrs) {
      ASSERT_TRUE(db_->Exec("INSERT INTO exposures (request_id, ts_ms, user_id, user_key, experiment, arm, served, model_version, "
                            "latency_us, attributes) VALUES (" + std::to_string(id) + ", " + std::to_string(ts) + ", " +
                            std::to_string(user) + ", 'u" + std::to_string(user) + "', 'e', '" + arm + "', '" + served +
                            "', 'm', 100, '" + attrs + "')").ok());
    };
    const auto click = [&](int id, int position) {
      ASSERT_TRUE(db_->Exec("INSERT INTO feedback VALUES (" + std::to_string(id) + ", 0, 0, 0, " + std::to_string(position) +
                            ", 1, 1.0)").ok());
    };
    exposure(1, 0, 1, "control", "[[1,1.0],[3,0.5]]", R"({"band":"a"})");
    exposure(2, kHour, 1, "control", "[[1,1.0],[2,1.0]]", R"({"band":"a"})");
    exposure(5, 2 * kHour, 3, "control", "[[1,1.0]]", R"({"band":"b"})");
    exposure(3, 0, 2, "treatment", "[[4,1.0],[3,1.0]]", R"({"band":"b"})");
    exposure(4, 8 * kDay, 2, "treatment", "[[4,1.0]]", R"({"band":"b"})");
    exposure(6, kHour, 9, "excluded", "[[2,1.0]]", R"({"band":"a"})");
    click(1, 1);
    click(5, 1);
    click(3, 2);
    click(3, 2);  // a repeated click on one position counts once
  }
  void TearDown() override {
    db_.reset();
    for (const char* suffix : {"", "-wal", "-shm", ".anchor"}) std::filesystem::remove(path_ + suffix);
  }
  std::string path_;
  std::unique_ptr<storage::Database> db_;
};

const ArmAudit& Arm(const ExperimentAudit& a, const std::string& name) {
  for (const ArmAudit& arm : a.arms) {
    if (arm.name == name) return arm;
  }
  throw std::runtime_error("no arm " + name);
}

TEST_F(AuditTest, HandComputedControlArm) {
  AuditOptions options;
  options.bootstrap = 0;
  auto audit = AuditExperiment(*db_, Config(""), options);
  ASSERT_TRUE(audit.ok()) << audit.status().ToString();
  const ArmAudit& c = Arm(*audit, "control");
  EXPECT_EQ(c.exposures, 3);
  EXPECT_EQ(c.users, 2);
  const auto v = [&](const char* name) { return c.metrics.at(name).value; };
  // Clicks: r1 and r5 -> 2 of 3 lists.
  EXPECT_NEAR(v("ctr"), 2.0 / 3.0, 1e-12);
  // Exposure: head = r1 item 1 @1 (1) + r2 item 1 @1 (1) + item 2 @2 (w2) + r5 item 1 @1 (1) = 3 + w2;
  // mid = r1 item 3 @2 (w2); w2 = 1/log2(3): head share 0.8519590, mid 0.1480410, tail 0. Targets
  // (catalog): head 2/4, mid 1/4, tail 1/4: disparity max(0.351959, 0.101959, 0.25) = 0.3519590.
  ASSERT_EQ(c.item_groups, (std::vector<std::string>{"head", "mid", "tail"}));
  EXPECT_NEAR(c.exposure_share[0].value, 0.8519590445170673, 1e-12);
  EXPECT_NEAR(c.exposure_share[1].value, 0.1480409554829326, 1e-12);
  EXPECT_EQ(c.target_share, (std::vector<double>{0.5, 0.25, 0.25}));
  EXPECT_NEAR(v("exposure_disparity"), 0.3519590445170673, 1e-12);
  EXPECT_EQ(v("exposure_ratio"), 0.0);  // tail got nothing
  // Rows per item 3, 1, 1, 0: Gini (-3*0 - 1*1 + 1*1 + 3*3) / (4 * 5) = 0.45; coverage 3/4.
  EXPECT_NEAR(v("gini"), 0.45, 1e-12);
  EXPECT_NEAR(v("coverage"), 0.75, 1e-12);
  // APLT: r1 [1 head, 3 tail] 1/2, r2 0, r5 0 -> 1/6.
  EXPECT_NEAR(v("aplt"), 1.0 / 6.0, 1e-12);
  // Categories 0,0 | 0,1 | 0: counts (4, 1, 0) of 3: H = 0.5004024 / ln 3 = 0.4554859.
  EXPECT_NEAR(v("diversity_index"), 0.4554859150035952, 1e-12);
  // One position of five logged with propensity 0.5.
  EXPECT_NEAR(v("exploration_share"), 0.2, 1e-12);
  // User 1's consecutive lists {1,3} and {1,2}: Jaccard 1/3.
  EXPECT_NEAR(v("consecutive_list_similarity"), 1.0 / 3.0, 1e-12);
  // User-weeks: user 1 {0, 1} = 2, user 3 {0} = 1 -> 1.5. Sessions (30-minute gaps): user 1 has two
  // (r1 {0}: 1, r2 {0, 1}: 2), user 3 one ({0}: 1) -> 4/3.
  EXPECT_NEAR(v("categories_per_user_week"), 1.5, 1e-12);
  EXPECT_NEAR(v("categories_per_session"), 4.0 / 3.0, 1e-12);
  // CTR by band: a (user 1) 1/2, b (user 3) 1/1: difference 0.5, ratio 0.5.
  EXPECT_NEAR(v("user_ctr_difference"), 0.5, 1e-12);
  EXPECT_NEAR(v("user_ctr_ratio"), 0.5, 1e-12);
  EXPECT_DOUBLE_EQ(c.user_groups.at("band").at("a").first, 0.5);
  // Users 1 and 3 both consumed exactly {1}: homogenization 1, flat over the 9 daily windows.
  EXPECT_NEAR(v("homogenization"), 1.0, 1e-12);
  EXPECT_NEAR(v("homogenization_slope"), 0.0, 1e-12);
  // Lists of users outside the experiment are not an arm's (audited only when asked, next test).
  for (const ArmAudit& arm : audit->arms) EXPECT_NE(arm.name, "excluded");
}

TEST_F(AuditTest, ExcludedSideAndUserWeeks) {
  AuditOptions options;
  options.bootstrap = 0;
  options.excluded_arm = "excluded";
  auto audit = AuditExperiment(*db_, Config(""), options);
  ASSERT_TRUE(audit.ok()) << audit.status().ToString();
  EXPECT_EQ(Arm(*audit, "excluded").exposures, 1);
  EXPECT_TRUE(Arm(*audit, "excluded").excluded);
  const ArmAudit& t = Arm(*audit, "treatment");
  // User 2: week 0 {2, 0} = 2 categories, week 1 (day 8) {2} = 1 -> 1.5.
  EXPECT_NEAR(t.metrics.at("categories_per_user_week").value, 1.5, 1e-12);
  EXPECT_NEAR(t.metrics.at("ctr").value, 0.5, 1e-12);  // one distinct clicked position of two lists
  EXPECT_NEAR(t.metrics.at("aplt").value, 1.0, 1e-12);
  EXPECT_EQ(audit->windows.size(), 3u * 9u);  // 3 sides x days 0..8
}

TEST_F(AuditTest, ChecksPassFailAndInsufficientData) {
  AuditOptions options;
  options.bootstrap = 0;
  // Treatment rows per item (0, 0, 1, 2): Gini (1*1 + 3*2) / (4 * 3) = 0.5833 > 0.5: fails; APLT 1 >= 0.3 passes.
  auto audit = AuditExperiment(*db_, Config("audits:\n  gini_max: 0.5\n  aplt_min: 0.3\n  min_users: 1\n"), options);
  ASSERT_TRUE(audit.ok()) << audit.status().ToString();
  const ArmAudit& t = Arm(*audit, "treatment");
  ASSERT_EQ(t.checks.size(), 2u);
  EXPECT_EQ(t.checks[0].status, CheckStatus::kFail);
  EXPECT_NEAR(t.checks[0].figure.value, 7.0 / 12.0, 1e-12);
  EXPECT_EQ(t.checks[1].status, CheckStatus::kPass);
  // Control fails APLT (1/6 < 0.3) but the first arm never gates.
  EXPECT_EQ(Arm(*audit, "control").checks[1].status, CheckStatus::kFail);
  EXPECT_FALSE(audit->passed);
  ASSERT_EQ(audit->failures.size(), 1u);
  EXPECT_NE(audit->failures[0].find("treatment: gini"), std::string::npos) << audit->failures[0];
  // Too few users: insufficient data, and nothing fails.
  auto few = AuditExperiment(*db_, Config("audits:\n  gini_max: 0.5\n  min_users: 5\n"), options);
  ASSERT_TRUE(few.ok());
  EXPECT_EQ(Arm(*few, "treatment").checks[0].status, CheckStatus::kInsufficientData);
  EXPECT_TRUE(few->passed);
}

TEST_F(AuditTest, SeededBootstrapIntervals) {
  AuditOptions options;
  options.bootstrap = 50;
  options.seed = 7;
  auto a = AuditExperiment(*db_, Config(""), options);
  auto b = AuditExperiment(*db_, Config(""), options);
  ASSERT_TRUE(a.ok() && b.ok());
  const Figure& fa = Arm(*a, "control").metrics.at("ctr");
  EXPECT_EQ(fa.ci_low, Arm(*b, "control").metrics.at("ctr").ci_low);
  EXPECT_EQ(fa.ci_high, Arm(*b, "control").metrics.at("ctr").ci_high);
  // Two users with CTR 1/2 and 1/1: every resample's CTR lies in [1/2, 1], so the interval is at
  // most that wide, and it holds the value.
  EXPECT_LE(fa.ci_high - fa.ci_low, 0.5 + 1e-12);
  EXPECT_LE(fa.ci_low, fa.value);
  EXPECT_GE(fa.ci_high, fa.value);
  EXPECT_EQ(ExperimentAuditHash(*a, options), ExperimentAuditHash(*b, options));
  const auto j = nlohmann::json::parse(AuditReportJson({*a}, options));
  const auto& arm = j["experiments"][0]["arms"][0];
  for (const char* key : {"name", "exposures", "users", "metrics", "checks"}) EXPECT_TRUE(arm.contains(key)) << key;
  EXPECT_TRUE(j["experiments"][0].contains("windows"));
}

TEST_F(AuditTest, MissingCatalogAndBadGroupsFile) {
  ASSERT_TRUE(db_->Exec("DELETE FROM catalog_items").ok());
  auto none = AuditExperiment(*db_, Config(""), AuditOptions());
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.status().code(), StatusCode::kFailedPrecondition);
  ASSERT_TRUE(storage::SaveCatalog(*db_, {{1, 0, 0, 10}}).ok());
  const std::string groups = path_ + ".groups.csv";
  std::ofstream(groups) << "item_id,group\n1,x\n1,y\n";
  AuditOptions options;
  options.item_groups_file = groups;
  auto bad = AuditExperiment(*db_, Config(""), options);
  std::filesystem::remove(groups);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("item_id"), std::string::npos);
}

TEST_F(AuditTest, SafetyPolicyViolationsPerRule) {
  const std::string policy = path_ + ".policy.yaml";
  std::ofstream(policy) << "reason: test policy\nblocklist: [2]\n"
                           "restricted_categories:\n  - {attribute: band, value: a, categories: [0]}\n"
                           "max_impressions_per_user_item: 1\ncap_window: 10d\n";
  AuditOptions options;
  options.bootstrap = 0;
  options.policy_file = policy;
  auto audit = AuditExperiment(*db_, Config("audits:\n  policy_violations_max: 0.5\n  min_users: 1\n"), options);
  std::filesystem::remove(policy);
  ASSERT_TRUE(audit.ok()) << audit.status().ToString();
  EXPECT_EQ(audit->policy_reason, "test policy");
  // Control, by hand: user 1 (band a) r1 items 1 (category 0: restricted), 3 (category 0:
  // restricted); r2 item 1 (restricted; also its second impression), item 2 (blocklisted); user 3
  // (band b) r5 item 1: allowed. 4 of 5 rows break a rule: 3 restricted, 1 blocklisted.
  const ArmAudit& c = Arm(*audit, "control");
  EXPECT_DOUBLE_EQ(c.metrics.at("policy_violation_share").value, 0.8);
  EXPECT_DOUBLE_EQ(c.metrics.at("policy_restricted_share").value, 0.6);
  EXPECT_DOUBLE_EQ(c.metrics.at("policy_blocklist_share").value, 0.2);
  EXPECT_DOUBLE_EQ(c.metrics.at("policy_cap_share").value, 0.0);
  // Treatment: user 2 (band b) sees item 4 on day 0 and day 8, inside one 10-day cap window: the
  // second impression breaks the cap (1 of 3 rows).
  const ArmAudit& t = Arm(*audit, "treatment");
  EXPECT_NEAR(t.metrics.at("policy_cap_share").value, 1.0 / 3.0, 1e-12);
  EXPECT_NEAR(t.metrics.at("policy_violation_share").value, 1.0 / 3.0, 1e-12);
  EXPECT_EQ(t.checks[0].status, CheckStatus::kPass);
  EXPECT_EQ(c.checks[0].status, CheckStatus::kFail);  // reported; the first arm does not gate
  EXPECT_TRUE(audit->passed);
  // A bad policy file is an error naming the field.
  std::ofstream(policy) << "reason: x\nmax_impressions_per_user_item: -1\n";
  auto bad = AuditExperiment(*db_, Config(""), options);
  std::filesystem::remove(policy);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("max_impressions_per_user_item"), std::string::npos) << bad.status().message();
}

TEST_F(AuditTest, ReviewSamplesAndLabels) {
  AuditOptions options;
  auto a = DrawReviewSample(*db_, Config(""), 2, 11, options);
  auto b = DrawReviewSample(*db_, Config(""), 2, 11, options);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  ASSERT_EQ(a->size(), 2u);
  EXPECT_EQ((*a)[0].request_id, (*b)[0].request_id);  // seeded
  EXPECT_EQ((*a)[1].request_id, (*b)[1].request_id);
  EXPECT_LT((*a)[0].request_id, (*a)[1].request_id);
  auto all = DrawReviewSample(*db_, Config(""), 100, 1, options);
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 6u);  // every list when the sample asks for more
  // Request 3 (treatment): item 4 (tail tier, long tail) at 1, item 3 at 2, clicked.
  const ReviewSample& r3 = (*all)[2];
  ASSERT_EQ(r3.request_id, 3);
  EXPECT_EQ(r3.arm, "treatment");
  EXPECT_EQ(r3.items[0].group, "tail");
  EXPECT_TRUE(r3.items[0].long_tail);
  EXPECT_FALSE(r3.items[0].clicked);
  EXPECT_TRUE(r3.items[1].clicked);
  // Labels: stored, replaced per reviewer, counted per arm by the audit, and in the audit log.
  ASSERT_TRUE(RecordReviewLabel(*db_, {3, "", "", "rita", "concern", "tail only", 10}).ok());
  ASSERT_TRUE(RecordReviewLabel(*db_, {3, "", "", "rita", "ok", "on second look", 11}).ok());
  ASSERT_TRUE(RecordReviewLabel(*db_, {1, "", "", "sam", "harmful", "", 12}).ok());
  EXPECT_EQ(RecordReviewLabel(*db_, {1, "", "", "sam", "meh", "", 12}).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(RecordReviewLabel(*db_, {77, "", "", "sam", "ok", "", 12}).code(), StatusCode::kNotFound);
  AuditOptions no_bootstrap;
  no_bootstrap.bootstrap = 0;
  auto audit = AuditExperiment(*db_, Config(""), no_bootstrap);
  ASSERT_TRUE(audit.ok());
  EXPECT_EQ(Arm(*audit, "treatment").review_labels, (std::map<std::string, int64_t>{{"ok", 1}}));
  EXPECT_EQ(Arm(*audit, "control").review_labels, (std::map<std::string, int64_t>{{"harmful", 1}}));
  auto labelled = DrawReviewSample(*db_, Config(""), 100, 1, options);
  EXPECT_EQ((*labelled)[2].labels, (std::vector<std::string>{"rita: ok (on second look)"}));
  const auto rows = storage::AuditLog(*db_).ForSubject("e").value();
  EXPECT_EQ(std::count_if(rows.begin(), rows.end(), [](const storage::AuditEntry& r) { return r.action == "audit.label"; }), 3);
}

}  // namespace
}  // namespace steward::fairness
