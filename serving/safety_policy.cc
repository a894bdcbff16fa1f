#include "serving/safety_policy.h"

#include <nlohmann/json.hpp>

#include "storage/audit_log.h"
#include "storage/queries.h"

namespace steward::serving {

StatusOr<std::vector<std::shared_ptr<const safety::BlocklistFilter>>> ResolveSafetyPolicies(
    storage::Database& db, const std::string& policy_file, shadow::ShadowReportOptions& options) {
  std::vector<std::shared_ptr<const safety::BlocklistFilter>> filters;
  ASSIGN_OR_RETURN(auto catalog, storage::LoadCatalog(db));
  std::vector<int64_t> ids;
  for (const auto& row : catalog) ids.push_back(row.item_id);  // ordered by id, as the report indexes them
  if (!policy_file.empty()) {
    if (catalog.empty()) {
      return FailedPrecondition(policy_file + ": the database has no catalog snapshot to resolve the policy's item ids");
    }
    ASSIGN_OR_RETURN(safety::BlocklistFilter loaded, safety::BlocklistFilter::Load(policy_file, ids));
    filters.push_back(std::make_shared<safety::BlocklistFilter>(std::move(loaded)));
    options.policy = filters.back().get();
    options.policy_source = "file " + policy_file;
    return filters;
  }
  if (catalog.empty()) return filters;
  ASSIGN_OR_RETURN(auto recent, storage::AuditLog(db).Recent(0));  // newest first: the latest policy wins
  for (const storage::AuditEntry& entry : recent) {
    if (entry.action != storage::AuditActionName(storage::AuditAction::kSafetyPolicy) || options.policies.count(entry.subject)) {
      continue;
    }
    const auto payload = nlohmann::json::parse(entry.payload, nullptr, /*allow_exceptions=*/false);
    if (payload.is_discarded() || !payload.contains("items") || !payload["items"].is_array()) {
      return DataLoss("audit row seq=" + std::to_string(entry.seq) + " (safety.policy) has no item list; verify the audit log");
    }
    std::vector<int64_t> items;
    for (const auto& item : payload["items"]) {
      if (!item.is_number_integer()) {
        return DataLoss("audit row seq=" + std::to_string(entry.seq) + " (safety.policy) lists a non-integer item id");
      }
      items.push_back(item.get<int64_t>());
    }
    auto filter = safety::BlocklistFilter::FromIds(items, entry.reason, ids);
    if (!filter.ok()) return filter.status().WithContext("audit row seq=" + std::to_string(entry.seq));
    filters.push_back(std::make_shared<safety::BlocklistFilter>(std::move(*filter)));
    options.policies[entry.subject] = filters.back().get();
    options.policy_sources[entry.subject] = "recorded in audit row seq=" + std::to_string(entry.seq);
  }
  return filters;
}

}  // namespace steward::serving
