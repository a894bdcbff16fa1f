// The JSON of the logged domain types, written in one place: `--json` output of the CLI, the
// rejected-events quarantine, and the HTTP API all use these. Every function returns compact JSON
// text and never throws: bytes that are not valid UTF-8 are replaced (U+FFFD), never an abort.
#pragma once

#include <string>

#include "storage/audit_log.h"
#include "storage/events.h"

namespace steward::storage {

enum class PayloadAs { kText, kObject };

// {"seq", "ts_ms", "actor", "action", "subject", "reason", "payload", "prev_hash", "hash"}; the
// payload as its JSON text (kText) or parsed into an object (kObject; text when it is not JSON).
std::string AuditEntryJson(const AuditEntry& entry, PayloadAs payload = PayloadAs::kText);
// {"request_id", "ts_ms", "user_id", "user_key", "attributes", "experiment", "arm", "served":
// [[item_id, propensity], ...], "model_version", "latency_us", "shadow_items", "shadow_model_version",
// "shadow_latency_us"}
std::string ExposureJson(const Exposure& exposure);
// {"request_id", "ts_ms", "user_id", "item_id", "position", "kind", "value"}
std::string FeedbackJson(const Feedback& feedback);
// {"request_id", "experiment", "model_version", "items", "latency_us", "error", "timed_out"}
std::string ShadowOutcomeJson(const ShadowOutcome& outcome);

}  // namespace steward::storage
