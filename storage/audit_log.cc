#include "storage/audit_log.h"

#include <openssl/evp.h>

#include "storage/statement.h"

namespace steward::storage {

const char* AuditActionName(AuditAction action) {
  switch (action) {
    case AuditAction::kExperimentVersion: return "experiment.version";
    case AuditAction::kExperimentShadow: return "experiment.shadow";
    case AuditAction::kExperimentRamp: return "experiment.ramp";
    case AuditAction::kExperimentApprove: return "experiment.approve";
    case AuditAction::kExperimentPromote: return "experiment.promote";
    case AuditAction::kExperimentAdvance: return "experiment.advance";
    case AuditAction::kExperimentHold: return "experiment.hold";
    case AuditAction::kExperimentComplete: return "experiment.complete";
    case AuditAction::kExperimentRollback: return "experiment.rollback";
    case AuditAction::kExperimentStop: return "experiment.stop";
    case AuditAction::kKillSwitchOn: return "kill_switch.on";
    case AuditAction::kKillSwitchOff: return "kill_switch.off";
    case AuditAction::kSafetyPolicy: return "safety.policy";
    case AuditAction::kDemoStart: return "demo.start";
    case AuditAction::kDemoFinish: return "demo.finish";
    case AuditAction::kDemoResume: return "demo.resume";
  }
  return "?";
}

StatusOr<AuditAction> ParseAuditAction(const std::string& name) {
  for (int a = 0; a <= static_cast<int>(AuditAction::kDemoResume); ++a) {
    if (name == AuditActionName(static_cast<AuditAction>(a))) return static_cast<AuditAction>(a);
  }
  return InvalidArgument("unknown audit action '" + name + "'");
}
namespace {

const std::string kGenesisHash(64, '0');

AuditEntry ReadEntry(const Statement& st) {
  AuditEntry e;
  e.seq = st.ColumnInt(0);
  e.ts_ms = st.ColumnInt(1);
  e.actor = st.ColumnText(2);
  e.action = st.ColumnText(3);
  e.subject = st.ColumnText(4);
  e.reason = st.ColumnText(5);
  e.payload = st.ColumnText(6);
  e.prev_hash = st.ColumnText(7);
  e.hash = st.ColumnText(8);
  return e;
}

constexpr const char* kColumns = "seq, ts_ms, actor, action, subject, reason, payload, prev_hash, hash";

}  // namespace

std::string Sha256Hex(const std::string& data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(data.data(), data.size(), digest, &length, EVP_sha256(), nullptr);
  static const char* kHex = "0123456789abcdef";
  std::string out;
  out.reserve(length * 2);
  for (unsigned int i = 0; i < length; ++i) {
    out.push_back(kHex[digest[i] >> 4]);
    out.push_back(kHex[digest[i] & 15]);
  }
  return out;
}

std::string AuditLog::ComputeHash(const AuditEntry& e) {
  const char sep = '\x1f';
  std::string data = e.prev_hash;
  data += sep;
  data += std::to_string(e.seq);
  data += sep;
  data += std::to_string(e.ts_ms);
  for (const std::string* field : {&e.actor, &e.action, &e.subject, &e.reason, &e.payload}) {
    data += sep;
    data += *field;
  }
  return Sha256Hex(data);
}

StatusOr<AuditEntry> AuditLog::Append(AuditEntry entry) {
  if (entry.actor.empty()) return InvalidArgument("audit entry field 'actor' is empty; say who acted (e.g. --actor alice)");
  if (entry.action.empty()) return InvalidArgument("audit entry field 'action' is empty; name the action");
  if (entry.subject.empty()) return InvalidArgument("audit entry field 'subject' is empty; name what was acted on");
  if (entry.payload.empty()) entry.payload = "{}";
  Status s = db_.InTransaction([&]() -> Status {
    ASSIGN_OR_RETURN(auto last, db_.Prepare("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1"));
    ASSIGN_OR_RETURN(bool has_row, last->Step());
    entry.seq = has_row ? last->ColumnInt(0) + 1 : 1;
    entry.prev_hash = has_row ? last->ColumnText(1) : kGenesisHash;
    entry.hash = ComputeHash(entry);
    ASSIGN_OR_RETURN(auto insert, db_.Prepare(std::string("INSERT INTO audit_log (") + kColumns +
                                               ") VALUES (?,?,?,?,?,?,?,?,?)"));
    insert->BindInt(1, entry.seq);
    insert->BindInt(2, entry.ts_ms);
    insert->BindText(3, entry.actor);
    insert->BindText(4, entry.action);
    insert->BindText(5, entry.subject);
    insert->BindText(6, entry.reason);
    insert->BindText(7, entry.payload);
    insert->BindText(8, entry.prev_hash);
    insert->BindText(9, entry.hash);
    return insert->Run();
  });
  if (!s.ok()) return s.WithContext("appending to the audit log");
  return entry;
}

StatusOr<AuditVerifyResult> AuditLog::Verify() {
  ASSIGN_OR_RETURN(auto st, db_.Prepare(std::string("SELECT ") + kColumns + " FROM audit_log ORDER BY seq"));
  AuditVerifyResult result;
  std::string expected_prev = kGenesisHash;
  int64_t expected_seq = 1;
  while (true) {
    ASSIGN_OR_RETURN(bool row, st->Step());
    if (!row) break;
    const AuditEntry e = ReadEntry(*st);
    ++result.rows;
    std::string problem;
    if (e.seq != expected_seq) {
      problem = "sequence gap: expected seq " + std::to_string(expected_seq) + ", found " + std::to_string(e.seq) +
                " (rows deleted or renumbered)";
    } else if (e.prev_hash != expected_prev) {
      problem = "prev_hash does not match the hash of the row before it (a row was changed, deleted or inserted)";
    } else if (ComputeHash(e) != e.hash) {
      problem = "hash does not match the row's contents (the row was edited)";
    }
    if (!problem.empty()) {
      result.ok = false;
      result.first_bad_seq = e.seq;
      result.problem = problem;
      return result;
    }
    expected_prev = e.hash;
    ++expected_seq;
  }
  return result;
}

StatusOr<std::vector<AuditEntry>> AuditLog::Recent(int limit) {
  std::string sql = std::string("SELECT ") + kColumns + " FROM audit_log ORDER BY seq DESC";
  if (limit > 0) sql += " LIMIT " + std::to_string(limit);
  ASSIGN_OR_RETURN(auto st, db_.Prepare(sql));
  return CollectRows(*st, ReadEntry);
}

StatusOr<std::vector<AuditEntry>> AuditLog::ForSubject(const std::string& subject) {
  ASSIGN_OR_RETURN(auto st, db_.Prepare(std::string("SELECT ") + kColumns + " FROM audit_log WHERE subject = ? ORDER BY seq"));
  st->BindText(1, subject);
  return CollectRows(*st, ReadEntry);
}

}  // namespace steward::storage
