// Shared field parsing for the loaders: each failure names file, line, column and the fix.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/csv.h"
#include "common/status.h"

namespace steward::data {

// Column positions looked up by header name.
class Header {
 public:
  static StatusOr<Header> Read(CsvReader& reader);
  // Index of `name`, or an error naming the file and the missing column.
  StatusOr<size_t> Require(const std::string& name) const;
  size_t size() const { return names_.size(); }
  // An error naming the row's line when `fields` has a different number of columns than the header.
  Status CheckRow(const CsvReader& reader, const std::vector<std::string>& fields) const;
  const std::vector<std::string>& names() const { return names_; }

 private:
  std::string path_;
  std::vector<std::string> names_;
  std::unordered_map<std::string, size_t> index_;
};

StatusOr<int64_t> ParseInt(const CsvReader& reader, const std::string& column, const std::string& text);
// Accepts "2008.0" style values for integer columns stored as floats.
StatusOr<int64_t> ParseIntLenient(const CsvReader& reader, const std::string& column, const std::string& text);
StatusOr<double> ParseDouble(const CsvReader& reader, const std::string& column, const std::string& text);
Status FieldError(const CsvReader& reader, const std::string& column, const std::string& what, const std::string& text);

}  // namespace steward::data
