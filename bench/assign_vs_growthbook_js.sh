#!/usr/bin/env bash
# One-thread assignment: `steward bench assign` against the GrowthBook JS SDK's
# GrowthBookClient.runInlineExperiment (npm @growthbook/growthbook, pinned by package-lock.json),
# same users, same experiment, same machine, same run. First checks that both put 20,000 users
# (ASCII and non-ASCII ids) in the same arms. Prints one JSON line.
# Usage: bench/assign_vs_growthbook_js.sh [path/to/steward] [users]
set -euo pipefail
STEWARD="${1:-build/steward}"
N="${2:-1000000}"
HERE="$(cd "$(dirname "$0")" && pwd)"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
if [ ! -d "$HERE/growthbook-js/node_modules/@growthbook/growthbook" ]; then
  (cd "$HERE/growthbook-js" && npm ci --no-audit --no-fund --silent)
fi

# Cross-check: identical arms for every user.
python3 -c "
for i in range(20000):
    print(('user-%d' % i) if i % 4 else ('usér-ü-%d-😀' % i))" >"$WORK/users.txt"
cat >"$WORK/exp.yaml" <<'YAML'
name: bench-assign
seed: bench-assign
hash_version: 2
arms:
  - {name: "0", model: baseline, weight: 0.5}
  - {name: "1", model: baseline, weight: 0.5}
YAML
node "$HERE/growthbook-js/assign_dump.js" <"$WORK/users.txt" >"$WORK/js.txt"
"$STEWARD" assign --experiment "$WORK/exp.yaml" --users "$WORK/users.txt" --json \
  | python3 -c "import json,sys; [print(json.loads(l)['arm_index']) for l in sys.stdin]" >"$WORK/steward.txt"
if ! cmp -s "$WORK/js.txt" "$WORK/steward.txt"; then
  echo "assignment mismatch between steward and the GrowthBook JS SDK" >&2
  exit 1
fi

js=$(node "$HERE/growthbook-js/assign_bench.js" "$N")
st=$("$STEWARD" bench assign --users "$N" --json)
python3 - "$js" "$st" <<'PY'
import json, sys
js, st = json.loads(sys.argv[1]), json.loads(sys.argv[2])
print(json.dumps({
    "users": st["users"],
    "identical_assignments_checked": 20000,
    "growthbook_js_per_sec": round(js["assignments_per_sec"]),
    "steward_per_sec": round(st["assignments_per_sec"]),
    "ratio_steward_over_js": round(st["assignments_per_sec"] / js["assignments_per_sec"], 2),
    "same_treatment_share": js["treatment_share"] == st["treatment_share"],
}))
PY
