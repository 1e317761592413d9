#!/usr/bin/env bash
# Fail unless forge coverage of contracts/src is at least MIN percent (default 95) of lines
# and of branches. Test helpers are excluded from the measurement.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
MIN="${1:-95}"
report="$(node_modules/.bin/forge coverage --report summary --no-match-coverage 'contracts/test')"
total="$(grep -E '^\| Total' <<<"$report")"
echo "$report" | grep -E '^\| (File|contracts/src|Total)'
lines="$(awk -F'|' '{gsub(/[ %]/,"",$3); split($3,a,"("); print a[1]}' <<<"$total")"
branches="$(awk -F'|' '{gsub(/[ %]/,"",$5); split($5,a,"("); print a[1]}' <<<"$total")"
awk -v l="$lines" -v b="$branches" -v m="$MIN" 'BEGIN {
  if (l + 0 < m || b + 0 < m) { printf "coverage below %s%%: lines %s%%, branches %s%%\n", m, l, b; exit 1 }
  printf "coverage ok: lines %s%%, branches %s%% (minimum %s%%)\n", l, b, m }'
