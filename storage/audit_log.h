// AuditLog: the append-only record of who did what, when and why (experiment changes, approvals,
// rollbacks, demo runs).
//
// The chain. Every row carries hash = "v2:" + hex(SHA-256(LP(prev_hash) LP(seq) LP(ts_ms) LP(actor)
// LP(action) LP(subject) LP(reason) LP(payload))), LP(x) = decimal byte length, ':', the bytes, so
// no byte of one field can move into another with the hash still valid; the first row's prev_hash
// is 64 zeros. Rows written before this format (hash without "v2:") were hashed over the fields
// joined by 0x1F and still verify; a v1 row after a v2 row is a downgrade and fails. Editing,
// deleting or reordering any row breaks the chain at that row and Verify() names it.
//
// The anchor. An unkeyed chain can be rewritten whole, and shortened from the end, by anyone who
// can write the database file. So every Append also appends "seq hash mac" to an anchor file
// outside the database (default: the database path + ".anchor"), mac = HMAC-SHA256 with a key
// kept outside the database (default: $HOME/.config/steward/audit.key, created 0600 on first use;
// STEWARD_AUDIT_KEY_FILE and STEWARD_AUDIT_ANCHOR override the two paths). Verify() checks every
// anchor line's MAC and that the database still holds each anchored row with the anchored hash:
// a truncated or rewritten chain fails even when it is internally consistent. docs/security.md
// states what this proves and what it does not.
//
// Text fields (actor, action, subject, reason) must be valid UTF-8 without control characters.
#pragma once

#include <cstdint>
#include <optional>
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
  kExperimentPropose,   // "experiment.propose": a new version of a live experiment, awaiting approval
  kExperimentActivate,  // "experiment.activate": an approved proposal became the current version
  kTokenCreate,         // "token.create": an API token was issued (name and role; never the secret)
  kTokenRevoke,         // "token.revoke"
  kAuthDenied,          // "auth.denied": the service refused a request (401/403); no token material
  kSdkKeyCreate,        // "sdk_key.create": a GrowthBook SDK client key was issued
  kSdkKeyRevoke,        // "sdk_key.revoke"
  kAuditSignOff,        // "audit.signoff": a reviewer approved or blocked a step with a governance audit as evidence
  kAuditLabel,          // "audit.label": a reviewer labelled a sampled served list
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
  // The anchor: the highest sequence number it vouches for (0: none), and why the log is not
  // anchored when it is not (no anchor file for a log written before anchoring; "" when anchored).
  int64_t anchored_seq = 0;
  std::string anchor_path;
  std::string unanchored_reason;
};

// Where the anchor and its key live for a database (see the header comment).
std::string AnchorPathFor(const std::string& db_path);
std::string AuditKeyPath();

class AuditLog {
 public:
  explicit AuditLog(Database& db) : db_(db) {}

  // Appends an entry (seq, prev_hash and hash are assigned) inside its own transaction, then
  // anchors it (a failure to write the anchor is logged, never fails the append: an emergency
  // action is never lost to it). Errors: kInvalidArgument when actor, action or subject is empty, or
  // a text field is not valid UTF-8 or holds a control character (the message names the field).
  StatusOr<AuditEntry> Append(AuditEntry entry);
  // Walks the whole chain in seq order, then checks it against its anchor.
  StatusOr<AuditVerifyResult> Verify();
  // Newest first; `limit` <= 0 means all.
  StatusOr<std::vector<AuditEntry>> Recent(int limit);
  // Up to `limit` entries with seq > `after_seq`, in seq order (paging through the log).
  StatusOr<std::vector<AuditEntry>> After(int64_t after_seq, int limit);
  // Entries about one subject in seq order.
  StatusOr<std::vector<AuditEntry>> ForSubject(const std::string& subject);
  // The newest entry about `subject` whose action is one of `actions`; nullopt when none. An index
  // lookup (audit_log(subject, seq)), not a scan.
  StatusOr<std::optional<AuditEntry>> Latest(const std::string& subject, const std::vector<AuditAction>& actions);

  // The v2 (length-prefixed) hash of an entry, "v2:"-prefixed; ComputeHashV1 the legacy format.
  static std::string ComputeHash(const AuditEntry& entry);
  static std::string ComputeHashV1(const AuditEntry& entry);
  // The chain rule for one row, given the row expected before it: "" when `entry` is the row
  // `expected_seq` linked to `expected_prev` with a hash matching its contents (and not an old-format
  // hash after new-format rows, `seen_v2`); else what is wrong. Verify() and incremental verifiers
  // (console/) apply this one rule.
  static std::string CheckChainRow(const AuditEntry& entry, int64_t expected_seq, const std::string& expected_prev, bool seen_v2);
  static bool IsV2Hash(const std::string& hash);

 private:
  StatusOr<AuditVerifyResult> CheckAnchor(AuditVerifyResult result, const std::vector<std::string>& hashes, bool seen_v2);
  Database& db_;
};

// Lower-case hex SHA-256 of `data`.
std::string Sha256Hex(const std::string& data);

}  // namespace steward::storage
