// Loader for the Open Bandit Dataset sample (data/obd/{random,bts}/{men,women}/*.csv, Apache-2.0,
// Saito et al. 2020, arXiv:2008.07146). Rows are validated; a bad row is an error with file:line.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"

namespace steward::data {

struct ObdRow {
  int64_t ts_ms = 0;        // impression time, milliseconds since the epoch (UTC)
  int32_t item_id = 0;      // 0..n_items-1
  int32_t position = 0;     // 1..3 (left, centre, right)
  int32_t click = 0;        // 0 or 1
  double propensity = 0.0;  // logging policy's probability of this item at this position, in (0, 1]
  std::array<std::string, 4> user_features;
  std::vector<double> affinity;  // user-item affinity, one per item
};

struct ObdItem {
  int32_t item_id = 0;
  double feature_0 = 0.0;                 // numeric
  std::array<std::string, 3> categories;  // item_feature_1..3, hashed categories
};

struct ObdLog {
  std::string path;
  std::vector<ObdRow> rows;
  int32_t n_items = 0;  // number of affinity columns
};

StatusOr<ObdLog> LoadObdLog(const std::string& path);
StatusOr<std::vector<ObdItem>> LoadObdItems(const std::string& path);

// Parses "2019-11-24 00:03:13.442536+00:00" (UTC offset required) to epoch milliseconds.
StatusOr<int64_t> ParseObdTimestamp(const std::string& text);

}  // namespace steward::data
