#include "data/loader_util.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>

namespace steward::data {

StatusOr<Header> Header::Read(CsvReader& reader) {
  Header h;
  h.path_ = reader.path();
  ASSIGN_OR_RETURN(bool has, reader.Next(h.names_));
  if (!has) return InvalidArgument(reader.path() + ": file is empty; expected a header row");
  for (size_t i = 0; i < h.names_.size(); ++i) h.index_[h.names_[i]] = i;
  return h;
}

StatusOr<size_t> Header::Require(const std::string& name) const {
  auto it = index_.find(name);
  if (it == index_.end()) {
    return InvalidArgument(path_ + ":1: missing column '" + name + "'; the header must name it");
  }
  return it->second;
}

Status Header::CheckRow(const CsvReader& reader, const std::vector<std::string>& fields) const {
  if (fields.size() == names_.size()) return Status::Ok();
  return InvalidArgument(reader.Where() + "expected " + std::to_string(names_.size()) + " columns, found " +
                         std::to_string(fields.size()) + "; check the quoting of commas in this row");
}

Status FieldError(const CsvReader& reader, const std::string& column, const std::string& what,
                  const std::string& text) {
  return InvalidArgument(reader.Where() + "column '" + column + "': " + what + ", got '" + text +
                         "'; fix or remove this row");
}

StatusOr<int64_t> ParseInt(const CsvReader& reader, const std::string& column, const std::string& text) {
  if (text.empty()) return FieldError(reader, column, "expected an integer", text);
  char* end = nullptr;
  errno = 0;
  const long long v = std::strtoll(text.c_str(), &end, 10);
  if (errno != 0 || end != text.c_str() + text.size()) return FieldError(reader, column, "expected an integer", text);
  return static_cast<int64_t>(v);
}

StatusOr<int64_t> ParseIntLenient(const CsvReader& reader, const std::string& column, const std::string& text) {
  ASSIGN_OR_RETURN(double d, ParseDouble(reader, column, text));
  if (d != std::floor(d) || std::fabs(d) > 9e15) return FieldError(reader, column, "expected a whole number", text);
  return static_cast<int64_t>(d);
}

StatusOr<double> ParseDouble(const CsvReader& reader, const std::string& column, const std::string& text) {
  if (text.empty()) return FieldError(reader, column, "expected a number", text);
  char* end = nullptr;
  errno = 0;
  const double v = std::strtod(text.c_str(), &end);
  if (errno != 0 || end != text.c_str() + text.size() || !std::isfinite(v)) {
    return FieldError(reader, column, "expected a number", text);
  }
  return v;
}

}  // namespace steward::data
