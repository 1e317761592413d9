#!/usr/bin/env bash
# The one test command: set up what is missing, then run every check labelnet has.
#   scripts/test.sh            lint, types, Solidity tests, Slither, Python tests
#   scripts/test.sh --full     also the long campaigns: the 10,000-run invariant profile and
#                              the contract coverage gate (always on in CI, where CI=true)
#   scripts/test.sh -k chain   other arguments go to pytest
# Exits non-zero if any step fails; pytest collecting no tests (exit 5) counts as failure.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
bash scripts/setup.sh

full=0
[ "${CI:-}" = "true" ] && full=1
if [ "${1:-}" = "--full" ]; then full=1; shift; fi

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "ruff"
.venv/bin/ruff check node client tests scripts
.venv/bin/ruff format --check node client tests scripts

step "mypy --strict"
.venv/bin/mypy

step "forge test"
node_modules/.bin/forge test

step "slither"
bash scripts/slither.sh

if [ "$full" -eq 1 ]; then
  step "forge invariants (ci profile: 10,000 runs)"
  FOUNDRY_PROFILE=ci node_modules/.bin/forge test --match-path 'contracts/test/invariant/*'
  step "forge coverage (>= 95% of lines and branches of contracts/src)"
  bash scripts/check_coverage.sh 95
fi

step "pytest"
set +e
.venv/bin/pytest "$@"
status=$?
set -e
if [ "$status" -eq 5 ]; then
  echo "pytest collected no tests: the suite is missing" >&2
  exit 1
fi
exit "$status"
