#!/usr/bin/env bash
# The official GrowthBook JavaScript SDK as a client of `steward serve` (issue #16): at each ramp
# step 20,000 users evaluated locally by the SDK from Steward's payload get the same arms as
# POST /v1/assign; after a rollback through the API a refreshed SDK puts nobody in the treatment;
# a revoked client key's payload is 401. Needs node, and the SDK that scripts/install-deps.sh
# installs from package-lock.json (`make test` runs it first; here npm ci is the fallback).
# Usage: tests/sdk/sdk_test.sh path/to/steward
set -euo pipefail
STEWARD="$(realpath "${1:?usage: sdk_test.sh path/to/steward}")"
HERE="$(cd "$(dirname "$0")" && pwd)"
USERS="${SDK_TEST_USERS:-20000}"
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "sdk_test: node and npm are needed (scripts/install-deps.sh installs them)" >&2
  exit 1
fi
if [ ! -d "$HERE/node_modules/@growthbook/growthbook" ]; then
  (cd "$HERE" && npm ci --no-audit --no-fund --silent) || {
    echo "sdk_test: cannot install the GrowthBook SDK (npm ci in tests/sdk; needs the npm registry or its cache)" >&2
    exit 1
  }
fi
WORK=$(mktemp -d)
SERVER_PID=""
cleanup() {
  if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT
export STEWARD_AUDIT_KEY_FILE="$WORK/audit.key"
DB="$WORK/sdk.db"
fail() { echo "sdk_test: FAIL: $*" >&2; exit 1; }

cat >"$WORK/exp.yaml" <<'YAML'
name: sdk-checkout
seed: sdk-checkout-seed
hash_version: 2
arms:
  - {name: control, model: baseline, weight: 0.5}
  - {name: treatment, model: baseline-genre, weight: 0.5}
ramp:
  - {coverage: 0.10, min_duration: 30d}
  - {coverage: 0.50, min_duration: 30d}
  - {coverage: 1.00, min_duration: 30d}
YAML
"$STEWARD" experiment create --db "$DB" --file "$WORK/exp.yaml" >/dev/null
ADMIN=$("$STEWARD" token create --db "$DB" --name sdk-admin --role admin --json | sed 's/.*"token":"\([^"]*\)".*/\1/')
KEY=$("$STEWARD" sdk-key create --db "$DB" --name web-app --experiments sdk-checkout --json | sed 's/.*"client_key":"\([^"]*\)".*/\1/')
"$STEWARD" serve --db "$DB" --listen 127.0.0.1:0 >"$WORK/serve.out" 2>"$WORK/serve.err" &
SERVER_PID=$!
for _ in $(seq 1 100); do grep -q "listening on" "$WORK/serve.out" && break; sleep 0.1; done
URL="http://$(sed -n 's/^listening on //p' "$WORK/serve.out")"
[ "$URL" != "http://" ] || fail "steward serve did not start: $(cat "$WORK/serve.err")"
api() { curl -sS -o "$WORK/resp" -w '%{http_code}' -X POST -H "Authorization: Bearer $ADMIN" "$URL$1" -d "$2"; }

check() {  # $1: label, $2: first request id for tracked exposures (0: none)
  node "$HERE/sdk_check.js" "$URL" "$KEY" "$ADMIN" sdk-checkout "$USERS" "$2" >"$WORK/check.json" || fail "$1: $(cat "$WORK/check.json")"
  echo "sdk_test: $1: $(cat "$WORK/check.json")"
}
field() { sed -n "s/.*\"$1\":\([a-z0-9]*\).*/\1/p" "$WORK/check.json"; }

[ "$(api /v1/experiments/sdk-checkout/start '{"reason":"sdk test"}')" = 200 ] || fail "start: $(cat "$WORK/resp")"
check "step 1 (coverage 0.10)" 1000000000
in1=$(field in_experiment)
[ "$(field etag_304)" = true ] || fail "an unchanged payload must answer 304 to If-None-Match"
[ "$(field events_accepted)" = "$(field tracked)" ] || fail "tracked SDK exposures were not all accepted"
for step in 2 3; do
  [ "$(api /v1/experiments/sdk-checkout/promote '{"reason":"next step"}')" = 200 ] || fail "promote: $(cat "$WORK/resp")"
  check "step $step" 0
done
in3=$(field in_experiment)
[ "$in3" -eq "$USERS" ] || fail "at coverage 1 every user must be in the experiment ($in3 of $USERS)"
[ "$in1" -gt $((USERS / 20)) ] && [ "$in1" -lt $((USERS * 3 / 20)) ] || fail "coverage 0.10 put $in1 of $USERS users in the experiment"
[ "$(api /v1/experiments/sdk-checkout/rollback '{"reason":"guardrail"}')" = 200 ] || fail "rollback: $(cat "$WORK/resp")"
check "after rollback" 0
[ "$(field in_treatment)" = 0 ] || fail "after the rollback a refreshed SDK still put $(field in_treatment) users in the treatment"
# Stored SDK exposures are what the guardrails and audits read.
"$STEWARD" sdk-key revoke --db "$DB" --name web-app >/dev/null
code=$(curl -sS -o /dev/null -w '%{http_code}' "$URL/api/features/$KEY")
[ "$code" = 401 ] || fail "a revoked client key must get 401, got $code"
kill -TERM "$SERVER_PID"; wait "$SERVER_PID"; SERVER_PID=""
n=$(sqlite3 "$DB" "SELECT COUNT(*) FROM exposures WHERE model_version = 'external:sdk' AND experiment = 'sdk-checkout'" 2>/dev/null || echo "?")
echo "sdk_test: ok ($n SDK exposures stored)"
