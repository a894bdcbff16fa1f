#include "common/csv.h"

#include "common/text.h"

namespace steward {
namespace {

// Parses `text` from `pos`, appending fields. Returns true when the record is complete, false when
// a quoted field continues past the end of `text` (the caller appends the next line and retries).
bool ParseRecord(const std::string& text, std::vector<std::string>& fields) {
  fields.clear();
  std::string field;
  bool in_quotes = false;
  bool field_was_quoted = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_quotes) {
      if (c == '"') {
        if (i + 1 < text.size() && text[i + 1] == '"') {
          field.push_back('"');
          ++i;
        } else {
          in_quotes = false;
        }
      } else {
        field.push_back(c);
      }
    } else if (c == '"' && field.empty() && !field_was_quoted) {
      in_quotes = true;
      field_was_quoted = true;
    } else if (c == ',') {
      fields.push_back(std::move(field));
      field.clear();
      field_was_quoted = false;
    } else {
      field.push_back(c);
    }
  }
  if (in_quotes) return false;
  fields.push_back(std::move(field));
  return true;
}

}  // namespace

StatusOr<std::unique_ptr<CsvReader>> CsvReader::Open(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound(path + ": cannot open file; check the path and that it is readable");
  return std::unique_ptr<CsvReader>(new CsvReader(path, std::move(in)));
}

StatusOr<bool> CsvReader::Next(std::vector<std::string>& fields) {
  std::string line;
  if (!std::getline(in_, line)) return false;
  row_line_ = next_line_++;
  if (!line.empty() && line.back() == '\r') line.pop_back();
  buffer_ = std::move(line);
  while (!ParseRecord(buffer_, fields)) {
    std::string more;
    if (!std::getline(in_, more)) {
      return InvalidArgument(Where() + "unterminated quoted field; close the quote or escape it as \"\"");
    }
    ++next_line_;
    if (!more.empty() && more.back() == '\r') more.pop_back();
    buffer_.push_back('\n');
    buffer_ += more;
  }
  // Fields are text: a byte that is not UTF-8 is reported here, with the line, rather than
  // reaching a JSON report or the database.
  if (Status s = CheckText(buffer_, Where() + "record"); !s.ok()) return s;
  return true;
}

std::string CsvReader::Where() const { return path_ + ":" + std::to_string(row_line_) + ": "; }

StatusOr<std::vector<std::string>> ParseCsvLine(const std::string& line) {
  std::vector<std::string> fields;
  if (!ParseRecord(line, fields)) return InvalidArgument("unterminated quoted field");
  return fields;
}

}  // namespace steward
