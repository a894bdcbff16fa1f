// `steward audit exposures`: the audit of a plain impression log that did not come from Steward
// (docs/cli.md, docs/metrics.md "Plain-log audit"). Two CSV files, columns found by header name
// (extra columns allowed):
//   log:   request_id,user_id,user_group,item_id,position,clicked   (position 1-based, clicked 0/1)
//   items: item_id,group,category,popularity                        (the catalog)
// A list is the rows of one request_id. Every figure uses the definitions of fairness/metrics.h and
// fairness/popularity.h; nothing is computed twice.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/status.h"

namespace steward::fairness {

struct LogCatalog {
  std::vector<std::string> item_ids;          // file order
  std::vector<int> group, category;           // indices into group_names / category_names
  std::vector<double> popularity;
  std::vector<std::string> group_names, category_names;  // first-appearance order
};

struct LogRow {
  int32_t list = 0;   // index of the list (request_id, first-appearance order)
  int32_t item = 0;   // catalog index
  int32_t position = 0;
  bool clicked = false;
};

struct ExposureLog {
  std::vector<LogRow> rows;
  std::vector<int32_t> list_user_group;  // per list: index into user_group_names
  std::vector<std::string> user_group_names;
  int64_t users = 0;  // distinct user_id
};

// Errors (kInvalidArgument) name the file, line and column: a missing column, an empty or repeated
// item_id, a popularity that is negative or not a number, an items file with no items.
StatusOr<LogCatalog> LoadLogCatalog(const std::string& items_path);
// Errors name the file, line and column: a position below 1 or not a whole number, clicked not 0
// or 1, an item_id not in the items file, a request_id whose rows name different users or user groups.
StatusOr<ExposureLog> LoadExposureLog(const std::string& log_path, const LogCatalog& catalog);

struct UserGroupCtr {
  double ctr = 0.0;  // clicked rows / lists
  int64_t lists = 0;
};

struct ExposureLogAudit {
  int64_t lists = 0, users = 0;
  std::map<std::string, double> exposure_share, target_share;
  double exposure_disparity = 0.0, exposure_ratio = 1.0;
  std::map<std::string, UserGroupCtr> user_groups;
  double ctr_difference = 0.0, ctr_ratio = 1.0;
  double gini = 0.0, coverage = 0.0, aplt = 0.0, arp = 0.0, diversity_index = 0.0, novelty = 0.0;
};

ExposureLogAudit AuditExposureLog(const ExposureLog& log, const LogCatalog& catalog);
// {"lists", "users", "exposure_share", "target_share", "exposure_disparity", "exposure_ratio",
//  "user_groups": {g: {"ctr", "lists"}}, "ctr_difference", "ctr_ratio", "gini", "coverage", "aplt",
//  "arp", "diversity_index", "novelty"}
std::string ExposureLogAuditJson(const ExposureLogAudit& audit);

}  // namespace steward::fairness
