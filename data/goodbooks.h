// Loader for the goodbooks-10k catalog (data/goodbooks/books.csv, CC BY-SA 4.0).
// Every row is validated: a bad row is an error naming the file, line and column, never a skip.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"

namespace steward::data {

struct Book {
  int64_t book_id = 0;          // 1..10000, contiguous in the shipped file
  std::string authors;          // as listed ("J.K. Rowling, Mary GrandPré")
  std::string primary_author;   // first listed author
  int32_t year = 0;             // original publication year; 0 when unknown (negative: BCE)
  bool has_year = false;
  std::string title;
  std::string language;         // language code; "" when unknown
  double average_rating = 0.0;  // 1..5
  int64_t ratings_count = 0;
  std::array<int64_t, 5> ratings{};  // histogram of 1..5 stars
};

// Loads and validates books.csv. Columns are found by header name, so extra columns are allowed.
StatusOr<std::vector<Book>> LoadGoodbooks(const std::string& path);

}  // namespace steward::data
