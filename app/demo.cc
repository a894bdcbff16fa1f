#include "app/demo.h"
#include "app/arm_tally.h"
#include "app/model_factory.h"
#include "app/sim_traffic.h"

#include <algorithm>
#include <filesystem>
#include <cmath>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>

#include "app/paths.h"
#include "common/clock.h"
#include "common/json.h"
#include "common/percentile.h"
#include "common/progress.h"
#include "data/goodbooks.h"
#include "serving/controller.h"
#include "serving/pipeline.h"
#include "serving/rollout_driver.h"
#include "experiment/metrics.h"
#include "experiment/stats.h"
#include "fairness/audit.h"
#include "safety/blocklist_filter.h"
#include "shadow/report.h"
#include "sim/world.h"
#include "storage/audit_log.h"
#include "storage/database.h"
#include "storage/model_registry.h"
#include "storage/queries.h"

namespace steward::app {
namespace {

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

// Where a previous run on this database left the experiment's traffic.
struct DemoResume {
  int64_t last_ts_ms = 0;      // the last logged request's event time; 0 when none
  int64_t unfinished_seq = 0;  // audit seq of a demo.start with no demo.finish after it; 0 when none
};

StatusOr<DemoResume> FindResume(storage::Database& db, const std::string& experiment) {
  DemoResume out;
  ASSIGN_OR_RETURN(auto rows, storage::AuditLog(db).ForSubject(experiment));
  for (const auto& row : rows) {
    if (row.action == storage::AuditActionName(storage::AuditAction::kDemoStart)) out.unfinished_seq = row.seq;
    if (row.action == storage::AuditActionName(storage::AuditAction::kDemoFinish)) out.unfinished_seq = 0;
  }
  ASSIGN_OR_RETURN(out.last_ts_ms, storage::QueryLastExposureTime(db, experiment));
  return out;
}

}  // namespace

StatusOr<DemoInputs> LoadDemoInputs(const DemoOptions& options) {
  if (options.requests < 0) return InvalidArgument("requests must be zero or more");
  if (options.list_size < 1 || options.list_size > 100) return InvalidArgument("the list size k must be between 1 and 100");
  const std::string data_dir = ResolveDataDir(options.data_dir);
  DemoInputs in;
  in.experiment_file = options.experiment_file.empty() ? data_dir + "/experiments/demo.yaml" : options.experiment_file;
  ASSIGN_OR_RETURN(in.books, data::LoadGoodbooks(data_dir + "/goodbooks/books.csv"));
  ASSIGN_OR_RETURN(in.config, experiment::LoadExperimentConfig(in.experiment_file));
  return in;
}

StatusOr<DemoSummary> RunDemo(const DemoOptions& options) {
  if (options.days < 1) return InvalidArgument("days must be at least 1");
  if (!options.scenario.empty() && options.scenario != "healthy" && options.scenario != "regression") {
    return InvalidArgument("the scenario must be healthy or regression, got '" + options.scenario + "'");
  }
  const SystemClock& clock = SystemClock::Default();
  const int64_t started_ns = clock.MonotonicNanos();
  ASSIGN_OR_RETURN(DemoInputs inputs, LoadDemoInputs(options));
  const std::string& experiment_file = inputs.experiment_file;
  const std::vector<data::Book>& books = inputs.books;
  const experiment::ExperimentConfig& config = inputs.config;
  if (config.type != experiment::ExperimentType::kAB) {
    return InvalidArgument(experiment_file + ": the demo runs A/B experiments (type: ab)");
  }
  const bool controlled = !config.ramp.empty() || !config.guardrails.empty();
  if (!options.scenario.empty() && !controlled) {
    return InvalidArgument(experiment_file + ": a scenario needs an experiment with a ramp or guardrails");
  }

  // Control plane. The controller runs on simulated event time, so ramp durations are event time.
  if (const auto parent = std::filesystem::path(options.db_path).parent_path(); !parent.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(parent, ec);
    if (ec) return IoError(options.db_path + ": cannot create its directory (" + ec.message() + ")");
  }
  ASSIGN_OR_RETURN(auto db, storage::Database::Open(options.db_path));
  storage::AuditLog audit(*db);

  // A run on a database that already served this experiment resumes its traffic after the last
  // logged request (the rollout resumes where it stands; the world continues in event time).
  sim::WorldConfig world_config;
  world_config.seed = options.seed;
  world_config.horizon_days = options.days;
  ASSIGN_OR_RETURN(DemoResume resume, FindResume(*db, config.name));
  if (resume.last_ts_ms > 0) world_config.start_ms = resume.last_ts_ms + 1;
  ASSIGN_OR_RETURN(sim::World world, sim::World::Create(books, world_config));
  auto catalog = SimCatalog(world);

  ManualClock event_clock(world_config.start_ms);
  serving::RolloutController controller(*db, event_clock);
  ASSIGN_OR_RETURN(int64_t version, controller.Create(config, "demo"));
  (void)version;
  const int64_t now_ms = clock.NowMillis();
  if (resume.unfinished_seq > 0) {
    // The previous run on this database started and never finished: it died (kill -9, crash, power).
    RETURN_IF_ERROR(audit.Append({0, event_clock.NowMillis(), "demo", storage::AuditActionName(storage::AuditAction::kDemoResume), config.name,
                                  "the run started in audit row seq=" + std::to_string(resume.unfinished_seq) +
                                      " did not finish; resuming after its last logged request",
                                  DumpJson(nlohmann::json{{"unfinished_run_seq", resume.unfinished_seq},
                                                 {"last_request_ts_ms", resume.last_ts_ms}, {"wall_time_ms", now_ms}})})
                        .status());
  }

  ASSIGN_OR_RETURN(std::shared_ptr<const safety::BlocklistFilter> blocklist, LoadBlocklist(options.blocklist_file, *catalog));
  ASSIGN_OR_RETURN(std::shared_ptr<safety::SafetyScreen> screen, LoadSafetyScreen(options.screen, books, catalog));

  // Audit rows of a demo run are in simulated event time, like the controller's; the wall-clock
  // time goes into the details.
  RETURN_IF_ERROR(audit.Append({0, event_clock.NowMillis(), "demo", storage::AuditActionName(storage::AuditAction::kDemoStart), config.name,
                                options.scenario.empty() ? "simulated traffic run" : "scenario " + options.scenario,
                                DumpJson(nlohmann::json{{"requests", options.requests}, {"seed", options.seed}, {"days", options.days},
                                               {"scenario", options.scenario}, {"wall_time_ms", now_ms}})})
                      .status());
  if (blocklist) {
    // The safety policy that screens this run, recorded with the experiment (tamper-evident), so
    // reviewers' reports count violations against what was actually in force.
    RETURN_IF_ERROR(audit.Append({0, event_clock.NowMillis(), "demo", storage::AuditActionName(storage::AuditAction::kSafetyPolicy), config.name, blocklist->reason(),
                                  DumpJson(nlohmann::json{{"filter", blocklist->name()}, {"reason", blocklist->reason()},
                                                 {"items", blocklist->item_ids()}, {"file", options.blocklist_file},
                                                 {"applies_to", "every arm and the shadow model"}})})
                        .status());
  }
  if (screen) {
    const std::string reason = screen->policy().reason.empty() ? "risk screen " + screen->risk_version() : screen->policy().reason;
    RETURN_IF_ERROR(audit.Append({0, event_clock.NowMillis(), "demo", storage::AuditActionName(storage::AuditAction::kSafetyPolicy), config.name,
                                  reason, ScreenAuditPayload(*screen, options.screen)})
                        .status());
  }
  {
    std::vector<storage::CatalogRow> rows;
    for (size_t i = 0; i < catalog->items.size(); ++i) {
      const auto& item = catalog->items[i];
      rows.push_back({item.id, item.category, item.provider_group, item.prior_popularity,
                      screen && screen->has_risk() ? screen->Risk(static_cast<int32_t>(i)) : -1.0});
    }
    RETURN_IF_ERROR(storage::SaveCatalog(*db, rows));
  }

  // The control loop: a library, driven here on event time. The simulated responsible-AI reviewer
  // is a driver-side actor: asked when the next step waits for its role, it reads the governance
  // audit computed at that analysis and signs off only when every treatment check passes (the
  // report's hash goes into the audit log); otherwise the step keeps waiting. Other roles sign off.
  const int64_t horizon_ms = static_cast<int64_t>(options.days) * 86'400'000LL;
  serving::ServingPipeline* pipeline_ptr = nullptr;
  serving::DriverOptions driver_options;
  driver_options.approver = [](const std::string&, const experiment::RolloutStatus&) {
    return std::optional<serving::Approval>(
        serving::Approval{"demo-reviewer", "simulated review of exposure and diversity: sign-off"});
  };
  driver_options.reviewer = [](const fairness::ExperimentAudit& report, const experiment::RolloutStatus&) {
    if (!report.passed) return std::optional<serving::Approval>();
    size_t passed = 0, insufficient = 0;
    for (const auto& arm : report.arms) {
      if (!arm.treatment) continue;
      for (const auto& check : arm.checks) (check.status == fairness::CheckStatus::kPass ? passed : insufficient) += 1;
    }
    std::string reason = "simulated review of the governance audit: " + std::to_string(passed) + " treatment checks pass";
    if (insufficient > 0) reason += ", " + std::to_string(insufficient) + " without enough data";
    return std::optional<serving::Approval>(serving::Approval{"demo-reviewer", reason});
  };
  driver_options.audit.bootstrap = 50;
  // The reviewer's audit counts violations against the policy the screen enforces.
  driver_options.audit.policy_file = options.screen.policy_file;
  driver_options.audit.seed = options.seed;
  driver_options.before_analysis = [&pipeline_ptr] { return pipeline_ptr ? pipeline_ptr->Flush() : Status::Ok(); };
  driver_options.after_change = [&pipeline_ptr] { return pipeline_ptr ? pipeline_ptr->Refresh() : Status::Ok(); };
  ASSIGN_OR_RETURN(auto driver, serving::RolloutDriver::Open(options.db_path, config.name, world_config.start_ms, driver_options));
  DemoSummary summary;
  summary.resumed_lists = driver->rebuilt_lists();
  if (driver->rebuilt_lists() > 0) summary.resumed_step = driver->state().step + 1;
  RETURN_IF_ERROR(driver->Start("demo", "demo run: shadow phase before the ramp", world_config.start_ms));

  // The data plane: one serving pipeline. Models: one per arm (each learns only from its own
  // traffic, as in a clean A/B test) and the shadow model (learns from all feedback, never shown).
  std::vector<std::pair<std::string, std::string>> built;  // (kind, version) per arm, for the registry
  serving::PipelineSetup setup;
  setup.db_path = options.db_path;
  setup.experiments = {config.name};
  setup.catalog = catalog;
  if (blocklist) setup.filters.push_back(blocklist);
  setup.screen = screen;
  setup.factory = [&](const experiment::ExperimentConfig& c, int arm,
                      const std::string& model) -> StatusOr<std::unique_ptr<models::Recommender>> {
    const uint64_t seed = arm < 0 ? Mix64(options.seed + 991) : Mix64(options.seed + 17 * static_cast<uint64_t>(arm + 1));
    // An arm's options (fairness_constraint, epsilon) apply to the model serving it, not to the shadow model.
    const ModelOptions arm_options = arm >= 0 ? ArmModelOptions(c.arms[static_cast<size_t>(arm)]) : ModelOptions{};
    ASSIGN_OR_RETURN(auto m, MakeModel(model, catalog, books, world, seed, arm_options));
    if (options.scenario == "regression" && arm > 0) {
      const int64_t from_ms = world_config.start_ms + static_cast<int64_t>(0.4 * static_cast<double>(horizon_ms));
      m = std::make_unique<DegradingRecommender>(std::move(m), catalog, from_ms, Mix64(options.seed + 5));
    }
    if (arm >= 0) built.emplace_back(c.arms[static_cast<size_t>(arm)].model, m->version());
    return m;
  };
  serving::RolloutDriver* driver_ptr = driver.get();
  setup.on_list_complete = [driver_ptr](const serving::CompletedList& list) {
    driver_ptr->Record(list.arm_index, list.user, list.outcome, list.ts_ms);
  };
  serving::PipelineOptions pipeline_options;
  pipeline_options.shadow_queue = options.shadow_queue;
  pipeline_options.on_recommend = options.on_recommend;
  ASSIGN_OR_RETURN(auto pipeline, serving::ServingPipeline::Create(std::move(setup), pipeline_options));
  pipeline_ptr = pipeline.get();
  storage::ModelRegistry registry(*db);
  for (const auto& [kind, model_version] : built) {
    storage::ModelRecord record;
    record.name = kind;
    record.kind = kind;
    record.created_at_ms = now_ms;
    record.params_json = DumpJson(nlohmann::json{{"version", model_version}, {"seed", options.seed}});
    RETURN_IF_ERROR(registry.Register(record).status());
  }

  std::vector<ArmTally> arms;
  for (const auto& arm_config : config.arms) arms.emplace_back(arm_config.name, arm_config.model, catalog);
  Progress progress("demo", static_cast<uint64_t>(options.requests), "requests", clock);
  progress.set_enabled(options.progress);
  const double requests_per_day = std::max(1.0, static_cast<double>(options.requests) / options.days);

  summary.db = options.db_path;
  summary.experiment = config.name;
  summary.seed = options.seed;
  summary.shadow_model = config.shadow_model;
  summary.scenario = options.scenario;
  int64_t rolled_back_at_request = 0;

  std::vector<int32_t> items;
  for (int64_t r = 0; r < options.requests; ++r) {
    if (options.cancel && options.cancel->load()) {
      summary.cancelled = true;
      break;
    }
    const sim::Request req = world.NextRequest(requests_per_day);
    // Analyses due before this request; their decisions are durable and reach serving before it.
    ASSIGN_OR_RETURN(auto decisions, driver->Tick(req.ts_ms));
    for (const serving::DriverEvent& d : decisions) {
      if (d.kind == serving::DriverEvent::Kind::kAnalysis && d.analysis.action == experiment::Action::kRollback) {
        rolled_back_at_request = r + 1;
      }
    }
    event_clock.SetMillis(req.ts_ms);

    const sim::User& user = world.users()[req.user_index];
    ASSIGN_OR_RETURN(serving::ServeResponse served,
                     pipeline->Serve(SimServeRequest(user, req.ts_ms, options.list_size, config.name)));
    if (!served.in_experiment) ++summary.excluded;
    ArmTally& arm = arms[served.in_experiment ? static_cast<size_t>(served.arm_index) : 0];  // outside: control served

    // Simulated user response, position by position.
    items.clear();
    for (size_t p = 0; p < served.items.size(); ++p) {
      const serving::ServedItem& item = served.items[p];
      items.push_back(item.index);
      const int position = static_cast<int>(p) + 1;
      if (!world.SimulateClick(req.user_index, static_cast<size_t>(item.index), position)) continue;
      const int64_t click_ts = req.ts_ms + 1000 * position;
      RETURN_IF_ERROR(pipeline->RecordFeedback({served.request_id, click_ts, item.item_id, position, storage::FeedbackKind::kClick, 1.0}));
      arm.AddClick();
      if (world.SimulateConversion(static_cast<size_t>(item.index))) {
        RETURN_IF_ERROR(pipeline->RecordFeedback(
            {served.request_id, click_ts + 60000, item.item_id, position, storage::FeedbackKind::kConversion, 1.0}));
        arm.AddConversion();
      }
    }
    // The whole list's outcome is known: models learn it, the control loop counts it.
    RETURN_IF_ERROR(pipeline->CompleteList(served.request_id));

    arm.AddList(items, req.user_index, static_cast<double>(served.latency_us));
    progress.Update(static_cast<uint64_t>(r + 1));
  }
  RETURN_IF_ERROR(pipeline->Close());
  summary.shadow_dropped = static_cast<int64_t>(pipeline->stats().shadow_dropped);
  summary.screened = screen != nullptr;
  summary.safety_blocked = static_cast<int64_t>(pipeline->stats().safety_blocked);
  summary.safety_demoted = static_cast<int64_t>(pipeline->stats().safety_demoted);
  pipeline_ptr = nullptr;
  progress.Finish();

  // Exposure and diversity figures per arm: the governance audit's (fairness/audit.h) over the stored
  // exposures, so they are `steward audit`'s figures to the last digit. Lists served to users outside
  // the experiment are the audit's "excluded" side, not the first arm's.
  fairness::AuditOptions audit_options;
  audit_options.bootstrap = 0;
  audit_options.shadow = false;
  audit_options.computed_at_ms = event_clock.NowMillis();
  ASSIGN_OR_RETURN(const fairness::ExperimentAudit governance, fairness::AuditExperiment(*db, config, audit_options));
  for (const ArmTally& arm : arms) {
    ArmSummary s = arm.Finish();
    for (const fairness::ArmAudit& audited : governance.arms) {
      if (audited.name != s.name) continue;
      s.diversity_index = audited.metrics.at("diversity_index").value;
      s.gini = audited.metrics.at("gini").value;
      s.coverage = audited.metrics.at("coverage").value;
      s.provider_shares.clear();
      for (const char* tier : {"head", "mid", "tail"}) {
        const auto g = std::find(audited.item_groups.begin(), audited.item_groups.end(), tier);
        s.provider_shares.push_back(g == audited.item_groups.end() ? 0.0
                                                                    : audited.exposure_share[static_cast<size_t>(g - audited.item_groups.begin())].value);
      }
    }
    summary.requests += s.exposures;
    summary.conversions += s.conversions;
    summary.arms.push_back(s);
  }
  if (!config.shadow_model.empty()) {
    ASSIGN_OR_RETURN(shadow::ShadowReport report, shadow::BuildShadowReport(*db, config.name));
    if (!report.experiments.empty()) summary.shadow_overlap_at_k = report.experiments[0].overlap_at_10;
  }

  // Primary metrics, treatment vs control at user level, Holm-corrected across the metrics.
  const experiment::ExperimentMetrics& metrics = driver->metrics();
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
  ASSIGN_OR_RETURN(experiment::RolloutStatus status, controller.Status(config.name));
  outcome.state = experiment::RolloutStateName(status.state);
  outcome.step = status.step + 1;
  outcome.coverage = experiment::ServingCoverage(config, status);
  outcome.rolled_back_at = status.rolled_back_at_ms;
  outcome.rolled_back_at_request = rolled_back_at_request;
  outcome.reason = status.reason;
  outcome.analyses = status.analyses;
  if (!status.waiting_for_role.empty()) outcome.waiting_for_role = status.waiting_for_role;
  summary.experiments.push_back(outcome);

  // The story, stage by stage, read back from the database; and the reports it points to.
  if (!options.report_dir.empty()) {
    ASSIGN_OR_RETURN(shadow::ShadowReport shadow_report, shadow::BuildShadowReport(*db, config.name));
    if (!shadow_report.experiments.empty()) RETURN_IF_ERROR(shadow::WriteShadowReportFiles(shadow_report, options.report_dir + "/shadow"));
    fairness::AuditOptions report_options = driver_options.audit;
    report_options.computed_at_ms = event_clock.NowMillis();
    report_options.excluded_arm = serving::kExcludedArm;
    ASSIGN_OR_RETURN(const fairness::ExperimentAudit final_audit, fairness::AuditExperiment(*db, config, report_options));
    RETURN_IF_ERROR(fairness::WriteAuditFiles({final_audit}, report_options, options.report_dir + "/audit"));
  }
  DemoStoryInputs story;
  story.db = options.db_path;
  story.report_dir = options.report_dir;
  story.start_ms = world_config.start_ms;
  story.end_ms = world.now_ms();
  ASSIGN_OR_RETURN(summary.stages, ReadDemoStory(*db, config, *catalog, story));

  // Read the outcome back from the database rather than trusting the counters.
  ASSIGN_OR_RETURN(storage::Totals totals, storage::QueryTotals(*db));
  summary.exposures = totals.exposures;
  summary.clicks = totals.clicks;
  summary.seconds = static_cast<double>(clock.MonotonicNanos() - started_ns) / 1e9;
  nlohmann::json finish = nlohmann::json::parse(DemoSummaryJson(summary));
  finish["wall_time_ms"] = clock.NowMillis();
  event_clock.SetMillis(std::max(event_clock.NowMillis(), world.now_ms()));  // the last request's event time
  RETURN_IF_ERROR(audit.Append({0, event_clock.NowMillis(), "demo", storage::AuditActionName(storage::AuditAction::kDemoFinish), config.name,
                                summary.cancelled ? "run cancelled" : "run completed", DumpJson(finish)})
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
                           {"analyses", e.analyses},
                           {"waiting_for_role", e.waiting_for_role.empty() ? nlohmann::json(nullptr) : nlohmann::json(e.waiting_for_role)}});
  }
  nlohmann::json j = {{"requests", s.requests},   {"exposures", s.exposures}, {"clicks", s.clicks},
                      {"conversions", s.conversions}, {"db", s.db},          {"experiment", s.experiment},
                      {"seed", s.seed},           {"excluded", s.excluded},  {"arms", arms}, {"feedback_rejected", s.feedback_rejected}, {"failovers", s.failovers},
                      {"seconds", s.seconds},     {"cancelled", s.cancelled}, {"experiments", experiments},
                      {"scenario", s.scenario.empty() ? nlohmann::json(nullptr) : nlohmann::json(s.scenario)},
                      {"primary_p_values_holm", s.primary_p_values},
                      {"resumed", {{"lists", s.resumed_lists}, {"step", s.resumed_step}}}};
  if (!s.shadow_model.empty()) {
    j["shadow"] = {{"model", s.shadow_model}, {"overlap_at_10", s.shadow_overlap_at_k}, {"dropped", s.shadow_dropped}};
  }
  if (s.screened) {
    j["safety"] = {{"blocked", s.safety_blocked}, {"demoted", s.safety_demoted}};
  }
  nlohmann::json stages = nlohmann::json::array();
  for (const DemoStage& stage : s.stages) {
    stages.push_back({{"name", stage.name}, {"status", stage.status}, {"from_ms", stage.from_ms}, {"until_ms", stage.until_ms},
                      {"lines", stage.lines}, {"look", stage.look}});
  }
  j["stages"] = stages;
  return DumpJson(j);
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
  if (s.screened) {
    std::snprintf(line, sizeof line,
                  "  safety screen: %lld candidates refused before ranking, %lld served items demoted for their risk "
                  "(each list's record: steward audit sample)\n",
                  static_cast<long long>(s.safety_blocked), static_cast<long long>(s.safety_demoted));
    out << line;
  }
  for (const ExperimentOutcome& e : s.experiments) {
    std::snprintf(line, sizeof line, "  rollout: %s at step %d (coverage %.2f) after %lld analyses: %s\n", e.state.c_str(),
                  e.step, e.coverage, static_cast<long long>(e.analyses), e.reason.c_str());
    out << line;
  }
  out << (s.db.rfind("http://", 0) == 0 ? "  server " : "  database ") << s.db << ": " << s.exposures << " exposures, " << s.clicks << " clicks logged\n";
  if (!s.stages.empty()) out << "What happened, stage by stage (read back from the database):\n" << DemoStoryText(s.stages);
  return out.str();
}

}  // namespace steward::app
