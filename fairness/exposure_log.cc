#include "fairness/exposure_log.h"

#include <cmath>
#include <nlohmann/json.hpp>
#include <unordered_map>
#include <unordered_set>

#include "common/csv.h"
#include "common/json.h"
#include "data/loader_util.h"
#include "fairness/metrics.h"
#include "fairness/popularity.h"

namespace steward::fairness {
namespace {

int Intern(std::unordered_map<std::string, int>& index, std::vector<std::string>& names, const std::string& name) {
  auto [it, added] = index.emplace(name, static_cast<int>(names.size()));
  if (added) names.push_back(name);
  return it->second;
}

}  // namespace

StatusOr<LogCatalog> LoadLogCatalog(const std::string& items_path) {
  ASSIGN_OR_RETURN(auto reader, CsvReader::Open(items_path));
  ASSIGN_OR_RETURN(data::Header header, data::Header::Read(*reader));
  ASSIGN_OR_RETURN(size_t c_id, header.Require("item_id"));
  ASSIGN_OR_RETURN(size_t c_group, header.Require("group"));
  ASSIGN_OR_RETURN(size_t c_category, header.Require("category"));
  ASSIGN_OR_RETURN(size_t c_pop, header.Require("popularity"));
  LogCatalog catalog;
  std::unordered_map<std::string, int> groups, categories;
  std::unordered_set<std::string> seen;
  std::vector<std::string> f;
  while (true) {
    ASSIGN_OR_RETURN(bool more, reader->Next(f));
    if (!more) break;
    RETURN_IF_ERROR(header.CheckRow(*reader, f));
    if (f[c_id].empty()) return data::FieldError(*reader, "item_id", "is empty; give every item an id", f[c_id]);
    if (!seen.insert(f[c_id]).second) {
      return data::FieldError(*reader, "item_id", "repeats an item already listed; list each item once", f[c_id]);
    }
    ASSIGN_OR_RETURN(double pop, data::ParseDouble(*reader, "popularity", f[c_pop]));
    if (pop < 0.0) return data::FieldError(*reader, "popularity", "must be zero or more (e.g. a count of interactions)", f[c_pop]);
    catalog.item_ids.push_back(f[c_id]);
    catalog.group.push_back(Intern(groups, catalog.group_names, f[c_group]));
    catalog.category.push_back(Intern(categories, catalog.category_names, f[c_category]));
    catalog.popularity.push_back(pop);
  }
  if (catalog.item_ids.empty()) {
    return InvalidArgument(items_path + ": the items file lists no items; the catalog is the items file, so it needs at "
                           "least one row item_id,group,category,popularity");
  }
  return catalog;
}

StatusOr<ExposureLog> LoadExposureLog(const std::string& log_path, const LogCatalog& catalog) {
  ASSIGN_OR_RETURN(auto reader, CsvReader::Open(log_path));
  ASSIGN_OR_RETURN(data::Header header, data::Header::Read(*reader));
  ASSIGN_OR_RETURN(size_t c_request, header.Require("request_id"));
  ASSIGN_OR_RETURN(size_t c_user, header.Require("user_id"));
  ASSIGN_OR_RETURN(size_t c_user_group, header.Require("user_group"));
  ASSIGN_OR_RETURN(size_t c_item, header.Require("item_id"));
  ASSIGN_OR_RETURN(size_t c_position, header.Require("position"));
  ASSIGN_OR_RETURN(size_t c_clicked, header.Require("clicked"));
  std::unordered_map<std::string, int32_t> item_index;
  for (size_t i = 0; i < catalog.item_ids.size(); ++i) item_index.emplace(catalog.item_ids[i], static_cast<int32_t>(i));
  ExposureLog log;
  std::unordered_map<std::string, int32_t> list_index;
  std::vector<std::string> list_user;
  std::unordered_map<std::string, int> user_groups;
  std::unordered_set<std::string> users;
  std::vector<std::string> f;
  while (true) {
    ASSIGN_OR_RETURN(bool more, reader->Next(f));
    if (!more) break;
    RETURN_IF_ERROR(header.CheckRow(*reader, f));
    if (f[c_request].empty()) return data::FieldError(*reader, "request_id", "is empty; every row belongs to one list", f[c_request]);
    if (f[c_user].empty()) return data::FieldError(*reader, "user_id", "is empty; name the user the list was shown to", f[c_user]);
    auto item = item_index.find(f[c_item]);
    if (item == item_index.end()) {
      return data::FieldError(*reader, "item_id", "is not in the items file (the catalog); add it there or drop the row", f[c_item]);
    }
    ASSIGN_OR_RETURN(int64_t position, data::ParseInt(*reader, "position", f[c_position]));
    if (position < 1 || position > 1000000) {
      return data::FieldError(*reader, "position", "must be a 1-based rank between 1 and 1000000", f[c_position]);
    }
    if (f[c_clicked] != "0" && f[c_clicked] != "1") return data::FieldError(*reader, "clicked", "must be 0 or 1", f[c_clicked]);
    const int group = Intern(user_groups, log.user_group_names, f[c_user_group]);
    auto [it, added] = list_index.emplace(f[c_request], static_cast<int32_t>(list_user.size()));
    if (added) {
      list_user.push_back(f[c_user]);
      log.list_user_group.push_back(group);
      users.insert(f[c_user]);
    } else if (list_user[static_cast<size_t>(it->second)] != f[c_user]) {
      return data::FieldError(*reader, "user_id", "differs from the user of this request_id's earlier rows (a list is shown to one user)",
                              f[c_user]);
    } else if (log.list_user_group[static_cast<size_t>(it->second)] != group) {
      return data::FieldError(*reader, "user_group", "differs from the user group of this request_id's earlier rows", f[c_user_group]);
    }
    log.rows.push_back({it->second, item->second, static_cast<int32_t>(position), f[c_clicked] == "1"});
  }
  log.users = static_cast<int64_t>(users.size());
  return log;
}

ExposureLogAudit AuditExposureLog(const ExposureLog& log, const LogCatalog& catalog) {
  ExposureLogAudit out;
  const size_t items = catalog.item_ids.size(), groups = catalog.group_names.size();
  out.lists = static_cast<int64_t>(log.list_user_group.size());
  out.users = log.users;

  // Item side: position-weighted exposure per group against the catalog share.
  std::vector<double> group_weight(groups, 0.0), target(groups, 0.0), item_rows(items, 0.0);
  std::vector<double> category_rows(catalog.category_names.size(), 0.0);
  std::vector<std::vector<int32_t>> lists(log.list_user_group.size());
  double total_pop = 0.0;
  for (double p : catalog.popularity) total_pop += p;
  double novelty = 0.0;
  int64_t novelty_rows = 0;
  for (const LogRow& r : log.rows) {
    const auto i = static_cast<size_t>(r.item);
    group_weight[static_cast<size_t>(catalog.group[i])] += PositionWeight(r.position);
    item_rows[i] += 1.0;
    category_rows[static_cast<size_t>(catalog.category[i])] += 1.0;
    lists[static_cast<size_t>(r.list)].push_back(r.item);
    if (catalog.popularity[i] > 0.0) {  // self-information is undefined at popularity 0 (docs/metrics.md)
      novelty += SelfInformation(catalog.popularity[i] / total_pop);
      ++novelty_rows;
    }
  }
  for (size_t i = 0; i < items; ++i) target[static_cast<size_t>(catalog.group[i])] += 1.0;
  for (double& t : target) t /= static_cast<double>(items);  // items in g / catalog items
  const std::vector<double> shares = ExposureShares(group_weight);
  for (size_t g = 0; g < groups; ++g) {
    out.exposure_share[catalog.group_names[g]] = shares[g];
    out.target_share[catalog.group_names[g]] = target[g];
  }
  out.exposure_disparity = ExposureDisparity(shares, target);
  out.exposure_ratio = ExposureRatio(shares, target);

  // User side: clicks per list by user group (Fairlearn's between-groups difference and ratio).
  std::vector<double> clicks(log.user_group_names.size(), 0.0), group_lists(log.user_group_names.size(), 0.0);
  for (int32_t g : log.list_user_group) group_lists[static_cast<size_t>(g)] += 1.0;
  for (const LogRow& r : log.rows) clicks[static_cast<size_t>(log.list_user_group[static_cast<size_t>(r.list)])] += r.clicked ? 1.0 : 0.0;
  std::vector<double> ctrs;
  for (size_t h = 0; h < group_lists.size(); ++h) {
    const double ctr = clicks[h] / group_lists[h];  // every named group has at least one list
    out.user_groups[log.user_group_names[h]] = {ctr, static_cast<int64_t>(group_lists[h])};
    ctrs.push_back(ctr);
  }
  out.ctr_difference = MaxMinDifference(ctrs);
  out.ctr_ratio = MinMaxRatio(ctrs);

  out.gini = Gini(item_rows);
  out.coverage = Coverage(item_rows);
  const PopularityBias bias = ComputePopularityBias(lists, catalog.popularity, ShortHead(catalog.popularity));
  out.aplt = bias.aplt;
  out.arp = bias.arp;
  out.diversity_index = CategoricalDiversityIndex(category_rows, static_cast<int>(catalog.category_names.size()));
  out.novelty = novelty_rows ? novelty / static_cast<double>(novelty_rows) : 0.0;
  return out;
}

std::string ExposureLogAuditJson(const ExposureLogAudit& a) {
  nlohmann::json user_groups = nlohmann::json::object();
  for (const auto& [name, g] : a.user_groups) user_groups[name] = {{"ctr", g.ctr}, {"lists", g.lists}};
  return DumpJson(nlohmann::json{{"lists", a.lists},
                                 {"users", a.users},
                                 {"exposure_share", a.exposure_share},
                                 {"target_share", a.target_share},
                                 {"exposure_disparity", a.exposure_disparity},
                                 {"exposure_ratio", a.exposure_ratio},
                                 {"user_groups", user_groups},
                                 {"ctr_difference", a.ctr_difference},
                                 {"ctr_ratio", a.ctr_ratio},
                                 {"gini", a.gini},
                                 {"coverage", a.coverage},
                                 {"aplt", a.aplt},
                                 {"arp", a.arp},
                                 {"diversity_index", a.diversity_index},
                                 {"novelty", a.novelty}});
}

}  // namespace steward::fairness
