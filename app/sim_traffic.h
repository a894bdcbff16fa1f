// What the simulated world's users send to the serving pipeline. One function, used by every
// driver that serves the simulated world (`steward demo`, `steward simulate`), so the models see
// the same user context whichever command runs them.
#pragma once

#include <memory>
#include <string>

#include "common/status.h"
#include "models/recommender.h"
#include "data/goodbooks.h"
#include "safety/blocklist_filter.h"
#include "safety/screen.h"
#include "serving/pipeline.h"
#include "sim/world.h"

namespace steward::app {

// The user's id as a string (what a real caller sends), the request's event time, the attributes
// experiments may record (age_band, user_type) and the context features the models use
// (user_group = age band, new_user, activity).
serving::ServeRequest SimServeRequest(const sim::User& user, int64_t ts_ms, int k, const std::string& experiment);

// The catalog the models see, built from the world's items.
std::shared_ptr<const models::Catalog> SimCatalog(const sim::World& world);

// The safety blocklist of `file` over `catalog` (nullptr when `file` is ""): the screen every
// model of a run gets.
StatusOr<std::shared_ptr<const safety::BlocklistFilter>> LoadBlocklist(const std::string& file, const models::Catalog& catalog);

// The safety screen of a run (safety/screen.h): the rules of `policy_file` (safety/policy.h; ""
// for none) and the risk model of `risk_model_file` (`steward safety train`; "" for none) scored
// over the catalog's books. nullptr when both are "". Errors name the file and field.
struct ScreenFiles {
  std::string policy_file, risk_model_file;
  double block_risk = 0.5, demote_risk = 0.2;  // safety::ScreenOptions
};
// What the audit log records about a screen in force (action safety.policy): the files, the
// policy's reason and rule counts, the risk model's version and the thresholds. JSON.
std::string ScreenAuditPayload(const safety::SafetyScreen& screen, const ScreenFiles& files);
StatusOr<std::shared_ptr<safety::SafetyScreen>> LoadSafetyScreen(const ScreenFiles& files, const std::vector<data::Book>& books,
                                                                 std::shared_ptr<const models::Catalog> catalog);

}  // namespace steward::app
