#include "storage/experiment_store.h"

#include "storage/statement.h"

namespace steward::storage {
namespace {

ExperimentRecord ReadRecord(const Statement& st) {
  return ExperimentRecord{st.ColumnText(0), st.ColumnText(1), st.ColumnInt(2), st.ColumnInt(3), st.ColumnInt(4)};
}

constexpr const char* kColumns = "name, state, current_version, created_at_ms, updated_at_ms";

}  // namespace

StatusOr<int64_t> ExperimentStore::SaveVersion(const std::string& name, const std::string& config_json,
                                               const std::string& actor, int64_t ts_ms,
                                               const std::string& initial_state, bool make_current) {
  if (name.empty()) return InvalidArgument("experiment field 'name' is empty; give the experiment a name");
  int64_t saved = 0;
  Status s = db_.InTransaction([&]() -> Status {
    ASSIGN_OR_RETURN(auto current, db_.Prepare(
        "SELECT v.version, v.config_json FROM experiments e JOIN experiment_versions v "
        "ON v.name = e.name AND v.version = e.current_version WHERE e.name = ?"));
    current->BindText(1, name);
    ASSIGN_OR_RETURN(bool exists, current->Step());
    if (exists && current->ColumnText(1) == config_json) {
      saved = current->ColumnInt(0);
      return Status::Ok();
    }
    int64_t version = 1;
    if (exists) {
      ASSIGN_OR_RETURN(auto latest, db_.Prepare("SELECT MAX(version) FROM experiment_versions WHERE name = ?"));
      latest->BindText(1, name);
      ASSIGN_OR_RETURN(bool any, latest->Step());
      version = (any ? latest->ColumnInt(0) : 0) + 1;
      // The same text as the newest saved version (e.g. a proposal re-applied): that version.
      ASSIGN_OR_RETURN(auto newest, db_.Prepare("SELECT config_json FROM experiment_versions WHERE name = ? AND version = ?"));
      newest->BindText(1, name);
      newest->BindInt(2, version - 1);
      ASSIGN_OR_RETURN(bool found, newest->Step());
      if (found && newest->ColumnText(0) == config_json && !make_current) {
        saved = version - 1;
        return Status::Ok();
      }
    }
    if (!exists) {
      ASSIGN_OR_RETURN(auto insert, db_.Prepare("INSERT INTO experiments (" + std::string(kColumns) + ") VALUES (?,?,?,?,?)"));
      insert->BindText(1, name);
      insert->BindText(2, initial_state);
      insert->BindInt(3, version);
      insert->BindInt(4, ts_ms);
      insert->BindInt(5, ts_ms);
      RETURN_IF_ERROR(insert->Run());
    } else if (make_current) {
      ASSIGN_OR_RETURN(auto update, db_.Prepare("UPDATE experiments SET current_version = ?, updated_at_ms = ? WHERE name = ?"));
      update->BindInt(1, version);
      update->BindInt(2, ts_ms);
      update->BindText(3, name);
      RETURN_IF_ERROR(update->Run());
    }
    ASSIGN_OR_RETURN(auto add, db_.Prepare(
        "INSERT INTO experiment_versions (name, version, created_at_ms, actor, config_json) VALUES (?,?,?,?,?)"));
    add->BindText(1, name);
    add->BindInt(2, version);
    add->BindInt(3, ts_ms);
    add->BindText(4, actor);
    add->BindText(5, config_json);
    RETURN_IF_ERROR(add->Run());
    saved = version;
    return Status::Ok();
  });
  if (!s.ok()) return s.WithContext("saving experiment '" + name + "'");
  return saved;
}

Status ExperimentStore::Activate(const std::string& name, int64_t version, int64_t ts_ms) {
  ASSIGN_OR_RETURN(auto st, db_.Prepare(
      "UPDATE experiments SET current_version = ?, updated_at_ms = ? WHERE name = ? AND EXISTS "
      "(SELECT 1 FROM experiment_versions WHERE name = ? AND version = ?)"));
  st->BindInt(1, version);
  st->BindInt(2, ts_ms);
  st->BindText(3, name);
  st->BindText(4, name);
  st->BindInt(5, version);
  RETURN_IF_ERROR(st->Run());
  if (db_.Changes() == 0) return NotFound("experiment '" + name + "' has no version " + std::to_string(version));
  return Status::Ok();
}

Status ExperimentStore::SetState(const std::string& name, const std::string& state, int64_t ts_ms) {
  ASSIGN_OR_RETURN(auto st, db_.Prepare("UPDATE experiments SET state = ?, updated_at_ms = ? WHERE name = ?"));
  st->BindText(1, state);
  st->BindInt(2, ts_ms);
  st->BindText(3, name);
  RETURN_IF_ERROR(st->Run());
  if (db_.Changes() == 0) return NotFound("no experiment named '" + name + "'; list them with `steward experiment status`");
  return Status::Ok();
}

StatusOr<ExperimentRecord> ExperimentStore::Get(const std::string& name) {
  ASSIGN_OR_RETURN(auto st, db_.Prepare("SELECT " + std::string(kColumns) + " FROM experiments WHERE name = ?"));
  st->BindText(1, name);
  ASSIGN_OR_RETURN(bool row, st->Step());
  if (!row) return NotFound("no experiment named '" + name + "'; list them with `steward experiment status`");
  return ReadRecord(*st);
}

StatusOr<std::vector<ExperimentRecord>> ExperimentStore::List() {
  ASSIGN_OR_RETURN(auto st, db_.Prepare("SELECT " + std::string(kColumns) + " FROM experiments ORDER BY name"));
  return CollectRows(*st, ReadRecord);
}

StatusOr<std::vector<ExperimentVersion>> ExperimentStore::Versions(const std::string& name) {
  ASSIGN_OR_RETURN(auto st, db_.Prepare(
      "SELECT name, version, created_at_ms, actor, config_json FROM experiment_versions WHERE name = ? ORDER BY version"));
  st->BindText(1, name);
  return CollectRows(*st, [](const Statement& row) {
    return ExperimentVersion{row.ColumnText(0), row.ColumnInt(1), row.ColumnInt(2), row.ColumnText(3), row.ColumnText(4)};
  });
}

}  // namespace steward::storage
