// The risk scorer (safety/risk_model.h): features, AUC, training, the file format and the shipped
// model's reproducibility.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <fstream>

#include "common/file.h"
#include "data/goodbooks.h"
#include "safety/risk_model.h"
#include "storage/audit_log.h"


namespace steward::safety {
namespace {

std::string TempPath(const std::string& name) { return testing::TempDir() + "/" + name + "-" + std::to_string(getpid()); }

TEST(RiskFeatures, TitleWordsAuthorsDecadeLanguage) {
  ItemContent c;
  c.title = "The Hunger Games (The Hunger Games, #1)";
  c.authors = "Suzanne Collins, Jane Doe";
  c.year = 2008;
  c.has_year = true;
  c.language = "eng";
  // Words of 2+ characters, lower-cased, distinct; "#1" leaves "1" (too short) out.
  EXPECT_EQ(RiskFeatures(c), (std::vector<std::string>{"a:jane doe", "a:suzanne collins", "d:2000", "l:eng", "t:games", "t:hunger", "t:the"}));
  c.has_year = false;
  c.language = "";
  c.authors = "";
  c.title = "";
  EXPECT_EQ(RiskFeatures(c), (std::vector<std::string>{"d:?", "l:?"}));
  c.has_year = true;
  c.year = -429;  // BCE: floor to the decade below
  EXPECT_EQ(RiskFeatures(c)[0], "d:-430");
}

TEST(RocAuc, HandComputed) {
  // Positives 0.8 and 0.4, negatives 0.6, 0.2 and 0.4 (a tie with a positive). Pairs (pos > neg):
  // 0.8 beats all 3; 0.4 beats 0.2, ties 0.4 (1/2), loses to 0.6 -> (3 + 1.5) / (2 x 3) = 0.75.
  EXPECT_DOUBLE_EQ(RocAuc({0.8, 0.6, 0.4, 0.2, 0.4}, {1, 0, 1, 0, 0}), 0.75);
  EXPECT_DOUBLE_EQ(RocAuc({0.1, 0.9}, {0, 1}), 1.0);
  EXPECT_DOUBLE_EQ(RocAuc({0.1, 0.9}, {1, 0}), 0.0);
  EXPECT_DOUBLE_EQ(RocAuc({0.5, 0.5, 0.5}, {1, 0, 1}), 0.5);
  EXPECT_TRUE(std::isnan(RocAuc({0.5, 0.7}, {1, 1})));
}

std::vector<ItemContent> ToyCatalog() {
  // Authors "risky" and "calm": the label follows the author; titles are noise.
  std::vector<ItemContent> items;
  for (int i = 0; i < 200; ++i) {
    ItemContent c;
    c.item_id = i + 1;
    c.title = "Book " + std::to_string(i % 7) + " volume";
    c.authors = i % 4 == 0 ? "Risky Author" : "Calm Author";
    c.year = 1990 + i % 20;
    c.has_year = true;
    c.language = "eng";
    items.push_back(c);
  }
  return items;
}

TEST(TrainRiskModel, LearnsASeparableSignalAndIsDeterministic) {
  const auto items = ToyCatalog();
  std::map<int64_t, int> labels;
  for (const auto& c : items) labels[c.item_id] = c.authors == "Risky Author" ? 1 : 0;
  RiskTrainOptions o;
  o.seed = 7;
  o.l2 = 1e-3;
  auto m = TrainRiskModel(items, labels, o, "toy-1");
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_DOUBLE_EQ(m->auc_test, 1.0);
  EXPECT_GT(m->test_rows, 0);
  EXPECT_GT(m->Score(items[0]), 0.8);   // a risky author's book
  EXPECT_LT(m->Score(items[1]), 0.2);   // a calm author's
  EXPECT_GT(m->weights.at("a:risky author"), 0.0);
  EXPECT_EQ(m->training_positives, 50);
  auto again = TrainRiskModel(items, labels, o, "toy-1");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(RiskModelJson(*m), RiskModelJson(*again));
  // A different seed draws another held-out split.
  o.seed = 8;
  auto other = TrainRiskModel(items, labels, o, "toy-1");
  ASSERT_TRUE(other.ok());
  EXPECT_NE(RiskModelJson(*m), RiskModelJson(*other));
}

TEST(TrainRiskModel, RefusesOneClassAndTinySets) {
  const auto items = ToyCatalog();
  std::map<int64_t, int> all_zero;
  for (const auto& c : items) all_zero[c.item_id] = 0;
  auto m = TrainRiskModel(items, all_zero, {}, "v");
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.status().message().find("only one class"), std::string::npos);
  auto tiny = TrainRiskModel(items, {{1, 1}, {2, 0}}, {}, "v");
  ASSERT_FALSE(tiny.ok());
  EXPECT_NE(tiny.status().message().find("at least 10"), std::string::npos);
}

TEST(RiskModelFile, RoundTripsAndNamesBadFields) {
  const auto items = ToyCatalog();
  std::map<int64_t, int> labels;
  for (const auto& c : items) labels[c.item_id] = c.authors == "Risky Author" ? 1 : 0;
  auto m = TrainRiskModel(items, labels, {}, "toy-2");
  ASSERT_TRUE(m.ok());
  const std::string path = TempPath("risk.json");
  std::ofstream(path) << RiskModelJson(*m);
  auto loaded = LoadRiskModel(path);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_EQ(loaded->version, "toy-2");
  for (const auto& c : items) EXPECT_NEAR(loaded->Score(c), m->Score(c), 1e-12);
  const auto error = [&](const std::string& text) {
    std::ofstream(path, std::ios::trunc) << text;
    auto r = LoadRiskModel(path);
    EXPECT_FALSE(r.ok()) << text;
    return r.ok() ? std::string() : r.status().message();
  };
  EXPECT_NE(error("[1,2]").find("not a JSON object"), std::string::npos);
  EXPECT_NE(error(R"({"format":"other"})").find("'format'"), std::string::npos);
  EXPECT_NE(error(R"({"format":"steward-risk-1","version":"v","bias":0,"weights":{"t:a":"x"}})").find("'weights.t:a'"), std::string::npos);
  EXPECT_NE(error(R"({"format":"steward-risk-1","version":"v","bias":0,"weights":{},"metrics":{"auc_test":"x"}})").find("wrong type"),
            std::string::npos);
}

TEST(RiskLabels, LoaderNamesLineAndColumn) {
  const std::string path = TempPath("labels.csv");
  std::ofstream(path) << "item_id,label\n1,0\n2,2\n";
  auto r = LoadRiskLabels(path);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("label"), std::string::npos);
  EXPECT_NE(r.status().message().find(":3"), std::string::npos) << r.status().message();
}

TEST(RiskLabels, OneStarShareRule) {
  data::Book a, b, c;
  a.book_id = 1;
  a.ratings = {10, 10, 20, 30, 30};  // 10 / 100 = 0.10
  b.book_id = 2;
  b.ratings = {4, 6, 20, 30, 40};    // 0.04
  c.book_id = 3;                     // no ratings: left out
  const auto labels = LabelByOneStarShare({a, b, c}, 0.05);
  EXPECT_EQ(labels, (std::map<int64_t, int>{{1, 1}, {2, 0}}));
  EXPECT_DOUBLE_EQ(OneStarShare(a), 0.10);
}

// The shipped labelled set and model (data/safety/README.md) are what the documented commands
// produce: the labels from the catalog by the one-star rule, the model from the labels with the
// default options. A change to the features or the trainer shows here.
TEST(ShippedRiskModel, IsReproducedFromTheShippedLabels) {
  const std::string root = STEWARD_DATA_DIR;
  auto books = data::LoadGoodbooks(root + "/goodbooks/books.csv");
  ASSERT_TRUE(books.ok()) << books.status().ToString();
  auto labels = LoadRiskLabels(root + "/safety/risk-labels-v1.csv");
  ASSERT_TRUE(labels.ok()) << labels.status().ToString();
  EXPECT_EQ(*labels, LabelByOneStarShare(*books, 0.05));
  auto shipped = LoadRiskModel(root + "/safety/risk-model-v1.json");
  ASSERT_TRUE(shipped.ok()) << shipped.status().ToString();
  auto text = ReadFileBounded(root + "/safety/risk-labels-v1.csv", 1 << 24, "labels");
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(shipped->training_sha256, storage::Sha256Hex(*text));
  std::vector<ItemContent> content;
  for (const auto& b : *books) content.push_back(ContentOf(b));
  auto trained = TrainRiskModel(content, *labels, {}, "risk-v1");
  ASSERT_TRUE(trained.ok());
  EXPECT_NEAR(trained->auc_test, shipped->auc_test, 1e-9);
  EXPECT_GT(shipped->auc_test, 0.65);  // better than chance on held-out books
  ASSERT_EQ(trained->weights.size(), shipped->weights.size());
  for (const auto& [f, w] : shipped->weights) EXPECT_NEAR(trained->weights.at(f), w, 1e-9) << f;
}

}  // namespace
}  // namespace steward::safety
