#!/usr/bin/env bash
# Slither over contracts/src (settings in slither.config.json): fails when any High or Medium
# finding remains, when a slither-disable comment no longer suppresses anything, or when
# slither could not analyse a function; prints every Low/Informational finding and the counts.
#   scripts/slither.sh           the gate (a step of scripts/test.sh)
#   scripts/slither.sh --full    also print slither's full report of every finding
# A finding is fixed, or suppressed where it occurs with `// slither-disable-next-line <check>`
# under a comment that says why it is safe.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

full=0
if [ "${1:-}" = "--full" ]; then full=1; fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# crytic-compile runs `forge build --build-info --force` (forge from node_modules, through the
# solc-js shim named in foundry.toml). A private out/ and cache/ keep that rebuild from racing a
# `forge test` or scripts/build_contracts.py that is reading contracts/out at the same time.
export PATH="$ROOT/node_modules/.bin:$PATH"
export FOUNDRY_OUT="$work/out" FOUNDRY_CACHE_PATH="$work/cache"

set +e
.venv/bin/slither . --config-file slither.config.json --fail-none --disable-color \
  --json "$work/report.json" > "$work/report.txt" 2> "$work/slither.log"
status=$?
set -e
if [ "$full" -eq 1 ]; then cat "$work/report.txt" "$work/slither.log"; fi

.venv/bin/python - "$work/report.json" "$work/slither.log" "$status" <<'PY'
"""Summarise slither's JSON report and decide the gate."""

import json
import re
import sys
from collections import Counter
from pathlib import Path

report_path, log_path, status = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])
log = log_path.read_text()
failures: list[str] = []

# Slither logs a function whose IR it cannot build and then analyses the rest without it
# (which also hides writes made through storage pointers elsewhere in the contract), so a
# partial analysis must fail the gate rather than pass silently.
broken = re.findall(r"(?:Impossible|Failed) to generate IR for [^\n]+", log)
failures += [f"slither could not analyse: {line}" for line in broken]

if status != 0 or not report_path.exists():
    sys.stderr.write(log[-4000:])
    sys.exit(f"slither failed to run (exit {status})")
report = json.loads(report_path.read_text())
if not report.get("success"):
    sys.exit(f"slither failed: {report.get('error')}")

# Stale suppressions in our own sources fail the gate (OpenZeppelin's are not ours to prune).
findings = report.get("results", {}).get("detectors", [])
stale = {
    (item["file"], item["line"], ",".join(item["unused_detectors"]))
    for finding in findings
    if finding["check"] == "unused-ignore-directive"
    for item in finding["unused_ignores"]
}
for file, line, checks in sorted(stale):
    if "/contracts/src/" in file:
        failures.append(f"stale slither-disable comment ({checks}) at {file}#{line}")
findings = [f for f in findings if f["check"] != "unused-ignore-directive"]

order = ["High", "Medium", "Low", "Informational", "Optimization"]
findings.sort(key=lambda f: (order.index(f["impact"]), f["check"], f.get("first_markdown_element", "")))
for finding in findings:
    where = finding.get("first_markdown_element", "")
    summary, *details = finding["description"].strip().splitlines()
    print(f"{finding['impact']:<8} {finding['check']:<18} {summary}")
    if finding["impact"] in ("High", "Medium"):
        print("\n".join(f"    {line}" for line in details))
        failures.append(f"{finding['impact']} finding: {finding['check']} at {where}")

counts = Counter(f["impact"] for f in findings)
print("slither: " + ", ".join(f"{counts[level]} {level}" for level in order))
if failures:
    print("\n".join(failures), file=sys.stderr)
    sys.exit("slither gate failed: fix each finding, or suppress it with a reason (see above)")
PY
