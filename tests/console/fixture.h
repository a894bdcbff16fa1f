// A small governed experiment on a fresh database, shared by the console's and the GUI's tests:
// "gov" (control/treatment, ramp 10% -> 25% -> 50% (rai-reviewer approval) -> 100%, audits declared), started,
// with `lists` exposures of users 0..39 and a click on every third list; a catalog snapshot so the
// governance audit runs.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "common/clock.h"
#include "common/config.h"
#include "experiment/experiment_config.h"
#include "serving/controller.h"
#include "storage/database.h"
#include "storage/queries.h"

namespace steward::testing_console {

inline const char* kGovYaml = R"(name: gov
arms:
  - {name: control, model: baseline, weight: 0.5}
  - {name: treatment, model: baseline, weight: 0.5}
ramp:
  - {coverage: 0.10}
  - {coverage: 0.25}
  - {coverage: 0.50, approval: rai-reviewer}
  - {coverage: 1.00}
decision: {primary_metrics: [ctr]}
audits: {reviewer_role: rai-reviewer, aplt_min: 0.0}
)";

// Appends exposures first_id.. first_id + n - 1 (and a click on every third).
inline void AppendTraffic(storage::Database& db, int64_t first_id, int n) {
  ASSERT_TRUE(db.Exec("BEGIN").ok());
  for (int64_t id = first_id; id < first_id + n; ++id) {
    const int64_t user = id % 40;
    const char* arm = user % 2 ? "treatment" : "control";
    const std::string served = "[[" + std::to_string(1 + id % 4) + ",1.0],[" + std::to_string(1 + (id + 1) % 4) + ",1.0]]";
    ASSERT_TRUE(db.Exec("INSERT INTO exposures (request_id, ts_ms, user_id, user_key, experiment, arm, served, model_version, "
                        "latency_us, attributes) VALUES (" + std::to_string(id) + ", " + std::to_string(1767225600000 + id * 60000) +
                        ", " + std::to_string(user) + ", 'u" + std::to_string(user) + "', 'gov', '" + arm + "', '" + served +
                        "', 'm', " + std::to_string(1000 + id % 7 * 100) + ", '{}')").ok());
    if (id % 3 == 0) {
      ASSERT_TRUE(db.Exec("INSERT INTO feedback VALUES (" + std::to_string(id) + ", 0, " + std::to_string(user) + ", 1, 1, 1, 1.0)").ok());
    }
  }
  ASSERT_TRUE(db.Exec("COMMIT").ok());
}

inline std::string MakeGovernedDatabase(const std::string& tag, int lists = 200) {
  const std::string path = ::testing::TempDir() + "/console-" + tag + "-" + std::to_string(getpid()) + ".db";
  for (const char* suffix : {"", "-wal", "-shm", ".anchor"}) std::filesystem::remove(path + suffix);
  auto db = storage::Database::Open(path).value();
  EXPECT_TRUE(storage::SaveCatalog(*db, {{1, 0, 0, 10}, {2, 1, 0, 5}, {3, 0, 1, 1}, {4, 2, 2, 1}}).ok());
  auto config = experiment::ParseExperimentConfig(ConfigNode::Parse(kGovYaml, "gov.yaml").value());
  EXPECT_TRUE(config.ok()) << config.status().ToString();
  serving::RolloutController controller(*db, SystemClock::Default());
  EXPECT_TRUE(controller.Create(*config, "test").ok());
  EXPECT_TRUE(controller.Start("gov", "test", "launch").ok());
  AppendTraffic(*db, 1, lists);
  return path;
}

}  // namespace steward::testing_console
