#include "storage/lease.h"

#include "storage/statement.h"

namespace steward::storage {

StatusOr<bool> TryAcquireLease(Database& db, const std::string& name, const std::string& holder, int64_t now_ms, int64_t ttl_ms) {
  if (name.empty()) return InvalidArgument("lease name is empty");
  if (holder.empty()) return InvalidArgument("lease holder is empty; name the replica (e.g. --replica-id)");
  if (ttl_ms <= 0) return InvalidArgument("lease time must be positive, got " + std::to_string(ttl_ms) + " ms");
  // The WHERE of DO UPDATE keeps a live lease of another holder untouched; RETURNING then yields
  // no row, which means "not ours".
  ASSIGN_OR_RETURN(auto st, db.Prepare(
      "INSERT INTO leases (name, holder, expires_ms) VALUES (?1, ?2, ?3) "
      "ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_ms = excluded.expires_ms "
      "WHERE leases.holder = excluded.holder OR leases.expires_ms < ?4 RETURNING holder"));
  st->BindText(1, name);
  st->BindText(2, holder);
  st->BindInt(3, now_ms + ttl_ms);
  st->BindInt(4, now_ms);
  ASSIGN_OR_RETURN(bool row, st->Step());
  const bool held = row && st->ColumnText(0) == holder;
  while (row) {  // finish the statement (SQLite commits an autocommit statement at its end)
    ASSIGN_OR_RETURN(row, st->Step());
  }
  return held;
}

Status ReleaseLease(Database& db, const std::string& name, const std::string& holder) {
  ASSIGN_OR_RETURN(auto st, db.Prepare("DELETE FROM leases WHERE name = ? AND holder = ?"));
  st->BindText(1, name);
  st->BindText(2, holder);
  return st->Run();
}

StatusOr<std::optional<LeaseInfo>> GetLease(Database& db, const std::string& name) {
  ASSIGN_OR_RETURN(auto st, db.Prepare("SELECT name, holder, expires_ms FROM leases WHERE name = ?"));
  st->BindText(1, name);
  ASSIGN_OR_RETURN(bool row, st->Step());
  if (!row) return std::optional<LeaseInfo>();
  return std::optional<LeaseInfo>(LeaseInfo{st->ColumnText(0), st->ColumnText(1), st->ColumnInt(2)});
}

}  // namespace steward::storage
