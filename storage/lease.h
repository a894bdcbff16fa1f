// Leases: which process holds a named role until when (wall-clock milliseconds), e.g. which
// serving replica drives an experiment's rollout. Stored in the `leases` table of the control
// database, so replicas sharing a PostgreSQL control plane agree; on SQLite one process holds it.
//
// A holder renews its lease before it expires; another takes it over only once it has expired.
// Clock skew between replicas shortens or stretches the handover gap by the skew, never makes two
// holders at once as long as every holder stops acting when its own renewal fails (TryAcquire
// returns false) and its lease time is longer than the skew.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "common/status.h"
#include "storage/database.h"

namespace steward::storage {

struct LeaseInfo {
  std::string name, holder;
  int64_t expires_ms = 0;
};

// Takes or renews lease `name` for `holder` until now_ms + ttl_ms: succeeds when nobody holds it,
// when `holder` already does, or when the current holder's lease expired before now_ms. Returns
// whether `holder` holds it after the call. One statement (an upsert), atomic on both backends.
StatusOr<bool> TryAcquireLease(Database& db, const std::string& name, const std::string& holder, int64_t now_ms, int64_t ttl_ms);
// Gives the lease up at once (a clean shutdown), when `holder` holds it.
Status ReleaseLease(Database& db, const std::string& name, const std::string& holder);
StatusOr<std::optional<LeaseInfo>> GetLease(Database& db, const std::string& name);

}  // namespace steward::storage
