#include "app/sim_traffic.h"

#include <nlohmann/json.hpp>

#include "common/json.h"
#include "safety/risk_model.h"

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

namespace steward::app {

StatusOr<std::shared_ptr<safety::SafetyScreen>> LoadSafetyScreen(const ScreenFiles& files, const std::vector<data::Book>& books,
                                                                 std::shared_ptr<const models::Catalog> catalog) {
  if (files.policy_file.empty() && files.risk_model_file.empty()) return std::shared_ptr<safety::SafetyScreen>();
  safety::SafetyPolicy policy;
  if (!files.policy_file.empty()) {
    ASSIGN_OR_RETURN(policy, safety::LoadSafetyPolicy(files.policy_file));
  }
  std::vector<double> risk;
  std::string version;
  if (!files.risk_model_file.empty()) {
    ASSIGN_OR_RETURN(safety::RiskModel model, safety::LoadRiskModel(files.risk_model_file));
    std::vector<safety::ItemContent> content;
    content.reserve(books.size());
    for (const data::Book& b : books) content.push_back(safety::ContentOf(b));
    ASSIGN_OR_RETURN(risk, safety::ScoreCatalog(model, content, *catalog));
    version = model.version;
  }
  safety::ScreenOptions options;
  options.block_risk = files.block_risk;
  options.demote_risk = files.demote_risk;
  auto screen = safety::SafetyScreen::Create(std::move(policy), std::move(catalog), std::move(risk), std::move(version), options);
  if (!screen.ok()) return screen.status().WithContext(files.policy_file.empty() ? files.risk_model_file : files.policy_file);
  return *screen;
}

std::string ScreenAuditPayload(const safety::SafetyScreen& screen, const ScreenFiles& files) {
  const safety::SafetyPolicy& p = screen.policy();
  return DumpJson(nlohmann::json{{"filter", screen.name()},
                                 {"policy_file", files.policy_file},
                                 {"reason", p.reason},
                                 {"items", std::vector<int64_t>(p.blocklist.begin(), p.blocklist.end())},
                                 {"restrictions", p.restrictions.size()},
                                 {"max_impressions_per_user_item", p.max_impressions_per_user_item},
                                 {"cap_window_ms", p.cap_window_ms},
                                 {"risk_model_file", files.risk_model_file},
                                 {"risk_model", screen.risk_version()},
                                 {"block_risk", screen.options().block_risk},
                                 {"demote_risk", screen.options().demote_risk},
                                 {"applies_to", "every arm and the shadow model"}});
}

}  // namespace steward::app
