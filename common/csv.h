// CsvReader: RFC 4180 CSV (quoted fields, doubled quotes, quoted newlines), read row by row with
// the line number of each row's start so loaders can report "file:line: what is wrong".
#pragma once

#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"

namespace steward {

class CsvReader {
 public:
  // Opens `path`. Errors: kNotFound when the file cannot be opened; kInvalidArgument when it is not
  // a regular file or is larger than kMaxCsvFileBytes (common/file.h). A record (row, with its
  // quoted newlines) longer than kMaxCsvRecordBytes is an error from Next().
  static StatusOr<std::unique_ptr<CsvReader>> Open(const std::string& path);

  // Reads the next row into `fields` (cleared first). Returns false at end of file, an error for
  // an unterminated quoted field or a record that is not UTF-8 text (or holds a NUL byte). A trailing '\r' (CRLF files) is removed.
  StatusOr<bool> Next(std::vector<std::string>& fields);

  // Line (1-based) on which the row returned last started.
  int64_t line() const { return row_line_; }
  const std::string& path() const { return path_; }
  // "path:line: " prefix for error messages about the current row.
  std::string Where() const;

 private:
  CsvReader(std::string path, std::ifstream in) : path_(std::move(path)), in_(std::move(in)) {}
  std::string path_;
  std::ifstream in_;
  int64_t next_line_ = 1;
  int64_t row_line_ = 0;
  std::string buffer_;
};

// Splits one CSV record held in memory (no newlines outside quotes). For tests and small inputs.
StatusOr<std::vector<std::string>> ParseCsvLine(const std::string& line);

}  // namespace steward
