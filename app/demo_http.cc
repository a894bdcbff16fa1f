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

  ASSIGN_OR_RETURN(auto client, server::HttpClient::Create(url, token));
  RETURN_IF_ERROR(EnsureExperiment(*client, config, inputs.experiment_file));

  std::vector<ArmTally> arms;
  for (const auto& arm_config : config.arms) arms.emplace_back(arm_config.name, arm_config.model, catalog);
  DemoSummary summary;
  summary.db = url;
  summary.experiment = config.name;
  summary.seed = options.seed;
  // The shadow model runs on the server; its comparison is the server's (steward shadow-report).

  // Clicks and conversions wait here until a batch is full; `clicks_in_batch` marks which lines are clicks.
  std::string batch;
  std::vector<char> is_click;
  auto flush = [&]() -> Status {
    if (batch.empty()) return Status::Ok();
    ASSIGN_OR_RETURN(server::HttpResponse r, client->Send("POST", "/v1/events", batch, "application/x-ndjson"));
    // The writer is behind: wait as Retry-After says, resend the same batch (a 503 stored nothing);
    // give up after a minute of refusals.
    for (int waited_s = 0; r.status == 503 && waited_s < 60;) {
      int seconds = 1;
      for (const auto& [name, value] : r.headers) {
        if (name == "Retry-After") seconds = std::clamp(std::atoi(value.c_str()), 1, 30);
      }
      std::this_thread::sleep_for(std::chrono::seconds(seconds));
      waited_s += seconds;
      ASSIGN_OR_RETURN(r, client->Send("POST", "/v1/events", batch, "application/x-ndjson"));
    }
    if (r.status != 200) return HttpError("sending events", r);
    const json out = json::parse(r.body);
    std::vector<char> rejected(is_click.size(), 0);
    for (const auto& line : out["rejected"]) {
      const size_t n = line["line"].get<size_t>();
      if (n >= 1 && n <= rejected.size()) rejected[n - 1] = 1;
    }
    for (size_t i = 0; i < is_click.size(); ++i) {
      if (rejected[i]) continue;
      if (is_click[i]) {
        ++summary.clicks;
      } else {
        ++summary.conversions;
      }
    }
    batch.clear();
    is_click.clear();
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
    const int64_t sent_ns = clock.MonotonicNanos();
    ASSIGN_OR_RETURN(server::HttpResponse response,
                     client->Send("POST", "/v1/recommend", DumpJson(RecommendBody(SimServeRequest(user, req.ts_ms, options.list_size, config.name)))));
    const double latency_us = static_cast<double>(clock.MonotonicNanos() - sent_ns) / 1000.0;
    if (response.status != 200) return HttpError("POST /v1/recommend", response);
    const json served = json::parse(response.body);
    const std::string arm_name = served["arm"];
    size_t arm = 0;  // outside the experiment: control served
    bool in_experiment = false;
    for (size_t a = 0; a < config.arms.size(); ++a) {
      if (config.arms[a].name == arm_name) arm = a, in_experiment = true;
    }
    if (!in_experiment) ++summary.excluded;
    items.clear();
    const int64_t request_id = served["request_id"];
    for (size_t p = 0; p < served["items"].size(); ++p) {
      const int64_t item_id = served["items"][p]["item_id"];
      auto found = index_of.find(item_id);
      if (found == index_of.end()) {
        return FailedPrecondition("the server served item " + std::to_string(item_id) +
                                  " that this world's catalog lacks: start `steward serve` with the same --data and --seed");
      }
      items.push_back(found->second);
      if (!world.SimulateClick(req.user_index, static_cast<size_t>(found->second), static_cast<int>(p) + 1)) continue;
      const std::string ids = R"("request_id":)" + std::to_string(request_id) + R"(,"item_id":)" + std::to_string(item_id);
      batch += R"({"type":"click",)" + ids + "}\n";
      is_click.push_back(1);
      arms[arm].AddClick();
      if (world.SimulateConversion(static_cast<size_t>(found->second))) {
        batch += R"({"type":"conversion",)" + ids + "}\n";
        is_click.push_back(0);
        arms[arm].AddConversion();
      }
    }
    arms[arm].AddList(items, req.user_index, latency_us);
    ++summary.exposures;
    if (is_click.size() >= kEventBatch) RETURN_IF_ERROR(flush());
    progress.Update(static_cast<uint64_t>(r + 1));
  }
  RETURN_IF_ERROR(flush());
  progress.Finish();
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
