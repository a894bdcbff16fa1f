#include "app/sim_traffic.h"

namespace steward::app {

serving::ServeRequest SimServeRequest(const sim::User& user, int64_t ts_ms, int k, const std::string& experiment) {
  serving::ServeRequest r;
  r.user_id = std::to_string(user.id);
  r.ts_ms = ts_ms;
  r.k = k;
  r.experiment = experiment;
  r.attributes = {{"age_band", sim::AgeBandName(user.age)}, {"user_type", user.is_new ? "new" : "established"}};
  r.user_group = static_cast<int>(user.age);
  r.new_user = user.is_new;
  r.activity = user.activity;
  return r;
}

std::shared_ptr<const models::Catalog> SimCatalog(const sim::World& world) {
  auto catalog = std::make_shared<models::Catalog>();
  catalog->num_categories = world.config().num_categories;
  for (const sim::Item& item : world.items()) {
    catalog->items.push_back({item.id, item.category, static_cast<int>(item.provider), item.popularity, item.released_ms});
  }
  return catalog;
}

StatusOr<std::shared_ptr<const safety::BlocklistFilter>> LoadBlocklist(const std::string& file, const models::Catalog& catalog) {
  if (file.empty()) return std::shared_ptr<const safety::BlocklistFilter>();
  std::vector<int64_t> ids;
  for (const auto& item : catalog.items) ids.push_back(item.id);
  ASSIGN_OR_RETURN(safety::BlocklistFilter filter, safety::BlocklistFilter::Load(file, ids));
  return std::shared_ptr<const safety::BlocklistFilter>(std::make_shared<safety::BlocklistFilter>(std::move(filter)));
}

}  // namespace steward::app
