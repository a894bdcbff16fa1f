// RiskModel: scores an item's risk from its content before ranking (issue #11; paper section 5.2,
// "risk scoring of all candidates before the final ranking").
//
// A logistic regression over sparse content features of a catalog item, trained on a labelled set:
//   "t:<word>"   each lower-cased word of the title (letters and digits, 2+ characters)
//   "a:<name>"   each listed author, lower-cased
//   "d:<decade>" the original publication decade ("d:1990"; "d:?" when unknown)
//   "l:<code>"   the language code ("l:?" when unknown)
// Features seen in fewer than `min_feature_count` training items get no weight. The score is the
// model's probability that the item is risky; unseen features contribute nothing.
//
// The labelled set is data (`item_id,label` CSV, label 0 or 1), versioned beside the catalog:
// data/safety/README.md says how the shipped set was labelled and by which command. The model file
// (JSON, "format": "steward-risk-1") records the training set's path, SHA-256 and size, the
// hyper-parameters and seed, and the held-out AUC, so a score can be traced to what produced it.
// Training is deterministic for a seed.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/status.h"

namespace steward::data {
struct Book;
}  // namespace steward::data

namespace steward::safety {

// What the scorer sees of an item.
struct ItemContent {
  int64_t item_id = 0;
  std::string title;
  std::string authors;    // comma-separated, as the catalog lists them
  int32_t year = 0;
  bool has_year = false;
  std::string language;   // "" when unknown
};
ItemContent ContentOf(const data::Book& book);

// The feature strings of an item, sorted and distinct.
std::vector<std::string> RiskFeatures(const ItemContent& item);

struct RiskTrainOptions {
  uint64_t seed = 1;             // shuffling and the train/test split. Default: 1
  int epochs = 40;               // passes of SGD over the training items. Default: 40
  double learning_rate = 0.2;    // Default: 0.2 (decays as 1/sqrt(epoch))
  double l2 = 0.1;               // L2 penalty per step. Default: 0.1 (held-out AUC 0.72 on risk-labels-v1)
  double test_fraction = 0.2;    // items held out for the AUC. Default: 0.2
  int min_feature_count = 2;     // Default: 2
};

struct RiskModel {
  std::string version;                                  // e.g. "risk-v1"
  double bias = 0.0;
  std::unordered_map<std::string, double> weights;      // feature -> weight
  // Provenance and quality, as recorded in the model file.
  std::string training_set, training_sha256;
  int64_t training_rows = 0, training_positives = 0;
  double auc_train = 0.0, auc_test = 0.0;
  int64_t test_rows = 0;
  RiskTrainOptions options;

  // P(risky | content) in [0, 1].
  double Score(const ItemContent& item) const;
};

// Trains on `items` with `labels` (item_id -> 0/1; items without a label are not used).
// Errors: kInvalidArgument when there are fewer than 10 labelled items or only one class.
StatusOr<RiskModel> TrainRiskModel(const std::vector<ItemContent>& items, const std::map<int64_t, int>& labels,
                                   const RiskTrainOptions& options, std::string version);

// The shipped training set's labelling rule (data/safety/README.md, "risk-labels-v1"): a book is
// risky (1) when the share of its ratings that are 1 star is at least `min_one_star_share`, else 0.
// Books without ratings are left out. The goodbooks catalog carries no content-safety labels; this
// proxy marks what a notable share of readers rejected outright.
std::map<int64_t, int> LabelByOneStarShare(const std::vector<data::Book>& books, double min_one_star_share);
double OneStarShare(const data::Book& book);  // ratings[0] / sum(ratings); 0 without ratings

// Reads an `item_id,label` CSV (label 0 or 1); errors name the line and column.
StatusOr<std::map<int64_t, int>> LoadRiskLabels(const std::string& path);

// The model file (JSON) and back. Load errors (kInvalidArgument) name the file and field.
std::string RiskModelJson(const RiskModel& model);
StatusOr<RiskModel> LoadRiskModel(const std::string& path);

// Area under the ROC curve: the probability that a random positive scores above a random negative,
// ties counting one half (Mann-Whitney U / (positives x negatives)). NaN when a class is missing.
double RocAuc(const std::vector<double>& scores, const std::vector<int>& labels);

}  // namespace steward::safety
