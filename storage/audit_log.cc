#include "storage/audit_log.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/log.h"
#include "common/text.h"
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
    case AuditAction::kExperimentPropose: return "experiment.propose";
    case AuditAction::kExperimentActivate: return "experiment.activate";
    case AuditAction::kTokenCreate: return "token.create";
    case AuditAction::kTokenRevoke: return "token.revoke";
    case AuditAction::kAuthDenied: return "auth.denied";
    case AuditAction::kSdkKeyCreate: return "sdk_key.create";
    case AuditAction::kSdkKeyRevoke: return "sdk_key.revoke";
    case AuditAction::kAuditSignOff: return "audit.signoff";
    case AuditAction::kAuditLabel: return "audit.label";
  }
  return "?";
}

StatusOr<AuditAction> ParseAuditAction(const std::string& name) {
  for (int a = 0; a <= static_cast<int>(AuditAction::kAuditLabel); ++a) {
    if (name == AuditActionName(static_cast<AuditAction>(a))) return static_cast<AuditAction>(a);
  }
  return InvalidArgument("unknown audit action '" + name + "'");
}
namespace {

const std::string kGenesisHash(64, '0');
const std::string kHashV2Prefix = "v2:";

// Lower-case hex of `n` bytes.
std::string Hex(const unsigned char* bytes, size_t n) {
  static const char* kHex = "0123456789abcdef";
  std::string out;
  out.reserve(n * 2);
  for (size_t i = 0; i < n; ++i) {
    out.push_back(kHex[bytes[i] >> 4]);
    out.push_back(kHex[bytes[i] & 15]);
  }
  return out;
}

bool IsV2(const std::string& hash) { return hash.rfind(kHashV2Prefix, 0) == 0; }

Status CheckField(const std::string& value, const char* field) {
  if (!IsValidUtf8(value)) return InvalidArgument(std::string("audit entry field '") + field + "' is not valid UTF-8");
  for (unsigned char c : value) {
    if (c < 0x20 || c == 0x7F) {
      return InvalidArgument(std::string("audit entry field '") + field + "' contains a control character (byte " +
                             std::to_string(c) + "); write it on one line without escapes");
    }
  }
  return Status::Ok();
}

// The key for anchor MACs: read from the key file, created (32 random bytes, hex, mode 0600) when
// missing and `create` is set.
StatusOr<std::string> LoadKey(bool create) {
  const std::string path = AuditKeyPath();
  std::ifstream in(path);
  std::string key;
  if (in && std::getline(in, key) && key.size() >= 32) return key;
  if (!create) return NotFound("no audit key at " + path);
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
  unsigned char bytes[32];
  if (RAND_bytes(bytes, sizeof bytes) != 1) return Internal("cannot draw a random audit key");
  key = Hex(bytes, sizeof bytes);
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);
  if (fd < 0) {
    // Another process may have created it meanwhile: read theirs.
    std::ifstream again(path);
    if (again && std::getline(again, key) && key.size() >= 32) return key;
    return IoError("cannot create the audit key " + path + "; set STEWARD_AUDIT_KEY_FILE to a writable path");
  }
  const std::string line = key + "\n";
  const bool written = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size());
  ::fsync(fd);
  ::close(fd);
  if (!written) return IoError("cannot write the audit key " + path);
  return key;
}

std::string Mac(const std::string& key, int64_t seq, const std::string& hash) {
  const std::string message = "steward-audit-anchor:" + std::to_string(seq) + ":" + hash;
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(message.data()),
       message.size(), digest, &length);
  return Hex(digest, length);
}

// Appends "seq hash mac\n" to the anchor file and syncs it.
Status WriteAnchor(const std::string& path, int64_t seq, const std::string& hash) {
  ASSIGN_OR_RETURN(std::string key, LoadKey(/*create=*/true));
  const std::string line = std::to_string(seq) + " " + hash + " " + Mac(key, seq, hash) + "\n";
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  if (fd < 0) return IoError("cannot open the audit anchor " + path);
  const bool written = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size());
  ::fsync(fd);
  ::close(fd);
  if (!written) return IoError("cannot write the audit anchor " + path);
  return Status::Ok();
}

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
  return Hex(digest, length);
}

std::string AuditLog::ComputeHashV1(const AuditEntry& e) {
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

std::string AuditLog::ComputeHash(const AuditEntry& e) {
  std::string data;
  const auto put = [&data](const std::string& field) {
    data += std::to_string(field.size());
    data += ':';
    data += field;
  };
  put(e.prev_hash);
  put(std::to_string(e.seq));
  put(std::to_string(e.ts_ms));
  for (const std::string* field : {&e.actor, &e.action, &e.subject, &e.reason, &e.payload}) put(*field);
  return kHashV2Prefix + Sha256Hex(data);
}

std::string AnchorPathFor(const std::string& db_path) {
  if (const char* env = std::getenv("STEWARD_AUDIT_ANCHOR"); env && *env) return env;
  // A PostgreSQL control plane has no file beside it: each replica keeps an anchor only when
  // STEWARD_AUDIT_ANCHOR names one (its lines vouch for the rows that replica appended).
  if (IsPostgresLocator(db_path)) return "";
  return db_path + ".anchor";
}

std::string AuditKeyPath() {
  if (const char* env = std::getenv("STEWARD_AUDIT_KEY_FILE"); env && *env) return env;
  const char* home = std::getenv("HOME");
  return std::string(home && *home ? home : "/root") + "/.config/steward/audit.key";
}

StatusOr<AuditEntry> AuditLog::Append(AuditEntry entry) {
  if (entry.actor.empty()) return InvalidArgument("audit entry field 'actor' is empty; say who acted (e.g. --actor alice)");
  if (entry.action.empty()) return InvalidArgument("audit entry field 'action' is empty; name the action");
  if (entry.subject.empty()) return InvalidArgument("audit entry field 'subject' is empty; name what was acted on");
  RETURN_IF_ERROR(CheckField(entry.actor, "actor"));
  RETURN_IF_ERROR(CheckField(entry.action, "action"));
  RETURN_IF_ERROR(CheckField(entry.subject, "subject"));
  RETURN_IF_ERROR(CheckField(entry.reason, "reason"));
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
  // Anchored once the row is durable (after the enclosing transaction when there is one).
  if (AnchorPathFor(db_.path()).empty()) return entry;
  db_.AfterCommit([path = AnchorPathFor(db_.path()), seq = entry.seq, hash = entry.hash] {
    if (Status anchored = WriteAnchor(path, seq, hash); !anchored.ok()) {
      STEWARD_LOG(kError) << "audit row seq=" << seq << " is committed but not anchored: " << anchored.ToString();
    }
  });
  return entry;
}

bool AuditLog::IsV2Hash(const std::string& hash) { return IsV2(hash); }

std::string AuditLog::CheckChainRow(const AuditEntry& e, int64_t expected_seq, const std::string& expected_prev, bool seen_v2) {
  if (e.seq != expected_seq) {
    return "sequence gap: expected seq " + std::to_string(expected_seq) + ", found " + std::to_string(e.seq) +
           " (rows deleted or renumbered)";
  }
  if (e.prev_hash != expected_prev) return "prev_hash does not match the hash of the row before it (a row was changed, deleted or inserted)";
  if (IsV2(e.hash) ? ComputeHash(e) != e.hash : ComputeHashV1(e) != e.hash) return "hash does not match the row's contents (the row was edited)";
  if (!IsV2(e.hash) && seen_v2) return "the row uses the old hash format after rows in the new one (a downgraded, rewritten row)";
  return "";
}

StatusOr<AuditVerifyResult> AuditLog::Verify() {
  ASSIGN_OR_RETURN(auto st, db_.Prepare(std::string("SELECT ") + kColumns + " FROM audit_log ORDER BY seq"));
  AuditVerifyResult result;
  std::string expected_prev = kGenesisHash;
  int64_t expected_seq = 1;
  bool seen_v2 = false;
  std::vector<std::string> hashes;
  while (true) {
    ASSIGN_OR_RETURN(bool row, st->Step());
    if (!row) break;
    const AuditEntry e = ReadEntry(*st);
    ++result.rows;
    const std::string problem = CheckChainRow(e, expected_seq, expected_prev, seen_v2);
    if (!problem.empty()) {
      result.ok = false;
      result.first_bad_seq = e.seq;
      result.problem = problem;
      return result;
    }
    seen_v2 = seen_v2 || IsV2(e.hash);
    hashes.push_back(e.hash);
    expected_prev = e.hash;
    ++expected_seq;
  }
  return CheckAnchor(result, hashes, seen_v2);
}

StatusOr<AuditVerifyResult> AuditLog::CheckAnchor(AuditVerifyResult result, const std::vector<std::string>& hashes, bool seen_v2) {
  result.anchor_path = AnchorPathFor(db_.path());
  if (result.anchor_path.empty()) {
    result.unanchored_reason = "the PostgreSQL control plane keeps no anchor file (set STEWARD_AUDIT_ANCHOR on each replica for one)";
    return result;
  }
  std::ifstream in(result.anchor_path);
  if (!in) {
    if (seen_v2) {
      result.ok = false;
      result.first_bad_seq = static_cast<int64_t>(hashes.size());
      result.problem = "the anchor file " + result.anchor_path + " is missing, but rows were anchored when written (deleted or moved)";
    } else {
      result.unanchored_reason = "no anchor file at " + result.anchor_path + " (rows written before anchoring)";
    }
    return result;
  }
  auto key = LoadKey(/*create=*/false);
  if (!key.ok()) {
    result.unanchored_reason = "the audit key is not available (" + key.status().message() + "); cannot check the anchor";
    return result;
  }
  std::string line;
  int64_t line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    std::istringstream fields(line);
    int64_t seq = 0;
    std::string hash, mac;
    if (!(fields >> seq >> hash >> mac) || Mac(*key, seq, hash) != mac) {
      result.ok = false;
      result.problem = "anchor line " + std::to_string(line_no) + " of " + result.anchor_path +
                       " does not carry a valid MAC (forged, edited, or another key)";
      return result;
    }
    if (seq > static_cast<int64_t>(hashes.size())) {
      result.ok = false;
      result.first_bad_seq = seq;
      result.problem = "truncated: the anchor vouches for row seq=" + std::to_string(seq) + " but the log ends at seq=" +
                       std::to_string(hashes.size()) + " (rows were deleted from the end)";
      return result;
    }
    if (seq >= 1 && hashes[static_cast<size_t>(seq - 1)] != hash) {
      result.ok = false;
      result.first_bad_seq = seq;
      result.problem = "row seq=" + std::to_string(seq) + " is not the row the anchor vouches for (the chain was rewritten)";
      return result;
    }
    result.anchored_seq = std::max(result.anchored_seq, seq);
  }
  return result;
}

StatusOr<std::optional<AuditEntry>> AuditLog::Latest(const std::string& subject, const std::vector<AuditAction>& actions) {
  std::string sql = std::string("SELECT ") + kColumns + " FROM audit_log WHERE subject = ? AND action IN (";
  for (size_t i = 0; i < actions.size(); ++i) sql += i ? ",?" : "?";
  sql += ") ORDER BY seq DESC LIMIT 1";
  ASSIGN_OR_RETURN(auto st, db_.Prepare(sql));
  st->BindText(1, subject);
  for (size_t i = 0; i < actions.size(); ++i) st->BindText(static_cast<int>(i + 2), AuditActionName(actions[i]));
  ASSIGN_OR_RETURN(bool row, st->Step());
  if (!row) return std::optional<AuditEntry>();
  return std::optional<AuditEntry>(ReadEntry(*st));
}

StatusOr<std::vector<AuditEntry>> AuditLog::Recent(int limit) {
  std::string sql = std::string("SELECT ") + kColumns + " FROM audit_log ORDER BY seq DESC";
  if (limit > 0) sql += " LIMIT " + std::to_string(limit);
  ASSIGN_OR_RETURN(auto st, db_.Prepare(sql));
  return CollectRows(*st, ReadEntry);
}

StatusOr<std::vector<AuditEntry>> AuditLog::After(int64_t after_seq, int limit) {
  ASSIGN_OR_RETURN(auto st, db_.Prepare(std::string("SELECT ") + kColumns + " FROM audit_log WHERE seq > ? ORDER BY seq LIMIT ?"));
  st->BindInt(1, after_seq);
  st->BindInt(2, limit);
  return CollectRows(*st, ReadEntry);
}

StatusOr<std::vector<AuditEntry>> AuditLog::ForSubject(const std::string& subject) {
  ASSIGN_OR_RETURN(auto st, db_.Prepare(std::string("SELECT ") + kColumns + " FROM audit_log WHERE subject = ? ORDER BY seq"));
  st->BindText(1, subject);
  return CollectRows(*st, ReadEntry);
}

}  // namespace steward::storage
