#include "serving/pipeline.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <deque>
#include <nlohmann/json.hpp>
#include <unordered_map>

#include "common/clock.h"
#include "common/json.h"
#include "common/log.h"
#include "common/rng.h"
#include "experiment/assigner.h"
#include "experiment/sticky.h"
#include "safety/screen.h"
#include "serving/controller.h"
#include "serving/user_id.h"
#include "shadow/runner.h"
#include "storage/database.h"
#include "storage/event_writer.h"
#include "storage/experiment_store.h"
#include "storage/queries.h"
#include "storage/rollout_store.h"

namespace steward::serving {
namespace {

using experiment::ExperimentConfig;
using experiment::RolloutState;

constexpr size_t kShards = 64;
std::atomic<uint64_t> g_next_pipeline_id{1};

int64_t MonotonicNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

struct ModelSlot {
  std::mutex mu;
  std::unique_ptr<models::Recommender> model;
};

struct ExperimentSlot {
  ExperimentConfig config;  // the control thread's copy (under control_mu); servers read the snapshot's
  int64_t version = 0;
  std::vector<std::unique_ptr<ModelSlot>> arms;
  std::unique_ptr<shadow::ShadowRunner> shadow;
  std::mutex sticky_mu;
  std::unique_ptr<experiment::StickyAssigner> sticky;  // only when config.sticky
};

// The control state every serving thread reads; immutable once published.
struct ControlState {
  RolloutState state = RolloutState::kDraft;
  double coverage = 0.0;
  std::shared_ptr<const ExperimentConfig> config;
  std::shared_ptr<const experiment::Assigner> assigner;
};
struct Snapshot {
  bool killed = false;
  std::vector<ControlState> experiments;
};

struct OpenList {
  int64_t ts_ms = 0;
  int64_t user = 0;
  int experiment = -1;
  int arm = -1;
  ModelSlot* model = nullptr;
  shadow::ShadowRunner* shadow = nullptr;
  std::vector<int32_t> items;  // catalog indices
  std::vector<char> clicked, converted;
  int64_t latency_us = 0;
};

struct alignas(64) JoinShard {
  std::mutex mu;
  std::unordered_map<int64_t, OpenList> lists;
  std::deque<std::pair<int64_t, int64_t>> order;  // (ts_ms, request_id) in serving order; may hold completed ids
  uint64_t served = 0, excluded = 0, screened_out = 0;  // under mu (no shared counter on the hot path)
  uint64_t safety_blocked = 0, safety_demoted = 0;
};

// The attributes an exposure records: only the keys the experiment declares, as a JSON object;
// "" when it declares none.
std::string RecordedAttributes(const ExperimentConfig& config, const std::vector<std::pair<std::string, std::string>>& sent) {
  if (config.attributes.empty()) return "";
  nlohmann::json attributes = nlohmann::json::object();
  for (const auto& [key, value] : sent) {
    if (std::find(config.attributes.begin(), config.attributes.end(), key) != config.attributes.end()) attributes[key] = value;
  }
  return DumpJson(attributes);
}

// Spreads request ids (consecutive within a thread's block) over the shards.
size_t ShardOf(int64_t request_id) { return static_cast<size_t>(Mix64(static_cast<uint64_t>(request_id)) % kShards); }

struct alignas(64) HistoryShard {
  std::mutex mu;
  std::unordered_map<int64_t, std::vector<int32_t>> users;
};

// Per-thread caches, keyed by the pipeline's id (never reused), so a thread serving several
// pipelines stays correct.
struct ThreadCache {
  uint64_t pipeline = 0;
  uint64_t generation = 0;
  std::shared_ptr<const Snapshot> snapshot;
  int64_t next_id = 0, end_id = 0;
};
thread_local ThreadCache t_cache;

}  // namespace

struct ServingPipeline::Impl {
  PipelineOptions options;
  std::shared_ptr<const models::Catalog> catalog;
  std::vector<std::shared_ptr<const models::CandidateFilter>> filters;
  std::shared_ptr<safety::SafetyScreen> screen;
  std::function<void(const CompletedList&)> on_list_complete;
  ModelFactory factory;
  uint64_t id = g_next_pipeline_id.fetch_add(1);

  std::vector<std::unique_ptr<ExperimentSlot>> experiments;
  std::unique_ptr<ModelSlot> default_model;

  // Control plane: one connection, used under control_mu by the watcher, Refresh and id blocks.
  std::mutex control_mu;
  std::unique_ptr<storage::Database> control_db;
  // The events' database when the control plane is elsewhere (PostgreSQL): the exposure lookups of
  // the feedback join read it, under control_mu too. Null: control_db holds the events.
  std::unique_ptr<storage::Database> events_db;
  storage::Database& events() { return events_db ? *events_db : *control_db; }
  int64_t data_version = -1;
  std::unique_ptr<storage::EventWriter> writer;

  std::mutex snapshot_mu;
  std::shared_ptr<const Snapshot> snapshot;
  std::atomic<uint64_t> generation{1};

  std::atomic<int64_t> local_ids{1};  // without a database

  std::array<JoinShard, kShards> join;
  std::array<HistoryShard, kShards> history;
  std::unordered_map<int64_t, int32_t> item_index;  // catalog item id -> index; built once in Create
  std::atomic<uint64_t> external_exposures{0};

  std::thread watcher;
  std::mutex watcher_mu;
  std::condition_variable watcher_cv;
  bool stopping = false;
  std::atomic<bool> closed{false};

  std::atomic<uint64_t> shadow_dropped{0};  // of shadow runners already stopped
  std::atomic<uint64_t> feedback{0}, feedback_from_store{0},
      feedback_rejected{0}, refreshes{0}, control_changes{0};

  const Snapshot& CurrentSnapshot() {
    const uint64_t g = generation.load(std::memory_order_acquire);
    if (t_cache.pipeline != id || t_cache.generation != g) {
      std::lock_guard lock(snapshot_mu);
      t_cache.snapshot = snapshot;
      t_cache.generation = generation.load(std::memory_order_acquire);
      if (t_cache.pipeline != id) {
        t_cache.next_id = t_cache.end_id = 0;
        t_cache.pipeline = id;
      }
    }
    return *t_cache.snapshot;
  }

  void Publish(std::shared_ptr<const Snapshot> next) {
    std::lock_guard lock(snapshot_mu);
    snapshot = std::move(next);
    generation.fetch_add(1, std::memory_order_acq_rel);
  }

  StatusOr<int64_t> NextRequestId() {
    if (!control_db) return local_ids.fetch_add(1);
    CurrentSnapshot();  // binds the thread cache to this pipeline
    if (t_cache.next_id >= t_cache.end_id) {
      std::lock_guard lock(control_mu);
      ASSIGN_OR_RETURN(int64_t first, storage::ReserveIds(*control_db, "request_id", options.request_id_block));
      t_cache.next_id = first;
      t_cache.end_id = first + options.request_id_block;
    }
    return t_cache.next_id++;
  }

  StatusOr<int> FindExperiment(const std::string& name) const {
    if (name.empty()) return experiments.empty() ? -1 : 0;
    for (size_t i = 0; i < experiments.size(); ++i) {
      if (experiments[i]->config.name == name) return static_cast<int>(i);
    }
    return NotFound("experiment '" + name + "' is not served here");
  }

  bool Allowed(const models::RecommendRequest& request, int32_t item) const {
    for (const auto& f : filters) {
      if (!f->Allow(request, item)) return false;
    }
    return true;
  }

  // Assignment against the current control state. `arm` is -1 outside the experiment.
  experiment::Assignment AssignUser(int e, const ControlState& control, const std::string& user_key) {
    if (control.config->sticky) {
      ExperimentSlot& slot = *experiments[static_cast<size_t>(e)];
      std::lock_guard lock(slot.sticky_mu);
      if (slot.sticky) return slot.sticky->Assign(user_key);
    }
    return control.assigner->Assign(user_key);
  }

  std::vector<int32_t> HistoryOf(int64_t user) {
    HistoryShard& shard = history[static_cast<uint64_t>(user) % kShards];
    std::lock_guard lock(shard.mu);
    auto it = shard.users.find(user);
    return it == shard.users.end() ? std::vector<int32_t>() : it->second;
  }

  // Appends a clicked item; returns the history before it.
  std::vector<int32_t> AppendHistory(int64_t user, int32_t item) {
    HistoryShard& shard = history[static_cast<uint64_t>(user) % kShards];
    std::lock_guard lock(shard.mu);
    std::vector<int32_t>& h = shard.users[user];
    std::vector<int32_t> before = h;
    h.push_back(item);
    if (h.size() > options.history_limit) h.erase(h.begin(), h.begin() + static_cast<std::ptrdiff_t>(h.size() - options.history_limit));
    return before;
  }

  // Models learn the list's outcome; the control loop counts it.
  void Complete(int64_t request_id, OpenList list) {
    const models::ListFeedback outcome{request_id, list.user, list.ts_ms, list.items, list.clicked};
    if (list.model) {  // null for an external exposure: no Steward model served it
      std::lock_guard lock(list.model->mu);
      list.model->model->ObserveList(outcome);
    }
    if (list.shadow) list.shadow->SubmitListFeedback(outcome);
    if (on_list_complete) {
      CompletedList done;
      done.request_id = request_id;
      done.ts_ms = list.ts_ms;
      done.user = list.user;
      done.experiment_index = list.experiment;
      done.arm_index = list.arm;
      done.outcome.clicks = static_cast<double>(std::count(list.clicked.begin(), list.clicked.end(), 1));
      done.outcome.conversions = static_cast<double>(std::count(list.converted.begin(), list.converted.end(), 1));
      done.outcome.latency_ms = static_cast<double>(list.latency_us) / 1000.0;
      on_list_complete(done);
    }
  }

  // Removes and completes lists from the front of a shard while `expired` says so.
  template <typename Pred>
  void Evict(JoinShard& shard, Pred expired) {
    std::vector<std::pair<int64_t, OpenList>> done;
    {
      std::lock_guard lock(shard.mu);
      while (!shard.order.empty()) {
        const auto [ts, request_id] = shard.order.front();
        auto it = shard.lists.find(request_id);
        if (it == shard.lists.end()) {
          shard.order.pop_front();  // completed explicitly
          continue;
        }
        if (!expired(ts, shard.lists.size())) break;
        done.emplace_back(request_id, std::move(it->second));
        shard.lists.erase(it);
        shard.order.pop_front();
      }
    }
    for (auto& [request_id, list] : done) Complete(request_id, std::move(list));
  }

  Status ApplyControl();
  void WatchLoop();
};

ServingPipeline::ServingPipeline(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

ServingPipeline::~ServingPipeline() {
  Status s = Close();
  if (!s.ok()) STEWARD_LOG(kError) << "serving pipeline: " << s.ToString();
}

StatusOr<std::unique_ptr<ServingPipeline>> ServingPipeline::Create(PipelineSetup setup, PipelineOptions options) {
  if (!setup.catalog || setup.catalog->items.empty()) return InvalidArgument("the serving pipeline needs a catalog with items");
  if (!setup.factory && !setup.experiments.empty()) return InvalidArgument("the serving pipeline needs a model factory");
  if (options.request_id_block < 1) return InvalidArgument("request_id_block must be at least 1");
  if (options.join_window_lists < 1) return InvalidArgument("join_window_lists must be at least 1");
  if (options.writer_queue < 1) return InvalidArgument("writer_queue must be at least 1");
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  impl->catalog = setup.catalog;
  impl->item_index.reserve(impl->catalog->items.size());
  for (size_t i = 0; i < impl->catalog->items.size(); ++i) impl->item_index.emplace(impl->catalog->items[i].id, static_cast<int32_t>(i));
  impl->filters = setup.filters;
  impl->screen = setup.screen;
  if (impl->screen) impl->filters.push_back(impl->screen);
  impl->on_list_complete = setup.on_list_complete;
  impl->factory = setup.factory;

  std::vector<ExperimentConfig> configs;
  std::vector<int64_t> versions;
  if (!setup.db_path.empty()) {
    ASSIGN_OR_RETURN(impl->control_db, storage::Database::Open(setup.control_db.empty() ? setup.db_path : setup.control_db));
    if (!setup.control_db.empty() && setup.control_db != setup.db_path) {
      ASSIGN_OR_RETURN(impl->events_db, storage::Database::Open(setup.db_path));
    }
    ManualClock clock(0);  // reads only
    RolloutController controller(*impl->control_db, clock);
    storage::ExperimentStore store(*impl->control_db);
    for (const std::string& name : setup.experiments) {
      ASSIGN_OR_RETURN(ExperimentConfig config, controller.Config(name));
      ASSIGN_OR_RETURN(storage::ExperimentRecord record, store.Get(name));
      configs.push_back(std::move(config));
      versions.push_back(record.current_version);
    }
  } else {
    if (setup.configs.size() != setup.experiments.size()) {
      return InvalidArgument("without a database, give each served experiment's definition");
    }
    configs = setup.configs;
    versions.assign(configs.size(), 0);
  }

  if (impl->control_db) {
    storage::EventWriterOptions writer_options;
    writer_options.queue_capacity = options.writer_queue;
    ASSIGN_OR_RETURN(impl->writer, storage::EventWriter::Start(setup.db_path, writer_options));
  }
  for (size_t e = 0; e < configs.size(); ++e) {
    auto slot = std::make_unique<ExperimentSlot>();
    slot->config = configs[e];
    slot->version = versions[e];
    for (size_t a = 0; a < slot->config.arms.size(); ++a) {
      auto model = std::make_unique<ModelSlot>();
      ASSIGN_OR_RETURN(model->model, setup.factory(slot->config, static_cast<int>(a), slot->config.arms[a].model));
      for (const auto& f : impl->filters) model->model->AddFilter(f);
      slot->arms.push_back(std::move(model));
    }
    if (!slot->config.shadow_model.empty()) {
      ASSIGN_OR_RETURN(auto shadow_model, setup.factory(slot->config, -1, slot->config.shadow_model));
      for (const auto& f : impl->filters) shadow_model->AddFilter(f);
      shadow::ShadowRunnerOptions runner_options;
      runner_options.queue_capacity = options.shadow_queue;
      storage::EventWriter* sink = impl->writer.get();
      auto catalog = impl->catalog;
      slot->shadow = std::make_unique<shadow::ShadowRunner>(
          std::move(shadow_model), runner_options, [sink, catalog, name = slot->config.name](shadow::ShadowResult r) {
            if (!sink) return;
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
    if (slot->config.sticky) {
      std::vector<std::pair<std::string, int>> existing;
      if (impl->control_db) {
        storage::RolloutStore store(*impl->control_db);
        ASSIGN_OR_RETURN(existing, store.LoadSticky(slot->config.name, slot->config.bucket_version));
      }
      slot->sticky = std::make_unique<experiment::StickyAssigner>(experiment::Assigner(slot->config), std::move(existing));
    }
    impl->experiments.push_back(std::move(slot));
  }
  if (setup.default_model) {
    impl->default_model = std::make_unique<ModelSlot>();
    impl->default_model->model = std::move(setup.default_model);
    for (const auto& f : impl->filters) impl->default_model->model->AddFilter(f);
  } else if (impl->experiments.empty()) {
    return InvalidArgument("the serving pipeline needs an experiment or a default model");
  }

  std::unique_ptr<ServingPipeline> pipeline(new ServingPipeline(std::move(impl)));
  Impl& p = *pipeline->impl_;
  if (p.control_db) {
    RETURN_IF_ERROR(pipeline->Refresh());
    if (p.options.control_poll_ms > 0) p.watcher = std::thread([&p] { p.WatchLoop(); });
  } else {
    auto snap = std::make_shared<Snapshot>();
    for (const auto& slot : p.experiments) {
      ControlState c;
      c.state = RolloutState::kRamping;
      c.coverage = slot->config.coverage;
      c.config = std::make_shared<const ExperimentConfig>(slot->config);
      c.assigner = std::make_shared<experiment::Assigner>(slot->config);
      snap->experiments.push_back(std::move(c));
    }
    p.Publish(std::move(snap));
  }
  return pipeline;
}

Status ServingPipeline::Impl::ApplyControl() {
  // Caller holds control_mu.
  refreshes.fetch_add(1, std::memory_order_relaxed);
  ManualClock clock(0);  // reads only
  RolloutController controller(*control_db, clock);
  storage::ExperimentStore store(*control_db);
  ASSIGN_OR_RETURN(bool killed, controller.KillSwitch());
  auto next = std::make_shared<Snapshot>();
  next->killed = killed;
  bool changed = !snapshot || snapshot->killed != killed;
  for (size_t e = 0; e < experiments.size(); ++e) {
    ExperimentSlot& slot = *experiments[e];
    ASSIGN_OR_RETURN(storage::ExperimentRecord record, store.Get(slot.config.name));
    if (record.current_version != slot.version) {
      // A new version: adopt it when the same arms and models serve it (weights, coverage, ramp,
      // guardrails may change); a version that changes models needs a new pipeline.
      ASSIGN_OR_RETURN(ExperimentConfig config, controller.Config(slot.config.name));
      bool same_models = config.arms.size() == slot.config.arms.size() && config.shadow_model == slot.config.shadow_model;
      for (size_t a = 0; same_models && a < config.arms.size(); ++a) {
        same_models = config.arms[a].name == slot.config.arms[a].name && config.arms[a].model == slot.config.arms[a].model;
      }
      if (same_models) {
        slot.config = std::move(config);
        if (slot.sticky) {
          std::lock_guard lock(slot.sticky_mu);
          storage::RolloutStore rollouts(*control_db);
          ASSIGN_OR_RETURN(auto existing, rollouts.LoadSticky(slot.config.name, slot.config.bucket_version));
          slot.sticky = std::make_unique<experiment::StickyAssigner>(experiment::Assigner(slot.config), std::move(existing));
        }
        changed = true;
      } else {
        STEWARD_LOG(kWarn) << "experiment '" << slot.config.name << "' version " << record.current_version
                           << " changes its models; this pipeline keeps serving version " << slot.version
                           << " until it is restarted";
      }
      slot.version = record.current_version;
    }
    auto loaded = controller.Status(slot.config.name);
    experiment::RolloutStatus status;
    if (loaded.ok()) {
      status = *loaded;
    } else if (loaded.status().code() == StatusCode::kDataLoss) {
      // A state that is not the audit chain's is not served: everyone gets control.
      STEWARD_LOG(kError) << "serving control only for '" << slot.config.name << "': " << loaded.status().message();
      status.state = RolloutState::kStopped;
    } else {
      return loaded.status();
    }
    ControlState c;
    c.state = status.state;
    c.coverage = killed ? 0.0 : experiment::ServingCoverage(slot.config, status);
    const ControlState* old = snapshot && e < snapshot->experiments.size() ? &snapshot->experiments[e] : nullptr;
    if (old && !changed && old->state == c.state && old->coverage == c.coverage) {
      c.config = old->config;
      c.assigner = old->assigner;
    } else {
      c.config = std::make_shared<const ExperimentConfig>(slot.config);
      auto assigner = std::make_shared<experiment::Assigner>(slot.config);
      assigner->SetCoverage(c.coverage);
      c.assigner = std::move(assigner);
      changed = true;
    }
    if (slot.sticky) {
      std::lock_guard lock(slot.sticky_mu);
      slot.sticky->assigner().SetCoverage(c.coverage);
      storage::RolloutStore rollouts(*control_db);
      RETURN_IF_ERROR(rollouts.SaveSticky(slot.config.name, slot.config.bucket_version, slot.sticky->TakePending()));
    }
    next->experiments.push_back(std::move(c));
  }
  if (changed) {
    control_changes.fetch_add(1, std::memory_order_relaxed);
    Publish(std::move(next));
  }
  return Status::Ok();
}

void ServingPipeline::Impl::WatchLoop() {
  std::unique_lock lock(watcher_mu);
  while (!stopping) {
    watcher_cv.wait_for(lock, std::chrono::milliseconds(options.control_poll_ms));
    if (stopping) break;
    lock.unlock();
    {
      std::lock_guard control(control_mu);
      auto version = storage::DataVersion(*control_db);
      Status s = version.status();
      if (version.ok() && *version != data_version) {
        data_version = *version;
        s = ApplyControl();
      }
      if (!s.ok()) STEWARD_LOG(kWarn) << "serving pipeline: control refresh failed (serving goes on with the last state): " << s.ToString();
    }
    lock.lock();
  }
}

Status ServingPipeline::Refresh() {
  Impl& p = *impl_;
  if (!p.control_db) return Status::Ok();
  std::lock_guard lock(p.control_mu);
  ASSIGN_OR_RETURN(p.data_version, storage::DataVersion(*p.control_db));
  return p.ApplyControl();
}

StatusOr<AssignResponse> ServingPipeline::Assign(const std::string& user_id, const std::string& experiment_name) {
  Impl& p = *impl_;
  RETURN_IF_ERROR(ValidateUserId(user_id));
  ASSIGN_OR_RETURN(int e, p.FindExperiment(experiment_name));
  if (e < 0) return NotFound("no experiment is served here");
  const Snapshot& snap = p.CurrentSnapshot();
  const ControlState& control = snap.experiments[static_cast<size_t>(e)];
  const experiment::Assignment a = p.AssignUser(e, control, user_id);
  const ExperimentConfig& config = *control.config;
  AssignResponse out;
  out.experiment = config.name;
  out.in_experiment = a.in_experiment;
  out.arm_index = a.in_experiment ? a.arm_index : -1;
  out.arm = a.in_experiment ? config.arms[static_cast<size_t>(a.arm_index)].name : kExcludedArm;
  out.hash = a.hash;
  out.coverage = control.coverage;
  out.state = control.state;
  return out;
}

StatusOr<ServeResponse> ServingPipeline::Serve(const ServeRequest& request) {
  Impl& p = *impl_;
  RETURN_IF_ERROR(ValidateUserId(request.user_id));
  if (request.k < 1 || request.k > 100) return InvalidArgument("k must be between 1 and 100, got " + std::to_string(request.k));
  if (request.ts_ms < 0) return InvalidArgument("ts_ms must not be negative");
  ASSIGN_OR_RETURN(int e, p.FindExperiment(request.experiment));

  ServeResponse out;
  out.user = InternalUserId(request.user_id);
  ModelSlot* model = p.default_model.get();
  shadow::ShadowRunner* shadow = nullptr;
  const ExperimentConfig* config = nullptr;
  if (e >= 0) {
    ExperimentSlot& slot = *p.experiments[static_cast<size_t>(e)];
    const Snapshot& snap = p.CurrentSnapshot();
    const ControlState& control = snap.experiments[static_cast<size_t>(e)];
    config = control.config.get();
    const experiment::Assignment a = p.AssignUser(e, control, request.user_id);
    out.experiment = config->name;
    out.in_experiment = a.in_experiment;
    out.arm_index = a.in_experiment ? a.arm_index : -1;
    out.arm = a.in_experiment ? config->arms[static_cast<size_t>(a.arm_index)].name : kExcludedArm;
    model = slot.arms[a.in_experiment ? static_cast<size_t>(a.arm_index) : 0].get();  // outside: the control arm serves
    shadow = slot.shadow.get();
  } else {
    out.arm = kDefaultArm;
  }
  ASSIGN_OR_RETURN(out.request_id, p.NextRequestId());

  const std::vector<int32_t> history = p.HistoryOf(out.user);
  models::RecommendRequest rq;
  rq.request_id = out.request_id;
  rq.user_id = out.user;
  rq.ts_ms = request.ts_ms;
  rq.history = history;
  rq.k = request.k;
  rq.user_group = request.user_group;
  rq.new_user = request.new_user;
  rq.activity = request.activity;
  rq.attributes = request.attributes;
  std::vector<models::FilterDecision> decisions;  // the safety screen's, for the exposure record
  int decisions_dropped = 0;
  if (p.screen) {
    rq.decisions = &decisions;
    rq.decisions_dropped = &decisions_dropped;
  }
  models::Recommendation rec;
  {
    std::lock_guard lock(model->mu);
    // The event-time tick (a retrained model swapped in, the next retrain started) is not part of
    // the request's latency, as in the shadow runner: in accelerated simulation a tick can wait
    // for a retrain that real time would have finished long before (the demo's treatment showed
    // hourly p99s over a second from it), and the guardrail would compare the simulator's speed.
    model->model->AdvanceTo(request.ts_ms);
    const int64_t t0 = MonotonicNanos();
    if (p.options.on_recommend) p.options.on_recommend(rq);
    rec = model->model->Recommend(rq);
    out.latency_us = (MonotonicNanos() - t0) / 1000;
    out.model_version = model->model->version();
  }
  if (shadow) shadow->SubmitRequest(rq);  // a copy of the same inputs; never blocks
  if (p.screen) {
    out.safety_blocked = static_cast<int>(decisions.size()) + decisions_dropped;
    out.safety_demoted = p.screen->Demote(rec.items, &decisions);
  }

  // The safety screen checks what the model returned (models apply the filters themselves; this
  // catches one that does not).
  OpenList list;
  list.ts_ms = request.ts_ms;
  list.user = out.user;
  list.experiment = e;
  list.arm = out.arm_index;
  list.model = model;
  list.shadow = shadow;
  list.latency_us = out.latency_us;
  for (const models::ScoredItem& s : rec.items) {
    if (s.item < 0 || static_cast<size_t>(s.item) >= p.catalog->items.size() || !p.Allowed(rq, s.item)) {
      ++out.screened_out;
      continue;
    }
    out.items.push_back({s.item, p.catalog->items[static_cast<size_t>(s.item)].id, s.score, s.propensity});
    list.items.push_back(s.item);
  }
  list.clicked.assign(list.items.size(), 0);
  list.converted.assign(list.items.size(), 0);
  if (p.screen) p.screen->NoteServed(out.user, list.items, request.ts_ms);

  if (p.writer) {
    storage::Exposure exposure;
    exposure.request_id = out.request_id;
    exposure.ts_ms = request.ts_ms;
    exposure.user_id = out.user;
    exposure.user_key = request.user_id;
    if (config) exposure.attributes = RecordedAttributes(*config, request.attributes);
    exposure.experiment = out.experiment;
    exposure.arm = out.arm;
    exposure.model_version = out.model_version;
    exposure.latency_us = static_cast<int32_t>(std::min<int64_t>(out.latency_us, INT32_MAX));
    for (const ServedItem& s : out.items) exposure.served.push_back({s.item_id, s.propensity});
    if (p.screen) exposure.safety = p.screen->RecordJson(list.items, decisions, decisions_dropped);
    exposure.evidence = std::move(rec.evidence);
    auto submitted = p.writer->Submit(std::move(exposure));
    if (!submitted.ok()) return submitted.status().WithContext("logging request " + std::to_string(out.request_id));
  }

  JoinShard& shard = p.join[ShardOf(out.request_id)];
  const size_t per_shard = std::max<size_t>(1, p.options.join_window_lists / kShards);
  bool full;
  {
    std::lock_guard lock(shard.mu);
    shard.order.emplace_back(request.ts_ms, out.request_id);
    shard.lists.emplace(out.request_id, std::move(list));
    ++shard.served;
    if (!out.in_experiment) ++shard.excluded;
    shard.screened_out += static_cast<uint64_t>(out.screened_out);
    shard.safety_blocked += static_cast<uint64_t>(out.safety_blocked);
    shard.safety_demoted += static_cast<uint64_t>(out.safety_demoted);
    full = shard.lists.size() > per_shard;
  }
  if (full) p.Evict(shard, [per_shard](int64_t, size_t open) { return open > per_shard; });
  return out;
}

Status ServingPipeline::RecordFeedback(const FeedbackEvent& event) {
  Impl& p = *impl_;
  if (event.kind != storage::FeedbackKind::kClick && event.kind != storage::FeedbackKind::kConversion &&
      event.kind != storage::FeedbackKind::kDwell) {
    return InvalidArgument("kind must be click, conversion or dwell");
  }
  if (event.position < 0 || event.position > 100) return InvalidArgument("position must be between 1 and 100 (0: find the item)");
  size_t pos = event.position > 0 ? static_cast<size_t>(event.position - 1) : 0;
  // position 0: the item's first position in the served list (the HTTP API's clicks carry no position).
  auto locate = [&](const auto& ids) -> bool {
    for (size_t i = 0; i < ids.size(); ++i) {
      if (ids[i] == event.item_id) {
        pos = i;
        return true;
      }
    }
    return false;
  };
  int64_t user = 0;
  int32_t item_index = -1;
  ModelSlot* model = nullptr;
  shadow::ShadowRunner* shadow = nullptr;
  bool learn = false;
  bool in_memory = false;
  {
    JoinShard& shard = p.join[ShardOf(event.request_id)];
    std::lock_guard lock(shard.mu);
    auto it = shard.lists.find(event.request_id);
    if (it != shard.lists.end()) {
      OpenList& list = it->second;
      in_memory = true;
      if (event.position == 0) {
        std::vector<int64_t> ids;
        ids.reserve(list.items.size());
        for (int32_t index : list.items) ids.push_back(p.catalog->items[static_cast<size_t>(index)].id);
        if (!locate(ids)) {
          p.feedback_rejected.fetch_add(1, std::memory_order_relaxed);
          return InvalidArgument("item_id " + std::to_string(event.item_id) + " was not served in request " +
                                 std::to_string(event.request_id));
        }
      }
      if (pos >= list.items.size()) {
        p.feedback_rejected.fetch_add(1, std::memory_order_relaxed);
        return InvalidArgument("position " + std::to_string(event.position) + " is outside the served list of request " +
                               std::to_string(event.request_id) + " (" + std::to_string(list.items.size()) + " items)");
      }
      item_index = list.items[pos];
      if (p.catalog->items[static_cast<size_t>(item_index)].id != event.item_id) {
        p.feedback_rejected.fetch_add(1, std::memory_order_relaxed);
        return InvalidArgument("item " + std::to_string(event.item_id) + " was not served at position " +
                               std::to_string(pos + 1) + " of request " + std::to_string(event.request_id));
      }
      if (event.kind == storage::FeedbackKind::kClick) {
        if (list.clicked[pos]) {
          p.feedback_rejected.fetch_add(1, std::memory_order_relaxed);
          return AlreadyExists("position " + std::to_string(pos + 1) + " of request " + std::to_string(event.request_id) +
                               " is already clicked");
        }
        list.clicked[pos] = 1;
        learn = list.model != nullptr;  // an external exposure has no Steward model to learn
      } else if (event.kind == storage::FeedbackKind::kConversion) {
        if (list.converted[pos]) {
          p.feedback_rejected.fetch_add(1, std::memory_order_relaxed);
          return AlreadyExists("position " + std::to_string(pos + 1) + " of request " + std::to_string(event.request_id) +
                               " already converted");
        }
        list.converted[pos] = 1;
      }
      user = list.user;
      model = list.model;
      shadow = list.shadow;
    }
  }
  if (!in_memory) {
    // The list left memory: join against the stored exposure (committed events only).
    std::optional<storage::StoredExposure> stored;
    if (p.control_db) {
      RETURN_IF_ERROR(p.writer->Flush());
      std::lock_guard lock(p.control_mu);
      ASSIGN_OR_RETURN(stored, storage::FindExposure(p.events(), event.request_id));
    }
    if (!stored) {
      p.feedback_rejected.fetch_add(1, std::memory_order_relaxed);
      return NotFound("no served list has request id " + std::to_string(event.request_id));
    }
    if (event.position == 0 && !locate(stored->items)) {
      p.feedback_rejected.fetch_add(1, std::memory_order_relaxed);
      return InvalidArgument("item_id " + std::to_string(event.item_id) + " was not served in request " +
                             std::to_string(event.request_id));
    }
    if (pos >= stored->items.size() || stored->items[pos] != event.item_id) {
      p.feedback_rejected.fetch_add(1, std::memory_order_relaxed);
      return InvalidArgument("item " + std::to_string(event.item_id) + " was not served at position " +
                             std::to_string(pos + 1) + " of request " + std::to_string(event.request_id));
    }
    // A click or conversion is logged once per position, also once the list left memory (a client
    // resending a batch after a lost response, a restart).
    if (event.kind != storage::FeedbackKind::kDwell) {
      std::lock_guard lock(p.control_mu);
      ASSIGN_OR_RETURN(bool seen, storage::FeedbackExists(p.events(), event.request_id, static_cast<int32_t>(pos + 1), event.kind));
      if (seen) {
        p.feedback_rejected.fetch_add(1, std::memory_order_relaxed);
        return AlreadyExists("position " + std::to_string(pos + 1) + " of request " + std::to_string(event.request_id) + " already has a " +
                             (event.kind == storage::FeedbackKind::kClick ? "click" : "conversion"));
      }
    }
    user = stored->user_id;
    // Feed the model that served it, when this pipeline serves that experiment and arm.
    const Snapshot& snap = p.CurrentSnapshot();
    for (size_t e = 0; e < p.experiments.size(); ++e) {
      const ExperimentConfig& config = *snap.experiments[e].config;
      if (config.name != stored->experiment) continue;
      for (size_t a = 0; a < config.arms.size(); ++a) {
        if (config.arms[a].name == stored->arm || (a == 0 && stored->arm == kExcludedArm)) model = p.experiments[e]->arms[a].get();
      }
      shadow = p.experiments[e]->shadow.get();
    }
    if (!model && stored->arm == kDefaultArm) model = p.default_model.get();
    if (auto found = p.item_index.find(event.item_id); found != p.item_index.end()) item_index = found->second;
    learn = event.kind == storage::FeedbackKind::kClick && model && item_index >= 0;
    p.feedback_from_store.fetch_add(1, std::memory_order_relaxed);
  }

  if (p.writer) {
    auto submitted = p.writer->Submit(storage::Feedback{event.request_id, event.ts_ms, user, event.item_id, static_cast<int32_t>(pos + 1),
                                                        event.kind, event.value});
    if (!submitted.ok()) return submitted.status().WithContext("logging feedback for request " + std::to_string(event.request_id));
  }
  p.feedback.fetch_add(1, std::memory_order_relaxed);
  if (learn) {
    const std::vector<int32_t> before = p.AppendHistory(user, item_index);
    const models::FeedbackSignal signal{user, event.ts_ms, item_index, event.position, true, before};
    {
      std::lock_guard lock(model->mu);
      model->model->Observe(signal);
    }
    if (shadow) shadow->SubmitFeedback(signal);
  }
  return Status::Ok();
}

StatusOr<std::vector<int64_t>> ServingPipeline::StoredRequestIds(const std::vector<int64_t>& request_ids) {
  Impl& p = *impl_;
  if (!p.control_db) return std::vector<int64_t>();
  std::lock_guard lock(p.control_mu);
  return storage::StoredRequestIds(p.events(), request_ids);
}

Status ServingPipeline::RecordExposure(const ExternalExposure& exposure, bool check_store) {
  Impl& p = *impl_;
  if (exposure.request_id <= 0) return InvalidArgument("request_id: must be a positive integer");
  if (exposure.user_id.empty()) return InvalidArgument("user_id: required");
  RETURN_IF_ERROR(ValidateUserId(exposure.user_id));
  if (exposure.experiment.empty()) return InvalidArgument("experiment: required");
  if (exposure.items.size() > 100) return InvalidArgument("items: at most 100");
  ASSIGN_OR_RETURN(const int e, p.FindExperiment(exposure.experiment));
  const Snapshot& snap = p.CurrentSnapshot();
  const ExperimentConfig& config = *snap.experiments[static_cast<size_t>(e)].config;
  int arm = -1;
  for (size_t a = 0; a < config.arms.size(); ++a) {
    if (config.arms[a].name == exposure.arm) arm = static_cast<int>(a);
  }
  if (arm < 0 && exposure.arm != kExcludedArm) {
    std::string names;
    for (const auto& a : config.arms) names += (names.empty() ? "" : ", ") + a.name;
    return InvalidArgument("arm: '" + exposure.arm + "' is not an arm of '" + config.name + "' (" + names + ", or excluded)");
  }
  OpenList list;
  list.ts_ms = exposure.ts_ms;
  list.user = InternalUserId(exposure.user_id);
  list.experiment = e;
  list.arm = arm;
  for (size_t i = 0; i < exposure.items.size(); ++i) {
    auto found = p.item_index.find(exposure.items[i].item_id);
    if (found == p.item_index.end()) {
      return InvalidArgument("items[" + std::to_string(i) + "].item_id: " + std::to_string(exposure.items[i].item_id) +
                             " is not in the catalog");
    }
    if (!(exposure.items[i].propensity > 0.0 && exposure.items[i].propensity <= 1.0)) {
      return InvalidArgument("items[" + std::to_string(i) + "].propensity: must be in (0, 1]");
    }
    list.items.push_back(found->second);
  }
  list.clicked.assign(list.items.size(), 0);
  list.converted.assign(list.items.size(), 0);

  JoinShard& shard = p.join[ShardOf(exposure.request_id)];
  {
    std::lock_guard lock(shard.mu);
    if (shard.lists.count(exposure.request_id)) {
      return AlreadyExists("request_id: " + std::to_string(exposure.request_id) + " is already used");
    }
  }
  if (p.control_db && check_store) {
    std::lock_guard lock(p.control_mu);
    ASSIGN_OR_RETURN(auto stored, storage::FindExposure(p.events(), exposure.request_id));
    if (stored) return AlreadyExists("request_id: " + std::to_string(exposure.request_id) + " is already used");
  }
  {
    std::lock_guard lock(shard.mu);
    if (!shard.lists.emplace(exposure.request_id, list).second) {
      return AlreadyExists("request_id: " + std::to_string(exposure.request_id) + " is already used");
    }
    shard.order.emplace_back(exposure.ts_ms, exposure.request_id);
    ++shard.served;
  }
  p.external_exposures.fetch_add(1, std::memory_order_relaxed);
  if (p.writer) {
    storage::Exposure row;
    row.request_id = exposure.request_id;
    row.ts_ms = exposure.ts_ms;
    row.user_id = list.user;
    row.user_key = exposure.user_id;
    row.attributes = RecordedAttributes(config, exposure.attributes);
    row.experiment = config.name;
    row.arm = exposure.arm;
    row.model_version = "external:" + exposure.source;
    row.served = exposure.items;
    auto submitted = p.writer->Submit(std::move(row));
    if (!submitted.ok()) return submitted.status().WithContext("logging request " + std::to_string(exposure.request_id));
  }
  return Status::Ok();
}

Status ServingPipeline::ReserveExternalIds(int64_t max_request_id) {
  Impl& p = *impl_;
  if (!p.control_db) return Status::Ok();
  std::lock_guard lock(p.control_mu);
  return storage::AdvanceSequence(*p.control_db, "request_id", max_request_id + 1);
}

bool ServingPipeline::WriterHasRoom(size_t events) const {
  const Impl& p = *impl_;
  if (!p.writer) return true;
  const storage::EventWriterStats s = p.writer->stats();
  return s.queue_depth + events <= s.queue_capacity;
}

Status ServingPipeline::CompleteList(int64_t request_id) {
  Impl& p = *impl_;
  JoinShard& shard = p.join[ShardOf(request_id)];
  OpenList list;
  {
    std::lock_guard lock(shard.mu);
    auto it = shard.lists.find(request_id);
    if (it == shard.lists.end()) return Status::Ok();
    list = std::move(it->second);
    shard.lists.erase(it);
  }
  p.Complete(request_id, std::move(list));
  return Status::Ok();
}

Status ServingPipeline::AdvanceTo(int64_t ts_ms) {
  Impl& p = *impl_;
  const int64_t cutoff = ts_ms - p.options.join_window_ms;
  for (JoinShard& shard : p.join) p.Evict(shard, [cutoff](int64_t ts, size_t) { return ts < cutoff; });
  return Status::Ok();
}

Status ServingPipeline::Flush() {
  Impl& p = *impl_;
  return p.writer ? p.writer->Flush() : Status::Ok();
}

Status ServingPipeline::Close() {
  Impl& p = *impl_;
  if (p.closed) return Status::Ok();
  p.closed = true;
  {
    std::lock_guard lock(p.watcher_mu);
    p.stopping = true;
  }
  p.watcher_cv.notify_all();
  if (p.watcher.joinable()) p.watcher.join();
  for (JoinShard& shard : p.join) p.Evict(shard, [](int64_t, size_t) { return true; });
  Status result;
  for (auto& slot : p.experiments) {
    if (slot->shadow) {
      slot->shadow->Drain();
      p.shadow_dropped.fetch_add(slot->shadow->stats().dropped);
      slot->shadow.reset();  // its callback writes through the writer: stop it first
    }
    if (slot->sticky && p.control_db) {
      std::lock_guard lock(p.control_mu);
      storage::RolloutStore rollouts(*p.control_db);
      Status s = rollouts.SaveSticky(slot->config.name, slot->config.bucket_version, slot->sticky->TakePending());
      if (result.ok()) result = s;
    }
  }
  if (p.writer) {
    Status s = p.writer->Close();
    if (result.ok()) result = s;
  }
  return result;
}

PipelineStats ServingPipeline::stats() const {
  const Impl& p = *impl_;
  PipelineStats s;
  for (JoinShard& shard : impl_->join) {
    std::lock_guard lock(shard.mu);
    s.served += shard.served;
    s.excluded += shard.excluded;
    s.screened_out += shard.screened_out;
    s.safety_blocked += shard.safety_blocked;
    s.safety_demoted += shard.safety_demoted;
    s.lists_completed += shard.served - shard.lists.size();
  }
  s.feedback = p.feedback.load();
  s.feedback_from_store = p.feedback_from_store.load();
  s.feedback_rejected = p.feedback_rejected.load();
  s.refreshes = p.refreshes.load();
  s.control_changes = p.control_changes.load();
  s.shadow_dropped = p.shadow_dropped.load();
  s.external_exposures = p.external_exposures.load();
  s.served -= std::min(s.served, s.external_exposures);  // counted in shard.served for lists_completed
  if (!p.closed) {
    for (const auto& slot : p.experiments) {
      if (!slot->shadow) continue;
      const shadow::ShadowStats shadow = slot->shadow->stats();
      s.shadow_dropped += shadow.dropped;
      const uint64_t done = shadow.completed + shadow.errors + shadow.timeouts;
      if (shadow.submitted > done) s.shadow_queue_depth += shadow.submitted - done;
    }
  }
  if (p.writer) s.writer = p.writer->stats();
  return s;
}

std::vector<experiment::ExperimentConfig> ServingPipeline::experiments() const {
  std::vector<experiment::ExperimentConfig> out;
  std::lock_guard lock(impl_->snapshot_mu);
  for (const ControlState& c : impl_->snapshot->experiments) out.push_back(*c.config);
  return out;
}

}  // namespace steward::serving
