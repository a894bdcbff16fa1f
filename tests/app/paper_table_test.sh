#!/usr/bin/env bash
# scripts/paper-table.sh (issue #12): runs a section's command at --quick sizes and splices its
# Markdown between the section's markers in a copy of docs/paper.md, leaving the rest untouched;
# bad arguments and missing markers exit 2 and leave the document alone.
# Usage: paper_table_test.sh <path-to-steward>
set -uo pipefail
STEWARD=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT="$HERE/../.."
SCRIPT="$ROOT/scripts/paper-table.sh"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
failures=0
check() {
  local what="$1"; shift
  if "$@"; then echo "ok: $what"; else echo "FAIL: $what"; failures=$((failures + 1)); fi
}
DOC="$WORK/paper.md"
cp "$ROOT/docs/paper.md" "$DOC"
"$SCRIPT" --steward "$STEWARD" --doc "$DOC" --only fairness-head80 --quick 2>"$WORK/err.txt"
check "quick regeneration exits 0" test $? -eq 0
check "the block says it came from the script, at quick sizes" grep -q "Produced by \`scripts/paper-table.sh\` --quick" "$DOC"
check "the block has the command" grep -q "^steward bench fairness --seeds 1 --tolerances 0.04 --targets 0.8,0.12,0.08" "$DOC"
check "the block has the generated per-run table" grep -q "^| 1 | 0.04 | " "$DOC"
# Outside the markers nothing changed.
strip() { awk '/^<!-- generated:fairness-head80 -->$/ {s=1} /^<!-- \/generated:fairness-head80 -->$/ {s=0; next} !s' "$1"; }
check "the rest of the document is unchanged" cmp -s <(strip "$ROOT/docs/paper.md") <(strip "$DOC")
check "markers stay in place" test "$(grep -c '^<!-- /\{0,1\}generated:fairness-head80 -->$' "$DOC")" -eq 2
# The hybrid-vs-baseline section (bench hybrid) splices the same way.
"$SCRIPT" --steward "$STEWARD" --doc "$DOC" --only hybrid --quick 2>/dev/null
check "bench hybrid regenerates its section" grep -q "^| diversity index (category entropy / ln K) | 0.61 → 0.78 | " "$DOC"
check "bench hybrid JSON has the ratio and both policies" python3 -c "
import json, subprocess, sys
j = json.loads(subprocess.run([sys.argv[1], 'bench', 'hybrid', '--seeds', '1', '--users', '30', '--days', '1', '--json'],
                              capture_output=True, text=True, check=True).stdout.strip().splitlines()[-1])
assert [p['policy'] for p in j['policies']] == ['baseline', 'hybrid'] and len(j['runs']) == 2, j
assert j['ctr_ratio']['per_seed'] and 0 <= j['policies'][1]['diversity_index']['mean'] <= 1, j
" "$STEWARD"
"$STEWARD" bench hybrid --seeds 1,x >/dev/null 2>&1
check "bench hybrid: a bad seed exits 2" test $? -eq 2
# Errors.
"$SCRIPT" --steward "$STEWARD" --doc "$DOC" --bogus >/dev/null 2>&1
check "an unknown argument exits 2" test $? -eq 2
printf 'no markers here\n' >"$WORK/empty.md"
"$SCRIPT" --steward "$STEWARD" --doc "$WORK/empty.md" --only fairness-head80 --quick >/dev/null 2>"$WORK/err2.txt"
check "a missing marker exits 2" test $? -eq 2
check "the error names the marker" grep -q "generated:fairness-head80" "$WORK/err2.txt"
check "the document without markers is unchanged" grep -qx "no markers here" "$WORK/empty.md"
check "--list names every section" bash -c "'$SCRIPT' --steward '$STEWARD' --list | grep -q '^fairness-catalog: steward bench fairness'"
[ "$failures" -eq 0 ] || { echo "$failures failed"; exit 1; }
echo "all passed"
