// Which safety policy screened each experiment, for reports that count violations (the shadow
// report in the CLI and the dashboard): a blocklist file given for every experiment, or else the
// policy each experiment's run recorded in the audit log (action safety.policy, tamper-evident).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "safety/blocklist_filter.h"
#include "shadow/report.h"
#include "storage/database.h"

namespace steward::serving {

// Resolves the policies against the database's catalog snapshot and sets `options.policy` (from
// `policy_file`, when given) or `options.policies` (from the audit log), with where each came from.
// The returned filters must outlive the report built with `options`.
// Errors: kFailedPrecondition when a policy file is given but the database has no catalog snapshot;
// kInvalidArgument for a bad policy file; kDataLoss for a safety.policy audit row without items.
StatusOr<std::vector<std::shared_ptr<const safety::BlocklistFilter>>> ResolveSafetyPolicies(
    storage::Database& db, const std::string& policy_file, shadow::ShadowReportOptions& options);

}  // namespace steward::serving
