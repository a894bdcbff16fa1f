#include "storage/rollout_store.h"

#include "storage/statement.h"

namespace steward::storage {

Status RolloutStore::Save(const std::string& name, const std::string& state, const std::string& status_json, int64_t ts_ms) {
  return db_.InTransaction([&]() -> Status {
    ASSIGN_OR_RETURN(auto upsert, db_.Prepare(
        "INSERT INTO rollouts (name, status_json, updated_at_ms) VALUES (?, ?, ?) "
        "ON CONFLICT(name) DO UPDATE SET status_json = excluded.status_json, updated_at_ms = excluded.updated_at_ms"));
    upsert->BindText(1, name);
    upsert->BindText(2, status_json);
    upsert->BindInt(3, ts_ms);
    RETURN_IF_ERROR(upsert->Run());
    ASSIGN_OR_RETURN(auto st, db_.Prepare("UPDATE experiments SET state = ?, updated_at_ms = ? WHERE name = ?"));
    st->BindText(1, state);
    st->BindInt(2, ts_ms);
    st->BindText(3, name);
    RETURN_IF_ERROR(st->Run());
    if (db_.Changes() == 0) return NotFound("no experiment named '" + name + "'; create it with `steward experiment create`");
    return Status::Ok();
  });
}

StatusOr<std::optional<std::string>> RolloutStore::Load(const std::string& name) {
  ASSIGN_OR_RETURN(auto st, db_.Prepare("SELECT status_json FROM rollouts WHERE name = ?"));
  st->BindText(1, name);
  ASSIGN_OR_RETURN(bool row, st->Step());
  if (!row) return std::optional<std::string>();
  return std::optional<std::string>(st->ColumnText(0));
}

Status RolloutStore::SetFlag(const std::string& key, const std::string& value, const std::string& actor, int64_t ts_ms) {
  ASSIGN_OR_RETURN(auto st, db_.Prepare(
      "INSERT INTO flags (key, value, actor, updated_at_ms) VALUES (?, ?, ?, ?) ON CONFLICT(key) DO UPDATE SET "
      "value = excluded.value, actor = excluded.actor, updated_at_ms = excluded.updated_at_ms"));
  st->BindText(1, key);
  st->BindText(2, value);
  st->BindText(3, actor);
  st->BindInt(4, ts_ms);
  return st->Run();
}

StatusOr<std::optional<std::string>> RolloutStore::GetFlag(const std::string& key) {
  ASSIGN_OR_RETURN(auto st, db_.Prepare("SELECT value FROM flags WHERE key = ?"));
  st->BindText(1, key);
  ASSIGN_OR_RETURN(bool row, st->Step());
  if (!row) return std::optional<std::string>();
  return std::optional<std::string>(st->ColumnText(0));
}

StatusOr<std::vector<std::pair<std::string, int>>> RolloutStore::LoadSticky(const std::string& experiment, int bucket_version) {
  ASSIGN_OR_RETURN(auto st, db_.Prepare(
      "SELECT user_id, arm FROM sticky_assignments WHERE experiment = ? AND bucket_version = ?"));
  st->BindText(1, experiment);
  st->BindInt(2, bucket_version);
  return CollectRows(*st, [](const Statement& row) {
    return std::make_pair(row.ColumnText(0), static_cast<int>(row.ColumnInt(1)));
  });
}

Status RolloutStore::SaveSticky(const std::string& experiment, int bucket_version,
                                const std::vector<std::pair<std::string, int>>& rows) {
  if (rows.empty()) return Status::Ok();
  return db_.InTransaction([&]() -> Status {
    ASSIGN_OR_RETURN(auto st, db_.Prepare(
        "INSERT INTO sticky_assignments (experiment, bucket_version, user_id, arm) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING"));
    for (const auto& [user, arm] : rows) {
      st->BindText(1, experiment);
      st->BindInt(2, bucket_version);
      st->BindText(3, user);
      st->BindInt(4, arm);
      RETURN_IF_ERROR(st->Run());
    }
    return Status::Ok();
  });
}

}  // namespace steward::storage
