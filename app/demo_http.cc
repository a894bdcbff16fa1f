#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <thread>
#include <unordered_map>

#include "app/arm_tally.h"
#include "app/demo.h"
#include "app/paths.h"
#include "app/sim_traffic.h"
#include "common/clock.h"
#include "common/file.h"
#include "common/json.h"
#include "common/progress.h"
#include "data/goodbooks.h"
#include "experiment/experiment_config.h"
#include "server/client.h"
#include "sim/world.h"

namespace steward::app {
namespace {

using nlohmann::json;

// Lines of clicks and conversions sent per POST /v1/events.
constexpr size_t kEventBatch = 1000;

Status HttpError(const std::string& what, const server::HttpResponse& r) {
  std::string message = r.body;
  const json body = json::parse(r.body, nullptr, /*allow_exceptions=*/false);
  if (body.is_object() && body.contains("error") && body["error"].is_object()) message = body["error"].value("message", r.body);
  const std::string text = what + ": HTTP " + std::to_string(r.status) + ": " + message;
  if (r.status == 401 || r.status == 403) return FailedPrecondition(text + " (check --token and its role)");
  if (r.status == 404) return NotFound(text);
  if (r.status >= 500) return Unavailable(text);
  return InvalidArgument(text);
}

json RecommendBody(const serving::ServeRequest& rq) {
  json attributes = json::object();
  for (const auto& [key, value] : rq.attributes) attributes[key] = value;
  attributes["user_group"] = rq.user_group;
  attributes["new_user"] = rq.new_user;
  attributes["activity"] = rq.activity;
  return {{"experiment", rq.experiment}, {"user_id", rq.user_id}, {"k", rq.k}, {"attributes", attributes}};
}

// Makes sure the server serves a live `config.name`: creates and starts it when allowed.
Status EnsureExperiment(server::HttpClient& client, const experiment::ExperimentConfig& config, const std::string& file) {
  ASSIGN_OR_RETURN(server::HttpResponse got, client.Send("GET", "/v1/experiments/" + config.name));
  if (got.status == 404) {
    ASSIGN_OR_RETURN(std::string text, ReadFileBounded(file, 1 << 20, "experiment file"));
    ASSIGN_OR_RETURN(server::HttpResponse created, client.Send("POST", "/v1/experiments", text, "application/yaml"));
    if (created.status != 201 && created.status != 200) {
      return HttpError("creating experiment '" + config.name + "' (create it with an owner token: POST /v1/experiments)", created);
    }
    ASSIGN_OR_RETURN(got, client.Send("GET", "/v1/experiments/" + config.name));
  }
  if (got.status != 200) return HttpError("reading experiment '" + config.name + "'", got);
  if (json::parse(got.body)["state"] == "draft") {
    ASSIGN_OR_RETURN(server::HttpResponse started,
                     client.Send("POST", "/v1/experiments/" + config.name + "/start", R"({"reason":"demo over HTTP"})"));
    if (started.status != 200) return HttpError("starting experiment '" + config.name + "' (start it with an owner token)", started);
  }
  return Status::Ok();
}

}  // namespace

StatusOr<DemoSummary> RunDemoOverHttp(const DemoOptions& options, const std::string& url, const std::string& token) {
  const SystemClock& clock = SystemClock::Default();
  const int64_t started_ns = clock.MonotonicNanos();
  ASSIGN_OR_RETURN(const DemoInputs inputs, LoadDemoInputs(options));
  const experiment::ExperimentConfig& config = inputs.config;
  sim::WorldConfig world_config;
  world_config.seed = options.seed;
  world_config.horizon_days = options.days;
  ASSIGN_OR_RETURN(sim::World world, sim::World::Create(inputs.books, world_config));
  auto catalog = SimCatalog(world);
  std::unordered_map<int64_t, int32_t> index_of;
  for (size_t i = 0; i < catalog->items.size(); ++i) index_of.emplace(catalog->items[i].id, static_cast<int32_t>(i));

  // One client per replica: "--url A,B" splits users between replicas by a hash of the user id,
  // as a load balancer routing by user does, so each replica's online learners see their own
  // users' feedback. A replica that cannot be reached is skipped for a second (its users go to the
  // next replica, as the balancer's health check would send them); a list's clicks always go to the
  // replica that served it (only it can join them).
  std::vector<std::string> urls;
  for (size_t start = 0; start <= url.size();) {
    const size_t comma = std::min(url.find(',', start), url.size());
    if (comma > start) urls.push_back(url.substr(start, comma - start));
    start = comma + 1;
  }
  if (urls.empty()) return InvalidArgument("--url: no URL given; expected http://HOST:PORT[,http://HOST:PORT...]");
  std::vector<std::unique_ptr<server::HttpClient>> clients;
  for (const std::string& u : urls) {
    ASSIGN_OR_RETURN(auto c, server::HttpClient::Create(u, token));
    clients.push_back(std::move(c));
  }
  std::vector<int64_t> down_until_ns(clients.size(), 0);
  // The first replica that answers creates and starts the experiment; the others read it from the
  // shared control plane.
  {
    Status ensured = Unavailable("no replica answered");
    for (size_t i = 0; i < clients.size() && !ensured.ok(); ++i) {
      ensured = EnsureExperiment(*clients[i], config, inputs.experiment_file);
      if (!ensured.ok() && ensured.code() != StatusCode::kUnavailable) return ensured;
    }
    RETURN_IF_ERROR(ensured);
  }

  std::vector<ArmTally> arms;
  for (const auto& arm_config : config.arms) arms.emplace_back(arm_config.name, arm_config.model, catalog);
  DemoSummary summary;
  summary.db = url;
  summary.experiment = config.name;
  summary.seed = options.seed;
  // The shadow model runs on the server; its comparison is the server's (steward shadow-report).

  // Clicks and conversions wait here, per replica, until a batch is full; `is_click` marks which
  // lines are clicks.
  struct Pending {
    std::string batch;
    std::vector<char> is_click;
  };
  std::vector<Pending> pending(clients.size());
  auto flush = [&](size_t replica) -> Status {
    Pending& p = pending[replica];
    if (p.batch.empty()) return Status::Ok();
    server::HttpClient& client = *clients[replica];
    // The writer is behind (503: wait as Retry-After says), or the replica is down or restarting
    // (unreachable): resend the same batch to the same replica, the only one that can join it (a 503
    // stored nothing; a batch whose response was lost is resent and its repeats are refused as
    // duplicates). Give up after a minute.
    StatusOr<server::HttpResponse> r = client.Send("POST", "/v1/events", p.batch, "application/x-ndjson");
    for (int waited_ms = 0; waited_ms < 60000 && (!r.ok() || r->status == 503);) {
      int wait_ms = 250;
      if (!r.ok() && r.status().code() != StatusCode::kUnavailable) return r.status();
      if (r.ok()) {
        for (const auto& [name, value] : r->headers) {
          if (name == "Retry-After") wait_ms = 1000 * std::clamp(std::atoi(value.c_str()), 1, 30);
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(wait_ms));
      waited_ms += wait_ms;
      r = client.Send("POST", "/v1/events", p.batch, "application/x-ndjson");
    }
    if (!r.ok()) return r.status().WithContext("sending events to " + urls[replica]);
    if (r->status != 200) return HttpError("sending events", *r);
    const json out = json::parse(r->body);
    std::vector<char> rejected(p.is_click.size(), 0);
    for (const auto& line : out["rejected"]) {
      const size_t n = line["line"].get<size_t>();
      if (n >= 1 && n <= rejected.size()) rejected[n - 1] = 1;
    }
    for (size_t i = 0; i < p.is_click.size(); ++i) {
      if (rejected[i]) {
        ++summary.feedback_rejected;
      } else if (p.is_click[i]) {
        ++summary.clicks;
      } else {
        ++summary.conversions;
      }
    }
    p.batch.clear();
    p.is_click.clear();
    return Status::Ok();
  };

  Progress progress("demo", static_cast<uint64_t>(options.requests), "requests", clock);
  progress.set_enabled(options.progress);
  const double requests_per_day = std::max(1.0, static_cast<double>(options.requests) / options.days);
  std::vector<int32_t> items;
  for (int64_t r = 0; r < options.requests; ++r) {
    if (options.cancel && options.cancel->load()) {
      summary.cancelled = true;
      break;
    }
    const sim::Request req = world.NextRequest(requests_per_day);
    const sim::User& user = world.users()[req.user_index];
    const std::string body = DumpJson(RecommendBody(SimServeRequest(user, req.ts_ms, options.list_size, config.name)));
    const size_t home = static_cast<size_t>(std::hash<std::string>{}(std::to_string(req.user_index)) % clients.size());
    size_t replica = home;
    StatusOr<server::HttpResponse> response = Unavailable("no replica tried");
    int64_t sent_ns = 0;
    // Each replica in turn from the user's own, skipping those found down in the last second; a
    // whole round of failures waits a little and starts again (for a minute).
    for (int attempt = 0; attempt < 240; ++attempt) {
      replica = (home + static_cast<size_t>(attempt)) % clients.size();
      const int64_t now_ns = clock.MonotonicNanos();
      if (down_until_ns[replica] > now_ns && attempt % static_cast<int>(clients.size()) != static_cast<int>(clients.size()) - 1) continue;
      sent_ns = now_ns;
      response = clients[replica]->Send("POST", "/v1/recommend", body);
      if (response.ok() || response.status().code() != StatusCode::kUnavailable) break;
      down_until_ns[replica] = clock.MonotonicNanos() + 1'000'000'000;
      if ((attempt + 1) % static_cast<int>(clients.size()) == 0) std::this_thread::sleep_for(std::chrono::milliseconds(250));
    }
    if (!response.ok()) return response.status().WithContext("POST /v1/recommend (every replica)");
    if (replica != home) ++summary.failovers;
    const double latency_us = static_cast<double>(clock.MonotonicNanos() - sent_ns) / 1000.0;
    if (response->status != 200) return HttpError("POST /v1/recommend", *response);
    const json served = json::parse(response->body);
    const std::string arm_name = served["arm"];
    size_t arm = 0;  // outside the experiment: control served
    bool in_experiment = false;
    for (size_t a = 0; a < config.arms.size(); ++a) {
      if (config.arms[a].name == arm_name) arm = a, in_experiment = true;
    }
    if (!in_experiment) ++summary.excluded;
    items.clear();
    const int64_t request_id = served["request_id"];
    Pending& p = pending[replica];
    for (size_t pos = 0; pos < served["items"].size(); ++pos) {
      const int64_t item_id = served["items"][pos]["item_id"];
      auto found = index_of.find(item_id);
      if (found == index_of.end()) {
        return FailedPrecondition("the server served item " + std::to_string(item_id) +
                                  " that this world's catalog lacks: start `steward serve` with the same --data and --seed");
      }
      items.push_back(found->second);
      if (!world.SimulateClick(req.user_index, static_cast<size_t>(found->second), static_cast<int>(pos) + 1)) continue;
      const std::string ids = R"("request_id":)" + std::to_string(request_id) + R"(,"item_id":)" + std::to_string(item_id);
      p.batch += R"({"type":"click",)" + ids + "}\n";
      p.is_click.push_back(1);
      arms[arm].AddClick();
      if (world.SimulateConversion(static_cast<size_t>(found->second))) {
        p.batch += R"({"type":"conversion",)" + ids + "}\n";
        p.is_click.push_back(0);
        arms[arm].AddConversion();
      }
    }
    arms[arm].AddList(items, req.user_index, latency_us);
    ++summary.exposures;
    if (p.is_click.size() >= kEventBatch) RETURN_IF_ERROR(flush(replica));
    progress.Update(static_cast<uint64_t>(r + 1));
  }
  for (size_t i = 0; i < clients.size(); ++i) RETURN_IF_ERROR(flush(i));
  progress.Finish();
  server::HttpClient* client = clients[0].get();
  for (size_t i = 0; i < clients.size(); ++i) {  // the status from any replica that answers
    if (clients[i]->Send("GET", "/healthz").ok()) {
      client = clients[i].get();
      break;
    }
  }
  for (const ArmTally& arm : arms) {
    const ArmSummary s = arm.Finish();
    summary.requests += s.exposures;
    summary.arms.push_back(s);
  }
  ASSIGN_OR_RETURN(server::HttpResponse status, client->Send("GET", "/v1/experiments/" + config.name));
  if (status.status != 200) return HttpError("reading experiment '" + config.name + "'", status);
  const json e = json::parse(status.body);
  ExperimentOutcome outcome;
  outcome.name = config.name;
  outcome.state = e.value("state", "");
  outcome.step = e.value("step", 0);
  outcome.coverage = e.value("coverage", 0.0);
  outcome.rolled_back_at = e["rolled_back_at_ms"].is_number() ? e["rolled_back_at_ms"].get<int64_t>() : 0;
  outcome.reason = e.value("reason", "");
  outcome.analyses = e.value("analyses", int64_t{0});
  if (e["waiting_for_role"].is_string()) outcome.waiting_for_role = e["waiting_for_role"];
  summary.experiments.push_back(outcome);
  summary.seconds = static_cast<double>(clock.MonotonicNanos() - started_ns) / 1e9;
  return summary;
}

}  // namespace steward::app
