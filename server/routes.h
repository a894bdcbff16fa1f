// The service's routes: method + path -> endpoint, the permission it needs and the label its
// metrics carry (the route pattern, so a client cannot mint metric series with made-up paths).
#pragma once

#include <string>

#include "storage/token_store.h"

namespace steward::server {

enum class Endpoint {
  kNotFound, kMethodNotAllowed,
  kHealthz, kReadyz, kMetrics,
  kRecommend, kAssign, kEvents,
  kExperiments, kExperiment, kCreateExperiment, kExperimentAction, kKillSwitch,
  kAudit, kAuditVerify,
  kSdkPayload,  // GET /api/features/{client_key}: authenticated by the client key, not a token
  kExperimentAudit,  // GET /v1/experiments/{name}/audit: the governance audit (fairness/audit.h)
  kSignOff,          // POST /v1/experiments/{name}/sign-off: a reviewer's decision with a fresh audit
  kWhoami,           // GET /v1/whoami: the token's name and role (the console takes its role from it)
};

// What a token's role must allow (docs/api.md, the role matrix).
enum class Permission {
  kNone,     // /healthz
  kRead,     // every authenticated role
  kServe,    // service: recommend, assign, events
  kOwn,      // owner: create, start, promote, stop
  kReview,   // reviewer: approve, sign-off
  kOperate,  // oncall: rollback, kill switch
};
// The roles that hold a permission, for messages ("service or admin").
const char* PermissionRoles(Permission p);
// The role matrix (docs/api.md): admin holds every permission, every role may read.
bool RoleAllows(storage::Role role, Permission need);

struct Route {
  Endpoint endpoint = Endpoint::kNotFound;
  Permission permission = Permission::kRead;
  std::string pattern;  // e.g. "/v1/experiments/{name}/{action}"; the raw path's class when unknown
  std::string name;     // {name} for experiment routes; {client_key} for the SDK payload
  std::string action;   // {action}: start, approve, promote, rollback, stop
  std::string allow;    // for kMethodNotAllowed: the methods the path takes
  // The handler waits on disk (a durable commit, a control action's transaction, a chain walk):
  // the server runs it off the I/O threads so fast requests never queue behind it.
  bool blocking = false;
};

// `path` without the query string.
Route MatchRoute(const std::string& method, const std::string& path);

}  // namespace steward::server
