#include "data/goodbooks.h"

#include "common/csv.h"
#include "data/loader_util.h"

namespace steward::data {

StatusOr<std::vector<Book>> LoadGoodbooks(const std::string& path) {
  ASSIGN_OR_RETURN(auto reader, CsvReader::Open(path));
  ASSIGN_OR_RETURN(Header header, Header::Read(*reader));
  ASSIGN_OR_RETURN(size_t c_id, header.Require("book_id"));
  ASSIGN_OR_RETURN(size_t c_authors, header.Require("authors"));
  ASSIGN_OR_RETURN(size_t c_year, header.Require("original_publication_year"));
  ASSIGN_OR_RETURN(size_t c_title, header.Require("title"));
  ASSIGN_OR_RETURN(size_t c_lang, header.Require("language_code"));
  ASSIGN_OR_RETURN(size_t c_avg, header.Require("average_rating"));
  ASSIGN_OR_RETURN(size_t c_count, header.Require("ratings_count"));
  std::array<size_t, 5> c_stars{};
  for (int s = 0; s < 5; ++s) {
    ASSIGN_OR_RETURN(c_stars[static_cast<size_t>(s)], header.Require("ratings_" + std::to_string(s + 1)));
  }

  std::vector<Book> books;
  std::vector<std::string> f;
  while (true) {
    ASSIGN_OR_RETURN(bool has, reader->Next(f));
    if (!has) break;
    RETURN_IF_ERROR(header.CheckRow(*reader, f));
    Book b;
    ASSIGN_OR_RETURN(b.book_id, ParseInt(*reader, "book_id", f[c_id]));
    if (b.book_id <= 0) return FieldError(*reader, "book_id", "expected a positive id", f[c_id]);
    b.authors = f[c_authors];
    if (b.authors.empty()) return FieldError(*reader, "authors", "expected at least one author", f[c_authors]);
    b.primary_author = b.authors.substr(0, b.authors.find(','));
    if (!f[c_year].empty()) {
      ASSIGN_OR_RETURN(int64_t year, ParseIntLenient(*reader, "original_publication_year", f[c_year]));
      if (year < -5000 || year > 2100) {
        return FieldError(*reader, "original_publication_year", "expected a year between -5000 and 2100", f[c_year]);
      }
      b.year = static_cast<int32_t>(year);
      b.has_year = true;
    }
    b.title = f[c_title];
    if (b.title.empty()) return FieldError(*reader, "title", "expected a title", f[c_title]);
    b.language = f[c_lang];
    ASSIGN_OR_RETURN(b.average_rating, ParseDouble(*reader, "average_rating", f[c_avg]));
    if (b.average_rating < 0.0 || b.average_rating > 5.0) {
      return FieldError(*reader, "average_rating", "expected a rating between 0 and 5", f[c_avg]);
    }
    ASSIGN_OR_RETURN(b.ratings_count, ParseInt(*reader, "ratings_count", f[c_count]));
    if (b.ratings_count < 0) return FieldError(*reader, "ratings_count", "expected a non-negative count", f[c_count]);
    for (size_t s = 0; s < 5; ++s) {
      const std::string column = "ratings_" + std::to_string(s + 1);
      ASSIGN_OR_RETURN(b.ratings[s], ParseInt(*reader, column, f[c_stars[s]]));
      if (b.ratings[s] < 0) return FieldError(*reader, column, "expected a non-negative count", f[c_stars[s]]);
    }
    if (!books.empty() && b.book_id <= books.back().book_id) {
      return FieldError(*reader, "book_id", "expected ids in increasing order without duplicates", f[c_id]);
    }
    books.push_back(std::move(b));
  }
  if (books.empty()) return InvalidArgument(path + ": no books after the header; is this the right file?");
  return books;
}

}  // namespace steward::data
