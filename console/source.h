// DataSource: where the console's snapshots come from and where its actions go. Two
// implementations behind one interface: a local database (LocalSource, below) and a running
// `steward serve` (HttpSource, console/http_source.h). The CLI could reuse either; nothing here
// knows ImGui.
//
// Thread safety: Poll() is called from one thread (the session's poller), Run() from a second (the
// action worker), Audit(), Sample() and Validate() from a third (the read worker); implementations
// keep one connection per thread.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "console/snapshot.h"
#include "experiment/experiment_config.h"
#include "fairness/audit.h"
#include "storage/token_store.h"

namespace steward::console {

// What the console can do. Each maps to the HTTP API's permission (server/routes.h), so the
// local source refuses exactly what the service would.
enum class ActionKind {
  kCreate,      // owner: save a definition (new experiment, or a new version of one)
  kStart,       // owner
  kPromote,     // owner
  kStop,        // owner
  kSignOff,     // reviewer: approve or block the waiting step with an audit as evidence
  kLabel,       // reviewer: label a sampled served list
  kRollback,    // oncall
  kKillSwitch,  // oncall
};
const char* ActionName(ActionKind kind);  // "create", "start", ..., "kill-switch"

// The governance audit of one experiment (fairness/audit.h, the one implementation) with the
// options it was computed with and its hash: what a sign-off records.
struct GovernanceReport {
  fairness::ExperimentAudit audit;
  fairness::AuditOptions options;
  std::string hash;
  // Whether a sign-off records this very report (local source). Over HTTP the service computes a
  // fresh audit at sign-off and records its hash (returned in the result), so `hash` is "".
  bool recorded_as_evidence = true;
};

struct Action {
  ActionKind kind = ActionKind::kStart;
  std::string experiment;
  std::string actor;   // who (local source; over HTTP the token's name is audited)
  std::string reason;  // why; required for rollback, stop, sign-off and the kill switch
  // kCreate: the definition (YAML or JSON text) and where it came from (for messages); with an
  // empty `definition`, the file at `definition_source` is read (on the worker).
  std::string definition, definition_source;
  // kSignOff: the decision and the audit the reviewer looked at (its hash is what is recorded).
  bool approve = true;
  std::shared_ptr<const GovernanceReport> evidence;
  // kLabel
  int64_t request_id = 0;
  std::string label, note;
  // kKillSwitch
  bool on = true;
};

// The console's role. kViewer (no --role) may look, never act.
enum class ConsoleRole { kViewer, kOwner, kReviewer, kOncall, kAdmin };
const char* ConsoleRoleName(ConsoleRole role);  // "viewer", "owner", "reviewer", "oncall", "admin"
// "owner" | "reviewer" | "oncall" | "admin" | "viewer". Errors: kInvalidArgument naming the choices.
StatusOr<ConsoleRole> ParseConsoleRole(const std::string& name);
// A refusal for the wrong role: kFailedPrecondition whose message starts "forbidden: " and names
// the role needed (what the service answers with 403).
Status Forbidden(const std::string& message);
bool IsForbidden(const Status& status);
// Whether `role` may run `kind`, with the service's role matrix (server/routes.h). Errors:
// Forbidden().
Status CheckRole(ConsoleRole role, ActionKind kind);

class DataSource {
 public:
  virtual ~DataSource() = default;
  virtual std::string name() const = 0;  // the database path or URL
  virtual ConsoleRole role() const = 0;
  // The next snapshot; nullopt when nothing changed since the last one. Poller thread only.
  virtual StatusOr<std::optional<ConsoleSnapshot>> Poll() = 0;
  // The governance audit, a human-review sample (read worker), an action (action worker). Run
  // returns a one-line message saying what happened. Errors: Forbidden() for the wrong role;
  // kInvalidArgument naming the field; what the library call returns otherwise.
  virtual StatusOr<GovernanceReport> Audit(const std::string& experiment) = 0;
  virtual StatusOr<std::vector<fairness::ReviewSample>> Sample(const std::string& experiment, int n, uint64_t seed) = 0;
  virtual StatusOr<std::string> Run(const Action& action) = 0;
  // Read worker only: checks a definition file (YAML or JSON); the summary on success, the
  // error naming the field and line otherwise.
  virtual StatusOr<std::string> Validate(const std::string& path) = 0;
};

// The field a definition error names ("ramp[2].coverage"), and its line ("" / 0 when none): for
// showing the error at the field.
struct FieldError {
  std::string field;
  int line = 0;
  std::string message;
};
FieldError ParseFieldError(const std::string& message);

// The definition `source_json` (a stored version's) with its ramp's coverages replaced, and one
// line per changed step ("step 2: coverage 25% -> 30%"). Errors: kInvalidArgument when the counts
// differ or a coverage is outside (0, 1].
struct RampEdit {
  std::string definition;
  std::vector<std::string> diff;
};
StatusOr<RampEdit> EditRampCoverage(const std::string& source_json, const std::vector<double>& coverage);

struct LocalSourceOptions {
  std::string db_path;
  ConsoleRole role = ConsoleRole::kViewer;
  // Model names a definition's arms may use (the CLI passes its registry). Default: no check.
  std::vector<std::string> known_models;
  int audit_bootstrap = 200;  // replicates of the reviewer's audit. Default: 200
};

// Reads through a read-only connection, incrementally (console/incremental.h); actions go through
// the same library calls the CLI uses (serving::RolloutController, fairness::RecordReviewLabel,
// serving::SignOffFor), each on a read-write connection of its own.
std::unique_ptr<DataSource> MakeLocalSource(LocalSourceOptions options);

struct HttpSourceOptions {
  std::string url;    // http://HOST:PORT of a running `steward serve`
  std::string token;  // its API token; the role is the token's (GET /v1/whoami)
  int64_t timeout_ms = 30000;  // per request. Default: 30 s (the audit reads every exposure)
};

// Reads and acts through the HTTP API (docs/api.md), server/client.h on each thread: experiments
// and their rollout status with guardrail evidence, the kill switch, the audit log from the last
// seen row on (each new row's hash checked against the last one, as locally), the governance audit,
// and every action the API offers. A 403 comes back as Forbidden() with the service's message.
// What the API does not serve (per-arm traffic figures, latency series, review samples) is absent
// from the snapshot (has_traffic_figures false), and the panels say so.
std::unique_ptr<DataSource> MakeHttpSource(HttpSourceOptions options);

}  // namespace steward::console
