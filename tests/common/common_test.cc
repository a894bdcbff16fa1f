#include <gtest/gtest.h>

#include <cstdio>
#include <chrono>
#include <fstream>

#include "common/clock.h"
#include "common/config.h"
#include "common/csv.h"
#include "common/file.h"
#include "common/json.h"
#include "common/text.h"
#include "common/progress.h"
#include "common/rng.h"
#include "common/status.h"

namespace steward {
namespace {

TEST(Status, CarriesCodeAndContext) {
  Status s = InvalidArgument("bad field");
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.ToString(), "INVALID_ARGUMENT: bad field");
  EXPECT_EQ(s.WithContext("loading x").message(), "loading x: bad field");
  EXPECT_TRUE(Status::Ok().WithContext("ignored").ok());
}

StatusOr<int> Half(int x) {
  if (x % 2) return InvalidArgument("odd");
  return x / 2;
}

StatusOr<int> Quarter(int x) {
  ASSIGN_OR_RETURN(int h, Half(x));
  ASSIGN_OR_RETURN(int q, Half(h));
  return q;
}

TEST(Status, MacrosPropagate) {
  EXPECT_EQ(*Quarter(8), 2);
  EXPECT_EQ(Quarter(6).status().message(), "odd");
}

TEST(Rng, MatchesReferenceXoshiro256StarStar) {
  // Expected values from an independent Python implementation of splitmix64 seeding and
  // xoshiro256** 1.0 (Blackman & Vigna, https://prng.di.unimi.it/xoshiro256starstar.c), seed 12345.
  Rng rng(12345);
  EXPECT_EQ(rng.NextU64(), 0xbe6a36374160d49bULL);
  EXPECT_EQ(rng.NextU64(), 0x214aaa0637a688c6ULL);
  EXPECT_EQ(rng.NextU64(), 0xf69d16de9954d388ULL);
}

TEST(Rng, SameSeedSameStreamAndSaneMoments) {
  Rng a(7), b(7), c(8);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(a.NextU64(), b.NextU64());
  EXPECT_NE(Rng(7).NextU64(), c.NextU64());
  Rng r(99);
  double sum = 0, sq = 0;
  const int n = 200000;
  for (int i = 0; i < n; ++i) {
    const double x = r.Normal();
    sum += x;
    sq += x * x;
  }
  EXPECT_NEAR(sum / n, 0.0, 0.01);
  EXPECT_NEAR(sq / n, 1.0, 0.02);
  uint64_t counts[5] = {};
  for (int i = 0; i < 50000; ++i) ++counts[r.UniformInt(5)];
  for (uint64_t c5 : counts) EXPECT_NEAR(static_cast<double>(c5) / 50000.0, 0.2, 0.01);
  double poisson = 0;
  for (int i = 0; i < 20000; ++i) poisson += static_cast<double>(r.Poisson(3.0));
  EXPECT_NEAR(poisson / 20000.0, 3.0, 0.05);
}

TEST(Clock, ManualClockMovesOnlyWhenTold) {
  ManualClock clock(1000);
  EXPECT_EQ(clock.NowMillis(), 1000);
  clock.AdvanceMillis(500);
  EXPECT_EQ(clock.NowMillis(), 1500);
  EXPECT_EQ(clock.MonotonicNanos(), 1500LL * 1000000);
}

TEST(Config, TypedAccessAndDefaults) {
  auto root = ConfigNode::Parse("name: x\nweight: 0.25\ncount: 3\nflag: true\narms:\n  - a\n  - b\n", "t.yaml");
  ASSERT_TRUE(root.ok()) << root.status().ToString();
  EXPECT_EQ(*root->GetString("name"), "x");
  EXPECT_DOUBLE_EQ(*root->GetDouble("weight"), 0.25);
  EXPECT_EQ(*root->GetInt("count"), 3);
  EXPECT_TRUE(*root->GetBool("flag"));
  EXPECT_EQ(*root->GetInt("missing", 9), 9);
  EXPECT_EQ(root->Get("arms")->size(), 2u);
  EXPECT_EQ(*root->Get("arms")->At(1).AsString(), "b");
}

TEST(Config, JsonIsAccepted) {
  auto root = ConfigNode::Parse(R"({"name": "j", "arms": [{"weight": 0.5}]})", "t.json");
  ASSERT_TRUE(root.ok());
  EXPECT_EQ(*root->GetString("name"), "j");
  EXPECT_DOUBLE_EQ(*root->Get("arms")->At(0).GetDouble("weight"), 0.5);
}

TEST(Config, ErrorsNameFileFieldAndFix) {
  auto root = ConfigNode::Parse("arms:\n  - weight: heavy\n", "exp.yaml");
  ASSERT_TRUE(root.ok());
  auto w = root->Get("arms")->At(0).GetDouble("weight");
  ASSERT_FALSE(w.ok());
  const std::string msg = w.status().message();
  EXPECT_NE(msg.find("exp.yaml:2"), std::string::npos) << msg;
  EXPECT_NE(msg.find("field 'arms[0].weight'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("fix:"), std::string::npos) << msg;

  auto missing = root->GetString("name");
  EXPECT_NE(missing.status().message().find("field 'name' is required"), std::string::npos) << missing.status().message();

  auto typo = ConfigNode::Parse("nmae: x\n", "exp.yaml");
  Status unknown = typo->RejectUnknownKeys({"name", "seed"});
  EXPECT_NE(unknown.message().find("did you mean 'name'"), std::string::npos) << unknown.message();

  auto syntax = ConfigNode::Parse("a: [1, 2\n", "broken.yaml");
  ASSERT_FALSE(syntax.ok());
  EXPECT_NE(syntax.status().message().find("broken.yaml:"), std::string::npos);
}

TEST(Config, ToJsonKeepsTypes) {
  auto root = ConfigNode::Parse("a: 1\nb: 0.5\nc: text\nd: [true, null]\ne: \"7\"\n", "t.yaml");
  EXPECT_EQ(root->ToJson(), R"({"a":1,"b":0.5,"c":"text","d":[true,null],"e":"7"})");
}

// Issue #15 item 1: invalid UTF-8 aborted the process. Cases from RFC 3629 section 3 and the
// Unicode Standard table 3-7 (well-formed byte sequences), checked by hand.
TEST(Utf8, FindsTheFirstIllFormedByte) {
  EXPECT_FALSE(FindInvalidUtf8("plain ascii").has_value());
  EXPECT_FALSE(FindInvalidUtf8("caf\xc3\xa9 \xe2\x82\xac \xf0\x9d\x84\x9e").has_value());  // é € 𝄞
  EXPECT_EQ(FindInvalidUtf8("\xff"), 0u);
  EXPECT_EQ(FindInvalidUtf8("ab\xfe"), 2u);
  EXPECT_EQ(FindInvalidUtf8("x\xc0\xaf"), 1u);          // overlong '/'
  EXPECT_EQ(FindInvalidUtf8("\xe0\x80\xaf"), 0u);       // overlong, 3 bytes
  EXPECT_EQ(FindInvalidUtf8("\xed\xa0\x80"), 0u);       // UTF-16 surrogate D800
  EXPECT_EQ(FindInvalidUtf8("\xf4\x90\x80\x80"), 0u);  // above U+10FFFF
  EXPECT_EQ(FindInvalidUtf8("ok\xe2\x82"), 2u);          // truncated
  EXPECT_EQ(FindInvalidUtf8("\xc3("), 0u);                // bad continuation
  Status s = CheckText("\xff", "--actor");
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("--actor: not valid UTF-8 text (byte 0xff at offset 0)"), std::string::npos) << s.message();
  EXPECT_NE(CheckText(std::string("a\0b", 3), "name").message().find("NUL byte at offset 1"), std::string::npos);
  EXPECT_TRUE(CheckText("caf\xc3\xa9", "name").ok());
}

TEST(DumpJson, ReplacesInvalidUtf8InsteadOfThrowing) {
  const nlohmann::json j = {{"actor", "\xff"}};
  EXPECT_THROW((void)j.dump(), nlohmann::json::type_error);  // what aborted the process
  EXPECT_EQ(DumpJson(j), "{\"actor\":\"\xef\xbf\xbd\"}");    // U+FFFD
  EXPECT_EQ(DumpJson({{"a", 1}}, 2), "{\n  \"a\": 1\n}");
}

TEST(Config, RejectsInvalidUtf8NamingTheLine) {
  auto root = ConfigNode::Parse("name: ok\nseed: x\xffy\n", "exp.yaml");
  ASSERT_FALSE(root.ok());
  EXPECT_EQ(root.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(root.status().message().find("exp.yaml:2:"), std::string::npos) << root.status().message();
  EXPECT_NE(root.status().message().find("not valid UTF-8"), std::string::npos) << root.status().message();
}

// Issue #15 item 4: a 605-byte YAML of nested aliases ("billion laughs") expanded for minutes and
// gigabytes when converted. Nine levels of nine aliases are 9^9 (387 million) values once expanded;
// the parse stops at the limit at once.
std::string BillionLaughs() {
  std::string yaml = "a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n";
  for (int level = 1; level <= 8; ++level) {
    const std::string prev = "*a" + std::to_string(level - 1);
    yaml += "a" + std::to_string(level) + ": &a" + std::to_string(level) + " [";
    for (int k = 0; k < 9; ++k) yaml += (k ? ", " : "") + prev;
    yaml += "]\n";
  }
  return yaml;
}

TEST(Config, AliasExpansionIsBounded) {
  const std::string yaml = BillionLaughs();
  EXPECT_LT(yaml.size(), 700u);
  const auto start = std::chrono::steady_clock::now();
  auto root = ConfigNode::Parse(yaml, "laughs.yaml");
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ASSERT_FALSE(root.ok());
  EXPECT_EQ(root.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(root.status().message().find("laughs.yaml: more than 100000 values once aliases (*name) are expanded"),
            std::string::npos)
      << root.status().message();
  EXPECT_LT(seconds, 1.0);
  // Aliases within the limit still work (and expand as copies).
  auto small = ConfigNode::Parse("base: &b {model: baseline}\narm: *b\n", "ok.yaml");
  ASSERT_TRUE(small.ok()) << small.status().ToString();
  EXPECT_EQ(*small->Get("arm")->GetString("model"), "baseline");
}

TEST(Config, NestingDepthIsBounded) {
  auto deep = ConfigNode::Parse("a: " + std::string(40, '[') + std::string(40, ']') + "\n", "deep.yaml");
  ASSERT_FALSE(deep.ok());
  EXPECT_NE(deep.status().message().find("deep.yaml:1: nested more than 32 levels deep"), std::string::npos)
      << deep.status().message();
  EXPECT_TRUE(ConfigNode::Parse("a: " + std::string(20, '[') + std::string(20, ']') + "\n", "ok.yaml").ok());
}

// Issue #15 item 4: /dev/zero as an experiment file grew to 23 GB.
TEST(File, RefusesNonRegularAndOversizedFiles) {
  auto zero = ConfigNode::LoadFile("/dev/zero");
  ASSERT_FALSE(zero.ok());
  EXPECT_EQ(zero.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(zero.status().message().find("/dev/zero: configuration file must be a regular file (this is a device"),
            std::string::npos)
      << zero.status().message();
  auto dir = ReadFileBounded(testing::TempDir(), 100, "--users file");
  EXPECT_NE(dir.status().message().find("must be a regular file (this is a directory)"), std::string::npos);
  const std::string big = testing::TempDir() + "/big.yaml";
  {
    std::ofstream out(big, std::ios::binary);
    out << "# " << std::string(static_cast<size_t>(kMaxConfigFileBytes), 'x') << "\n";
  }
  auto too_big = ConfigNode::LoadFile(big);
  ASSERT_FALSE(too_big.ok());
  EXPECT_NE(too_big.status().message().find("more than the limit of 1048576 (1 MiB)"), std::string::npos)
      << too_big.status().message();
  EXPECT_EQ(*ReadFileBounded(big, kMaxConfigFileBytes + 4, "x"), "# " + std::string(static_cast<size_t>(kMaxConfigFileBytes), 'x') + "\n");
  EXPECT_EQ(ConfigNode::LoadFile(testing::TempDir() + "/missing.yaml").status().code(), StatusCode::kNotFound);
}

TEST(EditDistance, Levenshtein) {
  EXPECT_EQ(EditDistance("kitten", "sitting"), 3u);  // the textbook example
  EXPECT_EQ(EditDistance("", "abc"), 3u);
  EXPECT_EQ(EditDistance("same", "same"), 0u);
}

TEST(Csv, QuotesCommasAndNewlines) {
  auto f = ParseCsvLine(R"(1,"Smith, John","He said ""hi""",)");
  ASSERT_TRUE(f.ok());
  ASSERT_EQ(f->size(), 4u);
  EXPECT_EQ((*f)[1], "Smith, John");
  EXPECT_EQ((*f)[2], "He said \"hi\"");
  EXPECT_EQ((*f)[3], "");

  const std::string path = testing::TempDir() + "/multi.csv";
  {
    std::ofstream out(path);
    out << "a,b\r\n1,\"two\nlines\"\n3,4\n";
  }
  auto reader = CsvReader::Open(path);
  ASSERT_TRUE(reader.ok());
  std::vector<std::string> row;
  ASSERT_TRUE(*(*reader)->Next(row));
  EXPECT_EQ(row[1], "b");
  ASSERT_TRUE(*(*reader)->Next(row));
  EXPECT_EQ(row[1], "two\nlines");
  EXPECT_EQ((*reader)->line(), 2);
  ASSERT_TRUE(*(*reader)->Next(row));
  EXPECT_EQ((*reader)->line(), 4);
  EXPECT_FALSE(*(*reader)->Next(row));
}

TEST(Csv, UnterminatedQuoteIsAnErrorWithLine) {
  const std::string path = testing::TempDir() + "/bad.csv";
  {
    std::ofstream out(path);
    out << "a,b\n1,\"open\n";
  }
  auto reader = CsvReader::Open(path);
  std::vector<std::string> row;
  ASSERT_TRUE(*(*reader)->Next(row));
  auto r = (*reader)->Next(row);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("bad.csv:2:"), std::string::npos) << r.status().message();
}

TEST(Csv, InvalidUtf8IsAnErrorWithLine) {  // issue #15 item 1
  const std::string path = testing::TempDir() + "/latin1.csv";
  {
    std::ofstream out(path, std::ios::binary);
    out << "id,title\n1,ok\n2,caf\xe9\n";
  }
  auto reader = CsvReader::Open(path);
  ASSERT_TRUE(reader.ok());
  std::vector<std::string> row;
  ASSERT_TRUE(*(*reader)->Next(row));
  ASSERT_TRUE(*(*reader)->Next(row));
  auto r = (*reader)->Next(row);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("latin1.csv:3: record: not valid UTF-8 text (byte 0xe9 at offset 5)"), std::string::npos)
      << r.status().message();
}

TEST(Csv, NonRegularFilesAndEndlessRecordsAreRefused) {  // issue #15 item 4
  auto zero = CsvReader::Open("/dev/zero");
  ASSERT_FALSE(zero.ok());
  EXPECT_NE(zero.status().message().find("must be a regular file"), std::string::npos) << zero.status().message();
  const std::string path = testing::TempDir() + "/long.csv";
  {
    std::ofstream out(path, std::ios::binary);
    out << "a,b\n" << std::string(static_cast<size_t>(kMaxCsvRecordBytes) + 10, 'x');  // no newline: one endless line
  }
  auto reader = CsvReader::Open(path);
  ASSERT_TRUE(reader.ok());
  std::vector<std::string> row;
  ASSERT_TRUE(*(*reader)->Next(row));
  auto r = (*reader)->Next(row);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("long.csv:2: record longer than 1048576 bytes"), std::string::npos) << r.status().message();
  // An unterminated quote followed by many short lines stops at the same bound.
  {
    std::ofstream out(path, std::ios::binary);
    out << "a,b\n1,\"";
    for (int i = 0; i < 600000; ++i) out << "x\n";
  }
  reader = CsvReader::Open(path);
  ASSERT_TRUE(*(*reader)->Next(row));
  r = (*reader)->Next(row);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("long.csv:2: record longer than"), std::string::npos) << r.status().message();
}

TEST(Progress, PrintsRateAndEta) {
  ManualClock clock(0);
  char* buf = nullptr;
  size_t len = 0;
  std::FILE* out = open_memstream(&buf, &len);
  {
    Progress p("job", 100, "items", clock, out, 1000);
    clock.AdvanceMillis(1000);
    p.Update(25);  // 25 items in 1 s: 25/s, 75 left -> ETA 3s
    p.Finish();
  }
  std::fclose(out);
  const std::string text(buf, len);
  std::free(buf);
  EXPECT_NE(text.find("job: 25/100 items (25.0%) 25/s, ETA 3s"), std::string::npos) << text;
  EXPECT_NE(text.find("done in"), std::string::npos) << text;
  EXPECT_EQ(Progress::HumanDuration(125), "2m05s");
  EXPECT_EQ(Progress::HumanRate(850000), "850.0k");
}

}  // namespace
}  // namespace steward
