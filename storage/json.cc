#include "storage/json.h"

#include <nlohmann/json.hpp>

#include "common/json.h"

namespace steward::storage {
std::string AuditEntryJson(const AuditEntry& e, PayloadAs payload) {
  nlohmann::json p = e.payload;
  if (payload == PayloadAs::kObject) {
    nlohmann::json parsed = nlohmann::json::parse(e.payload, nullptr, /*allow_exceptions=*/false);
    if (!parsed.is_discarded()) p = std::move(parsed);
  }
  return DumpJson(nlohmann::json{{"seq", e.seq}, {"ts_ms", e.ts_ms}, {"actor", e.actor}, {"action", e.action}, {"subject", e.subject},
               {"reason", e.reason}, {"payload", p}, {"prev_hash", e.prev_hash}, {"hash", e.hash}});
}

std::string ExposureJson(const Exposure& e) {
  nlohmann::json served = nlohmann::json::array();
  for (const auto& s : e.served) served.push_back({s.item_id, s.propensity});
  nlohmann::json attributes = nullptr;
  if (!e.attributes.empty()) {
    attributes = nlohmann::json::parse(e.attributes, nullptr, /*allow_exceptions=*/false);
    if (attributes.is_discarded()) attributes = e.attributes;
  }
  nlohmann::json safety = nullptr;
  if (!e.safety.empty()) {
    safety = nlohmann::json::parse(e.safety, nullptr, /*allow_exceptions=*/false);
    if (safety.is_discarded()) safety = e.safety;
  }
  return DumpJson(nlohmann::json{{"request_id", e.request_id}, {"ts_ms", e.ts_ms}, {"user_id", e.user_id}, {"user_key", e.user_key},
               {"attributes", attributes}, {"experiment", e.experiment}, {"arm", e.arm}, {"served", served},
               {"model_version", e.model_version}, {"latency_us", e.latency_us}, {"shadow_items", e.shadow_items},
               {"shadow_model_version", e.shadow_model_version}, {"shadow_latency_us", e.shadow_latency_us},
               {"safety", safety}});
}

std::string FeedbackJson(const Feedback& f) {
  return DumpJson(nlohmann::json{{"request_id", f.request_id}, {"ts_ms", f.ts_ms}, {"user_id", f.user_id}, {"item_id", f.item_id},
               {"position", f.position}, {"kind", static_cast<int>(f.kind)}, {"value", f.value}});
}

std::string ShadowOutcomeJson(const ShadowOutcome& s) {
  return DumpJson(nlohmann::json{{"request_id", s.request_id}, {"experiment", s.experiment}, {"model_version", s.model_version},
               {"items", s.items}, {"latency_us", s.latency_us}, {"error", s.error}, {"timed_out", s.timed_out}});
}

}  // namespace steward::storage
