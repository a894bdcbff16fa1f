#include "app/simulate.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "app/model_factory.h"
#include "app/paths.h"
#include "app/sim_traffic.h"
#include "common/json.h"
#include "common/progress.h"
#include "data/goodbooks.h"
#include "fairness/metrics.h"
#include "models/hybrid.h"
#include "common/rng.h"
#include "serving/pipeline.h"
#include "sim/world.h"

namespace steward::app {
namespace {

constexpr int64_t kDayMs = 86'400'000;
constexpr int kSignalClicks = 3;      // clicks that make a "significant signal" for a new item
constexpr double kQualityShare = 1.0;   // share of established users' list quality that counts as reached
constexpr int kQualityWindow = 3;       // requests averaged when reading the new-user curve
constexpr int64_t kQualityHorizon = 30;  // new users' requests measured (the curve's length)

double CosMean(const std::vector<float>& a, const std::vector<float>& b) {
  double dot = 0, na = 0, nb = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    dot += static_cast<double>(a[i]) * b[i];
    na += static_cast<double>(a[i]) * a[i];
    nb += static_cast<double>(b[i]) * b[i];
  }
  return na > 0 && nb > 0 ? dot / std::sqrt(na * nb) : 0.0;
}

}  // namespace

StatusOr<SimulateResult> RunSimulation(const SimulateOptions& o) {
  if (o.users < 1) return InvalidArgument("--users must be at least 1");
  if (o.days < 1) return InvalidArgument("--days must be at least 1");
  if (!(o.requests_per_user_day > 0)) return InvalidArgument("--rate must be positive");
  std::optional<models::ExposureConstraintOptions> constraint_options;
  if (!o.constraint_log.empty() && o.fairness_constraint.empty()) return InvalidArgument("--constraint-log needs --fairness-constraint provider");
  if (!o.fairness_constraint.empty()) {
    if (o.fairness_constraint != "provider") {
      return InvalidArgument("--fairness-constraint '" + o.fairness_constraint + "' is not a group attribute; use provider");
    }
    if (o.policy != "hybrid") return InvalidArgument("--fairness-constraint needs --policy hybrid (the constraint is in its re-ranker)");
    constraint_options.emplace();
    constraint_options->tolerance = o.fairness_tolerance;
    constraint_options->targets = o.fairness_targets;
  }
  const auto started = std::chrono::steady_clock::now();
  const std::string data_dir = ResolveDataDir(o.data_dir);
  ASSIGN_OR_RETURN(auto books, data::LoadGoodbooks(data_dir + "/goodbooks/books.csv"));
  sim::WorldConfig wc;
  wc.seed = o.seed;
  wc.initial_users = o.users;
  wc.new_users_per_day = std::max(1, o.users / 50);
  wc.horizon_days = o.days;
  ASSIGN_OR_RETURN(sim::World world, sim::World::Create(books, wc));
  auto catalog = SimCatalog(world);

  if (std::find(ModelNames().begin(), ModelNames().end(), o.policy) == ModelNames().end()) {
    return InvalidArgument("--policy '" + o.policy + "' is not a model; use baseline, hybrid, popularity, baseline-genre or baseline-egreedy");
  }
  auto made = MakeModel(o.policy, catalog, books, world, o.policy == "hybrid" ? o.seed : Mix64(o.seed + 17), ModelOptions{constraint_options, std::nullopt});
  if (!made.ok()) {
    // The constraint's errors name its option (exposure_constraint.targets or .tolerance); add the flag.
    if (constraint_options && made.status().code() == StatusCode::kInvalidArgument) {
      const bool targets = made.status().message().find("targets") != std::string::npos;
      return InvalidArgument(made.status().message() + (targets ? " (--fairness-targets)" : " (--tolerance)"));
    }
    return made.status();
  }
  std::unique_ptr<models::Recommender> model = std::move(*made);
  auto* hybrid = dynamic_cast<models::HybridRecommender*>(model.get());
  // The one serving path, without a database or an experiment: the policy serves everyone.
  serving::PipelineSetup setup;
  setup.catalog = catalog;
  setup.default_model = std::move(model);
  serving::PipelineOptions pipeline_options;
  pipeline_options.on_recommend = o.on_recommend;
  ASSIGN_OR_RETURN(auto pipeline, serving::ServingPipeline::Create(std::move(setup), pipeline_options));

  // Per-request evidence of the constraint: the decision of each list, written as it is served.
  std::ofstream constraint_log;
  if (!o.constraint_log.empty()) {
    constraint_log.open(o.constraint_log, std::ios::trunc);
    if (!constraint_log) return IoError("--constraint-log: cannot write " + o.constraint_log);
  }
  static const char* kGroupNames[] = {"head", "mid", "tail"};
  const auto group_name = [](int g) { return g >= 0 && g < 3 ? std::string(kGroupNames[g]) : std::to_string(g); };
  fairness::ExposureAccumulator exposure(static_cast<int>(catalog->items.size()), catalog->num_categories, 3);
  std::vector<std::vector<float>> last_list_vector;
  std::vector<int64_t> requests_of_user;
  double seq_sum = 0;
  int64_t seq_count = 0;
  // Cold start. List quality is noise-free: the served list's expected clicks under the world's
  // true click model divided by those of the best list for that user at that moment (the k most
  // attractive available items, best first). New users' quality by request index is compared with
  // established users' (every tenth of their requests in the second half, once models learned).
  std::map<int64_t, std::pair<double, int64_t>> new_user_curve;  // index -> (quality sum, requests)
  double established_clicks = 0, established_quality = 0;
  int64_t established_requests = 0, established_measured = 0;
  std::vector<int32_t> served_items;
  const auto list_quality = [&](size_t u, const serving::ServeResponse& rec, int64_t ts) {
    served_items.clear();
    for (const auto& s : rec.items) served_items.push_back(s.index);
    return world.ListQuality(u, served_items, ts);
  };
  std::vector<int> item_clicks(catalog->items.size(), 0);
  std::vector<int64_t> item_impressions(catalog->items.size(), 0);
  std::vector<int64_t> signal_at(catalog->items.size(), -1);

  const int64_t total_requests = static_cast<int64_t>(o.users * o.requests_per_user_day * o.days);
  const double per_day = o.users * o.requests_per_user_day;
  const int64_t end_ms = wc.start_ms + static_cast<int64_t>(o.days) * kDayMs;
  Progress progress("simulate " + o.policy, static_cast<uint64_t>(total_requests), "requests");
  progress.set_enabled(o.progress);
  SimulateResult r;
  r.policy = o.policy;
  const int dim = wc.latent_dim;
  std::vector<int32_t> items;
  std::vector<int> categories, groups;
  for (int64_t n = 0; n < total_requests; ++n) {
    if (o.cancel && o.cancel->load()) return Unavailable("simulation interrupted");
    const sim::Request req = world.NextRequest(per_day);
    if (req.ts_ms >= end_ms) break;
    const size_t u = req.user_index;
    if (last_list_vector.size() < world.users().size()) {
      last_list_vector.resize(world.users().size());
      requests_of_user.resize(world.users().size(), 0);
    }
    const sim::User& user = world.users()[u];
    ASSIGN_OR_RETURN(const serving::ServeResponse rec, pipeline->Serve(SimServeRequest(user, req.ts_ms, o.k, "")));
    if (constraint_log.is_open() && hybrid && hybrid->exposure_constraint()) {
      // The pipeline served this list synchronously, so the constraint's last decision is this list's.
      const models::ExposureDecision d = hybrid->exposure_constraint()->last_decision();
      nlohmann::json shares = nlohmann::json::object(), adjusted = nlohmann::json::array(), served = nlohmann::json::array();
      for (size_t g = 0; g < d.shares_before.size(); ++g) shares[group_name(static_cast<int>(g))] = d.shares_before[g];
      for (size_t i = 0; i < d.adjusted_positions.size(); ++i) {
        adjusted.push_back({{"position", d.adjusted_positions[i]}, {"group", group_name(d.adjusted_groups[i])}});
      }
      for (int g : d.served_groups) served.push_back(group_name(g));
      constraint_log << nlohmann::json{{"request_id", d.request_id}, {"ts_ms", req.ts_ms}, {"shares_before", shares},
                                       {"adjusted", adjusted}, {"served_groups", served}}.dump()
                     << '\n';
      if (!constraint_log) return IoError("--constraint-log: write failed on " + o.constraint_log);
    }
    const bool second_half = req.ts_ms >= wc.start_ms + (end_ms - wc.start_ms) / 2;
    double quality = -1;  // measured before the clicks below change what the user has consumed
    if ((user.is_new && requests_of_user[u] < kQualityHorizon) || (!user.is_new && second_half && Mix64(static_cast<uint64_t>(n) + o.seed) % 10 == 0)) {
      quality = list_quality(u, rec, req.ts_ms);
    }

    items.clear();
    categories.clear();
    groups.clear();
    std::vector<float> list_vector(static_cast<size_t>(dim), 0.0f);
    int clicks = 0;
    for (size_t p = 0; p < rec.items.size(); ++p) {
      const int32_t item = rec.items[p].index;
      items.push_back(item);
      categories.push_back(catalog->items[static_cast<size_t>(item)].category);
      groups.push_back(catalog->items[static_cast<size_t>(item)].provider_group);
      const auto& latent = world.item(static_cast<size_t>(item)).latent;
      for (int i = 0; i < dim; ++i) list_vector[static_cast<size_t>(i)] += latent[static_cast<size_t>(i)];
      ++item_impressions[static_cast<size_t>(item)];
      if (world.SimulateClick(u, static_cast<size_t>(item), static_cast<int>(p) + 1)) {
        ++clicks;
        RETURN_IF_ERROR(pipeline->RecordFeedback(
            {rec.request_id, req.ts_ms, rec.items[p].item_id, static_cast<int>(p) + 1, storage::FeedbackKind::kClick, 1.0}));
        if (++item_clicks[static_cast<size_t>(item)] == kSignalClicks) signal_at[static_cast<size_t>(item)] = req.ts_ms;
      }
    }
    RETURN_IF_ERROR(pipeline->CompleteList(rec.request_id));
    exposure.AddList(items, categories, groups);
    if (!last_list_vector[u].empty()) {
      seq_sum += CosMean(last_list_vector[u], list_vector);
      ++seq_count;
    }
    last_list_vector[u] = std::move(list_vector);
    ++r.requests;
    r.clicks += clicks;
    ++requests_of_user[u];
    if (user.is_new && quality >= 0) {
      auto& point = new_user_curve[requests_of_user[u]];
      point.first += quality;
      ++point.second;
    } else if (second_half) {
      established_clicks += clicks;  // established users in the second half, once models have learned
      ++established_requests;
      if (quality >= 0) {
        established_quality += quality;
        ++established_measured;
      }
    }
    progress.Update(static_cast<uint64_t>(n + 1));
  }
  RETURN_IF_ERROR(pipeline->Close());
  if (hybrid) {
    hybrid->Finish();
    r.embedding_versions = hybrid->embedding_version();
    // How well the learned embeddings separate the world's genres: mean cosine of same-genre vs
    // different-genre item pairs (a sample of 20,000 pairs).
    const auto& e = hybrid->item_embeddings();
    const int ed = hybrid->embedding_dim();
    Rng pair_rng(o.seed + 77);
    double same = 0, diff = 0;
    int64_t ns = 0, nd = 0;
    for (int t = 0; t < 20000; ++t) {
      const size_t a = pair_rng.UniformInt(catalog->items.size()), b = pair_rng.UniformInt(catalog->items.size());
      if (a == b) continue;
      double c = 0;
      for (int k = 0; k < ed; ++k) c += e[a * static_cast<size_t>(ed) + static_cast<size_t>(k)] * e[b * static_cast<size_t>(ed) + static_cast<size_t>(k)];
      if (catalog->items[a].category == catalog->items[b].category) {
        same += c;
        ++ns;
      } else {
        diff += c;
        ++nd;
      }
    }
    r.embedding_genre_separation = (ns ? same / static_cast<double>(ns) : 0) - (nd ? diff / static_cast<double>(nd) : 0);
  }
  progress.Finish();

  r.ctr = r.requests ? static_cast<double>(r.clicks) / static_cast<double>(r.requests) : 0.0;
  r.diversity_index = exposure.DiversityIndex();
  r.coverage = exposure.Coverage();
  r.gini = exposure.ItemGini();
  r.sequential_similarity = seq_count ? seq_sum / static_cast<double>(seq_count) : 0.0;
  r.established_ctr = established_requests ? established_clicks / static_cast<double>(established_requests) : 0.0;
  r.established_quality = established_measured ? established_quality / static_cast<double>(established_measured) : 0.0;
  for (int64_t i = 1; i <= 15; ++i) {
    auto it = new_user_curve.find(i);
    if (it == new_user_curve.end() || it->second.second == 0) break;
    r.new_user_quality_curve.push_back(it->second.first / static_cast<double>(it->second.second));
  }
  // New users: the first request index from which the list quality over the next kQualityWindow
  // indices reaches kQualityShare of established users' quality; the interactions before it are
  // the answer (censored at the longest new-user history when never reached).
  int64_t max_index = new_user_curve.empty() ? 0 : new_user_curve.rbegin()->first;
  r.new_user_interactions_to_quality = static_cast<double>(max_index + 1);  // censored: never reached
  for (int64_t i = 1; i <= max_index; ++i) {
    double c = 0;
    int64_t q = 0;
    for (int64_t j = i; j < i + kQualityWindow; ++j) {
      auto it = new_user_curve.find(j);
      if (it == new_user_curve.end()) continue;
      c += it->second.first;
      q += it->second.second;
    }
    if (q >= 30 && c / static_cast<double>(q) >= kQualityShare * r.established_quality) {
      r.new_user_interactions_to_quality = static_cast<double>(i - 1);  // interactions before reaching quality
      break;
    }
  }
  // New items: mean days from release to kSignalClicks clicks (censored at the end of the run).
  double days_sum = 0;
  int64_t new_items = 0;
  for (size_t i = 0; i < catalog->items.size(); ++i) {
    const int64_t released = catalog->items[i].available_from_ms;
    if (released <= wc.start_ms || released >= end_ms) continue;
    const int64_t at = signal_at[i] >= 0 ? signal_at[i] : end_ms;
    if (signal_at[i] >= 0) ++r.new_items_with_signal;
    r.new_item_impressions += static_cast<double>(item_impressions[i]);
    r.new_item_clicks += item_clicks[i];
    days_sum += static_cast<double>(at - released) / static_cast<double>(kDayMs);
    ++new_items;
  }
  r.new_item_days_to_signal = new_items ? days_sum / static_cast<double>(new_items) : 0.0;
  r.new_items = new_items;
  if (new_items) r.new_item_impressions /= static_cast<double>(new_items);
  // Provider-group exposure of everything served, against the constraint's targets when there is
  // one, else the catalog shares (the same definition as the audit's exposure disparity).
  std::vector<int> item_groups;
  for (const auto& item : catalog->items) item_groups.push_back(item.provider_group);
  r.target_share = models::GroupShares(item_groups);
  r.target_share.resize(3, 0.0);
  r.exposure_share = exposure.GroupShares();
  for (int g = 0; g < 3; ++g) r.provider_groups.push_back(sim::ProviderGroupName(static_cast<sim::ProviderGroup>(g)));
  if (hybrid && hybrid->exposure_constraint()) {
    r.constraint = hybrid->exposure_constraint()->snapshot();
    r.constraint_groups = o.fairness_constraint;
    r.target_share = r.constraint->targets;
  }
  r.exposure_disparity = fairness::ExposureDisparity(r.exposure_share, r.target_share);
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return r;
}

std::string SimulateResultJson(const SimulateResult& r) {
  nlohmann::json share = nlohmann::json::object(), target = nlohmann::json::object();
  for (size_t g = 0; g < r.provider_groups.size(); ++g) {
    share[r.provider_groups[g]] = g < r.exposure_share.size() ? r.exposure_share[g] : 0.0;
    target[r.provider_groups[g]] = g < r.target_share.size() ? r.target_share[g] : 0.0;
  }
  auto by_group = [&](const std::vector<double>& v) {
    nlohmann::json j = nlohmann::json::object();
    for (size_t g = 0; g < r.provider_groups.size() && g < v.size(); ++g) j[r.provider_groups[g]] = v[g];
    return j;
  };
  nlohmann::json out{{"policy", r.policy},
                        {"requests", r.requests},
                        {"clicks", r.clicks},
                        {"ctr", r.ctr},
                        {"diversity_index", r.diversity_index},
                        {"sequential_similarity", r.sequential_similarity},
                        {"coverage", r.coverage},
                        {"gini", r.gini},
                        {"new_user_interactions_to_quality", r.new_user_interactions_to_quality},
                        {"new_item_days_to_signal", r.new_item_days_to_signal},
                        {"established_ctr", r.established_ctr},
                        {"established_quality", r.established_quality},
                        {"new_user_quality_curve", r.new_user_quality_curve},
                        {"new_items", r.new_items},
                        {"new_items_with_signal", r.new_items_with_signal},
                        {"new_item_impressions", r.new_item_impressions},
                        {"new_item_clicks", r.new_item_clicks},
                        {"embedding_versions", r.embedding_versions},
                        {"embedding_genre_separation", r.embedding_genre_separation},
                        {"exposure_share", share},
                        {"target_share", target},
                        {"exposure_disparity", r.exposure_disparity},
                        {"seconds", r.seconds}};
  if (r.constraint) {
    const models::ExposureSnapshot& c = *r.constraint;
    out["constraint"] = {{"groups", r.constraint_groups},
                         {"tolerance", c.tolerance},
                         {"targets", by_group(c.targets)},
                         {"final_shares", by_group(c.shares)},
                         {"disparity", c.disparity},
                         {"lists", c.lists},
                         {"lists_adjusted", c.lists_adjusted},
                         {"positions_adjusted", c.positions_adjusted}};
  }
  return DumpJson(out);
}

}  // namespace steward::app
