#!/usr/bin/env bash
# End-to-end test of `steward audit` (issue #11) as scripts use it: the plain-log audit against an
# independent reference implementation, exit codes and field-named errors on bad input, --help.
# Usage: governance_test.sh <path-to-steward>
set -uo pipefail
STEWARD=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
HERE=$(cd "$(dirname "$0")" && pwd)
# The pre-#12 demo (fast models, a 16.8 h shadow phase); the hybrid story is tested in app_test (DemoStory).
CLASSIC="$HERE/data/classic_demo.yaml"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
failures=0
pass=0
check() {  # check <description> <command...>
  local what="$1"; shift
  if "$@"; then pass=$((pass + 1)); else echo "FAIL: $what"; failures=$((failures + 1)); fi
}
exit_code() {  # exit_code <expected> <command...>: the command exits with <expected>
  local expected="$1"; shift
  "$@" >/dev/null 2>"$WORK/stderr.txt"
  [ $? -eq "$expected" ]
}

for cmd in "audit" "audit exposures" "audit sign-off" "audit sample" "audit label" "bench audit" "safety" "safety label" "safety train" "safety score"; do
  check "steward $cmd --help" "$STEWARD" $cmd --help >/dev/null
done

# audit exposures: the reference implementation agrees on a random log.
check "audit exposures matches the reference" python3 "$HERE/governance/reference_exposures.py" "$STEWARD" "$WORK"

# Bad input: exit 2 and a message naming the field.
printf 'item_id,group,category,popularity\na,g,c,1\n' >"$WORK/items.csv"
printf 'request_id,user_id,user_group,item_id,position,clicked\n1,u,h,zz,1,0\n' >"$WORK/bad.csv"
check "unknown item exits 2" exit_code 2 "$STEWARD" audit exposures --log "$WORK/bad.csv" --items "$WORK/items.csv" --json
check "unknown item names item_id" grep -q "item_id" "$WORK/stderr.txt"
check "missing log exits non-zero" exit_code 1 "$STEWARD" audit exposures --log "$WORK/none.csv" --items "$WORK/items.csv"
printf 'request_id,user_id,user_group,item_id,position,clicked\n' >"$WORK/empty.csv"
check "empty log is a clean zero audit" python3 -c "
import json, subprocess, sys
j = json.loads(subprocess.check_output([sys.argv[1], 'audit', 'exposures', '--log', sys.argv[2], '--items', sys.argv[3], '--json']))
assert j['lists'] == 0 and j['exposure_ratio'] == 1.0 and j['exposure_disparity'] == 1.0, j
" "$STEWARD" "$WORK/empty.csv" "$WORK/items.csv"

# audit --db: the contract's JSON shape, and the demo summary's figures are the audit's.
DB="$WORK/demo.db"
"$STEWARD" demo --headless --experiment "$CLASSIC" --requests 3000 --days 4 --db "$DB" --seed 5 --json 2>/dev/null | tail -n 1 >"$WORK/demo.json"
"$STEWARD" audit --db "$DB" --json --bootstrap 20 --quiet >"$WORK/audit.json"
check "audit --db exits 0" test $? -eq 0
check "audit JSON has the contract keys and agrees with the demo summary" python3 -c "
import json, sys
a = json.load(open(sys.argv[1]))
d = json.load(open(sys.argv[2]))
e = a['experiments'][0]
assert e['name'] == 'homepage-recs' and 'windows' in e and e['windows'], e.keys()
arms = {x['name']: x for x in e['arms']}
for arm in arms.values():
    for key in ('name', 'exposures', 'users', 'metrics', 'checks'):
        assert key in arm, key
    for c in arm['checks']:
        assert set(c) >= {'metric', 'value', 'ci_low', 'ci_high', 'threshold', 'status'}, c
        assert c['status'] in ('pass', 'fail', 'insufficient_data'), c
for s in d['arms']:
    m = arms[s['name']]['metrics']
    assert m['diversity_index']['value'] == s['diversity_index'], (s['name'], 'diversity')
    assert m['gini']['value'] == s['gini'] and m['coverage']['value'] == s['coverage'], s['name']
    for g, share in s['provider_exposure_shares'].items():
        assert m['exposure_share'][g]['value'] == share, (s['name'], g)
    assert m['gini']['ci_low'] <= m['gini']['value'] <= m['gini']['ci_high']
" "$WORK/audit.json" "$WORK/demo.json"
"$STEWARD" audit --db "$DB" --json --bootstrap 20 --quiet >"$WORK/audit2.json"
check "audit is deterministic for a seed" python3 -c "
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
for j in (a, b):
    for e in j['experiments']:
        e.pop('computed_at_ms')
assert a == b
" "$WORK/audit.json" "$WORK/audit2.json"
check "audit without --db exits 2" exit_code 2 "$STEWARD" audit --json
check "audit of an unknown experiment fails" exit_code 1 "$STEWARD" audit --db "$DB" --experiment nope
check "bad --window exits 2" exit_code 2 "$STEWARD" audit --db "$DB" --window soon
"$STEWARD" audit --db "$DB" --bootstrap 5 --quiet --out "$WORK/report" >/dev/null
check "audit --out writes the report and four PNG charts" python3 -c "
import json, os, sys
d = sys.argv[1]
for f in ['report.json', 'report.md', 'report.html'] + ['homepage-recs-%s.png' % c for c in ('exposure', 'disparity', 'lorenz', 'feedback')]:
    p = os.path.join(d, f)
    assert os.path.getsize(p) > 200, p
    if f.endswith('.png'):
        assert open(p, 'rb').read(4) == b'\\x89PNG', p
assert json.load(open(os.path.join(d, 'report.json')))['experiments'][0]['name'] == 'homepage-recs'
" "$WORK/report"
check "audit markdown" bash -c "'$STEWARD' audit --db '$DB' --bootstrap 5 --quiet | grep -q '# Governance audit'"

# --policy: the rows breaking each rule, per arm.
printf 'reason: e2e policy\nblocklist: [1]\nmax_impressions_per_user_item: 2\n' >"$WORK/policy.yaml"
check "audit --policy counts violations" python3 -c "
import json, subprocess, sys
j = json.loads(subprocess.check_output([sys.argv[1], 'audit', '--db', sys.argv[2], '--json', '--quiet', '--bootstrap', '0', '--policy', sys.argv[3]]))
e = j['experiments'][0]
assert e['policy'] == 'e2e policy', e['policy']
for a in e['arms']:
    m = a['metrics']
    assert 0 <= m['policy_violation_share']['value'] <= 1
    assert abs(m['policy_blocklist_share']['value'] + m['policy_restricted_share']['value'] + m['policy_cap_share']['value'] - m['policy_violation_share']['value']) < 1e-9
" "$STEWARD" "$DB" "$WORK/policy.yaml"
printf 'reason: x\nblocklst: [1]\n' >"$WORK/badpolicy.yaml"
check "a bad policy exits 2" exit_code 2 "$STEWARD" audit --db "$DB" --policy "$WORK/badpolicy.yaml" --quiet
check "the error names the field" grep -q "blocklist" "$WORK/stderr.txt"

# sample and label: seeded draws, labels stored and reported per arm.
"$STEWARD" audit sample --db "$DB" --experiment homepage-recs --n 5 --seed 9 --json >"$WORK/sample.json"
"$STEWARD" audit sample --db "$DB" --experiment homepage-recs --n 5 --seed 9 --json >"$WORK/sample2.json"
check "audit sample is seeded" cmp -s "$WORK/sample.json" "$WORK/sample2.json"
REQ=$(python3 -c "import json, sys; s = json.load(open(sys.argv[1]))['samples']; assert len(s) == 5 and len(s[0]['items']) == 10; print(s[0]['request_id'])" "$WORK/sample.json")
check "audit label" "$STEWARD" audit label --db "$DB" --request "$REQ" --actor rita --label concern --note "head authors only"
check "unknown request exits 2" exit_code 2 "$STEWARD" audit label --db "$DB" --request 99999999 --actor rita --label ok
check "unknown label exits 2" exit_code 2 "$STEWARD" audit label --db "$DB" --request "$REQ" --actor rita --label meh
check "labels are reported by the audit" python3 -c "
import json, subprocess, sys
j = json.loads(subprocess.check_output([sys.argv[1], 'audit', '--db', sys.argv[2], '--json', '--quiet', '--bootstrap', '0']))
labels = [a['review_labels'] for a in j['experiments'][0]['arms'] if a['review_labels']]
assert labels == [{'concern': 1}], labels
" "$STEWARD" "$DB"

# sign-off: the demo waits for the reviewer on a failing audit; a person blocks, then approves.
RDB="$WORK/review.db"
"$STEWARD" demo --headless --requests 20000 --db "$RDB" --seed 3 --experiment "$HERE/data/audit_review.yaml" --json 2>/dev/null \
  | tail -n 1 >"$WORK/review.json"
check "the demo waits for rai-reviewer on a failing audit" python3 -c "
import json, sys
e = json.load(open(sys.argv[1]))['experiments'][0]
assert e['waiting_for_role'] == 'rai-reviewer' and e['step'] == 2, e
" "$WORK/review.json"
check "a plain approval by the reviewer role is refused" exit_code 1 "$STEWARD" experiment approve --db "$RDB" --name homepage-recs \
  --actor rita --role rai-reviewer --reason ok
check "the refusal names the sign-off command" grep -q "audit sign-off" "$WORK/stderr.txt"
check "sign-off needs a decision" exit_code 2 "$STEWARD" audit sign-off --db "$RDB" --experiment homepage-recs --actor rita --reason x
check "block" "$STEWARD" audit sign-off --db "$RDB" --experiment homepage-recs --actor rita --decision block \
  --reason "APLT far below target" --quiet --bootstrap 20
check "blocked experiment holds" python3 -c "
import json, subprocess, sys
e = json.loads(subprocess.check_output([sys.argv[1], 'experiment', 'status', '--db', sys.argv[2], '--json']))['experiments'][0]
assert e['state'] == 'holding' and 'blocked' in e['reason'], e
" "$STEWARD" "$RDB"
"$STEWARD" audit sign-off --db "$RDB" --experiment homepage-recs --actor rita --decision approve \
  --reason "accepted with follow-up" --json --quiet --bootstrap 20 >"$WORK/signoff.json"
check "approve after the block" python3 -c "
import json, sys
j = json.load(open(sys.argv[1]))
assert j['decision'] == 'approve' and len(j['report_hash']) == 64 and j['approvals'] == ['rai-reviewer'] and j['blocked'] == '', j
assert j['passed'] is False and j['failures'], j
" "$WORK/signoff.json"
check "the audit log holds both sign-offs with the evidence hash" python3 -c "
import json, subprocess, sys
rows = [json.loads(l) for l in subprocess.check_output([sys.argv[1], 'audit-log', 'list', '--db', sys.argv[2], '--json', '--limit', '0']).splitlines()]
so = [r for r in rows if r['action'] == 'audit.signoff']
assert [json.loads(r['payload'])['decision'] for r in so] == ['approve', 'block'], so
p = json.loads(so[0]['payload'])
assert p['report_hash'] == json.load(open(sys.argv[3]))['report_hash'] and p['definitions_version'] == 'steward-fairness-1'
assert p['thresholds']['thresholds'][0]['key'] == 'aplt_min'
" "$STEWARD" "$RDB" "$WORK/signoff.json"
check "audit-log verify after sign-offs" "$STEWARD" audit-log verify --db "$RDB"

# The safety screen (issue #11, item 5): label, train and score the risk model; serve the demo
# through the policy and the model; the audit and the review sample report what the screen did.
DATA=$(cd "$HERE/../../data" && pwd)
export STEWARD_AUDIT_KEY_FILE="$WORK/audit.key"
check "safety label writes the v1 set" "$STEWARD" safety label --out "$WORK/labels.csv"
check "the labels equal the shipped set" cmp "$WORK/labels.csv" "$DATA/safety/risk-labels-v1.csv"
"$STEWARD" safety train --labels "$WORK/labels.csv" --out "$WORK/risk.json" --json >"$WORK/train.json"
check "safety train reports a held-out AUC above chance" python3 -c "
import json, sys
j = json.load(open(sys.argv[1]))
assert j['training_rows'] == 10000 and j['training_positives'] == 419 and 0.65 < j['auc_test'] < 1.0, j
m = json.load(open(sys.argv[2]))
assert m['format'] == 'steward-risk-1' and m['training_set']['sha256'] == j['training_sha256'] and m['metrics']['auc_test'] == j['auc_test']
" "$WORK/train.json" "$WORK/risk.json"
"$STEWARD" safety score --model "$DATA/safety/risk-model-v1.json" --json --top 3 >"$WORK/score.json"
check "safety score counts what the thresholds block and demote" python3 -c "
import json, sys
j = json.load(open(sys.argv[1]))
assert j['items'] == 10000 and j['blocked'] == 91 and j['demoted'] == 242 and len(j['top']) == 3, j
assert j['top'][0]['risk'] >= j['top'][2]['risk'] >= 0.5
" "$WORK/score.json"
printf 'item_id,label\n1,7\n' >"$WORK/badlabels.csv"
check "a bad label exits 2" exit_code 2 "$STEWARD" safety train --labels "$WORK/badlabels.csv" --out "$WORK/x.json"
check "the error names the column" grep -q "label" "$WORK/stderr.txt"
printf '{"format":"steward-risk-1","version":"v","bias":0,"weights":{"t:a":"x"}}' >"$WORK/badmodel.json"
check "a bad model file exits 2" exit_code 2 "$STEWARD" demo --headless --requests 10 --db "$WORK/bad.db" --risk-model "$WORK/badmodel.json"
check "the error names the field" grep -q "weights.t:a" "$WORK/stderr.txt"
SDB="$WORK/screened.db"
"$STEWARD" demo --headless --experiment "$CLASSIC" --requests 3000 --db "$SDB" --seed 5 --quiet --json \
  --policy "$DATA/policy/demo-policy.yaml" --risk-model "$DATA/safety/risk-model-v1.json" >"$WORK/demo.out" 2>/dev/null
check "demo through the safety screen reports what it did" python3 -c "
import json, sys
j = json.loads(open(sys.argv[1]).read().strip().splitlines()[-1])
assert j['requests'] == 3000 and j['safety']['blocked'] > 3000 and j['safety']['demoted'] >= 0, j.get('safety')
" "$WORK/demo.out"
"$STEWARD" audit --db "$SDB" --policy "$DATA/policy/demo-policy.yaml" --bootstrap 20 --json >"$WORK/screened.json" 2>/dev/null
check "screened arms break no rule and report the screen" python3 -c "
import json, sys
j = json.load(open(sys.argv[1]))
arms = {a['name']: a for a in j['experiments'][0]['arms']}
for name in ('control', 'treatment'):
    m = arms[name]['metrics']
    assert m['policy_violation_share']['value'] == 0, (name, m['policy_violation_share'])
    assert m['screen_blocked_per_list']['value'] >= 1, (name, m['screen_blocked_per_list'])
    assert 0 < m['risk_mean']['value'] < 0.5 and 'risk_disparity' in m, name
shadow = [a for a in j['experiments'][0]['arms'] if a['name'].startswith('shadow:')][0]
assert 'risk_mean' in shadow['metrics'] and 'screen_blocked_per_list' not in shadow['metrics']
" "$WORK/screened.json"
check "the stored records name their rules" python3 -c "
import sqlite3, json, sys
rows = [json.loads(r[0]) for r in sqlite3.connect(sys.argv[1]).execute('SELECT safety FROM exposures')]
assert rows and all(len(r['risk']) > 0 for r in rows)
rules = {d[2] for r in rows for d in r['decisions']}
assert {'blocklist', 'restricted_category', 'risk'} <= rules, rules
" "$SDB"
"$STEWARD" audit sample --db "$SDB" --experiment homepage-recs --n 5 --json >"$WORK/sample.json"
check "the review sample shows each item's risk" python3 -c "
import json, sys
j = json.load(open(sys.argv[1]))
assert len(j['samples']) == 5
assert all(i['risk'] is not None and 0 <= i['risk'] < 0.5 for s in j['samples'] for i in s['items'])
assert all(s['safety']['scorer'] == 'risk-v1' for s in j['samples'])
" "$WORK/sample.json"
"$STEWARD" shadow report --db "$SDB" --json >"$WORK/shadow.json" 2>/dev/null
check "the shadow report compares served and shadow risk" python3 -c "
import json, sys
e = json.load(open(sys.argv[1]))['experiments'][0]
for side in ('served', 'shadow'):
    assert 0 < e[side]['risk_mean'] < 0.5 and e[side]['risk_disparity'] >= 0, (side, e[side])
assert e['violations'] == 0, e['violations']  # the shadow model is screened too
" "$WORK/shadow.json"
check "the screen is recorded in the audit log" bash -c "'$STEWARD' audit-log list --db '$SDB' --json --limit 0 | grep -q 'safety.policy'"

echo "$pass passed, $failures failed"
[ "$failures" -eq 0 ]
