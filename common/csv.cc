#include "common/csv.h"

#include "common/file.h"
#include "common/text.h"

namespace steward {
namespace {

// Splits one record, resumable: Feed() parses `text` from where the last call stopped, so a record
// spanning many lines (quoted newlines) is parsed in time linear in its length. Returns true when
// the record is complete (its fields appended to `fields`), false when a quoted field continues past
// the end of `text` (the caller appends the next line and feeds again).
class RecordParser {
 public:
  bool Feed(const std::string& text, std::vector<std::string>& fields) {
    for (; pos_ < text.size(); ++pos_) {
      const char c = text[pos_];
      if (in_quotes_) {
        if (c == '"') {
          if (pos_ + 1 < text.size() && text[pos_ + 1] == '"') {
            field_.push_back('"');
            ++pos_;
          } else {
            in_quotes_ = false;
          }
        } else {
          field_.push_back(c);
        }
      } else if (c == '"' && field_.empty() && !field_was_quoted_) {
        in_quotes_ = true;
        field_was_quoted_ = true;
      } else if (c == ',') {
        fields.push_back(std::move(field_));
        field_.clear();
        field_was_quoted_ = false;
      } else {
        field_.push_back(c);
      }
    }
    if (in_quotes_) return false;
    fields.push_back(std::move(field_));
    field_.clear();
    return true;
  }

 private:
  size_t pos_ = 0;
  std::string field_;
  bool in_quotes_ = false;
  bool field_was_quoted_ = false;
};

// std::getline with a bound: reads one line (without its '\n') into `line`, at most `max` bytes;
// a longer line sets `too_long` and stops there. Returns false at end of file with nothing read.
bool ReadLine(std::istream& in, std::string& line, size_t max, bool& too_long) {
  line.clear();
  std::streambuf* sb = in.rdbuf();
  bool any = false;
  for (int c = sb->sbumpc(); c != std::char_traits<char>::eof(); c = sb->sbumpc()) {
    any = true;
    if (c == '\n') return true;
    if (line.size() >= max) {
      too_long = true;
      return true;
    }
    line.push_back(static_cast<char>(c));
  }
  return any;
}

}  // namespace

StatusOr<std::unique_ptr<CsvReader>> CsvReader::Open(const std::string& path) {
  RETURN_IF_ERROR(CheckRegularFile(path, kMaxCsvFileBytes, "CSV file"));
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound(path + ": cannot open file; check the path and that it is readable");
  return std::unique_ptr<CsvReader>(new CsvReader(path, std::move(in)));
}

StatusOr<bool> CsvReader::Next(std::vector<std::string>& fields) {
  constexpr size_t kMaxRecord = static_cast<size_t>(kMaxCsvRecordBytes);
  std::string line;
  bool too_long = false;
  const auto record_too_long = [&] {
    return InvalidArgument(Where() + "record longer than " + std::to_string(kMaxCsvRecordBytes) +
                           " bytes; fix: check that this is a CSV file and that its quotes are closed");
  };
  if (!ReadLine(in_, line, kMaxRecord, too_long)) return false;
  row_line_ = next_line_++;
  if (too_long) return record_too_long();
  if (!line.empty() && line.back() == '\r') line.pop_back();
  buffer_ = std::move(line);
  fields.clear();
  RecordParser parser;
  while (!parser.Feed(buffer_, fields)) {
    std::string more;
    const size_t room = buffer_.size() < kMaxRecord ? kMaxRecord - buffer_.size() : 0;
    if (!ReadLine(in_, more, room, too_long)) {
      return InvalidArgument(Where() + "unterminated quoted field; close the quote or escape it as \"\"");
    }
    ++next_line_;
    if (too_long) return record_too_long();
    if (!more.empty() && more.back() == '\r') more.pop_back();
    buffer_.push_back('\n');
    buffer_ += more;
    if (buffer_.size() > kMaxRecord) return record_too_long();
  }
  // Fields are text: a byte that is not UTF-8 is reported here, with the line, rather than
  // reaching a JSON report or the database.
  if (Status s = CheckText(buffer_, Where() + "record"); !s.ok()) return s;
  return true;
}

std::string CsvReader::Where() const { return path_ + ":" + std::to_string(row_line_) + ": "; }

StatusOr<std::vector<std::string>> ParseCsvLine(const std::string& line) {
  std::vector<std::string> fields;
  if (!RecordParser().Feed(line, fields)) return InvalidArgument("unterminated quoted field");
  return fields;
}

}  // namespace steward
