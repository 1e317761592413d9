#!/usr/bin/env bash
# The one test command: set up what is missing, then run every check labelnet has.
#   scripts/test.sh            everything (lint, types, Solidity tests, Python tests)
#   scripts/test.sh -k chain   extra arguments go to pytest
# Exits non-zero if any step fails; pytest collecting no tests (exit 5) counts as failure.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
bash scripts/setup.sh

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "ruff"
.venv/bin/ruff check node client tests scripts
.venv/bin/ruff format --check node client tests scripts

step "mypy --strict"
.venv/bin/mypy

step "forge test"
node_modules/.bin/forge test

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
