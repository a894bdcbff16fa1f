// AuditLog: the append-only record of who did what, when and why (experiment changes, approvals,
// rollbacks, demo runs). Every row carries
//   hash = hex(SHA-256(prev_hash \x1f seq \x1f ts_ms \x1f actor \x1f action \x1f subject \x1f reason \x1f payload))
// with prev_hash of the first row = 64 zeros, so editing, deleting or reordering any row breaks the
// chain at that row and Verify() names it. The log is tamper-evident, not tamper-proof: the API has
// no update or delete, and Verify() detects changes made behind its back (e.g. with the sqlite3 CLI).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"
#include "storage/database.h"

namespace steward::storage {

// What an audit row records. Stored (and hashed) as its name; code uses the enum, never a literal.
enum class AuditAction {
  kExperimentVersion,   // "experiment.version": a definition saved as a new version
  kExperimentShadow,    // "experiment.shadow": draft -> shadow
  kExperimentRamp,      // "experiment.ramp": the ramp started
  kExperimentApprove,   // "experiment.approve": a role approved the next step
  kExperimentPromote,   // "experiment.promote": advanced by a person
  kExperimentAdvance,   // "experiment.advance": advanced by the control loop
  kExperimentHold,      // "experiment.hold": the control loop holds (health check failed, waiting)
  kExperimentComplete,  // "experiment.complete"
  kExperimentRollback,  // "experiment.rollback": by a person, a guardrail or the kill switch
  kExperimentStop,      // "experiment.stop"
  kKillSwitchOn,        // "kill_switch.on"
  kKillSwitchOff,       // "kill_switch.off"
  kSafetyPolicy,        // "safety.policy": the blocklist a run served under
  kDemoStart,           // "demo.start"
  kDemoFinish,          // "demo.finish"
  kDemoResume,          // "demo.resume": a run resumed after one that never finished
};
const char* AuditActionName(AuditAction action);
// Errors: kInvalidArgument for a name that is not an action.
StatusOr<AuditAction> ParseAuditAction(const std::string& name);

struct AuditEntry {
  int64_t seq = 0;  // assigned by Append
  int64_t ts_ms = 0;
  std::string actor;    // who: a person or a component ("controller", "demo")
  std::string action;   // what: "experiment.create", "experiment.rollback", ...
  std::string subject;  // on what: usually the experiment name
  std::string reason;   // why
  std::string payload;  // evidence, JSON
  std::string prev_hash;
  std::string hash;
};

struct AuditVerifyResult {
  bool ok = true;
  int64_t rows = 0;
  int64_t first_bad_seq = 0;  // 0 when ok
  std::string problem;        // what is wrong with that row
};

class AuditLog {
 public:
  explicit AuditLog(Database& db) : db_(db) {}

  // Appends an entry (seq, prev_hash and hash are assigned) inside its own transaction. Errors:
  // kInvalidArgument when actor, action or subject is empty (the message names the field).
  StatusOr<AuditEntry> Append(AuditEntry entry);
  // Walks the whole chain in seq order.
  StatusOr<AuditVerifyResult> Verify();
  // Newest first; `limit` <= 0 means all.
  StatusOr<std::vector<AuditEntry>> Recent(int limit);
  // Entries about one subject in seq order.
  StatusOr<std::vector<AuditEntry>> ForSubject(const std::string& subject);

  static std::string ComputeHash(const AuditEntry& entry);

 private:
  Database& db_;
};

// Lower-case hex SHA-256 of `data`.
std::string Sha256Hex(const std::string& data);

}  // namespace steward::storage
