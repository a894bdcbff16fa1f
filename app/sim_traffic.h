// What the simulated world's users send to the serving pipeline. One function, used by every
// driver that serves the simulated world (`steward demo`, `steward simulate`), so the models see
// the same user context whichever command runs them.
#pragma once

#include <memory>
#include <string>

#include "common/status.h"
#include "models/recommender.h"
#include "safety/blocklist_filter.h"
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

}  // namespace steward::app
