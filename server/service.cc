#include "server/service.h"

#include "serving/global_evidence.h"
#include "storage/clickhouse.h"
#include "storage/event_shipper.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <condition_variable>
#include <ctime>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>
#include <unordered_map>

#include "common/json.h"
#include "common/log.h"
#include "common/text.h"
#include "experiment/stats.h"
#include "fairness/audit.h"
#include "server/metrics.h"
#include "server/request_parse.h"
#include "server/routes.h"
#include "serving/controller.h"
#include "serving/rollout_driver.h"
#include "storage/audit_log.h"
#include "storage/database.h"
#include "storage/experiment_store.h"
#include "storage/json.h"
#include "storage/statement.h"
#include "storage/token_store.h"

namespace steward::server {
namespace {

using nlohmann::json;
using storage::Role;

// Auth denials written to the audit log per second at most; the rest are counted (metrics) and
// summarised in the next row, so a flood of bad tokens cannot turn into a flood of fsyncs.
constexpr int kAuditedDenialsPerSecond = 10;
constexpr int64_t kTokenReloadMs = 1000;

HttpResponse ErrorResponse(const ApiError& e) {
  json error = {{"code", e.code}, {"message", e.message}};
  if (!e.field.empty()) error["field"] = e.field;
  HttpResponse r;
  r.status = e.status;
  r.body = DumpJson(json{{"error", error}}) + "\n";
  return r;
}

HttpResponse JsonResponse(int status, const json& body) {
  HttpResponse r;
  r.status = status;
  r.body = DumpJson(body) + "\n";
  return r;
}

// "field: message" (the pipeline's and the stores' convention) -> the field, or "".
std::string FieldOf(const std::string& message) {
  const size_t colon = message.find(": ");
  if (colon == std::string::npos || colon == 0 || colon > 64) return "";
  for (char c : message.substr(0, colon)) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '[' || c == ']')) return "";
  }
  return message.substr(0, colon);
}

ApiError FromStatus(const Status& s, const std::string& field = "") {
  ApiError e;
  e.message = s.message();
  e.field = field.empty() ? FieldOf(s.message()) : field;
  switch (s.code()) {
    case StatusCode::kInvalidArgument: e.status = 400, e.code = "invalid_argument"; break;
    case StatusCode::kNotFound: e.status = 404, e.code = "not_found"; break;
    case StatusCode::kAlreadyExists: e.status = 409, e.code = "already_exists"; break;
    case StatusCode::kFailedPrecondition: e.status = 409, e.code = "failed_precondition"; break;
    case StatusCode::kUnavailable: e.status = 503, e.code = "unavailable"; break;
    default: e.status = 500, e.code = "internal"; break;
  }
  return e;
}

// Context features the models use, from well-known attributes (docs/api.md).
void ContextFrom(serving::ServeRequest& rq) {
  for (const auto& [key, value] : rq.attributes) {
    if (key == "user_group" || key == "age_band") {
      int v = -1;
      const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
      if (ec == std::errc() && end == value.data() + value.size() && v >= 0 && v < 1000) rq.user_group = v;
    } else if (key == "new_user") {
      rq.new_user = value == "true" || value == "1";
    } else if (key == "activity") {
      char* end = nullptr;
      const double v = std::strtod(value.c_str(), &end);
      if (end && *end == '\0' && std::isfinite(v)) rq.activity = v;
    }
  }
}

// A sample value as Prometheus prints it: integers without a fraction, others with full precision.
std::string PromNumber(double v) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

// A pipeline and the control loop's drivers for the experiments it serves.
struct Generation {
  std::vector<std::string> experiments;
  std::vector<std::unique_ptr<serving::RolloutDriver>> drivers;  // index = experiment index
  std::unique_ptr<serving::ServingPipeline> pipeline;
  ~Generation() {
    if (pipeline) {
      Status s = pipeline->Close();
      if (!s.ok()) STEWARD_LOG(kError) << "closing a serving pipeline: " << s.ToString();
    }
  }
};

}  // namespace

struct Service::Impl {
  ServiceOptions options;
  const Clock* clock = nullptr;
  Metrics metrics;

  // Control connection: actions, status, audit, tokens. One thread at a time.
  mutable std::mutex control_mu;
  std::unique_ptr<storage::Database> control_db;

  // The serving generation; replaced when an experiment is created. Requests hold a reference.
  mutable std::mutex generation_mu;
  std::shared_ptr<Generation> generation;
  std::mutex drivers_mu;  // the control loop and a generation swap

  // Token verifiers by id, reloaded every kTokenReloadMs.
  std::mutex tokens_mu;
  std::unordered_map<std::string, storage::TokenStore::Verifier> verifiers;
  int64_t tokens_loaded_ms = -1;

  std::mutex denied_mu;
  int64_t denied_second = 0;
  int denied_in_second = 0;
  int64_t denied_suppressed = 0;

  // Scale-out: ships db_path's events to ClickHouse (options.events_url); null without it.
  std::unique_ptr<storage::EventShipper> shipper;
  std::optional<storage::ClickHouseUrl> events_url;

  std::thread control_thread;
  std::mutex control_loop_mu;
  std::condition_variable control_cv;
  bool stopping = false;
  std::atomic<bool> shut_down{false};

  std::shared_ptr<Generation> Current() const {
    std::lock_guard lock(generation_mu);
    return generation;
  }

  StatusOr<std::shared_ptr<Generation>> Build(std::vector<std::string> names) {
    auto gen = std::make_shared<Generation>();
    gen->experiments = names;
    const int64_t now = clock->NowMillis();
    for (const std::string& name : names) {
      serving::DriverOptions d;
      d.actor = "controller";
      Generation* raw = gen.get();
      d.before_analysis = [raw] { return raw->pipeline ? raw->pipeline->Flush() : Status::Ok(); };
      d.after_change = [raw] { return raw->pipeline ? raw->pipeline->Refresh() : Status::Ok(); };
      if (!options.control_db.empty()) {
        d.events_db = options.db_path;
        d.lease_holder = options.replica_id;
        d.lease_ms = options.lease_ms;
      }
      if (events_url) d.global_evidence = serving::ClickHouseEvidence(*events_url);
      ASSIGN_OR_RETURN(auto driver, serving::RolloutDriver::Open(ControlLocator(), name, now, std::move(d)));
      gen->drivers.push_back(std::move(driver));
    }
    ASSIGN_OR_RETURN(serving::PipelineSetup setup, options.pipeline_setup(names));
    setup.db_path = options.db_path;
    setup.control_db = options.control_db;
    setup.experiments = names;
    Generation* raw = gen.get();
    setup.on_list_complete = [raw](const serving::CompletedList& done) {
      if (done.experiment_index >= 0 && static_cast<size_t>(done.experiment_index) < raw->drivers.size()) {
        raw->drivers[static_cast<size_t>(done.experiment_index)]->Record(done.arm_index, done.user, done.outcome, done.ts_ms);
      }
    };
    ASSIGN_OR_RETURN(gen->pipeline, serving::ServingPipeline::Create(std::move(setup), options.pipeline_options));
    return gen;
  }

  std::mutex sync_mu;  // one SyncExperiments at a time
  std::chrono::steady_clock::time_point last_sync{};

  // The generation to serve `experiment` from. On a shared control plane, an experiment another
  // replica just created may not be served here yet (the control loop syncs once a tick): a request
  // naming one syncs now, at most every 200 ms (a request for a name that does not exist costs one
  // query then, not one per request).
  std::shared_ptr<Generation> GenerationFor(const std::string& experiment) {
    std::shared_ptr<Generation> gen = Current();
    if (!gen || options.control_db.empty() || experiment.empty()) return gen;
    if (std::find(gen->experiments.begin(), gen->experiments.end(), experiment) != gen->experiments.end()) return gen;
    {
      std::lock_guard sync(sync_mu);
      if (std::chrono::steady_clock::now() - last_sync < std::chrono::milliseconds(200)) return Current();
    }
    Status s = SyncExperiments();
    if (!s.ok()) STEWARD_LOG(kWarn) << "serving experiments created elsewhere: " << s.ToString();
    return Current();
  }

  const std::string& ControlLocator() const { return options.control_db.empty() ? options.db_path : options.control_db; }

  // Serves every stored experiment: a new generation when the stored set differs from the served
  // one (another replica created an experiment). The old generation closes once its in-flight
  // requests finish.
  Status SyncExperiments() {
    std::lock_guard sync(sync_mu);
    last_sync = std::chrono::steady_clock::now();
    ASSIGN_OR_RETURN(std::vector<std::string> names, StoredExperiments());
    std::shared_ptr<Generation> gen = Current();
    if (gen && gen->experiments == names) return Status::Ok();
    ASSIGN_OR_RETURN(std::shared_ptr<Generation> fresh, Build(names));
    std::lock_guard drivers(drivers_mu);
    std::lock_guard lock(generation_mu);
    generation = std::move(fresh);
    return Status::Ok();
  }

  StatusOr<std::vector<std::string>> StoredExperiments() {
    std::lock_guard lock(control_mu);
    ASSIGN_OR_RETURN(auto records, storage::ExperimentStore(*control_db).List());
    std::vector<std::string> names;
    for (const auto& r : records) names.push_back(r.name);
    return names;
  }

  // ---- authentication ----
  struct Principal {
    std::string name;
    Role role = Role::kService;
  };

  Status ReloadTokens(int64_t now) {
    std::vector<storage::TokenStore::Verifier> live;
    {
      std::lock_guard lock(control_mu);
      ASSIGN_OR_RETURN(live, storage::TokenStore(*control_db).LiveVerifiers());
    }
    verifiers.clear();
    for (auto& v : live) verifiers.emplace(v.info.id, std::move(v));
    tokens_loaded_ms = now;
    return Status::Ok();
  }

  std::optional<Principal> Authenticate(const std::string& header) {
    static constexpr std::string_view kBearer = "Bearer ";
    if (header.size() <= kBearer.size() || header.compare(0, kBearer.size(), kBearer) != 0) return std::nullopt;
    const std::string_view token = std::string_view(header).substr(kBearer.size());
    const std::string id = storage::TokenStore::TokenId(token);
    if (id.empty()) return std::nullopt;
    std::lock_guard lock(tokens_mu);
    const int64_t now = clock->NowMillis();
    if (tokens_loaded_ms < 0 || now - tokens_loaded_ms >= kTokenReloadMs || now < tokens_loaded_ms) {
      Status s = ReloadTokens(now);
      if (!s.ok()) STEWARD_LOG(kError) << "reloading API tokens: " << s.ToString();
    }
    auto it = verifiers.find(id);
    if (it == verifiers.end() || !storage::TokenStore::Matches(it->second, token)) return std::nullopt;
    return Principal{it->second.info.name, it->second.info.role};
  }

  void AuditDenied(int status, const std::string& actor, const std::string& endpoint, const std::string& method) {
    metrics.CountAuthDenied(status);
    const int64_t now = clock->NowMillis();
    int64_t suppressed = 0;
    {
      std::lock_guard lock(denied_mu);
      if (now / 1000 != denied_second) {
        denied_second = now / 1000;
        denied_in_second = 0;
      }
      if (++denied_in_second > kAuditedDenialsPerSecond) {
        ++denied_suppressed;
        return;
      }
      suppressed = denied_suppressed;
      denied_suppressed = 0;
    }
    storage::AuditEntry e;
    e.ts_ms = now;
    e.actor = actor;
    e.action = storage::AuditActionName(storage::AuditAction::kAuthDenied);
    e.subject = endpoint;
    e.reason = status == 401 ? "no valid API token" : "the token's role may not do this";
    e.payload = DumpJson(json{{"status", status}, {"method", method}, {"suppressed_before", suppressed}});
    std::lock_guard lock(control_mu);
    auto appended = storage::AuditLog(*control_db).Append(std::move(e));
    if (!appended.ok()) STEWARD_LOG(kError) << "auditing a denied request: " << appended.status().ToString();
  }

  // ---- handlers ----
  HttpResponse Recommend(const HttpRequest& request, std::string& arm);
  HttpResponse Assign(const HttpRequest& request);
  HttpResponse Events(const HttpRequest& request);
  HttpResponse ListExperiments();
  HttpResponse GetExperiment(const std::string& name);
  HttpResponse CreateExperiment(const HttpRequest& request, const Principal& who);
  HttpResponse Act(const std::string& name, const std::string& action, const HttpRequest& request, const Principal& who);
  HttpResponse KillSwitch(const HttpRequest& request, const Principal& who);
  HttpResponse Audit(const HttpRequest& request);
  HttpResponse AuditVerify();
  HttpResponse RenderMetrics();
  HttpResponse SdkPayload(const std::string& client_key, const std::string& if_none_match);
  HttpResponse ExperimentAudit(const std::string& name, const HttpRequest& request);
  HttpResponse SignOff(const std::string& name, const HttpRequest& request, const Principal& who);
  // The governance audit of `name` on a connection of its own (it reads every stored exposure: the
  // control connection stays free meanwhile).
  StatusOr<std::pair<fairness::ExperimentAudit, fairness::AuditOptions>> Audit(const std::string& name, int64_t bootstrap, int64_t seed);

  Status Tick() {
    if (!options.control_db.empty()) RETURN_IF_ERROR(SyncExperiments());
    std::shared_ptr<Generation> gen = Current();
    if (!gen) return Status::Ok();
    const int64_t now = clock->NowMillis();
    RETURN_IF_ERROR(gen->pipeline->AdvanceTo(now));
    std::lock_guard lock(drivers_mu);
    for (auto& driver : gen->drivers) {
      auto events = driver->Tick(now);
      if (!events.ok()) STEWARD_LOG(kError) << "control loop, experiment '" << driver->config().name << "': " << events.status().ToString();
    }
    return Status::Ok();
  }

  void ControlLoop() {
    std::unique_lock lock(control_loop_mu);
    while (!stopping) {
      control_cv.wait_for(lock, std::chrono::milliseconds(options.control_tick_ms));
      if (stopping) break;
      lock.unlock();
      Status s = Tick();
      if (!s.ok()) STEWARD_LOG(kError) << "control loop: " << s.ToString();
      lock.lock();
    }
  }
};

Service::Service(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Service::~Service() {
  Status s = Shutdown();
  if (!s.ok()) STEWARD_LOG(kError) << "service shutdown: " << s.ToString();
}

StatusOr<std::unique_ptr<Service>> Service::Create(ServiceOptions options) {
  if (options.db_path.empty()) return InvalidArgument("the service needs a database path");
  if (!options.pipeline_setup) return InvalidArgument("the service needs a pipeline builder");
  if (options.pipeline_options.writer_queue < options.max_event_lines) {
    return InvalidArgument("the event writer's queue (" + std::to_string(options.pipeline_options.writer_queue) +
                           ") must hold at least one full POST /v1/events batch (" + std::to_string(options.max_event_lines) + " lines)");
  }
  auto impl = std::make_unique<Impl>();
  impl->clock = options.clock ? options.clock : &SystemClock::Default();
  impl->options = std::move(options);
  if (impl->options.replica_id.empty()) {
    char host[256] = {};
    if (gethostname(host, sizeof host - 1) != 0) std::snprintf(host, sizeof host, "replica");
    impl->options.replica_id = std::string(host) + "-" + std::to_string(getpid());
  }
  ASSIGN_OR_RETURN(impl->control_db, storage::Database::Open(impl->ControlLocator()));
  if (!impl->options.events_url.empty()) {
    StatusOr<storage::ClickHouseUrl> url = storage::ParseClickHouseUrl(impl->options.events_url);
    if (!url.ok()) return InvalidArgument("--events: " + url.status().message());
    impl->events_url = *url;
    // Before the pipeline's writer starts: the shipper installs the outbox triggers that keep the
    // commit order of every exposure written from now on.
    storage::ShipperOptions shipping;
    shipping.replica = impl->options.replica_id;
    ASSIGN_OR_RETURN(impl->shipper, storage::EventShipper::Start(impl->options.db_path, *url, shipping));
  }
  ASSIGN_OR_RETURN(std::vector<std::string> names, impl->StoredExperiments());
  ASSIGN_OR_RETURN(impl->generation, impl->Build(names));
  RETURN_IF_ERROR(impl->ReloadTokens(impl->clock->NowMillis()));
  std::unique_ptr<Service> service(new Service(std::move(impl)));
  if (service->impl_->options.control_tick_ms > 0) {
    Impl* p = service->impl_.get();
    p->control_thread = std::thread([p] { p->ControlLoop(); });
  }
  return service;
}

Status Service::TickControl() { return impl_->Tick(); }

bool Service::Ready() const {
  if (impl_->shut_down) return false;
  auto gen = impl_->Current();
  if (!gen || !gen->pipeline) return false;
  const serving::PipelineStats s = gen->pipeline->stats();
  if (s.writer.queue_capacity == 0 || s.writer.failed) return false;
  // The database answers (a read on the control connection).
  std::lock_guard lock(impl_->control_mu);
  auto st = impl_->control_db->Prepare("SELECT 1");
  return st.ok() && (*st)->Step().ok();
}

Status Service::Shutdown() {
  Impl& p = *impl_;
  if (p.shut_down.exchange(true)) return Status::Ok();
  {
    std::lock_guard lock(p.control_loop_mu);
    p.stopping = true;
  }
  p.control_cv.notify_all();
  if (p.control_thread.joinable()) p.control_thread.join();
  std::shared_ptr<Generation> gen;
  {
    std::lock_guard lock(p.generation_mu);
    gen = std::move(p.generation);
  }
  if (!gen) return Status::Ok();
  // Lists still open complete now (models and the control loop see them), then every accepted
  // event is flushed by Close().
  Status s = gen->pipeline->Close();
  if (p.shipper) {
    // Everything committed goes to ClickHouse before the process exits (what is left stays in
    // the spool for the next start).
    Status shipped = p.shipper->Flush(p.options.shutdown_ship_ms);
    if (!shipped.ok()) STEWARD_LOG(kWarn) << "events not yet in ClickHouse stay in the spool: " << shipped.ToString();
    p.shipper->Close();
  }
  return s;
}

HttpResponse Service::Handle(const HttpRequest& request) {
  Impl& p = *impl_;
  const auto started = std::chrono::steady_clock::now();
  const size_t q = request.target.find('?');
  const std::string path = request.target.substr(0, q);
  const Route route = MatchRoute(request.method, path);
  std::string arm;
  HttpResponse response;
  [&] {
    if (route.endpoint == Endpoint::kNotFound) {
      response = ErrorResponse({404, "not_found", "no endpoint at " + SanitizeLine(path) + " (see docs/api.md)", ""});
      return;
    }
    if (route.endpoint == Endpoint::kMethodNotAllowed) {
      response = ErrorResponse({405, "method_not_allowed", request.method + " is not allowed on " + SanitizeLine(path), ""});
      response.headers.emplace_back("Allow", route.allow);
      return;
    }
    if (route.endpoint == Endpoint::kHealthz) {
      response = JsonResponse(200, {{"status", "ok"}});
      return;
    }
    if (route.endpoint == Endpoint::kSdkPayload) {  // the client key is the credential
      response = p.SdkPayload(route.name, request.if_none_match);
      return;
    }
    if (request.body.size() > p.options.max_body_bytes) {
      response = ErrorResponse({413, "payload_too_large", "the body is larger than " + std::to_string(p.options.max_body_bytes) + " bytes", "body"});
      return;
    }
    std::optional<Impl::Principal> who = p.Authenticate(request.authorization);
    if (!who) {
      response = ErrorResponse({401, "unauthorized", "send a valid API token: Authorization: Bearer stw_... (steward token create)", ""});
      response.headers.emplace_back("WWW-Authenticate", "Bearer");
      p.AuditDenied(401, "anonymous", route.pattern, request.method);
      return;
    }
    if (!RoleAllows(who->role, route.permission)) {
      response = ErrorResponse({403, "forbidden", "token '" + who->name + "' has role " + storage::RoleName(who->role) + "; " +
                                                      route.pattern + " needs role " + PermissionRoles(route.permission), ""});
      p.AuditDenied(403, who->name, route.pattern, request.method);
      return;
    }
    if (p.shut_down) {
      response = ErrorResponse({503, "unavailable", "the service is shutting down", ""});
      return;
    }
    switch (route.endpoint) {
      case Endpoint::kReadyz:
        response = Ready() ? JsonResponse(200, {{"status", "ready"}}) : ErrorResponse({503, "unavailable", "not ready", ""});
        return;
      case Endpoint::kRecommend: response = p.Recommend(request, arm); return;
      case Endpoint::kAssign: response = p.Assign(request); return;
      case Endpoint::kEvents: response = p.Events(request); return;
      case Endpoint::kExperiments: response = p.ListExperiments(); return;
      case Endpoint::kExperiment: response = p.GetExperiment(route.name); return;
      case Endpoint::kCreateExperiment: response = p.CreateExperiment(request, *who); return;
      case Endpoint::kExperimentAction: response = p.Act(route.name, route.action, request, *who); return;
      case Endpoint::kKillSwitch: response = p.KillSwitch(request, *who); return;
      case Endpoint::kAudit: response = p.Audit(request); return;
      case Endpoint::kAuditVerify: response = p.AuditVerify(); return;
      case Endpoint::kMetrics: response = p.RenderMetrics(); return;
      case Endpoint::kExperimentAudit: response = p.ExperimentAudit(route.name, request); return;
      case Endpoint::kSignOff: response = p.SignOff(route.name, request, *who); return;
      case Endpoint::kWhoami: response = JsonResponse(200, {{"name", who->name}, {"role", storage::RoleName(who->role)}}); return;
      default: response = ErrorResponse({404, "not_found", "no endpoint", ""}); return;
    }
  }();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  p.metrics.ObserveRequest(route.pattern, arm, response.status, seconds);
  return response;
}

HttpResponse Service::Impl::Recommend(const HttpRequest& request, std::string& arm) {
  json body;
  if (auto e = ParseObject(request.body, options.max_json_depth, body)) return ErrorResponse(*e);
  serving::ServeRequest rq;
  int64_t k = 10;
  if (auto e = GetString(body, "user_id", true, rq.user_id)) return ErrorResponse(*e);
  if (auto e = GetString(body, "experiment", false, rq.experiment)) return ErrorResponse(*e);
  if (auto e = GetInt(body, "k", false, 1, 100, k)) return ErrorResponse(*e);
  if (auto e = GetAttributes(body, rq.attributes)) return ErrorResponse(*e);
  rq.k = static_cast<int>(k);
  rq.ts_ms = clock->NowMillis();
  ContextFrom(rq);
  auto gen = GenerationFor(rq.experiment);
  if (!gen) return ErrorResponse({503, "unavailable", "the service is shutting down", ""});
  auto served = gen->pipeline->Serve(rq);
  if (!served.ok()) {
    const bool unknown = served.status().code() == StatusCode::kNotFound;
    return ErrorResponse(FromStatus(served.status(), unknown ? "experiment" : ""));
  }
  arm = served->arm;
  json items = json::array();
  for (const auto& item : served->items) {
    items.push_back({{"item_id", item.item_id}, {"score", item.score}, {"propensity", item.propensity}});
  }
  return JsonResponse(200, {{"request_id", served->request_id}, {"experiment", served->experiment}, {"arm", served->arm},
                            {"model_version", served->model_version}, {"items", items},
                            {"safety", {{"blocked", served->safety_blocked}, {"demoted", served->safety_demoted}}}});
}

HttpResponse Service::Impl::Assign(const HttpRequest& request) {
  json body;
  if (auto e = ParseObject(request.body, options.max_json_depth, body)) return ErrorResponse(*e);
  std::string experiment;
  if (auto e = GetString(body, "experiment", true, experiment)) return ErrorResponse(*e);
  std::vector<std::string> users;
  const bool many = body.contains("user_ids");
  if (many && body.contains("user_id")) return ErrorResponse(BadField("user_ids", "send either user_id or user_ids, not both"));
  if (many) {
    const json& list = body["user_ids"];
    if (!list.is_array() || list.empty()) return ErrorResponse(BadField("user_ids", "must be a non-empty array of strings"));
    if (list.size() > options.max_assign_users) {
      return ErrorResponse(BadField("user_ids", "at most " + std::to_string(options.max_assign_users) + " per request"));
    }
    for (size_t i = 0; i < list.size(); ++i) {
      if (!list[i].is_string()) return ErrorResponse(BadField("user_ids[" + std::to_string(i) + "]", "must be a string"));
      users.push_back(list[i].get<std::string>());
    }
  } else {
    std::string user;
    if (auto e = GetString(body, "user_id", true, user)) return ErrorResponse(*e);
    users.push_back(std::move(user));
  }
  auto gen = GenerationFor(experiment);
  if (!gen) return ErrorResponse({503, "unavailable", "the service is shutting down", ""});
  json out = json::array();
  for (size_t i = 0; i < users.size(); ++i) {
    auto a = gen->pipeline->Assign(users[i], experiment);
    if (!a.ok()) {
      if (a.status().code() == StatusCode::kNotFound) return ErrorResponse(FromStatus(a.status(), "experiment"));
      if (!many) return ErrorResponse(FromStatus(a.status(), "user_id"));
      // The pipeline's message names user_id; say which element.
      const std::string field = "user_ids[" + std::to_string(i) + "]";
      std::string message = a.status().message();
      if (message.rfind("user_id", 0) == 0) message = field + message.substr(7);
      return ErrorResponse({400, "invalid_argument", message, field});
    }
    out.push_back({{"user", users[i]}, {"hash", a->hash}, {"arm", a->in_experiment ? json(a->arm) : json(nullptr)},
                   {"arm_index", a->arm_index}, {"in_experiment", a->in_experiment}});
  }
  if (many) return JsonResponse(200, {{"experiment", experiment}, {"assignments", out}});
  return JsonResponse(200, out[0]);
}

HttpResponse Service::Impl::Events(const HttpRequest& request) {
  // Split first: the line count decides whether the writer has room for the whole batch.
  std::vector<std::string_view> lines;
  std::string_view rest = request.body;
  while (!rest.empty()) {
    const size_t nl = rest.find('\n');
    lines.push_back(rest.substr(0, nl));
    if (nl == std::string_view::npos) break;
    rest = rest.substr(nl + 1);
  }
  if (lines.size() > options.max_event_lines) {
    return ErrorResponse({413, "payload_too_large", "at most " + std::to_string(options.max_event_lines) + " lines per request", "body"});
  }
  auto gen = Current();
  if (!gen) return ErrorResponse({503, "unavailable", "the service is shutting down", ""});
  if (!gen->pipeline->WriterHasRoom(lines.size())) {
    metrics.CountEvents(0, 0, 1);
    HttpResponse r = ErrorResponse({503, "unavailable", "the event writer's queue is full; retry the same batch after Retry-After seconds", ""});
    r.headers.emplace_back("Retry-After", std::to_string(options.retry_after_seconds));
    return r;
  }
  const int64_t now = clock->NowMillis();
  uint64_t accepted = 0;
  int64_t max_external = 0;
  json rejected = json::array();
  auto reject = [&](size_t line, const std::string& reason) { rejected.push_back({{"line", line + 1}, {"reason", reason}}); };
  // Pass 1: parse and validate every line; collect the exposures' ids for one duplicate check.
  struct Parsed {
    size_t line = 0;
    bool exposure = false;
    serving::FeedbackEvent feedback;
    serving::ExternalExposure external;
  };
  std::vector<Parsed> parsed;
  parsed.reserve(lines.size());
  std::vector<int64_t> external_ids;
  for (size_t i = 0; i < lines.size(); ++i) {
    auto result = ParseEventLine(lines[i], now, options.max_json_depth);
    if (std::holds_alternative<std::monostate>(result)) continue;
    if (const ApiError* err = std::get_if<ApiError>(&result)) {
      reject(i, err->field == "line" ? "not a JSON object" : err->message);
      continue;
    }
    EventLine& e = std::get<EventLine>(result);
    Parsed p;
    p.line = i;
    if (e.type == EventLine::Type::kExposure) {
      p.exposure = true;
      serving::ExternalExposure& x = p.external;
      x.request_id = e.request_id;
      x.ts_ms = e.ts_ms;
      x.user_id = std::move(e.user_id);
      x.experiment = std::move(e.experiment);
      x.arm = std::move(e.arm);
      x.attributes = std::move(e.attributes);
      x.items = std::move(e.items);
      x.source = std::move(e.source);
      external_ids.push_back(e.request_id);
    } else {
      p.feedback.request_id = e.request_id;
      p.feedback.ts_ms = e.ts_ms;
      p.feedback.item_id = e.item_id;
      p.feedback.kind = e.type == EventLine::Type::kClick ? storage::FeedbackKind::kClick : storage::FeedbackKind::kConversion;
    }
    parsed.push_back(std::move(p));
  }
  std::vector<int64_t> stored_ids;
  if (!external_ids.empty()) {
    auto stored = gen->pipeline->StoredRequestIds(external_ids);
    if (!stored.ok()) return ErrorResponse(FromStatus(stored.status()));
    stored_ids = std::move(stored).value();
    std::sort(stored_ids.begin(), stored_ids.end());
  }
  // Pass 2: record in line order.
  for (Parsed& p : parsed) {
    Status s;
    if (p.exposure) {
      if (std::binary_search(stored_ids.begin(), stored_ids.end(), p.external.request_id)) {
        s = AlreadyExists("request_id: " + std::to_string(p.external.request_id) + " is already used");
      } else {
        s = gen->pipeline->RecordExposure(p.external, /*check_store=*/false);
      }
      if (s.ok()) max_external = std::max(max_external, p.external.request_id);
    } else {
      s = gen->pipeline->RecordFeedback(p.feedback);
    }
    if (s.ok()) {
      ++accepted;
    } else if (s.code() == StatusCode::kInvalidArgument || s.code() == StatusCode::kNotFound || s.code() == StatusCode::kAlreadyExists) {
      reject(p.line, s.message());
    } else {
      // The writer failed (disk full, I/O): nothing after this line is accepted; say so.
      metrics.CountEvents(accepted, rejected.size(), 0);
      return ErrorResponse({500, "internal", "event on line " + std::to_string(p.line + 1) + " could not be logged: " + s.message() +
                                                 "; lines before it may be stored, retry the batch after fixing the cause", ""});
    }
  }
  // Rejections in line order (pass 1 and pass 2 interleave).
  std::vector<json> sorted(rejected.begin(), rejected.end());
  std::stable_sort(sorted.begin(), sorted.end(), [](const json& a, const json& b) { return a["line"].get<size_t>() < b["line"].get<size_t>(); });
  rejected = json(sorted);
  if (max_external > 0) {
    Status s = gen->pipeline->ReserveExternalIds(max_external);
    if (!s.ok()) STEWARD_LOG(kWarn) << "moving the request-id sequence past external ids: " << s.ToString();
  }
  // Durable before 200: wait for the group commit that covers every accepted event.
  if (accepted > 0) {
    Status s = gen->pipeline->Flush();
    if (!s.ok()) return ErrorResponse({500, "internal", "events were not committed: " + s.message(), ""});
  }
  metrics.CountEvents(accepted, rejected.size(), 0);
  return JsonResponse(200, {{"accepted", accepted}, {"rejected", rejected}});
}

HttpResponse Service::Impl::ListExperiments() {
  std::lock_guard lock(control_mu);
  serving::RolloutController controller(*control_db, *clock);
  auto all = storage::ExperimentStore(*control_db).List();
  if (!all.ok()) return ErrorResponse(FromStatus(all.status()));
  json list = json::array();
  for (const auto& record : *all) {
    auto config = controller.Config(record.name);
    if (!config.ok()) return ErrorResponse(FromStatus(config.status()));
    auto s = controller.Status(record.name);
    if (!s.ok()) return ErrorResponse(FromStatus(s.status()));
    list.push_back(json::parse(experiment::RolloutStatusJson(record.name, *config, *s, record.current_version)));
  }
  auto killed = controller.KillSwitch();
  if (!killed.ok()) return ErrorResponse(FromStatus(killed.status()));
  return JsonResponse(200, {{"experiments", list}, {"kill_switch", *killed}});
}

HttpResponse Service::Impl::GetExperiment(const std::string& name) {
  std::lock_guard lock(control_mu);
  serving::RolloutController controller(*control_db, *clock);
  auto record = storage::ExperimentStore(*control_db).Get(name);
  if (!record.ok()) return ErrorResponse(FromStatus(record.status(), "name"));
  auto config = controller.Config(name);
  if (!config.ok()) return ErrorResponse(FromStatus(config.status()));
  auto s = controller.Status(name);
  if (!s.ok()) return ErrorResponse(FromStatus(s.status()));
  // One experiment adds its current definition (as validated and stored), for the console's ramp.
  json out = json::parse(experiment::RolloutStatusJson(name, *config, *s, record->current_version));
  out["definition"] = json::parse(config->source_json, nullptr, false);
  return JsonResponse(200, out);
}

HttpResponse Service::Impl::CreateExperiment(const HttpRequest& request, const Principal& who) {
  if (JsonDepth(request.body) > options.max_json_depth) {
    return ErrorResponse(BadField("body", "nested deeper than " + std::to_string(options.max_json_depth) + " levels"));
  }
  auto root = ConfigNode::Parse(request.body, "body");
  if (!root.ok()) return ErrorResponse(FromStatus(root.status(), "body"));
  auto config = experiment::ParseExperimentConfig(*root, options.model_names);
  if (!config.ok()) return ErrorResponse(FromStatus(config.status()));
  const auto query = QueryOf(request.target);
  const std::string reason = query.count("reason") ? query.at("reason") : "";
  if (Status s = CheckLine(reason, "reason"); !s.ok()) return ErrorResponse(FromStatus(s, "reason"));
  bool is_new = false;
  int64_t version = 0;
  bool pending = false;
  {
    std::lock_guard lock(control_mu);
    serving::RolloutController controller(*control_db, *clock);
    auto existing = controller.Status(config->name);
    auto current = controller.Config(config->name);
    is_new = !current.ok() && current.status().code() == StatusCode::kNotFound;
    const bool live = existing.ok() && existing->state != experiment::RolloutState::kDraft && current.ok() &&
                      current->source_json != config->source_json;
    if (live && reason.empty()) {
      return ErrorResponse(BadField("reason", "experiment '" + config->name + "' is " + experiment::RolloutStateName(existing->state) +
                                                  ": changing it needs ?reason=... in the URL"));
    }
    auto saved = controller.Create(*config, who.name, reason);
    if (!saved.ok()) return ErrorResponse(FromStatus(saved.status()));
    version = *saved;
    auto after = controller.Status(config->name);
    pending = after.ok() && after->pending_version == version;
  }
  if (is_new) {
    // Serve it: a new generation with every stored experiment; the old one closes once its
    // in-flight requests finish (its open lists complete, its events flush).
    auto names = StoredExperiments();
    if (!names.ok()) return ErrorResponse(FromStatus(names.status()));
    auto gen = Build(*names);
    if (!gen.ok()) {
      return ErrorResponse({500, "internal", "experiment saved, but serving it failed: " + gen.status().message() +
                                                 "; restart `steward serve` to serve it", ""});
    }
    std::lock_guard drivers(drivers_mu);
    std::lock_guard lock(generation_mu);
    generation = std::move(gen).value();
  }
  return JsonResponse(is_new ? 201 : 200, {{"name", config->name}, {"version", version}, {"pending_approval", pending}});
}

HttpResponse Service::Impl::Act(const std::string& name, const std::string& action, const HttpRequest& request, const Principal& who) {
  json body = json::object();
  if (!request.body.empty()) {
    if (auto e = ParseObject(request.body, options.max_json_depth, body)) return ErrorResponse(*e);
  }
  std::string reason, role;
  int64_t version = 0;
  if (auto e = GetString(body, "reason", action == "rollback" || action == "stop", reason)) return ErrorResponse(*e);
  if (auto e = GetString(body, "role", false, role)) return ErrorResponse(*e);
  if (auto e = GetInt(body, "version", false, 1, INT64_MAX, version)) return ErrorResponse(*e);
  if ((action == "rollback" || action == "stop") && reason.empty()) return ErrorResponse(BadField("reason", "required: say why"));
  Status s;
  json out;
  {
    std::lock_guard lock(control_mu);
    serving::RolloutController controller(*control_db, *clock);
    auto before = controller.Status(name);
    if (!before.ok() && before.status().code() == StatusCode::kNotFound) return ErrorResponse(FromStatus(before.status(), "name"));
    if (action == "start") {
      s = controller.Start(name, who.name, reason);
    } else if (action == "approve") {
      if (version > 0) {
        if (role.empty() && before.ok() && before->pending_roles.size() == 1) role = before->pending_roles[0];
        if (role.empty()) return ErrorResponse(BadField("role", "required: the approving role the proposal names"));
        s = controller.ApproveVersion(name, version, role, who.name, reason);
      } else {
        if (role.empty() && before.ok()) role = before->waiting_for_role;
        if (role.empty()) return ErrorResponse(BadField("role", "required: the next step waits for no role; name the role you approve as"));
        s = controller.Approve(name, role, who.name, reason);
      }
    } else if (action == "promote") {
      s = controller.Promote(name, who.name, reason);
    } else if (action == "rollback") {
      s = controller.Rollback(name, who.name, reason);  // works on a tampered state (controller.h)
    } else if (action == "stop") {
      s = controller.Stop(name, who.name, reason);
    }
    if (s.ok()) {
      auto after = controller.Status(name);
      auto config = controller.Config(name);
      auto record = storage::ExperimentStore(*control_db).Get(name);
      if (after.ok() && config.ok() && record.ok()) {
        out = json::parse(experiment::RolloutStatusJson(name, *config, *after, record->current_version));
      } else {
        out = {{"name", name}};
      }
    }
  }
  if (!s.ok()) return ErrorResponse(FromStatus(s));
  // Serving applies it now (the watcher would within control_poll_ms).
  if (auto gen = Current()) {
    Status r = gen->pipeline->Refresh();
    if (!r.ok()) STEWARD_LOG(kWarn) << "refresh after " << action << ": " << r.ToString();
  }
  return JsonResponse(200, out);
}

HttpResponse Service::Impl::KillSwitch(const HttpRequest& request, const Principal& who) {
  json body;
  if (auto e = ParseObject(request.body, options.max_json_depth, body)) return ErrorResponse(*e);
  auto on = body.find("on");
  if (on == body.end() || !on->is_boolean()) return ErrorResponse(BadField("on", "required: true or false"));
  std::string reason;
  if (auto e = GetString(body, "reason", true, reason)) return ErrorResponse(*e);
  if (reason.empty()) return ErrorResponse(BadField("reason", "required: say why"));
  {
    std::lock_guard lock(control_mu);
    serving::RolloutController controller(*control_db, *clock);
    Status s = controller.SetKillSwitch(on->get<bool>(), who.name, reason);
    if (!s.ok()) return ErrorResponse(FromStatus(s));
  }
  if (auto gen = Current()) {
    Status r = gen->pipeline->Refresh();
    if (!r.ok()) STEWARD_LOG(kWarn) << "refresh after the kill switch: " << r.ToString();
  }
  return JsonResponse(200, {{"kill_switch", on->get<bool>()}});
}

HttpResponse Service::Impl::Audit(const HttpRequest& request) {
  const auto query = QueryOf(request.target);
  int64_t after = 0, limit = 100;
  if (auto e = QueryInt(query, "after_seq", 0, INT64_MAX, after)) return ErrorResponse(*e);
  if (auto e = QueryInt(query, "limit", 1, 1000, limit)) return ErrorResponse(*e);
  std::lock_guard lock(control_mu);
  auto entries = storage::AuditLog(*control_db).After(after, static_cast<int>(limit));
  if (!entries.ok()) return ErrorResponse(FromStatus(entries.status()));
  json list = json::array();
  for (const auto& e : *entries) list.push_back(json::parse(storage::AuditEntryJson(e, storage::PayloadAs::kObject)));
  const int64_t next = entries->empty() ? after : entries->back().seq;
  return JsonResponse(200, {{"entries", list}, {"next_after_seq", next}});
}

HttpResponse Service::Impl::AuditVerify() {
  std::lock_guard lock(control_mu);
  auto result = storage::AuditLog(*control_db).Verify();
  if (!result.ok()) return ErrorResponse(FromStatus(result.status()));
  return JsonResponse(200, {{"ok", result->ok},
                            {"rows", result->rows},
                            {"first_bad_seq", result->first_bad_seq},
                            {"problem", result->problem},
                            {"anchored_seq", result->anchored_seq},
                            {"unanchored_reason", result->unanchored_reason}});
}

StatusOr<std::pair<fairness::ExperimentAudit, fairness::AuditOptions>> Service::Impl::Audit(const std::string& name, int64_t bootstrap,
                                                                                            int64_t seed) {
  storage::DatabaseOptions read_only;
  read_only.read_only = true;
  ASSIGN_OR_RETURN(auto db, storage::Database::Open(options.db_path, read_only));
  ManualClock reads(0);
  experiment::ExperimentConfig config;
  if (options.control_db.empty()) {
    ASSIGN_OR_RETURN(config, serving::RolloutController(*db, reads).Config(name));
  } else {  // the definition is in the control plane; the events in this replica's file
    std::lock_guard lock(control_mu);
    ASSIGN_OR_RETURN(config, serving::RolloutController(*control_db, reads).Config(name));
  }
  fairness::AuditOptions o;
  o.bootstrap = static_cast<int>(bootstrap);
  o.seed = static_cast<uint64_t>(seed);
  o.computed_at_ms = clock->NowMillis();
  o.excluded_arm = serving::kExcludedArm;
  ASSIGN_OR_RETURN(fairness::ExperimentAudit report, fairness::AuditExperiment(*db, config, o));
  return std::make_pair(std::move(report), o);
}

HttpResponse Service::Impl::ExperimentAudit(const std::string& name, const HttpRequest& request) {
  const auto query = QueryOf(request.target);
  int64_t bootstrap = 200, seed = 1;
  if (auto e = QueryInt(query, "bootstrap", 0, 10000, bootstrap)) return ErrorResponse(*e);
  if (auto e = QueryInt(query, "seed", 0, INT64_MAX, seed)) return ErrorResponse(*e);
  auto audited = Audit(name, bootstrap, seed);
  if (!audited.ok()) return ErrorResponse(FromStatus(audited.status(), audited.status().code() == StatusCode::kNotFound ? "name" : ""));
  HttpResponse r;
  r.body = fairness::ExperimentAuditJson(audited->first, audited->second) + "\n";
  return r;
}

// Same decision and evidence as `steward audit sign-off`: a fresh audit, its hash, the definitions
// version and the thresholds into the audit log (serving::SignOffFor, RolloutController::SignOffStep).
HttpResponse Service::Impl::SignOff(const std::string& name, const HttpRequest& request, const Principal& who) {
  json body;
  if (auto e = ParseObject(request.body, options.max_json_depth, body)) return ErrorResponse(*e);
  std::string decision, reason;
  int64_t bootstrap = 200, seed = 1;
  if (auto e = GetString(body, "decision", true, decision)) return ErrorResponse(*e);
  if (decision != "approve" && decision != "block") return ErrorResponse(BadField("decision", "must be \"approve\" or \"block\""));
  if (auto e = GetString(body, "reason", true, reason)) return ErrorResponse(*e);
  if (reason.empty()) return ErrorResponse(BadField("reason", "required: say why"));
  if (auto e = GetInt(body, "bootstrap", false, 0, 10000, bootstrap)) return ErrorResponse(*e);
  if (auto e = GetInt(body, "seed", false, 0, INT64_MAX, seed)) return ErrorResponse(*e);
  auto audited = Audit(name, bootstrap, seed);
  if (!audited.ok()) return ErrorResponse(FromStatus(audited.status(), audited.status().code() == StatusCode::kNotFound ? "name" : ""));
  const fairness::ExperimentAudit& report = audited->first;
  json out;
  {
    std::lock_guard lock(control_mu);
    serving::RolloutController controller(*control_db, *clock);
    auto config = controller.Config(name);
    if (!config.ok()) return ErrorResponse(FromStatus(config.status(), "name"));
    const serving::SignOff s = serving::SignOffFor(
        report, audited->second, config->audits,
        decision == "approve" ? serving::SignOff::Decision::kApprove : serving::SignOff::Decision::kBlock, who.name, reason);
    Status signed_off = controller.SignOffStep(name, s);
    if (!signed_off.ok()) return ErrorResponse(FromStatus(signed_off));
    auto status = controller.Status(name);
    if (!status.ok()) return ErrorResponse(FromStatus(status.status()));
    out = {{"experiment", name}, {"decision", decision}, {"report_hash", s.report_hash},
           {"definitions_version", s.definitions_version}, {"passed", report.passed}, {"failures", report.failures},
           {"state", experiment::RolloutStateName(status->state)}, {"blocked", status->blocked}, {"approvals", status->approvals}};
  }
  if (auto gen = Current()) {
    Status r = gen->pipeline->Refresh();
    if (!r.ok()) STEWARD_LOG(kWarn) << "refresh after a sign-off: " << r.ToString();
  }
  return JsonResponse(200, out);
}

// GrowthBook's SDK payload (docs/api.md, "GrowthBook SDKs"): one feature per experiment whose value
// is the arm name, with one experiment rule at the rollout's live coverage, so the official SDKs
// assign exactly as /v1/assign does and follow rollbacks within their refresh interval.
HttpResponse Service::Impl::SdkPayload(const std::string& client_key, const std::string& if_none_match) {
  json features = json::object();
  int64_t updated_ms = 0;
  {
    std::lock_guard lock(control_mu);
    auto key = storage::TokenStore(*control_db).FindSdkKey(client_key);
    if (!key.ok()) return ErrorResponse(FromStatus(key.status()));
    if (!*key || (*key)->revoked_ms) {
      metrics.CountAuthDenied(401);
      return ErrorResponse({401, "unauthorized", "unknown or revoked SDK client key (steward sdk-key create)", ""});
    }
    serving::RolloutController controller(*control_db, *clock);
    auto all = storage::ExperimentStore(*control_db).List();
    if (!all.ok()) return ErrorResponse(FromStatus(all.status()));
    for (const auto& record : *all) {
      const auto& wanted = (*key)->experiments;
      if (!wanted.empty() && std::find(wanted.begin(), wanted.end(), record.name) == wanted.end()) continue;
      auto config = controller.Config(record.name);
      auto coverage = controller.ServingCoverageFor(record.name);  // 0 unless live (or complete); 0 under the kill switch
      if (!config.ok() || !coverage.ok()) return ErrorResponse(FromStatus(config.ok() ? coverage.status() : config.status()));
      if (config->type != experiment::ExperimentType::kAB) continue;  // interleaving has no per-user arm
      json variations = json::array(), weights = json::array(), meta = json::array();
      for (size_t a = 0; a < config->arms.size(); ++a) {
        variations.push_back(config->arms[a].name);
        weights.push_back(config->arms[a].weight);
        meta.push_back({{"key", std::to_string(a)}, {"name", config->arms[a].name}});
      }
      json rule = {{"key", config->name},         {"variations", variations},
                   {"weights", weights},          {"coverage", *coverage},
                   {"hashAttribute", config->hash_attribute}, {"seed", config->seed},
                   {"hashVersion", config->hash_version},     {"meta", meta},
                   {"name", config->name}};
      if (config->namespace_) rule["namespace"] = json::array({config->namespace_->name, config->namespace_->start, config->namespace_->end});
      features[config->name] = {{"defaultValue", config->arms[0].name}, {"rules", json::array({rule})}};
    }
    auto latest = storage::AuditLog(*control_db).Recent(1);
    if (latest.ok() && !latest->empty()) updated_ms = latest->front().ts_ms;
  }
  const std::string features_text = DumpJson(features);
  const std::string etag = "\"" + storage::Sha256Hex(features_text).substr(0, 32) + "\"";
  if (!if_none_match.empty() && (if_none_match == etag || if_none_match == "W/" + etag || if_none_match == "*")) {
    HttpResponse r;
    r.status = 304;
    r.headers.emplace_back("ETag", etag);
    r.headers.emplace_back("Cache-Control", "no-cache");
    return r;
  }
  char date[32] = "1970-01-01T00:00:00.000Z";
  const std::time_t seconds = static_cast<std::time_t>(updated_ms / 1000);
  std::tm tm{};
  if (gmtime_r(&seconds, &tm)) {
    char base[24];
    std::strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
    std::snprintf(date, sizeof date, "%s.%03dZ", base, static_cast<int>(updated_ms % 1000));
  }
  HttpResponse r;
  r.body = "{\"status\":200,\"features\":" + features_text + ",\"dateUpdated\":\"" + date + "\"}\n";
  r.headers.emplace_back("ETag", etag);
  r.headers.emplace_back("Cache-Control", "no-cache");
  r.headers.emplace_back("Access-Control-Allow-Origin", "*");  // browsers fetch it cross-origin, like GrowthBook's CDN
  return r;
}

HttpResponse Service::Impl::RenderMetrics() {
  std::string out = metrics.Render();
  auto gen = Current();
  if (gen) {
    const serving::PipelineStats s = gen->pipeline->stats();
    auto gauge = [&out](const std::string& name, const std::string& help, const std::string& type, double value) {
      out += "# HELP " + name + " " + help + "\n# TYPE " + name + " " + type + "\n" + name + " " + PromNumber(value) + "\n";
    };
    gauge("steward_served_total", "Requests served by this generation of the pipeline.", "counter", static_cast<double>(s.served));
    gauge("steward_safety_blocked_total", "Candidates the safety screen refused (policy rules and risk), this generation.", "counter",
          static_cast<double>(s.safety_blocked));
    gauge("steward_safety_demoted_total", "Served items the safety screen moved to the end of their list for their risk.", "counter",
          static_cast<double>(s.safety_demoted));
    gauge("steward_screened_out_total", "Items a model returned that the safety screen removed afterwards (a model ignoring its filters).",
          "counter", static_cast<double>(s.screened_out));
    gauge("steward_shadow_queue_depth", "Shadow tasks waiting now.", "gauge", static_cast<double>(s.shadow_queue_depth));
    gauge("steward_shadow_dropped_total", "Shadow requests dropped because the shadow queue was full.", "counter",
          static_cast<double>(s.shadow_dropped));
    gauge("steward_event_writer_failed", "1 once the event writer stopped on an error (disk full, I/O): alert on it.", "gauge",
          s.writer.failed ? 1.0 : 0.0);
    gauge("steward_event_writer_queue_depth", "Events waiting for the writer's next group commit.", "gauge",
          static_cast<double>(s.writer.queue_depth));
    gauge("steward_event_writer_queue_capacity", "Most events the writer queues before POST /v1/events answers 503.", "gauge",
          static_cast<double>(s.writer.queue_capacity));
    gauge("steward_events_committed_total", "Events committed by the writer (this generation).", "counter",
          static_cast<double>(s.writer.committed));
    gauge("steward_event_writer_rejected_total", "Events the database refused, kept in rejected_events.", "counter",
          static_cast<double>(s.writer.rejected));
    out += "# HELP steward_event_writer_commit_seconds Duration of one group commit (fsync included).\n";
    out += "# TYPE steward_event_writer_commit_seconds histogram\n";
    for (size_t b = 0; b < storage::EventWriterStats::kCommitBuckets; ++b) {
      char le[32];
      std::snprintf(le, sizeof le, "%g", storage::EventWriterStats::kCommitBucketsSeconds[b]);
      out += "steward_event_writer_commit_seconds_bucket{le=\"" + std::string(le) + "\"} " + std::to_string(s.writer.commit_le[b]) + "\n";
    }
    out += "steward_event_writer_commit_seconds_bucket{le=\"+Inf\"} " + std::to_string(s.writer.batches) + "\n";
    out += "steward_event_writer_commit_seconds_sum " + PromNumber(s.writer.commit_seconds_sum) + "\n";
    out += "steward_event_writer_commit_seconds_count " + std::to_string(s.writer.batches) + "\n";
  }
  if (shipper) {
    const storage::ShipperStats st = shipper->stats();
    auto gauge = [&out](const std::string& name, const std::string& help, const std::string& type, double value) {
      out += "# HELP " + name + " " + help + "\n# TYPE " + name + " " + type + "\n" + name + " " + PromNumber(value) + "\n";
    };
    gauge("steward_clickhouse_rows_shipped_total", "Event rows ClickHouse acknowledged (since start).", "counter",
          static_cast<double>(st.rows_shipped));
    gauge("steward_clickhouse_pending_rows", "Committed event rows not yet acknowledged by ClickHouse (in the local spool).", "gauge",
          static_cast<double>(st.pending_rows));
    gauge("steward_clickhouse_retries_total", "Failed batch sends, each retried as the identical batch.", "counter",
          static_cast<double>(st.retries));
    gauge("steward_clickhouse_last_ack_ms", "Wall-clock ms of ClickHouse's last acknowledgement (0: none yet): alert when it lags.", "gauge",
          static_cast<double>(st.last_ack_ms));
  }
  // Per experiment: state, coverage, guardrail breaches, SRM p-value of the users counted so far.
  std::string state, coverage, breaches, srm;
  {
    std::lock_guard lock(control_mu);
    serving::RolloutController controller(*control_db, *clock);
    auto all = storage::ExperimentStore(*control_db).List();
    if (all.ok()) {
      for (const auto& record : *all) {
        auto s = controller.Status(record.name);
        auto config = controller.Config(record.name);
        if (!s.ok() || !config.ok()) continue;
        const std::string label = "experiment=\"" + Metrics::EscapeLabel(record.name) + "\"";
        for (auto st : {experiment::RolloutState::kDraft, experiment::RolloutState::kShadow, experiment::RolloutState::kRamping,
                        experiment::RolloutState::kHolding, experiment::RolloutState::kCompleted, experiment::RolloutState::kRolledBack,
                        experiment::RolloutState::kStopped}) {
          state += "steward_experiment_state{" + label + ",state=\"" + experiment::RolloutStateName(st) + "\"} " +
                   (s->state == st ? "1" : "0") + "\n";
        }
        auto serving_coverage = controller.ServingCoverageFor(record.name);
        coverage += "steward_experiment_coverage{" + label + "} " + PromNumber(serving_coverage.ok() ? *serving_coverage : 0.0) + "\n";
        int breached = 0;
        for (const auto& g : s->guardrails) breached += g.breached ? 1 : 0;
        breaches += "steward_experiment_guardrail_breaches{" + label + "} " + std::to_string(breached) + "\n";
      }
    }
  }
  if (gen) {
    std::lock_guard lock(drivers_mu);
    for (const auto& driver : gen->drivers) {
      const auto& config = driver->config();
      const std::vector<double> users = driver->UsersPerArm();
      std::vector<double> weights;
      for (const auto& arm_config : config.arms) weights.push_back(arm_config.weight);
      auto r = experiment::SampleRatioMismatch(users, weights);
      if (r.ok()) srm += "steward_experiment_srm_p_value{experiment=\"" + Metrics::EscapeLabel(config.name) + "\"} " + PromNumber(r->p_value) + "\n";
    }
  }
  out += "# HELP steward_experiment_state 1 for the experiment's rollout state.\n# TYPE steward_experiment_state gauge\n" + state;
  out += "# HELP steward_experiment_coverage Share of users in the experiment served now.\n# TYPE steward_experiment_coverage gauge\n" + coverage;
  out += "# HELP steward_experiment_guardrail_breaches Guardrails breached at the last analysis.\n"
         "# TYPE steward_experiment_guardrail_breaches gauge\n" + breaches;
  out += "# HELP steward_experiment_srm_p_value Sample-ratio mismatch p-value of the users counted by the control loop.\n"
         "# TYPE steward_experiment_srm_p_value gauge\n" + srm;
  HttpResponse r;
  r.content_type = "text/plain; version=0.0.4; charset=utf-8";
  r.body = std::move(out);
  return r;
}

}  // namespace steward::server
