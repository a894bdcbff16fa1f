// ServingPipeline: the one request path of Steward. Every caller that serves recommendations (the
// demo, `steward simulate`, `bench serve`, the HTTP service) goes through Serve():
//
//   experiment lookup -> assignment (GrowthBook-compatible hashing at the rollout's live coverage;
//   kill switch and sticky buckets honoured) -> the arm's model, screened by the safety filters
//   -> shadow submit (off the serving path) -> one exposure record -> response
//
// and every click or conversion through RecordFeedback(), which joins it to its served list by
// request id (a bounded join window in memory, falling back to the stored exposure), feeds the
// models (Observe per click, ObserveList once per list) and logs it.
//
// Control: the pipeline re-reads the rollout state (state, step coverage, kill switch, the current
// experiment version) whenever another connection has committed (PRAGMA data_version), checked
// every `control_poll_ms` by a watcher thread, so a rollback, stop or kill switch issued by another
// process (CLI, dashboard, HTTP) reaches serving within about that interval. Refresh() applies it
// at once (the in-process control loop calls it after each decision).
//
// Threads: Serve(), Assign(), RecordFeedback() and CompleteList() are safe to call from any number
// of serving threads. What is shared and how it is protected:
//   - the control snapshot (assigners at the live coverage, states, kill switch): immutable,
//     replaced as a whole under a mutex and read lock-free (a per-thread cached pointer checked
//     against an atomic generation), so assignment never serialises;
//   - request ids: each thread reserves its own block (ReserveIds in the database), no lock;
//   - each model: its own mutex (models mutate state in Recommend and Observe: bandits, retrains),
//     so two threads serialise only when they serve the same arm's model;
//   - sticky assignments: one mutex per sticky experiment;
//   - user histories and the join window: sharded by user id / request id, one mutex per shard;
//   - the event writer: its own bounded queue (storage/event_writer.h).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "common/status.h"
#include "experiment/experiment_config.h"
#include "experiment/metrics.h"
#include "experiment/rollout.h"
#include "models/recommender.h"
#include "storage/event_writer.h"
#include "storage/events.h"

namespace steward::storage {
class Database;
}  // namespace steward::storage
namespace steward::shadow {
class ShadowRunner;
}  // namespace steward::shadow
namespace steward::safety {
class SafetyScreen;
}  // namespace steward::safety

namespace steward::serving {

// Arm names logged for requests outside every experiment.
inline constexpr const char* kExcludedArm = "excluded";  // user outside the experiment's coverage
inline constexpr const char* kDefaultArm = "default";    // no experiment: the default model served

// What a caller sends to get recommendations.
struct ServeRequest {
  std::string user_id;  // as the caller knows it (GrowthBook hashes this string). Required
  int64_t ts_ms = 0;    // event time of the request
  int k = 10;           // items wanted, 1..100
  std::string experiment;  // "" for the pipeline's first experiment (or the default model)
  // User attributes the request carries (segment, age band, new/established, country...). Only the
  // keys the experiment declares (`attributes:` in its file) are recorded with the exposure.
  std::vector<std::pair<std::string, std::string>> attributes;
  // Context features the models use.
  int user_group = -1;  // e.g. age band 0..2; -1 unknown
  bool new_user = false;
  double activity = 0.0;
};

struct ServedItem {
  int32_t index = 0;   // catalog index
  int64_t item_id = 0;
  double score = 0.0;
  double propensity = 1.0;  // probability the policy put this item at this position
};

struct ServeResponse {
  int64_t request_id = 0;
  int64_t user = 0;  // stable internal user id (user_id.h)
  std::string experiment;
  std::string arm;  // the arm's name, kExcludedArm or kDefaultArm
  int arm_index = -1;  // -1 when not in an experiment
  bool in_experiment = false;
  std::string model_version;
  std::vector<ServedItem> items;
  int64_t latency_us = 0;  // the model's time
  int screened_out = 0;    // items the safety screen removed after the model returned them
  int safety_blocked = 0;  // items the safety screen refused while the model ranked (recorded ones)
  int safety_demoted = 0;  // items moved to the end of the list for their risk
};

// Assignment only (no model, nothing logged): which arm serves this user now.
struct AssignResponse {
  std::string experiment;
  std::string arm;
  int arm_index = -1;
  bool in_experiment = false;
  double hash = 0.0;
  double coverage = 0.0;
  experiment::RolloutState state = experiment::RolloutState::kDraft;
};

struct FeedbackEvent {
  int64_t request_id = 0;
  int64_t ts_ms = 0;
  int64_t item_id = 0;
  int position = 0;  // 1-based position in the served list; 0: the item's first position in it
  storage::FeedbackKind kind = storage::FeedbackKind::kClick;
  double value = 1.0;
};

// A served list whose outcome is final (CompleteList, or its join window closed): what the control
// loop's guardrail metrics count.
struct CompletedList {
  int64_t request_id = 0;
  int64_t ts_ms = 0;
  int64_t user = 0;
  int experiment_index = -1;
  int arm_index = -1;  // -1 when the user was outside the experiment
  experiment::RequestOutcome outcome;  // clicks and conversions count distinct positions
};

// An exposure served by the caller's own recommender (or assigned by a GrowthBook SDK): logged
// like a served one, joinable by its request id, counted by the control loop.
struct ExternalExposure {
  int64_t request_id = 0;  // > 0, unique per database (the caller's)
  int64_t ts_ms = 0;
  std::string user_id;     // required, as the caller knows it
  std::string experiment;  // required, served by this pipeline
  std::string arm;         // required: one of the experiment's arm names
  std::vector<std::pair<std::string, std::string>> attributes;
  std::vector<storage::ServedItem> items;  // catalog item ids in order; may be empty (an assignment only)
  std::string source = "app";              // "app" or "sdk": logged as the model version "external:<source>"
};

struct PipelineOptions {
  // Watcher poll interval for control changes made by other connections; 0 disables the watcher
  // (then only Refresh() applies them). Default: 100.
  int64_t control_poll_ms = 100;
  // Served lists kept in memory for the feedback join. Default: 1,000,000 lists.
  size_t join_window_lists = 1'000'000;
  // Event time a list stays joinable in memory before it completes. Default: 30 minutes.
  int64_t join_window_ms = 30 * 60 * 1000;
  // Clicked items remembered per user (oldest dropped first). Default: 1000.
  size_t history_limit = 1000;
  // Request ids each serving thread reserves at once. Default: 4096.
  int64_t request_id_block = 4096;
  // Shadow tasks that may wait before new ones are dropped. Default: 4096.
  size_t shadow_queue = 4096;
  // Events the writer queues before producers wait (storage/event_writer.h). Default: 65536.
  size_t writer_queue = 65536;
  // Diagnostics and tests: called with every request handed to a served model (under its lock).
  std::function<void(const models::RecommendRequest&)> on_recommend;
};

// Builds the model for an arm (`arm` >= 0) or the experiment's shadow model (`arm` == -1).
using ModelFactory = std::function<StatusOr<std::unique_ptr<models::Recommender>>(
    const experiment::ExperimentConfig& config, int arm, const std::string& model)>;

struct PipelineSetup {
  // Database to log to and take control state from; "" for none (nothing logged, experiments
  // served at their file's coverage; `steward simulate`).
  std::string db_path;
  // Scale-out: the control plane's database when it is not `db_path` (e.g. postgres://...; see
  // docs/scale-out.md): experiments, rollout state, flags, sticky assignments and request-id blocks
  // are read there, events are written to and joined in `db_path`. Default: "" (db_path holds all).
  std::string control_db;
  // Experiments served, loaded from the database by name (their current version), or given here
  // when there is no database.
  std::vector<std::string> experiments;
  std::vector<experiment::ExperimentConfig> configs;  // only without a database
  ModelFactory factory;
  // Serves requests that name no experiment when the pipeline has none. Optional.
  std::unique_ptr<models::Recommender> default_model;
  std::shared_ptr<const models::Catalog> catalog;  // required
  // The safety screen: every model gets these filters, and every list is checked against them.
  std::vector<std::shared_ptr<const models::CandidateFilter>> filters;
  // The policy-and-risk screen (safety/screen.h), optional: added to the filters, demotes risky
  // items after the model, counts impressions for its frequency cap, and its record of each list
  // (risk per position, blocks and demotions with reasons) is stored with the exposure.
  std::shared_ptr<safety::SafetyScreen> screen;
  // Told about every completed list (the control loop's metrics). Called on the thread that
  // completed it; must be thread-safe and quick.
  std::function<void(const CompletedList&)> on_list_complete;
};

struct PipelineStats {
  uint64_t served = 0, excluded = 0, screened_out = 0;
  uint64_t safety_blocked = 0, safety_demoted = 0;  // SafetyScreen decisions (ServeResponse)
  uint64_t feedback = 0, feedback_from_store = 0, feedback_rejected = 0;
  uint64_t lists_completed = 0, refreshes = 0, control_changes = 0;
  uint64_t shadow_dropped = 0;
  uint64_t shadow_queue_depth = 0;  // shadow tasks waiting now, all experiments
  uint64_t external_exposures = 0;
  storage::EventWriterStats writer;  // zero without a database
};

class ServingPipeline {
 public:
  // Errors: kInvalidArgument for a setup that cannot serve (no catalog, unknown experiment, a model
  // the factory cannot build); storage errors from opening the database.
  static StatusOr<std::unique_ptr<ServingPipeline>> Create(PipelineSetup setup, PipelineOptions options = {});
  ~ServingPipeline();  // Close()s, logging any error
  ServingPipeline(const ServingPipeline&) = delete;
  ServingPipeline& operator=(const ServingPipeline&) = delete;

  // Errors: kInvalidArgument (the message names the field) for a bad request; kNotFound for an
  // unknown experiment; kFailedPrecondition once the event writer has failed.
  StatusOr<ServeResponse> Serve(const ServeRequest& request);
  StatusOr<AssignResponse> Assign(const std::string& user_id, const std::string& experiment = "");
  // Errors: kNotFound when no served list has the request id; kInvalidArgument when the position is
  // outside the list or the item is not the one served there; kAlreadyExists for a repeated click or
  // conversion on the same position of a list still in memory (not logged twice).
  Status RecordFeedback(const FeedbackEvent& event);
  // Logs an exposure the caller served. Errors: kInvalidArgument naming the field (request_id,
  // user_id, arm, items); kNotFound for an experiment this pipeline does not serve; kAlreadyExists
  // when the request id is already used (in memory or stored).
  // `check_store` false: the caller already checked the stored ids (StoredRequestIds, one query
  // for a batch); the in-memory window is always checked.
  Status RecordExposure(const ExternalExposure& exposure, bool check_store = true);
  // Which of `request_ids` are already stored (committed) exposures.
  StatusOr<std::vector<int64_t>> StoredRequestIds(const std::vector<int64_t>& request_ids);
  // Moves the database's request-id sequence past `max_request_id`, so ids Steward hands out later
  // never collide with accepted external ones (blocks threads reserved earlier are not moved).
  Status ReserveExternalIds(int64_t max_request_id);
  // Whether `events` more events fit in the event writer's queue now (the HTTP service answers 503
  // instead of queueing beyond it). Always true without a database.
  bool WriterHasRoom(size_t events) const;
  // The list's outcome is final: models get ObserveList, the control loop the completed list.
  // Lists not completed explicitly complete when they leave the join window. No-op when unknown.
  Status CompleteList(int64_t request_id);
  // Completes every list served before `ts_ms` - join_window_ms (event time).
  Status AdvanceTo(int64_t ts_ms);

  // Re-reads the control state now (rollout states, coverage, kill switch, current versions).
  Status Refresh();
  // Waits until every logged event is committed (the control loop reads committed evidence).
  Status Flush();
  // Completes every open list, drains the shadow model, flushes and stops the writer. Idempotent.
  Status Close();

  PipelineStats stats() const;
  // The definitions served now (a new version with the same arms and models is adopted live).
  std::vector<experiment::ExperimentConfig> experiments() const;

 private:
  struct Impl;
  explicit ServingPipeline(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace steward::serving
