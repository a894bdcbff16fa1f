#include "server/routes.h"

#include <string_view>

namespace steward::server {
namespace {

Route Make(Endpoint e, Permission p, std::string pattern) {
  Route r;
  r.endpoint = e;
  r.permission = p;
  r.pattern = std::move(pattern);
  return r;
}

Route WrongMethod(std::string pattern, std::string allow) {
  Route r;
  r.endpoint = Endpoint::kMethodNotAllowed;
  r.permission = Permission::kNone;
  r.pattern = std::move(pattern);
  r.allow = std::move(allow);
  return r;
}

}  // namespace

const char* PermissionRoles(Permission p) {
  switch (p) {
    case Permission::kNone: return "none";
    case Permission::kRead: return "any";
    case Permission::kServe: return "service or admin";
    case Permission::kOwn: return "owner or admin";
    case Permission::kReview: return "reviewer or admin";
    case Permission::kOperate: return "oncall or admin";
  }
  return "admin";
}

bool RoleAllows(storage::Role role, Permission need) {
  using storage::Role;
  if (role == Role::kAdmin || need == Permission::kRead) return true;
  switch (need) {
    case Permission::kServe: return role == Role::kService;
    case Permission::kOwn: return role == Role::kOwner;
    case Permission::kReview: return role == Role::kReviewer;
    case Permission::kOperate: return role == Role::kOncall;
    default: return false;
  }
}

Route MatchRouteOnly(const std::string& method, const std::string& path);

Route MatchRoute(const std::string& method, const std::string& path) {
  Route r = MatchRouteOnly(method, path);
  switch (r.endpoint) {
    case Endpoint::kEvents:
    case Endpoint::kCreateExperiment:
    case Endpoint::kExperimentAction:
    case Endpoint::kKillSwitch:
    case Endpoint::kAuditVerify:
    case Endpoint::kExperimentAudit:
    case Endpoint::kSignOff:
      r.blocking = true;
      break;
    default:
      break;
  }
  return r;
}

Route MatchRouteOnly(const std::string& method, const std::string& path) {
  const bool get = method == "GET" || method == "HEAD", post = method == "POST";
  auto fixed = [&](const char* p, Endpoint e, Permission perm, bool is_post) -> Route {
    if (is_post ? post : get) return Make(e, perm, p);
    return WrongMethod(p, is_post ? "POST" : "GET");
  };
  if (path == "/healthz") return fixed("/healthz", Endpoint::kHealthz, Permission::kNone, false);
  if (path == "/readyz") return fixed("/readyz", Endpoint::kReadyz, Permission::kRead, false);
  if (path == "/metrics") return fixed("/metrics", Endpoint::kMetrics, Permission::kRead, false);
  if (path == "/v1/recommend") return fixed("/v1/recommend", Endpoint::kRecommend, Permission::kServe, true);
  if (path == "/v1/assign") return fixed("/v1/assign", Endpoint::kAssign, Permission::kServe, true);
  if (path == "/v1/events") return fixed("/v1/events", Endpoint::kEvents, Permission::kServe, true);
  if (path == "/v1/kill-switch") return fixed("/v1/kill-switch", Endpoint::kKillSwitch, Permission::kOperate, true);
  if (path == "/v1/audit") return fixed("/v1/audit", Endpoint::kAudit, Permission::kRead, false);
  if (path == "/v1/whoami") return fixed("/v1/whoami", Endpoint::kWhoami, Permission::kRead, false);
  if (path == "/v1/audit/verify") return fixed("/v1/audit/verify", Endpoint::kAuditVerify, Permission::kRead, false);
  if (path == "/v1/experiments") {
    if (get) return Make(Endpoint::kExperiments, Permission::kRead, "/v1/experiments");
    if (post) return Make(Endpoint::kCreateExperiment, Permission::kOwn, "/v1/experiments");
    return WrongMethod("/v1/experiments", "GET, POST");
  }
  static constexpr std::string_view kSdk = "/api/features/";
  if (path.size() > kSdk.size() && path.compare(0, kSdk.size(), kSdk) == 0 && path.find('/', kSdk.size()) == std::string::npos) {
    if (!get) return WrongMethod("/api/features/{client_key}", "GET");
    Route r = Make(Endpoint::kSdkPayload, Permission::kNone, "/api/features/{client_key}");
    r.name = path.substr(kSdk.size());
    return r;
  }
  static constexpr std::string_view kPrefix = "/v1/experiments/";
  if (path.size() > kPrefix.size() && path.compare(0, kPrefix.size(), kPrefix) == 0) {
    const std::string rest = path.substr(kPrefix.size());
    const size_t slash = rest.find('/');
    if (slash == std::string::npos) {
      if (!get) return WrongMethod("/v1/experiments/{name}", "GET");
      Route r = Make(Endpoint::kExperiment, Permission::kRead, "/v1/experiments/{name}");
      r.name = rest;
      return r;
    }
    const std::string name = rest.substr(0, slash), action = rest.substr(slash + 1);
    if (action == "audit" && !name.empty()) {
      if (!get) return WrongMethod("/v1/experiments/{name}/audit", "GET");
      Route r = Make(Endpoint::kExperimentAudit, Permission::kRead, "/v1/experiments/{name}/audit");
      r.name = name;
      return r;
    }
    if (action == "sign-off" && !name.empty()) {
      if (!post) return WrongMethod("/v1/experiments/{name}/sign-off", "POST");
      Route r = Make(Endpoint::kSignOff, Permission::kReview, "/v1/experiments/{name}/sign-off");
      r.name = name;
      return r;
    }
    Permission need;
    if (action == "start" || action == "promote" || action == "stop") {
      need = Permission::kOwn;
    } else if (action == "approve") {
      need = Permission::kReview;
    } else if (action == "rollback") {
      need = Permission::kOperate;
    } else {
      return Make(Endpoint::kNotFound, Permission::kNone, "unknown");
    }
    if (name.empty()) return Make(Endpoint::kNotFound, Permission::kNone, "unknown");
    if (!post) return WrongMethod("/v1/experiments/{name}/" + action, "POST");
    Route r = Make(Endpoint::kExperimentAction, need, "/v1/experiments/{name}/" + action);
    r.name = name;
    r.action = action;
    return r;
  }
  return Make(Endpoint::kNotFound, Permission::kNone, "unknown");
}

}  // namespace steward::server
