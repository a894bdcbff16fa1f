#!/usr/bin/env bash
# End-to-end regressions for issue #15 ("Hardening"): each reproduction from the issue, run against
# the `steward` binary. Kept apart from cli_test.sh (the contract test) so the two can change
# independently; same conventions: check <description> <command...>, exit 1 when any check fails.
# Usage: hardening_test.sh <path-to-steward>
set -uo pipefail
STEWARD="$1"
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$HERE/../.."
# The pre-#12 demo (fast models, a 16.8 h shadow phase) for tests of the control loop; the hybrid story has its own tests.
CLASSIC="$HERE/data/classic_demo.yaml"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
failures=0
pass=0
check() {  # check <description> <command...>
  local what="$1"; shift
  if "$@"; then pass=$((pass + 1)); else echo "FAIL: $what"; failures=$((failures + 1)); fi
}
# expect_exit <code> <description> <command...>: the command exits with <code> (stdout and stderr
# kept in $WORK/out and $WORK/err for the checks that follow).
expect_exit() {
  local code="$1" what="$2"; shift 2
  "$@" >"$WORK/out" 2>"$WORK/err"
  local rc=$?
  if [ "$rc" -eq "$code" ]; then pass=$((pass + 1)); else
    echo "FAIL: $what (exit $rc, expected $code)"; sed 's/^/  stderr: /' "$WORK/err" | head -5; failures=$((failures + 1)); fi
}
EXP="$ROOT/data/experiments/demo.yaml"
AB="$HERE/data/ab_fixed.yaml"

# A database with a live experiment (ramping), for the commands that act on one.
live_db() {  # live_db <path>
  "$STEWARD" experiment create --db "$1" --file "$EXP" --actor alice >/dev/null &&
    "$STEWARD" experiment ramp --db "$1" --name homepage-recs --actor alice >/dev/null &&
    "$STEWARD" experiment ramp --db "$1" --name homepage-recs --actor alice >/dev/null
}

# ---- 1. Invalid UTF-8 never aborts: exit 2 naming the field; nothing half-done. ----
DB1="$WORK/utf8.db"
live_db "$DB1"
expect_exit 2 "rollback --actor \\xff exits 2 (was: abort, exit 134)" \
  "$STEWARD" experiment rollback --db "$DB1" --name homepage-recs --actor $'\xff' --reason y
check "the error names --actor" grep -q -- "--actor: not valid UTF-8" "$WORK/err"
check "a rollback with a valid actor then applies" "$STEWARD" experiment rollback --db "$DB1" --name homepage-recs --actor bob --reason y
check "status says rolled_back" bash -c "'$STEWARD' experiment status --db '$DB1' | grep -q rolled_back"
printf 'name: x\xff\narms:\n  - {name: a, model: baseline}\n  - {name: b, model: baseline}\n' >"$WORK/bad-utf8.yaml"
expect_exit 2 "experiment file with 0xFF exits 2" "$STEWARD" experiment validate "$WORK/bad-utf8.yaml"
check "the error names file and line" grep -q "bad-utf8.yaml:1: .*not valid UTF-8" "$WORK/err"
printf 'items: [1]\nreason: "bad \xff"\n' >"$WORK/bad-block.yaml"
expect_exit 2 "blocklist with 0xFF exits 2" \
  "$STEWARD" demo --headless --quiet --requests 10 --db "$WORK/b.db" --blocklist "$WORK/bad-block.yaml"
check "the error names the blocklist" grep -q "bad-block.yaml:2: .*not valid UTF-8" "$WORK/err"
printf 'alice\n\xffbob\ncarol\n' >"$WORK/users-utf8.txt"
expect_exit 2 "users file with 0xFF exits 2" "$STEWARD" assign --experiment "$AB" --users "$WORK/users-utf8.txt" --json
check "the error names the users file line" grep -q "users-utf8.txt:2: user id: not valid UTF-8" "$WORK/err"
check "nothing printed before the error" test ! -s "$WORK/out"

# ---- 4. Resource bounds: small inputs cannot run for minutes or fill memory. ----
python3 - "$WORK/laughs.yaml" <<'PY'
import sys
lines = ["a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
for i in range(1, 9):
    lines.append("a%d: &a%d [%s]" % (i, i, ", ".join(["*a%d" % (i - 1)] * 9)))
open(sys.argv[1], "w").write("\n".join(lines) + "\n")
PY
expect_exit 2 "billion-laughs YAML exits 2 at once" timeout 20 "$STEWARD" experiment validate "$WORK/laughs.yaml"
check "the error names the alias bound" grep -q "more than 100000 values once aliases" "$WORK/err"
expect_exit 2 "/dev/zero as an experiment file exits 2" timeout 20 "$STEWARD" experiment validate /dev/zero
check "the error says it is not a regular file" grep -q "must be a regular file" "$WORK/err"
expect_exit 2 "/dev/zero as a users file exits 2" timeout 20 "$STEWARD" assign --experiment "$AB" --users /dev/zero
expect_exit 2 "demo --requests 99999999999999999999 exits 2" timeout 20 "$STEWARD" demo --headless --requests 99999999999999999999 --db "$WORK/r.db"
check "the error names the bound" grep -q -- "--requests: must be at most 100000000, got 99999999999999999999" "$WORK/err"
check "no database was created" test ! -e "$WORK/r.db"
expect_exit 2 "ope --bootstrap 1000000000 exits 2" timeout 20 "$STEWARD" ope --synthetic --n 100 --bootstrap 1000000000
check "the error names the bound" grep -q -- "--bootstrap: must be at most 10000" "$WORK/err"
expect_exit 2 "simulate-guardrail --requests 99999999999999999999 exits 2" \
  timeout 20 "$STEWARD" experiment simulate-guardrail --requests 99999999999999999999 --runs 1
expect_exit 2 "stats proportions with a count past 2^53 exits 2" \
  timeout 20 "$STEWARD" stats proportions --a 99999999999999999999/99999999999999999999 --b 1/2

# ---- 6. Strings that look like numbers stay strings through the database. ----
printf 'name: 1e3\nseed: 007\narms:\n  - {name: 01, model: baseline, weight: 0.5}\n  - {name: 02, model: baseline, weight: 0.5}\n' >"$WORK/seed.yaml"
check "validate --json keeps seed 007, name 1e3, arm 01" python3 -c "
import json, sys
j = json.loads(sys.argv[1])
assert j['seed'] == '007' and j['name'] == '1e3' and j['arms'][0]['name'] == '01', j
" "$("$STEWARD" experiment validate "$WORK/seed.yaml" --json)"
"$STEWARD" experiment create --db "$WORK/seed.db" --file "$WORK/seed.yaml" --actor alice >/dev/null
check "history shows the stored seed as text" python3 -c "
import json, sys
j = json.loads(sys.argv[1])
c = j['versions'][0]['config']
assert c['seed'] == '007' and c['arms'][1]['name'] == '02', c
" "$("$STEWARD" experiment history --db "$WORK/seed.db" --name 1e3 --json)"

# ---- 8. Low traffic holds (inconclusive), it does not roll a healthy experiment back. ----
"$STEWARD" demo --headless --experiment "$CLASSIC" --quiet --requests 5000 --db "$WORK/low.db" --seed 42 --json >"$WORK/low.txt" 2>/dev/null
check "demo --requests 5000 does not end rolled back" python3 -c "
import json, sys
e = json.loads(open(sys.argv[1]).read().splitlines()[-1])['experiments'][0]
assert e['state'] != 'rolled_back', e
" "$WORK/low.txt"
# A quiet spell longer than the failure budget is one audited hold (an alert), not a rollback.
"$STEWARD" demo --headless --experiment "$CLASSIC" --quiet --requests 2000 --db "$WORK/quiet.db" --seed 42 >/dev/null 2>&1
check "the inconclusive hold is audited" bash -c "'$STEWARD' audit-log list --db '$WORK/quiet.db' --limit 0 | grep -q 'inconclusive: no traffic'"
check "and nothing rolled back" bash -c "! '$STEWARD' audit-log list --db '$WORK/quiet.db' --limit 0 | grep -q 'experiment.rollback'"

# ---- 7. Read commands open read-only and never migrate. ----
READ_CMDS=("experiment status" "experiment history --name homepage-recs" "audit-log verify" "shadow report")
sqlite3 "$WORK/other.db" "CREATE TABLE notes (x TEXT); INSERT INTO notes VALUES ('mine');"
cp "$WORK/other.db" "$WORK/other.orig"
: >"$WORK/zero.db"
for cmd in "${READ_CMDS[@]}"; do
  expect_exit 1 "$cmd on another application's database fails" "$STEWARD" $cmd --db "$WORK/other.db"
  check "$cmd says it is not a Steward database" grep -q "not a Steward database" "$WORK/err"
  expect_exit 1 "$cmd on a 0-byte file fails" "$STEWARD" $cmd --db "$WORK/zero.db"
done
check "the other database is unchanged (no tables, no WAL)" cmp -s "$WORK/other.db" "$WORK/other.orig"
check "the 0-byte file is still empty" test ! -s "$WORK/zero.db"
# An auditor's read-only copy: a file and directory this user cannot write. As root (CI) the
# permissions do not bind, so the commands run as 'nobody' there.
AUD="$WORK/auditor"
mkdir -p "$AUD" && live_db "$AUD/copy.db" && "$STEWARD" demo --headless --experiment "$CLASSIC" --quiet --requests 500 --db "$AUD/copy.db" >/dev/null 2>&1
chmod 755 "$WORK" && chmod 444 "$AUD/copy.db" && chmod 555 "$AUD"
AS_READER=()
if [ "$(id -u)" -eq 0 ]; then AS_READER=(setpriv --reuid=65534 --regid=65534 --clear-groups); fi
if [ "$(id -u)" -ne 0 ] || command -v setpriv >/dev/null 2>&1; then
  for cmd in "${READ_CMDS[@]}"; do
    expect_exit 0 "$cmd on a read-only copy" "${AS_READER[@]}" "$STEWARD" $cmd --db "$AUD/copy.db"
    check "$cmd: no 'attempt to write a readonly database'" bash -c "! grep -q readonly '$WORK/err'"
  done
else
  echo "SKIP: running as root without setpriv: cannot test a read-only copy"
fi
chmod 755 "$AUD"

# ---- 5. Numeric edges: an error naming the bound, or null with a reason; never a wrong number. ----
ramp_file() {  # ramp_file <path> <extra yaml>
  printf 'name: x\narms:\n  - {name: a, model: baseline}\n  - {name: b, model: baseline}\n%b' "$2" >"$1"
}
ramp_file "$WORK/dur.yaml" 'ramp:\n  - {coverage: 0.5, min_duration: 999999999999d}\n'
expect_exit 2 "min_duration 999999999999d exits 2" "$STEWARD" experiment validate "$WORK/dur.yaml"
check "it names the field and the bound" grep -q "field 'ramp\[0\].min_duration' must be at most 10 years" "$WORK/err"
ramp_file "$WORK/fl.yaml" 'evaluation: {failure_limit: 2147483648}\n'
expect_exit 2 "failure_limit 2147483648 exits 2" "$STEWARD" experiment validate "$WORK/fl.yaml"
ramp_file "$WORK/bv.yaml" 'bucket_version: 4294967296\n'
expect_exit 2 "bucket_version 4294967296 exits 2" "$STEWARD" experiment validate "$WORK/bv.yaml"
check "it names the bound" grep -q "must be between 1 and 2147483647" "$WORK/err"
expect_exit 0 "stats proportions --alpha 1e-300 answers" "$STEWARD" stats proportions --a 120/1000 --b 150/1000 --alpha 1e-300 --json
expect_exit 0 "stats means --alpha 1e-300 answers" "$STEWARD" stats means --a 10,3,100 --b 11,3.5,120 --alpha 1e-300 --json
expect_exit 2 "stats means with huge means exits 2" "$STEWARD" stats means --a 1e308,1,10 --b -1e308,1,10
check "it says what overflows" grep -q "overflows a double" "$WORK/err"
expect_exit 2 "sample-size --mde 1e-12 exits 2" "$STEWARD" stats sample-size --baseline 0.05 --mde 1e-12
check "it says why" grep -q "more than 2^53" "$WORK/err"
expect_exit 2 "ope --synthetic --n 1000000000000 exits 2" "$STEWARD" ope --synthetic --n 1000000000000
check "proportions 0/10 vs 10/10: rel_lift and CI null with reasons" python3 -c "
import json, sys
j = json.loads(sys.argv[1])
assert j['rel_lift'] is None and j['ci_low'] is None and j['ci_high'] is None, j
assert 'rel_lift' in j['undefined'] and 'ci' in j['undefined'] and j['p_value'] < 1e-4, j
" "$("$STEWARD" stats proportions --a 0/10 --b 10/10 --json)"
check "proportions 1/1 vs 0/1: no [-1, -1] interval" python3 -c "
import json, sys
j = json.loads(sys.argv[1])
assert j['ci_low'] is None and j['ci_high'] is None and 'ci' in j['undefined'] and abs(j['p_value'] - 0.1573) < 1e-3, j
" "$("$STEWARD" stats proportions --a 1/1 --b 0/1 --json)"

# ---- 10. What validation silently accepted. ----
ramp_file "$WORK/model.yaml" 'shadow: popularty\n'
expect_exit 2 "validate rejects an unknown model" "$STEWARD" experiment validate "$WORK/model.yaml"
check "it names the field and lists the known models" grep -q "field 'shadow' names the unknown model 'popularty' (known: baseline" "$WORK/err"
expect_exit 2 "create rejects an unknown model too" "$STEWARD" experiment create --db "$WORK/m.db" --file "$WORK/model.yaml" --actor a
ramp_file "$WORK/dup.yaml" 'name: y\n'
expect_exit 2 "a duplicate key is rejected" "$STEWARD" experiment validate "$WORK/dup.yaml"
check "it names both lines" grep -q "key 'name' appears twice (lines 1 and 5)" "$WORK/err"
ramp_file "$WORK/attr.yaml" 'hash_attribute: device_id\n'
expect_exit 2 "hash_attribute other than user_id is rejected" "$STEWARD" experiment validate "$WORK/attr.yaml"
check "it says only user_id is supported" grep -q "only user_id is supported" "$WORK/err"
ramp_file "$WORK/desc.yaml" 'description: [not, text]\n'
expect_exit 2 "a non-text description is rejected" "$STEWARD" experiment validate "$WORK/desc.yaml"
printf 'name: "a\\0b"\narms:\n  - {name: a, model: baseline}\n  - {name: b, model: baseline}\n' >"$WORK/nul.yaml"
expect_exit 2 "a NUL inside a name is rejected" "$STEWARD" experiment validate "$WORK/nul.yaml"
ramp_file "$WORK/neg.yaml" 'evaluation: {min_users_per_arm: -1}\ndecision: {mde: -0.05}\n'
expect_exit 2 "negative min_users_per_arm is rejected" "$STEWARD" experiment validate "$WORK/neg.yaml"
printf 'alice\n\nbob\n' >"$WORK/blank.txt"
expect_exit 2 "assign fails on a blank line" "$STEWARD" assign --experiment "$AB" --users "$WORK/blank.txt"
check "and prints no rows before it" test ! -s "$WORK/out"
python3 - "$ROOT/data/goodbooks/books.csv" "$WORK/all.yaml" <<'PY'
import csv, sys
ids = [row["book_id"] for row in csv.DictReader(open(sys.argv[1], encoding="utf-8"))]
open(sys.argv[2], "w").write("reason: everything\nitems: [" + ", ".join(ids) + "]\n")
PY
expect_exit 2 "a blocklist of every item is an error" \
  "$STEWARD" demo --headless --quiet --requests 10 --db "$WORK/all.db" --blocklist "$WORK/all.yaml"
check "it names the file" grep -q "all.yaml:2: field 'items' blocks every one of the" "$WORK/err"

echo "$pass passed, $failures failed"
[ "$failures" -eq 0 ]
