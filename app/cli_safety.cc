// `steward safety`: the risk scorer's labelled set, its training and its scores over the catalog
// (safety/risk_model.h). The screen that applies it at serve time is `steward serve|demo
// --policy FILE --risk-model FILE` (safety/screen.h).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "app/cli.h"
#include "app/paths.h"
#include "common/file.h"
#include "common/json.h"
#include "data/goodbooks.h"
#include "safety/risk_model.h"
#include "storage/audit_log.h"

namespace steward::app {
namespace {

struct SafetyFlags {
  std::string books, labels, out, model, version = "risk-v1";
  double min_one_star_share = 0.05;
  double block_risk = 0.5, demote_risk = 0.2;
  int top = 10;
  bool json = false;
  safety::RiskTrainOptions train;
};

template <typename T>
T OrFail(StatusOr<T> value) {
  if (!value.ok()) Fail(value.status());
  return std::move(value).value();
}

std::string BooksPath(const std::string& flag) { return flag.empty() ? ResolveDataDir("") + "/goodbooks/books.csv" : flag; }

void WriteFileOrFail(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << text;
    if (!out.good()) Fail(IoError("cannot write " + tmp + "; check the directory exists and is writable"));
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) Fail(IoError("cannot move " + tmp + " to " + path));
}

}  // namespace

void AddSafetyCommands(CLI::App& app) {
  auto f = std::make_shared<SafetyFlags>();
  auto* safety = app.add_subcommand("safety", "The risk scorer of the safety screen: labelled set, training, scores");
  safety->require_subcommand(1);

  auto* label = safety->add_subcommand("label", "Write the labelled set by the one-star-share rule (data/safety/README.md)");
  label->add_option("--books", f->books, "goodbooks books.csv (Default: the bundled catalog)");
  label->add_option("--min-one-star-share", f->min_one_star_share, "A book is risky when at least this share of its ratings is 1 star")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1.0));
  label->add_option("--out", f->out, "CSV to write: item_id,label,one_star_share")->required();
  label->callback([f] {
    const auto books = OrFail(data::LoadGoodbooks(BooksPath(f->books)));
    const auto labels = safety::LabelByOneStarShare(books, f->min_one_star_share);
    std::string csv = "item_id,label,one_star_share\n";
    int64_t positives = 0;
    char buf[96];
    for (const data::Book& b : books) {
      auto it = labels.find(b.book_id);
      if (it == labels.end()) continue;
      positives += it->second;
      std::snprintf(buf, sizeof buf, "%lld,%d,%.6f\n", static_cast<long long>(b.book_id), it->second, safety::OneStarShare(b));
      csv += buf;
    }
    WriteFileOrFail(f->out, csv);
    std::printf("labelled %zu items, %lld risky (%.1f%%): one-star share >= %g -> %s\n", labels.size(), static_cast<long long>(positives),
                labels.empty() ? 0.0 : 100.0 * static_cast<double>(positives) / static_cast<double>(labels.size()), f->min_one_star_share,
                f->out.c_str());
  });

  auto* train = safety->add_subcommand("train", "Train the risk scorer (logistic regression over item content) on a labelled set");
  train->add_option("--books", f->books, "goodbooks books.csv (Default: the bundled catalog)");
  train->add_option("--labels", f->labels, "Labelled set: CSV item_id,label (0/1)")->required();
  train->add_option("--out", f->out, "Model file to write (JSON)")->required();
  train->add_option("--version", f->version, "Model version recorded with every screened list")->capture_default_str();
  train->add_option("--seed", f->train.seed, "Seed of the shuffles and the held-out split")->capture_default_str();
  train->add_option("--epochs", f->train.epochs, "SGD passes")->capture_default_str()->check(InRange(1, 1000));
  train->add_option("--learning-rate", f->train.learning_rate, "Initial step size")->capture_default_str()->check(CLI::Range(1e-6, 10.0));
  train->add_option("--l2", f->train.l2, "L2 penalty")->capture_default_str()->check(CLI::Range(0.0, 1.0));
  train->add_option("--test-fraction", f->train.test_fraction, "Items held out for the AUC")->capture_default_str()->check(CLI::Range(0.0, 0.9));
  train->add_option("--min-feature-count", f->train.min_feature_count, "Features seen in fewer training items get no weight")
      ->capture_default_str()
      ->check(InRange(1, 1000));
  train->add_flag("--json", f->json, "Print the model's provenance and metrics as one JSON object");
  train->callback([f] {
    const auto books = OrFail(data::LoadGoodbooks(BooksPath(f->books)));
    const auto labels = OrFail(safety::LoadRiskLabels(f->labels));
    std::vector<safety::ItemContent> content;
    for (const data::Book& b : books) content.push_back(safety::ContentOf(b));
    safety::RiskModel model = OrFail(safety::TrainRiskModel(content, labels, f->train, f->version));
    model.training_set = f->labels;
    model.training_sha256 = storage::Sha256Hex(OrFail(ReadFileBounded(f->labels, 256 << 20, "labelled set")));
    WriteFileOrFail(f->out, safety::RiskModelJson(model));
    if (f->json) {
      PrintJsonLine(DumpJson(nlohmann::json{{"version", model.version}, {"out", f->out}, {"training_rows", model.training_rows},
                                            {"training_positives", model.training_positives}, {"features", model.weights.size()},
                                            {"auc_train", model.auc_train}, {"auc_test", model.auc_test}, {"test_rows", model.test_rows},
                                            {"training_sha256", model.training_sha256}}));
    } else {
      std::printf("trained %s on %lld items (%lld risky), %zu features: AUC %.3f train, %.3f held out (%lld items) -> %s\n",
                  model.version.c_str(), static_cast<long long>(model.training_rows), static_cast<long long>(model.training_positives),
                  model.weights.size(), model.auc_train, model.auc_test, static_cast<long long>(model.test_rows), f->out.c_str());
    }
  });

  auto* score = safety->add_subcommand("score", "Score every catalog item with a risk model: what the screen would block and demote");
  score->add_option("--books", f->books, "goodbooks books.csv (Default: the bundled catalog)");
  score->add_option("--model", f->model, "Model file (`steward safety train`)")->required();
  score->add_option("--block-risk", f->block_risk, "Risk at or above which the screen blocks")->capture_default_str()->check(CLI::Range(0.0, 1.0));
  score->add_option("--demote-risk", f->demote_risk, "Risk at or above which the screen demotes")->capture_default_str()->check(CLI::Range(0.0, 1.0));
  score->add_option("--top", f->top, "Riskiest items to list")->capture_default_str()->check(InRange(0, 10000));
  score->add_flag("--json", f->json, "Print one JSON object");
  score->callback([f] {
    if (f->demote_risk > f->block_risk) Fail(InvalidArgument("--demote-risk must not exceed --block-risk"));
    const auto books = OrFail(data::LoadGoodbooks(BooksPath(f->books)));
    const safety::RiskModel model = OrFail(safety::LoadRiskModel(f->model));
    struct Scored {
      double risk;
      const data::Book* book;
    };
    std::vector<Scored> scored;
    int64_t blocked = 0, demoted = 0;
    double sum = 0;
    for (const data::Book& b : books) {
      const double r = model.Score(safety::ContentOf(b));
      scored.push_back({r, &b});
      sum += r;
      blocked += r >= f->block_risk;
      demoted += r >= f->demote_risk && r < f->block_risk;
    }
    std::stable_sort(scored.begin(), scored.end(), [](const Scored& a, const Scored& b) { return a.risk > b.risk; });
    const size_t top = std::min(scored.size(), static_cast<size_t>(f->top));
    if (f->json) {
      nlohmann::json items = nlohmann::json::array();
      for (size_t i = 0; i < top; ++i) {
        items.push_back({{"item_id", scored[i].book->book_id}, {"risk", scored[i].risk}, {"title", scored[i].book->title},
                         {"authors", scored[i].book->authors}});
      }
      PrintJsonLine(DumpJson(nlohmann::json{{"model", model.version}, {"items", scored.size()},
                                            {"mean_risk", scored.empty() ? 0.0 : sum / static_cast<double>(scored.size())},
                                            {"blocked", blocked}, {"demoted", demoted}, {"block_risk", f->block_risk},
                                            {"demote_risk", f->demote_risk}, {"top", items}}));
      return;
    }
    std::printf("%s over %zu items: mean risk %.4f; blocked (>= %g): %lld, demoted (>= %g): %lld\n", model.version.c_str(), scored.size(),
                scored.empty() ? 0.0 : sum / static_cast<double>(scored.size()), f->block_risk, static_cast<long long>(blocked),
                f->demote_risk, static_cast<long long>(demoted));
    for (size_t i = 0; i < top; ++i) {
      std::printf("  %.3f  %6lld  %s (%s)\n", scored[i].risk, static_cast<long long>(scored[i].book->book_id), scored[i].book->title.c_str(),
                  scored[i].book->authors.c_str());
    }
  });
}

}  // namespace steward::app
