#!/usr/bin/env bash
# Regenerates the measured tables of docs/paper.md: runs each measurement command and splices its
# Markdown between the section's markers
#   <!-- generated:NAME -->
#   ...
#   <!-- /generated:NAME -->
# so no number in those tables is typed by hand. Prose outside the markers states what was built,
# the assumptions and the verdict; it does not restate the generated numbers.
#
# Usage: scripts/paper-table.sh [--steward PATH] [--doc FILE] [--only NAME[,NAME...]] [--quick] [--list]
#   --steward PATH  the steward binary (default build/steward)
#   --doc FILE      the document to update in place (default docs/paper.md)
#   --only NAMES    regenerate only these sections (default: every section the document has markers for)
#   --quick         tiny sizes (one seed, a few users and days): checks the pipeline, not the claims;
#                   never commit its output
#   --list          print each section's name and full command, run nothing
# The full run takes hours on a 2-core machine (each section's size is in its command); every
# command prints progress on stderr. Exit status: 0, or the first failing command's, with the
# document unchanged for that section.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
STEWARD="$ROOT/build/steward"
DOC="$ROOT/docs/paper.md"
ONLY=""
QUICK=0
LIST=0
while [ $# -gt 0 ]; do
  case "$1" in
    --steward) STEWARD="$2"; shift 2 ;;
    --doc) DOC="$2"; shift 2 ;;
    --only) ONLY="$2"; shift 2 ;;
    --quick) QUICK=1; shift ;;
    --list) LIST=1; shift ;;
    -h|--help) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "paper-table.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
[ -x "$STEWARD" ] || { echo "paper-table.sh: no steward binary at $STEWARD (build first: make build, or pass --steward PATH)" >&2; exit 2; }
[ -f "$DOC" ] || { echo "paper-table.sh: no document at $DOC (--doc FILE)" >&2; exit 2; }

# name | full command | quick command (each writes Markdown to the file named by $OUT).
# Commands are run by bash with OUT set; `steward` means $STEWARD.
SECTIONS=(
  "hybrid|steward bench hybrid --seeds 1,2,3 --users 2000 --days 14 --markdown \$OUT|steward bench hybrid --seeds 1 --users 40 --days 2 --markdown \$OUT"
  "fairness-catalog|steward bench fairness --seeds 1,2,3 --tolerances 0.02,0.05,0.1,0.2,0.3,0.5 --users 1000 --days 14 --chart docs/images/fairness_tradeoff.png --markdown \$OUT|steward bench fairness --seeds 1 --tolerances 0.05 --users 60 --days 2 --markdown \$OUT"
  "fairness-head80|steward bench fairness --seeds 1,2,3 --tolerances 0.02,0.04,0.1 --targets 0.8,0.12,0.08 --users 1000 --days 14 --chart docs/images/fairness_tradeoff_head80.png --markdown \$OUT|steward bench fairness --seeds 1 --tolerances 0.04 --targets 0.8,0.12,0.08 --users 60 --days 2 --markdown \$OUT"
  "feedback-loop|steward bench feedback-loop --seeds 1,2,3 --users 200 --days 60 --window-days 1 --chart docs/images/feedback_loop_homogenization.png --markdown \$OUT|steward bench feedback-loop --seeds 1 --variants popularity,hybrid --users 20 --days 3 --markdown \$OUT"
  "cold-start|steward bench cold-start --seeds 1,2,3 --users 200 --days 14 --rate 20 --catalog-items 300 --new-item-share 0.05 --quality-horizon 60 --markdown \$OUT|steward bench cold-start --seeds 1 --users 20 --days 2 --rate 2 --catalog-items 300 --markdown \$OUT"
  "offline-online|steward bench offline-online --seeds 1,2,3 --markdown \$OUT|steward bench offline-online --seeds 1 --requests 4000 --markdown \$OUT"
)

selected() {
  [ -z "$ONLY" ] && return 0
  case ",$ONLY," in *",$1,"*) return 0 ;; esac
  return 1
}

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
for entry in "${SECTIONS[@]}"; do
  IFS='|' read -r name full quick <<<"$entry"
  selected "$name" || continue
  if [ "$LIST" = 1 ]; then
    echo "$name: $full"
    continue
  fi
  if ! grep -q "^<!-- generated:$name -->\$" "$DOC"; then
    [ -n "$ONLY" ] && { echo "paper-table.sh: $DOC has no marker <!-- generated:$name -->" >&2; exit 2; }
    continue
  fi
  cmd=$full
  [ "$QUICK" = 1 ] && cmd=$quick
  echo "paper-table.sh: $name: $cmd" >&2
  OUT="$TMP/$name.md"
  (cd "$ROOT" && OUT="$OUT" bash -c "${cmd//steward /\"$STEWARD\" }" 1>&2)
  [ -s "$OUT" ] || { echo "paper-table.sh: $name wrote no Markdown" >&2; exit 1; }
  {
    echo "Produced by \`scripts/paper-table.sh\`$([ "$QUICK" = 1 ] && echo ' --quick (tiny sizes: not a measurement)') on $(date -u +%Y-%m-%d) with:"
    echo '```'
    echo "$cmd" | sed 's/ --markdown \$OUT//'
    echo '```'
    echo
    cat "$OUT"
  } >"$TMP/$name.block"
  # Replace everything between the markers with the block.
  awk -v name="$name" -v block="$TMP/$name.block" '
    $0 == "<!-- generated:" name " -->" { print; while ((getline line < block) > 0) print line; skipping = 1; next }
    $0 == "<!-- /generated:" name " -->" { skipping = 0 }
    !skipping { print }
  ' "$DOC" >"$TMP/doc.new"
  grep -q "^<!-- /generated:$name -->\$" "$TMP/doc.new" || { echo "paper-table.sh: $DOC has no closing marker <!-- /generated:$name -->" >&2; exit 2; }
  cp "$TMP/doc.new" "$DOC"
done
