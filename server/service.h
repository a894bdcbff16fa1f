// Service: the HTTP API's request handler. Pure with respect to the network: it takes an
// HttpRequest and returns an HttpResponse, knows no sockets, and is unit-tested by calling
// Handle() directly (tests/server/service_test.cc). server.h puts it behind Boost.Beast.
//
// It owns
//   - the serving pipeline (serving/pipeline.h) for every stored experiment: /v1/recommend,
//     /v1/assign and /v1/events go through it (assignment, safety screen, shadow, logging, the
//     feedback join); creating a new experiment builds a new pipeline generation that serves it;
//   - the control loop: one RolloutDriver per experiment, ticked every `control_tick_ms` on a
//     thread of its own (analyses, guardrails, automatic rollback), fed by completed lists;
//   - a control connection (experiment actions, status, audit reads; one mutex);
//   - the token cache (API tokens verified against salted hashes, reloaded every second, so a
//     revoked token stops working within a second) and the role matrix (docs/api.md);
//   - the Prometheus metrics.
//
// Errors are JSON: {"error": {"code", "message", "field"?}} with 400 (bad input), 401 (no or bad
// token), 403 (role), 404, 405, 409, 413, 503 (writer queue full; Retry-After) or 500.
//
// Thread safety: Handle() may be called from any number of threads at once.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "server/http.h"
#include "serving/pipeline.h"

namespace steward::server {

struct ServiceOptions {
  // The SQLite database (created and migrated if needed; "sqlite:PATH" or a path). Required. With
  // `control_db` set it holds this replica's events only.
  std::string db_path;
  // Scale-out (docs/scale-out.md): the control plane's database, e.g. postgres://USER@HOST:PORT/DB,
  // shared by every replica: experiments, rollout state, tokens, the audit chain, leases. Default:
  // "" (db_path holds everything).
  std::string control_db;
  // This replica's id: the holder of the rollout leases (one replica drives each experiment's
  // rollout) and the `replica` column of shipped events. Default: "" (HOSTNAME-PID).
  std::string replica_id;
  // Scale-out: the ClickHouse this replica ships its events to (clickhouse://HOST:PORT/DB[?cluster=
  // NAME]; storage/event_shipper.h): batches from a durable spool in db_path, retried identically
  // until acknowledged. With it, the rollout drivers evaluate the guardrails on every replica's
  // events aggregated in ClickHouse. Default: "" (events stay in db_path).
  std::string events_url;
  // How long Shutdown() waits for ClickHouse to acknowledge the spooled events. Default: 60000.
  int64_t shutdown_ship_ms = 60000;
  // How long a replica's rollout lease lasts without renewal (another replica takes over after it
  // lapses). Default: 5000.
  int64_t lease_ms = 5000;
  // Builds a serving pipeline for the named experiments (all stored ones). Required. The setup's
  // on_list_complete is set by the service (it feeds the control loop); the builder supplies the
  // catalog, the model factory and the safety filters.
  std::function<StatusOr<serving::PipelineSetup>(const std::vector<std::string>& experiments)> pipeline_setup;
  serving::PipelineOptions pipeline_options;
  // Model names an experiment file may use (validated on POST /v1/experiments).
  std::vector<std::string> model_names;
  // Largest request body accepted (413 beyond). Default: 16 MiB.
  size_t max_body_bytes = 16u << 20;
  // Most lines in one POST /v1/events body. Default: 100,000.
  size_t max_event_lines = 100000;
  // Deepest JSON nesting accepted in a body (each NDJSON line on its own). Default: 32.
  int max_json_depth = 32;
  // Most user ids in one POST /v1/assign. Default: 10,000.
  size_t max_assign_users = 10000;
  // Control loop period (analyses run on each experiment's own evaluation interval; this is how
  // often the loop looks). 0: no control loop thread (tests tick it with TickControl). Default: 1000.
  int64_t control_tick_ms = 1000;
  // Seconds the service suggests in Retry-After when the event writer's queue is full. Default: 1.
  int retry_after_seconds = 1;
  // Wall clock for request timestamps and audit rows. Default: SystemClock::Default().
  const Clock* clock = nullptr;
};

class Service {
 public:
  // Opens the database, loads the tokens, builds the pipeline and the drivers, starts the control
  // loop. Errors: storage errors; whatever the pipeline builder returns.
  static StatusOr<std::unique_ptr<Service>> Create(ServiceOptions options);
  ~Service();  // Shutdown()s, logging any error
  Service(const Service&) = delete;
  Service& operator=(const Service&) = delete;

  HttpResponse Handle(const HttpRequest& request);

  // One pass of the control loop now (completes lists past the join window, runs due analyses).
  Status TickControl();
  // Stops the control loop, completes open lists, flushes every accepted event and closes the
  // pipeline. Requests after it get 503. Idempotent.
  Status Shutdown();
  // Database open and the event writer running (GET /readyz).
  bool Ready() const;

 private:
  struct Impl;
  explicit Service(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace steward::server
