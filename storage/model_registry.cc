#include "storage/model_registry.h"

#include "storage/statement.h"

namespace steward::storage {

StatusOr<int64_t> ModelRegistry::Register(ModelRecord record) {
  if (record.name.empty()) return InvalidArgument("model field 'name' is empty; name the model");
  if (record.kind.empty()) return InvalidArgument("model field 'kind' is empty; say which kind of model it is");
  int64_t version = 0;
  Status s = db_.InTransaction([&]() -> Status {
    ASSIGN_OR_RETURN(auto latest, db_.Prepare("SELECT COALESCE(MAX(version), 0) FROM models WHERE name = ?"));
    latest->BindText(1, record.name);
    ASSIGN_OR_RETURN(bool row, latest->Step());
    version = (row ? latest->ColumnInt(0) : 0) + 1;
    ASSIGN_OR_RETURN(auto st, db_.Prepare(
        "INSERT INTO models (name, version, kind, created_at_ms, params_json, metrics_json, artifact) VALUES (?,?,?,?,?,?,?)"));
    st->BindText(1, record.name);
    st->BindInt(2, version);
    st->BindText(3, record.kind);
    st->BindInt(4, record.created_at_ms);
    st->BindText(5, record.params_json);
    st->BindText(6, record.metrics_json);
    st->BindBlob(7, record.artifact.data(), record.artifact.size());
    return st->Run();
  });
  if (!s.ok()) return s.WithContext("registering model '" + record.name + "'");
  return version;
}

StatusOr<ModelRecord> ModelRegistry::Latest(const std::string& name) {
  ASSIGN_OR_RETURN(auto st, db_.Prepare(
      "SELECT name, version, kind, created_at_ms, params_json, metrics_json, artifact FROM models WHERE name = ? "
      "ORDER BY version DESC LIMIT 1"));
  st->BindText(1, name);
  ASSIGN_OR_RETURN(bool row, st->Step());
  if (!row) return NotFound("no model named '" + name + "' in the registry");
  return ModelRecord{st->ColumnText(0), st->ColumnInt(1), st->ColumnText(2), st->ColumnInt(3),
                     st->ColumnText(4),  st->ColumnText(5), st->ColumnText(6)};
}

StatusOr<std::vector<ModelRecord>> ModelRegistry::List() {
  ASSIGN_OR_RETURN(auto st, db_.Prepare(
      "SELECT name, version, kind, created_at_ms, params_json, metrics_json FROM models ORDER BY created_at_ms DESC, name, version DESC"));
  return CollectRows(*st, [](const Statement& row) {
    return ModelRecord{row.ColumnText(0), row.ColumnInt(1), row.ColumnText(2), row.ColumnInt(3),
                       row.ColumnText(4), row.ColumnText(5), ""};
  });
}

}  // namespace steward::storage
