#include "safety/risk_model.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <fstream>
#include <limits>
#include <numeric>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "common/csv.h"
#include "common/file.h"
#include "common/json.h"
#include "common/rng.h"
#include "data/goodbooks.h"
#include "data/loader_util.h"
#include "storage/audit_log.h"

namespace steward::safety {
namespace {

constexpr const char* kFormat = "steward-risk-1";

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string Trim(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return std::string(s.substr(b, e - b));
}

double Sigmoid(double z) {
  if (z >= 0) return 1.0 / (1.0 + std::exp(-z));
  const double e = std::exp(z);
  return e / (1.0 + e);
}

// Feature ids of an item under a vocabulary (unknown features dropped).
std::vector<int32_t> Encode(const std::vector<std::string>& features, const std::unordered_map<std::string, int32_t>& vocabulary) {
  std::vector<int32_t> out;
  for (const std::string& f : features) {
    auto it = vocabulary.find(f);
    if (it != vocabulary.end()) out.push_back(it->second);
  }
  return out;
}

}  // namespace

ItemContent ContentOf(const data::Book& book) {
  ItemContent c;
  c.item_id = book.book_id;
  c.title = book.title;
  c.authors = book.authors;
  c.year = book.year;
  c.has_year = book.has_year;
  c.language = book.language;
  return c;
}

std::vector<std::string> RiskFeatures(const ItemContent& item) {
  std::set<std::string> out;
  std::string word;
  const auto flush = [&] {
    if (word.size() >= 2) out.insert("t:" + word);
    word.clear();
  };
  for (unsigned char c : item.title) {
    if (std::isalnum(c)) {
      word.push_back(static_cast<char>(std::tolower(c)));
    } else if (c >= 0x80) {
      word.push_back(static_cast<char>(c));  // UTF-8 letters stay inside the word
    } else {
      flush();
    }
  }
  flush();
  std::stringstream authors(item.authors);
  std::string author;
  while (std::getline(authors, author, ',')) {
    const std::string a = Lower(Trim(author));
    if (!a.empty()) out.insert("a:" + a);
  }
  if (item.has_year) {
    const int32_t decade = static_cast<int32_t>(std::floor(item.year / 10.0)) * 10;
    out.insert("d:" + std::to_string(decade));
  } else {
    out.insert("d:?");
  }
  out.insert("l:" + (item.language.empty() ? std::string("?") : Lower(item.language)));
  return {out.begin(), out.end()};
}

double RiskModel::Score(const ItemContent& item) const {
  double z = bias;
  for (const std::string& f : RiskFeatures(item)) {
    auto it = weights.find(f);
    if (it != weights.end()) z += it->second;
  }
  return Sigmoid(z);
}

double RocAuc(const std::vector<double>& scores, const std::vector<int>& labels) {
  // Rank-sum form of Mann-Whitney U with average ranks for ties.
  std::vector<size_t> order(scores.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return scores[a] < scores[b]; });
  double positives = 0, negatives = 0, rank_sum = 0;
  for (size_t i = 0; i < order.size();) {
    size_t j = i;
    while (j < order.size() && scores[order[j]] == scores[order[i]]) ++j;
    const double average_rank = (static_cast<double>(i + 1) + static_cast<double>(j)) / 2.0;
    for (size_t t = i; t < j; ++t) {
      if (labels[order[t]]) {
        positives += 1;
        rank_sum += average_rank;
      } else {
        negatives += 1;
      }
    }
    i = j;
  }
  if (positives == 0 || negatives == 0) return std::numeric_limits<double>::quiet_NaN();
  return (rank_sum - positives * (positives + 1) / 2.0) / (positives * negatives);
}

StatusOr<RiskModel> TrainRiskModel(const std::vector<ItemContent>& items, const std::map<int64_t, int>& labels,
                                   const RiskTrainOptions& options, std::string version) {
  if (options.epochs < 1) return InvalidArgument("epochs must be at least 1");
  if (!(options.learning_rate > 0)) return InvalidArgument("learning_rate must be above 0");
  if (!(options.l2 >= 0)) return InvalidArgument("l2 must not be negative");
  if (!(options.test_fraction >= 0 && options.test_fraction < 1)) return InvalidArgument("test_fraction must be in [0, 1)");
  struct Example {
    std::vector<std::string> features;
    int label = 0;
    bool test = false;
  };
  std::vector<Example> examples;
  Rng split(Mix64(options.seed ^ 0x5EED5A11ULL));
  for (const ItemContent& item : items) {
    auto it = labels.find(item.item_id);
    if (it == labels.end()) continue;
    Example e;
    e.features = RiskFeatures(item);
    e.label = it->second ? 1 : 0;
    examples.push_back(std::move(e));
  }
  // The split is drawn per example in item order, so it depends only on the seed and the items.
  for (Example& e : examples) e.test = split.Uniform() < options.test_fraction;
  int64_t positives = 0;
  for (const Example& e : examples) positives += e.label;
  if (examples.size() < 10) return InvalidArgument("the labelled set has " + std::to_string(examples.size()) + " items of the catalog; at least 10 are needed");
  if (positives == 0 || positives == static_cast<int64_t>(examples.size())) {
    return InvalidArgument("the labelled set has only one class (label 0 or 1 for every item); both are needed");
  }

  // Vocabulary: features of at least min_feature_count training items, in sorted order.
  std::map<std::string, int> counts;
  for (const Example& e : examples) {
    if (e.test) continue;
    for (const std::string& f : e.features) ++counts[f];
  }
  std::unordered_map<std::string, int32_t> vocabulary;
  std::vector<std::string> names;
  for (const auto& [f, n] : counts) {
    if (n >= options.min_feature_count) {
      vocabulary.emplace(f, static_cast<int32_t>(names.size()));
      names.push_back(f);
    }
  }
  std::vector<std::vector<int32_t>> encoded;
  std::vector<size_t> train;
  for (size_t i = 0; i < examples.size(); ++i) {
    encoded.push_back(Encode(examples[i].features, vocabulary));
    if (!examples[i].test) train.push_back(i);
  }
  if (train.empty()) return InvalidArgument("no training items are left after the held-out split; lower test_fraction");

  // SGD on the log loss with L2 (lazy regularisation would be faster; 10k items x 40 epochs is
  // well under a second either way).
  std::vector<double> w(names.size(), 0.0);
  double b = 0.0;
  Rng shuffle(Mix64(options.seed));
  for (int epoch = 0; epoch < options.epochs; ++epoch) {
    for (size_t i = train.size(); i > 1; --i) std::swap(train[i - 1], train[shuffle.UniformInt(i)]);
    const double lr = options.learning_rate / std::sqrt(1.0 + epoch);
    for (size_t idx : train) {
      double z = b;
      for (int32_t f : encoded[idx]) z += w[static_cast<size_t>(f)];
      const double g = Sigmoid(z) - examples[idx].label;
      b -= lr * g;
      for (int32_t f : encoded[idx]) {
        double& wf = w[static_cast<size_t>(f)];
        wf -= lr * (g + options.l2 * wf);
      }
    }
  }

  RiskModel model;
  model.version = std::move(version);
  model.bias = b;
  for (size_t f = 0; f < names.size(); ++f) {
    if (w[f] != 0.0) model.weights.emplace(names[f], w[f]);
  }
  model.options = options;
  model.training_rows = static_cast<int64_t>(examples.size());
  model.training_positives = positives;
  std::vector<double> s_train, s_test;
  std::vector<int> y_train, y_test;
  for (size_t i = 0; i < examples.size(); ++i) {
    double z = b;
    for (int32_t f : encoded[i]) z += w[static_cast<size_t>(f)];
    (examples[i].test ? s_test : s_train).push_back(Sigmoid(z));
    (examples[i].test ? y_test : y_train).push_back(examples[i].label);
  }
  model.auc_train = RocAuc(s_train, y_train);
  model.auc_test = RocAuc(s_test, y_test);
  model.test_rows = static_cast<int64_t>(s_test.size());
  return model;
}

double OneStarShare(const data::Book& book) {
  int64_t total = 0;
  for (int64_t r : book.ratings) total += r;
  return total > 0 ? static_cast<double>(book.ratings[0]) / static_cast<double>(total) : 0.0;
}

std::map<int64_t, int> LabelByOneStarShare(const std::vector<data::Book>& books, double min_one_star_share) {
  std::map<int64_t, int> out;
  for (const data::Book& b : books) {
    int64_t total = 0;
    for (int64_t r : b.ratings) total += r;
    if (total == 0) continue;
    out[b.book_id] = OneStarShare(b) >= min_one_star_share ? 1 : 0;
  }
  return out;
}

StatusOr<std::map<int64_t, int>> LoadRiskLabels(const std::string& path) {
  ASSIGN_OR_RETURN(auto reader, CsvReader::Open(path));
  ASSIGN_OR_RETURN(data::Header header, data::Header::Read(*reader));
  ASSIGN_OR_RETURN(size_t c_id, header.Require("item_id"));
  ASSIGN_OR_RETURN(size_t c_label, header.Require("label"));
  std::map<int64_t, int> out;
  std::vector<std::string> f;
  while (true) {
    ASSIGN_OR_RETURN(bool more, reader->Next(f));
    if (!more) break;
    RETURN_IF_ERROR(header.CheckRow(*reader, f));
    ASSIGN_OR_RETURN(int64_t id, data::ParseInt(*reader, "item_id", f[c_id]));
    ASSIGN_OR_RETURN(int64_t label, data::ParseInt(*reader, "label", f[c_label]));
    if (label != 0 && label != 1) return data::FieldError(*reader, "label", "0 or 1", f[c_label]);
    if (!out.emplace(id, static_cast<int>(label)).second) return data::FieldError(*reader, "item_id", "an id not listed before", f[c_id]);
  }
  if (out.empty()) return InvalidArgument(path + ": no labelled items; expected rows of item_id,label");
  return out;
}

std::string RiskModelJson(const RiskModel& model) {
  nlohmann::json weights = nlohmann::json::object();
  // Sorted keys (nlohmann's object is a std::map): the file is byte-identical for the same model.
  for (const auto& [f, w] : model.weights) weights[f] = w;
  nlohmann::json j{
      {"format", kFormat},
      {"version", model.version},
      {"features", "t:<title word> a:<author> d:<decade> l:<language>, logistic regression"},
      {"training_set", {{"path", model.training_set}, {"sha256", model.training_sha256}, {"rows", model.training_rows},
                        {"positives", model.training_positives}}},
      {"options", {{"seed", model.options.seed}, {"epochs", model.options.epochs}, {"learning_rate", model.options.learning_rate},
                   {"l2", model.options.l2}, {"test_fraction", model.options.test_fraction},
                   {"min_feature_count", model.options.min_feature_count}}},
      {"metrics", {{"auc_train", model.auc_train}, {"auc_test", model.auc_test}, {"test_rows", model.test_rows}}},
      {"bias", model.bias},
      {"weights", weights}};
  return DumpJson(j, 1);
}

StatusOr<RiskModel> LoadRiskModel(const std::string& path) {
  ASSIGN_OR_RETURN(std::string text, ReadFileBounded(path, 64 << 20, "risk model"));
  const nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  const auto bad = [&](const std::string& field, const std::string& what) {
    return InvalidArgument(path + ": field '" + field + "': " + what + "; write the file with `steward safety train`");
  };
  if (j.is_discarded() || !j.is_object()) return InvalidArgument(path + ": not a JSON object; write it with `steward safety train`");
  if (!j.contains("format") || j["format"] != kFormat) return bad("format", std::string("expected \"") + kFormat + "\"");
  RiskModel m;
  if (!j.contains("version") || !j["version"].is_string() || j["version"].get<std::string>().empty()) return bad("version", "a non-empty string");
  m.version = j["version"].get<std::string>();
  if (!j.contains("bias") || !j["bias"].is_number()) return bad("bias", "a number");
  m.bias = j["bias"].get<double>();
  if (!j.contains("weights") || !j["weights"].is_object()) return bad("weights", "an object of feature -> number");
  for (const auto& [f, w] : j["weights"].items()) {
    if (!w.is_number() || !std::isfinite(w.get<double>())) return bad("weights." + f, "a finite number");
    m.weights.emplace(f, w.get<double>());
  }
  try {  // provenance fields: a wrong type is an error naming the section, never an abort
  if (j.contains("training_set") && j["training_set"].is_object()) {
    const auto& t = j["training_set"];
    m.training_set = t.value("path", "");
    m.training_sha256 = t.value("sha256", "");
    m.training_rows = t.value("rows", int64_t{0});
    m.training_positives = t.value("positives", int64_t{0});
  }
  if (j.contains("metrics") && j["metrics"].is_object()) {
    const auto& t = j["metrics"];
    m.auc_train = t.value("auc_train", 0.0);
    m.auc_test = t.value("auc_test", 0.0);
    m.test_rows = t.value("test_rows", int64_t{0});
  }
  if (j.contains("options") && j["options"].is_object()) {
    const auto& t = j["options"];
    m.options.seed = t.value("seed", uint64_t{1});
    m.options.epochs = t.value("epochs", 40);
    m.options.learning_rate = t.value("learning_rate", 0.2);
    m.options.l2 = t.value("l2", 0.1);
    m.options.test_fraction = t.value("test_fraction", 0.2);
    m.options.min_feature_count = t.value("min_feature_count", 2);
  }
  } catch (const nlohmann::json::exception& e) {
    return bad("training_set/metrics/options", std::string("a value of the wrong type (") + e.what() + ")");
  }
  return m;
}

}  // namespace steward::safety
