#include "experiment/experiment_config.h"

#include <algorithm>
#include <cmath>
#include <set>

namespace steward::experiment {

const char* MetricName(Metric m) {
  switch (m) {
    case Metric::kCtr: return "ctr";
    case Metric::kConversionRate: return "conversion_rate";
    case Metric::kLatencyMs: return "latency_ms";
    case Metric::kErrorRate: return "error_rate";
  }
  return "?";
}

StatusOr<Metric> ParseMetric(const std::string& name) {
  for (int i = 0; i < kNumMetrics; ++i) {
    if (name == MetricName(static_cast<Metric>(i))) return static_cast<Metric>(i);
  }
  return InvalidArgument("unknown metric '" + name + "'; known metrics: ctr, conversion_rate, latency_ms, error_rate");
}

const char* GuardrailTestName(GuardrailTest t) { return t == GuardrailTest::kSequential ? "sequential" : "fixed"; }

StatusOr<GuardrailTest> ParseGuardrailTest(const std::string& name) {
  if (name == "sequential") return GuardrailTest::kSequential;
  if (name == "fixed") return GuardrailTest::kFixed;
  return InvalidArgument("unknown guardrail test '" + name + "'; use sequential or fixed");
}

StatusOr<int64_t> ParseDurationMs(const ConfigNode& node) {
  ASSIGN_OR_RETURN(std::string text, node.AsString());
  const auto bad = [&] { return node.Error("expected a duration, got \"" + text + "\"", "write e.g. 90s, 15m, 2h or 1d"); };
  if (text.empty()) return bad();
  int64_t unit = 1000;
  std::string number = text;
  switch (text.back()) {
    case 's': unit = 1000; number.pop_back(); break;
    case 'm': unit = 60 * 1000; number.pop_back(); break;
    case 'h': unit = 3600 * 1000; number.pop_back(); break;
    case 'd': unit = 86400 * 1000; number.pop_back(); break;
    default: break;
  }
  try {
    size_t used = 0;
    const double v = std::stod(number, &used);
    if (used != number.size() || v < 0 || !std::isfinite(v)) return bad();
    const double ms = v * static_cast<double>(unit);
    if (ms > static_cast<double>(kMaxDurationMs)) {  // checked before the conversion, which would overflow
      return node.Error("must be at most 10 years (3650d), got \"" + text + "\"", "write a shorter duration such as 14d");
    }
    return static_cast<int64_t>(ms);
  } catch (const std::exception&) {
    return bad();
  }
}

namespace {

StatusOr<std::vector<RampStep>> ParseRamp(const ConfigNode& ramp) {
  if (!ramp.IsSequence() || ramp.size() == 0) {
    return ramp.Error("must be a list of steps", "write `- {coverage: 0.05, min_duration: 1h}` for each step");
  }
  std::vector<RampStep> steps;
  double previous = 0.0;
  for (size_t i = 0; i < ramp.size(); ++i) {
    ConfigNode node = ramp.At(i);
    if (!node.IsMap()) return node.Error("must be a map", "write `{coverage: 0.2, min_duration: 2h}`");
    RETURN_IF_ERROR(node.RejectUnknownKeys({"coverage", "min_duration", "min_users_per_arm", "approval"}));
    RampStep step;
    ASSIGN_OR_RETURN(step.coverage, node.GetDouble("coverage"));
    if (!(step.coverage > 0.0 && step.coverage <= 1.0)) {
      return node.Error("coverage must be in (0, 1]", "write a share such as 0.05 for 5%");
    }
    if (step.coverage <= previous) {
      return node.Error("coverage must grow from step to step (previous " + std::to_string(previous) + ")",
                        "order the steps by increasing coverage");
    }
    previous = step.coverage;
    if (auto d = node.Find("min_duration")) {
      ASSIGN_OR_RETURN(step.min_duration_ms, ParseDurationMs(*d));
    }
    ASSIGN_OR_RETURN(step.min_users_per_arm, node.GetInt("min_users_per_arm", 0));
    if (step.min_users_per_arm < 0) return node.Error("min_users_per_arm must be >= 0", "write 0 or more");
    ASSIGN_OR_RETURN(step.approval, node.GetString("approval", std::string()));
    steps.push_back(step);
  }
  return steps;
}

StatusOr<std::vector<GuardrailConfig>> ParseGuardrails(const ConfigNode& list) {
  if (!list.IsSequence()) return list.Error("must be a list", "write `- {metric: ctr, direction: decrease, threshold: 0.05}`");
  std::vector<GuardrailConfig> out;
  for (size_t i = 0; i < list.size(); ++i) {
    ConfigNode node = list.At(i);
    if (!node.IsMap()) return node.Error("must be a map", "write `{metric: ctr, direction: decrease}`");
    RETURN_IF_ERROR(node.RejectUnknownKeys({"metric", "direction", "threshold", "relative", "test", "alpha"}));
    GuardrailConfig g;
    ASSIGN_OR_RETURN(std::string metric, node.GetString("metric"));
    auto m = ParseMetric(metric);
    if (!m.ok()) {
      ASSIGN_OR_RETURN(ConfigNode mnode, node.Get("metric"));
      return mnode.Error(m.status().message(), "use one of the known metrics");
    }
    g.metric = *m;
    std::string direction;  // declared apart: GCC 12 -Wmaybe-uninitialized misfires on the macro-declared string
    ASSIGN_OR_RETURN(direction, node.GetString("direction"));
    if (direction == "decrease") g.harm = HarmDirection::kDecrease;
    else if (direction == "increase") g.harm = HarmDirection::kIncrease;
    else return node.Get("direction")->Error("must be 'decrease' or 'increase' (the harmful direction)", "write `direction: decrease` for CTR-like metrics");
    ASSIGN_OR_RETURN(g.threshold, node.GetDouble("threshold", 0.0));
    if (g.threshold < 0) return node.Get("threshold")->Error("must be >= 0", "write the tolerated harm, e.g. 0.05");
    ASSIGN_OR_RETURN(g.relative, node.GetBool("relative", true));
    ASSIGN_OR_RETURN(std::string test, node.GetString("test", std::string("sequential")));
    auto parsed = ParseGuardrailTest(test);
    if (!parsed.ok()) {
      return node.Get("test")->Error("must be 'sequential' or 'fixed'", "use sequential to check continuously without inflating false alarms");
    }
    g.test = *parsed;
    ASSIGN_OR_RETURN(g.alpha, node.GetDouble("alpha", 0.05));
    if (!(g.alpha > 0 && g.alpha < 1)) return node.Get("alpha")->Error("must be in (0, 1)", "write e.g. 0.05");
    out.push_back(g);
  }
  return out;
}

}  // namespace

namespace {

Status CheckModel(const ConfigNode& node, const std::string& model, std::span<const std::string> known) {
  if (known.empty() || std::find(known.begin(), known.end(), model) != known.end()) return Status::Ok();
  std::string list;
  for (const std::string& k : known) list += (list.empty() ? "" : ", ") + k;
  return node.Error("names the unknown model '" + model + "' (known: " + list + ")", "use one of the known models");
}

}  // namespace

namespace {

// An arm's `fairness_constraint: {groups, tolerance, targets: {head, mid, tail}}`.
StatusOr<FairnessConstraintConfig> ParseFairnessConstraint(const ConfigNode& node) {
  if (!node.IsMap()) return node.Error("must be a map", "write `{groups: provider, tolerance: 0.03}`");
  RETURN_IF_ERROR(node.RejectUnknownKeys({"groups", "tolerance", "targets"}));
  FairnessConstraintConfig f;
  ASSIGN_OR_RETURN(f.groups, node.GetString("groups", "provider"));
  if (f.groups != "provider") return node.Get("groups")->Error("must be 'provider'", "constrain the provider groups: groups: provider");
  ASSIGN_OR_RETURN(f.tolerance, node.GetDouble("tolerance", 0.03));
  if (!(f.tolerance >= 0.0 && f.tolerance < 1.0)) {
    return node.Get("tolerance")->Error("must be in [0, 1)", "use a band such as 0.03 (3 percentage points of exposure share)");
  }
  if (auto targets = node.Find("targets")) {
    if (!targets->IsMap()) return targets->Error("must be a map", "write `targets: {head: 0.3, mid: 0.3, tail: 0.4}`");
    RETURN_IF_ERROR(targets->RejectUnknownKeys({"head", "mid", "tail"}));
    double sum = 0.0;
    for (const char* group : {"head", "mid", "tail"}) {
      ASSIGN_OR_RETURN(const double t, targets->GetDouble(group));
      if (!(t >= 0.0 && t <= 1.0)) return targets->Get(group)->Error("must be in [0, 1]", "give each group a share of exposure");
      f.targets.push_back(t);
      sum += t;
    }
    if (std::fabs(sum - 1.0) > 0.001) {
      return targets->Error("add up to " + std::to_string(sum), "make head, mid and tail add up to 1");
    }
  }
  return f;
}

}  // namespace

StatusOr<ExperimentConfig> ParseExperimentConfig(const ConfigNode& root, std::span<const std::string> known_models) {
  if (!root.IsMap()) return root.Error("must be a map of experiment fields", "start the file with `name: my-experiment`");
  RETURN_IF_ERROR(root.RejectUnknownKeys(
      {"name", "seed", "hash_attribute", "hash_version", "coverage", "arms", "namespace", "shadow", "description", "type",
       "ramp", "guardrails", "evaluation", "decision", "sticky", "bucket_version", "attributes", "audits"}));
  ExperimentConfig c;
  ASSIGN_OR_RETURN(c.name, root.GetString("name"));
  if (c.name.empty()) return root.Error("'name' is empty", "give the experiment a name");
  ASSIGN_OR_RETURN(c.seed, root.GetString("seed", c.name));
  ASSIGN_OR_RETURN(c.hash_attribute, root.GetString("hash_attribute", std::string("user_id")));
  if (c.hash_attribute != "user_id") {
    return root.Get("hash_attribute")->Error("is '" + c.hash_attribute + "', but only user_id is supported (users are "
                                             "assigned by the user id they are served under)",
                                             "remove the field or write `hash_attribute: user_id`");
  }
  if (auto description = root.Find("description")) {
    if (!description->IsScalar()) return description->Error("must be text", "write `description: \"what this tests\"`");
  }
  ASSIGN_OR_RETURN(int64_t version, root.GetInt("hash_version", 2));
  if (version != 1 && version != 2) {
    ASSIGN_OR_RETURN(ConfigNode node, root.Get("hash_version"));
    return node.Error("must be 1 or 2, got " + std::to_string(version), "use 2 (GrowthBook's unbiased hash) unless matching old assignments");
  }
  c.hash_version = static_cast<int>(version);
  ASSIGN_OR_RETURN(c.coverage, root.GetDouble("coverage", 1.0));
  if (c.coverage < 0.0 || c.coverage > 1.0) {
    ASSIGN_OR_RETURN(ConfigNode node, root.Get("coverage"));
    return node.Error("must be between 0 and 1, got " + std::to_string(c.coverage), "write a share such as 0.1 for 10%");
  }

  ASSIGN_OR_RETURN(ConfigNode arms, root.Get("arms"));
  if (!arms.IsSequence() || arms.size() < 2) {
    return arms.Error("needs a list of at least two arms", "list arms as `- {name: control, model: baseline, weight: 0.5}`");
  }
  std::set<std::string> names;
  double total = 0.0;
  for (size_t i = 0; i < arms.size(); ++i) {
    ConfigNode arm = arms.At(i);
    if (!arm.IsMap()) return arm.Error("must be a map", "write `{name: ..., model: ..., weight: ...}`");
    RETURN_IF_ERROR(arm.RejectUnknownKeys({"name", "model", "weight", "fairness_constraint", "epsilon"}));
    ArmConfig a;
    ASSIGN_OR_RETURN(a.name, arm.GetString("name"));
    ASSIGN_OR_RETURN(a.model, arm.GetString("model"));
    RETURN_IF_ERROR(CheckModel(*arm.Get("model"), a.model, known_models));
    ASSIGN_OR_RETURN(a.weight, arm.GetDouble("weight", 1.0 / static_cast<double>(arms.size())));
    if (a.name.empty()) return arm.Error("has an empty name", "name the arm (e.g. control)");
    if (!names.insert(a.name).second) return arm.Error("repeats the arm name '" + a.name + "'", "give each arm its own name");
    if (a.weight < 0.0) return arm.Error("has a negative weight", "use a weight between 0 and 1");
    if (auto fc = arm.Find("fairness_constraint")) {
      ASSIGN_OR_RETURN(a.fairness_constraint, ParseFairnessConstraint(*fc));
    }
    if (auto eps = arm.Find("epsilon")) {
      if (a.model != "baseline-egreedy") {
        return eps->Error("applies only to model baseline-egreedy, not '" + a.model + "'",
                          "remove `epsilon` or serve the arm with `model: baseline-egreedy`");
      }
      ASSIGN_OR_RETURN(const double e, arm.GetDouble("epsilon"));
      if (!(e >= 0.0 && e <= 1.0)) return eps->Error("must be in [0, 1]", "use an exploration share such as 0.15");
      a.epsilon = e;
    }
    total += a.weight;
    c.arms.push_back(std::move(a));
  }
  if (std::fabs(total - 1.0) > 0.01) {
    return arms.Error("weights add up to " + std::to_string(total), "make the arm weights add up to 1");
  }

  if (auto ns = root.Find("namespace")) {
    RETURN_IF_ERROR(ns->RejectUnknownKeys({"name", "range"}));
    NamespaceConfig n;
    ASSIGN_OR_RETURN(n.name, ns->GetString("name"));
    ASSIGN_OR_RETURN(ConfigNode range, ns->Get("range"));
    if (!range.IsSequence() || range.size() != 2) return range.Error("must be [start, end]", "write e.g. `range: [0, 0.5]`");
    ASSIGN_OR_RETURN(n.start, range.At(0).AsDouble());
    ASSIGN_OR_RETURN(n.end, range.At(1).AsDouble());
    if (!(n.start >= 0.0 && n.start < n.end && n.end <= 1.0)) {
      return range.Error("must satisfy 0 <= start < end <= 1", "write e.g. `range: [0, 0.5]`");
    }
    c.namespace_ = n;
  }
  if (auto shadow = root.Find("shadow")) {
    // `shadow: MODEL`, or `shadow: {model: MODEL, min_duration: 1d, min_requests: 1000}`.
    if (shadow->IsMap()) {
      RETURN_IF_ERROR(shadow->RejectUnknownKeys({"model", "min_duration", "min_requests"}));
      ASSIGN_OR_RETURN(c.shadow_model, shadow->GetString("model"));
      if (auto d = shadow->Find("min_duration")) {
        ASSIGN_OR_RETURN(c.shadow.min_duration_ms, ParseDurationMs(*d));
        if (c.shadow.min_duration_ms < 0) return d->Error("must not be negative", "write e.g. 1d");
      }
      ASSIGN_OR_RETURN(c.shadow.min_requests, shadow->GetInt("min_requests", 0));
      if (c.shadow.min_requests < 0) return shadow->Get("min_requests")->Error("must not be negative", "write e.g. 1000");
    } else {
      ASSIGN_OR_RETURN(c.shadow_model, shadow->AsString());
    }
    if (c.shadow_model.empty()) return shadow->Error("names no model", "write `shadow: {model: hybrid}` or remove `shadow`");
    RETURN_IF_ERROR(CheckModel(*shadow, c.shadow_model, known_models));
  }
  if (auto attributes = root.Find("attributes")) {
    if (!attributes->IsSequence()) return attributes->Error("must be a list of attribute names", "write e.g. `[age_band, country]`");
    std::set<std::string> seen;
    for (size_t i = 0; i < attributes->size(); ++i) {
      ASSIGN_OR_RETURN(std::string name, attributes->At(i).AsString());
      if (name.empty() || name.size() > 64) return attributes->At(i).Error("must be 1-64 characters", "name the attribute, e.g. country");
      if (!seen.insert(name).second) return attributes->At(i).Error("repeats '" + name + "'", "list each attribute once");
      c.attributes.push_back(name);
    }
  }
  ASSIGN_OR_RETURN(std::string type, root.GetString("type", std::string("ab")));
  if (type == "ab") c.type = ExperimentType::kAB;
  else if (type == "interleaving") c.type = ExperimentType::kInterleaving;
  else return root.Get("type")->Error("must be 'ab' or 'interleaving'", "write `type: ab` for a split test");
  if (c.type == ExperimentType::kInterleaving && c.arms.size() != 2) {
    return root.Get("arms")->Error("an interleaving experiment compares exactly two rankers", "list two arms");
  }
  if (auto ramp = root.Find("ramp")) {
    ASSIGN_OR_RETURN(c.ramp, ParseRamp(*ramp));
  }
  if (auto guardrails = root.Find("guardrails")) {
    ASSIGN_OR_RETURN(c.guardrails, ParseGuardrails(*guardrails));
  }
  if (auto eval = root.Find("evaluation")) {
    RETURN_IF_ERROR(eval->RejectUnknownKeys({"interval", "failure_limit", "min_users_per_arm"}));
    if (auto interval = eval->Find("interval")) {
      ASSIGN_OR_RETURN(c.evaluation.interval_ms, ParseDurationMs(*interval));
      if (c.evaluation.interval_ms <= 0) return interval->Error("must be positive", "write e.g. 15m");
    }
    ASSIGN_OR_RETURN(int64_t limit, eval->GetInt("failure_limit", 3));
    if (limit < 0 || limit > kMaxFailureLimit) {
      return eval->Get("failure_limit")->Error("must be between 0 and " + std::to_string(kMaxFailureLimit) + ", got " + std::to_string(limit),
                                               "write how many consecutive failed checks to tolerate, e.g. 3");
    }
    c.evaluation.failure_limit = static_cast<int>(limit);
    ASSIGN_OR_RETURN(c.evaluation.min_users_per_arm, eval->GetInt("min_users_per_arm", 100));
    if (c.evaluation.min_users_per_arm < 0) {
      return eval->Get("min_users_per_arm")->Error("must be >= 0, got " + std::to_string(c.evaluation.min_users_per_arm),
                                                   "write how many users each arm needs before guardrails are judged, e.g. 100");
    }
  }
  c.decision.primary_metrics = {Metric::kCtr};
  if (auto decision = root.Find("decision")) {
    RETURN_IF_ERROR(decision->RejectUnknownKeys({"primary_metrics", "alpha", "power", "mde"}));
    if (auto metrics = decision->Find("primary_metrics")) {
      if (!metrics->IsSequence() || metrics->size() == 0) return metrics->Error("must be a non-empty list", "write `[ctr]`");
      c.decision.primary_metrics.clear();
      for (size_t i = 0; i < metrics->size(); ++i) {
        ASSIGN_OR_RETURN(std::string name, metrics->At(i).AsString());
        auto m = ParseMetric(name);
        if (!m.ok()) return metrics->At(i).Error(m.status().message(), "use one of the known metrics");
        c.decision.primary_metrics.push_back(*m);
      }
    }
    ASSIGN_OR_RETURN(c.decision.alpha, decision->GetDouble("alpha", 0.05));
    ASSIGN_OR_RETURN(c.decision.power, decision->GetDouble("power", 0.8));
    ASSIGN_OR_RETURN(c.decision.mde, decision->GetDouble("mde", 0.05));
    if (!(c.decision.alpha > 0 && c.decision.alpha < 1)) return decision->Get("alpha")->Error("must be in (0, 1)", "write e.g. 0.05");
    if (!(c.decision.power > 0 && c.decision.power < 1)) return decision->Get("power")->Error("must be in (0, 1)", "write e.g. 0.8");
    if (!(c.decision.mde > 0)) {
      return decision->Get("mde")->Error("must be > 0 (a relative minimum detectable effect)", "write e.g. 0.05 for 5%");
    }
  }
  if (auto audits = root.Find("audits")) {
    ASSIGN_OR_RETURN(c.audits, ParseAuditsConfig(*audits));
  }
  ASSIGN_OR_RETURN(c.sticky, root.GetBool("sticky", false));
  ASSIGN_OR_RETURN(int64_t bucket_version, root.GetInt("bucket_version", 1));
  if (bucket_version < 1 || bucket_version > kMaxBucketVersion) {
    return root.Get("bucket_version")->Error("must be between 1 and " + std::to_string(kMaxBucketVersion) + ", got " + std::to_string(bucket_version),
                                             "start at 1 and bump it to re-randomise");
  }
  c.bucket_version = static_cast<int>(bucket_version);
  c.source_json = root.ToJson();
  return c;
}

StatusOr<ExperimentConfig> LoadExperimentConfig(const std::string& path, std::span<const std::string> known_models) {
  ASSIGN_OR_RETURN(ConfigNode root, ConfigNode::LoadFile(path));
  return ParseExperimentConfig(root, known_models);
}

}  // namespace steward::experiment
