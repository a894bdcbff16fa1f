#include "app/demo.h"
#include "app/model_factory.h"

#include <algorithm>
#include <filesystem>
#include <cmath>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>

#include "app/paths.h"
#include "common/clock.h"
#include "common/percentile.h"
#include "common/progress.h"
#include "data/goodbooks.h"
#include "experiment/assigner.h"
#include "experiment/controller.h"
#include "experiment/metrics.h"
#include "experiment/stats.h"
#include "fairness/metrics.h"
#include "models/baseline.h"
#include "safety/blocklist_filter.h"
#include "shadow/compare.h"
#include "shadow/report.h"
#include "shadow/runner.h"
#include "sim/world.h"
#include "storage/audit_log.h"
#include "storage/database.h"
#include "storage/event_writer.h"
#include "storage/model_registry.h"
#include "storage/queries.h"

namespace steward::app {
namespace {

constexpr int kProviderGroups = 3;

struct ArmState {
  std::unique_ptr<models::Recommender> model;
  ArmSummary summary;
  std::unique_ptr<fairness::ExposureAccumulator> exposure;
  std::vector<double> latencies_us;
  std::vector<char> seen_user;
};

std::shared_ptr<const models::Catalog> BuildCatalog(const sim::World& world) {
  auto catalog = std::make_shared<models::Catalog>();
  catalog->num_categories = world.config().num_categories;
  for (const sim::Item& item : world.items()) {
    catalog->items.push_back({item.id, item.category, static_cast<int>(item.provider), item.popularity, item.released_ms});
  }
  return catalog;
}

// The regression scenario's fault: from `from_ms` of event time the wrapped model serves
// uniformly random available items (a broken embedding table, say).
class DegradingRecommender final : public models::Recommender {
 public:
  DegradingRecommender(std::unique_ptr<models::Recommender> inner, std::shared_ptr<const models::Catalog> catalog,
                       int64_t from_ms, uint64_t seed)
      : inner_(std::move(inner)), catalog_(std::move(catalog)), from_ms_(from_ms), rng_(seed) {}
  std::string name() const override { return inner_->name(); }
  std::string version() const override { return inner_->version(); }
  models::Recommendation Recommend(const models::RecommendRequest& request) override {
    if (request.ts_ms < from_ms_) return inner_->Recommend(request);
    models::Recommendation rec;
    while (static_cast<int>(rec.items.size()) < request.k) {
      const auto item = static_cast<int32_t>(rng_.UniformInt(catalog_->items.size()));
      if (catalog_->items[static_cast<size_t>(item)].available_from_ms > request.ts_ms) continue;
      bool dup = false;
      for (const auto& s : rec.items) dup = dup || s.item == item;
      if (!dup && Allowed(request, item)) rec.items.push_back({item, 0.0, 1.0});
    }
    return rec;
  }
  void Observe(const models::FeedbackSignal& signal) override { inner_->Observe(signal); }
  void ObserveList(const models::ListFeedback& feedback) override { inner_->ObserveList(feedback); }
  void AdvanceTo(int64_t ts_ms) override { inner_->AdvanceTo(ts_ms); }
  void AddFilter(std::shared_ptr<const models::CandidateFilter> filter) override {
    inner_->AddFilter(filter);
    Recommender::AddFilter(std::move(filter));
  }

 private:
  std::unique_ptr<models::Recommender> inner_;
  std::shared_ptr<const models::Catalog> catalog_;
  int64_t from_ms_;
  Rng rng_;
};

}  // namespace

StatusOr<DemoSummary> RunDemo(const DemoOptions& options) {
  if (options.requests < 0) return InvalidArgument("--requests must be zero or more");
  if (options.list_size < 1 || options.list_size > 100) return InvalidArgument("--k must be between 1 and 100");
  if (options.days < 1) return InvalidArgument("--days must be at least 1");
  if (!options.scenario.empty() && options.scenario != "healthy" && options.scenario != "regression") {
    return InvalidArgument("--scenario must be healthy or regression, got '" + options.scenario + "'");
  }
  const SystemClock& clock = SystemClock::Default();
  const int64_t started_ns = clock.MonotonicNanos();
  const std::string data_dir = ResolveDataDir(options.data_dir);
  const std::string experiment_file =
      options.experiment_file.empty() ? data_dir + "/experiments/demo.yaml" : options.experiment_file;

  ASSIGN_OR_RETURN(auto books, data::LoadGoodbooks(data_dir + "/goodbooks/books.csv"));
  sim::WorldConfig world_config;
  world_config.seed = options.seed;
  world_config.horizon_days = options.days;
  ASSIGN_OR_RETURN(sim::World world, sim::World::Create(books, world_config));
  auto catalog = BuildCatalog(world);

  ASSIGN_OR_RETURN(experiment::ExperimentConfig config, experiment::LoadExperimentConfig(experiment_file));
  if (config.type != experiment::ExperimentType::kAB) {
    return InvalidArgument(experiment_file + ": the demo runs A/B experiments (type: ab)");
  }
  const bool controlled = !config.ramp.empty() || !config.guardrails.empty();
  if (!options.scenario.empty() && !controlled) {
    return InvalidArgument(experiment_file + ": --scenario needs an experiment with a ramp or guardrails");
  }
  experiment::Assigner assigner(config);

  std::shared_ptr<const models::CandidateFilter> blocklist;
  if (!options.blocklist_file.empty()) {
    std::vector<int64_t> ids;
    for (const auto& item : catalog->items) ids.push_back(item.id);
    ASSIGN_OR_RETURN(safety::BlocklistFilter filter, safety::BlocklistFilter::Load(options.blocklist_file, ids));
    blocklist = std::make_shared<safety::BlocklistFilter>(std::move(filter));
  }

  // Models: one per arm (each learns only from its own traffic, as in a clean A/B test) and the
  // shadow model (learns from all logged feedback, never shown).
  const int64_t horizon_ms = static_cast<int64_t>(options.days) * 86'400'000LL;
  std::vector<ArmState> arms(config.arms.size());
  for (size_t a = 0; a < config.arms.size(); ++a) {
    ASSIGN_OR_RETURN(arms[a].model, MakeModel(config.arms[a].model, catalog, books, world, Mix64(options.seed + 17 * (a + 1))));
    if (options.scenario == "regression" && a > 0) {
      const int64_t from_ms = world_config.start_ms + static_cast<int64_t>(0.4 * static_cast<double>(horizon_ms));
      arms[a].model = std::make_unique<DegradingRecommender>(std::move(arms[a].model), catalog, from_ms, Mix64(options.seed + 5));
    }
    if (blocklist) arms[a].model->AddFilter(blocklist);
    arms[a].summary.name = config.arms[a].name;
    arms[a].summary.model = config.arms[a].model;
    arms[a].exposure = std::make_unique<fairness::ExposureAccumulator>(static_cast<int>(catalog->items.size()),
                                                                        catalog->num_categories, kProviderGroups);
  }
  std::unique_ptr<models::Recommender> shadow_model;
  if (!config.shadow_model.empty()) {
    ASSIGN_OR_RETURN(shadow_model, MakeModel(config.shadow_model, catalog, books, world, Mix64(options.seed + 991)));
    if (blocklist) shadow_model->AddFilter(blocklist);
  }

  // Control plane. The controller runs on simulated event time, so ramp durations are event time.
  if (const auto parent = std::filesystem::path(options.db_path).parent_path(); !parent.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(parent, ec);
    if (ec) return IoError("--db " + options.db_path + ": cannot create its directory (" + ec.message() + ")");
  }
  ASSIGN_OR_RETURN(auto db, storage::Database::Open(options.db_path));
  storage::AuditLog audit(*db);
  ManualClock event_clock(world_config.start_ms);
  experiment::RolloutController controller(*db, event_clock);
  ASSIGN_OR_RETURN(int64_t version, controller.Create(config, "demo"));
  (void)version;
  const int64_t now_ms = clock.NowMillis();
  storage::ModelRegistry registry(*db);
  for (size_t a = 0; a < arms.size(); ++a) {
    storage::ModelRecord record;
    record.name = arms[a].model->name();
    record.kind = config.arms[a].model;
    record.created_at_ms = now_ms;
    record.params_json = nlohmann::json{{"version", arms[a].model->version()}, {"seed", options.seed}}.dump();
    RETURN_IF_ERROR(registry.Register(record).status());
  }
  // Audit rows of a demo run are in simulated event time, like the controller's; the wall-clock
  // time goes into the details.
  RETURN_IF_ERROR(audit.Append({0, event_clock.NowMillis(), "demo", "demo.start", config.name,
                                options.scenario.empty() ? "simulated traffic run" : "scenario " + options.scenario,
                                nlohmann::json{{"requests", options.requests}, {"seed", options.seed}, {"days", options.days},
                                               {"scenario", options.scenario}, {"wall_time_ms", now_ms}}.dump()})
                      .status());
  if (blocklist) {
    // The safety policy that screens this run, recorded with the experiment (tamper-evident), so
    // reviewers' reports count violations against what was actually in force.
    const auto& filter = static_cast<const safety::BlocklistFilter&>(*blocklist);
    RETURN_IF_ERROR(audit.Append({0, event_clock.NowMillis(), "demo", "safety.policy", config.name, filter.reason(),
                                  nlohmann::json{{"filter", filter.name()}, {"reason", filter.reason()},
                                                 {"items", filter.item_ids()}, {"file", options.blocklist_file},
                                                 {"applies_to", "every arm and the shadow model"}}.dump()})
                        .status());
  }
  ASSIGN_OR_RETURN(int64_t request_base, storage::QueryMaxRequestId(*db));
  {
    std::vector<storage::CatalogRow> rows;
    for (const auto& item : catalog->items) rows.push_back({item.id, item.category, item.provider_group, item.prior_popularity});
    RETURN_IF_ERROR(storage::SaveCatalog(*db, rows));
  }

  // The rollout: start it (draft -> shadow), or honour the state a previous run left.
  double coverage = config.coverage;
  const int64_t shadow_until_ms = world_config.start_ms + horizon_ms / 20;  // 5% of the run in shadow
  if (controlled) {
    ASSIGN_OR_RETURN(experiment::RolloutStatus status, controller.Status(config.name));
    if (status.state == experiment::RolloutState::kDraft) {
      RETURN_IF_ERROR(controller.Start(config.name, "demo", "demo run: shadow phase before the ramp"));
    }
    ASSIGN_OR_RETURN(coverage, controller.ServingCoverageFor(config.name));
  }
  assigner.SetCoverage(coverage);
  experiment::ExperimentMetrics metrics(static_cast<int>(config.arms.size()));
  int64_t next_eval_ms = world_config.start_ms + config.evaluation.interval_ms;

  // Data plane: the production ingest path, and the shadow model on its own worker, off the
  // serving path; its lists go to the same writer.
  ASSIGN_OR_RETURN(auto writer, storage::EventWriter::Start(options.db_path));
  std::unique_ptr<shadow::ShadowRunner> shadow_runner;
  if (shadow_model) {
    storage::EventWriter* sink = writer.get();
    shadow::ShadowRunnerOptions runner_options;
    runner_options.queue_capacity = options.shadow_queue;
    shadow_runner = std::make_unique<shadow::ShadowRunner>(
        std::move(shadow_model), runner_options, [sink, catalog, name = config.name](shadow::ShadowResult r) {
          storage::ShadowOutcome out;
          out.request_id = r.request_id;
          out.experiment = name;
          out.model_version = r.model_version;
          for (int32_t item : r.items) out.items.push_back(catalog->items[static_cast<size_t>(item)].id);
          out.latency_us = static_cast<int32_t>(r.latency_us);
          out.error = r.error;
          out.timed_out = r.timed_out;
          (void)sink->Submit(std::move(out));
        });
  }

  std::vector<std::vector<int32_t>> history;  // per user index: clicked item indices, oldest first
  Progress progress("demo", static_cast<uint64_t>(options.requests), "requests", clock);
  progress.set_enabled(options.progress);
  const double requests_per_day = std::max(1.0, static_cast<double>(options.requests) / options.days);

  DemoSummary summary;
  summary.db = options.db_path;
  summary.experiment = config.name;
  summary.seed = options.seed;
  summary.shadow_model = config.shadow_model;
  summary.scenario = options.scenario;
  int64_t rolled_back_at_request = 0;

  std::vector<storage::Event> events;
  std::vector<int32_t> items;
  std::vector<char> clicked;
  std::vector<int> categories, groups;
  for (int64_t r = 0; r < options.requests; ++r) {
    if (options.cancel && options.cancel->load()) {
      summary.cancelled = true;
      break;
    }
    const sim::Request req = world.NextRequest(requests_per_day);
    if (history.size() < world.users().size()) history.resize(world.users().size());

    // Analyses at every interval of event time; their decisions are durable before the next
    // request is served.
    while (controlled && req.ts_ms >= next_eval_ms) {
      event_clock.SetMillis(next_eval_ms);
      ASSIGN_OR_RETURN(experiment::RolloutStatus status, controller.Status(config.name));
      if (status.state == experiment::RolloutState::kShadow && next_eval_ms >= shadow_until_ms) {
        RETURN_IF_ERROR(controller.Start(config.name, "demo", "shadow phase done: start the ramp"));
      } else if (experiment::IsLive(status.state)) {
        ASSIGN_OR_RETURN(experiment::Analysis analysis, controller.Evaluate(config.name, metrics, next_eval_ms));
        if (analysis.action == experiment::Action::kRollback) rolled_back_at_request = r + 1;
        const int next = status.step + 1;
        if (analysis.action == experiment::Action::kHold && next < static_cast<int>(config.ramp.size()) &&
            !config.ramp[static_cast<size_t>(next)].approval.empty() && analysis.reason.find("approval") != std::string::npos) {
          // The simulated responsible-AI reviewer signs off; the next analysis advances.
          RETURN_IF_ERROR(controller.Approve(config.name, config.ramp[static_cast<size_t>(next)].approval, "demo-reviewer",
                                             "simulated review of exposure and diversity: sign-off"));
        }
      }
      ASSIGN_OR_RETURN(coverage, controller.ServingCoverageFor(config.name));
      assigner.SetCoverage(coverage);
      next_eval_ms += config.evaluation.interval_ms;
    }

    const sim::User& user = world.users()[req.user_index];
    const std::string user_key = std::to_string(user.id);
    const experiment::Assignment assignment = assigner.Assign(user_key);
    const size_t arm_index = assignment.in_experiment ? static_cast<size_t>(assignment.arm_index) : 0;
    if (!assignment.in_experiment) ++summary.excluded;
    ArmState& arm = arms[arm_index];

    models::RecommendRequest request;
    request.request_id = request_base + r + 1;
    request.user_id = user.id;
    request.ts_ms = req.ts_ms;
    request.history = history[req.user_index];
    request.k = options.list_size;
    const int64_t t0 = clock.MonotonicNanos();
    arm.model->AdvanceTo(request.ts_ms);
    models::Recommendation rec = arm.model->Recommend(request);
    const int64_t t1 = clock.MonotonicNanos();
    if (shadow_runner) shadow_runner->SubmitRequest(request);  // a copy of the same inputs; never blocks

    storage::Exposure exposure;
    exposure.request_id = request.request_id;
    exposure.ts_ms = req.ts_ms;
    exposure.user_id = user.id;
    exposure.experiment = config.name;
    exposure.arm = assignment.in_experiment ? config.arms[arm_index].name : "excluded";
    exposure.model_version = arm.model->version();
    exposure.latency_us = static_cast<int32_t>((t1 - t0) / 1000);
    items.clear();
    categories.clear();
    groups.clear();
    for (const models::ScoredItem& s : rec.items) {
      const auto& item = catalog->items[static_cast<size_t>(s.item)];
      exposure.served.push_back({item.id, s.propensity});
      items.push_back(s.item);
      categories.push_back(item.category);
      groups.push_back(item.provider_group);
    }
    events.clear();
    events.emplace_back(std::move(exposure));

    // Simulated user response, position by position.
    clicked.assign(rec.items.size(), 0);
    experiment::RequestOutcome outcome;
    outcome.latency_ms = static_cast<double>(t1 - t0) / 1e6;
    for (size_t p = 0; p < rec.items.size(); ++p) {
      const int32_t item = rec.items[p].item;
      const int position = static_cast<int>(p) + 1;
      if (!world.SimulateClick(req.user_index, static_cast<size_t>(item), position)) continue;
      clicked[p] = 1;
      const int64_t click_ts = req.ts_ms + 1000 * position;
      events.emplace_back(storage::Feedback{request.request_id, click_ts, user.id, catalog->items[static_cast<size_t>(item)].id,
                                            position, storage::FeedbackKind::kClick, 1.0});
      ++arm.summary.clicks;
      outcome.clicks += 1;
      if (world.SimulateConversion(static_cast<size_t>(item))) {
        events.emplace_back(storage::Feedback{request.request_id, click_ts + 60000, user.id,
                                              catalog->items[static_cast<size_t>(item)].id, position,
                                              storage::FeedbackKind::kConversion, 1.0});
        ++arm.summary.conversions;
        outcome.conversions += 1;
      }
      models::FeedbackSignal signal{user.id, click_ts, item, position, true, history[req.user_index]};
      arm.model->Observe(signal);
      if (shadow_runner) shadow_runner->SubmitFeedback(signal);
      history[req.user_index].push_back(item);
    }
    // The whole list's outcome, for models that learn from it (the hybrid's bandit).
    const models::ListFeedback list_feedback{request.request_id, user.id, req.ts_ms, items, clicked};
    arm.model->ObserveList(list_feedback);
    if (shadow_runner) shadow_runner->SubmitListFeedback(list_feedback);
    if (assignment.in_experiment) metrics.Record(static_cast<int>(arm_index), user.id, outcome);
    auto submitted = writer->SubmitBatch(std::move(events));
    if (!submitted.ok()) return submitted.status().WithContext("logging request " + std::to_string(request.request_id));
    events = {};

    ++arm.summary.exposures;
    if (arm.seen_user.size() <= req.user_index) arm.seen_user.resize(world.users().size(), 0);
    if (!arm.seen_user[req.user_index]) {
      arm.seen_user[req.user_index] = 1;
      ++arm.summary.users;
    }
    arm.exposure->AddList(items, categories, groups);
    arm.latencies_us.push_back(static_cast<double>(t1 - t0) / 1000.0);
    progress.Update(static_cast<uint64_t>(r + 1));
  }
  if (shadow_runner) {
    shadow_runner->Drain();
    const shadow::ShadowStats stats = shadow_runner->stats();
    summary.shadow_dropped = static_cast<int64_t>(stats.dropped);
    shadow_runner.reset();  // its callback writes through the writer: stop it first
  }
  RETURN_IF_ERROR(writer->Close());
  progress.Finish();

  for (ArmState& arm : arms) {
    ArmSummary& s = arm.summary;
    s.ctr = s.exposures ? static_cast<double>(s.clicks) / static_cast<double>(s.exposures) : 0.0;
    s.diversity_index = arm.exposure->DiversityIndex();
    s.gini = arm.exposure->ItemGini();
    s.coverage = arm.exposure->Coverage();
    s.provider_shares = arm.exposure->GroupShares();
    s.p50_latency_us = Percentile(arm.latencies_us, 0.50);
    s.p99_latency_us = Percentile(arm.latencies_us, 0.99);
    summary.requests += s.exposures;
    summary.conversions += s.conversions;
    summary.arms.push_back(s);
  }
  if (!config.shadow_model.empty()) {
    ASSIGN_OR_RETURN(shadow::ShadowReport report, shadow::BuildShadowReport(*db, config.name));
    if (!report.experiments.empty()) summary.shadow_overlap_at_k = report.experiments[0].overlap_at_10;
  }

  // Primary metrics, treatment vs control at user level, Holm-corrected across the metrics.
  if (config.arms.size() >= 2) {
    std::vector<double> p;
    for (experiment::Metric m : config.decision.primary_metrics) {
      auto r = experiment::RatioTest(metrics.Sums(0, m), metrics.Sums(1, m), config.decision.alpha);
      p.push_back(r.ok() ? r->p_value : 1.0);
    }
    summary.primary_p_values = experiment::HolmAdjust(p);
  }

  ExperimentOutcome outcome;
  outcome.name = config.name;
  if (controlled) {
    ASSIGN_OR_RETURN(experiment::RolloutStatus status, controller.Status(config.name));
    outcome.state = experiment::RolloutStateName(status.state);
    outcome.step = status.step + 1;
    outcome.coverage = experiment::ServingCoverage(config, status);
    outcome.rolled_back_at = status.rolled_back_at_ms;
    outcome.rolled_back_at_request = rolled_back_at_request;
    outcome.reason = status.reason;
    outcome.analyses = status.analyses;
  } else {
    outcome.state = "ramping";
    outcome.coverage = config.coverage;
    outcome.reason = "no ramp or guardrails configured: fixed coverage";
  }
  summary.experiments.push_back(outcome);

  // Read the outcome back from the database rather than trusting the counters.
  ASSIGN_OR_RETURN(storage::Totals totals, storage::QueryTotals(*db));
  summary.exposures = totals.exposures;
  summary.clicks = totals.clicks;
  summary.seconds = static_cast<double>(clock.MonotonicNanos() - started_ns) / 1e9;
  nlohmann::json finish = nlohmann::json::parse(DemoSummaryJson(summary));
  finish["wall_time_ms"] = clock.NowMillis();
  event_clock.SetMillis(std::max(event_clock.NowMillis(), world.now_ms()));  // the last request's event time
  RETURN_IF_ERROR(audit.Append({0, event_clock.NowMillis(), "demo", "demo.finish", config.name,
                                summary.cancelled ? "run cancelled" : "run completed", finish.dump()})
                      .status());
  summary.audit_rows = totals.audit_rows + 1;
  return summary;
}

std::string DemoSummaryJson(const DemoSummary& s) {
  nlohmann::json arms = nlohmann::json::array();
  for (const ArmSummary& a : s.arms) {
    nlohmann::json shares = nlohmann::json::object();
    static const char* kGroups[] = {"head", "mid", "tail"};
    for (size_t g = 0; g < a.provider_shares.size() && g < 3; ++g) shares[kGroups[g]] = a.provider_shares[g];
    arms.push_back({{"name", a.name}, {"model", a.model}, {"exposures", a.exposures}, {"users", a.users},
                    {"clicks", a.clicks}, {"conversions", a.conversions}, {"ctr", a.ctr},
                    {"diversity_index", a.diversity_index}, {"gini", a.gini}, {"coverage", a.coverage},
                    {"provider_exposure_shares", shares}, {"p50_latency_us", a.p50_latency_us},
                    {"p99_latency_us", a.p99_latency_us}});
  }
  nlohmann::json experiments = nlohmann::json::array();
  for (const ExperimentOutcome& e : s.experiments) {
    experiments.push_back({{"name", e.name}, {"state", e.state}, {"step", e.step}, {"coverage", e.coverage},
                           {"rolled_back_at", e.rolled_back_at ? nlohmann::json(e.rolled_back_at) : nlohmann::json(nullptr)},
                           {"rolled_back_at_request", e.rolled_back_at_request}, {"reason", e.reason},
                           {"analyses", e.analyses}});
  }
  nlohmann::json j = {{"requests", s.requests},   {"exposures", s.exposures}, {"clicks", s.clicks},
                      {"conversions", s.conversions}, {"db", s.db},          {"experiment", s.experiment},
                      {"seed", s.seed},           {"excluded", s.excluded},  {"arms", arms},
                      {"seconds", s.seconds},     {"cancelled", s.cancelled}, {"experiments", experiments},
                      {"scenario", s.scenario.empty() ? nlohmann::json(nullptr) : nlohmann::json(s.scenario)},
                      {"primary_p_values_holm", s.primary_p_values}};
  if (!s.shadow_model.empty()) {
    j["shadow"] = {{"model", s.shadow_model}, {"overlap_at_10", s.shadow_overlap_at_k}, {"dropped", s.shadow_dropped}};
  }
  return j.dump();
}

std::string DemoSummaryText(const DemoSummary& s) {
  std::ostringstream out;
  char line[320];
  out << "Experiment '" << s.experiment << "' — " << s.requests << " requests in " << std::fixed;
  out.precision(1);
  out << s.seconds << " s (seed " << s.seed << (s.scenario.empty() ? "" : ", scenario " + s.scenario) << ")\n";
  std::snprintf(line, sizeof line, "  %-10s %-18s %9s %7s %8s %7s %9s %6s %8s %9s\n", "arm", "model", "exposures", "users",
                "clicks", "CTR", "diversity", "gini", "coverage", "p99 (us)");
  out << line;
  for (const ArmSummary& a : s.arms) {
    std::snprintf(line, sizeof line, "  %-10s %-18s %9lld %7lld %8lld %7.4f %9.3f %6.3f %8.3f %9.0f\n", a.name.c_str(),
                  a.model.c_str(), static_cast<long long>(a.exposures), static_cast<long long>(a.users),
                  static_cast<long long>(a.clicks), a.ctr, a.diversity_index, a.gini, a.coverage, a.p99_latency_us);
    out << line;
  }
  std::snprintf(line, sizeof line, "  requests outside the experiment (served control): %lld\n", static_cast<long long>(s.excluded));
  out << line;
  if (!s.shadow_model.empty()) {
    std::snprintf(line, sizeof line, "  shadow model '%s': mean overlap@10 with the served list %.3f\n", s.shadow_model.c_str(),
                  s.shadow_overlap_at_k);
    out << line;
  }
  for (const ExperimentOutcome& e : s.experiments) {
    std::snprintf(line, sizeof line, "  rollout: %s at step %d (coverage %.2f) after %lld analyses: %s\n", e.state.c_str(),
                  e.step, e.coverage, static_cast<long long>(e.analyses), e.reason.c_str());
    out << line;
  }
  out << "  database " << s.db << ": " << s.exposures << " exposures, " << s.clicks << " clicks logged\n";
  return out.str();
}

}  // namespace steward::app
