// The events the serving path logs: one Exposure per served request, Feedback linked to it by
// request id. Plain data, no SQLite.
#pragma once

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

namespace steward::storage {

struct ServedItem {
  int64_t item_id = 0;
  double propensity = 1.0;  // probability the policy served this item at this position
};

struct Exposure {
  int64_t request_id = 0;
  int64_t ts_ms = 0;
  int64_t user_id = 0;      // stable internal id (serving/user_id.h derives it from user_key)
  std::string user_key;     // the user id as the caller sent it ("" when unknown)
  std::string attributes;   // JSON object of the user attributes the request carried; "" for none
  std::string experiment;
  std::string arm;
  std::vector<ServedItem> served;     // position = index + 1
  std::vector<int64_t> shadow_items;  // empty when no shadow model ran
  std::string model_version;
  std::string shadow_model_version;
  int32_t latency_us = 0;
  int32_t shadow_latency_us = 0;
  // The safety screen's record of this list (risk per position, blocks and demotions with their
  // reasons), JSON as in migration 9; "" when no screen ran.
  std::string safety;
  // The serving model's evidence for the list (models::Recommendation::evidence), JSON as in
  // migration 10; "" when none.
  std::string evidence;
};

enum class FeedbackKind : int32_t { kClick = 1, kConversion = 2, kDwell = 3 };

struct Feedback {
  int64_t request_id = 0;
  int64_t ts_ms = 0;
  int64_t user_id = 0;
  int64_t item_id = 0;
  int32_t position = 0;  // 1-based
  FeedbackKind kind = FeedbackKind::kClick;
  double value = 1.0;  // 1 for click/conversion; seconds for dwell
};

// The shadow model's list for a served request, computed off the serving path.
struct ShadowOutcome {
  int64_t request_id = 0;
  std::string experiment;
  std::string model_version;
  std::vector<int64_t> items;
  int32_t latency_us = 0;
  bool error = false;
  bool timed_out = false;
};

using Event = std::variant<Exposure, Feedback, ShadowOutcome>;

}  // namespace steward::storage
