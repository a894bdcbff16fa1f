// Statement: a prepared SQLite statement (internal to storage/ and its tests).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

struct sqlite3;
struct sqlite3_stmt;

namespace steward::storage {

class Statement {
 public:
  Statement(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  ~Statement();
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  // Parameters are 1-based, as in SQLite.
  void BindInt(int index, int64_t value);
  void BindDouble(int index, double value);
  void BindText(int index, std::string_view value);  // copied by SQLite
  void BindBlob(int index, const void* data, size_t size);
  void BindNull(int index);

  // Executes one step. Returns true when a row is available, false when done.
  StatusOr<bool> Step();
  // Runs to completion (for INSERT/UPDATE), then resets.
  Status Run();
  void Reset();

  // Column accessors for the current row (0-based, as in SQLite).
  int64_t ColumnInt(int index) const;
  double ColumnDouble(int index) const;
  std::string ColumnText(int index) const;
  // The same without a copy: valid until the next Step(), Reset() or destruction.
  std::string_view ColumnView(int index) const;
  bool ColumnIsNull(int index) const;

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_;
};

// Steps `st` to the end, converting each row with `read(const Statement&)`.
template <typename Read>
auto CollectRows(Statement& st, Read read) -> StatusOr<std::vector<decltype(read(st))>> {
  std::vector<decltype(read(st))> out;
  while (true) {
    ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    out.push_back(read(st));
  }
  return out;
}

}  // namespace steward::storage
