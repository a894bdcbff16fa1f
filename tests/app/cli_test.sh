#!/usr/bin/env bash
# End-to-end test of the `steward` binary as scripts use it (issue #2 contract):
#   demo --json last line, audit-log verify exit codes and tamper detection, --help everywhere,
#   clear errors on bad input, and a dashboard screenshot under xvfb-run.
# Usage: cli_test.sh <path-to-steward>
set -uo pipefail
STEWARD="$1"
WORK=$(mktemp -d)
# The pre-#12 demo (fast models, a 16.8 h shadow phase, a plain approval) for tests of the mechanisms;
# the hybrid story (data/experiments/demo.yaml) is tested in app_test (DemoStory) and by the regression run below.
CLASSIC="$(cd "$(dirname "$0")" && pwd)/data/classic_demo.yaml"
trap 'rm -rf "$WORK"' EXIT
failures=0
pass=0
check() {  # check <description> <command...>
  local what="$1"; shift
  if "$@"; then pass=$((pass + 1)); else echo "FAIL: $what"; failures=$((failures + 1)); fi
}

# --help lists every subcommand, and each has --help.
help=$("$STEWARD" --help)
for cmd in demo dashboard audit-log bench experiment stats assign replay simulate ope shadow; do
  check "--help lists $cmd" grep -q "$cmd" <<<"$help"
done
for cmd in "demo" "dashboard" "audit-log" "audit-log verify" "audit-log list" "bench" "bench ingest" "bench assign" \
           "experiment" "experiment validate" "experiment create" "experiment status" "experiment ramp" \
           "experiment approve" "experiment promote" "experiment rollback" "experiment history" "experiment stop" \
           "experiment kill-switch" "experiment simulate-guardrail" "stats" "stats proportions" "stats means" \
           "stats srm" "stats sample-size" "assign" "replay" "simulate" "bench bandit" "bench retrieval" \
           "bench recommend" "bench ope" "bench serve" "bench fairness" "ope" "shadow" "shadow report"; do
  check "steward $cmd --help" "$STEWARD" $cmd --help >/dev/null
done

# demo --json: the last line is one JSON object with the contract keys.
DB="$WORK/demo.db"
"$STEWARD" demo --headless --experiment "$CLASSIC" --requests 2000 --db "$DB" --seed 3 --json >"$WORK/out.txt" 2>"$WORK/err.txt"
check "demo exits 0" test $? -eq 0
last=$(tail -n 1 "$WORK/out.txt")
check "demo JSON has requests/exposures/clicks/db" python3 -c "
import json, sys
j = json.loads(sys.argv[1])
assert j['requests'] == 2000 and j['exposures'] == 2000 and j['clicks'] > 0 and j['db'] == sys.argv[2], j
" "$last" "$DB"
check "demo shows progress on stderr" grep -q "requests" "$WORK/err.txt"
check "integrity_check ok" test "$(sqlite3 "$DB" 'PRAGMA integrity_check')" = "ok"

# audit-log verify: 0 when intact; 3 naming the first bad row after an edit.
check "verify intact" "$STEWARD" audit-log verify --db "$DB"
sqlite3 "$DB" "UPDATE audit_log SET reason = 'edited' WHERE seq = 2"
"$STEWARD" audit-log verify --db "$DB" 2>"$WORK/verify.txt"
check "verify fails after an edit" test $? -eq 3
check "verify names the edited row" grep -q "seq=2" "$WORK/verify.txt"
check "audit-log list prints rows" bash -c "'$STEWARD' audit-log list --db '$DB' --limit 0 | grep -q demo.start"
# Regression (#15 item 2): deleting the newest rows verified "intact"; the anchor file catches it.
DB2="$WORK/truncated.db"
"$STEWARD" demo --headless --experiment "$CLASSIC" --requests 500 --db "$DB2" --seed 5 >/dev/null 2>&1
check "verify reports the anchor" bash -c "'$STEWARD' audit-log verify --db '$DB2' | grep -q 'anchored through row'"
sqlite3 "$DB2" "DELETE FROM audit_log WHERE seq >= (SELECT MAX(seq) - 1 FROM audit_log)"
"$STEWARD" audit-log verify --db "$DB2" 2>"$WORK/verify2.txt"
check "verify fails after truncation" test $? -eq 3
check "verify says truncated" grep -q "truncated" "$WORK/verify2.txt"
# Regression (#15 item 9): the dashboard ignored SIGTERM; it now closes cleanly (exit 0).
if command -v xvfb-run >/dev/null; then
  out=$(timeout 60 xvfb-run -a -s "-screen 0 1280x800x24" sh -c "'$STEWARD' dashboard --db '$DB2' & pid=\$!; sleep 2; kill -TERM \$pid; wait \$pid; echo rc=\$?" 2>/dev/null)
  check "dashboard exits on SIGTERM" bash -c "echo '$out' | grep -q 'rc=0'"
fi
# Control characters in an actor or reason are refused at the boundary (exit 2).
"$STEWARD" experiment rollback --db "$DB2" --name homepage-recs --actor oncall --reason $'line\x1b[2Jbreak' 2>"$WORK/ctl.txt"
check "control characters refused" test $? -eq 2

# Bad input: clear errors, non-zero exit, nothing written.
"$STEWARD" demo --headless --requests 10 --db "$WORK/x.db" --experiment "$WORK/missing.yaml" 2>"$WORK/e1.txt"
check "missing experiment file fails" test $? -ne 0
check "error names the file" grep -q "missing.yaml" "$WORK/e1.txt"
printf 'name: x\narms:\n  - {name: a, model: baseline, weight: 0.7}\n  - {name: b, model: baseline, weight: 0.7}\n' >"$WORK/bad.yaml"
"$STEWARD" demo --headless --requests 10 --db "$WORK/y.db" --experiment "$WORK/bad.yaml" 2>"$WORK/e2.txt"
check "bad weights fail with exit 2" test $? -eq 2
check "error names the field" grep -q "field 'arms'" "$WORK/e2.txt"
"$STEWARD" demo --headless --requests -5 >/dev/null 2>&1
check "negative requests rejected" test $? -ne 0
"$STEWARD" audit-log verify --db "$WORK/none.db" 2>"$WORK/e3.txt"
check "verify on a missing db fails" test $? -ne 0
check "bench ingest JSON" bash -c "'$STEWARD' bench ingest --events 20000 --json | python3 -c 'import json,sys; j=json.loads(sys.stdin.readlines()[-1]); assert j[\"events\"]==20000 and j[\"events_per_sec\"]>0 and \"seconds\" in j'"

# stats: the contract's JSON keys.
json_has() {  # json_has <json> <keys...>
  python3 -c "
import json, sys
j = json.loads(sys.argv[1])
missing = [k for k in sys.argv[2:] if k not in j]
assert not missing, missing
" "$@"
}
check "stats proportions" json_has "$("$STEWARD" stats proportions --a 120/1000 --b 150/1000 --json)" z p_value diff ci_low ci_high rel_lift
check "stats means" json_has "$("$STEWARD" stats means --a 10,3,100 --b 11,3.5,120 --json)" t df p_value diff ci_low ci_high
check "stats srm" json_has "$("$STEWARD" stats srm --counts 5100,4900 --weights 0.5,0.5 --json)" chi2 p_value mismatch
check "stats sample-size" json_has "$("$STEWARD" stats sample-size --baseline 0.05 --mde 0.1 --alpha 0.05 --power 0.8 --json)" n_per_arm
"$STEWARD" stats proportions --a 12/x --b 1/2 --json >/dev/null 2>"$WORK/e4.txt"
check "stats bad input exits 2" test $? -eq 2
check "stats error names the flag" grep -q -- "--a" "$WORK/e4.txt"

# assign: one JSON line per user, in input order.
printf 'alice\nbob\ncarol\n' >"$WORK/users.txt"
"$STEWARD" assign --experiment "$(dirname "$0")/data/ab_fixed.yaml" --users "$WORK/users.txt" --json >"$WORK/assign.txt"
check "assign JSON per user in order" python3 -c "
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
assert [r['user'] for r in rows] == ['alice', 'bob', 'carol'], rows
for r in rows:
    assert set(r) >= {'user', 'hash', 'arm', 'arm_index', 'in_experiment'}, r
    assert 0 <= r['hash'] < 1 and (r['arm_index'] >= 0) == r['in_experiment']
" "$WORK/assign.txt"

# experiment lifecycle through the CLI.
EDB="$WORK/exp.db"
EXP="$CLASSIC"
check "experiment validate" "$STEWARD" experiment validate "$EXP"
check "the demo's experiment validates" "$STEWARD" experiment validate "$(dirname "$0")/../../data/experiments/demo.yaml"
printf 'name: x\ncoverag: 1\narms:\n  - {name: a, model: baseline}\n  - {name: b, model: baseline}\n' >"$WORK/typo.yaml"
"$STEWARD" experiment validate "$WORK/typo.yaml" 2>"$WORK/e5.txt"
check "validate rejects a typo with exit 2" test $? -eq 2
check "validate suggests the field" grep -q "did you mean 'coverage'" "$WORK/e5.txt"
check "experiment create" "$STEWARD" experiment create --db "$EDB" --file "$EXP" --actor alice
check "experiment ramp (to shadow)" "$STEWARD" experiment ramp --db "$EDB" --name homepage-recs --actor alice
check "experiment ramp (to step 1)" "$STEWARD" experiment ramp --db "$EDB" --name homepage-recs --actor alice
check "status --json says ramping" python3 -c "
import json, sys
j = json.loads(sys.argv[1])
e = j['experiments'][0]
assert e['name'] == 'homepage-recs' and e['state'] == 'ramping' and e['step'] == 1 and e['coverage'] == 0.1, e
" "$("$STEWARD" experiment status --db "$EDB" --json)"
check "promote to step 2" "$STEWARD" experiment promote --db "$EDB" --name homepage-recs --actor alice
"$STEWARD" experiment promote --db "$EDB" --name homepage-recs --actor alice 2>"$WORK/e6.txt"
check "promote to step 3 needs approval" grep -q "rai-reviewer" "$WORK/e6.txt"
check "approve" "$STEWARD" experiment approve --db "$EDB" --name homepage-recs --actor rita --role rai-reviewer
check "promote after approval" "$STEWARD" experiment promote --db "$EDB" --name homepage-recs --actor alice
"$STEWARD" experiment rollback --db "$EDB" --name homepage-recs --actor bob >/dev/null 2>&1
check "rollback without a reason is refused" test $? -ne 0
check "rollback" "$STEWARD" experiment rollback --db "$EDB" --name homepage-recs --actor bob --reason "pager: CTR alarm"
check "status after rollback" python3 -c "
import json, sys
e = json.loads(sys.argv[1])['experiments'][0]
assert e['state'] == 'rolled_back' and e['coverage'] == 0 and e['reason'] == 'pager: CTR alarm', e
" "$("$STEWARD" experiment status --db "$EDB" --json)"
check "history lists the rollback" bash -c "'$STEWARD' experiment history --db '$EDB' --name homepage-recs | grep -q 'experiment.rollback'"
check "audit chain intact after the lifecycle" "$STEWARD" audit-log verify --db "$EDB"

# demo --scenario regression: rolled back, and it stays so.
SDB="$WORK/scenario.db"
"$STEWARD" demo --headless --scenario regression --requests 20000 --db "$SDB" --seed 5 --json --quiet >"$WORK/scenario.txt"
check "regression scenario rolls back" python3 -c "
import json, sys
j = json.loads(open(sys.argv[1]).read().splitlines()[-1])
e = j['experiments'][0]
assert e['state'] == 'rolled_back' and e['rolled_back_at'] and 'guardrail' in e['reason'], e
st = {s['name']: s['status'] for s in j['stages']}
assert st == {'shadow': 'done', 'ramp': 'rolled_back', 'review': st['review'], 'outcome': 'rolled_back'}, st
" "$WORK/scenario.txt"
check "rolled back after reopening" bash -c "'$STEWARD' experiment status --db '$SDB' | grep -q rolled_back"

# issue #4 contracts (small sizes: the benchmarks themselves are for make bench).
check "replay JSON" json_has "$("$STEWARD" replay --log "$(dirname "$0")/../../data/obd/random/men/men.csv" --policy linucb --seed 1 --json)" matched clicks ctr ci_low ci_high
"$STEWARD" replay --log "$(dirname "$0")/../../data/obd/bts/men/men.csv" --policy linucb --json >/dev/null 2>"$WORK/e7.txt"
check "replay refuses a non-uniform log" grep -q "uniformly random" "$WORK/e7.txt"
check "simulate JSON" json_has "$("$STEWARD" simulate --policy hybrid --users 100 --days 1 --seed 2 --json 2>/dev/null | tail -n 1)" \
  ctr diversity_index sequential_similarity coverage gini new_user_interactions_to_quality new_item_days_to_signal
check "simulate --fairness-constraint JSON" json_has "$("$STEWARD" simulate --policy hybrid --users 100 --days 1 --seed 2 --fairness-constraint provider --tolerance 0.05 --json 2>/dev/null | tail -n 1)" \
  exposure_disparity exposure_share constraint
"$STEWARD" simulate --policy hybrid --users 10 --days 1 --tolerance 0.05 >/dev/null 2>"$WORK/e12.txt"
check "simulate --tolerance needs the constraint" grep -q -- "--tolerance needs --fairness-constraint" "$WORK/e12.txt"
check "bench fairness JSON" json_has "$("$STEWARD" bench fairness --seeds 1 --tolerances 0.1 --users 50 --days 1 --json 2>/dev/null | tail -n 1)" \
  target_share runs means
check "bench bandit JSON" json_has "$("$STEWARD" bench bandit --dim 78 --arms 200 --updates 20000 --json)" updates_per_sec scores_per_sec
check "bench retrieval JSON" json_has "$("$STEWARD" bench retrieval --items 3000 --index HNSW32 --queries 100 --json)" recall_at_100 p99_us exact_p99_us
check "bench recommend JSON" json_has "$("$STEWARD" bench recommend --items 2000 --candidates 200 --requests 100 --json)" p50_us p99_us qps

# issue #5 contracts available so far: ope.
check "ope --synthetic" python3 -c "
import json, sys
j = json.loads(sys.argv[1])
assert 'true_value' in j and set(j['estimates']) == {'ips', 'snips', 'dm', 'dr', 'switch-dr', 'dros'}, j
for e in j['estimates'].values():
    assert e['ci_low'] <= e['value'] <= e['ci_high'], e
assert set(j['mse']) == set(j['estimates']), j
" "$("$STEWARD" ope --synthetic --n 5000 --seed 1 --repeats 3 --json)"
check "ope --log" json_has "$("$STEWARD" ope --log "$(dirname "$0")/../../data/obd/bts/men/men.csv" --policy uniform --estimators snips,dr --json)" estimates ess max_weight
check "shadow report" python3 -c "
import json, sys
j = json.loads(sys.argv[1])
e = j['experiments'][0]
assert {'name', 'requests', 'overlap_at_10', 'rbo', 'kendall_tau', 'dropped', 'violations', 'served', 'shadow'} <= set(e), e
for side in ('served', 'shadow'):
    assert {'diversity_index', 'novelty', 'coverage', 'p50_ms', 'p95_ms', 'p99_ms', 'errors'} <= set(e[side]), e[side]
assert e['requests'] == 2000, e
" "$("$STEWARD" shadow report --db "$DB" --out "$WORK/report" --json)"
check "shadow report files" test -s "$WORK/report/report.md"
check "shadow report html + charts" bash -c "test -s '$WORK/report/report.html' && ls '$WORK/report/'*-agreement.png '$WORK/report/'*-latency.png '$WORK/report/'*-quality.png >/dev/null"
check "shadow report counts policy violations" python3 -c "
import json, sys
e = json.loads(sys.argv[1])['experiments'][0]
assert e['policy'] == 'blocklist' and e['violations'] > 0, e  # the popularity shadow lists blocked best-sellers
" "$("$STEWARD" shadow report --db "$DB" --policy "$(dirname "$0")/../../data/policy/demo-blocklist.yaml" --json)"
"$STEWARD" shadow report --db "$DB" --policy /nonexistent.yaml --json >/dev/null 2>"$WORK/policy-err.txt"
check "shadow report: missing policy file fails clearly" bash -c "test $? -ne 0 && grep -q nonexistent.yaml '$WORK/policy-err.txt'"
check "ope --slate position-based" python3 -c "
import json, sys
j = json.loads(sys.argv[1])
assert j['slate'] == 'position-based' and len(j['examination']) == 3 and j['examination'][0] == 1.0, j
assert {'ips', 'snips', 'dr'} <= set(j['estimates']) and j['ess'] > 0, j
" "$("$STEWARD" ope --log "$(dirname "$0")/../../data/obd/bts/men/men.csv" --policy uniform --slate position-based --estimators ips,snips,dr --json)"
# A run under a safety blocklist records it with the experiment; the report then counts against it
# without --policy, and the screened models show none of its items.
"$STEWARD" demo --headless --experiment "$CLASSIC" --quiet --requests 2000 --db "$WORK/policy.db" \
  --blocklist "$(dirname "$0")/../../data/policy/demo-blocklist.yaml" --json >/dev/null 2>&1
check "recorded policy is used by the report" python3 -c "
import json, sys
e = json.loads(sys.argv[1])['experiments'][0]
assert e['policy'] == 'blocklist' and e['policy_source'].startswith('recorded in audit row'), e
assert e['violations'] == 0 and e['served']['violations'] == 0, e
" "$("$STEWARD" shadow report --db "$WORK/policy.db" --json)"

# A bad command line exits 2 (bad input) and names the flag and the bound.
"$STEWARD" demo --headless --requests 10 --db "$WORK/bad.db" --shadow-queue 0 2>"$WORK/bad.txt"
check "bad flag value exits 2" test $? -eq 2
check "bad flag value names the bound" grep -q -- "--shadow-queue: must be at least 1, got 0" "$WORK/bad.txt"

# The hybrid in shadow beside the baseline (data/experiments/hybrid-shadow.yaml): every request
# shadowed with a large queue, retrained versions recorded, no errors.
"$STEWARD" demo --headless --quiet --requests 1500 --experiment "$(dirname "$0")/../../data/experiments/hybrid-shadow.yaml" \
  --db "$WORK/hybrid.db" --shadow-queue 100000 --json >/dev/null 2>&1
check "hybrid shadow demo" python3 -c "
import json, sys
e = json.loads(sys.argv[1])['experiments'][0]
assert e['name'] == 'hybrid-shadow' and e['shadow_model'].startswith('hybrid@'), e
assert e['compared'] == 1500 and e['dropped'] == 0 and e['shadow']['errors'] == 0, e
" "$("$STEWARD" shadow report --db "$WORK/hybrid.db" --json)"
check "ope genre-shelf scenario: DR beats IPS over repeats" python3 -c "
import json, sys
j = json.loads(sys.argv[1])
assert j['scenario'] == 'genre-shelf' and j['mse']['dr'] < j['mse']['ips'], j
" "$("$STEWARD" ope --synthetic --n 20000 --seed 1 --repeats 20 --json)"
check "bench serve" json_has "$("$STEWARD" bench serve --shadow on --requests 2000 --json)" p50_us p99_us qps shadow_dropped
check "bench ope" json_has "$("$STEWARD" bench ope --rows 100000 --json)" rows_per_sec

# Dashboard screenshot under a virtual display.
if command -v xvfb-run >/dev/null 2>&1; then
  xvfb-run -a -s "-screen 0 1600x1000x24" "$STEWARD" dashboard --db "$DB" --screenshot "$WORK/shot.png" --frames 3 >/dev/null 2>"$WORK/dash.txt"
  check "dashboard screenshot exits 0" test $? -eq 0
  check "dashboard --frame-stats prints its JSON line" json_has \
    "$(xvfb-run -a -s "-screen 0 1280x800x24" "$STEWARD" dashboard --db "$DB" --role oncall --frame-stats --frames 20 --width 1280 --height 800 2>/dev/null | tail -1)" \
    frames frame_ms_p50 frame_ms_p99 refresh_ms_p99
  check "screenshot is a PNG of the window" python3 -c "
import struct, sys
data = open(sys.argv[1], 'rb').read()
assert data[1:4] == b'PNG', 'not a PNG'
w, h = struct.unpack('>II', data[16:24])
assert (w, h) == (1600, 1000), (w, h)
assert len(data) > 20000, 'suspiciously small: %d bytes' % len(data)
" "$WORK/shot.png"
else
  echo "SKIP: xvfb-run not installed (scripts/install-deps.sh installs it)"
fi

echo "$pass passed, $failures failed"
[ "$failures" -eq 0 ]
