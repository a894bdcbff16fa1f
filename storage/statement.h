// Statement: a prepared statement of a Database backend, SQLite or PostgreSQL (internal to storage/
// and its tests).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace steward::storage {

class Statement {
 public:
  virtual ~Statement() = default;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  // Parameters are 1-based, as in SQLite ("?" or "?N" in the SQL; PostgreSQL gets them as $N).
  virtual void BindInt(int index, int64_t value) = 0;
  virtual void BindDouble(int index, double value) = 0;
  virtual void BindText(int index, std::string_view value) = 0;  // copied
  virtual void BindBlob(int index, const void* data, size_t size) = 0;
  virtual void BindNull(int index) = 0;

  // Executes one step. Returns true when a row is available, false when done.
  virtual StatusOr<bool> Step() = 0;
  // Runs to completion (for INSERT/UPDATE), then resets.
  virtual Status Run() = 0;
  virtual void Reset() = 0;

  // Column accessors for the current row (0-based, as in SQLite).
  virtual int64_t ColumnInt(int index) const = 0;
  virtual double ColumnDouble(int index) const = 0;
  virtual std::string ColumnText(int index) const = 0;
  // The same without a copy: valid until the next Step(), Reset() or destruction.
  virtual std::string_view ColumnView(int index) const = 0;
  virtual bool ColumnIsNull(int index) const = 0;

 protected:
  Statement() = default;
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
