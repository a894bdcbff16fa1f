#!/usr/bin/env bash
# End-to-end test of the `steward` binary as scripts use it (issue #2 contract):
#   demo --json last line, audit-log verify exit codes and tamper detection, --help everywhere,
#   clear errors on bad input, and a dashboard screenshot under xvfb-run.
# Usage: cli_test.sh <path-to-steward>
set -uo pipefail
STEWARD="$1"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
failures=0
pass=0
check() {  # check <description> <command...>
  local what="$1"; shift
  if "$@"; then pass=$((pass + 1)); else echo "FAIL: $what"; failures=$((failures + 1)); fi
}

# --help lists every subcommand, and each has --help.
help=$("$STEWARD" --help)
for cmd in demo dashboard audit-log bench; do
  check "--help lists $cmd" grep -q "$cmd" <<<"$help"
done
for cmd in "demo" "dashboard" "audit-log" "audit-log verify" "audit-log list" "bench" "bench ingest"; do
  check "steward $cmd --help" "$STEWARD" $cmd --help >/dev/null
done

# demo --json: the last line is one JSON object with the contract keys.
DB="$WORK/demo.db"
"$STEWARD" demo --headless --requests 2000 --db "$DB" --seed 3 --json >"$WORK/out.txt" 2>"$WORK/err.txt"
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
check "audit-log list prints rows" bash -c "'$STEWARD' audit-log list --db '$DB' | grep -q demo.start"

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

# Dashboard screenshot under a virtual display.
if command -v xvfb-run >/dev/null 2>&1; then
  xvfb-run -a -s "-screen 0 1600x1000x24" "$STEWARD" dashboard --db "$DB" --screenshot "$WORK/shot.png" --frames 3 >/dev/null 2>"$WORK/dash.txt"
  check "dashboard screenshot exits 0" test $? -eq 0
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
