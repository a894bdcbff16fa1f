#include <gtest/gtest.h>

#include <fstream>

#include "data/goodbooks.h"
#include "data/obd.h"

namespace steward::data {
namespace {

const std::string kData = STEWARD_DATA_DIR;

std::string WriteFile(const std::string& name, const std::string& text) {
  const std::string path = testing::TempDir() + "/" + name;
  std::ofstream(path) << text;
  return path;
}

TEST(Goodbooks, LoadsTheBundledCatalog) {
  auto books = LoadGoodbooks(kData + "/goodbooks/books.csv");
  ASSERT_TRUE(books.ok()) << books.status().ToString();
  ASSERT_EQ(books->size(), 10000u);
  const Book& first = (*books)[0];  // row 2 of books.csv
  EXPECT_EQ(first.book_id, 1);
  EXPECT_EQ(first.title, "The Hunger Games (The Hunger Games, #1)");
  EXPECT_EQ(first.primary_author, "Suzanne Collins");
  EXPECT_EQ(first.year, 2008);
  EXPECT_EQ(first.ratings_count, 4780653);
  EXPECT_EQ(first.ratings[4], 2706317);
  EXPECT_EQ((*books)[1].primary_author, "J.K. Rowling");  // "J.K. Rowling, Mary GrandPré"
  // 21 books have no original publication year (counted with Python's csv module).
  EXPECT_EQ(std::count_if(books->begin(), books->end(), [](const Book& b) { return !b.has_year; }), 21);
}

const char* kHeader =
    "book_id,authors,original_publication_year,title,language_code,average_rating,ratings_count,"
    "ratings_1,ratings_2,ratings_3,ratings_4,ratings_5\n";

TEST(Goodbooks, BadRowIsAnErrorWithFileLineAndColumn) {
  const std::string path = WriteFile("bad_books.csv", std::string(kHeader) +
                                                          "1,A,2000.0,T,eng,4.0,10,1,2,3,2,2\n"
                                                          "2,B,2001.0,U,eng,4.1,lots,1,2,3,2,2\n");
  auto books = LoadGoodbooks(path);
  ASSERT_FALSE(books.ok());
  const std::string msg = books.status().message();
  EXPECT_NE(msg.find("bad_books.csv:3:"), std::string::npos) << msg;
  EXPECT_NE(msg.find("'ratings_count'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("'lots'"), std::string::npos) << msg;
}

TEST(Goodbooks, ShortRowMissingColumnAndRangeChecks) {
  auto shortrow = LoadGoodbooks(WriteFile("short.csv", std::string(kHeader) + "1,A,2000.0\n"));
  EXPECT_NE(shortrow.status().message().find("short.csv:2: expected 12 columns, found 3"), std::string::npos)
      << shortrow.status().message();
  auto nocol = LoadGoodbooks(WriteFile("nocol.csv", "book_id,title\n1,x\n"));
  EXPECT_NE(nocol.status().message().find("missing column 'authors'"), std::string::npos);
  auto rating = LoadGoodbooks(WriteFile("rating.csv", std::string(kHeader) + "1,A,2000,T,eng,7.5,10,1,2,3,2,2\n"));
  EXPECT_NE(rating.status().message().find("'average_rating'"), std::string::npos);
  auto dup = LoadGoodbooks(WriteFile("dup.csv", std::string(kHeader) + "1,A,2000,T,eng,4,10,1,2,3,2,2\n1,A,2000,T,eng,4,10,1,2,3,2,2\n"));
  EXPECT_NE(dup.status().message().find("dup.csv:3:"), std::string::npos);
  EXPECT_EQ(LoadGoodbooks("/nonexistent/books.csv").status().code(), StatusCode::kNotFound);
}

TEST(Obd, TimestampsParseToUtcMillis) {
  // 2019-11-24T00:03:13.442536Z = 1574553793442 ms (Python: datetime(...).timestamp()).
  EXPECT_EQ(*ParseObdTimestamp("2019-11-24 00:03:13.442536+00:00"), 1574553793442);
  EXPECT_EQ(*ParseObdTimestamp("2019-11-24 09:03:13+09:00"), 1574553793000);
  EXPECT_FALSE(ParseObdTimestamp("yesterday").ok());
  EXPECT_FALSE(ParseObdTimestamp("2019-11-24 00:03:13").ok());
}

TEST(Obd, LoadsRandomMenWithKnownOnPolicyCtr) {
  auto log = LoadObdLog(kData + "/obd/random/men/men.csv");
  ASSERT_TRUE(log.ok()) << log.status().ToString();
  EXPECT_EQ(log->rows.size(), 10000u);
  EXPECT_EQ(log->n_items, 34);
  double clicks = 0;
  for (const ObdRow& r : log->rows) clicks += r.click;
  // data/README.md (from the dataset's documentation): on-policy CTR of random/men is 0.0046.
  EXPECT_NEAR(clicks / static_cast<double>(log->rows.size()), 0.0046, 1e-9);
  // Uniform-random logging over 34 items: propensity 1/34.
  EXPECT_NEAR(log->rows[0].propensity, 1.0 / 34.0, 1e-12);
  auto items = LoadObdItems(kData + "/obd/random/men/item_context.csv");
  ASSERT_TRUE(items.ok()) << items.status().ToString();
  EXPECT_EQ(items->size(), 34u);
}

TEST(Obd, BadRowsNameTheirLine) {
  const std::string header =
      ",timestamp,item_id,position,click,propensity_score,user_feature_0,user_feature_1,user_feature_2,user_feature_3,"
      "user-item_affinity_0,user-item_affinity_1\n";
  auto bad = LoadObdLog(WriteFile("obd_bad.csv", header + "0,2019-11-24 00:03:13+00:00,1,2,0,0.5,a,b,c,d,0,0\n" +
                                                     "1,2019-11-24 00:03:14+00:00,1,4,0,0.5,a,b,c,d,0,0\n"));
  EXPECT_NE(bad.status().message().find("obd_bad.csv:3: column 'position'"), std::string::npos) << bad.status().message();
  auto prop = LoadObdLog(WriteFile("obd_prop.csv", header + "0,2019-11-24 00:03:13+00:00,1,2,0,0,a,b,c,d,0,0\n"));
  EXPECT_NE(prop.status().message().find("'propensity_score'"), std::string::npos);
  auto item = LoadObdLog(WriteFile("obd_item.csv", header + "0,2019-11-24 00:03:13+00:00,5,2,0,0.5,a,b,c,d,0,0\n"));
  EXPECT_NE(item.status().message().find("'item_id'"), std::string::npos);
}

}  // namespace
}  // namespace steward::data
