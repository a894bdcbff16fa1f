#!/usr/bin/env bash
# End-to-end test of `steward audit` (issue #11) as scripts use it: the plain-log audit against an
# independent reference implementation, exit codes and field-named errors on bad input, --help.
# Usage: governance_test.sh <path-to-steward>
set -uo pipefail
STEWARD=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
HERE=$(cd "$(dirname "$0")" && pwd)
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

for cmd in "audit" "audit exposures"; do
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

echo "$pass passed, $failures failed"
[ "$failures" -eq 0 ]
