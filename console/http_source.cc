// HttpSource: the console on a running `steward serve` (console/source.h).
#include <atomic>
#include <cctype>
#include <chrono>
#include <map>
#include <fstream>
#include <mutex>
#include <sstream>

#include <nlohmann/json.hpp>

#include "common/clock.h"
#include "common/config.h"
#include "common/json.h"
#include "console/source.h"
#include "server/client.h"
#include "storage/audit_log.h"

namespace steward::console {
namespace {

using nlohmann::json;

std::string UrlEncode(const std::string& text) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

// The service's error body {"error": {"code", "message"}} as a Status; 403 as Forbidden().
Status FromResponse(const server::HttpResponse& r) {
  std::string message = "HTTP " + std::to_string(r.status);
  json body = json::parse(r.body, nullptr, false);
  if (!body.is_discarded() && body.contains("error") && body["error"].is_object()) {
    message = body["error"].value("message", message);
  }
  switch (r.status) {
    case 401: return Forbidden("the token was refused (401): " + message);
    case 403: return Forbidden(message);
    case 400: return InvalidArgument(message);
    case 404: return NotFound(message);
    case 409: return FailedPrecondition(message);
    case 503: return Unavailable(message);
    default: return Internal(message);
  }
}

fairness::Figure FigureFrom(const json& j) {
  fairness::Figure f;
  if (!j.is_object() || !j.contains("value") || !j["value"].is_number()) {
    f.defined = false;
    return f;
  }
  f.value = j["value"].get<double>();
  f.ci_low = j.value("ci_low", f.value);
  f.ci_high = j.value("ci_high", f.value);
  return f;
}

// The report JSON of fairness::ExperimentAuditJson, back into the struct the panels draw.
StatusOr<fairness::ExperimentAudit> AuditFrom(const json& j) {
  if (!j.is_object()) return DataLoss("the audit response is not a JSON object");
  fairness::ExperimentAudit a;
  a.name = j.value("name", "");
  a.from_ms = j.value("from_ms", int64_t{0});
  a.to_ms = j.value("to_ms", int64_t{0});
  a.computed_at_ms = j.value("computed_at_ms", int64_t{0});
  a.item_grouping = j.value("item_groups", "");
  a.user_grouping = j.value("user_groups", "");
  a.outside_catalog = j.value("items_outside_catalog", int64_t{0});
  if (j.contains("policy") && j["policy"].is_string()) a.policy_reason = j["policy"].get<std::string>();
  a.passed = j.value("passed", true);
  if (j.contains("failures") && j["failures"].is_array()) a.failures = j["failures"].get<std::vector<std::string>>();
  for (const json& arm : j.value("arms", json::array())) {
    fairness::ArmAudit s;
    s.name = arm.value("name", "");
    const std::string side = arm.value("side", "");
    s.shadow = side == "shadow";
    s.excluded = side == "excluded";
    s.treatment = side == "treatment";
    s.exposures = arm.value("exposures", int64_t{0});
    s.users = arm.value("users", int64_t{0});
    const json metrics = arm.value("metrics", json::object());
    for (const auto& [name, value] : metrics.items()) {
      if (name == "exposure_share") {
        for (const auto& [group, share] : value.items()) {
          s.item_groups.push_back(group);
          s.exposure_share.push_back(FigureFrom(share));
          s.target_share.push_back(share.value("target", -1.0));
          if (share.contains("merit")) s.merit_share.push_back(share["merit"].get<double>());
        }
      } else if (name == "user_groups") {
        for (const auto& [dim, groups] : value.items()) {
          for (const auto& [g, v] : groups.items()) s.user_groups[dim][g] = {v.value("ctr", 0.0), v.value("lists", int64_t{0})};
        }
      } else {
        s.metrics[name] = FigureFrom(value);
      }
    }
    for (const json& c : arm.value("checks", json::array())) {
      fairness::AuditCheck check;
      check.key = c.value("key", "");
      check.metric = c.value("metric", "");
      check.threshold = c.value("threshold", 0.0);
      check.bound = c.value("bound", "max") == "max" ? experiment::AuditBound::kMax : experiment::AuditBound::kMin;
      check.figure = FigureFrom(c);
      const std::string status = c.value("status", "");
      check.status = status == "pass" ? fairness::CheckStatus::kPass : status == "fail" ? fairness::CheckStatus::kFail
                                                                                       : fairness::CheckStatus::kInsufficientData;
      check.note = c.value("note", "");
      s.checks.push_back(std::move(check));
    }
    if (arm.contains("review_labels") && arm["review_labels"].is_object()) {
      for (const auto& [label, n] : arm["review_labels"].items()) s.review_labels[label] = n.get<int64_t>();
    }
    a.arms.push_back(std::move(s));
  }
  for (const json& w : j.value("windows", json::array())) {
    fairness::WindowAudit wa;
    wa.arm = w.value("arm", "");
    wa.start_ms = w.value("start_ms", int64_t{0});
    wa.end_ms = w.value("end_ms", int64_t{0});
    for (const auto& [name, value] : w.items()) {
      if (value.is_number() && name != "start_ms" && name != "end_ms") wa.metrics[name] = value.get<double>();
    }
    a.windows.push_back(std::move(wa));
  }
  return a;
}

class HttpSource final : public DataSource {
 public:
  explicit HttpSource(HttpSourceOptions options) : options_(std::move(options)) {}
  std::string name() const override { return options_.url; }
  ConsoleRole role() const override { return role_.load(); }

  StatusOr<std::optional<ConsoleSnapshot>> Poll() override {
    const auto start = std::chrono::steady_clock::now();
    if (!poll_client_) {
      ASSIGN_OR_RETURN(poll_client_, server::HttpClient::Create(options_.url, options_.token, options_.timeout_ms));
    }
    server::HttpClient& http = *poll_client_;
    if (!role_known_) {
      ASSIGN_OR_RETURN(json who, Get(http, "/v1/whoami"));
      auto role = ParseConsoleRole(who.value("role", ""));
      role_.store(role.ok() ? *role : ConsoleRole::kViewer);  // service tokens act on nothing here
      actor_ = who.value("name", "");
      role_known_ = true;
    }
    ConsoleSnapshot snap;
    snap.source = options_.url;
    snap.taken_at_ms = SystemClock::Default().NowMillis();
    snap.has_traffic_figures = false;
    ASSIGN_OR_RETURN(json list, Get(http, "/v1/experiments"));
    snap.kill_switch = list.value("kill_switch", false);
    for (const json& e : list.value("experiments", json::array())) {
      ExperimentView view;
      view.record.name = e.value("name", "");
      view.record.current_version = e.value("version", int64_t{0});
      view.record.state = e.value("state", "");
      CachedConfig& cached = configs_[view.record.name];
      if (cached.version != view.record.current_version) {
        // The definition only when the version changed (one more request per new version).
        ASSIGN_OR_RETURN(json one, Get(http, "/v1/experiments/" + view.record.name));
        if (one.contains("definition") && one["definition"].is_object()) {
          auto root = ConfigNode::Parse(DumpJson(one["definition"]), view.record.name + " (service)");
          if (root.ok()) {
            auto config = experiment::ParseExperimentConfig(*root);
            if (config.ok()) {
              cached.config = std::move(config).value();
              cached.version = view.record.current_version;
            }
          }
        }
      }
      view.config = cached.config;
      view.valid = cached.version == view.record.current_version;
      if (!view.valid) view.error = "the service did not return a readable definition of version " + std::to_string(view.record.current_version);
      auto state = experiment::ParseRolloutState(view.record.state);
      if (state.ok()) view.status.state = *state;
      view.status.step = e.value("step", 0) - 1;
      view.status.reason = e.value("reason", "");
      if (e.contains("waiting_for_role") && e["waiting_for_role"].is_string()) view.status.waiting_for_role = e["waiting_for_role"];
      if (e.contains("approvals") && e["approvals"].is_array()) view.status.approvals = e["approvals"].get<std::vector<std::string>>();
      if (e.contains("pending_version") && e["pending_version"].is_number()) view.status.pending_version = e["pending_version"];
      view.status.rolled_back_at_ms = e.value("rolled_back_at_ms", int64_t{0});
      view.status.failures = e.value("failures", 0);
      view.status.analyses = e.value("analyses", int64_t{0});
      for (const json& g : e.value("guardrails", json::array())) {
        experiment::GuardrailState gs;
        gs.p_value = g.value("p_value", 1.0);
        gs.breached = g.value("breached", false);
        gs.control = g.value("control", 0.0);
        gs.treatment = g.value("treatment", 0.0);
        gs.diff = g.value("diff", 0.0);
        gs.ci_low = g.value("ci_low", 0.0);
        gs.ci_high = g.value("ci_high", 0.0);
        view.status.guardrails.push_back(gs);
      }
      view.serving_coverage = e.value("coverage", 0.0);
      snap.experiments.push_back(std::move(view));
    }
    RETURN_IF_ERROR(ReadAudit(http, snap));
    snap.refresh_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    return std::optional<ConsoleSnapshot>(std::move(snap));
  }

  StatusOr<GovernanceReport> Audit(const std::string& experiment) override {
    ASSIGN_OR_RETURN(server::HttpClient* http, Client(read_client_));
    ASSIGN_OR_RETURN(server::HttpResponse raw, http->Send("GET", "/v1/experiments/" + experiment + "/audit"));
    ASSIGN_OR_RETURN(json body, Parse(raw));
    const json& report = body.contains("experiment") ? body["experiment"]
                         : body.contains("experiments") && body["experiments"].is_array() && !body["experiments"].empty() ? body["experiments"][0]
                                                                                                                              : body;
    GovernanceReport out;
    ASSIGN_OR_RETURN(out.audit, AuditFrom(report));
    out.options.bootstrap = body.value("bootstrap", 200);
    // The body is fairness::ExperimentAuditJson plus a newline: its SHA-256 is the report's hash.
    std::string text = raw.body;
    while (!text.empty() && text.back() == '\n') text.pop_back();
    out.hash = storage::Sha256Hex(text);
    out.recorded_as_evidence = false;
    return out;
  }

  StatusOr<std::vector<fairness::ReviewSample>> Sample(const std::string&, int, uint64_t) override {
    return FailedPrecondition("the HTTP API has no review-sample endpoint; open the console on the database (--db) to label lists");
  }

  StatusOr<std::string> Validate(const std::string& path) override {
    ASSIGN_OR_RETURN(auto config, experiment::LoadExperimentConfig(path));
    return "ok: '" + config.name + "', " + std::to_string(config.arms.size()) + " arms, " + std::to_string(config.ramp.size()) + " ramp steps";
  }

  StatusOr<std::string> Run(const Action& a) override {
    RETURN_IF_ERROR(CheckRole(role_.load(), a.kind));
    ASSIGN_OR_RETURN(server::HttpClient* http, Client(action_client_));
    const std::string base = "/v1/experiments/" + a.experiment;
    json body = json::object();
    if (!a.reason.empty()) body["reason"] = a.reason;
    switch (a.kind) {
      case ActionKind::kCreate: {
        std::string text = a.definition;
        if (text.empty()) {
          std::ifstream in(a.definition_source);
          if (!in) return InvalidArgument("definition: cannot read " + a.definition_source);
          std::stringstream ss;
          ss << in.rdbuf();
          text = ss.str();
        }
        ASSIGN_OR_RETURN(json r, Post(*http, "/v1/experiments" + (a.reason.empty() ? std::string() : "?reason=" + UrlEncode(a.reason)), text,
                                      "application/yaml"));
        return "'" + r.value("name", a.experiment) + "' saved (version " + std::to_string(r.value("version", int64_t{0})) + ")";
      }
      case ActionKind::kKillSwitch: {
        body["on"] = a.on;
        ASSIGN_OR_RETURN(json r, Post(*http, "/v1/kill-switch", DumpJson(body)));
        return std::string("kill switch ") + (r.value("kill_switch", a.on) ? "ON" : "off");
      }
      case ActionKind::kSignOff: {
        body["decision"] = a.approve ? "approve" : "block";
        ASSIGN_OR_RETURN(json r, Post(*http, base + "/sign-off", DumpJson(body)));
        return std::string(a.approve ? "approved" : "blocked") + " '" + a.experiment + "' with audit " + r.value("report_hash", "") +
               " (computed by the service)";
      }
      case ActionKind::kLabel:
        return FailedPrecondition("the HTTP API has no label endpoint; open the console on the database (--db) to label lists");
      default: {
        ASSIGN_OR_RETURN(json r, Post(*http, base + "/" + ActionName(a.kind), DumpJson(body)));
        return std::string(ActionName(a.kind)) + " '" + a.experiment + "': now " + r.value("state", "?");
      }
    }
  }

 private:
  struct CachedConfig {
    int64_t version = -1;
    experiment::ExperimentConfig config;
  };

  // The calling thread's client (each worker has its own member).
  StatusOr<server::HttpClient*> Client(std::unique_ptr<server::HttpClient>& client) {
    if (!client) {
      ASSIGN_OR_RETURN(client, server::HttpClient::Create(options_.url, options_.token, options_.timeout_ms));
    }
    return client.get();
  }

  static StatusOr<json> Parse(const server::HttpResponse& r) {
    if (r.status != 200 && r.status != 201) return FromResponse(r);
    json body = json::parse(r.body, nullptr, false);
    if (body.is_discarded()) return DataLoss("the service answered with a body that is not JSON");
    return body;
  }
  static StatusOr<json> Get(server::HttpClient& http, const std::string& target) {
    ASSIGN_OR_RETURN(server::HttpResponse r, http.Send("GET", target));
    return Parse(r);
  }
  static StatusOr<json> Post(server::HttpClient& http, const std::string& target, const std::string& body,
                             const std::string& type = "application/json") {
    ASSIGN_OR_RETURN(server::HttpResponse r, http.Send("POST", target, body, type));
    return Parse(r);
  }

  // The audit log from the last seen row on; each new row checked against the one before it.
  Status ReadAudit(server::HttpClient& http, ConsoleSnapshot& snap) {
    chain_.rows_verified_last_refresh = 0;
    if (!chain_opened_) {
      // Once: the service walks the whole chain with its anchor.
      ASSIGN_OR_RETURN(json v, Get(http, "/v1/audit/verify"));
      chain_.ok = v.value("ok", false);
      chain_.first_bad_seq = v.value("first_bad_seq", int64_t{0});
      chain_.problem = v.value("problem", "");
      chain_.anchored_seq = v.value("anchored_seq", int64_t{0});
      chain_.unanchored_reason = v.value("unanchored_reason", "");
      chain_opened_ = true;
    }
    while (true) {
      ASSIGN_OR_RETURN(json page, Get(http, "/v1/audit?after_seq=" + std::to_string(seq_) + "&limit=1000"));
      const json entries = page.value("entries", json::array());
      if (entries.empty()) break;
      for (const json& j : entries) {
        storage::AuditEntry e;
        e.seq = j.value("seq", int64_t{0});
        e.ts_ms = j.value("ts_ms", int64_t{0});
        e.actor = j.value("actor", "");
        e.action = j.value("action", "");
        e.subject = j.value("subject", "");
        e.reason = j.value("reason", "");
        e.payload = j.contains("payload") ? (j["payload"].is_string() ? j["payload"].get<std::string>() : DumpJson(j["payload"])) : "";
        e.prev_hash = j.value("prev_hash", "");
        e.hash = j.value("hash", "");
        ++chain_.rows_verified_last_refresh;
        // The link is checked here; the row's own hash was verified by the service's walk at
        // open (the payload comes back re-serialised, so its bytes are not the hashed ones).
        if (chain_.ok && seq_ > 0 && e.prev_hash != hash_) {
          chain_.ok = false;
          chain_.first_bad_seq = e.seq;
          chain_.problem = "prev_hash does not match the hash of the row before it";
        }
        seq_ = e.seq;
        hash_ = e.hash;
        if (e.action == storage::AuditActionName(storage::AuditAction::kAuditSignOff)) sign_offs_.insert(sign_offs_.begin(), e);
        recent_.insert(recent_.begin(), std::move(e));
        if (recent_.size() > 50) recent_.pop_back();
      }
      if (entries.size() < 1000) break;
    }
    if (chain_.ok) chain_.verified_through_seq = seq_;
    snap.chain = chain_;
    snap.recent_audit = recent_;
    snap.sign_offs = sign_offs_;
    snap.audit_rows = seq_;
    return Status::Ok();
  }

  HttpSourceOptions options_;
  std::atomic<ConsoleRole> role_{ConsoleRole::kViewer};
  bool role_known_ = false;
  std::string actor_;
  std::unique_ptr<server::HttpClient> poll_client_, action_client_, read_client_;  // one per thread
  std::map<std::string, CachedConfig> configs_;
  bool chain_opened_ = false;
  ChainStatus chain_;
  int64_t seq_ = 0;
  std::string hash_;
  std::vector<storage::AuditEntry> recent_, sign_offs_;
};

}  // namespace

std::unique_ptr<DataSource> MakeHttpSource(HttpSourceOptions options) { return std::make_unique<HttpSource>(std::move(options)); }

}  // namespace steward::console
