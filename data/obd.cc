#include "data/obd.h"

#include <ctime>

#include "common/csv.h"
#include "data/loader_util.h"

namespace steward::data {

StatusOr<int64_t> ParseObdTimestamp(const std::string& text) {
  // YYYY-MM-DD HH:MM:SS[.ffffff]+HH:MM
  std::tm tm{};
  int year, month, day, hour, minute, second;
  int consumed = 0;
  if (std::sscanf(text.c_str(), "%4d-%2d-%2d %2d:%2d:%2d%n", &year, &month, &day, &hour, &minute, &second, &consumed) != 6) {
    return InvalidArgument("timestamp '" + text + "': expected 'YYYY-MM-DD HH:MM:SS[.ffffff]+HH:MM'");
  }
  size_t pos = static_cast<size_t>(consumed);
  int64_t micros = 0;
  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    int digits = 0;
    while (pos < text.size() && std::isdigit(static_cast<unsigned char>(text[pos]))) {
      if (digits < 6) micros = micros * 10 + (text[pos] - '0');
      ++digits;
      ++pos;
    }
    for (; digits < 6; ++digits) micros *= 10;
  }
  int offset_h = 0, offset_m = 0;
  if (pos >= text.size() || (text[pos] != '+' && text[pos] != '-') ||
      std::sscanf(text.c_str() + pos + 1, "%2d:%2d", &offset_h, &offset_m) != 2) {
    return InvalidArgument("timestamp '" + text + "': expected a UTC offset such as +00:00");
  }
  const int sign = text[pos] == '-' ? -1 : 1;
  tm.tm_year = year - 1900;
  tm.tm_mon = month - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = minute;
  tm.tm_sec = second;
  const int64_t epoch = static_cast<int64_t>(timegm(&tm)) - sign * (offset_h * 3600 + offset_m * 60);
  return epoch * 1000 + micros / 1000;
}

StatusOr<ObdLog> LoadObdLog(const std::string& path) {
  ASSIGN_OR_RETURN(auto reader, CsvReader::Open(path));
  ASSIGN_OR_RETURN(Header header, Header::Read(*reader));
  ASSIGN_OR_RETURN(size_t c_ts, header.Require("timestamp"));
  ASSIGN_OR_RETURN(size_t c_item, header.Require("item_id"));
  ASSIGN_OR_RETURN(size_t c_pos, header.Require("position"));
  ASSIGN_OR_RETURN(size_t c_click, header.Require("click"));
  ASSIGN_OR_RETURN(size_t c_prop, header.Require("propensity_score"));
  std::array<size_t, 4> c_user{};
  for (size_t i = 0; i < 4; ++i) {
    ASSIGN_OR_RETURN(c_user[i], header.Require("user_feature_" + std::to_string(i)));
  }
  std::vector<size_t> c_aff;
  while (true) {
    const std::string name = "user-item_affinity_" + std::to_string(c_aff.size());
    auto idx = header.Require(name);
    if (!idx.ok()) break;
    c_aff.push_back(*idx);
  }
  if (c_aff.empty()) return InvalidArgument(path + ":1: no 'user-item_affinity_0' column; is this an OBD log file?");

  ObdLog log;
  log.path = path;
  log.n_items = static_cast<int32_t>(c_aff.size());
  std::vector<std::string> f;
  while (true) {
    ASSIGN_OR_RETURN(bool has, reader->Next(f));
    if (!has) break;
    RETURN_IF_ERROR(header.CheckRow(*reader, f));
    ObdRow row;
    auto ts = ParseObdTimestamp(f[c_ts]);
    if (!ts.ok()) return InvalidArgument(reader->Where() + "column 'timestamp': " + ts.status().message());
    row.ts_ms = *ts;
    ASSIGN_OR_RETURN(int64_t item, ParseInt(*reader, "item_id", f[c_item]));
    if (item < 0 || item >= log.n_items) {
      return FieldError(*reader, "item_id", "expected an item id in [0, " + std::to_string(log.n_items) + ")", f[c_item]);
    }
    row.item_id = static_cast<int32_t>(item);
    ASSIGN_OR_RETURN(int64_t position, ParseInt(*reader, "position", f[c_pos]));
    if (position < 1 || position > 3) return FieldError(*reader, "position", "expected 1, 2 or 3", f[c_pos]);
    row.position = static_cast<int32_t>(position);
    ASSIGN_OR_RETURN(int64_t click, ParseInt(*reader, "click", f[c_click]));
    if (click != 0 && click != 1) return FieldError(*reader, "click", "expected 0 or 1", f[c_click]);
    row.click = static_cast<int32_t>(click);
    ASSIGN_OR_RETURN(row.propensity, ParseDouble(*reader, "propensity_score", f[c_prop]));
    if (!(row.propensity > 0.0 && row.propensity <= 1.0)) {
      return FieldError(*reader, "propensity_score", "expected a probability in (0, 1]", f[c_prop]);
    }
    for (size_t i = 0; i < 4; ++i) row.user_features[i] = f[c_user[i]];
    row.affinity.reserve(c_aff.size());
    for (size_t i = 0; i < c_aff.size(); ++i) {
      ASSIGN_OR_RETURN(double a, ParseDouble(*reader, header.names()[c_aff[i]], f[c_aff[i]]));
      row.affinity.push_back(a);
    }
    log.rows.push_back(std::move(row));
  }
  if (log.rows.empty()) return InvalidArgument(path + ": no rows after the header");
  return log;
}

StatusOr<std::vector<ObdItem>> LoadObdItems(const std::string& path) {
  ASSIGN_OR_RETURN(auto reader, CsvReader::Open(path));
  ASSIGN_OR_RETURN(Header header, Header::Read(*reader));
  ASSIGN_OR_RETURN(size_t c_item, header.Require("item_id"));
  ASSIGN_OR_RETURN(size_t c_f0, header.Require("item_feature_0"));
  std::array<size_t, 3> c_cat{};
  for (size_t i = 0; i < 3; ++i) {
    ASSIGN_OR_RETURN(c_cat[i], header.Require("item_feature_" + std::to_string(i + 1)));
  }
  std::vector<ObdItem> items;
  std::vector<std::string> f;
  while (true) {
    ASSIGN_OR_RETURN(bool has, reader->Next(f));
    if (!has) break;
    RETURN_IF_ERROR(header.CheckRow(*reader, f));
    ObdItem item;
    ASSIGN_OR_RETURN(int64_t id, ParseInt(*reader, "item_id", f[c_item]));
    if (id != static_cast<int64_t>(items.size())) {
      return FieldError(*reader, "item_id", "expected ids 0, 1, 2, ... in order (next: " + std::to_string(items.size()) + ")", f[c_item]);
    }
    item.item_id = static_cast<int32_t>(id);
    ASSIGN_OR_RETURN(item.feature_0, ParseDouble(*reader, "item_feature_0", f[c_f0]));
    for (size_t i = 0; i < 3; ++i) item.categories[i] = f[c_cat[i]];
    items.push_back(std::move(item));
  }
  if (items.empty()) return InvalidArgument(path + ": no items after the header");
  return items;
}

}  // namespace steward::data
