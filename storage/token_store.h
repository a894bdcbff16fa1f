// TokenStore: the HTTP service's credentials (migration 7).
//
// API tokens look like "stw_<id>_<secret>": `id` (16 hex digits) is looked up, `secret` (64 hex
// digits, 256 random bits from OpenSSL's RAND_bytes) is never stored - only SHA-256(salt || secret)
// with a per-token random salt. The token is returned once, by Create. A token's name is the actor
// the audit log records for what it does; a live name is unique (revoke, then re-create to rotate).
//
// SDK client keys ("sdk_<32 hex>") identify a GrowthBook payload; they are public by design (they
// ship inside apps), so they are stored as given, scoped to a list of experiments.
//
// Every create and revoke is audited (token.create / token.revoke, sdk_key.*), never with secrets.
// Thread safety: like Database, one thread at a time.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "storage/database.h"

namespace steward::storage {

// What a token may do (docs/api.md has the matrix): service → recommend, assign, events; owner →
// create, start, promote, stop; reviewer → approve; oncall → rollback and the kill switch; admin →
// everything. Every authenticated role may read.
enum class Role { kService, kOwner, kReviewer, kOncall, kAdmin };
const char* RoleName(Role role);
// Errors: kInvalidArgument naming the accepted roles.
StatusOr<Role> ParseRole(std::string_view name);

struct TokenInfo {
  std::string id;  // the public part
  std::string name;
  Role role = Role::kService;
  int64_t created_ms = 0;
  std::optional<int64_t> revoked_ms;
};

struct SdkKeyInfo {
  std::string client_key;
  std::string name;
  std::vector<std::string> experiments;  // empty: every experiment
  int64_t created_ms = 0;
  std::optional<int64_t> revoked_ms;
};

class TokenStore {
 public:
  explicit TokenStore(Database& db) : db_(db) {}

  // Issues a token; returns it (the only time it exists in clear). `actor` is who issued it.
  // Errors: kInvalidArgument for an empty or non-printable name; kAlreadyExists for a live name.
  StatusOr<std::string> Create(const std::string& name, Role role, const std::string& actor, int64_t now_ms);
  // Every token, newest first, revoked ones included (without secrets).
  StatusOr<std::vector<TokenInfo>> List();
  // Errors: kNotFound when no live token has the name.
  Status Revoke(const std::string& name, const std::string& actor, int64_t now_ms);
  // The live token `token` names, or nullopt (malformed, unknown, wrong secret or revoked). The
  // secret is compared in constant time.
  StatusOr<std::optional<TokenInfo>> Verify(std::string_view token);
  // Every live token's verifier (id, name, role, salt, hash): what a server caches.
  struct Verifier {
    TokenInfo info;
    std::string salt, hash;  // hex
  };
  StatusOr<std::vector<Verifier>> LiveVerifiers();
  // Checks `token` against a verifier without touching the database.
  static bool Matches(const Verifier& verifier, std::string_view token);
  // The id part of a well-formed token, or "" for a malformed one.
  static std::string TokenId(std::string_view token);

  // SDK client keys (issue #16). Errors like Create/Revoke.
  StatusOr<std::string> CreateSdkKey(const std::string& name, const std::vector<std::string>& experiments,
                                     const std::string& actor, int64_t now_ms);
  StatusOr<std::vector<SdkKeyInfo>> ListSdkKeys();
  Status RevokeSdkKey(const std::string& name, const std::string& actor, int64_t now_ms);
  // The key's record (revoked ones included, so a server can answer 401 for them), or nullopt.
  StatusOr<std::optional<SdkKeyInfo>> FindSdkKey(std::string_view client_key);

 private:
  Database& db_;
};

}  // namespace steward::storage
