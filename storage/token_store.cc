#include "storage/token_store.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <nlohmann/json.hpp>

#include "common/json.h"
#include "common/text.h"
#include "storage/audit_log.h"
#include "storage/statement.h"

namespace steward::storage {
namespace {

constexpr size_t kIdBytes = 8, kSecretBytes = 32, kSaltBytes = 16, kSdkKeyBytes = 16;
constexpr size_t kMaxNameBytes = 128;

StatusOr<std::string> RandomHex(size_t bytes) {
  std::string raw(bytes, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(raw.data()), static_cast<int>(bytes)) != 1) {
    return Internal("cannot draw random bytes for a credential (OpenSSL RAND_bytes failed)");
  }
  static const char* kHex = "0123456789abcdef";
  std::string out;
  for (unsigned char c : raw) {
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 15]);
  }
  return out;
}

bool IsHex(std::string_view s) {
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

Status CheckName(const std::string& name) {
  if (name.empty()) return InvalidArgument("name: must not be empty");
  if (name.size() > kMaxNameBytes) return InvalidArgument("name: at most " + std::to_string(kMaxNameBytes) + " bytes");
  return CheckLine(name, "name");
}

Status Audit(Database& db, const std::string& actor, AuditAction action, const std::string& subject, const std::string& payload,
             int64_t now_ms) {
  AuditEntry e;
  e.ts_ms = now_ms;
  e.actor = actor;
  e.action = AuditActionName(action);
  e.subject = subject;
  e.payload = payload;
  return AuditLog(db).Append(std::move(e)).status();
}

std::string Digest(const std::string& salt, std::string_view secret) { return Sha256Hex(salt + std::string(secret)); }

TokenInfo ReadToken(const Statement& st) {
  TokenInfo t;
  t.id = st.ColumnText(0);
  t.name = st.ColumnText(1);
  auto role = ParseRole(st.ColumnText(2));
  t.role = role.ok() ? *role : Role::kService;
  t.created_ms = st.ColumnInt(3);
  if (!st.ColumnIsNull(4)) t.revoked_ms = st.ColumnInt(4);
  return t;
}

SdkKeyInfo ReadSdkKey(const Statement& st) {
  SdkKeyInfo k;
  k.client_key = st.ColumnText(0);
  k.name = st.ColumnText(1);
  if (!st.ColumnIsNull(2)) {
    const auto list = nlohmann::json::parse(st.ColumnText(2), nullptr, /*allow_exceptions=*/false);
    if (list.is_array()) {
      for (const auto& e : list) {
        if (e.is_string()) k.experiments.push_back(e.get<std::string>());
      }
    }
  }
  k.created_ms = st.ColumnInt(3);
  if (!st.ColumnIsNull(4)) k.revoked_ms = st.ColumnInt(4);
  return k;
}

}  // namespace

const char* RoleName(Role role) {
  switch (role) {
    case Role::kService: return "service";
    case Role::kOwner: return "owner";
    case Role::kReviewer: return "reviewer";
    case Role::kOncall: return "oncall";
    case Role::kAdmin: return "admin";
  }
  return "?";
}

StatusOr<Role> ParseRole(std::string_view name) {
  for (Role r : {Role::kService, Role::kOwner, Role::kReviewer, Role::kOncall, Role::kAdmin}) {
    if (name == RoleName(r)) return r;
  }
  return InvalidArgument("role: '" + SanitizeLine(std::string(name)) + "' is not a role; use service, owner, reviewer, oncall or admin");
}

std::string TokenStore::TokenId(std::string_view token) {
  // stw_<16 hex>_<64 hex>
  if (token.size() != 4 + 2 * kIdBytes + 1 + 2 * kSecretBytes || token.substr(0, 4) != "stw_" || token[4 + 2 * kIdBytes] != '_') {
    return "";
  }
  const std::string_view id = token.substr(4, 2 * kIdBytes), secret = token.substr(5 + 2 * kIdBytes);
  if (!IsHex(id) || !IsHex(secret)) return "";
  return std::string(id);
}

bool TokenStore::Matches(const Verifier& verifier, std::string_view token) {
  if (TokenId(token) != verifier.info.id || verifier.info.revoked_ms) return false;
  const std::string digest = Digest(verifier.salt, token.substr(5 + 2 * kIdBytes));
  return digest.size() == verifier.hash.size() && CRYPTO_memcmp(digest.data(), verifier.hash.data(), digest.size()) == 0;
}

StatusOr<std::string> TokenStore::Create(const std::string& name, Role role, const std::string& actor, int64_t now_ms) {
  RETURN_IF_ERROR(CheckName(name));
  ASSIGN_OR_RETURN(std::string id, RandomHex(kIdBytes));
  ASSIGN_OR_RETURN(std::string secret, RandomHex(kSecretBytes));
  ASSIGN_OR_RETURN(std::string salt, RandomHex(kSaltBytes));
  const Status saved = db_.InTransaction([&]() -> Status {
    ASSIGN_OR_RETURN(auto live, db_.Prepare("SELECT 1 FROM api_tokens WHERE name = ? AND revoked_ms IS NULL"));
    live->BindText(1, name);
    ASSIGN_OR_RETURN(bool exists, live->Step());
    if (exists) {
      return AlreadyExists("name: a live token is already named '" + name + "'; revoke it first (`steward token revoke`)");
    }
    ASSIGN_OR_RETURN(auto st, db_.Prepare("INSERT INTO api_tokens (id, name, role, salt, hash, created_ms) VALUES (?, ?, ?, ?, ?, ?)"));
    st->BindText(1, id);
    st->BindText(2, name);
    st->BindText(3, RoleName(role));
    st->BindText(4, salt);
    st->BindText(5, Digest(salt, secret));
    st->BindInt(6, now_ms);
    RETURN_IF_ERROR(st->Run());
    return Audit(db_, actor, AuditAction::kTokenCreate, name, DumpJson(nlohmann::json{{"role", RoleName(role)}, {"id", id}}), now_ms);
  });
  if (!saved.ok()) return saved;
  return "stw_" + id + "_" + secret;
}

StatusOr<std::vector<TokenInfo>> TokenStore::List() {
  ASSIGN_OR_RETURN(auto st, db_.Prepare("SELECT id, name, role, created_ms, revoked_ms FROM api_tokens ORDER BY created_ms DESC, id"));
  return CollectRows(*st, ReadToken);
}

Status TokenStore::Revoke(const std::string& name, const std::string& actor, int64_t now_ms) {
  return db_.InTransaction([&]() -> Status {
    ASSIGN_OR_RETURN(auto st, db_.Prepare("UPDATE api_tokens SET revoked_ms = ? WHERE name = ? AND revoked_ms IS NULL"));
    st->BindInt(1, now_ms);
    st->BindText(2, name);
    RETURN_IF_ERROR(st->Run());
    if (db_.Changes() == 0) return NotFound("name: no live token is named '" + SanitizeLine(name) + "'");
    return Audit(db_, actor, AuditAction::kTokenRevoke, name, "{}", now_ms);
  });
}

StatusOr<std::vector<TokenStore::Verifier>> TokenStore::LiveVerifiers() {
  ASSIGN_OR_RETURN(auto st, db_.Prepare("SELECT id, name, role, created_ms, revoked_ms, salt, hash FROM api_tokens WHERE revoked_ms IS NULL"));
  return CollectRows(*st, [](const Statement& row) { return Verifier{ReadToken(row), row.ColumnText(5), row.ColumnText(6)}; });
}

StatusOr<std::optional<TokenInfo>> TokenStore::Verify(std::string_view token) {
  const std::string id = TokenId(token);
  if (id.empty()) return std::optional<TokenInfo>();
  ASSIGN_OR_RETURN(auto st, db_.Prepare("SELECT id, name, role, created_ms, revoked_ms, salt, hash FROM api_tokens WHERE id = ?"));
  st->BindText(1, id);
  ASSIGN_OR_RETURN(bool row, st->Step());
  if (!row) return std::optional<TokenInfo>();
  Verifier v{ReadToken(*st), st->ColumnText(5), st->ColumnText(6)};
  if (!Matches(v, token)) return std::optional<TokenInfo>();
  return std::optional<TokenInfo>(v.info);
}

StatusOr<std::string> TokenStore::CreateSdkKey(const std::string& name, const std::vector<std::string>& experiments,
                                               const std::string& actor, int64_t now_ms) {
  RETURN_IF_ERROR(CheckName(name));
  for (const auto& e : experiments) RETURN_IF_ERROR(CheckLine(e, "experiments"));
  ASSIGN_OR_RETURN(std::string key, RandomHex(kSdkKeyBytes));
  key = "sdk_" + key;
  const Status saved = db_.InTransaction([&]() -> Status {
    ASSIGN_OR_RETURN(auto live, db_.Prepare("SELECT 1 FROM sdk_keys WHERE name = ? AND revoked_ms IS NULL"));
    live->BindText(1, name);
    ASSIGN_OR_RETURN(bool exists, live->Step());
    if (exists) return AlreadyExists("name: a live SDK key is already named '" + name + "'; revoke it first");
    ASSIGN_OR_RETURN(auto st, db_.Prepare("INSERT INTO sdk_keys (client_key, name, experiments, created_ms) VALUES (?, ?, ?, ?)"));
    st->BindText(1, key);
    st->BindText(2, name);
    if (experiments.empty()) {
      st->BindNull(3);
    } else {
      st->BindText(3, DumpJson(nlohmann::json(experiments)));
    }
    st->BindInt(4, now_ms);
    RETURN_IF_ERROR(st->Run());
    return Audit(db_, actor, AuditAction::kSdkKeyCreate, name, DumpJson(nlohmann::json{{"experiments", experiments}}), now_ms);
  });
  if (!saved.ok()) return saved;
  return key;
}

StatusOr<std::vector<SdkKeyInfo>> TokenStore::ListSdkKeys() {
  ASSIGN_OR_RETURN(auto st, db_.Prepare("SELECT client_key, name, experiments, created_ms, revoked_ms FROM sdk_keys ORDER BY created_ms DESC"));
  return CollectRows(*st, ReadSdkKey);
}

Status TokenStore::RevokeSdkKey(const std::string& name, const std::string& actor, int64_t now_ms) {
  return db_.InTransaction([&]() -> Status {
    ASSIGN_OR_RETURN(auto st, db_.Prepare("UPDATE sdk_keys SET revoked_ms = ? WHERE name = ? AND revoked_ms IS NULL"));
    st->BindInt(1, now_ms);
    st->BindText(2, name);
    RETURN_IF_ERROR(st->Run());
    if (db_.Changes() == 0) return NotFound("name: no live SDK key is named '" + SanitizeLine(name) + "'");
    return Audit(db_, actor, AuditAction::kSdkKeyRevoke, name, "{}", now_ms);
  });
}

StatusOr<std::optional<SdkKeyInfo>> TokenStore::FindSdkKey(std::string_view client_key) {
  ASSIGN_OR_RETURN(auto st, db_.Prepare("SELECT client_key, name, experiments, created_ms, revoked_ms FROM sdk_keys WHERE client_key = ?"));
  st->BindText(1, client_key);
  ASSIGN_OR_RETURN(bool row, st->Step());
  if (!row) return std::optional<SdkKeyInfo>();
  return std::optional<SdkKeyInfo>(ReadSdkKey(*st));
}

}  // namespace steward::storage
